//===- StepToFunc.h - step groups to functions ------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_STEPTOFUNC_H
#define STEPC_CONVERSION_STEPTOFUNC_H

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

/// The symbol of the function a group becomes: stepc_<optimizer>_<group>.
std::string getGroupFunctionName(::llvm::StringRef optimizer,
                                 ::llvm::StringRef group);

} // namespace stepc

#endif // STEPC_CONVERSION_STEPTOFUNC_H
