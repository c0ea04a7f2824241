//===- FillPerProduct.cpp - a fill of its own per product -------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace stepc {
#define GEN_PASS_DEF_FILLPERPRODUCT
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
struct FillPerProductPass
    : stepc::impl::FillPerProductBase<FillPerProductPass> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) { fills.push_back(fill); });
    for (linalg::FillOp fill : fills) {
      auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
      if (!empty || !fill.hasPureTensorSemantics())
        continue;
      // The uses that products (two parallel loops, one reduction) in the
      // fill's block accumulate into. Other reductions keep sharing: a
      // fill just before a row sum would cost a grid barrier between them.
      SmallVector<OpOperand *> accumulated;
      for (OpOperand &use : fill.getResult(0).getUses()) {
        auto reduction = dyn_cast<linalg::GenericOp>(use.getOwner());
        if (reduction && reduction.getNumLoops() == 3 &&
            reduction.getNumReductionLoops() == 1 &&
            reduction.isDpsInit(&use) &&
            reduction->getBlock() == fill->getBlock())
          accumulated.push_back(&use);
      }
      if (accumulated.size() < 2)
        continue;
      llvm::sort(accumulated, [](OpOperand *a, OpOperand *b) {
        return a->getOwner()->isBeforeInBlock(b->getOwner());
      });
      // The first keeps the fill; each other gets a copy of the fill and
      // its empty tensor, just before it (where both operands dominate).
      for (OpOperand *use : llvm::drop_begin(accumulated)) {
        OpBuilder b(use->getOwner());
        IRMapping mapping;
        b.clone(*empty, mapping);
        use->set(b.clone(*fill, mapping)->getResult(0));
      }
    }
  }
};
} // namespace
