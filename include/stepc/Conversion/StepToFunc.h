//===- StepToFunc.h - step groups to functions ------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_STEPTOFUNC_H
#define STEPC_CONVERSION_STEPTOFUNC_H

#include "mlir/IR/Types.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace mlir {
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace func {
class FuncDialect;
} // namespace func
} // namespace mlir

namespace stepc {

#define GEN_PASS_DECL_CONVERTSTEPTOFUNC
#include "stepc/Conversion/Passes.h.inc"

/// The symbol of the function a group becomes for parameters stored as
/// `paramDtype`: stepc_<optimizer>_<group> for f32 (or no dtype),
/// stepc_<optimizer>_<group>_<dtype> otherwise (e.g. _bf16).
std::string getGroupFunctionName(::llvm::StringRef optimizer,
                                 ::llvm::StringRef group,
                                 ::mlir::Type paramDtype = {});

} // namespace stepc

#endif // STEPC_CONVERSION_STEPTOFUNC_H
