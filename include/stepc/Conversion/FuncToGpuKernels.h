//===- FuncToGpuKernels.h - one GPU kernel per group function ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_FUNCTOGPUKERNELS_H
#define STEPC_CONVERSION_FUNCTOGPUKERNELS_H

#include "mlir/Pass/Pass.h"

namespace stepc {

#define GEN_PASS_DECL_FORMGPUKERNELS
#include "stepc/Conversion/Passes.h.inc"

/// The gpu.module that holds every group's kernel.
inline constexpr const char *kGpuModuleName = "stepc_kernels";
/// Elements a thread loads and stores at once (128 bits of f32).
inline constexpr int64_t kGpuVectorWidth = 4;
/// Threads per block the runtime launches the kernels with.
inline constexpr int kGpuBlockSize = 256;

} // namespace stepc

#endif // STEPC_CONVERSION_FUNCTOGPUKERNELS_H
