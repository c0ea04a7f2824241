//===- Elementwise.h - element-wise linalg ops ------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_ELEMENTWISE_H
#define STEPC_TRANSFORMS_ELEMENTWISE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace stepc {

/// All loops parallel and every result written at the loop's own index: an
/// op that element-wise fusion may merge, and that can yield one more
/// result at the same point.
bool isElementwise(mlir::linalg::GenericOp op);

/// One op computing both `first` and `second` (neither uses the other, and
/// both run over the same loops), created at `at` (one of the two), which
/// replaces both. Inputs both read with the same map are read once; a loop
/// is parallel where it is parallel in both.
mlir::linalg::GenericOp mergeSiblings(mlir::RewriterBase &rewriter,
                                      mlir::linalg::GenericOp first,
                                      mlir::linalg::GenericOp second,
                                      mlir::Operation *at);

} // namespace stepc

#endif // STEPC_TRANSFORMS_ELEMENTWISE_H
