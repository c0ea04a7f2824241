//===- LinalgEmitter.h - building blocks of the decomposition ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The few shapes of computation every step op decomposes into: element-wise
// maps with keep-dim broadcasting, reductions that keep rows, columns or
// nothing, contractions, and scalar arithmetic. Private to StepToLinalg.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_LIB_CONVERSION_STEPTOLINALG_LINALGEMITTER_H
#define STEPC_LIB_CONVERSION_STEPTOLINALG_LINALGEMITTER_H

#include "stepc/Dialect/Step/IR/StepOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace stepc {

/// Builds linalg-on-tensors IR at one insertion point and location.
class LinalgEmitter {
public:
  /// Computes scalar results from scalar element values.
  using ScalarFn = llvm::function_ref<llvm::SmallVector<mlir::Value>(
      mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;
  /// Folds element values into the accumulator: (elements..., acc) -> acc.
  using CombineFn = llvm::function_ref<mlir::Value(
      mlir::OpBuilder &, mlir::Location, mlir::ValueRange, mlir::Value)>;

  LinalgEmitter(mlir::OpBuilder &builder, mlir::Location loc)
      : b(builder), loc(loc) {}

  mlir::OpBuilder &builder() { return b; }
  mlir::Location location() { return loc; }

  // Scalars (f32 SSA values).
  mlir::Value constant(double value);
  /// An f32 from an `f32` or `tensor<f32>` operand.
  mlir::Value scalar(mlir::Value value);
  /// Dimension `dim` of `tensor` as an f32.
  mlir::Value dimAsFloat(mlir::Value tensor, int64_t dim);
  /// The factor of `rule` for the matrix `tensor`.
  mlir::Value shapeFactor(mlir::Value tensor, step::ShapeFactor rule);
  /// 1 − β^t.
  mlir::Value biasCorrection(double beta, mlir::Value count);
  mlir::Value add(mlir::Value a, mlir::Value c);
  mlir::Value sub(mlir::Value a, mlir::Value c);
  mlir::Value mul(mlir::Value a, mlir::Value c);
  mlir::Value div(mlir::Value a, mlir::Value c);
  mlir::Value max(mlir::Value a, mlir::Value c);
  mlir::Value sqrt(mlir::Value a);
  mlir::Value pow(mlir::Value a, mlir::Value exponent);
  /// `norm + eps` (add) or `max(norm, eps)` (clamp).
  mlir::Value guard(mlir::Value norm, double eps, step::EpsMode mode);
  /// The same on scalars inside a body.
  static mlir::Value guard(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value norm, double eps, step::EpsMode mode);

  /// Element-wise map over the shape of `shapeSource` (rank 0, 1 or 2).
  /// Inputs of the full shape, per-row (?x1), per-column (1x?) or per-tensor
  /// (tensor<f32>) broadcast; bare f32 inputs are passed to `body` as they
  /// are. Returns `numResults` tensors of `shapeSource`'s type.
  llvm::SmallVector<mlir::Value> map(mlir::Value shapeSource,
                                     mlir::ValueRange inputs,
                                     unsigned numResults, ScalarFn body);
  mlir::Value map1(mlir::Value shapeSource, mlir::ValueRange inputs,
                   ScalarFn body) {
    return map(shapeSource, inputs, 1, body)[0];
  }

  /// Reduces over the shape of `inputs[0]` keeping rows (result ?x1),
  /// columns (1x?) or nothing (tensor<f32>). Inputs broadcast as in `map`.
  mlir::Value reduce(step::ReduceAxis axis, mlir::ValueRange inputs,
                     double identity, CombineFn combine);
  /// Σ x² over `axis`.
  mlir::Value sumOfSquares(mlir::Value x, step::ReduceAxis axis);
  /// (Σ |x|^p)^(1/p) over `axis`.
  mlir::Value norm(mlir::Value x, step::ReduceAxis axis, double p);
  /// Σ x·y over `axis`.
  mlir::Value dot(mlir::Value x, mlir::Value y, step::ReduceAxis axis);
  /// a·b (or a·bᵀ) of matrices, f32 accumulation.
  mlir::Value matmul(mlir::Value lhs, mlir::Value rhs, bool transposeRhs,
                     bool transposeLhs = false);
  /// The transpose of a matrix.
  mlir::Value transpose(mlir::Value matrix);
  /// Builds `body` once per orientation of `matrix`'s long axis, keeping
  /// rows (m >= n) or columns (m < n), and picks the result at run time
  /// (scf.if): the long-axis layout (tensor<?xf32>) is rows for tall and
  /// square matrices, columns for wide ones.
  llvm::SmallVector<mlir::Value> byLongAxis(
      mlir::Value matrix,
      llvm::function_ref<llvm::SmallVector<mlir::Value>(step::ReduceAxis)>
          body);
  /// A ?x1 or 1x? tensor as the vector it holds (tensor<?xf32>).
  mlir::Value toVector(mlir::Value rowOrColumn);
  /// A vector as a per-row (?x1, `axis` rows) or per-column (1x?) tensor.
  mlir::Value fromVector(mlir::Value vector, step::ReduceAxis axis);
  /// Rounds every element to `type` and back to f32 (a no-op for f32).
  mlir::Value roundTo(mlir::Value tensor, mlir::Type type);

private:
  /// How `map` and `reduce` see their inputs: tensor operands with indexing
  /// maps, and per input either null (a tensor operand) or a captured scalar.
  struct Operands {
    llvm::SmallVector<mlir::Value> tensors;
    llvm::SmallVector<mlir::AffineMap> maps;
    llvm::SmallVector<mlir::Value> elements;
  };
  Operands partition(mlir::ValueRange inputs, mlir::Value full);
  /// The value `map`/`reduce` iterate with, and its indexing map.
  std::pair<mlir::Value, mlir::AffineMap> broadcastOperand(mlir::Value operand,
                                                           mlir::Value full);
  mlir::Value emptyLike(mlir::Value shapeSource);

  mlir::OpBuilder &b;
  mlir::Location loc;
};

/// softplus(x) = max(x, 0) + log1p(exp(−|x|)), stable for large |x|.
mlir::Value emitSoftplus(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);
/// sigmoid(x) = 1 / (1 + exp(−x)).
mlir::Value emitSigmoid(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

} // namespace stepc

#endif // STEPC_LIB_CONVERSION_STEPTOLINALG_LINALGEMITTER_H
