//===- TensorCoreMatmul.h - bf16 contractions on tensor cores ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The phased kernels' tensor-core path (docs/Design/GpuKernels.md,
// "Tensor-core matmuls"): which linalg.generic ops are bf16 contractions,
// and the block-tiled mma.sync loop that computes one, its operands staged
// in shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_TENSORCOREMATMUL_H
#define STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_TENSORCOREMATMUL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>

namespace stepc::detail {

/// A contraction (stepc/Transforms/Contraction.h) whose factors are both
/// exact in bf16.
struct Bf16Contraction {
  unsigned rowDim, reductionDim, colDim;
  /// Values of the generic's body.
  mlir::Value lhs, rhs;
  /// Whether the first input each factor reads is contiguous along the
  /// reduction dim (its map's last result), which decides how a block's
  /// threads share out the staging loads so that they coalesce.
  bool lhsAlongReduction, rhsAlongReduction;
  /// stepc::isMirrored: L·R is symmetric when its output starts so.
  bool mirrored;
};

/// `generic` as a bf16 contraction, when it is one. `exactInput(n)` says
/// whether every element input `n` holds is exact in bf16,
/// `symmetricInput(n)` whether input `n` is a symmetric matrix.
std::optional<Bf16Contraction>
matchBf16Contraction(mlir::linalg::GenericOp generic,
                     llvm::function_ref<bool(unsigned)> exactInput,
                     llvm::function_ref<bool(unsigned)> symmetricInput);

/// Whether every element `input` (an operand of a generic, in the function
/// before kernel formation) reads is exact in bf16: a constant that is, or
/// a buffer whose last write before the reader, in the reader's block,
/// wrote all of it with such values.
bool holdsBf16ExactValues(mlir::OpOperand &input);

/// The scalar `generic` writes to every element of its one output, when it
/// is a fill of a float.
mlir::Value filledValue(mlir::linalg::GenericOp generic);

/// Bytes of shared memory (`.shared`, LLVM address space 3) the
/// tensor-core loop stages its operands in, per block, with block tiles of
/// `tileSide` × `tileSide` and `stages` stages (stepc::matmulStagesOf).
int64_t tensorCoreSharedBytes(int64_t tileSide, int64_t stages);

/// What the tensor-core loop needs from the kernel around it.
struct MatmulEmission {
  /// The block's index in its sub-grid and the sub-grid's blocks (the
  /// whole grid with one sub-grid; blocks of kGpuBlockSize threads).
  mlir::Value blockIndex, numBlocks;
  /// The block tile's side, one of stepc::kMatmulTileSides, and the
  /// k-steps staged at once (2 to stepc::kMaxMatmulStages).
  int64_t tileSide, stages;
  /// tensorCoreSharedBytes(tileSide, stages) of shared memory (!llvm.ptr<3>),
  /// 16-aligned.
  mlir::Value sharedTiles;
  /// A value of the generic's body at the loop indices `ivs` (null for the
  /// dims it does not read), its inputs loaded there.
  llvm::function_ref<mlir::Value(mlir::Value, llvm::ArrayRef<mlir::Value>)>
      valueAt;
  /// The bf16 matrix a factor of the contraction (its `lhs` or `rhs`) is
  /// the `extf` of, read at (the factor's row or col, k): a buffer whose
  /// rows the staging may load 8 elements at a time. Null when the factor
  /// is anything else, or must be loaded element by element (a gradient,
  /// which is unscaled as it is loaded).
  llvm::function_ref<mlir::Value(mlir::Value)> bf16RowsOf;
  /// The same for a bf16 matrix the factor reads at (k, its col), along
  /// its rows too: R's slice is then staged k by k and read with
  /// ldmatrix...trans. Asked of R only, where bf16RowsOf gave null.
  llvm::function_ref<mlir::Value(mlir::Value)> bf16ColsOf;
  llvm::function_ref<mlir::Value(llvm::ArrayRef<mlir::Value>)> loadOutput;
  llvm::function_ref<void(mlir::Value, llvm::ArrayRef<mlir::Value>)>
      storeOutput;
  /// Whether the output starts symmetric. With a mirrored contraction the
  /// result then is too, so only the tiles on and above the diagonal are
  /// computed, and each is added at its place and at its mirror image.
  bool symmetricOutput = false;
  /// Whether a tile whose copies all lie inside their matrices, aligned,
  /// gets a k loop that copies without checks (GpuKernels.md, "Whole
  /// tiles"); off, every tile takes the checked loop, for comparison.
  bool wholeTiles = true;
  /// The tensor's place in a batch (docs/Design/Batching.md), or null:
  /// member j's tile t runs on the block that tile j·T + t of the batch's
  /// B·T tiles would, so that the members' tiles fill the blocks as one
  /// grid-stride loop over all of them would.
  mlir::Value member;
  /// Whether the products are `wgmma.mma_async` (sm_90a; docs/Design/
  /// Wgmma.md) instead of `mma.sync`: the stages hold core matrices, each
  /// warpgroup computes a 64 × 32 half of a 64 × 64 tile.
  bool wgmma = false;
};

/// The contraction over loop sizes `sizes`: out = out + L·R with
/// `nvvm.mma.sync` m16n8k16 bf16 → f32. Blocks walk `tileSide` ×
/// `tileSide` output tiles grid-stride (a loop uniform per block, so
/// `gpu.barrier` is safe in it); per k-step of 32 the block stages L's and
/// R's slices in shared memory as bf16, `stages` k-steps in flight, and
/// each of its 8 warps computes a (tileSide / 2) × (tileSide / 4) part.
void emitTensorCoreMatmul(mlir::OpBuilder &b, mlir::Location loc,
                          const Bf16Contraction &contraction,
                          llvm::ArrayRef<mlir::Value> sizes,
                          const MatmulEmission &emission);

} // namespace stepc::detail

#endif // STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_TENSORCOREMATMUL_H
