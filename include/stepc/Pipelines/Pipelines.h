//===- Pipelines.h - stepc's pass pipelines ---------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The stages of compiling a spec, shared by stepc-opt (as registered
// pipelines), the stepc driver and tests.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_PIPELINES_PIPELINES_H
#define STEPC_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace stepc {

/// spec → one destination-passing func.func per group on linalg tensors.
/// Post-condition: no step op is left; every function is
/// `stepc_<optimizer>_<group>(memrefs..., f32s...)` with element-wise chains
/// fused.
void buildStepToLinalgPipeline(::mlir::OpPassManager &pm);

/// linalg on tensors → loops on buffers. Post-condition: one-shot bufferized
/// (new params and states written in place), temporaries freed, scf loops.
void buildCpuBufferizePipeline(::mlir::OpPassManager &pm);

/// loops on buffers → the LLVM dialect, ready for translation to LLVM IR.
void buildCpuToLLVMPipeline(::mlir::OpPassManager &pm);

/// The three stages above: spec → LLVM dialect for the CPU.
void buildCpuPipeline(::mlir::OpPassManager &pm);

/// Registers `stepc-lower-to-linalg` and `stepc-cpu-pipeline` for stepc-opt.
void registerStepcPipelines();

} // namespace stepc

#endif // STEPC_PIPELINES_PIPELINES_H
