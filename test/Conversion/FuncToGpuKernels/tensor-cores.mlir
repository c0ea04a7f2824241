// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels=batch-same-shapes=false --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels="tensor-cores=false batch-same-shapes=false" | FileCheck %s --check-prefix=SCALAR
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels="matmul-tile=128 batch-same-shapes=false" --canonicalize --cse | FileCheck %s --check-prefix=TILE128
// RUN: not stepc-opt %s --stepc-form-phased-gpu-kernels="matmul-tile=96 batch-same-shapes=false" 2>&1 | FileCheck %s --check-prefix=BAD-TILE
// RUN: not stepc-opt %s --stepc-form-phased-gpu-kernels="matmul-stages=9 batch-same-shapes=false" 2>&1 | FileCheck %s --check-prefix=BAD-STAGES
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels="matmul-tile=128 matmul-stages=3 batch-same-shapes=false" | FileCheck %s --check-prefix=DYNAMIC
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels="matmul-stages=2 batch-same-shapes=false" --canonicalize --cse | FileCheck %s --check-prefix=STAGES2
// One tensor at a time (batch-same-shapes=false): batches.mlir checks the
// batched form (docs/Design/Batching.md).

// Newton–Schulz's Gram, as StepToLinalg and bufferization leave it: the
// rounded iterate R = bf16(W), its transposed copy T, and A = R·T, whose
// body rounds its left factor itself and reads the right one from T. T is
// exact in bf16 through the transpose of the rounding, so A runs on tensor
// cores; the last function's right factor is not, so it keeps the scalar
// loops.

#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#scalar = affine_map<(d0, d1) -> ()>
#lhs = affine_map<(i, k, j) -> (i, k)>
#rhs = affine_map<(i, k, j) -> (k, j)>
#out = affine_map<(i, k, j) -> (i, j)>
#rhsT = affine_map<(i, k, j) -> (j, k)>

func.func @gram(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  %r = memref.alloc(%m, %n) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%r : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %b = arith.truncf %x : f32 to bf16
    %e = arith.extf %b : bf16 to f32
    linalg.yield %e : f32
  }
  %t = memref.alloc(%n, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r : memref<?x?xf32>) outs(%t : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %t : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %b = arith.truncf %x : f32 to bf16
    %e = arith.extf %b : bf16 to f32
    %p = arith.mulf %e, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  // Something of A's, so that the product is used.
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// The operands are staged in one module-level shared array: 4 stages of
// L's and R's 64 x 20-word slices (40 KiB).
// CHECK: llvm.mlir.global internal @stepc_shared_tiles() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<10240 x i32>
// CHECK-LABEL: gpu.func @gram(
// CHECK: %[[TILES:.*]] = llvm.mlir.addressof @stepc_shared_tiles : !llvm.ptr<3>
// CHECK-NOT: memref.store %cst
// Blocks walk 64 x 64 tiles; the thread index is read per tile, opaque to
// LLVM, so that the offsets derived from it are not hoisted out of it.
// CHECK: scf.for %{{.*}} = %[[BLOCK:[0-9]+]] to %{{.*}} step %[[BLOCKS:[0-9]+]] {
// CHECK-NOT: math.sqrt
// CHECK: llvm.inline_asm has_side_effects "mov.u32 $0, %tid.x;", "=r"  : () -> i32
// The first three k-steps, those inside k: bf16 bits, the second element
// of a pair in the high half, stored as words in stages 0, 1 and 2.
// CHECK: scf.if
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: arith.bitcast %{{.*}} : bf16 to i16
// CHECK: arith.shli %{{.*}}, %c16_i32 : i32
// CHECK: arith.ori
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK: scf.if
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK: scf.if
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK-NOT: gpu.barrier
// Per k-step of 32, with 16 accumulators: the block meets, the loads of
// the k-step three on, then per mma depth 3 ldmatrix.x4 (A's two tiles,
// B's two) and 2 x 2 mma.sync out of shared memory, and the stores into
// the stage the last k-step was read from.
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args(
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if %{{.*}} -> (i32, i32, i32, i32, i32, i32, i32, i32) {
// CHECK: memref.load
// CHECK-NOT: llvm.load %{{.*}} : !llvm.ptr<3>
// CHECK-COUNT-3: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
// CHECK-COUNT-4: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-COUNT-3: nvvm.ldmatrix
// CHECK-COUNT-4: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: nvvm.ldmatrix
// CHECK: scf.if
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK-NOT: gpu.barrier
// CHECK: scf.yield
// The next tile's first stages overwrite the last k-steps' only after the
// block meets.
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// A's zero fill is left to the product, which writes every element of A:
// the results inside the matrix are stored plus the fill's value, and
// nothing is loaded.
// CHECK: scf.if
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %{{.*}}, %[[ZERO:cst.*]] : f32
// CHECK-NEXT: memref.store %[[SUM]]
// CHECK: gpu.return

// With 128 x 128 block tiles (matmul-tile=128): two stages (the most that
// fit 48 KiB) of slices of 128 x 20 words, 8 pairs staged per thread and factor, and per mma depth 6 ldmatrix.x4
// (A's four tiles, B's four, two per load) and 4 x 4 mma.sync into 64
// accumulators.
// TILE128: llvm.mlir.global internal @stepc_shared_tiles() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<10240 x i32>
// TILE128-LABEL: gpu.func @gram(
// TILE128: llvm.inline_asm has_side_effects "mov.u32 $0, %tid.x;"
// TILE128-COUNT-16: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// TILE128-NEXT: }
// TILE128-NEXT: %{{.*}}:64 = scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args(
// TILE128-NEXT: gpu.barrier
// TILE128: %{{.*}}:16 = scf.if
// TILE128-COUNT-6: nvvm.ldmatrix
// TILE128-COUNT-16: nvvm.mma.sync
// TILE128-COUNT-6: nvvm.ldmatrix
// TILE128-COUNT-16: nvvm.mma.sync
// TILE128-NOT: nvvm.mma.sync
// TILE128-NOT: nvvm.ldmatrix
// TILE128: scf.if
// TILE128-COUNT-16: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// TILE128: scf.yield
// TILE128-NEXT: }
// TILE128-NEXT: gpu.barrier
// TILE128: gpu.return
// P·W stages P, a bf16 matrix read along its rows, in two 16-byte loads
// per thread: a warp instruction takes 8 lines × 4 runs (lane l: line
// l % 8, run l / 8, no bank conflicts), lines t % 8 + 8 · warp and 64
// further.
// TILE128-LABEL: gpu.func @square_with_epilogue(
// TILE128: nvvm.mma.sync
// TILE128: llvm.call @stepc_grid_barrier
// TILE128: nvvm.mma.sync
// TILE128: llvm.call @stepc_grid_barrier
// TILE128: %[[TID:.*]] = llvm.inline_asm has_side_effects "mov.u32 $0, %tid.x;"
// TILE128: %[[T:.*]] = arith.index_castui %[[TID]] : i32 to index
// TILE128: %[[WARP:.*]] = arith.divui %[[T]], %c32 : index
// TILE128: %[[INWARP:.*]] = arith.remui %[[T]], %c8 : index
// TILE128: %[[WARPLINE:.*]] = arith.muli %[[WARP]], %c8 : index
// TILE128: %[[LINE:.*]] = arith.addi %[[INWARP]], %[[WARPLINE]] : index
// TILE128: %[[QUARTER:.*]] = arith.divui %[[T]], %c8 : index
// TILE128: %[[RUNIDX:.*]] = arith.remui %[[QUARTER]], %c4 : index
// TILE128: arith.muli %[[RUNIDX]], %c4 : index
// TILE128: %[[LINE2:.*]] = arith.addi %[[LINE]], %c64 : index
// TILE128: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
// TILE128: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
// TILE128-NEXT: } else {
// TILE128: gpu.return

// BAD-TILE: error: matmul-tile=96 is not a block tile the tensor-core matmuls compute (64 or 128)
// With two stages (matmul-stages=2), 20 KiB: one k-step is issued before
// the loop, and each iteration waits for all its copies.
// STAGES2: llvm.mlir.global internal @stepc_shared_tiles() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<5120 x i32>
// STAGES2-LABEL: gpu.func @square_with_epilogue(
// STAGES2: llvm.call @stepc_grid_barrier
// STAGES2: llvm.call @stepc_grid_barrier
// STAGES2: nvvm.cp.async.commit.group
// STAGES2-NEXT: scf.for
// STAGES2-NEXT: nvvm.cp.async.wait.group 0
// STAGES2-NEXT: gpu.barrier
// STAGES2: nvvm.cp.async.commit.group
// STAGES2-NOT: nvvm.cp.async.wait.group
// STAGES2: gpu.return
// BAD-STAGES: error: matmul-stages=9 is not a stage count the tensor-core matmuls pipeline (2 to 8)
// Three stages of 128 x 128 tiles take 60 KiB, over the 48 KiB a kernel
// may declare: the stages are dynamic shared memory (an external array of
// no size), and each kernel that stages in it records the bytes its launch
// has to give; one without a matmul (inexact) does not.
// DYNAMIC: module attributes {gpu.container_module, stepc.phased_kernels = {
// DYNAMIC-SAME: gram = {dynamic_shared_bytes = 61440 : i64,
// DYNAMIC-SAME: inexact = {partials = 0 : i64, scratch
// DYNAMIC: llvm.mlir.global external @stepc_shared_tiles() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i32>
// DYNAMIC-LABEL: gpu.func @gram(
// DYNAMIC: nvvm.cp.async.wait.group 1

// SCALAR-NOT: stepc_shared_tiles
// SCALAR-LABEL: gpu.func @gram(
// SCALAR-NOT: nvvm.mma.sync
// SCALAR: gpu.return

// The right factor read straight from the gradient: not known to be exact
// in bf16, so no tensor cores.
func.func @inexact(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %g : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %b = arith.truncf %x : f32 to bf16
    %e = arith.extf %b : bf16 to f32
    %p = arith.mulf %e, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @inexact(
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// R is rounded, then overwritten with unrounded values before its
// transposed copy is taken: the last write decides, so no tensor cores.
func.func @overwritten(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  %r = memref.alloc(%m, %n) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%r : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %b = arith.truncf %x : f32 to bf16
    %e = arith.extf %b : bf16 to f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : memref<?x?xf32>) outs(%r : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  %t = memref.alloc(%n, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r : memref<?x?xf32>) outs(%t : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %t : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %b = arith.truncf %x : f32 to bf16
    %e = arith.extf %b : bf16 to f32
    %p = arith.mulf %e, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @overwritten(
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// The Gram as the GPU pipeline leaves it (stepc-fuse-transposes-into-
// reductions): both factors read W along k and round it. R at (k, j) is L
// at (j, k) and A starts at zero, so A is symmetric: blocks walk the
// T(T + 1)/2 tiles on and above the diagonal, tile t's column the r with
// r(r + 1)/2 ≤ t from √(8t + 1), and a tile off the diagonal is added to
// its mirror image as well.
func.func @gram_in_place(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  %acc0 = memref.alloc(%m, %m) : memref<?x?xf32>
  memref.copy %a, %acc0 : memref<?x?xf32> to memref<?x?xf32>
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %w : memref<?x?xf32>, memref<?x?xf32>) outs(%acc0 : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %yb = arith.truncf %y : f32 to bf16
    %ye = arith.extf %yb : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc0 : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// The zero fill reaches the product through a copy, so the product loads
// what it adds to.
// CHECK-LABEL: gpu.func @gram_in_place(
// CHECK: %[[T:.*]] = arith.divui %{{.*}}, %c64 : index
// CHECK-NEXT: %[[T1:.*]] = arith.addi %[[T]], %c1 : index
// CHECK-NEXT: %[[TT:.*]] = arith.muli %[[T]], %[[T1]] : index
// CHECK-NEXT: %[[TILES:.*]] = arith.divui %[[TT]], %c2 : index
// CHECK: scf.for %[[TILE:.*]] = %{{.*}} to %[[TILES]] step %{{.*}} {
// CHECK: math.sqrt
// CHECK: %[[ROW:.*]] = arith.subi %[[TILE]], %{{.*}} : index
// CHECK: %[[OFF:.*]] = arith.cmpi ne, %[[ROW]], %{{.*}} : index
// CHECK: nvvm.mma.sync
// Each result inside the matrix is added at (i, j), then, off the
// diagonal, at (j, i). The copy into the gradient, the next op to read
// the product, is its epilogue: each sum is stored there too, and A as
// well, which the copy before the product also writes.
// CHECK: %[[OLD:.*]] = memref.load %[[A:.*]][%[[I:.*]], %[[J:.*]]] : memref<?x?xf32>
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[OLD]], %[[R:.*]] : f32
// CHECK-NEXT: memref.store %[[SUM]], %[[A]][%[[I]], %[[J]]]
// CHECK-NEXT: memref.store %[[SUM]], %[[G:.*]][%[[I]], %[[J]]]
// CHECK-NEXT: scf.if %[[OFF]] {
// CHECK-NEXT: %[[OLDT:.*]] = memref.load %[[A]][%[[J]], %[[I]]]
// CHECK-NEXT: %[[SUMT:.*]] = arith.addf %[[OLDT]], %[[R]] : f32
// CHECK-NEXT: memref.store %[[SUMT]], %[[A]][%[[J]], %[[I]]]
// CHECK-NEXT: memref.store %[[SUMT]], %[[G]][%[[J]], %[[I]]]
// CHECK: gpu.return

// The same product added to what the gradient left in the output: not
// known to start symmetric, so every tile is computed, and stored once.
func.func @gram_accumulating(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %w : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %yb = arith.truncf %y : f32 to bf16
    %ye = arith.extf %yb : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @gram_accumulating(
// CHECK-NOT: nvvm.cp.async
// CHECK-NOT: math.sqrt
// CHECK: nvvm.mma.sync
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %{{.*}}#0 : f32
// CHECK-NEXT: memref.store %[[SUM]]
// CHECK-NEXT: memref.store %[[SUM]]
// CHECK-NEXT: }
// CHECK-NOT: arith.cmpi ne
// CHECK: gpu.return

// A² of that Gram reads A at (i, k) and (k, j): the same reads mirrored,
// because A, a mirrored product into a zero fill, is symmetric. So A²
// walks the triangle too.
func.func @gram_squared(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  %sq = memref.alloc(%m, %m) : memref<?x?xf32>
  memref.copy %a, %sq : memref<?x?xf32> to memref<?x?xf32>
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %w : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %yb = arith.truncf %y : f32 to bf16
    %ye = arith.extf %yb : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %a : memref<?x?xf32>, memref<?x?xf32>) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %yb = arith.truncf %y : f32 to bf16
    %ye = arith.extf %yb : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sq : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @gram_squared(
// CHECK-COUNT-2: math.sqrt
// CHECK-NOT: math.sqrt
// CHECK: gpu.return

// The same square of a matrix copied from the gradient, which nothing
// says is symmetric: every tile.
func.func @square_of_unknown(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %b = arith.truncf %x : f32 to bf16
    %e = arith.extf %b : bf16 to f32
    linalg.yield %e : f32
  }
  %sq = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %a : memref<?x?xf32>, memref<?x?xf32>) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sq : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @square_of_unknown(
// CHECK-NOT: math.sqrt
// CHECK: nvvm.mma.sync
// CHECK-NOT: math.sqrt
// CHECK: gpu.return

// Newton–Schulz's second and third products after stepc-materialize-
// rounded-factors: A² into a zero fill, then P = bf16(b·A + c·A²), then
// P·W. P is A²'s epilogue: each block computes it where it stores A², and
// A², which nothing else reads, is not stored at all. So the products
// meet two grid barriers (after the Gram and after A²), and none is
// needed for P.
func.func @square_with_epilogue(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %b = arith.constant -4.775 : f32
  %c = arith.constant 2.0315 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %w : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %yb = arith.truncf %y : f32 to bf16
    %ye = arith.extf %yb : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  %sq = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %a : memref<?x?xf32>, memref<?x?xf32>) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %yb = arith.truncf %y : f32 to bf16
    %ye = arith.extf %yb : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  %pw = memref.alloc(%m, %n) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%pw : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  %pb = memref.alloc(%m, %m) : memref<?x?xbf16>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %sq : memref<?x?xf32>, memref<?x?xf32>) outs(%pb : memref<?x?xbf16>) {
  ^bb0(%x: f32, %y: f32, %o: bf16):
    %bx = arith.mulf %x, %b : f32
    %cy = arith.mulf %y, %c : f32
    %sum = arith.addf %bx, %cy : f32
    %r = arith.truncf %sum : f32 to bf16
    linalg.yield %r : bf16
  }
  linalg.generic {indexing_maps = [#rhs, #lhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %pb : memref<?x?xf32>, memref<?x?xbf16>) outs(%pw : memref<?x?xf32>) {
  ^bb0(%x: f32, %pe: bf16, %acc: f32):
    %l = arith.extf %pe : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %l, %xe : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%pw : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @square_with_epilogue(
// CHECK: nvvm.mma.sync
// CHECK: llvm.call @stepc_grid_barrier
// CHECK: nvvm.mma.sync
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: %[[SQ:.*]] = arith.addf %{{.*}}#0, %{{.*}} : f32
// CHECK-NEXT: %[[A:.*]] = memref.load %{{.*}}[%[[I:.*]], %[[J:.*]]] : memref<?x?xf32>
// CHECK-NEXT: %[[BA:.*]] = arith.mulf %[[A]], %{{.*}} : f32
// CHECK-NEXT: %[[CS:.*]] = arith.mulf %[[SQ]], %{{.*}} : f32
// CHECK-NEXT: %[[P:.*]] = arith.addf %[[BA]], %[[CS]] : f32
// CHECK-NEXT: %[[PB:.*]] = arith.truncf %[[P]] : f32 to bf16
// CHECK-NEXT: memref.store %[[PB]], %[[PBUF:.*]][%[[I]], %[[J]]] : memref<?x?xbf16>
// CHECK-NEXT: scf.if
// CHECK-NEXT: memref.load %{{.*}}[%[[J]], %[[I]]] : memref<?x?xf32>
// CHECK: memref.store %{{.*}}, %[[PBUF]][%[[J]], %[[I]]] : memref<?x?xbf16>
// CHECK: llvm.call @stepc_grid_barrier
// P·W stages P, a bf16 matrix read along its rows, 8 elements per
// cp.async straight into shared memory where they lie inside it at a
// 16-byte aligned address, else element by element, stored at once. W is
// f32: loaded element by element and rounded, then stored after the
// mma.sync. Each k-step's copies are one group per thread, committed
// even where k is past the end (an empty group): three before the loop,
// one per iteration. An iteration waits until at most two are in flight,
// its k-step's landed, before the block's barrier.
// CHECK: memref.extract_aligned_pointer_as_index %[[PBUF]]
// CHECK: scf.if %{{.*}} {
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK-NEXT: } else {
// CHECK: memref.load %[[PBUF]]
// CHECK: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK-COUNT-3: nvvm.cp.async.commit.group
// CHECK-NEXT: scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 2
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.mma.sync
// CHECK-NOT: nvvm.cp.async
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// P·W's output is read only by the copy into the gradient, its epilogue:
// each result goes to the gradient alone.
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: %[[R:.*]] = arith.addf %{{.*}}#0, %{{.*}} : f32
// CHECK-NEXT: memref.store %[[R]], %{{.*}} : memref<?x?xf32>
// CHECK-NEXT: }
// CHECK: gpu.return

// An element-wise op after A² that writes A, which A² reads: other blocks
// may still read A while a block stores, so it is no epilogue. A² stores
// its output, and the op runs after a grid barrier.
func.func @writes_a_factor(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.truncf %x : f32 to bf16
    %e = arith.extf %r : bf16 to f32
    linalg.yield %e : f32
  }
  %sq = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %a : memref<?x?xf32>, memref<?x?xf32>) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sq : memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @writes_a_factor(
// CHECK: nvvm.mma.sync
// CHECK: %[[SQ:.*]] = arith.addf %{{.*}}#0, %{{.*}} : f32
// CHECK-NEXT: memref.store %[[SQ]], %[[SQBUF:.*]][%{{.*}}, %{{.*}}] : memref<?x?xf32>
// CHECK-NEXT: }
// CHECK: llvm.call @stepc_grid_barrier
// CHECK: %[[SQFLAT:.*]] = memref.collapse_shape %[[SQBUF]]
// CHECK: vector.load %[[SQFLAT]]
// CHECK: memref.load %[[SQFLAT]]
// CHECK: gpu.return

// A² of the Gram's bf16 copy, as stepc-materialize-rounded-factors leaves
// it: the copy is the Gram's epilogue, and, since nothing else reads the
// Gram's f32 result, the only thing the Gram stores. A rounded copy of a
// symmetric matrix is symmetric, so A² walks the triangle too, and loads
// its left factor 16 bytes at a time.
func.func @rounded_gram_squared(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %w : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %yb = arith.truncf %y : f32 to bf16
    %ye = arith.extf %yb : bf16 to f32
    %xb = arith.truncf %x : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  %ab = memref.alloc(%m, %m) : memref<?x?xbf16>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%ab : memref<?x?xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %r = arith.truncf %x : f32 to bf16
    linalg.yield %r : bf16
  }
  %sq = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%ab, %ab : memref<?x?xbf16>, memref<?x?xbf16>) outs(%sq : memref<?x?xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %ye = arith.extf %y : bf16 to f32
    %xe = arith.extf %x : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sq : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @rounded_gram_squared(
// CHECK: math.sqrt
// CHECK: nvvm.mma.sync
// CHECK: %[[A:.*]] = arith.addf %{{.*}}#0, %{{.*}} : f32
// CHECK-NEXT: %[[AB:.*]] = arith.truncf %[[A]] : f32 to bf16
// CHECK-NEXT: memref.store %[[AB]], %[[ABBUF:.*]][%[[I:.*]], %[[J:.*]]] : memref<?x?xbf16>
// CHECK-NEXT: scf.if
// CHECK-NEXT: memref.store %[[AB]], %[[ABBUF]][%[[J]], %[[I]]] : memref<?x?xbf16>
// CHECK: llvm.call @stepc_grid_barrier
// CHECK: math.sqrt
// Both factors of A² are bf16(A) copied by rows: on the right too, as
// bf16(A) is symmetric, so its col j is its row j.
// A whole tile copies both without checks; the others check each copy.
// CHECK: memref.extract_aligned_pointer_as_index %[[ABBUF]]
// CHECK-COUNT-2: nvvm.cp.async.shared.global
// CHECK-NEXT: }
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.mma.sync
// CHECK: } else {
// CHECK: nvvm.cp.async.shared.global
// CHECK-NEXT: } else {
// CHECK: nvvm.mma.sync
// CHECK: gpu.return
