//===- GpuKernelsToHost.h - GPU kernels as host functions -------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_GPUKERNELSTOHOST_H
#define STEPC_CONVERSION_GPUKERNELSTOHOST_H

#include "mlir/Pass/Pass.h"

namespace stepc {

#define GEN_PASS_DECL_GPUKERNELSTOHOST
#include "stepc/Conversion/Passes.h.inc"

/// The exported pointer global through which host-emulated kernels call the
/// emulator's grid barrier: `void (*)(void *barrierWord)`.
inline constexpr const char *kEmulatorGridBarrierName =
    "stepc_emulator_grid_barrier";
/// The same for the block barrier (`__syncthreads()`): `void (*)()`.
inline constexpr const char *kEmulatorBlockBarrierName =
    "stepc_emulator_block_barrier";

} // namespace stepc

#endif // STEPC_CONVERSION_GPUKERNELSTOHOST_H
