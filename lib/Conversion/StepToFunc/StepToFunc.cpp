//===- StepToFunc.cpp - step groups to functions ---------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/StepToFunc.h"

#include "stepc/Dialect/Step/IR/StepOps.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

namespace stepc {
#define GEN_PASS_DEF_CONVERTSTEPTOFUNC
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;
using namespace stepc;
using namespace stepc::step;

std::string stepc::getGroupFunctionName(StringRef optimizer, StringRef group) {
  return ("stepc_" + optimizer + "_" + group).str();
}

/// The buffer type a tensor argument is passed as.
static Type toBufferType(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return MemRefType::get(tensor.getShape(), tensor.getElementType());
  return type;
}

/// Builds the destination-passing function of `group` before `optimizer`.
static void formGroupFunction(OptimizerOp optimizer, GroupOp group) {
  OpBuilder builder(optimizer);
  Location loc = group.getLoc();
  Block &body = group.getBody().front();
  SmallVector<Type> argTypes =
      llvm::map_to_vector(body.getArgumentTypes(), toBufferType);
  auto func = func::FuncOp::create(
      builder, loc,
      getGroupFunctionName(optimizer.getSymName(), group.getSymName()),
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
    if (isa<RankedTensorType>(arg.getType()))
      replacement = bufferization::ToTensorOp::create(
          builder, loc, arg.getType(), replacement, /*restrict=*/true,
          /*writable=*/group.getRole(arg.getArgNumber()) != Role::grad);
    mapping.map(arg, replacement);
  }
  for (Operation &op : body.without_terminator())
    builder.clone(op, mapping);

  // The new param and states go back into their own buffers.
  auto ret = cast<ReturnOp>(body.getTerminator());
  SmallVector<BlockArgument> destinations = {group.getParam()};
  llvm::append_range(destinations, group.getArgsWithRole(Role::state));
  for (auto [value, destination] : llvm::zip(ret.getValues(), destinations))
    bufferization::MaterializeInDestinationOp::create(
        builder, loc, TypeRange{}, mapping.lookupOrDefault(value),
        entry->getArgument(destination.getArgNumber()), /*restrict=*/true,
        /*writable=*/true);
  func::ReturnOp::create(builder, loc);
}

namespace {
struct ConvertStepToFuncPass
    : stepc::impl::ConvertStepToFuncBase<ConvertStepToFuncPass> {
  void runOnOperation() override {
    for (auto optimizer :
         llvm::make_early_inc_range(getOperation().getOps<OptimizerOp>())) {
      for (auto group : optimizer.getBody().getOps<GroupOp>())
        formGroupFunction(optimizer, group);
      optimizer.erase();
    }
  }
};
} // namespace
