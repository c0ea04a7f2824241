//===- BodySlice.h - the ops a value of a body depends on -------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A linalg body computes several values from its block arguments; moving
// one of them elsewhere (a matmul factor evaluated at staging time, or
// computed once by a generic of its own) takes the ops it depends on.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_BODYSLICE_H
#define STEPC_TRANSFORMS_BODYSLICE_H

#include "mlir/IR/Block.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/ValueRange.h"
#include "llvm/ADT/SmallVector.h"

namespace stepc {

/// The ops of `body` (its terminator aside) that `roots` depend on, in body
/// order. The operands of the op defining `leaf` are not followed. The
/// block arguments reached are appended to `arguments` when it is given.
llvm::SmallVector<mlir::Operation *>
opsNeededBy(mlir::Block &body, mlir::ValueRange roots, mlir::Value leaf = {},
            llvm::SmallVectorImpl<mlir::BlockArgument> *arguments = nullptr);

/// Clones `ops` (a slice opsNeededBy returned) at `b`'s insertion point,
/// each of `arguments` replaced by the value at its place in `values`.
/// Returns the mapping, which gives the clone of any value of the slice.
mlir::IRMapping cloneSlice(mlir::OpBuilder &b,
                           llvm::ArrayRef<mlir::Operation *> ops,
                           llvm::ArrayRef<mlir::BlockArgument> arguments,
                           mlir::ValueRange values);

} // namespace stepc

#endif // STEPC_TRANSFORMS_BODYSLICE_H
