/*===- emulated_kernels.c - hand-written kernels for the CUDA emulator ---===*
 *
 * Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
 *
 *===----------------------------------------------------------------------===*
 *
 * Kernels in the host form stepc-gpu-kernels-to-host gives
 * (docs/Design/GpuEmulation.md), each with a known right or wrong
 * behaviour, for test/Runtime/cuda_emulator_test.cpp. Arguments: a float
 * buffer, an output buffer, the barrier word.
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <string.h>

void (*stepc_emulator_grid_barrier)(void *, uint32_t, uint32_t) = 0;
void (*stepc_emulator_mma_bf16)(uint32_t *) = 0;
void (*stepc_emulator_wgmma_bf16)(uint32_t *) = 0;
void (*stepc_emulator_wgmma_commit)(void) = 0;
void (*stepc_emulator_wgmma_wait)(uint32_t) = 0;
void (*stepc_emulator_fence_proxy_async)(void) = 0;
void (*stepc_emulator_ldmatrix_x4)(uint32_t *) = 0;
void (*stepc_emulator_ldmatrix_x4_trans)(uint32_t *) = 0;
void (*stepc_emulator_cp_async)(uint32_t *) = 0;
void (*stepc_emulator_cp_async_commit)(void) = 0;
void (*stepc_emulator_cp_async_wait)(uint32_t) = 0;
void (*stepc_emulator_shuffle_xor)(uint32_t *) = 0;
void (*stepc_emulator_block_barrier)(void) = 0;
void (*stepc_emulator_shared_memory)(uint64_t *) = 0;

static float *buffer(void **params, int index) {
  return *(float **)params[index];
}

/* The whole grid meets at barrier word 0. */
static void grid_barrier(void **params, int64_t gridDim) {
  stepc_emulator_grid_barrier(*(void **)params[2], 0, (uint32_t)gridDim);
}

/* Blocks 0 and 1 rotate their elements through the barrier at word 1 (a
 * sub-grid of 2 blocks), block 2 alone through word 2; then the grid meets
 * at word 0. */
void subgrid_rotate(void **params, int64_t block, int64_t thread,
                    int64_t blockDim, int64_t gridDim) {
  float *in = buffer(params, 0), *out = buffer(params, 1);
  uint32_t *words = *(uint32_t **)params[2];
  int64_t first = block < 2 ? 0 : 2, blocks = block < 2 ? 2 : 1;
  int64_t n = blocks * blockDim, i = block * blockDim + thread;
  in[i] = (float)i;
  stepc_emulator_grid_barrier(words + 1 + first / 2, (uint32_t)first,
                              (uint32_t)blocks);
  out[i] = in[first * blockDim + (i - first * blockDim + 1) % n];
  stepc_emulator_grid_barrier(words, 0, (uint32_t)gridDim);
}

/* Block 0 waits for a sub-grid of 2 blocks at word 1, which block 1 never
 * reaches: it waits with block 2 for the whole grid at word 0. */
void subgrid_diverge(void **params, int64_t block, int64_t thread,
                     int64_t blockDim, int64_t gridDim) {
  uint32_t *words = *(uint32_t **)params[2];
  (void)thread;
  (void)blockDim;
  if (block == 0)
    stepc_emulator_grid_barrier(words + 1, 0, 2);
  else
    stepc_emulator_grid_barrier(words, 0, (uint32_t)gridDim);
}

/* out[i] = in[(i + 1) % n] after every thread wrote in[i] = i. */
void rotate(void **params, int64_t block, int64_t thread, int64_t blockDim,
            int64_t gridDim) {
  float *in = buffer(params, 0), *out = buffer(params, 1);
  int64_t n = blockDim * gridDim, i = block * blockDim + thread;
  in[i] = (float)i;
  grid_barrier(params, gridDim);
  out[i] = in[(i + 1) % n];
}

/* The same without the barrier: reads what another thread may not have
 * written yet. */
void rotate_without_barrier(void **params, int64_t block, int64_t thread,
                            int64_t blockDim, int64_t gridDim) {
  float *in = buffer(params, 0), *out = buffer(params, 1);
  int64_t n = blockDim * gridDim, i = block * blockDim + thread;
  in[i] = (float)i;
  out[i] = in[(i + 1) % n];
}

/* Thread 0 of block 1 skips the barrier the others wait at. */
void diverge(void **params, int64_t block, int64_t thread, int64_t blockDim,
             int64_t gridDim) {
  (void)blockDim;
  (void)gridDim;
  if (block == 1 && thread == 0)
    return;
  grid_barrier(params, gridDim);
}

/* The block's shared memory: `bytes` of it, 16-aligned. */
static float *shared_memory(uint64_t bytes) {
  uint64_t words[1] = {bytes};
  stepc_emulator_shared_memory(words);
  return (float *)(uintptr_t)words[0];
}

/* Within each block, out[i] = in[i] reversed through the block's shared
 * memory: every block writes its own, then block 0 alone reads (its
 * threads at a block barrier while block 1's wait at the grid barrier),
 * then block 1. */
void shared_reverse(void **params, int64_t block, int64_t thread,
                    int64_t blockDim, int64_t gridDim) {
  float *in = buffer(params, 0), *out = buffer(params, 1);
  float *shared = shared_memory(sizeof(float) * 64);
  int64_t i = block * blockDim + thread;
  (void)gridDim;
  shared[thread] = in[i];
  grid_barrier(params, gridDim);
  for (int64_t turn = 0; turn < 2; ++turn) {
    if (block == turn) {
      stepc_emulator_block_barrier();
      out[i] = shared[blockDim - 1 - thread];
    }
    grid_barrier(params, gridDim);
  }
}

/* out[i] = the block's shared memory before anything was written. */
void shared_unwritten(void **params, int64_t block, int64_t thread,
                      int64_t blockDim, int64_t gridDim) {
  float *out = buffer(params, 1);
  float *shared = shared_memory(sizeof(float) * 64);
  (void)gridDim;
  out[block * blockDim + thread] = shared[thread];
}

/* Thread 0 of block 1 goes to the grid barrier while its block waits at a
 * block barrier. */
void block_diverge(void **params, int64_t block, int64_t thread,
                   int64_t blockDim, int64_t gridDim) {
  (void)blockDim;
  (void)gridDim;
  if (!(block == 1 && thread == 0))
    stepc_emulator_block_barrier();
  grid_barrier(params, gridDim);
}

/* The last thread writes one element past the end of `in`. */
void overflow(void **params, int64_t block, int64_t thread, int64_t blockDim,
              int64_t gridDim) {
  float *in = buffer(params, 0);
  int64_t n = blockDim * gridDim, i = block * blockDim + thread;
  in[i + (i == n - 1)] = 1.0f;
}

/* The bf16 bits of a float that is exact in bf16. */
static uint32_t bf16_bits(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  return bits >> 16;
}

/* mma.sync m16n8k16 bf16 -> f32 by every warp: `in` holds A (16 x 16) and
 * B (16 x 8), row-major; warp w writes A.B + w (16 x 8) at out[128 w].
 * Fragments as the PTX ISA lays them out: g = lane / 4, t = lane % 4; A's
 * register q rows g + 8 (q % 2), cols 2t + 8 (q / 2) and the next (low
 * half first); B's register q rows 2t + 8q and the next, col g; C's and
 * D's element r row g + 8 (r / 2), col 2t + r % 2. */
void mma_tile(void **params, int64_t block, int64_t thread, int64_t blockDim,
              int64_t gridDim) {
  (void)gridDim;
  const float *a = buffer(params, 0), *b = a + 16 * 16;
  float *out = buffer(params, 1);
  int64_t warp = (block * blockDim + thread) / 32, lane = thread % 32;
  int64_t g = lane / 4, t = lane % 4;
  uint32_t fragments[14];
  for (int q = 0; q < 4; ++q) {
    int64_t row = g + 8 * (q % 2), col = 2 * t + 8 * (q / 2);
    fragments[q] =
        bf16_bits(a[row * 16 + col]) | bf16_bits(a[row * 16 + col + 1]) << 16;
  }
  for (int q = 0; q < 2; ++q) {
    int64_t k = 2 * t + 8 * q;
    fragments[4 + q] = bf16_bits(b[k * 8 + g]) | bf16_bits(b[(k + 1) * 8 + g])
                                                     << 16;
  }
  for (int r = 0; r < 4; ++r) {
    float c = (float)warp;
    memcpy(&fragments[6 + r], &c, sizeof c);
  }
  stepc_emulator_mma_bf16(fragments);
  for (int r = 0; r < 4; ++r) {
    int64_t row = g + 8 * (r / 2), col = 2 * t + r % 2;
    memcpy(&out[warp * 128 + row * 8 + col], &fragments[10 + r], sizeof(float));
  }
}

/* ldmatrix.x4 by every warp out of its block's shared memory: element
 * (r, c) of the warp's matrix j (16 bits, rows 32 bytes apart) holds
 * 64 j + 8 r + c, written by lane 8 j + r, which then gives that row's
 * address. Lane l's registers go to out[4 (32 w + l)] as they are (w: the
 * warp in the grid). With `misalign`, lane 3's address is 4 bytes into
 * its row. */
static void ldmatrix_with(void **params, int64_t block, int64_t thread,
                          int64_t blockDim, int misalign, int transposed) {
  float *out = buffer(params, 1);
  uint16_t *shared = (uint16_t *)shared_memory((uint64_t)blockDim * 32);
  int64_t lane = thread % 32, warp = (block * blockDim + thread) / 32;
  int64_t matrix = lane / 8, r = lane % 8;
  uint16_t *row = shared + (thread / 32) * 512 + matrix * 128 + r * 16;
  for (int c = 0; c < 8; ++c)
    row[c] = (uint16_t)(64 * matrix + 8 * r + c);
  stepc_emulator_block_barrier();
  const uint16_t *address = row + (misalign && lane == 3 ? 2 : 0);
  uint32_t words[6];
  memcpy(words, &address, sizeof address);
  (transposed ? stepc_emulator_ldmatrix_x4_trans
              : stepc_emulator_ldmatrix_x4)(words);
  memcpy(&out[4 * (32 * warp + lane)], &words[2], 4 * sizeof(uint32_t));
}

void ldmatrix_tile(void **params, int64_t block, int64_t thread,
                   int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  ldmatrix_with(params, block, thread, blockDim, 0, 0);
}

void ldmatrix_trans_tile(void **params, int64_t block, int64_t thread,
                         int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  ldmatrix_with(params, block, thread, blockDim, 0, 1);
}

void ldmatrix_misaligned(void **params, int64_t block, int64_t thread,
                         int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  ldmatrix_with(params, block, thread, blockDim, 1, 0);
}

/* Each thread copies in[4 t .. 4 t + 3] into its 16 bytes of its block's
 * shared memory with cp.async, and writes to out[3 t] the first float of
 * its slot before waiting (still the NaN shared memory starts as), to
 * out[3 t + 1] and out[3 t + 2] its first and last float after. With
 * `wait` 0 it returns with the copy in flight; with `misalign`, thread 1's
 * source is 4 bytes into its 16. */
/* cp.async of the 16 bytes at `source` into shared memory at `slot`. */
static void cp_async_16(float *slot, const float *source) {
  uint32_t words[4];
  memcpy(words, &slot, sizeof slot);
  memcpy(words + 2, &source, sizeof source);
  stepc_emulator_cp_async(words);
}

static void cp_async_with(void **params, int64_t block, int64_t thread,
                          int64_t blockDim, int wait, int misalign) {
  float *in = buffer(params, 0), *out = buffer(params, 1);
  float *slot = shared_memory((uint64_t)blockDim * 16) + 4 * thread;
  int64_t t = block * blockDim + thread;
  cp_async_16(slot, in + 4 * t + (misalign && thread == 1 ? 1 : 0));
  out[3 * t] = slot[0];
  if (!wait)
    return;
  stepc_emulator_cp_async_commit();
  stepc_emulator_cp_async_wait(0);
  out[3 * t + 1] = slot[0];
  out[3 * t + 2] = slot[3];
}

void cp_async_copy(void **params, int64_t block, int64_t thread,
                   int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  cp_async_with(params, block, thread, blockDim, 1, 0);
}

/* Each thread copies in[8 t .. 8 t + 3] and in[8 t + 4 .. 8 t + 7] into
 * its two 16-byte slots of its block's shared memory, as two groups, and
 * writes the first float of each slot to out[4 t] and out[4 t + 1] after
 * cp.async.wait_group 1 (the first landed, the second maybe not), to
 * out[4 t + 2] and out[4 t + 3] after cp.async.wait_group 0. */
void cp_async_groups(void **params, int64_t block, int64_t thread,
                     int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  float *in = buffer(params, 0), *out = buffer(params, 1);
  float *slots = shared_memory((uint64_t)blockDim * 32) + 8 * thread;
  int64_t t = block * blockDim + thread;
  for (int group = 0; group < 2; ++group) {
    cp_async_16(slots + 4 * group, in + 8 * t + 4 * group);
    stepc_emulator_cp_async_commit();
  }
  stepc_emulator_cp_async_wait(1);
  out[4 * t] = slots[0];
  out[4 * t + 1] = slots[4];
  stepc_emulator_cp_async_wait(0);
  out[4 * t + 2] = slots[0];
  out[4 * t + 3] = slots[4];
}

void cp_async_unwaited(void **params, int64_t block, int64_t thread,
                       int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  cp_async_with(params, block, thread, blockDim, 0, 0);
}

void cp_async_misaligned(void **params, int64_t block, int64_t thread,
                         int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  cp_async_with(params, block, thread, blockDim, 1, 1);
}

/* Lane 5 of every warp returns before the mma the others wait at. */
void mma_diverge(void **params, int64_t block, int64_t thread, int64_t blockDim,
                 int64_t gridDim) {
  (void)params;
  (void)block;
  (void)blockDim;
  (void)gridDim;
  uint32_t fragments[14] = {0};
  if (thread % 32 == 5)
    return;
  stepc_emulator_mma_bf16(fragments);
}

static uint32_t shuffle_xor(uint32_t value, uint32_t lane_mask) {
  uint32_t words[3] = {value, lane_mask, 0};
  stepc_emulator_shuffle_xor(words);
  return words[2];
}

/* A butterfly sum over each warp: out[i] = in[i] after one exchange with
 * lane ^ 1 (the pair's sum), then the warp's sum in out[n + i]. */
void shuffle_sum(void **params, int64_t block, int64_t thread, int64_t blockDim,
                 int64_t gridDim) {
  (void)gridDim;
  const float *in = buffer(params, 0);
  float *out = buffer(params, 1);
  int64_t n = blockDim * gridDim, i = block * blockDim + thread;
  float sum = in[i];
  for (uint32_t lane_mask = 1; lane_mask < 32; lane_mask *= 2) {
    uint32_t bits, other;
    memcpy(&bits, &sum, sizeof bits);
    other = shuffle_xor(bits, lane_mask);
    float partner;
    memcpy(&partner, &other, sizeof partner);
    if (lane_mask == 1)
      out[i] = partner;
    sum += partner;
  }
  out[n + i] = sum;
}

/* Lane 7 of every warp runs an mma.sync while the others shuffle. */
void shuffle_diverge(void **params, int64_t block, int64_t thread,
                     int64_t blockDim, int64_t gridDim) {
  (void)params;
  (void)block;
  (void)blockDim;
  (void)gridDim;
  uint32_t fragments[14] = {0};
  if (thread % 32 == 7)
    stepc_emulator_mma_bf16(fragments);
  else
    shuffle_xor(1, 1);
}

/* Shared memory as big as the launch gives (dynamic): each thread writes
 * in[t] to its float, and after a block barrier out[t] is the float of
 * thread blockDim - 1 - thread. */
void dynamic_shared_reverse(void **params, int64_t block, int64_t thread,
                            int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  float *in = buffer(params, 0), *out = buffer(params, 1);
  float *shared = shared_memory(0);
  int64_t t = block * blockDim + thread;
  shared[thread] = in[t];
  stepc_emulator_block_barrier();
  out[t] = shared[blockDim - 1 - thread];
}

/* Two warps share rows through cp.async and ldmatrix, the way the
 * tensor-core loops do. Each thread copies in[4 t .. 4 t + 3] into row
 * `thread` of its block's shared memory (16 bytes) and waits for it; then
 * each lane reads, with ldmatrix, the row copied by the thread of the
 * other warp (thread ^ 32), and lane l's 4 registers go to out[4 t ..].
 * Then each thread copies in[4 t + 4 blockDim ..] over its row.
 * `barriers` says where block barriers are: bit 0 between the wait and
 * the reads (without it a read races with the other warp's copy), bit 1
 * between the reads and the second copies (without it a copy races with
 * the other warp's read). */
static void shared_rows_with(void **params, int64_t block, int64_t thread,
                             int64_t blockDim, int barriers) {
  float *in = buffer(params, 0), *out = buffer(params, 1);
  float *rows = shared_memory((uint64_t)blockDim * 16);
  int64_t t = block * blockDim + thread;
  cp_async_16(rows + 4 * thread, in + 4 * t);
  stepc_emulator_cp_async_commit();
  stepc_emulator_cp_async_wait(0);
  if (barriers & 1)
    stepc_emulator_block_barrier();
  const float *row = rows + 4 * (thread ^ 32);
  uint32_t words[6];
  memcpy(words, &row, sizeof row);
  stepc_emulator_ldmatrix_x4(words);
  memcpy(&out[4 * t], &words[2], 4 * sizeof(uint32_t));
  if (barriers & 2)
    stepc_emulator_block_barrier();
  cp_async_16(rows + 4 * thread, in + 4 * t + 4 * blockDim);
  stepc_emulator_cp_async_commit();
  stepc_emulator_cp_async_wait(0);
}

void shared_rows(void **params, int64_t block, int64_t thread, int64_t blockDim,
                 int64_t gridDim) {
  (void)gridDim;
  shared_rows_with(params, block, thread, blockDim, 3);
}

void shared_rows_read_race(void **params, int64_t block, int64_t thread,
                           int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  shared_rows_with(params, block, thread, blockDim, 2);
}

void shared_rows_copy_race(void **params, int64_t block, int64_t thread,
                           int64_t blockDim, int64_t gridDim) {
  (void)gridDim;
  shared_rows_with(params, block, thread, blockDim, 1);
}

/* wgmma.mma_async.m64n32k16 by the two warpgroups of a block of 256: `in`
 * holds A (64 x 16) and B (16 x 64), row-major; warpgroup w computes A
 * times cols 32 w .. 32 w + 31 of B twice, first over NaN accumulators
 * with scale-d 0 (the product alone), then adding to them (scale-d 1), and
 * writes 2 A.B to `out` (64 x 64, row-major). The factors lie in shared
 * memory in CUTLASS's canonical layouts without swizzle
 * (mma_traits_sm90_gmma.hpp, make_gmma_desc), in elements: K-major
 * ((8, m), (8, 2)) : ((8, SBO), (1, LBO)), M/N-major ((8, m), (8, 2)) :
 * ((1, SBO), (8, LBO)), SBO 64 and LBO 512 elements (128 and 1024 bytes):
 * A from byte 0, B from byte 2048, warpgroup w's cols 512 w bytes further.
 * Thread t of a warpgroup holds in accumulator i the element at row
 * 16 (t / 32) + (t % 32) / 4 + 8 ((i / 2) % 2), col 2 (t % 4) + i % 2 +
 * 8 (i / 4) (PTX ISA "Register Fragments"; CUTLASS's CLayout_64xN).
 * `variant`: 0 both factors K-major; 1 A M-major and B N-major; 2 A's
 * descriptor asks for the 128-byte swizzle; 3 B's starts past the block's
 * shared memory; 4 thread 3's A descriptor differs from its warpgroup's;
 * 5 thread 0 then copies 16 bytes of `in` over A's first row with
 * cp.async and waits for it, but runs no fence.proxy.async before the
 * block barrier (so the wgmma may read the old bytes); 6 the same with
 * the fence. The two wgmma are one group, which the threads wait for
 * before they write `out`, except in variant 7: after the group's commit
 * the block meets at a barrier and thread 0 copies 16 bytes over A's
 * first row with cp.async while the group may still read it; in 8 the
 * same after the wait (no race); in 9 nobody waits. */
static void wgmma_with(void **params, int64_t thread, int variant) {
  const float *in = buffer(params, 0), *b = in + 64 * 16;
  float *out = buffer(params, 1);
  uint16_t *shared = (uint16_t *)shared_memory(4096);
  int transposed = variant == 1;
  /* Element (outer, k) of a 64 x 16 factor, M/N (`outer`) by k. */
#define CORE_MATRIX_AT(outer, k)                                               \
  (transposed ? (outer) % 8 + (outer) / 8 * 64 + (k) % 8 * 8 + (k) / 8 * 512   \
              : (outer) % 8 * 8 + (outer) / 8 * 64 + (k) % 8 + (k) / 8 * 512)
  for (int64_t e = thread; e < 64 * 16; e += 256) {
    int64_t row = e / 16, k = e % 16, col = e % 64, kb = e / 64;
    shared[CORE_MATRIX_AT(row, k)] = (uint16_t)bf16_bits(in[row * 16 + k]);
    shared[1024 + CORE_MATRIX_AT(col, kb)] =
        (uint16_t)bf16_bits(b[kb * 64 + col]);
  }
#undef CORE_MATRIX_AT
  if ((variant == 5 || variant == 6) && thread == 0) {
    cp_async_16((float *)shared, in);
    stepc_emulator_cp_async_commit();
    stepc_emulator_cp_async_wait(0);
    if (variant == 6)
      stepc_emulator_fence_proxy_async();
  }
  stepc_emulator_block_barrier();
  int64_t warpgroup = thread / 128, t = thread % 128;
  uint64_t base = (uint64_t)(uintptr_t)shared;
  uint64_t offsets = (uint64_t)(1024 >> 4) << 16 | (uint64_t)(128 >> 4) << 32;
  uint64_t a = ((base & 0x3FFFF) >> 4) | offsets;
  uint64_t bAt = base + 2048 + 512 * (uint64_t)warpgroup;
  if (variant == 3)
    bAt = base + 4096 - 256;
  uint64_t bDescriptor = ((bAt & 0x3FFFF) >> 4) | offsets;
  if (variant == 2)
    a |= (uint64_t)1 << 62;
  if (variant == 4 && t == 3)
    a += 1;
  uint32_t words[5 + 16];
  memcpy(words, &a, sizeof a);
  memcpy(words + 2, &bDescriptor, sizeof bDescriptor);
  uint32_t form = 32 | (uint32_t)transposed << 16 | (uint32_t)transposed << 17;
  float nan;
  uint32_t nanBits = 0x7FC00000;
  memcpy(&nan, &nanBits, sizeof nan);
  for (int i = 0; i < 16; ++i)
    memcpy(&words[5 + i], &nan, sizeof nan);
  for (int pass = 0; pass < 2; ++pass) {
    words[4] = form | (uint32_t)pass << 18;
    stepc_emulator_wgmma_bf16(words);
  }
  stepc_emulator_wgmma_commit();
  if (variant == 9)
    return;
  if (variant != 7)
    stepc_emulator_wgmma_wait(0);
  if (variant == 7 || variant == 8) {
    stepc_emulator_block_barrier();
    if (thread == 0) {
      cp_async_16((float *)shared, in);
      stepc_emulator_cp_async_commit();
      stepc_emulator_cp_async_wait(0);
    }
    if (variant == 7)
      stepc_emulator_wgmma_wait(0);
  }
  for (int i = 0; i < 16; ++i) {
    int64_t row = 16 * (t / 32) + (t % 32) / 4 + 8 * ((i / 2) % 2);
    int64_t col = 32 * warpgroup + 2 * (t % 4) + i % 2 + 8 * (i / 4);
    memcpy(&out[row * 64 + col], &words[5 + i], sizeof(float));
  }
}

#define WGMMA_KERNEL(name, variant)                                            \
  void name(void **params, int64_t block, int64_t thread, int64_t blockDim,    \
            int64_t gridDim) {                                                 \
    (void)block;                                                               \
    (void)blockDim;                                                            \
    (void)gridDim;                                                             \
    wgmma_with(params, thread, variant);                                       \
  }
WGMMA_KERNEL(wgmma_k_major, 0)
WGMMA_KERNEL(wgmma_mn_major, 1)
WGMMA_KERNEL(wgmma_swizzled, 2)
WGMMA_KERNEL(wgmma_past_shared, 3)
WGMMA_KERNEL(wgmma_disagree, 4)
WGMMA_KERNEL(wgmma_copy_unfenced, 5)
WGMMA_KERNEL(wgmma_copy_fenced, 6)
WGMMA_KERNEL(wgmma_copy_in_flight, 7)
WGMMA_KERNEL(wgmma_copy_after_wait, 8)
WGMMA_KERNEL(wgmma_unwaited, 9)
