/*===- fake_entries.c - packed entries written by hand -------------*- C -*-===*\
|*                                                                            *|
|* Part of stepc, under the Apache License v2.0 with LLVM Exceptions.         *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Stand-ins for the code stepc compiles, so the runtime's loading and C API  *|
|* are tested without the compiler. Built into a shared object that           *|
|* capi_e2e_test puts in an artifact's "cpu.so" section. The ABI: args[i]     *|
|* points at argument i; a memref is a pointer to a pointer to its            *|
|* descriptor; scalars are f32.                                               *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <stdint.h>

typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} MemRef1;

typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemRef2;

#define MEMREF(TYPE, I) (**(TYPE **)args[I])
#define SCALAR(I) (*(float *)args[I])

/* Group "all": w, g, state buf (full, zeros), hypers lr and momentum, count.
 * buf = momentum * buf + g; w -= lr * buf; then w[0] += count / 1000 so the
 * test sees the count. */
void fake_sgd_all(void **args) {
  MemRef1 w = MEMREF(MemRef1, 0), g = MEMREF(MemRef1, 1),
          buf = MEMREF(MemRef1, 2);
  float lr = SCALAR(3), momentum = SCALAR(4), count = SCALAR(5);
  for (int64_t i = 0; i < w.sizes[0]; ++i) {
    float *b = &buf.aligned[buf.offset + i * buf.strides[0]];
    *b = momentum * *b + g.aligned[g.offset + i * g.strides[0]];
    w.aligned[w.offset + i * w.strides[0]] -= lr * *b;
  }
  w.aligned[w.offset] += count / 1000.0f;
}

/* Group "rows": w, g (matrices), state r (per_row, ones).
 * r[i] += sum_j g[i][j]; w[i][j] -= g[i][j] / r[i]. */
void fake_rows(void **args) {
  MemRef2 w = MEMREF(MemRef2, 0), g = MEMREF(MemRef2, 1),
          r = MEMREF(MemRef2, 2);
  for (int64_t i = 0; i < w.sizes[0]; ++i) {
    float *ri = &r.aligned[r.offset + i * r.strides[0]];
    for (int64_t j = 0; j < w.sizes[1]; ++j)
      *ri += g.aligned[g.offset + i * g.strides[0] + j * g.strides[1]];
    for (int64_t j = 0; j < w.sizes[1]; ++j)
      w.aligned[w.offset + i * w.strides[0] + j * w.strides[1]] -=
          g.aligned[g.offset + i * g.strides[0] + j * g.strides[1]] / *ri;
  }
}
