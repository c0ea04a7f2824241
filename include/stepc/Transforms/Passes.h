//===- Passes.h - stepc transformation passes -------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_PASSES_H
#define STEPC_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace func {
class FuncOp;
} // namespace func
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace memref {
class MemRefDialect;
} // namespace memref
namespace scf {
class SCFDialect;
} // namespace scf
namespace tensor {
class TensorDialect;
} // namespace tensor
} // namespace mlir

namespace stepc {

/// Function argument attribute written by convert-step-to-func: for each
/// dimension of the argument, the param dimension it equals, or -1.
inline constexpr const char *kParamDimsAttrName = "stepc.param_dims";

/// Function attribute: the function's last three parameters are
/// (cost, begin, end), all index; a call computes the indices [begin, end)
/// of a range, each costing about `cost` multiply-adds, and any split of
/// the range into calls, run in any order or at once, gives the same bits.
/// stepc-parallelize-ranges lets the runtime's threads share such calls.
inline constexpr const char *kParallelRangesAttrName = "stepc.parallel_ranges";

/// Function attribute: every memref the function receives is a distinct
/// buffer; stepc-mark-distinct-buffers makes its pointers noalias.
inline constexpr const char *kDistinctBuffersAttrName =
    "stepc.distinct_buffers";

#define GEN_PASS_DECL
#include "stepc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "stepc/Transforms/Passes.h.inc"

} // namespace stepc

#endif // STEPC_TRANSFORMS_PASSES_H
