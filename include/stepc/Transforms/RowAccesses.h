//===- RowAccesses.h - which rows a loop over rows touches ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// After bufferization a sweep over a matrix is an scf.for over its rows.
// Whether two such loops may run as one (stepc-fuse-row-loops) and whether
// one loop's rows may run on several threads (stepc-outline-row-ranges)
// both depend on the same fact: which buffers each iteration touches, and
// whether only at the loop's own row.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_ROWACCESSES_H
#define STEPC_TRANSFORMS_ROWACCESSES_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace stepc {

/// A buffer a loop reads or writes, and whether that access is at the
/// buffer's row given by the loop's index.
struct RowAccess {
  mlir::Value buffer;
  bool write;
  bool atLoopRow;
};

/// The buffer `memref` views and whether its dim 0 is the buffer's: a
/// function argument or an allocation, through reshapes that keep the
/// leading dim (`?x1` views of vectors). Null if unknown.
mlir::Value rowBufferOf(mlir::Value memref, bool &keepsRows);

/// Every load and store in `loop`'s body; none if the body does anything
/// but loads, stores and effect-free work on buffers rowBufferOf knows.
/// Function arguments are taken as distinct buffers, as bufferization
/// assumed.
std::optional<llvm::SmallVector<RowAccess>>
rowAccessesOf(mlir::scf::ForOp loop);

} // namespace stepc

#endif // STEPC_TRANSFORMS_ROWACCESSES_H
