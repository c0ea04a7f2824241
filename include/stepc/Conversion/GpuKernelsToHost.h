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
/// emulator's grid barrier:
/// `void (*)(void *barrierWord, uint32_t firstBlock, uint32_t blocks)`.
inline constexpr const char *kEmulatorGridBarrierName =
    "stepc_emulator_grid_barrier";
/// The same for the block barrier (`__syncthreads()`): `void (*)()`.
inline constexpr const char *kEmulatorBlockBarrierName =
    "stepc_emulator_block_barrier";
/// The same for `mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32`:
/// `void (*)(uint32_t *fragments)`, the lane's A (4 words), B (2), C (4 f32)
/// in and D (4 f32) out, in that order.
inline constexpr const char *kEmulatorMmaName = "stepc_emulator_mma_bf16";
/// The i32 words of an emulated mma's fragments.
inline constexpr int kEmulatorMmaWords = 14;
/// The same for `wgmma.mma_async.sync.aligned.m64nNk16.f32.bf16.bf16` with
/// both factors in shared memory: `void (*)(uint32_t *words)`, the
/// thread's descriptors of A (words 0-1) and B (2-3), the form (word 4: N,
/// A transposed in bit 16, B in bit 17, scale-d in bit 18) and its N/2 f32
/// accumulators (from word 5) in, the accumulators out.
inline constexpr const char *kEmulatorWgmmaName = "stepc_emulator_wgmma_bf16";
/// The i32 words of an emulated wgmma: up to m64n256k16.
inline constexpr int kEmulatorWgmmaWords = 5 + 128;
/// The same for `ldmatrix.sync.aligned.m8n8.x4.shared.b16`:
/// `void (*)(uint32_t *words)`, the lane's row address (a host pointer in
/// words 0 and 1) in, its 4 registers out (words 2 to 5).
inline constexpr const char *kEmulatorLdMatrixName =
    "stepc_emulator_ldmatrix_x4";
/// The i32 words of an emulated ldmatrix.
inline constexpr int kEmulatorLdMatrixWords = 6;
/// The same for `ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16`, with
/// the same words.
inline constexpr const char *kEmulatorLdMatrixTransName =
    "stepc_emulator_ldmatrix_x4_trans";
/// The same for `cp.async.cg.shared.global` of 16 bytes:
/// `void (*)(uint32_t *words)`, the lane's destination in its block's
/// shared memory (words 0 and 1) and its source (words 2 and 3), host
/// pointers. The emulator reads the source at once but writes the
/// destination only when a `cp.async.wait_group` of the thread covers the
/// copy's group, so a read that did not wait for the copy sees the old
/// bytes.
inline constexpr const char *kEmulatorCopyAsyncName = "stepc_emulator_cp_async";
/// The i32 words of an emulated cp.async.
inline constexpr int kEmulatorCopyAsyncWords = 4;
/// The same for `cp.async.commit_group`: `void (*)()`.
inline constexpr const char *kEmulatorCopyAsyncCommitName =
    "stepc_emulator_cp_async_commit";
/// The same for `cp.async.wait_group N`: `void (*)(uint32_t N)`, the
/// groups left in flight.
inline constexpr const char *kEmulatorCopyAsyncWaitName =
    "stepc_emulator_cp_async_wait";
/// The same for `fence.proxy.async.shared::cta`: `void (*)()`; the
/// thread's landed copies become visible to wgmma.
inline constexpr const char *kEmulatorFenceProxyAsyncName =
    "stepc_emulator_fence_proxy_async";
/// The same for `wgmma.commit_group`: `void (*)()`; the thread's wgmma
/// since its last commit become a group.
inline constexpr const char *kEmulatorWgmmaCommitName =
    "stepc_emulator_wgmma_commit";
/// The same for `wgmma.wait_group N`: `void (*)(uint32_t N)`, the groups
/// left in flight; a wgmma reads its factors until its group is waited for.
inline constexpr const char *kEmulatorWgmmaWaitName =
    "stepc_emulator_wgmma_wait";
/// The same for `shfl.sync.bfly.b32` over the whole warp:
/// `void (*)(uint32_t *words)`, the lane's value and lane mask in, the
/// value of lane `lane ^ mask` out, in that order.
inline constexpr const char *kEmulatorShuffleName =
    "stepc_emulator_shuffle_xor";
/// The same for the block's shared memory (kSharedTilesName):
/// `void (*)(uint64_t *words)`, the bytes the kernel uses in, the address
/// of the running thread's block's copy out, in the same word.
inline constexpr const char *kEmulatorSharedMemoryName =
    "stepc_emulator_shared_memory";
/// The same for `%globaltimer`: `void (*)(uint64_t *words)`, the host's
/// monotonic clock in nanoseconds out.
inline constexpr const char *kEmulatorGlobalTimerName =
    "stepc_emulator_globaltimer";

} // namespace stepc

#endif // STEPC_CONVERSION_GPUKERNELSTOHOST_H
