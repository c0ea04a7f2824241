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
#define GEN_PASS_DECL_FORMPHASEDGPUKERNELS
#define GEN_PASS_DECL_USECORRECTLYROUNDEDROOTS
#include "stepc/Conversion/Passes.h.inc"

/// The gpu.module that holds every group's kernel.
inline constexpr const char *kGpuModuleName = "stepc_kernels";
/// Elements a thread loads and stores at once (128 bits of f32).
inline constexpr int64_t kGpuVectorWidth = 4;
/// Threads per block the runtime launches the kernels with.
inline constexpr int kGpuBlockSize = 256;
/// Threads per warp; kGpuBlockSize is a multiple, which warp reductions
/// and mma.sync need.
inline constexpr int kGpuWarpSize = 32;
static_assert(kGpuBlockSize % kGpuWarpSize == 0, "blocks of whole warps");

/// The i64 words of the step control block, every kernel's scalar argument
/// (docs/Design/GpuKernels.md, "Step control"; rt::StepControl mirrors
/// them): the last step's count, the finished-blocks ticket, the addresses
/// of the grad scale and of found-inf (0: none), then one address per
/// scalar (hypers, then inputs, in argument order).
enum StepControlWord : int64_t {
  kControlCount = 0,
  kControlTicket = 1,
  kControlGradScale = 2,
  kControlFoundInf = 3,
  kControlFirstScalar = 4,
};

/// The device function every phased kernel calls between phases:
/// `(word, first block, blocks)`, the blocks [first, first + blocks) meet
/// at the i32 barrier word (a sub-grid's, or the whole grid's).
inline constexpr const char *kGridBarrierName = "stepc_grid_barrier";
/// How long a block waits at a grid barrier before it traps, by default
/// (the pass option barrier-timeout): a grid that can never meet (a bug, or
/// a block that never arrives) then fails the launch with an error instead
/// of hanging the GPU and its process.
inline constexpr int64_t kGridBarrierTimeoutSeconds = 60;
/// The longest timeout the barrier's 32-bit clock (1024 ns units) holds
/// with room to spare.
inline constexpr int64_t kMaxGridBarrierTimeoutSeconds = 1800;
/// Why a grid barrier cannot time out after `seconds` (the option named
/// with `optionPrefix` before it), or "" when it can.
std::string checkBarrierTimeout(int64_t seconds,
                                llvm::StringRef optionPrefix = "");
/// The phase timeline (stepc-form-phased-gpu-kernels{phase-timeline},
/// stepc compile --cuda-phase-timeline; docs/Design/PhaseTimeline.md):
/// after each grid barrier the first block of the blocks that met writes
/// (site, %globaltimer / 32) into its region of the barrier buffer, which
/// starts after the grid's barrier words (gridDim + 1, rounded up to
/// kPhaseTimelineAlignWords): region 0 the grid's, region 1 + s sub-grid
/// s's, each [count, start time, then kPhaseTimelineCapacity (site, time)
/// pairs] of u32. The module attribute kPhaseTimelineSitesAttrName names
/// the sites (site k is element k - 1).
inline constexpr int64_t kPhaseTimelineCapacity = 4096;
inline constexpr int64_t kPhaseTimelineAlignWords = 64;
inline constexpr int64_t kPhaseTimelineRegionWords =
    2 + 2 * kPhaseTimelineCapacity;
inline constexpr int64_t kPhaseTimelineShift = 5;
inline constexpr const char *kPhaseTimelineSitesAttrName =
    "stepc.phase_timeline_sites";
/// The `.shared` array (LLVM address space kSharedAddressSpace) the
/// tensor-core loops stage their operands in.
inline constexpr const char *kSharedTilesName = "stepc_shared_tiles";
inline constexpr unsigned kSharedAddressSpace = 3;
/// The block tiles the tensor-core loops compute, side × side outputs per
/// block (stepc-form-phased-gpu-kernels{matmul-tile=N}, stepc compile
/// --cuda-matmul-tile=N).
inline constexpr int64_t kMatmulTileSides[] = {64, 128};
/// The most k-steps the tensor-core loops stage at once
/// (stepc-form-phased-gpu-kernels{matmul-stages=N}, stepc compile
/// --cuda-matmul-stages=N), and the shared memory a kernel may declare
/// statically: stages beyond it are dynamic shared memory, which the
/// launch gives (160 KiB at most, 8 stages of 128 x 128 tiles, under
/// sm_80's 163 KiB per block).
inline constexpr int64_t kMaxMatmulStages = 8;
inline constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;
/// The registers per thread a phased kernel with a tensor-core matmul on
/// 64 x 64 tiles is capped at unless told otherwise
/// (stepc-form-phased-gpu-kernels{max-registers=N}, stepc compile
/// --cuda-max-registers=N; 255 lifts it): two blocks of 256 threads per SM.
inline constexpr int kMatmulKernelRegisters = 128;
/// The stages a `stages` option means with block tiles of `tileSide`: 0
/// asks for the most that fit in static shared memory (4 with 64 × 64
/// tiles, 2 with 128 × 128).
int64_t matmulStagesOf(int64_t tileSide, int64_t stages);
/// Why the tensor-core loops cannot be built with these options, each
/// named with `optionPrefix` before it ("--cuda-" for stepc compile), or
/// "" when they can.
std::string checkMatmulOptions(int64_t tileSide, int64_t stages, bool wgmma,
                               llvm::StringRef optionPrefix = "");
/// The inline PTX (`llvm.inline_asm has_side_effects`, "=r") of a thread
/// index LLVM may neither hoist nor merge: values derived from it are
/// recomputed in the loop that reads it instead of living across the whole
/// kernel (docs/Design/GpuKernels.md, "Registers"). The host emulator reads
/// it as gpu.thread_id.
inline constexpr const char *kOpaqueThreadIdAsm = "mov.u32 $0, %tid.x;";
/// On the module, after stepc-form-phased-gpu-kernels: per phased kernel,
/// `{scratch = "<postfix program>", partials = N}` (rt::Group's
/// kernelScratch and kernelPartials), and `batches` when the kernel steps
/// same-shape tensors in batches (kernelBatches).
inline constexpr const char *kPhasedKernelsAttrName = "stepc.phased_kernels";
/// Bytes every scratch buffer of a phased kernel is aligned to.
inline constexpr int64_t kScratchAlignment = 256;

} // namespace stepc

#endif // STEPC_CONVERSION_FUNCTOGPUKERNELS_H
