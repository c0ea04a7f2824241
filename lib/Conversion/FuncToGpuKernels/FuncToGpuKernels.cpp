//===- FuncToGpuKernels.cpp - one GPU kernel per group function -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Builds the kernel directly (LLVM-dialect loads and stores on global
// pointers, scf loops, the generic's scalar body cloned per element) rather
// than mapping linalg to gpu.launch: the kernel walks a work table of
// (tensor, tile) items, which no upstream mapping produces, and bare
// pointers keep the argument count fixed whatever the number of tensors.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/FuncToGpuKernels.h"
#include "stepc/Conversion/StepToFunc.h"

#include "GlobalMemoryBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace stepc {
#define GEN_PASS_DEF_FORMGPUKERNELS
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {

/// What the kernel needs to know of one element-wise group function.
struct ElementwiseGroup {
  func::FuncOp func;
  linalg::GenericOp generic;
  /// Function arguments that are buffers (in order: one pointer each in a
  /// tensor's record) and that are scalars (in order: the scalars block).
  SmallVector<unsigned> bufferArgs, scalarArgs;
  /// Per generic input and result: its buffer's index in bufferArgs; -1 for
  /// a result that is not written back.
  SmallVector<int> inputSlots, resultSlots;
  /// Scalar ops before the generic (hyper arithmetic), cloned into the
  /// kernel in order.
  SmallVector<Operation *> preamble;
};

bool isScalar(Type type) { return type.isIntOrIndexOrFloat(); }

Type elementTypeOf(func::FuncOp func, unsigned argIndex) {
  return cast<MemRefType>(func.getArgument(argIndex).getType())
      .getElementType();
}

/// The function's structure, or failure with a diagnostic (of `severity`)
/// saying why it is not (yet) a GPU kernel.
FailureOr<ElementwiseGroup> analyze(func::FuncOp func,
                                    DiagnosticSeverity severity) {
  ElementwiseGroup group;
  group.func = func;
  auto report = [&] {
    return severity == DiagnosticSeverity::Warning ? func.emitWarning()
                                                   : func.emitError();
  };
  if (func->hasAttr(stepc::kSumPhasesAttrName))
    return report() << "has group-wide sums (step.global_sum), which need "
                       "the grid-barrier phases of the persistent kernel; "
                       "they run on the CPU for now";
  DenseMap<Value, int> slotOfArg;
  for (BlockArgument arg : func.getArguments()) {
    if (isa<MemRefType>(arg.getType())) {
      slotOfArg[arg] = group.bufferArgs.size();
      group.bufferArgs.push_back(arg.getArgNumber());
    } else if (isScalar(arg.getType())) {
      group.scalarArgs.push_back(arg.getArgNumber());
    } else {
      return report() << "argument " << arg.getArgNumber() << " has type "
                      << arg.getType() << ", not a buffer or a scalar";
    }
  }
  auto notElementwise = [&](Operation *op) {
    InFlightDiagnostic diag = report()
                              << "group function " << func.getSymName()
                              << " is not element-wise: GPU kernels for "
                                 "groups with reductions, matmuls or values "
                                 "of the shape need phases "
                                 "(docs/Design/GpuKernels.md)"
                              << (severity == DiagnosticSeverity::Warning
                                      ? "; it gets no kernel"
                                      : "");
    diag.attachNote(op->getLoc()) << "here: " << op->getName();
    return failure();
  };
  DenseMap<Value, int> slotOfTensor;
  SmallVector<bufferization::MaterializeInDestinationOp> stores;
  for (Operation &op : func.getBody().front()) {
    if (auto toTensor = dyn_cast<bufferization::ToTensorOp>(op)) {
      auto it = slotOfArg.find(toTensor.getBuffer());
      if (it == slotOfArg.end())
        return notElementwise(&op);
      slotOfTensor[toTensor.getResult()] = it->second;
    } else if (auto dim = dyn_cast<memref::DimOp>(op)) {
      // The element-wise kernel sees a tensor as its element count only: a
      // value computed from a dim (Muon's shape scale) needs the phased
      // kernel, which has the rows and cols.
      if (!llvm::all_of(dim->getUsers(), llvm::IsaPred<tensor::EmptyOp>))
        return notElementwise(&op);
    } else if (isa<tensor::EmptyOp, func::ReturnOp>(op)) {
      continue;
    } else if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      if (group.generic)
        return notElementwise(&op);
      group.generic = generic;
    } else if (auto store =
                   dyn_cast<bufferization::MaterializeInDestinationOp>(op)) {
      stores.push_back(store);
    } else if (op.getNumRegions() == 0 &&
               llvm::all_of(op.getOperandTypes(), isScalar) &&
               llvm::all_of(op.getResultTypes(), isScalar)) {
      group.preamble.push_back(&op);
    } else {
      return notElementwise(&op);
    }
  }
  linalg::GenericOp generic = group.generic;
  if (!generic)
    return report() << "group function " << func.getSymName()
                    << " has no linalg.generic to run";
  if (generic.getNumReductionLoops() != 0 ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return notElementwise(generic);
  for (OpOperand &init : generic.getDpsInitsMutable())
    if (!generic.getMatchingBlockArgument(&init).use_empty())
      return notElementwise(generic);
  for (Value input : generic.getDpsInputs()) {
    auto it = slotOfTensor.find(input);
    if (it == slotOfTensor.end())
      return notElementwise(generic);
    group.inputSlots.push_back(it->second);
  }
  group.resultSlots.assign(generic.getNumResults(), -1);
  for (bufferization::MaterializeInDestinationOp store : stores) {
    auto result = dyn_cast<OpResult>(store.getSource());
    auto it = slotOfArg.find(store.getDest());
    if (!result || result.getOwner() != generic || it == slotOfArg.end())
      return notElementwise(store);
    if (result.getType() != store.getDest().getType() &&
        cast<ShapedType>(result.getType()).getElementType() !=
            elementTypeOf(func, group.bufferArgs[it->second]))
      return notElementwise(store);
    group.resultSlots[result.getResultNumber()] = it->second;
  }
  return group;
}

/// Emits the kernel of `group` into `gpuModule`.
class KernelBuilder : stepc::detail::GlobalMemoryBuilder {
public:
  KernelBuilder(ElementwiseGroup &group, OpBuilder &builder)
      : GlobalMemoryBuilder(builder, group.func.getLoc()), g(group) {}

  void build(gpu::GPUModuleOp gpuModule) {
    b.setInsertionPointToEnd(gpuModule.getBody());
    auto type = b.getFunctionType(
        {globalPtr, globalPtr, b.getI32Type(), globalPtr}, {});
    auto kernel = gpu::GPUFuncOp::create(b, loc, g.func.getSymName(), type);
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    Block &entry = kernel.getBody().front();
    b.setInsertionPointToStart(&entry);
    Value tensors = entry.getArgument(0), items = entry.getArgument(1);
    Value numItems = arith::ExtUIOp::create(b, loc, i64, entry.getArgument(2));
    Value control = entry.getArgument(3);

    // A step the caller's found-inf skips changes nothing, the count
    // included.
    Value run = arith::XOrIOp::create(
        b, loc, isSkipped(control),
        arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
    auto ifRun = scf::IfOp::create(b, loc, run);
    b.setInsertionPointToStart(ifRun.thenBlock());
    // Hypers, inputs and the count, then the uniform arithmetic on them.
    mapScalars(g.func, g.scalarArgs, control, map);
    for (Operation *op : g.preamble)
      b.clone(*op, map);
    gradScale = loadGradScale(control);

    Value blockId = toI64(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
    Value gridDim = toI64(gpu::GridDimOp::create(b, loc, gpu::Dimension::x));
    Value threadId = toI64(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
    Value blockDim = toI64(gpu::BlockDimOp::create(b, loc, gpu::Dimension::x));
    auto itemLoop = scf::ForOp::create(b, loc, blockId, numItems, gridDim);
    b.setInsertionPointToStart(itemLoop.getBody());
    Value item = itemLoop.getInductionVar();
    Value itemRecord = gep(i64, items, mul64(item, constantI64(3)));
    Value tensor = load(i64, gep(i64, itemRecord, constantI64(0)));
    Value begin = load(i64, gep(i64, itemRecord, constantI64(1)));
    Value end = load(i64, gep(i64, itemRecord, constantI64(2)));
    // A tensor's record: one pointer per buffer argument, then its size.
    Value record =
        gep(i64, tensors, mul64(tensor, constantI64(g.bufferArgs.size() + 1)));
    buffers.clear();
    for (size_t slot = 0; slot < g.bufferArgs.size(); ++slot)
      buffers.push_back(load(globalPtr, gep(i64, record, constantI64(slot))));

    // Whole vectors of kGpuVectorWidth elements, then the tile's tail.
    Value width = constantI64(stepc::kGpuVectorWidth);
    Value vectorEnd = arith::AddIOp::create(
        b, loc, begin,
        mul64(arith::DivUIOp::create(
                  b, loc, arith::SubIOp::create(b, loc, end, begin), width),
              width));
    auto vectorLoop = scf::ForOp::create(
        b, loc, arith::AddIOp::create(b, loc, begin, mul64(threadId, width)),
        vectorEnd, mul64(blockDim, width));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(vectorLoop.getBody());
      emitElements(vectorLoop.getInductionVar(), stepc::kGpuVectorWidth);
    }
    auto tailLoop = scf::ForOp::create(
        b, loc, arith::AddIOp::create(b, loc, vectorEnd, threadId), end,
        blockDim);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(tailLoop.getBody());
      emitElements(tailLoop.getInductionVar(), 1);
    }
    b.setInsertionPointAfter(itemLoop);
    advanceCount(control, threadId, gridDim);
    b.setInsertionPointAfter(ifRun);
    gpu::ReturnOp::create(b, loc);
    widenUnscaledGrads();
  }

private:
  /// Stores count + 1 once every block has read the count: each block
  /// waits for its threads, then its thread 0 takes a ticket; the block
  /// with the last one stores the count and resets the ticket for the
  /// next launch. The fence orders the block's reads before its ticket.
  void advanceCount(Value control, Value threadId, Value gridDim) {
    gpu::BarrierOp::create(b, loc);
    Value leader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         threadId, constantI64(0));
    auto ifLeader = scf::IfOp::create(b, loc, leader);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLeader.thenBlock());
    Value ticket = controlWord(control, stepc::kControlTicket);
    LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::release, "device");
    Value taken = LLVM::AtomicRMWOp::create(
        b, loc, LLVM::AtomicBinOp::add, ticket, constantI64(1),
        LLVM::AtomicOrdering::monotonic, "device", /*alignment=*/8);
    Value last = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, taken,
        arith::SubIOp::create(b, loc, gridDim, constantI64(1)));
    auto ifLast = scf::IfOp::create(b, loc, last);
    b.setInsertionPointToStart(ifLast.thenBlock());
    LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::acquire, "device");
    LLVM::StoreOp::create(b, loc, nextCount(control),
                          controlWord(control, stepc::kControlCount));
    LLVM::StoreOp::create(b, loc, constantI64(0), ticket);
  }

  /// Loads `lanes` elements of every input at `index`, runs the generic's
  /// body once per lane and stores the results written back.
  void emitElements(Value index, int64_t lanes) {
    linalg::GenericOp generic = g.generic;
    Block &body = generic.getRegion().front();
    SmallVector<SmallVector<Value>> laneInputs(lanes);
    for (auto [i, slot] : llvm::enumerate(g.inputSlots)) {
      Type element = elementTypeOf(g.func, g.bufferArgs[slot]);
      Value address = gep(element, buffers[slot], index);
      bool isGrad = g.func.getArgAttr(g.bufferArgs[slot],
                                      stepc::kGradArgAttrName) != nullptr;
      for (auto [lane, value] :
           llvm::enumerate(loadLanes(element, address, lanes)))
        laneInputs[lane].push_back(isGrad ? unscale(value, gradScale) : value);
    }
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    SmallVector<SmallVector<Value>> laneResults(generic.getNumResults());
    for (int64_t lane = 0; lane < lanes; ++lane) {
      IRMapping laneMap = map;
      for (auto [i, value] : llvm::enumerate(laneInputs[lane]))
        laneMap.map(body.getArgument(i), value);
      for (Operation &op : body.without_terminator())
        b.clone(op, laneMap);
      for (auto [r, value] : llvm::enumerate(yield.getValues()))
        laneResults[r].push_back(laneMap.lookupOrDefault(value));
    }
    for (auto [r, slot] : llvm::enumerate(g.resultSlots)) {
      if (slot < 0)
        continue;
      Type element = elementTypeOf(g.func, g.bufferArgs[slot]);
      storeLanes(element, laneResults[r], gep(element, buffers[slot], index));
    }
  }

  SmallVector<Value> loadLanes(Type element, Value address, int64_t lanes) {
    if (lanes == 1)
      return {load(element, address)};
    auto vectorType = VectorType::get({lanes}, element);
    Value vector = LLVM::LoadOp::create(b, loc, vectorType, address,
                                        alignment(element, lanes));
    SmallVector<Value> values;
    for (int64_t lane = 0; lane < lanes; ++lane)
      values.push_back(
          LLVM::ExtractElementOp::create(b, loc, vector, laneIndex(lane)));
    return values;
  }

  void storeLanes(Type element, ArrayRef<Value> values, Value address) {
    if (values.size() == 1) {
      LLVM::StoreOp::create(b, loc, values[0], address);
      return;
    }
    auto vectorType = VectorType::get({int64_t(values.size())}, element);
    Value vector = LLVM::PoisonOp::create(b, loc, vectorType);
    for (auto [lane, value] : llvm::enumerate(values))
      vector =
          LLVM::InsertElementOp::create(b, loc, vector, value, laneIndex(lane));
    LLVM::StoreOp::create(b, loc, vector, address,
                          alignment(element, values.size()));
  }

  /// Vectors start at element indices that are multiples of their length
  /// in 16-byte aligned buffers, so they are aligned to their size.
  unsigned alignment(Type element, int64_t lanes) {
    return unsigned(lanes * element.getIntOrFloatBitWidth() / 8);
  }
  Value laneIndex(int64_t lane) {
    return LLVM::ConstantOp::create(b, loc, b.getI32Type(),
                                    b.getI32IntegerAttr(lane));
  }
  ElementwiseGroup &g;
  IRMapping map;
  SmallVector<Value> buffers;
  Value gradScale;
};

} // namespace

namespace {

struct FormGpuKernelsPass
    : stepc::impl::FormGpuKernelsBase<FormGpuKernelsPass> {
  using FormGpuKernelsBase::FormGpuKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<ElementwiseGroup> groups;
    SmallVector<func::FuncOp> unsupported;
    auto severity = skipUnsupported ? DiagnosticSeverity::Warning
                                    : DiagnosticSeverity::Error;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // stepc-form-phased-gpu-kernels takes groups with sums whole.
      bool hasSums = func->hasAttr(stepc::kSumPhaseAttrName) ||
                     func->hasAttr(stepc::kSumPhasesAttrName);
      if (leaveOthers && hasSums)
        continue;
      // A group's sum phases go with its main function, reported there.
      if (func->hasAttr(stepc::kSumPhaseAttrName)) {
        unsupported.push_back(func);
        continue;
      }
      if (leaveOthers) {
        // stepc-form-phased-gpu-kernels takes what is not element-wise.
        ScopedDiagnosticHandler quiet(&getContext(),
                                      [](Diagnostic &) { return success(); });
        FailureOr<ElementwiseGroup> group = analyze(func, severity);
        if (llvm::succeeded(group))
          groups.push_back(*group);
        continue;
      }
      FailureOr<ElementwiseGroup> group = analyze(func, severity);
      if (llvm::failed(group))
        unsupported.push_back(func);
      else
        groups.push_back(*group);
    }
    if (!unsupported.empty() && !skipUnsupported)
      return signalPassFailure();
    for (func::FuncOp func : unsupported)
      func.erase();
    OpBuilder builder(module.getContext());
    builder.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(builder, module.getLoc(),
                                              stepc::kGpuModuleName);
    for (ElementwiseGroup &group : groups)
      KernelBuilder(group, builder).build(gpuModule);
    for (ElementwiseGroup &group : groups)
      group.func.erase();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    builder.getUnitAttr());
  }
};

} // namespace
