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

/// Builds the destination-passing function of `group` for parameters (and
/// gradients) stored as `paramDtype`, before `optimizer`.
static void formGroupFunction(OptimizerOp optimizer, GroupOp group,
                              Type paramDtype) {
  OpBuilder builder(optimizer);
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
  auto func = func::FuncOp::create(
      builder, loc,
      getGroupFunctionName(optimizer.getSymName(), group.getSymName(),
                           paramDtype),
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
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);

  // Tensors view the caller's buffers; only the grad is read-only.
  IRMapping mapping;
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
  for (Operation &op : body.without_terminator())
    builder.clone(op, mapping);

  // The new param and states go back into their own buffers.
  auto ret = cast<ReturnOp>(body.getTerminator());
  SmallVector<BlockArgument> destinations = {group.getParam()};
  llvm::append_range(destinations, group.getArgsWithRole(Role::state));
  for (auto [value, destination] : llvm::zip(ret.getValues(), destinations)) {
    Value buffer = entry->getArgument(destination.getArgNumber());
    Value result = convertElements(
        builder, loc, mapping.lookupOrDefault(value),
        cast<MemRefType>(buffer.getType()).getElementType());
    bufferization::MaterializeInDestinationOp::create(
        builder, loc, TypeRange{}, result, buffer, /*restrict=*/true,
        /*writable=*/true);
  }
  func::ReturnOp::create(builder, loc);
}

namespace {
struct ConvertStepToFuncPass
    : stepc::impl::ConvertStepToFuncBase<ConvertStepToFuncPass> {
  void runOnOperation() override {
    for (auto optimizer :
         llvm::make_early_inc_range(getOperation().getOps<OptimizerOp>())) {
      for (auto group : optimizer.getBody().getOps<GroupOp>())
        for (Attribute dtype : group.getParamDtypes())
          formGroupFunction(optimizer, group,
                            cast<TypeAttr>(dtype).getValue());
      optimizer.erase();
    }
  }
};
} // namespace
