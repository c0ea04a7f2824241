//===- LinalgEmitter.cpp - building blocks of the decomposition -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "LinalgEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace stepc;
using namespace stepc::step;

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

Value LinalgEmitter::constant(double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value LinalgEmitter::scalar(Value value) {
  if (!isa<RankedTensorType>(value.getType()))
    return value;
  return tensor::ExtractOp::create(b, loc, value, ValueRange{});
}

Value LinalgEmitter::dimAsFloat(Value tensor, int64_t dim) {
  Value size = tensor::DimOp::create(b, loc, tensor, dim);
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), size);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
}

Value LinalgEmitter::add(Value a, Value c) {
  return arith::AddFOp::create(b, loc, a, c);
}
Value LinalgEmitter::sub(Value a, Value c) {
  return arith::SubFOp::create(b, loc, a, c);
}
Value LinalgEmitter::mul(Value a, Value c) {
  return arith::MulFOp::create(b, loc, a, c);
}
Value LinalgEmitter::div(Value a, Value c) {
  return arith::DivFOp::create(b, loc, a, c);
}
Value LinalgEmitter::max(Value a, Value c) {
  return arith::MaximumFOp::create(b, loc, a, c);
}
Value LinalgEmitter::sqrt(Value a) { return math::SqrtOp::create(b, loc, a); }
Value LinalgEmitter::pow(Value a, Value exponent) {
  return math::PowFOp::create(b, loc, a, exponent);
}

Value LinalgEmitter::shapeFactor(Value tensor, ShapeFactor rule) {
  if (rule == ShapeFactor::none)
    return constant(1.0);
  Value rows = dimAsFloat(tensor, 0), cols = dimAsFloat(tensor, 1);
  switch (rule) {
  case ShapeFactor::none:
    break;
  case ShapeFactor::keller:
    return sqrt(max(constant(1.0), div(rows, cols)));
  case ShapeFactor::sqrt_max_dim:
    return sqrt(max(rows, cols));
  case ShapeFactor::sqrt_min_dim:
    return sqrt(arith::MinimumFOp::create(b, loc, rows, cols));
  case ShapeFactor::sqrt_rows_over_cols:
    return sqrt(div(rows, cols));
  case ShapeFactor::shape_up:
    return sqrt(max(div(rows, cols), div(cols, rows)));
  case ShapeFactor::sqrt_numel:
    return sqrt(mul(rows, cols));
  }
  return constant(1.0);
}

Value LinalgEmitter::biasCorrection(double beta, Value count) {
  return sub(constant(1.0), pow(constant(beta), count));
}

Value LinalgEmitter::guard(OpBuilder &b, Location loc, Value norm, double eps,
                           EpsMode mode) {
  Value epsValue = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(eps));
  if (mode == EpsMode::add)
    return arith::AddFOp::create(b, loc, norm, epsValue);
  return arith::MaximumFOp::create(b, loc, norm, epsValue);
}

Value LinalgEmitter::guard(Value norm, double eps, EpsMode mode) {
  return guard(b, loc, norm, eps, mode);
}

Value stepc::emitSoftplus(OpBuilder &b, Location loc, Value x) {
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  Value positive = arith::MaximumFOp::create(b, loc, x, zero);
  Value negAbs = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x));
  Value tail = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
  return arith::AddFOp::create(b, loc, positive, tail);
}

Value stepc::emitSigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

/// A bare f32 or a tensor<f32>: one value for the whole tensor.
static bool isScalarLike(Value value) {
  auto tensor = dyn_cast<RankedTensorType>(value.getType());
  return !tensor || tensor.getRank() == 0;
}

Value LinalgEmitter::emptyLike(Value shapeSource) {
  auto type = cast<RankedTensorType>(shapeSource.getType());
  return tensor::EmptyOp::create(b, loc,
                                 tensor::getMixedSizes(b, loc, shapeSource),
                                 type.getElementType());
}

std::pair<Value, AffineMap> LinalgEmitter::broadcastOperand(Value operand,
                                                            Value full) {
  auto fullType = cast<RankedTensorType>(full.getType());
  unsigned rank = fullType.getRank();
  MLIRContext *ctx = b.getContext();
  if (operand.getType() == fullType)
    return {operand, AffineMap::getMultiDimIdentityMap(rank, ctx)};
  Layout layout = classifyLayout(operand.getType(), fullType);
  if (layout == Layout::Full)
    return {operand, AffineMap::getMultiDimIdentityMap(rank, ctx)};
  assert((layout == Layout::PerRow || layout == Layout::PerCol) &&
         "scalars are captured, not broadcast");
  SmallVector<ReassociationIndices> collapseAll = {{0, 1}};
  Value vector = tensor::CollapseShapeOp::create(b, loc, operand, collapseAll);
  unsigned dim = layout == Layout::PerRow ? 0 : 1;
  return {vector, AffineMap::get(rank, 0, getAffineDimExpr(dim, ctx))};
}

SmallVector<Value> LinalgEmitter::byLongAxis(
    Value matrix, function_ref<SmallVector<Value>(ReduceAxis)> body) {
  auto type = cast<RankedTensorType>(matrix.getType());
  if (type.hasStaticShape())
    return body(type.getDimSize(0) >= type.getDimSize(1) ? ReduceAxis::rows
                                                         : ReduceAxis::cols);
  Value rows = tensor::DimOp::create(b, loc, matrix, 0);
  Value cols = tensor::DimOp::create(b, loc, matrix, 1);
  Value tall = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, rows,
                                     cols);
  auto branch = [&](ReduceAxis axis) {
    return [&, axis](OpBuilder &nested, Location nestedLoc) {
      scf::YieldOp::create(nested, nestedLoc, body(axis));
    };
  };
  auto choice = scf::IfOp::create(b, loc, tall, branch(ReduceAxis::rows),
                                  branch(ReduceAxis::cols));
  return SmallVector<Value>(choice.getResults());
}

Value LinalgEmitter::toVector(Value rowOrColumn) {
  SmallVector<ReassociationIndices> collapseAll = {{0, 1}};
  return tensor::CollapseShapeOp::create(b, loc, rowOrColumn, collapseAll);
}

Value LinalgEmitter::fromVector(Value vector, ReduceAxis axis) {
  bool rows = axis == ReduceAxis::rows;
  int64_t length = cast<RankedTensorType>(vector.getType()).getDimSize(0);
  SmallVector<int64_t> staticShape = {length, 1};
  if (!rows)
    std::swap(staticShape[0], staticShape[1]);
  auto type = RankedTensorType::get(staticShape, b.getF32Type());
  SmallVector<OpFoldResult> shape = {tensor::getMixedSize(b, loc, vector, 0),
                                     b.getIndexAttr(1)};
  if (!rows)
    std::swap(shape[0], shape[1]);
  SmallVector<ReassociationIndices> expandAll = {{0, 1}};
  return tensor::ExpandShapeOp::create(b, loc, type, vector, expandAll, shape);
}

LinalgEmitter::Operands LinalgEmitter::partition(ValueRange inputs,
                                                 Value full) {
  Operands result;
  for (Value input : inputs) {
    // Scalars (f32, and tensor<f32> unless the iteration space is 0-d) are
    // captured by the body; everything else is an input with its map.
    if (input.getType() != full.getType() && isScalarLike(input)) {
      result.elements.push_back(scalar(input));
      continue;
    }
    auto [operand, indexing] = broadcastOperand(input, full);
    result.tensors.push_back(operand);
    result.maps.push_back(indexing);
    result.elements.push_back(Value());
  }
  return result;
}

/// The body's view of the inputs: block arguments where the input is a
/// tensor, the captured scalar otherwise.
static SmallVector<Value> bodyElements(ArrayRef<Value> elements,
                                       ValueRange blockArgs) {
  SmallVector<Value> values;
  unsigned next = 0;
  for (Value captured : elements)
    values.push_back(captured ? captured : blockArgs[next++]);
  return values;
}

SmallVector<Value> LinalgEmitter::map(Value shapeSource, ValueRange inputs,
                                      unsigned numResults, ScalarFn body) {
  auto type = cast<RankedTensorType>(shapeSource.getType());
  unsigned rank = type.getRank();
  Operands operands = partition(inputs, shapeSource);
  SmallVector<Value> outputs;
  for (unsigned i = 0; i < numResults; ++i)
    outputs.push_back(emptyLike(shapeSource));
  operands.maps.append(numResults,
                       AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  SmallVector<Type> resultTypes(numResults, type);
  auto generic = linalg::GenericOp::create(
      b, loc, resultTypes, operands.tensors, outputs, operands.maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(
            nested, nestedLoc,
            body(nested, nestedLoc, bodyElements(operands.elements, args)));
      });
  return SmallVector<Value>(generic.getResults());
}

Value LinalgEmitter::reduce(ReduceAxis axis, ValueRange inputs,
                            double identity, CombineFn combine) {
  Value full = inputs.front();
  auto fullType = cast<RankedTensorType>(full.getType());
  unsigned rank = fullType.getRank();
  MLIRContext *ctx = b.getContext();
  Operands operands = partition(inputs, full);

  // The accumulator keeps the rows (d0), the columns (d1) or nothing.
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::reduction);
  SmallVector<OpFoldResult> accSizes;
  AffineMap accMap = AffineMap::get(rank, 0, ctx);
  if (axis != ReduceAxis::all) {
    unsigned kept = axis == ReduceAxis::rows ? 0 : 1;
    iterators[kept] = utils::IteratorType::parallel;
    accSizes.push_back(tensor::getMixedSize(b, loc, full, kept));
    accMap = AffineMap::get(rank, 0, getAffineDimExpr(kept, ctx));
  }
  operands.maps.push_back(accMap);
  Value empty = tensor::EmptyOp::create(b, loc, accSizes, b.getF32Type());
  Value init =
      linalg::FillOp::create(b, loc, ValueRange{constant(identity)}, empty)
          .getResult(0);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, operands.tensors, ValueRange{init},
      operands.maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value acc = combine(nested, nestedLoc,
                            bodyElements(operands.elements, args.drop_back()),
                            args.back());
        // Let the accumulation be reassociated: LLVM then keeps vector
        // partial sums (a fixed order for a given target, so results do not
        // depend on the run or the thread count) instead of one sequential
        // f32 chain, which is both slow and the least accurate order.
        if (auto add = acc.getDefiningOp<arith::AddFOp>())
          add.setFastmath(arith::FastMathFlags::reassoc);
        linalg::YieldOp::create(nested, nestedLoc, acc);
      });
  Value result = generic.getResult(0);
  if (axis == ReduceAxis::all)
    return result;

  // Keep-dim form: ?x1 for rows, 1x? for columns.
  bool rows = axis == ReduceAxis::rows;
  int64_t keptSize = fullType.getDimSize(rows ? 0 : 1);
  auto keepDimType = RankedTensorType::get(
      rows ? ArrayRef<int64_t>{keptSize, 1} : ArrayRef<int64_t>{1, keptSize},
      b.getF32Type());
  OpFoldResult one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> outputShape =
      rows ? SmallVector<OpFoldResult>{accSizes[0], one}
           : SmallVector<OpFoldResult>{one, accSizes[0]};
  SmallVector<ReassociationIndices> expandAll = {{0, 1}};
  return tensor::ExpandShapeOp::create(b, loc, keepDimType, result, expandAll,
                                       outputShape);
}

Value LinalgEmitter::sumOfSquares(Value x, ReduceAxis axis) {
  return reduce(axis, {x}, 0.0,
                [](OpBuilder &b, Location loc, ValueRange xs, Value acc) {
                  Value square = arith::MulFOp::create(b, loc, xs[0], xs[0]);
                  return arith::AddFOp::create(b, loc, square, acc).getResult();
                });
}

Value LinalgEmitter::norm(Value x, ReduceAxis axis, double p) {
  if (p == 2.0) {
    Value squares = sumOfSquares(x, axis);
    return map1(squares, {squares},
                [](OpBuilder &b, Location loc, ValueRange s) {
                  return SmallVector<Value>{math::SqrtOp::create(b, loc, s[0])};
                });
  }
  Value powers = reduce(
      axis, {x}, 0.0, [&](OpBuilder &b, Location loc, ValueRange xs, Value acc) {
        Value magnitude = math::AbsFOp::create(b, loc, xs[0]);
        if (p != 1.0)
          magnitude = math::PowFOp::create(
              b, loc, magnitude,
              arith::ConstantOp::create(b, loc, b.getF32FloatAttr(p)));
        return arith::AddFOp::create(b, loc, magnitude, acc).getResult();
      });
  if (p == 1.0)
    return powers;
  return map1(powers, {powers}, [&](OpBuilder &b, Location loc, ValueRange s) {
    Value inverse = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0 / p));
    return SmallVector<Value>{math::PowFOp::create(b, loc, s[0], inverse)};
  });
}

Value LinalgEmitter::dot(Value x, Value y, ReduceAxis axis) {
  return reduce(axis, {x, y}, 0.0,
                [](OpBuilder &b, Location loc, ValueRange xs, Value acc) {
                  Value product = arith::MulFOp::create(b, loc, xs[0], xs[1]);
                  return arith::AddFOp::create(b, loc, product, acc).getResult();
                });
}

Value LinalgEmitter::matmul(Value lhs, Value rhs, bool transposeRhs,
                            bool transposeLhs) {
  // Loops run i, k, j; transposed factors are read in place. The CPU code
  // packs both factors into panels (stepc-block-matmuls) and the GPU stages
  // them, so neither needs a transposed copy; and X·Xᵀ read in place shows
  // the product as a Gram, symmetric, to the passes that halve its work.
  MLIRContext *ctx = b.getContext();
  AffineExpr i = getAffineDimExpr(0, ctx), k = getAffineDimExpr(1, ctx),
             j = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps = {
      AffineMap::get(3, 0,
                     transposeLhs ? ArrayRef<AffineExpr>{k, i}
                                  : ArrayRef<AffineExpr>{i, k},
                     ctx),
      AffineMap::get(3, 0,
                     transposeRhs ? ArrayRef<AffineExpr>{j, k}
                                  : ArrayRef<AffineExpr>{k, j},
                     ctx),
      AffineMap::get(3, 0, {i, j}, ctx)};
  SmallVector<OpFoldResult> sizes = {
      tensor::getMixedSize(b, loc, lhs, transposeLhs ? 1 : 0),
      tensor::getMixedSize(b, loc, rhs, transposeRhs ? 0 : 1)};
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  Value init = linalg::FillOp::create(b, loc, ValueRange{constant(0.0)}, empty)
                   .getResult(0);
  SmallVector<utils::IteratorType> iterators = {
      utils::IteratorType::parallel, utils::IteratorType::reduction,
      utils::IteratorType::parallel};
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{lhs, rhs},
             ValueRange{init}, maps, iterators,
             [](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               Value product =
                   arith::MulFOp::create(nested, nestedLoc, args[0], args[1]);
               linalg::YieldOp::create(
                   nested, nestedLoc,
                   ValueRange{arith::AddFOp::create(nested, nestedLoc, product,
                                                    args[2])});
             })
      .getResult(0);
}

Value LinalgEmitter::transpose(Value matrix) {
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, matrix, 1),
                                     tensor::getMixedSize(b, loc, matrix, 0)};
  Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  return linalg::TransposeOp::create(b, loc, matrix, init,
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

Value LinalgEmitter::roundTo(Value tensor, Type type) {
  if (type.isF32())
    return tensor;
  return map1(tensor, {tensor}, [&](OpBuilder &nb, Location l, ValueRange x) {
    Value narrow = arith::TruncFOp::create(nb, l, type, x[0]);
    return SmallVector<Value>{
        arith::ExtFOp::create(nb, l, nb.getF32Type(), narrow)};
  });
}
