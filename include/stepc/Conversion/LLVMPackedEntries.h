//===- LLVMPackedEntries.h - uniform entry points ---------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_LLVMPACKEDENTRIES_H
#define STEPC_CONVERSION_LLVMPACKEDENTRIES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace LLVM {
class LLVMDialect;
} // namespace LLVM
} // namespace mlir

namespace stepc {

#define GEN_PASS_DECL_ADDPACKEDENTRIES
#include "stepc/Conversion/Passes.h.inc"

/// The suffix of the packed entry of a function: `<name>_packed`.
inline constexpr const char *kPackedEntrySuffix = "_packed";

} // namespace stepc

#endif // STEPC_CONVERSION_LLVMPACKEDENTRIES_H
