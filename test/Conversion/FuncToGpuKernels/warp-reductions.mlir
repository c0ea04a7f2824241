// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels=batch-same-shapes=false --canonicalize --cse | FileCheck %s
// One tensor at a time (batch-same-shapes=false): batches.mlir checks the
// batched form (docs/Design/Batching.md).

// Which reductions with parallel loops a warp shares: the lanes of a warp
// step through one point's reduction together, so a warp takes a point
// only when that makes them read neighbouring elements.

// A row sum of squares (NorMuon's per-row second moment): the input's
// fastest dim is the reduction. A warp per row (warp-stride over rows),
// its lanes every 32nd column from 0 (the identity), a butterfly, lane 0
// adds to the row's output.
// CHECK-LABEL: gpu.func @row_sums
// CHECK: %[[THREAD:.*]] = arith.addi
// CHECK: %[[THREADS:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[WARP:.*]] = arith.divui %[[THREAD]], %c32 : index
// CHECK-NEXT: %[[WARPS:.*]] = arith.divui %[[THREADS]], %c32 : index
// One dim: the loops' own indices are the row and the column.
// CHECK-NEXT: scf.for %[[R:.*]] = %[[WARP]] to %{{.*}} step %[[WARPS]] {
// CHECK-NEXT: %[[LANE:.*]] = arith.remui %[[THREAD]], %c32 : index
// CHECK-NEXT: %[[SUM:.*]] = scf.for %[[C:.*]] = %[[LANE]] to %{{.*}} step %c32 iter_args(%[[ACC:.*]] = %cst{{.*}}) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %{{.*}}[%[[R]], %[[C]]] : memref<?x?xf32>
// CHECK: arith.mulf
// CHECK: arith.addf %{{.*}}, %[[ACC]] : f32
// CHECK: gpu.shuffle xor %[[SUM]], %c16_i32, %c32_i32 : f32
// CHECK: gpu.shuffle xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK-NEXT: %[[TOTAL:.*]] = arith.addf
// CHECK-NEXT: %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
// CHECK-NEXT: scf.if %[[LANE0]] {
// CHECK-NEXT: %[[OLD:.*]] = memref.load %{{.*}}[%[[R]]] : memref<?xf32>
// CHECK-NEXT: %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]] : f32
// CHECK-NEXT: memref.store %[[NEW]], %{{.*}}[%[[R]]] : memref<?xf32>
// CHECK: llvm.call @stepc_grid_barrier
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @row_sums(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %v: memref<?xf32> {stepc.param_dims = array<i64: 0>}) {
  linalg.generic {indexing_maps = [#id, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%w : memref<?x?xf32>) outs(%v : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq = arith.mulf %x, %x : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A column max: the input's fastest dim is the parallel one, so
// neighbouring threads' columns are neighbours already; no shuffle. With
// at least two runs of rows per column (threads / columns), thread t takes
// column t mod n and the rows of run t / n, stores its partial; after a
// grid barrier the thread of each column folds its runs' partials in run
// order into the output. With fewer, a thread per column walks all rows.
// CHECK-LABEL: gpu.func @column_maxima
// CHECK: %[[THREAD:.*]] = arith.addi
// CHECK: %[[THREADS:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[ROWS:.*]] = memref.dim %{{.*}}, %c0
// CHECK: %[[COLS:.*]] = memref.dim %{{.*}}, %c1
// CHECK: %[[RUNS:.*]] = arith.divui %[[THREADS]], %[[COLS]] : index
// CHECK: %[[SPLIT:.*]] = arith.cmpi ugt, %[[RUNS]], %c1 : index
// CHECK: scf.if %[[SPLIT]] {
// CHECK: %[[LENGTH:.*]] = arith.ceildivui %[[ROWS]], %[[RUNS]] : index
// CHECK: %[[ACTIVE:.*]] = arith.muli %[[COLS]], %[[RUNS]] : index
// CHECK: arith.cmpi ult, %[[THREAD]], %[[ACTIVE]] : index
// CHECK: arith.remui %[[THREAD]], %[[COLS]] : index
// CHECK: arith.divui %[[THREAD]], %[[COLS]] : index
// CHECK: %[[PARTIAL:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args(%{{.*}} = %cst) -> (f32) {
// CHECK: arith.maximumf
// CHECK: llvm.store %[[PARTIAL]], %{{.*}} : f32, !llvm.ptr<1>
// CHECK: llvm.call @stepc_grid_barrier
// CHECK-NEXT: scf.for %{{.*}} = %[[THREAD]] to %[[COLS]] step %[[THREADS]] {
// CHECK: %[[FOLDED:.*]] = scf.for %{{.*}} = %c0 to %[[RUNS]] step %c1 iter_args(%{{.*}} = %cst) -> (f32) {
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: arith.maximumf
// CHECK: memref.load %{{.*}}[%{{.*}}] : memref<?xf32>
// CHECK: arith.maximumf %{{.*}}, %[[FOLDED]]
// CHECK: } else {
// CHECK: scf.for %{{.*}} = %[[THREAD]] to %[[COLS]] step %[[THREADS]] {
// CHECK: scf.for
// CHECK: arith.maximumf
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @column_maxima(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %v: memref<?xf32> {stepc.param_dims = array<i64: 1>}) {
  linalg.generic {indexing_maps = [#id, #col],
                  iterator_types = ["reduction", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%v : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.maximumf %acc, %x : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// An f32 matmul (i, k, j): the right factor's fastest dim is the innermost
// parallel loop (a thread per output element reads neighbours), though
// the left factor's is the reduction. A thread per point.
// CHECK-LABEL: gpu.func @matmul
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return
#lhs = affine_map<(i, k, j) -> (i, k)>
#rhs = affine_map<(i, k, j) -> (k, j)>
#out = affine_map<(i, k, j) -> (i, j)>
func.func @matmul(
    %a: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %b: memref<?x?xf32> {stepc.param_dims = array<i64: 1, 1>},
    %c: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A Gram matrix in f32 (i, j, k), both factors along k: a warp per output
// element, its lanes along the rows.
// CHECK-LABEL: gpu.func @gram
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32 iter_args
// CHECK: gpu.shuffle xor
#left = affine_map<(i, j, k) -> (i, k)>
#right = affine_map<(i, j, k) -> (j, k)>
#gram = affine_map<(i, j, k) -> (i, j)>
func.func @gram(
    %a: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %c: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>}) {
  linalg.generic {indexing_maps = [#left, #right, #gram],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %a : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
