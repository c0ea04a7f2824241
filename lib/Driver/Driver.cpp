//===- Driver.cpp - what the stepc tool is built from ----------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Driver/Driver.h"

#include "stepc/Conversion/LLVMPackedEntries.h"
#include "stepc/Conversion/StepToFunc.h"
#include "stepc/Dialect/Step/IR/StepOps.h"
#include "stepc/Pipelines/Pipelines.h"
#include "stepc/Version.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace stepc;

void stepc::registerDriverDialects(DialectRegistry &registry) {
  registry.insert<step::StepDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  // The GPU pipeline translates the kernels' module to LLVM IR for NVPTX.
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

static rt::Layout layoutOf(Type stateType, RankedTensorType paramType) {
  auto state = cast<RankedTensorType>(stateType);
  if (paramType.getRank() == 2 && state.getRank() == 1)
    return rt::Layout::LongAxis;
  switch (step::classifyLayout(stateType, paramType)) {
  case step::Layout::PerRow:
    return rt::Layout::PerRow;
  case step::Layout::PerCol:
    return rt::Layout::PerCol;
  case step::Layout::PerTensor:
    return rt::Layout::PerTensor;
  default:
    return rt::Layout::Full;
  }
}

/// The ops of `group`'s body that its main entry runs: those the return
/// needs. A global sum's input belongs to a sum phase; the main entry
/// receives the total.
static llvm::DenseSet<Operation *> opsOfMainEntry(step::GroupOp group) {
  Block &body = group.getBody().front();
  llvm::DenseSet<Operation *> live = {body.getTerminator()};
  for (Operation &op : llvm::reverse(body)) {
    if (!live.contains(&op) || isa<step::GlobalSumOp>(op))
      continue;
    op.walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && def->getBlock() == &body)
          live.insert(def);
    });
  }
  return live;
}

/// Whether every element of `group`'s outputs depends only on the same
/// element of its inputs, so the runtime may split its tensors (in the main
/// entry; sum phases always see whole tensors).
static bool isElementwiseGroup(step::GroupOp group) {
  if (group.getAccepts() == step::Accepts::matrix)
    return false;
  auto paramType = cast<RankedTensorType>(group.getParam().getType());
  for (BlockArgument state : group.getArgsWithRole(step::Role::state))
    if (state.getType() != paramType)
      return false;
  llvm::DenseSet<Operation *> mainOps = opsOfMainEntry(group);
  WalkResult result = group.getBody().walk([&](Operation *op) {
    if (op->getDialect() != group->getDialect() ||
        isa<step::ReturnOp, step::YieldOp, step::GlobalSumOp>(op) ||
        (op->getParentOp() == group && !mainOps.contains(op)))
      return WalkResult::advance();
    bool pointwise =
        TypeSwitch<Operation *, bool>(op)
            .Case([](step::SecondMomentOp op) {
              return op.getReduce() == step::MomentReduce::none;
            })
            .Case([](step::ScaleOp op) {
              return !op.getRestore() && op.getNorm() == step::ScaleNorm::none;
            })
            .Case<step::MomentumOp, step::PreconditionOp, step::WeightDecayOp,
                  step::ApplyOp, step::ElementwiseOp>(
                [](Operation *) { return true; })
            .Default([](Operation *) { return false; });
    return pointwise ? WalkResult::advance() : WalkResult::interrupt();
  });
  return !result.wasInterrupted();
}

rt::Manifest stepc::buildManifest(ModuleOp module) {
  rt::Manifest manifest;
  manifest.stepcVersion = STEPC_VERSION;
  for (auto optimizer : module.getOps<step::OptimizerOp>()) {
    manifest.optimizer = optimizer.getSymName().str();
    for (auto group : optimizer.getBody().getOps<step::GroupOp>()) {
      rt::Group info;
      info.name = group.getSymName().str();
      info.matrix = group.getAccepts() == step::Accepts::matrix;
      info.elementwise = isElementwiseGroup(group);
      for (Attribute dtype : group.getParamDtypes()) {
        std::string text;
        llvm::raw_string_ostream os(text);
        os << cast<TypeAttr>(dtype).getValue();
        info.paramDtypes.push_back(text);
      }
      info.entry = getGroupFunctionName(optimizer.getSymName(),
                                        group.getSymName()) +
                   kPackedEntrySuffix;
      SmallVector<SmallVector<step::GlobalSumOp>> phases =
          getSumsByPhase(group);
      for (auto [index, sums] : llvm::enumerate(phases)) {
        rt::SumPhase phase;
        phase.entry = getSumPhaseFunctionName(optimizer.getSymName(),
                                              group.getSymName(), index + 1) +
                      kPackedEntrySuffix;
        for (step::GlobalSumOp sum : sums)
          phase.keys.push_back(sum.getKey().str());
        info.sumPhases.push_back(std::move(phase));
      }
      auto paramType = cast<RankedTensorType>(group.getParam().getType());
      for (BlockArgument arg : group.getBody().getArguments()) {
        unsigned index = arg.getArgNumber();
        rt::Argument a;
        a.name = group.getArgName(index).str();
        a.role = static_cast<rt::Role>(group.getRole(index));
        Attribute init = group.getArgInits()[index];
        if (auto state = dyn_cast<step::StateInitAttr>(init)) {
          a.layout = layoutOf(arg.getType(), paramType);
          if (state.getShape() == step::StateShape::rows_square)
            a.layout = rt::Layout::RowsSquare;
          else if (state.getShape() == step::StateShape::cols_square)
            a.layout = rt::Layout::ColsSquare;
          a.init = static_cast<rt::StateInit>(state.getKind());
          if (state.getValue())
            a.initValue = state.getValue().getValueAsDouble();
          if (state.getStorage() && state.getStorage().isBF16())
            a.storage = "bf16";
        } else if (auto value = dyn_cast<FloatAttr>(init)) {
          a.hasDefault = true;
          a.defaultValue = value.getValueAsDouble();
        }
        info.args.push_back(a);
      }
      manifest.groups.push_back(std::move(info));
    }
  }
  return manifest;
}

FailureOr<OwningOpRef<ModuleOp>> stepc::lowerForCpu(ModuleOp spec) {
  OwningOpRef<ModuleOp> module(cast<ModuleOp>(spec->clone()));
  PassManager pm(spec.getContext());
  buildCpuPipeline(pm);
  if (failed(pm.run(*module)))
    return failure();
  return module;
}

FailureOr<OwningOpRef<ModuleOp>>
stepc::lowerForNativeCodegen(ModuleOp spec, std::string &error) {
  FailureOr<OwningOpRef<ModuleOp>> lowered = lowerForCpu(spec);
  if (failed(lowered)) {
    error = "lowering the spec for the CPU failed (see the diagnostics above)";
    return failure();
  }
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  return lowered;
}

FailureOr<std::unique_ptr<JitModule>> JitModule::create(ModuleOp spec,
                                                        std::string &error) {
  FailureOr<OwningOpRef<ModuleOp>> lowered = lowerForNativeCodegen(spec, error);
  if (failed(lowered))
    return failure();
  // The artifacts' target, not the host's: the same vector width, so the
  // same order of every reassociated reduction and the same bits.
  std::unique_ptr<llvm::TargetMachine> machine =
      createCpuTargetMachine(CpuTarget(), error);
  if (!machine)
    return failure();
  auto optimize =
      makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0, machine.get());
  ExecutionEngineOptions options;
  options.transformer = optimize;
  auto engine = ExecutionEngine::create(**lowered, options, std::move(machine));
  if (!engine) {
    error = llvm::toString(engine.takeError());
    return failure();
  }
  std::unique_ptr<JitModule> jit(new JitModule());
  jit->engine = std::move(*engine);
  return jit;
}

JitModule::~JitModule() = default;

rt::PackedEntry JitModule::lookup(const rt::Group &group,
                                  const std::string &dtype,
                                  std::string &error) {
  if (!group.takesDtype(dtype)) {
    error = "group '" + group.name + "' does not take " + dtype +
            " parameters";
    return nullptr;
  }
  std::string name = group.entryFor(dtype);
  auto address = engine->lookup(name);
  if (!address) {
    error = "no entry '" + name + "' in the compiled spec: " +
            llvm::toString(address.takeError());
    return nullptr;
  }
  return reinterpret_cast<rt::PackedEntry>(*address);
}

LogicalResult JitModule::lookupSumEntries(const rt::Group &group,
                                          const std::string &dtype,
                                          std::vector<rt::PackedEntry> &entries,
                                          std::string &error) {
  entries.clear();
  for (const rt::SumPhase &phase : group.sumPhases) {
    std::string name = rt::Group::entryFor(phase.entry, dtype);
    auto address = engine->lookup(name);
    if (!address) {
      error = "no entry '" + name + "' in the compiled spec: " +
              llvm::toString(address.takeError());
      return failure();
    }
    entries.push_back(reinterpret_cast<rt::PackedEntry>(*address));
  }
  return success();
}
