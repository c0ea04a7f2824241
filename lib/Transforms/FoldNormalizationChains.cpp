//===- FoldNormalizationChains.cpp - chains as two scale vectors ----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A row or column normalization scales its input, so a chain of them keeps
// X = diag(r)·G·diag(c): the chain needs G and two vectors, not each X.
// Lowered op by op, every X was recomputed from G through all the earlier
// factors, per element (SinkGD's last column sums multiplied each element
// by nine factors). Folded, each normalization is one weighted sum of G²
// and an update of r or c (docs/Design/CpuPipeline.md, "Normalization
// chains as scale vectors").
//
//===----------------------------------------------------------------------===//

#include "stepc/Dialect/Step/IR/StepOps.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace stepc {
#define GEN_PASS_DEF_FOLDNORMALIZATIONCHAINS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;
namespace step = stepc::step;

namespace {

/// One link of a chain: a normalization of rows or of columns.
struct Link {
  Operation *op;
  bool rows;
  step::NormTarget target;
  step::EpsMode mode;
  double eps;
};

/// The link `op` would be, if it can be folded: p = 2, power 1 and a
/// target that does not depend on the whole matrix.
std::optional<Link> linkOf(Operation *op) {
  auto describe = [&](auto normalize, bool rows) -> std::optional<Link> {
    if (normalize.getPAttr().getValueAsDouble() != 2.0 ||
        normalize.getPowerAttr().getValueAsDouble() != 1.0 ||
        normalize.getTarget() == step::NormTarget::rms_of_norms)
      return std::nullopt;
    return Link{op, rows, normalize.getTarget(), normalize.getMode(),
                normalize.getEpsAttr().getValueAsDouble()};
  };
  if (auto rows = dyn_cast<step::NormalizeRowsOp>(op))
    return describe(rows, true);
  if (auto cols = dyn_cast<step::NormalizeColsOp>(op))
    return describe(cols, false);
  return std::nullopt;
}

/// The link that consumes `link`'s result as its only user, if any.
std::optional<Link> nextLink(const Link &link) {
  Value result = link.op->getResult(0);
  if (!result.hasOneUse())
    return std::nullopt;
  return linkOf(*result.getUsers().begin());
}

/// A step.elementwise of `inputs` into `type` with the scalar body `body`.
Value elementwise(OpBuilder &b, Location loc, Type type, ValueRange inputs,
                  function_ref<Value(OpBuilder &, ValueRange)> body) {
  auto op = step::ElementwiseOp::create(b, loc, TypeRange{type}, inputs);
  SmallVector<Type> argTypes(inputs.size(), b.getF32Type());
  SmallVector<Location> argLocs(inputs.size(), loc);
  OpBuilder::InsertionGuard guard(b);
  Block *block = b.createBlock(&op.getBody(), {}, argTypes, argLocs);
  step::YieldOp::create(b, loc,
                        ValueRange{body(b, ValueRange(block->getArguments()))});
  return op.getResult(0);
}

Value reduce(OpBuilder &b, Location loc, Type type, step::ReduceKind kind,
             Value input, step::ReduceAxis axis) {
  MLIRContext *ctx = b.getContext();
  return step::ReduceOp::create(
             b, loc, type, step::ReduceKindAttr::get(ctx, kind),
             ValueRange{input}, step::ReduceAxisAttr::get(ctx, axis),
             b.getF64FloatAttr(2.0))
      .getResult();
}

/// Rewrites `chain` (two or more links, each consuming the one before).
void fold(ArrayRef<Link> chain) {
  Operation *first = chain.front().op;
  Location loc = first->getLoc();
  OpBuilder b(chain.back().op);
  Value g = first->getOperand(0);
  auto matrixType = cast<RankedTensorType>(g.getType());
  Type f32 = b.getF32Type();
  auto rowType = RankedTensorType::get({matrixType.getDimSize(0), 1}, f32);
  auto colType = RankedTensorType::get({1, matrixType.getDimSize(1)}, f32);
  auto constant = [&](OpBuilder &nb, double value) -> Value {
    return arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(value));
  };

  Value squares = elementwise(
      b, loc, matrixType, {g}, [&](OpBuilder &nb, ValueRange v) -> Value {
        return arith::MulFOp::create(nb, loc, v[0], v[0]);
      });
  // The scale of each row (r) and column (c); null while it is all ones.
  Value rowScale, colScale;
  Value rowTarget, colTarget; // √(vector length), made on first use
  for (const Link &link : chain) {
    Value &scale = link.rows ? rowScale : colScale;
    Value other = link.rows ? colScale : rowScale;
    Type vectorType = link.rows ? Type(rowType) : Type(colType);
    step::ReduceAxis axis =
        link.rows ? step::ReduceAxis::rows : step::ReduceAxis::cols;

    // Σ G² times the other scale squared, along each vector.
    Value weighted = squares;
    if (other)
      weighted = elementwise(b, loc, matrixType, {squares, other},
                             [&](OpBuilder &nb, ValueRange v) -> Value {
                               Value o2 =
                                   arith::MulFOp::create(nb, loc, v[1], v[1]);
                               return arith::MulFOp::create(nb, loc, v[0], o2);
                             });
    Value sums =
        reduce(b, loc, vectorType, step::ReduceKind::sum, weighted, axis);

    SmallVector<Value> inputs = {sums};
    bool hasScale = bool(scale);
    if (hasScale)
      inputs.push_back(scale);
    bool sqrtDim = link.target == step::NormTarget::sqrt_dim;
    if (sqrtDim) {
      Value &target = link.rows ? rowTarget : colTarget;
      if (!target)
        target = elementwise(
            b, loc, vectorType,
            {reduce(b, loc, vectorType, step::ReduceKind::numel, g, axis)},
            [&](OpBuilder &nb, ValueRange v) -> Value {
              return math::SqrtOp::create(nb, loc, v[0]);
            });
      inputs.push_back(target);
    }
    // The vector's norm in X, the normalization's factor T / D(norm), and
    // the new scale; a vector that is zero in G keeps its scale.
    scale = elementwise(
        b, loc, vectorType, inputs, [&](OpBuilder &nb, ValueRange v) -> Value {
          Value sum = v[0];
          Value old = hasScale ? v[1] : constant(nb, 1.0);
          Value target = sqrtDim ? v.back() : constant(nb, 1.0);
          Value norm = math::SqrtOp::create(nb, loc, sum);
          if (hasScale)
            norm = arith::MulFOp::create(nb, loc, old, norm);
          Value denominator = link.mode == step::EpsMode::add
                                  ? Value(arith::AddFOp::create(
                                        nb, loc, norm, constant(nb, link.eps)))
                                  : Value(arith::MaximumFOp::create(
                                        nb, loc, norm, constant(nb, link.eps)));
          Value factor = arith::DivFOp::create(nb, loc, target, denominator);
          Value scaled = arith::MulFOp::create(nb, loc, old, factor);
          Value zero = arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ,
                                             sum, constant(nb, 0.0));
          return arith::SelectOp::create(nb, loc, zero, old, scaled);
        });
  }

  SmallVector<Value> inputs = {g};
  if (rowScale)
    inputs.push_back(rowScale);
  if (colScale)
    inputs.push_back(colScale);
  Value result = elementwise(b, loc, matrixType, inputs,
                             [&](OpBuilder &nb, ValueRange v) -> Value {
                               Value x = v[0];
                               for (Value s : v.drop_front())
                                 x = arith::MulFOp::create(nb, loc, x, s);
                               return x;
                             });
  chain.back().op->getResult(0).replaceAllUsesWith(result);
  for (const Link &link : llvm::reverse(chain))
    link.op->erase();
}

struct FoldNormalizationChainsPass
    : stepc::impl::FoldNormalizationChainsBase<FoldNormalizationChainsPass> {
  void runOnOperation() override {
    SmallVector<SmallVector<Link>> chains;
    getOperation().walk([&](Operation *op) {
      std::optional<Link> link = linkOf(op);
      if (!link)
        return;
      // Start only at a chain's first link.
      if (Operation *producer = op->getOperand(0).getDefiningOp())
        if (std::optional<Link> before = linkOf(producer))
          if (nextLink(*before))
            return;
      SmallVector<Link> chain = {*link};
      while (std::optional<Link> next = nextLink(chain.back()))
        chain.push_back(*next);
      if (chain.size() >= 2)
        chains.push_back(std::move(chain));
    });
    for (ArrayRef<Link> chain : chains)
      fold(chain);
  }
};

} // namespace
