//===- UnifyShapes.cpp - read dimensions from the param --------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace stepc {
#define GEN_PASS_DEF_UNIFYSHAPES
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
struct UnifyShapesPass : stepc::impl::UnifyShapesBase<UnifyShapesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || func.getNumArguments() == 0)
      return;
    Value param = func.getArgument(0);
    // The param dimension `source`'s dimension `dim` equals, if any.
    auto paramDim = [&](Value source, int64_t dim) -> std::optional<int64_t> {
      if (auto view = source.getDefiningOp<bufferization::ToTensorOp>())
        source = view.getBuffer();
      auto arg = dyn_cast<BlockArgument>(source);
      if (!arg || arg.getOwner() != &func.getBody().front())
        return std::nullopt;
      auto dims = func.getArgAttrOfType<DenseI64ArrayAttr>(
          arg.getArgNumber(), stepc::kParamDimsAttrName);
      if (!dims || dim >= static_cast<int64_t>(dims.size()) || dims[dim] < 0)
        return std::nullopt;
      return dims[dim];
    };
    OpBuilder builder(func.getContext());
    auto unify = [&](Operation *op, Value source, Value index) {
      std::optional<int64_t> dim = getConstantIntValue(index);
      if (!dim)
        return;
      std::optional<int64_t> target = paramDim(source, *dim);
      if (!target || (source == param && *target == *dim))
        return;
      builder.setInsertionPoint(op);
      Value size = memref::DimOp::create(builder, op->getLoc(), param, *target);
      op->getResult(0).replaceAllUsesWith(size);
      op->erase();
    };
    func.walk([&](memref::DimOp op) { unify(op, op.getSource(), op.getIndex()); });
    func.walk([&](tensor::DimOp op) { unify(op, op.getSource(), op.getIndex()); });
  }
};
} // namespace
