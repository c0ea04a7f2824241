//===- StepToLinalg.cpp - decompose step ops into linalg -------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// One pattern per step compute op. Each writes the op's formula from
// docs/Dialects/Step/StepOps.md with the building blocks of LinalgEmitter:
// per-tensor scalars are computed once outside the element loops and
// captured by their bodies; per-row and per-column values are reduced once
// and broadcast.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/StepToLinalg.h"

#include "LinalgEmitter.h"
#include "stepc/Dialect/Step/IR/StepOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include <limits>

namespace stepc {
#define GEN_PASS_DEF_CONVERTSTEPTOLINALG
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;
using namespace stepc;
using namespace stepc::step;

namespace {

using Scalars = SmallVector<Value>;

static double asDouble(FloatAttr attr) { return attr.getValueAsDouble(); }

/// `t == 1` for ops whose first step stores the gradient, else null.
static Value firstStepFlag(LinalgEmitter &e, FirstStep firstStep, Value count) {
  if (firstStep != FirstStep::grad)
    return {};
  return arith::CmpFOp::create(e.builder(), e.location(),
                               arith::CmpFPredicate::OEQ, count,
                               e.constant(1.0));
}

/// `onFirst` on the first step, `otherwise` after it.
static Value selectFirst(OpBuilder &b, Location loc, Value isFirst,
                         Value onFirst, Value otherwise) {
  if (!isFirst)
    return otherwise;
  return arith::SelectOp::create(b, loc, isFirst, onFirst, otherwise);
}

static Value f32(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// Σ x² over the whole tensor, as an f32.
static Value sumOfAllSquares(LinalgEmitter &e, Value x) {
  return e.scalar(e.sumOfSquares(x, ReduceAxis::all));
}

/// x ⊙ factors, the factors one per tensor, row or column.
static Value scaleBy(LinalgEmitter &e, Value x, Value factors) {
  return e.map1(x, {x, factors}, [](OpBuilder &b, Location l, ValueRange v) {
    return Scalars{arith::MulFOp::create(b, l, v[0], v[1])};
  });
}

//===----------------------------------------------------------------------===//
// Moments
//===----------------------------------------------------------------------===//

struct MomentumLowering : OpConversionPattern<MomentumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MomentumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    double beta = asDouble(op.getBetaAttr());
    double gradWeight = op.getKind() == MomentumKind::ema
                            ? 1.0 - beta
                            : 1.0 - asDouble(op.getDampeningAttr());
    // The Nesterov blend weighs the gradient by (1-β) for EMA, 1 for HB.
    double blendWeight = op.getKind() == MomentumKind::ema ? 1.0 - beta : 1.0;
    bool nesterov = op.getNesterov();
    Value isFirst = firstStepFlag(e, op.getFirstStep(), adaptor.getCount());
    SmallVector<Value> results = e.map(
        adaptor.getGrad(), {adaptor.getGrad(), adaptor.getBuffer()}, 2,
        [&](OpBuilder &b, Location loc, ValueRange x) -> Scalars {
          Value g = x[0], buf = x[1];
          Value next = arith::AddFOp::create(
              b, loc, arith::MulFOp::create(b, loc, f32(b, loc, beta), buf),
              arith::MulFOp::create(b, loc, f32(b, loc, gradWeight), g));
          next = selectFirst(b, loc, isFirst, g, next);
          Value update = next;
          if (nesterov)
            update = arith::AddFOp::create(
                b, loc, arith::MulFOp::create(b, loc, f32(b, loc, blendWeight), g),
                arith::MulFOp::create(b, loc, f32(b, loc, beta), next));
          return {next, update};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SecondMomentLowering : OpConversionPattern<SecondMomentOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SecondMomentOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value x = adaptor.getInput(), state = adaptor.getState();
    double beta = asDouble(op.getBetaAttr());
    Value isFirst = firstStepFlag(e, op.getFirstStep(), adaptor.getCount());

    // `reduced` holds Σx² over the reduced elements and `inverseCount` turns
    // it into a mean; per element, x² itself.
    Value reduced = x, inverseCount = e.constant(1.0);
    bool squareInBody = true;
    switch (op.getReduce()) {
    case MomentReduce::none:
      break;
    case MomentReduce::rows:
      reduced = e.sumOfSquares(x, ReduceAxis::rows);
      inverseCount = e.div(e.constant(1.0), e.dimAsFloat(x, 1));
      squareInBody = false;
      break;
    case MomentReduce::cols:
      reduced = e.sumOfSquares(x, ReduceAxis::cols);
      inverseCount = e.div(e.constant(1.0), e.dimAsFloat(x, 0));
      squareInBody = false;
      break;
    case MomentReduce::matrix:
      reduced = e.sumOfSquares(x, ReduceAxis::all);
      inverseCount = e.div(e.constant(1.0),
                           e.mul(e.dimAsFloat(x, 0), e.dimAsFloat(x, 1)));
      squareInBody = false;
      break;
    case MomentReduce::short_axis: {
      // Mean over the short axis, one value per element of the long one.
      auto stateType = cast<RankedTensorType>(state.getType());
      SmallVector<Value> chosen = e.byLongAxis(x, [&](ReduceAxis keep) {
        Value sums = e.toVector(e.sumOfSquares(x, keep));
        if (sums.getType() != stateType)
          sums = tensor::CastOp::create(rewriter, op.getLoc(), stateType, sums);
        Value shortLength = e.dimAsFloat(x, keep == ReduceAxis::rows ? 1 : 0);
        return SmallVector<Value>{sums, e.div(e.constant(1.0), shortLength)};
      });
      reduced = chosen[0];
      inverseCount = chosen[1];
      squareInBody = false;
      break;
    }
    }
    Value result = e.map1(
        state, {state, reduced}, [&](OpBuilder &b, Location loc, ValueRange v) {
          Value sample = squareInBody ? arith::MulFOp::create(b, loc, v[1], v[1])
                                      : arith::MulFOp::create(b, loc, v[1],
                                                              inverseCount);
          Value next = arith::AddFOp::create(
              b, loc, arith::MulFOp::create(b, loc, f32(b, loc, beta), v[0]),
              arith::MulFOp::create(b, loc, f32(b, loc, 1.0 - beta), sample));
          return Scalars{selectFirst(b, loc, isFirst, sample, next)};
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct PreconditionLowering : OpConversionPattern<PreconditionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PreconditionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    // 1/c1 and 1/c2 (both 1 without bias correction).
    Value invC1 = e.constant(1.0), invC2 = e.constant(1.0);
    if (op.getBeta1()) {
      invC1 = e.div(e.constant(1.0),
                    e.biasCorrection(op.getBeta1Attr().getValueAsDouble(),
                                     adaptor.getCount()));
      invC2 = e.div(e.constant(1.0),
                    e.biasCorrection(op.getBeta2Attr().getValueAsDouble(),
                                     adaptor.getCount()));
    }
    Value sqrtInvC2 = e.sqrt(invC2);
    double eps = asDouble(op.getEpsAttr());
    PrecondEps mode = op.getMode();
    auto precondition = [&](Value moment) {
      return e.map1(
        adaptor.getNumerator(), {adaptor.getNumerator(), moment},
        [&](OpBuilder &b, Location loc, ValueRange x) -> Scalars {
          Value num = arith::MulFOp::create(b, loc, x[0], invC1);
          Value v = x[1], epsValue = f32(b, loc, eps), denom;
          switch (mode) {
          case PrecondEps::add: // sqrt(v)/sqrt(c2) + ε
            denom = arith::AddFOp::create(
                b, loc,
                arith::MulFOp::create(b, loc, math::SqrtOp::create(b, loc, v),
                                      sqrtInvC2),
                epsValue);
            break;
          case PrecondEps::add_before_correction: // (sqrt(v) + ε)/sqrt(c2)
            denom = arith::MulFOp::create(
                b, loc,
                arith::AddFOp::create(b, loc, math::SqrtOp::create(b, loc, v),
                                      epsValue),
                sqrtInvC2);
            break;
          case PrecondEps::clamp: // sqrt(max(v/c2, ε))
            denom = math::SqrtOp::create(
                b, loc,
                arith::MaximumFOp::create(
                    b, loc, arith::MulFOp::create(b, loc, v, invC2), epsValue));
            break;
          case PrecondEps::inside_sqrt: // sqrt(v/c2 + ε)
            denom = math::SqrtOp::create(
                b, loc,
                arith::AddFOp::create(
                    b, loc, arith::MulFOp::create(b, loc, v, invC2), epsValue));
            break;
          }
          return {arith::DivFOp::create(b, loc, num, denom)};
        });
    };
    Value numerator = adaptor.getNumerator(), moment = adaptor.getMoment();
    auto numType = cast<RankedTensorType>(numerator.getType());
    Value result;
    if (numType.getRank() == 2 &&
        cast<RankedTensorType>(moment.getType()).getRank() == 1) {
      // A long-axis moment: per row or per column, decided by the shape.
      result = e.byLongAxis(numerator, [&](ReduceAxis axis) {
        return Scalars{precondition(e.fromVector(moment, axis))};
      })[0];
    } else {
      result = precondition(moment);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Normalization and orthogonalization
//===----------------------------------------------------------------------===//

template <typename NormalizeOpT, ReduceAxis kAxis>
struct NormalizeLowering : OpConversionPattern<NormalizeOpT> {
  using OpConversionPattern<NormalizeOpT>::OpConversionPattern;
  using OpAdaptor = typename NormalizeOpT::Adaptor;
  LogicalResult
  matchAndRewrite(NormalizeOpT op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value x = adaptor.getInput();
    bool rows = kAxis == ReduceAxis::rows;
    // Rows have n = cols elements and there are m of them; columns the reverse.
    Value vectorLength = e.dimAsFloat(x, rows ? 1 : 0);
    Value numVectors = e.dimAsFloat(x, rows ? 0 : 1);
    Value target = e.constant(1.0);
    switch (op.getTarget()) {
    case NormTarget::unit:
      break;
    case NormTarget::sqrt_dim:
      target = e.sqrt(vectorLength);
      break;
    case NormTarget::rms_of_norms:
      target = e.sqrt(e.div(sumOfAllSquares(e, x), numVectors));
      break;
    }
    double power = asDouble(op.getPowerAttr()), eps = asDouble(op.getEpsAttr());
    EpsMode mode = op.getMode();
    Value norms = e.norm(x, kAxis, asDouble(op.getPAttr()));
    // One factor per vector: T / (d^power + ε) or T / max(d, ε)^power.
    Value factors = e.map1(norms, {norms}, [&](OpBuilder &b, Location loc,
                                               ValueRange d) -> Scalars {
      Value powerValue = f32(b, loc, power);
      Value denom;
      if (mode == EpsMode::add) {
        Value raised = power == 1.0
                           ? d[0]
                           : math::PowFOp::create(b, loc, d[0], powerValue);
        denom = arith::AddFOp::create(b, loc, raised, f32(b, loc, eps));
      } else {
        Value clamped = arith::MaximumFOp::create(b, loc, d[0], f32(b, loc, eps));
        denom = power == 1.0
                    ? clamped
                    : math::PowFOp::create(b, loc, clamped, powerValue);
      }
      return {arith::DivFOp::create(b, loc, target, denom)};
    });
    rewriter.replaceOp(op, scaleBy(e, x, factors));
    return success();
  }
};

struct NewtonSchulzLowering : OpConversionPattern<NewtonSchulzOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(NewtonSchulzOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Type compute = op.getComputeType();

    // X₀ = x / (s·‖x‖ + ε) or x / max(s·‖x‖, ε), in f32 before any rounding.
    Value norm = e.sqrt(sumOfAllSquares(e, x));
    Value denom = e.guard(e.mul(e.constant(asDouble(op.getSafetyAttr())), norm),
                          asDouble(op.getEpsAttr()), op.getMode());
    Value inverse = e.div(e.constant(1.0), denom);
    Value start = e.map1(x, {x}, [&](OpBuilder &b, Location l, ValueRange v) {
      return Scalars{arith::MulFOp::create(b, l, v[0], inverse)};
    });

    // X ← a·X + (b·A + c·A²)·X with A = X·Xᵀ; matmul inputs rounded to the
    // compute type, f32 accumulation. One iteration body in an scf.for, the
    // k-th (a, b, c) read from a table when they change per iteration: LLVM
    // then compiles one copy of the three matmuls, not one per iteration.
    int64_t steps = op.getSteps();
    SmallVector<float> as, bs, cs;
    for (int64_t k = 0; k < steps; ++k) {
      std::array<double, 3> abc = op.getCoefficientsAt(k);
      as.push_back(abc[0]);
      bs.push_back(abc[1]);
      cs.push_back(abc[2]);
    }
    bool constantCoefficients =
        llvm::all_equal(as) && llvm::all_equal(bs) && llvm::all_equal(cs);
    auto iterationBody = [&](OpBuilder &builder, Location l, Value matrix,
                             Value a, Value bCoef, Value c) {
      LinalgEmitter inner(builder, l);
      Value rounded = inner.roundTo(matrix, compute);
      Value gram = inner.matmul(rounded, rounded, /*transposeRhs=*/true);
      Value gramRounded = inner.roundTo(gram, compute);
      Value gramSquared = inner.matmul(gramRounded, gramRounded, false);
      Value poly =
          inner.map1(gram, {gram, gramSquared},
                     [&](OpBuilder &b, Location ll, ValueRange v) -> Scalars {
                       return {arith::AddFOp::create(
                           b, ll, arith::MulFOp::create(b, ll, bCoef, v[0]),
                           arith::MulFOp::create(b, ll, c, v[1]))};
                     });
      Value polyTimesX =
          inner.matmul(inner.roundTo(poly, compute), rounded, false);
      // a·X + P·X written over X (the loop's own value: each element reads
      // only itself), so the loop carries one buffer.
      auto type = cast<RankedTensorType>(matrix.getType());
      AffineMap identity = AffineMap::getMultiDimIdentityMap(
          type.getRank(), builder.getContext());
      SmallVector<utils::IteratorType> parallel(type.getRank(),
                                                utils::IteratorType::parallel);
      return linalg::GenericOp::create(
                 builder, l, TypeRange{type}, ValueRange{polyTimesX},
                 ValueRange{matrix}, ArrayRef<AffineMap>{identity, identity},
                 parallel,
                 [&](OpBuilder &b, Location ll, ValueRange v) {
                   linalg::YieldOp::create(
                       b, ll,
                       ValueRange{arith::AddFOp::create(
                           b, ll, arith::MulFOp::create(b, ll, a, v[1]),
                           v[0])});
                 })
          .getResult(0);
    };
    auto iterate = [&](OpBuilder &builder, Location l, Value matrix) -> Value {
      if (steps == 0)
        return matrix;
      auto table = [&](ArrayRef<float> values) -> Value {
        auto type = RankedTensorType::get({int64_t(values.size())},
                                          builder.getF32Type());
        return arith::ConstantOp::create(builder, l,
                                         DenseElementsAttr::get(type, values));
      };
      Value aTable, bTable, cTable;
      if (!constantCoefficients) {
        aTable = table(as);
        bTable = table(bs);
        cTable = table(cs);
      }
      Value lower = arith::ConstantIndexOp::create(builder, l, 0);
      Value upper = arith::ConstantIndexOp::create(builder, l, steps);
      Value one = arith::ConstantIndexOp::create(builder, l, 1);
      auto loop = scf::ForOp::create(
          builder, l, lower, upper, one, ValueRange{matrix},
          [&](OpBuilder &b, Location ll, Value k, ValueRange current) {
            auto coefficient = [&](Value tableValue, float value) -> Value {
              if (!tableValue)
                return f32(b, ll, value);
              return tensor::ExtractOp::create(b, ll, tableValue,
                                               ValueRange{k});
            };
            Value next = iterationBody(
                b, ll, current[0], coefficient(aTable, as[0]),
                coefficient(bTable, bs[0]), coefficient(cTable, cs[0]));
            scf::YieldOp::create(b, ll, next);
          });
      return loop.getResult(0);
    };

    auto type = cast<RankedTensorType>(x.getType());
    bool transposeRule = op.getTranspose() == Transpose::smaller_gram;
    // Tall matrices (m > n) are transposed so the Gram is min(m, n)².
    if (!transposeRule) {
      rewriter.replaceOp(op, iterate(rewriter, loc, start));
      return success();
    }
    if (type.hasStaticShape()) {
      bool tall = type.getDimSize(0) > type.getDimSize(1);
      Value result = tall ? e.transpose(iterate(rewriter, loc, e.transpose(start)))
                          : iterate(rewriter, loc, start);
      rewriter.replaceOp(op, result);
      return success();
    }
    // Shape unknown until run time: transpose in and out under a condition
    // and emit the iterations once (compile time and code size halve
    // against one unrolled copy per orientation).
    Value rows = tensor::DimOp::create(rewriter, loc, x, 0);
    Value cols = tensor::DimOp::create(rewriter, loc, x, 1);
    Value tall = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ugt,
                                       rows, cols);
    auto transposeIfTall = [&](Value matrix) {
      return scf::IfOp::create(
                 rewriter, loc, tall,
                 [&](OpBuilder &b, Location l) {
                   scf::YieldOp::create(b, l,
                                        LinalgEmitter(b, l).transpose(matrix));
                 },
                 [&](OpBuilder &b, Location l) {
                   scf::YieldOp::create(b, l, matrix);
                 })
          .getResult(0);
    };
    Value result = transposeIfTall(iterate(rewriter, loc, transposeIfTall(start)));
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Spheres and gains
//===----------------------------------------------------------------------===//

/// ‖x‖ over the whole tensor, or per row / column as a keep-dim tensor.
static Value sphereNorms(LinalgEmitter &e, Value x, SphereMode mode) {
  if (mode == SphereMode::frobenius)
    return e.sqrt(sumOfAllSquares(e, x));
  return e.norm(x, mode == SphereMode::rows ? ReduceAxis::rows : ReduceAxis::cols,
                2.0);
}

struct SphereProjectLowering : OpConversionPattern<SphereProjectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SphereProjectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value x = adaptor.getInput();
    Value radius = e.mul(e.constant(asDouble(op.getRadiusAttr())),
                         e.shapeFactor(x, op.getShape()));
    if (adaptor.getBy())
      radius = e.mul(radius, e.scalar(adaptor.getBy()));
    double eps = asDouble(op.getEpsAttr());
    EpsMode mode = op.getMode();
    Value norms = sphereNorms(e, x, op.getSphere());
    // ρ / N, one factor for the tensor or one per row / column.
    Value factors;
    if (op.getSphere() == SphereMode::frobenius)
      factors = e.div(radius, e.guard(norms, eps, mode));
    else
      factors = e.map1(norms, {norms}, [&](OpBuilder &b, Location l, ValueRange n) {
        return Scalars{arith::DivFOp::create(
            b, l, radius, LinalgEmitter::guard(b, l, n[0], eps, mode))};
      });
    rewriter.replaceOp(op, scaleBy(e, x, factors));
    return success();
  }
};

struct TangentProjectLowering : OpConversionPattern<TangentProjectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TangentProjectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value u = adaptor.getInput(), w = adaptor.getOnto();
    double eps = asDouble(op.getEpsAttr());
    // u − ŵ⟨ŵ,u⟩ = u − w · ⟨w,u⟩ / (‖w‖ + ε)², per tensor, row or column.
    Value norms = sphereNorms(e, w, op.getSphere());
    Value coefficients;
    if (op.getSphere() == SphereMode::frobenius) {
      Value inner = e.scalar(e.dot(u, w, ReduceAxis::all));
      Value guarded = e.add(norms, e.constant(eps));
      coefficients = e.div(inner, e.mul(guarded, guarded));
    } else {
      ReduceAxis axis =
          op.getSphere() == SphereMode::rows ? ReduceAxis::rows : ReduceAxis::cols;
      Value inner = e.dot(u, w, axis);
      coefficients = e.map1(inner, {inner, norms}, [&](OpBuilder &b, Location l,
                                                       ValueRange v) {
        Value guarded = arith::AddFOp::create(b, l, v[1], f32(b, l, eps));
        return Scalars{arith::DivFOp::create(
            b, l, v[0], arith::MulFOp::create(b, l, guarded, guarded))};
      });
    }
    Value result = e.map1(u, {u, w, coefficients},
                          [](OpBuilder &b, Location l, ValueRange v) {
                            return Scalars{arith::SubFOp::create(
                                b, l, v[0], arith::MulFOp::create(b, l, v[1], v[2]))};
                          });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// γ = φ(g) for a gain tensor.
static Value gainValues(LinalgEmitter &e, Value gain, GainMap map) {
  if (map == GainMap::identity)
    return gain;
  return e.map1(gain, {gain}, [](OpBuilder &b, Location l, ValueRange g) {
    return Scalars{emitSoftplus(b, l, g[0])};
  });
}

/// γ_r and γ_c as broadcastable values (1 where an axis has no gain).
static std::pair<Value, Value> rowAndColGains(LinalgEmitter &e, GainAxes axes,
                                              ValueRange gammas) {
  Value one = e.constant(1.0);
  switch (axes) {
  case GainAxes::scalar:
    return {gammas[0], one};
  case GainAxes::row:
    return {gammas[0], one};
  case GainAxes::col:
    return {one, gammas[0]};
  case GainAxes::row_col:
    return {gammas[0], gammas[1]};
  }
  return {one, one};
}

struct GainSplitLowering : OpConversionPattern<GainSplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GainSplitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value w = adaptor.getParam(), g = adaptor.getGrad();
    SmallVector<Value> gammas;
    for (Value gain : adaptor.getGains())
      gammas.push_back(gainValues(e, gain, op.getMap()));
    auto [gammaRow, gammaCol] = rowAndColGains(e, op.getAxes(), gammas);
    double eps = asDouble(op.getEpsAttr());
    // Ŵ = W / max(γ_r γ_c, ε);  G_Ŵ = G ⊙ γ_r γ_c.
    SmallVector<Value> split = e.map(
        w, {w, g, gammaRow, gammaCol}, 2,
        [&](OpBuilder &b, Location l, ValueRange v) -> Scalars {
          Value scale = arith::MulFOp::create(b, l, v[2], v[3]);
          Value clamped = arith::MaximumFOp::create(b, l, scale, f32(b, l, eps));
          return {arith::DivFOp::create(b, l, v[0], clamped),
                  arith::MulFOp::create(b, l, v[1], scale)};
        });
    Value direction = split[0];

    // ∂γ = Σ Ŵ ⊙ G ⊙ γ_other over the gain's axis; ∂g = φ'(g) ∂γ.
    auto gainGradient = [&](Value gain, ReduceAxis axis, Value other) {
      Value sum = e.reduce(axis, {direction, g, other}, 0.0,
                           [](OpBuilder &b, Location l, ValueRange v, Value acc) {
                             Value t = arith::MulFOp::create(
                                 b, l, arith::MulFOp::create(b, l, v[0], v[1]),
                                 v[2]);
                             return arith::AddFOp::create(b, l, t, acc).getResult();
                           });
      return e.map1(gain, {gain, sum},
                    [&](OpBuilder &b, Location l, ValueRange v) -> Scalars {
                      if (op.getMap() == GainMap::identity)
                        return {v[1]};
                      return {arith::MulFOp::create(b, l, emitSigmoid(b, l, v[0]),
                                                    v[1])};
                    });
    };
    SmallVector<Value> results = {direction, split[1]};
    ValueRange gains = adaptor.getGains();
    switch (op.getAxes()) {
    case GainAxes::scalar:
      results.push_back(gainGradient(gains[0], ReduceAxis::all, e.constant(1.0)));
      break;
    case GainAxes::row:
      results.push_back(gainGradient(gains[0], ReduceAxis::rows, gammaCol));
      break;
    case GainAxes::col:
      results.push_back(gainGradient(gains[0], ReduceAxis::cols, gammaRow));
      break;
    case GainAxes::row_col:
      results.push_back(gainGradient(gains[0], ReduceAxis::rows, gammaCol));
      results.push_back(gainGradient(gains[1], ReduceAxis::cols, gammaRow));
      break;
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct GainUpdateLowering : OpConversionPattern<GainUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GainUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    double beta1 = asDouble(op.getBeta1Attr()), beta2 = asDouble(op.getBeta2Attr());
    double eps = asDouble(op.getEpsAttr());
    Value lr = adaptor.getLr();
    Value invC1 = e.div(e.constant(1.0), e.biasCorrection(beta1, adaptor.getCount()));
    Value invSqrtC2 = e.sqrt(
        e.div(e.constant(1.0), e.biasCorrection(beta2, adaptor.getCount())));
    SmallVector<Value> newGains, newMoments;
    for (auto [index, gain] : llvm::enumerate(adaptor.getGains())) {
      Value grad = adaptor.getGainGrads()[index];
      Value m = adaptor.getMoments()[2 * index];
      Value v = adaptor.getMoments()[2 * index + 1];
      // Adam, PyTorch form: g − lr·(m/c1)/(sqrt(v)/sqrt(c2) + ε).
      SmallVector<Value> stepped = e.map(
          gain, {gain, grad, m, v}, 3,
          [&](OpBuilder &b, Location l, ValueRange x) -> Scalars {
            Value d = x[1];
            Value m1 = arith::AddFOp::create(
                b, l, arith::MulFOp::create(b, l, f32(b, l, beta1), x[2]),
                arith::MulFOp::create(b, l, f32(b, l, 1.0 - beta1), d));
            Value v1 = arith::AddFOp::create(
                b, l, arith::MulFOp::create(b, l, f32(b, l, beta2), x[3]),
                arith::MulFOp::create(b, l, f32(b, l, 1.0 - beta2),
                                      arith::MulFOp::create(b, l, d, d)));
            Value denom = arith::AddFOp::create(
                b, l,
                arith::MulFOp::create(b, l, math::SqrtOp::create(b, l, v1),
                                      invSqrtC2),
                f32(b, l, eps));
            Value stepSize = arith::MulFOp::create(b, l, lr, invC1);
            Value g1 = arith::SubFOp::create(
                b, l, x[0],
                arith::MulFOp::create(b, l, stepSize,
                                      arith::DivFOp::create(b, l, m1, denom)));
            return {g1, m1, v1};
          });
      newGains.push_back(stepped[0]);
      newMoments.append({stepped[1], stepped[2]});
    }
    // W' = φ(g_r') Ŵ φ(g_c').
    SmallVector<Value> gammas;
    for (Value gain : newGains)
      gammas.push_back(gainValues(e, gain, op.getMap()));
    auto [gammaRow, gammaCol] = rowAndColGains(e, op.getAxes(), gammas);
    Value direction = adaptor.getDirection();
    Value fused = e.map1(direction, {direction, gammaRow, gammaCol},
                         [](OpBuilder &b, Location l, ValueRange v) {
                           return Scalars{arith::MulFOp::create(
                               b, l, arith::MulFOp::create(b, l, v[0], v[1]), v[2])};
                         });
    SmallVector<Value> results = {fused};
    results.append(newGains);
    results.append(newMoments);
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Scaling, decay, apply
//===----------------------------------------------------------------------===//

struct ScaleLowering : OpConversionPattern<ScaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value x = adaptor.getInput();
    // k = factor · shape · s · ‖ref‖ / N(x), one scalar per tensor.
    Value k = e.constant(asDouble(op.getFactorAttr()));
    if (op.getShape() != ShapeFactor::none)
      k = e.mul(k, e.shapeFactor(x, op.getShape()));
    if (adaptor.getBy())
      k = e.mul(k, e.scalar(adaptor.getBy()));
    if (adaptor.getRestore())
      k = e.mul(k, e.sqrt(sumOfAllSquares(e, adaptor.getRestore())));
    if (op.getNorm() != ScaleNorm::none) {
      Value sumSq = sumOfAllSquares(e, x);
      if (op.getNorm() == ScaleNorm::rms) {
        auto type = cast<RankedTensorType>(x.getType());
        Value count = e.dimAsFloat(x, 0);
        if (type.getRank() == 2)
          count = e.mul(count, e.dimAsFloat(x, 1));
        sumSq = e.div(sumSq, count);
      }
      k = e.div(k, e.guard(e.sqrt(sumSq), asDouble(op.getEpsAttr()),
                           op.getMode()));
    }
    rewriter.replaceOp(op, scaleBy(e, x, k));
    return success();
  }
};

struct WeightDecayLowering : OpConversionPattern<WeightDecayOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WeightDecayOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value w = adaptor.getParam();
    Value wd = e.scalar(adaptor.getWd());
    Value result;
    if (op.getMode() == DecayMode::coupled) {
      // G + λ·W.
      result = e.map1(adaptor.getGrad(), {adaptor.getGrad(), w},
                      [&](OpBuilder &b, Location l, ValueRange v) {
                        return Scalars{arith::AddFOp::create(
                            b, l, v[0], arith::MulFOp::create(b, l, wd, v[1]))};
                      });
    } else if (adaptor.getCautious()) {
      // W − lr·λ·W ⊙ [u⊙W ≥ 0].
      Value rate = e.mul(e.scalar(adaptor.getLr()), wd);
      result = e.map1(w, {w, adaptor.getCautious()},
                      [&](OpBuilder &b, Location l, ValueRange v) -> Scalars {
                        Value agree = arith::CmpFOp::create(
                            b, l, arith::CmpFPredicate::OGE,
                            arith::MulFOp::create(b, l, v[1], v[0]), f32(b, l, 0.0));
                        Value decayed = arith::SubFOp::create(
                            b, l, v[0], arith::MulFOp::create(b, l, rate, v[0]));
                        return {arith::SelectOp::create(b, l, agree, decayed, v[0])};
                      });
    } else {
      // W·(1 − lr·λ).
      Value keep = e.sub(e.constant(1.0), e.mul(e.scalar(adaptor.getLr()), wd));
      result = scaleBy(e, w, keep);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ApplyLowering : OpConversionPattern<ApplyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ApplyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value alpha = e.scalar(adaptor.getLr());
    if (adaptor.getTimes())
      alpha = e.mul(alpha, e.scalar(adaptor.getTimes()));
    Value result = e.map1(adaptor.getParam(),
                          {adaptor.getParam(), adaptor.getUpdate()},
                          [&](OpBuilder &b, Location l, ValueRange v) {
                            return Scalars{arith::SubFOp::create(
                                b, l, v[0], arith::MulFOp::create(b, l, alpha, v[1]))};
                          });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Elementwise and reduce
//===----------------------------------------------------------------------===//

struct ElementwiseLowering : OpConversionPattern<ElementwiseOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ElementwiseOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Type resultType = op.getResult(0).getType();
    Block &body = op.getBody().front();
    if (cast<RankedTensorType>(resultType).getRank() == 0) {
      // Scalars in, scalars out: no loop, and maybe no tensor input.
      IRMapping mapping;
      for (auto [arg, input] : llvm::zip(body.getArguments(),
                                         adaptor.getInputs())) {
        Value element = input;
        if (isa<RankedTensorType>(input.getType()))
          element = tensor::ExtractOp::create(rewriter, op.getLoc(), input,
                                              ValueRange{});
        mapping.map(arg, element);
      }
      for (Operation &inner : body.without_terminator())
        rewriter.clone(inner, mapping);
      SmallVector<Value> results;
      for (Value value : body.getTerminator()->getOperands())
        results.push_back(tensor::FromElementsOp::create(
            rewriter, op.getLoc(), resultType,
            mapping.lookupOrDefault(value)));
      rewriter.replaceOp(op, results);
      return success();
    }
    Value shapeSource = *llvm::find_if(adaptor.getInputs(), [&](Value input) {
      return input.getType() == resultType;
    });
    SmallVector<Value> results = e.map(
        shapeSource, adaptor.getInputs(), op.getNumResults(),
        [&](OpBuilder &b, Location, ValueRange elements) {
          IRMapping mapping;
          mapping.map(body.getArguments(), elements);
          for (Operation &inner : body.without_terminator())
            b.clone(inner, mapping);
          return llvm::map_to_vector(
              body.getTerminator()->getOperands(),
              [&](Value value) { return mapping.lookupOrDefault(value); });
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct MatmulLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value product = e.matmul(adaptor.getLhs(), adaptor.getRhs(),
                             op.transposesRhs(), op.transposesLhs());
    if (product.getType() != op.getType())
      product =
          tensor::CastOp::create(rewriter, op.getLoc(), op.getType(), product);
    rewriter.replaceOp(op, product);
    return success();
  }
};

/// A linalg.generic with one f32 accumulator result: out += Π inputs.
/// When the innermost loop is the reduction (a dot product per result), the
/// accumulation may be reassociated, as the emitter's reductions are: LLVM
/// then keeps vector partial sums instead of one sequential f32 chain.
static Value contract(OpBuilder &b, Location loc, ValueRange inputs,
                      ArrayRef<AffineMap> maps,
                      ArrayRef<utils::IteratorType> iterators, Value init) {
  bool innerReduction = iterators.back() == utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &nested, Location l, ValueRange args) {
               Value product =
                   arith::MulFOp::create(nested, l, args[0], args[1]);
               auto sum = arith::AddFOp::create(nested, l, product, args[2]);
               if (innerReduction)
                 sum.setFastmath(arith::FastMathFlags::reassoc);
               linalg::YieldOp::create(nested, l, ValueRange{sum});
             })
      .getResult(0);
}

/// A column whose residual after Gram–Schmidt is at most this fraction of
/// its norm is taken as dependent on the columns before it (2⁻¹², about
/// √ε of f32: below it the residual's direction is mostly rounding).
constexpr double kDependentColumn = 1.0 / 4096.0;

/// e_i for the i (the first, on ties) that minimizes Σ_r basis[r, i]²: the
/// coordinate direction the rows of `basis` (orthonormal) cover least.
static Value leastCoveredUnitVector(OpBuilder &b, Location loc, Value basis,
                                    Value length) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto vectorType = RankedTensorType::get({ShapedType::kDynamic}, f32);
  AffineExpr r = getAffineDimExpr(0, ctx), x = getAffineDimExpr(1, ctx);
  LinalgEmitter e(b, loc);
  Value coverage =
      linalg::GenericOp::create(
          b, loc, TypeRange{vectorType}, ValueRange{basis},
          ValueRange{linalg::FillOp::create(b, loc, ValueRange{e.constant(0.0)},
                                            ValueRange{tensor::EmptyOp::create(
                                                b, loc, vectorType.getShape(),
                                                f32, ValueRange{length})})
                         .getResult(0)},
          ArrayRef<AffineMap>{AffineMap::get(2, 0, {r, x}, ctx),
                              AffineMap::get(2, 0, {x}, ctx)},
          ArrayRef<utils::IteratorType>{utils::IteratorType::reduction,
                                        utils::IteratorType::parallel},
          [](OpBuilder &nb, Location nl, ValueRange a) {
            Value square = arith::MulFOp::create(nb, nl, a[0], a[0]);
            linalg::YieldOp::create(
                nb, nl,
                ValueRange{arith::AddFOp::create(nb, nl, square, a[1])});
          })
          .getResult(0);
  // argmin over i, as a reduction carrying (least coverage, its index).
  Type i64 = b.getI64Type();
  auto scalarOf = [&](Type type, TypedAttr value) {
    Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, type);
    Value init = arith::ConstantOp::create(b, loc, value);
    return linalg::FillOp::create(b, loc, ValueRange{init}, ValueRange{empty})
        .getResult(0);
  };
  AffineExpr i = getAffineDimExpr(0, ctx);
  auto argmin = linalg::GenericOp::create(
      b, loc,
      TypeRange{RankedTensorType::get({}, f32), RankedTensorType::get({}, i64)},
      ValueRange{coverage},
      ValueRange{scalarOf(f32, b.getF32FloatAttr(
                                   std::numeric_limits<float>::infinity())),
                 scalarOf(i64, b.getI64IntegerAttr(0))},
      ArrayRef<AffineMap>{AffineMap::get(1, 0, {i}, ctx),
                          AffineMap::get(1, 0, {}, ctx),
                          AffineMap::get(1, 0, {}, ctx)},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
      [](OpBuilder &nb, Location nl, ValueRange a) {
        Value index = arith::IndexCastOp::create(
            nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, 0));
        Value less = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT,
                                           a[0], a[1]);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, less, a[0], a[1]),
                       arith::SelectOp::create(nb, nl, less, index, a[2])});
      });
  Value chosen =
      tensor::ExtractOp::create(b, loc, argmin.getResult(1), ValueRange{});
  Value empty = tensor::EmptyOp::create(b, loc, vectorType.getShape(), f32,
                                        ValueRange{length});
  return linalg::GenericOp::create(
             b, loc, TypeRange{vectorType}, ValueRange{}, ValueRange{empty},
             ArrayRef<AffineMap>{AffineMap::get(1, 0, {i}, ctx)},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location nl, ValueRange) {
               Value index = arith::IndexCastOp::create(
                   nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, 0));
               Value hit = arith::CmpIOp::create(
                   nb, nl, arith::CmpIPredicate::eq, index, chosen);
               Value oneValue =
                   arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1.0));
               Value zeroValue =
                   arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0));
               linalg::YieldOp::create(nb, nl,
                                       ValueRange{arith::SelectOp::create(
                                           nb, nl, hit, oneValue, zeroValue)});
             })
      .getResult(0);
}

/// Gram–Schmidt on the rows of matrices: row j of Cᵀ is column j of C and
/// Qᵀ is built one row at a time, so every vector is contiguous. Builds
/// with the builder of the region it is made in.
class GramSchmidt {
public:
  GramSchmidt(OpBuilder &b, Location loc, Value length)
      : b(b), loc(loc), e(b, loc), length(length) {}

  /// A vector (one size) or matrix (two) of zeros.
  Value zeros(ValueRange sizes) {
    SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
    return linalg::FillOp::create(b, loc, ValueRange{e.constant(0.0)},
                                  ValueRange{tensor::EmptyOp::create(
                                      b, loc, shape, b.getF32Type(), sizes)})
        .getResult(0);
  }

  /// Row `index` of `matrix`.
  Value row(Value matrix, Value index) {
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({ShapedType::kDynamic}, b.getF32Type()),
        matrix, {OpFoldResult(index), b.getIndexAttr(0)},
        {b.getIndexAttr(1), OpFoldResult(length)}, unitStrides());
  }

  /// Rows [first, first + count) of `matrix`.
  Value rows(Value matrix, OpFoldResult first, Value count) {
    return tensor::ExtractSliceOp::create(
        b, loc, matrix, {first, b.getIndexAttr(0)},
        {OpFoldResult(count), OpFoldResult(length)}, unitStrides());
  }

  /// `matrix` with `vector` as row `index`.
  Value withRow(Value matrix, Value vector, Value index) {
    return tensor::InsertSliceOp::create(
        b, loc, vector, matrix, {OpFoldResult(index), b.getIndexAttr(0)},
        {b.getIndexAttr(1), OpFoldResult(length)}, unitStrides());
  }

  /// v − Bᵀ(B v), `passes` times, over the `count` rows of `basis`. The
  /// mat-vec's dot products may be reassociated (LLVM keeps vector partial
  /// sums); the vec-mat is an axpy per basis row and keeps its order.
  Value orthogonalize(Value vector, Value basis, Value count, int passes = 2) {
    MLIRContext *ctx = b.getContext();
    AffineExpr r = getAffineDimExpr(0, ctx), x = getAffineDimExpr(1, ctx);
    auto map = [&](ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(2, 0, exprs, ctx);
    };
    for (int pass = 0; pass < passes; ++pass) {
      Value coefficients = contract(
          b, loc, {basis, vector}, {map({r, x}), map({x}), map({r})},
          {utils::IteratorType::parallel, utils::IteratorType::reduction},
          zeros({count}));
      Value projection = contract(
          b, loc, {coefficients, basis}, {map({r}), map({r, x}), map({x})},
          {utils::IteratorType::reduction, utils::IteratorType::parallel},
          zeros({length}));
      vector = e.map1(vector, {vector, projection}, subtract);
    }
    return vector;
  }

  /// A − (A·Bᵀ)·B for the rows of A and B: one pass of block Gram–Schmidt,
  /// in matrix products.
  Value projectOut(Value block, Value basis) {
    Value coefficients = e.matmul(block, basis, /*transposeRhs=*/true);
    Value projection = e.matmul(coefficients, basis, /*transposeRhs=*/false);
    return e.map1(block, {block, projection}, subtract);
  }

  /// ‖v‖ as an f32.
  Value norm(Value vector) {
    return tensor::ExtractOp::create(
        b, loc, e.norm(vector, ReduceAxis::all, 2.0), ValueRange{});
  }

  /// v/‖v‖; a zero v stays zero.
  Value normalized(Value vector) {
    Value scale =
        e.div(e.constant(1.0), e.max(norm(vector), e.constant(1e-30)));
    // stepc-destination-inits computes the row in its place in Qᵀ
    // (element-wise fusion would drop an init chosen here).
    return e.map1(
        vector, {vector, scale}, [](OpBuilder &nb, Location nl, ValueRange a) {
          return SmallVector<Value>{arith::MulFOp::create(nb, nl, a[0], a[1])};
        });
  }

  /// `residual`, what Gram–Schmidt left of a column of norm `columnNorm`.
  /// A column (numerically) in the span of the ones before it leaves only
  /// rounding error, whose direction reorthogonalization does not make
  /// orthogonal: it is replaced by the unit vector e_i least covered by
  /// the rows built so far (i = argmin Σ_r B[r,i]²; its residual is at
  /// least (m−j)/m), projected onto them, so Q stays orthonormal, also for
  /// a zero C. Those rows are the first `builtCount` of `built`, sliced
  /// inside the branch: only a dependent column needs them.
  Value replaceIfDependent(Value residual, Value columnNorm, Value built,
                           Value builtCount) {
    Value dependent =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, norm(residual),
                              e.mul(columnNorm, e.constant(kDependentColumn)));
    return scf::IfOp::create(
               b, loc, dependent,
               [&](OpBuilder &tb, Location tl) {
                 GramSchmidt then(tb, tl, length);
                 Value basis = then.rows(built, tb.getIndexAttr(0), builtCount);
                 Value seed = leastCoveredUnitVector(tb, tl, basis, length);
                 scf::YieldOp::create(
                     tb, tl, then.orthogonalize(seed, basis, builtCount));
               },
               [&](OpBuilder &fb, Location fl) {
                 scf::YieldOp::create(fb, fl, residual);
               })
        .getResult(0);
  }

private:
  static SmallVector<Value> subtract(OpBuilder &nb, Location nl, ValueRange a) {
    return {arith::SubFOp::create(nb, nl, a[0], a[1])};
  }
  SmallVector<OpFoldResult> unitStrides() {
    return {b.getIndexAttr(1), b.getIndexAttr(1)};
  }

  OpBuilder &b;
  Location loc;
  LinalgEmitter e;
  Value length;
};

/// The Q factor by classical Gram–Schmidt with reorthogonalization
/// (docs/Design/Aro.md). With `panelRows` 0 one column at a time: two
/// mat-vec passes over the columns built so far. Otherwise in panels of
/// `panelRows` columns (BCGS2): the panel is projected onto the columns
/// before it by two matrix products, then Gram–Schmidt runs inside the
/// panel; both again on the result, which restores the orthogonality to
/// the earlier columns that cancellation inside the panel loses.
struct QrLowering : OpConversionPattern<QrOp> {
  QrLowering(MLIRContext *ctx, unsigned panelRows)
      : OpConversionPattern(ctx), panelRows(panelRows) {}

  LogicalResult
  matchAndRewrite(QrOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    LinalgEmitter e(rewriter, loc);
    Value columns = e.transpose(adaptor.getInput());
    Value count = tensor::DimOp::create(rewriter, loc, columns, 0);
    Value length = tensor::DimOp::create(rewriter, loc, columns, 1);
    Value start = GramSchmidt(rewriter, loc, length).zeros({count, length});
    Value built = panelRows == 0
                      ? byColumns(rewriter, loc, columns, start, count, length)
                      : byPanels(rewriter, loc, columns, start, count, length);
    Value q = e.transpose(built);
    if (q.getType() != op.getType())
      q = tensor::CastOp::create(rewriter, loc, op.getType(), q);
    rewriter.replaceOp(op, q);
    return success();
  }

private:
  static Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }

  /// Qᵀ one row at a time.
  Value byColumns(OpBuilder &rewriter, Location loc, Value columns, Value start,
                  Value count, Value length) const {
    return gramSchmidtRows(rewriter, loc, start, columns, columns,
                           indexConstant(rewriter, loc, 0), count, length,
                           /*passes=*/2);
  }

  /// Qᵀ one panel of rows at a time (BCGS2). Each pass projects the panel
  /// onto the rows before it by two matrix products, then runs
  /// Gram–Schmidt inside the panel, writing the rows in their place in Qᵀ.
  /// The second pass reads the first's rows only through its projection,
  /// computed before it overwrites them. Inside the panel the first pass
  /// projects twice and finds dependent columns; the second, on rows
  /// already orthonormal to within rounding, once (measured as accurate:
  /// docs/Design/Aro.md).
  Value byPanels(OpBuilder &rewriter, Location loc, Value columns, Value start,
                 Value count, Value length) const {
    return scf::ForOp::create(
               rewriter, loc, indexConstant(rewriter, loc, 0), count,
               indexConstant(rewriter, loc, panelRows), ValueRange{start},
               [&](OpBuilder &b, Location l, Value first, ValueRange iterArgs) {
                 GramSchmidt g(b, l, length);
                 Value size = arith::MinSIOp::create(
                     b, l, indexConstant(b, l, panelRows),
                     arith::SubIOp::create(b, l, count, first));
                 Value original = g.rows(columns, first, size);
                 Value before = g.rows(iterArgs[0], b.getIndexAttr(0), first);
                 Value once = gramSchmidtRows(
                     b, l, iterArgs[0], g.projectOut(original, before),
                     original, first, size, length, /*passes=*/2);
                 // The rows before the panel read from `once`, which the
                 // loop above wrote: bufferized in place, with no copy.
                 Value twice = gramSchmidtRows(
                     b, l, once,
                     g.projectOut(g.rows(once, first, size),
                                  g.rows(once, b.getIndexAttr(0), first)),
                     /*original=*/nullptr, first, size, length, /*passes=*/1);
                 scf::YieldOp::create(b, l, twice);
               })
        .getResult(0);
  }

  /// Gram–Schmidt on `size` rows: row t of `rows` is projected `passes`
  /// times onto the rows built before it from row `first` of `built` on,
  /// normalized and written to row first + t of `built`. With `original`
  /// (the rows before any projection), a row left with at most
  /// kDependentColumn of its original norm is dependent: it is replaced,
  /// against every row of `built` before it.
  static Value gramSchmidtRows(OpBuilder &rewriter, Location loc, Value built,
                               Value rows, Value original, Value first,
                               Value size, Value length, int passes) {
    return scf::ForOp::create(
               rewriter, loc, indexConstant(rewriter, loc, 0), size,
               indexConstant(rewriter, loc, 1), ValueRange{built},
               [&](OpBuilder &b, Location l, Value t, ValueRange iterArgs) {
                 GramSchmidt g(b, l, length);
                 Value sofar = iterArgs[0];
                 OpFoldResult firstRow = getAsOpFoldResult(first);
                 Value at = isZeroInteger(firstRow)
                                ? t
                                : arith::AddIOp::create(b, l, first, t);
                 Value row = g.row(rows, t);
                 Value originalNorm;
                 if (original)
                   originalNorm =
                       g.norm(original == rows ? row : g.row(original, t));
                 Value v = g.orthogonalize(row, g.rows(sofar, firstRow, t), t,
                                           passes);
                 if (original)
                   v = g.replaceIfDependent(v, originalNorm, sofar, at);
                 scf::YieldOp::create(b, l,
                                      g.withRow(sofar, g.normalized(v), at));
               })
        .getResult(0);
  }

  unsigned panelRows;
};

/// How many elements of `x` each value of an `axis` reduction covers.
Value reducedElementCount(LinalgEmitter &e, Value x, ReduceAxis axis) {
  if (axis == ReduceAxis::rows)
    return e.dimAsFloat(x, 1);
  if (axis == ReduceAxis::cols)
    return e.dimAsFloat(x, 0);
  Value count = e.dimAsFloat(x, 0);
  if (cast<RankedTensorType>(x.getType()).getRank() == 2)
    count = e.mul(count, e.dimAsFloat(x, 1));
  return count;
}

/// A tensor of the shape an `axis` reduction of `x` gives, every value
/// `value`.
Value filledLikeReduction(OpBuilder &b, Location loc, Value x, ReduceAxis axis,
                          Value value) {
  if (axis == ReduceAxis::all)
    return tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, b.getF32Type()), value);
  int64_t kept = axis == ReduceAxis::rows ? 0 : 1;
  SmallVector<int64_t> shape = {1, 1};
  shape[kept] = ShapedType::kDynamic;
  Value extent = tensor::DimOp::create(b, loc, x, kept);
  Value empty = tensor::EmptyOp::create(b, loc, shape, b.getF32Type(),
                                        ValueRange{extent});
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

struct ReduceLowering : OpConversionPattern<ReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LinalgEmitter e(rewriter, op.getLoc());
    Value x = adaptor.getInputs()[0];
    ReduceAxis axis = op.getAxis();
    double p = asDouble(op.getPAttr());
    auto add = [](OpBuilder &b, Location l, ValueRange v, Value acc) {
      return arith::AddFOp::create(b, l, v[0], acc).getResult();
    };
    Value result;
    switch (op.getKind()) {
    case ReduceKind::numel:
      result = filledLikeReduction(rewriter, op.getLoc(), x, axis,
                                   reducedElementCount(e, x, axis));
      break;
    case ReduceKind::sum:
    case ReduceKind::mean:
      result = e.reduce(axis, {x}, 0.0, add);
      break;
    case ReduceKind::sum_sq:
    case ReduceKind::mean_sq:
      result = e.sumOfSquares(x, axis);
      break;
    case ReduceKind::norm:
      result = e.norm(x, axis, p);
      break;
    case ReduceKind::dot:
      result = e.dot(x, adaptor.getInputs()[1], axis);
      break;
    case ReduceKind::max_abs:
      result = e.reduce(axis, {x}, 0.0,
                        [](OpBuilder &b, Location l, ValueRange v, Value acc) {
                          return arith::MaximumFOp::create(
                                     b, l, math::AbsFOp::create(b, l, v[0]), acc)
                              .getResult();
                        });
      break;
    }
    if (op.getKind() == ReduceKind::mean || op.getKind() == ReduceKind::mean_sq) {
      // Divide by the number of elements each value reduced.
      Value count = reducedElementCount(e, x, axis);
      Value inverse = e.div(e.constant(1.0), count);
      result = e.map1(result, {result}, [&](OpBuilder &b, Location l, ValueRange v) {
        return Scalars{arith::MulFOp::create(b, l, v[0], inverse)};
      });
    }
    // Static result shapes (e.g. tensor<64x1xf32>) may be more precise than
    // what the reduction infers from a dynamic input.
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(rewriter, op.getLoc(), op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct ConvertStepToLinalgPass
    : stepc::impl::ConvertStepToLinalgBase<ConvertStepToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ConversionTarget target(getContext());
    configureStepToLinalgTarget(target);
    RewritePatternSet patterns(&getContext());
    populateStepToLinalgConversionPatterns(patterns, qrPanelRows);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void stepc::populateStepToLinalgConversionPatterns(RewritePatternSet &patterns,
                                                   unsigned qrPanelRows) {
  patterns.add<MomentumLowering, SecondMomentLowering, PreconditionLowering,
               NormalizeLowering<NormalizeRowsOp, ReduceAxis::rows>,
               NormalizeLowering<NormalizeColsOp, ReduceAxis::cols>,
               NewtonSchulzLowering, SphereProjectLowering,
               TangentProjectLowering, GainSplitLowering, GainUpdateLowering,
               ScaleLowering, WeightDecayLowering, ApplyLowering,
               ElementwiseLowering, ReduceLowering, MatmulLowering>(
      patterns.getContext());
  patterns.add<QrLowering>(patterns.getContext(), qrPanelRows);
}

void stepc::configureStepToLinalgTarget(ConversionTarget &target) {
  target.addIllegalOp<MomentumOp, SecondMomentOp, PreconditionOp,
                      NormalizeRowsOp, NormalizeColsOp, NewtonSchulzOp,
                      SphereProjectOp, TangentProjectOp, GainSplitOp,
                      GainUpdateOp, ScaleOp, WeightDecayOp, ApplyOp,
                      ElementwiseOp, ReduceOp, MatmulOp, QrOp>();
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
}
