//===- Elementwise.h - element-wise linalg ops ------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_ELEMENTWISE_H
#define STEPC_TRANSFORMS_ELEMENTWISE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace stepc {

/// All loops parallel and every result written at the loop's own index: an
/// op that element-wise fusion may merge, and that can yield one more
/// result at the same point.
bool isElementwise(mlir::linalg::GenericOp op);

} // namespace stepc

#endif // STEPC_TRANSFORMS_ELEMENTWISE_H
