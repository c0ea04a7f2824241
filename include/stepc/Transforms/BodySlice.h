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

} // namespace stepc

#endif // STEPC_TRANSFORMS_BODYSLICE_H
