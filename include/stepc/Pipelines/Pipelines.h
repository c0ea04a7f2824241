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

#include "stepc/Conversion/FuncToGpuKernels.h"

#include "mlir/Pass/PassManager.h"

#include <string>

namespace stepc {

/// How buildStepToLinalgPipeline lowers; the defaults are the GPU's.
struct StepToLinalgChoices {
  /// A returned value that several reductions read is computed once
  /// instead of inside each of them (stepc-fuse-elementwise's
  /// materialize-stored).
  bool materializeStored = false;
  /// `step.qr` in panels of this many columns, by matrix products
  /// (convert-step-to-linalg's qr-panel-rows; 0: one column at a time).
  unsigned qrPanelRows = 0;
};

/// The CPU's choices (measured: docs/Design/CpuPipeline.md).
StepToLinalgChoices cpuStepToLinalgChoices();

/// spec → one destination-passing func.func per group on linalg tensors.
/// Post-condition: no step op is left; every function is
/// `stepc_<optimizer>_<group>(memrefs..., f32s...)` with element-wise chains
/// fused.
void buildStepToLinalgPipeline(::mlir::OpPassManager &pm,
                               const StepToLinalgChoices &choices = {});

/// linalg on tensors → linalg on tensors in loops over row blocks: each
/// phase's row-local work of a matrix group fused per block of rows
/// (docs/Design/Phases.md). Not part of buildCpuPipeline: one-shot
/// bufferization copies the param and state around the tiled loops, which
/// measured slower than the untiled phases.
void buildCpuTilePipeline(::mlir::OpPassManager &pm);

/// linalg on tensors → loops on buffers. Post-condition: one-shot bufferized
/// (new params and states written in place), temporaries freed, scf loops.
void buildCpuBufferizePipeline(::mlir::OpPassManager &pm);

/// loops on buffers → the LLVM dialect, ready for translation to LLVM IR.
void buildCpuToLLVMPipeline(::mlir::OpPassManager &pm);

/// The stages above: spec → LLVM dialect for the CPU.
void buildCpuPipeline(::mlir::OpPassManager &pm);

/// Registers `stepc-lower-to-linalg`, `stepc-cpu-tile` and
/// `stepc-cpu-pipeline` for stepc-opt.
/// The CUDA toolkit: $CUDA_ROOT, $CUDA_HOME or $CUDA_PATH, else
/// /usr/local/cuda.
std::string cudaToolkitPath();

/// How the phased GPU kernels are built (stepc compile's --cuda-* options;
/// stepc-opt's pipeline options of the same names).
struct GpuKernelOptions {
  /// Registers per thread the phased kernels are capped at (PTX .maxnreg;
  /// 0: stepc::kMatmulKernelRegisters, 128, for those with a tensor-core
  /// matmul on 64 x 64 tiles, none for the others; 255 lifts the cap). 128
  /// lets two blocks of 256 threads share an SM.
  int maxRegisters = 0;
  /// The side of the tensor-core matmuls' block tiles: 64 or 128.
  int64_t matmulTile = 64;
  /// The k-steps those matmuls stage at once, 2 to 8 (0: the most that
  /// fit, stepc::matmulStagesOf).
  int64_t matmulStages = 0;
  /// Seconds a block waits at a grid barrier before it traps (0: forever).
  int64_t barrierTimeout = stepc::kGridBarrierTimeoutSeconds;
  /// Whether the matmuls' tiles that lie wholly inside aligned matrices get
  /// a k loop that copies without checks (off: every tile is checked).
  bool matmulWholeTiles = true;
  /// Whether the kernels record when each grid barrier releases (the phase
  /// timeline, docs/Design/PhaseTimeline.md).
  bool phaseTimeline = false;
  /// Whether a loop iterate that a product reads and the loop's last op
  /// rewrites gets a second buffer, so that the update is the product's
  /// epilogue (Newton–Schulz's a·X + P·X).
  bool fuseIterateUpdates = true;
  /// Whether consecutive same-shape tensors are stepped together, each op
  /// over all of them in one phase (docs/Design/Batching.md).
  bool batchSameShapes = true;
  /// Whether the element-wise ops load and store 16-byte vectors where the
  /// sizes and buffers allow (GpuKernels.md, "Element-wise ops in groups").
  bool vectorElementwise = true;
  /// Whether the tensor-core matmuls are wgmma.mma_async, for sm_90a only
  /// (docs/Design/Wgmma.md).
  bool matmulWgmma = false;
};

/// spec → one GPU kernel per group and parameter dtype in
/// `gpu.module @stepc_kernels`: element-wise groups over a work table,
/// the others phased (docs/Design/GpuKernels.md). With
/// `skipUnsupportedGroups`, groups without a GPU kernel yet are left out
/// with a warning instead of failing the pipeline.
void buildGpuKernelsPipeline(::mlir::OpPassManager &pm,
                             bool skipUnsupportedGroups = false,
                             const GpuKernelOptions &options = {});

/// The one target whose kernels can use wgmma (docs/Design/Wgmma.md): PTX
/// for it runs on sm_90 devices alone.
constexpr char kWgmmaArch[] = "sm_90a";

/// The PTX target of kernels built with `options`: sm_80 (PTX ISA 8.0,
/// which ptxas also assembles for sm_90 and the driver JIT-compiles for
/// newer GPUs), or sm_90a for wgmma, which only sm_90 runs.
const char *ptxChipFor(const GpuKernelOptions &options);

/// The kernel module → PTX for `chip` (ptxChipFor): a `gpu.binary
/// @stepc_kernels` holding the PTX.
void buildGpuToNvvmPipeline(::mlir::OpPassManager &pm,
                            ::llvm::StringRef chip = "sm_80");

/// The two stages above: spec → PTX.
void buildGpuPipeline(::mlir::OpPassManager &pm,
                      bool skipUnsupportedGroups = false,
                      const GpuKernelOptions &options = {});

/// buildGpuKernelsPipeline's output → the LLVM dialect for the host, one
/// function per kernel for the CUDA emulator (docs/Design/GpuEmulation.md).
void buildGpuHostEmulationPipeline(::mlir::OpPassManager &pm);

void registerStepcPipelines();

} // namespace stepc

#endif // STEPC_PIPELINES_PIPELINES_H
