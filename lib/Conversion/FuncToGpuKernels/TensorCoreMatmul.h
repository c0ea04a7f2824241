//===- TensorCoreMatmul.h - bf16 contractions on tensor cores ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The phased kernels' tensor-core path (docs/Design/GpuKernels.md,
// "Tensor-core matmuls"): which linalg.generic ops are bf16 contractions,
// and the warp-tiled mma.sync loop that computes one.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_TENSORCOREMATMUL_H
#define STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_TENSORCOREMATMUL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>

namespace stepc::detail {

/// A generic whose body yields `out + L·R`: L reads only inputs indexed by
/// (row, reduction), R only inputs indexed by (reduction, col), both exact
/// in bf16.
struct Bf16Contraction {
  unsigned rowDim, reductionDim, colDim;
  /// Values of the generic's body.
  mlir::Value lhs, rhs;
};

/// `generic` as a bf16 contraction, when it is one. `exactInput(n)` says
/// whether every element input `n` holds is exact in bf16.
std::optional<Bf16Contraction>
matchBf16Contraction(mlir::linalg::GenericOp generic,
                     llvm::function_ref<bool(unsigned)> exactInput);

/// Whether every element `input` (an operand of a generic, in the function
/// before kernel formation) reads is exact in bf16: a constant that is, or
/// a buffer whose last write before the reader, in the reader's block,
/// wrote all of it with such values.
bool holdsBf16ExactValues(mlir::OpOperand &input);

/// What the tensor-core loop needs from the kernel around it.
struct MatmulEmission {
  mlir::Value threadIndex, numThreads;
  /// A value of the generic's body at the loop indices `ivs` (null for the
  /// dims it does not read), its inputs loaded there.
  llvm::function_ref<mlir::Value(mlir::Value, llvm::ArrayRef<mlir::Value>)>
      valueAt;
  llvm::function_ref<mlir::Value(llvm::ArrayRef<mlir::Value>)> loadOutput;
  llvm::function_ref<void(mlir::Value, llvm::ArrayRef<mlir::Value>)>
      storeOutput;
};

/// The contraction over loop sizes `sizes`, spread over the grid's warps
/// (blocks of whole warps): out = out + L·R with `nvvm.mma.sync` m16n8k16
/// bf16 → f32, 32 × 16 output tiles per warp.
void emitTensorCoreMatmul(mlir::OpBuilder &b, mlir::Location loc,
                          const Bf16Contraction &contraction,
                          llvm::ArrayRef<mlir::Value> sizes,
                          const MatmulEmission &emission);

} // namespace stepc::detail

#endif // STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_TENSORCOREMATMUL_H
