//===- Contraction.h - matrix products on buffers ---------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// What the CPU's register blocks (stepc-block-matmuls) and the GPU's
// tensor-core products both ask of a bufferized function: which generics
// are matrix products, and which products are symmetric, so that only the
// half on and above the diagonal needs computing.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_CONTRACTION_H
#define STEPC_TRANSFORMS_CONTRACTION_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace stepc {

/// A generic on buffers whose body yields `out + L·R` (either order of
/// each): three loops, one of them the reduction k, one f32 output indexed
/// by the two parallel dims and read by no input, L computed from inputs
/// that read the row dim (and k) only, R from inputs that read the col dim
/// (and k) only. The row dim is the one L reads.
struct Contraction {
  unsigned rowDim, reductionDim, colDim;
  /// Values of the generic's body.
  mlir::Value lhs, rhs;
  mlir::arith::MulFOp multiply;
  mlir::arith::AddFOp accumulate;
};

std::optional<Contraction> matchContraction(mlir::linalg::GenericOp generic);

/// Whether R computes at (k, j) what L computes at (j, k): the same ops on
/// the same inputs, read with maps that swap the row and col dims, or, from
/// an input that `symmetricInput(n)` vouches for, with the two results of
/// such a map exchanged. L·R is then symmetric when its output starts so:
/// Newton–Schulz's Gram X·Xᵀ, and A·A for a symmetric A. Each element
/// (i, j) and its mirror (j, i) then add the same products in the same
/// order (IEEE multiplies commute), so they hold the same bits.
bool isMirrored(mlir::linalg::GenericOp generic, const Contraction &product,
                llvm::function_ref<bool(unsigned)> symmetricInput);

/// The arguments of `generic`'s body that `root`, a value of the body, is
/// computed from.
llvm::SmallVector<mlir::BlockArgument>
argumentsReadBy(mlir::linalg::GenericOp generic, mlir::Value root);

/// How far a buffer's contents are traced back through the writes that
/// produced them (a copy of a transpose of a rounding is 3).
constexpr int kMaxTracedWrites = 8;

/// The op that last wrote `buffer` before `reader`, when it can be told:
/// `buffer` is the function's own allocation, without aliases, so its
/// writers (generics, fills, copies) are all in sight, and the write is in
/// the reader's block. A write nested in a region (a loop's, a branch's) is
/// not followed.
mlir::Operation *lastWriteBefore(mlir::Value buffer, mlir::Operation *reader);

/// What `generic` yields for its output `position` when that is one value
/// for every element: a value from outside its body, or an input read with
/// a map of no results (a scalar, or a 0-d buffer). Null otherwise.
mlir::Value uniformYield(mlir::linalg::GenericOp generic, unsigned position);

/// Whether every element of `operand`'s buffer holds one value when its
/// owner runs: its last write, in the owner's block, was a fill (a
/// linalg.fill, or a generic yielding one value) or a copy of a filled
/// buffer.
bool holdsOneValue(mlir::OpOperand &operand);

/// Whether `input`'s buffer holds a symmetric matrix when its owner runs:
/// its last write was a fill, a mirrored product into a buffer that held
/// one value, or a pointwise function of symmetric matrices (a rounded copy
/// of one).
bool holdsSymmetricValues(mlir::OpOperand &input);

} // namespace stepc

#endif // STEPC_TRANSFORMS_CONTRACTION_H
