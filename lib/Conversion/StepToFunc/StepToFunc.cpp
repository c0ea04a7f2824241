//===- StepToFunc.cpp - step groups to functions ---------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/StepToFunc.h"

#include "stepc/Dialect/Step/IR/StepOps.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace stepc {
#define GEN_PASS_DEF_CONVERTSTEPTOFUNC
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;
using namespace stepc;
using namespace stepc::step;

std::string stepc::getSumPhaseFunctionName(StringRef optimizer,
                                           StringRef group, unsigned phase,
                                           Type paramDtype) {
  return getGroupFunctionName(optimizer,
                              (group + "_sums" + Twine(phase)).str(),
                              paramDtype);
}

std::string stepc::getGroupFunctionName(StringRef optimizer, StringRef group,
                                        Type paramDtype) {
  std::string name = ("stepc_" + optimizer + "_" + group).str();
  if (paramDtype && !paramDtype.isF32()) {
    llvm::raw_string_ostream os(name);
    os << "_" << paramDtype;
  }
  return name;
}

/// `tensor` with every element converted to `elementType` (extf / truncf,
/// round to nearest even).
static Value convertElements(OpBuilder &b, Location loc, Value tensor,
                             Type elementType) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getElementType() == elementType)
    return tensor;
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, tensor), elementType);
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps(
      2, AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  bool widen = elementType.getIntOrFloatBitWidth() >
               type.getElementType().getIntOrFloatBitWidth();
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{tensor},
             ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value converted =
                   widen ? arith::ExtFOp::create(nb, l, elementType, args[0])
                               .getResult()
                         : arith::TruncFOp::create(nb, l, elementType, args[0])
                               .getResult();
               linalg::YieldOp::create(nb, l, converted);
             })
      .getResult(0);
}

/// The buffer type a tensor argument is passed as.
static Type toBufferType(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return MemRefType::get(tensor.getShape(), tensor.getElementType());
  return type;
}

/// Creates `name` taking `group`'s arguments as buffers (params and grads
/// stored as `paramDtype`) followed by `extraArgs`, and maps every block
/// argument of the group to a tensor view of the matching function argument,
/// widened to f32. The builder is left at the start of the function body.
static func::FuncOp createGroupFunction(OpBuilder &builder, GroupOp group,
                                        Type paramDtype, StringRef name,
                                        ArrayRef<Type> extraArgs,
                                        IRMapping &mapping) {
  Location loc = group.getLoc();
  Block &body = group.getBody().front();
  // The param and grad buffers hold the param dtype and states their
  // storage dtype; the body computes in f32 on widened copies, and new
  // values are rounded back (to nearest even) when stored.
  auto storedAs = [&](BlockArgument arg) -> Type {
    Type type = toBufferType(arg.getType());
    unsigned index = arg.getArgNumber();
    Type storage;
    switch (group.getRole(index)) {
    case Role::param:
    case Role::grad:
      storage = paramDtype;
      break;
    case Role::state:
      storage = cast<StateInitAttr>(group.getArgInits()[index]).getStorage();
      break;
    default:
      break;
    }
    if (!storage)
      return type;
    return MemRefType::get(cast<MemRefType>(type).getShape(), storage);
  };
  SmallVector<Type> argTypes =
      llvm::map_to_vector(body.getArguments(), storedAs);
  llvm::append_range(argTypes, extraArgs);
  auto func = func::FuncOp::create(builder, loc, name,
                                   builder.getFunctionType(argTypes, {}));
  func->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  // How each tensor's dimensions relate to the param's: the runtime binds
  // them so, and stepc-unify-shapes lets loops see it.
  auto paramType = cast<RankedTensorType>(group.getParam().getType());
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      continue;
    SmallVector<int64_t> dims(type.getRank(), -1);
    auto init =
        dyn_cast<StateInitAttr>(group.getArgInits()[arg.getArgNumber()]);
    if (init && init.getShape() != StateShape::by_type) {
      int64_t side = init.getShape() == StateShape::rows_square ? 0 : 1;
      func.setArgAttr(arg.getArgNumber(), kParamDimsAttrName,
                      builder.getDenseI64ArrayAttr({side, side}));
      continue;
    }
    switch (step::classifyLayout(type, paramType)) {
    case step::Layout::Full:
      if (type.getRank() == paramType.getRank())
        for (int64_t i = 0; i < type.getRank(); ++i)
          dims[i] = i;
      break;
    case step::Layout::PerRow:
      dims[0] = 0;
      break;
    case step::Layout::PerCol:
      dims[1] = 1;
      break;
    default:
      break;
    }
    func.setArgAttr(arg.getArgNumber(), kParamDimsAttrName,
                    builder.getDenseI64ArrayAttr(dims));
  }
  // GPU kernels unscale the gradient and read the count from device memory
  // (docs/Design/GpuKernels.md, "Step control").
  for (BlockArgument arg : body.getArguments()) {
    Role role = group.getRole(arg.getArgNumber());
    if (role == Role::grad)
      func.setArgAttr(arg.getArgNumber(), kGradArgAttrName,
                      builder.getUnitAttr());
    else if (role == Role::count)
      func.setArgAttr(arg.getArgNumber(), kCountArgAttrName,
                      builder.getUnitAttr());
  }
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);

  // Tensors view the caller's buffers; only the grad is read-only.
  for (BlockArgument arg : body.getArguments()) {
    Value replacement = entry->getArgument(arg.getArgNumber());
    if (auto memref = dyn_cast<MemRefType>(replacement.getType())) {
      auto viewType =
          RankedTensorType::get(memref.getShape(), memref.getElementType());
      replacement = bufferization::ToTensorOp::create(
          builder, loc, viewType, replacement, /*restrict=*/true,
          /*writable=*/group.getRole(arg.getArgNumber()) != Role::grad);
      replacement = convertElements(builder, loc, replacement,
                                    builder.getF32Type());
    }
    mapping.map(arg, replacement);
  }
  return func;
}

/// Writes `value` (a tensor, or an f32 scalar) into `buffer`, rounding to
/// the buffer's element type.
static void storeInto(OpBuilder &builder, Location loc, Value value,
                      Value buffer) {
  if (!isa<RankedTensorType>(value.getType()))
    value = tensor::FromElementsOp::create(
        builder, loc, RankedTensorType::get({}, value.getType()), value);
  Value result = convertElements(
      builder, loc, value, cast<MemRefType>(buffer.getType()).getElementType());
  bufferization::MaterializeInDestinationOp::create(
      builder, loc, TypeRange{}, result, buffer, /*restrict=*/true,
      /*writable=*/true);
}

SmallVector<SmallVector<GlobalSumOp>> stepc::getSumsByPhase(GroupOp group) {
  SmallVector<SmallVector<GlobalSumOp>> phases;
  for (auto sum : group.getBody().getOps<GlobalSumOp>()) {
    auto phase = static_cast<size_t>(sum.getPhase());
    if (phases.size() < phase)
      phases.resize(phase);
    phases[phase - 1].push_back(sum);
  }
  return phases;
}

/// Builds the destination-passing function of `group` for parameters (and
/// gradients) stored as `paramDtype`, before `optimizer`. After the group's
/// arguments it takes the total of every global sum, in phase order.
static void formGroupFunction(OptimizerOp optimizer, GroupOp group,
                              Type paramDtype) {
  OpBuilder builder(optimizer);
  Location loc = group.getLoc();
  Block &body = group.getBody().front();
  SmallVector<SmallVector<GlobalSumOp>> phases = getSumsByPhase(group);
  SmallVector<GlobalSumOp> sums;
  for (auto &phase : phases)
    llvm::append_range(sums, phase);
  SmallVector<Type> totals(sums.size(), builder.getF32Type());
  IRMapping mapping;
  func::FuncOp func = createGroupFunction(
      builder, group, paramDtype,
      getGroupFunctionName(optimizer.getSymName(), group.getSymName(),
                           paramDtype),
      totals, mapping);
  if (!phases.empty()) {
    func->setAttr(kSumPhasesAttrName, builder.getI64IntegerAttr(phases.size()));
    func->setAttr(kNumTotalsAttrName, builder.getI64IntegerAttr(sums.size()));
    func->setAttr(kSumKeysAttrName,
                  builder.getStrArrayAttr(llvm::map_to_vector(
                      sums, [](GlobalSumOp sum) { return sum.getKey(); })));
    func->setAttr(kOptimizerAttrName, optimizer.getSymNameAttr());
  }
  Block *entry = &func.getBody().front();
  for (auto [index, sum] : llvm::enumerate(sums))
    mapping.map(sum.getTotal(),
                entry->getArgument(body.getNumArguments() + index));
  // The inputs of the sums are dead here; canonicalization drops them.
  for (Operation &op : body.without_terminator())
    if (!isa<GlobalSumOp>(op))
      builder.clone(op, mapping);

  // The new param and states go back into their own buffers.
  auto ret = cast<ReturnOp>(body.getTerminator());
  SmallVector<BlockArgument> destinations = {group.getParam()};
  llvm::append_range(destinations, group.getArgsWithRole(Role::state));
  for (auto [value, destination] : llvm::zip(ret.getValues(), destinations))
    storeInto(builder, loc, mapping.lookupOrDefault(value),
              entry->getArgument(destination.getArgNumber()));
  func::ReturnOp::create(builder, loc);
}

/// Builds the function computing every tensor's contribution to the global
/// sums of `phase` (1-based): the group's arguments, the totals of the
/// earlier phases, then one memref<f32> per sum of this phase to write its
/// contribution to. It writes nothing else and computes only what the
/// contributions need.
static void formSumPhaseFunction(OptimizerOp optimizer, GroupOp group,
                                 Type paramDtype, unsigned phase) {
  OpBuilder builder(optimizer);
  Location loc = group.getLoc();
  Block &body = group.getBody().front();
  SmallVector<SmallVector<GlobalSumOp>> phases = getSumsByPhase(group);
  SmallVector<GlobalSumOp> earlier;
  for (unsigned p = 1; p < phase; ++p)
    llvm::append_range(earlier, phases[p - 1]);
  ArrayRef<GlobalSumOp> current = phases[phase - 1];

  // The ops the contributions read, found backwards through the body
  // (nested regions may read values from above).
  llvm::DenseSet<Operation *> needed;
  for (GlobalSumOp sum : current)
    needed.insert(sum);
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    if (!needed.contains(&op))
      continue;
    if (auto sum = dyn_cast<GlobalSumOp>(op); sum && sum.getPhase() < phase)
      continue; // its total is an argument
    op.walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && def->getBlock() == &body)
          needed.insert(def);
    });
  }

  SmallVector<Type> extraArgs(earlier.size(), builder.getF32Type());
  extraArgs.append(current.size(),
                   MemRefType::get({}, builder.getF32Type()));
  IRMapping mapping;
  func::FuncOp func = createGroupFunction(
      builder, group, paramDtype,
      getSumPhaseFunctionName(optimizer.getSymName(), group.getSymName(),
                              phase, paramDtype),
      extraArgs, mapping);
  func->setAttr(kSumPhaseAttrName, builder.getI64IntegerAttr(phase));
  Block *entry = &func.getBody().front();
  unsigned firstExtra = body.getNumArguments();
  for (auto [index, sum] : llvm::enumerate(earlier))
    mapping.map(sum.getTotal(), entry->getArgument(firstExtra + index));
  unsigned firstOut = firstExtra + earlier.size();
  for (Operation &op : body.without_terminator()) {
    if (!needed.contains(&op))
      continue;
    auto sum = dyn_cast<GlobalSumOp>(op);
    if (!sum) {
      builder.clone(op, mapping);
      continue;
    }
    if (sum.getPhase() < phase)
      continue;
    unsigned slot = llvm::find(current, sum) - current.begin();
    storeInto(builder, loc, mapping.lookupOrDefault(sum.getInput()),
              entry->getArgument(firstOut + slot));
  }
  func::ReturnOp::create(builder, loc);
}

namespace {
struct ConvertStepToFuncPass
    : stepc::impl::ConvertStepToFuncBase<ConvertStepToFuncPass> {
  void runOnOperation() override {
    for (auto optimizer :
         llvm::make_early_inc_range(getOperation().getOps<OptimizerOp>())) {
      for (auto group : optimizer.getBody().getOps<GroupOp>()) {
        unsigned numPhases = getSumsByPhase(group).size();
        for (Attribute attr : group.getParamDtypes()) {
          Type dtype = cast<TypeAttr>(attr).getValue();
          for (unsigned phase = 1; phase <= numPhases; ++phase)
            formSumPhaseFunction(optimizer, group, dtype, phase);
          formGroupFunction(optimizer, group, dtype);
        }
      }
      optimizer.erase();
    }
  }
};
} // namespace
