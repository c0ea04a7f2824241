//===- StepToLinalg.h - step to linalg decomposition ------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_STEPTOLINALG_H
#define STEPC_CONVERSION_STEPTOLINALG_H

#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace arith {
class ArithDialect;
} // namespace arith
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace math {
class MathDialect;
} // namespace math
namespace scf {
class SCFDialect;
} // namespace scf
namespace tensor {
class TensorDialect;
} // namespace tensor
} // namespace mlir

namespace stepc {

#define GEN_PASS_DECL_CONVERTSTEPTOLINALG
#include "stepc/Conversion/Passes.h.inc"

/// Adds the patterns that decompose step compute ops into linalg on tensors;
/// `step.qr` in panels of `qrPanelRows` columns (0: one at a time).
void populateStepToLinalgConversionPatterns(::mlir::RewritePatternSet &patterns,
                                            unsigned qrPanelRows = 0);

/// Marks step compute ops illegal and the dialects they lower to legal.
void configureStepToLinalgTarget(::mlir::ConversionTarget &target);

} // namespace stepc

#endif // STEPC_CONVERSION_STEPTOLINALG_H
