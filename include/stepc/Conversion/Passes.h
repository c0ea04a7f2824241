//===- Passes.h - stepc conversion passes -----------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_PASSES_H
#define STEPC_CONVERSION_PASSES_H

#include "stepc/Conversion/FuncToGpuKernels.h"
#include "stepc/Conversion/GpuKernelsToHost.h"
#include "stepc/Conversion/LLVMPackedEntries.h"
#include "stepc/Conversion/StepToFunc.h"
#include "stepc/Conversion/StepToLinalg.h"

#include "mlir/Pass/Pass.h"

namespace stepc {

#define GEN_PASS_REGISTRATION
#include "stepc/Conversion/Passes.h.inc"

} // namespace stepc

#endif // STEPC_CONVERSION_PASSES_H
