//===- StepFolds.cpp - folds and canonicalizations of step ops -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Dialect/Step/IR/StepOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace stepc::step;

OpFoldResult ScaleOp::fold(FoldAdaptor) {
  if (isConstantScale() && getShape() == ShapeFactor::none &&
      getFactorAttr().getValueAsDouble() == 1.0)
    return getInput();
  return {};
}

namespace {
/// scale(scale(x, a, s1, ...), b, s2) -> scale(x, a*b, s1|s2, ...) when the
/// outer scale is constant and at most one of the two has a shape rule: the
/// outer factor multiplies straight into the inner op's factor.
struct FoldConstantScaleIntoScale : OpRewritePattern<ScaleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ScaleOp outer,
                                PatternRewriter &rewriter) const override {
    if (!outer.isConstantScale())
      return rewriter.notifyMatchFailure(outer, "outer scale is not constant");
    auto inner = outer.getInput().getDefiningOp<ScaleOp>();
    if (!inner || !inner->hasOneUse())
      return rewriter.notifyMatchFailure(outer, "input is no single-use scale");
    if (inner.getShape() != ShapeFactor::none &&
        outer.getShape() != ShapeFactor::none)
      return rewriter.notifyMatchFailure(outer, "two shape rules do not merge");
    ShapeFactor shape = inner.getShape() != ShapeFactor::none
                            ? inner.getShape()
                            : outer.getShape();
    double factor = inner.getFactorAttr().getValueAsDouble() *
                    outer.getFactorAttr().getValueAsDouble();
    rewriter.modifyOpInPlace(inner, [&] {
      inner.setFactorAttr(rewriter.getF64FloatAttr(factor));
      inner.setShape(shape);
    });
    rewriter.replaceOp(outer, inner.getResult());
    return success();
  }
};
} // namespace

void ScaleOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                          MLIRContext *context) {
  patterns.add<FoldConstantScaleIntoScale>(context);
}
