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

void (*stepc_emulator_grid_barrier)(void *) = 0;

static float *buffer(void **params, int index) {
  return *(float **)params[index];
}

/* out[i] = in[(i + 1) % n] after every thread wrote in[i] = i. */
void rotate(void **params, int64_t block, int64_t thread, int64_t blockDim,
            int64_t gridDim) {
  float *in = buffer(params, 0), *out = buffer(params, 1);
  int64_t n = blockDim * gridDim, i = block * blockDim + thread;
  in[i] = (float)i;
  stepc_emulator_grid_barrier(*(void **)params[2]);
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
  stepc_emulator_grid_barrier(*(void **)params[2]);
}

/* The last thread writes one element past the end of `in`. */
void overflow(void **params, int64_t block, int64_t thread, int64_t blockDim,
              int64_t gridDim) {
  float *in = buffer(params, 0);
  int64_t n = blockDim * gridDim, i = block * blockDim + thread;
  in[i + (i == n - 1)] = 1.0f;
}
