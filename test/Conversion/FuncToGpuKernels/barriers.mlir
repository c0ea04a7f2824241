// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels=batch-same-shapes=false --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels=batch-same-shapes=false | FileCheck %s --check-prefix=TIMEOUT
// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels="barrier-timeout=0 batch-same-shapes=false" | FileCheck %s --check-prefix=NO-TIMEOUT
// RUN: not stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels="barrier-timeout=3600 batch-same-shapes=false" 2>&1 | FileCheck %s --check-prefix=BAD-TIMEOUT
// One tensor at a time (batch-same-shapes=false): batches.mlir checks the
// batched form (docs/Design/Batching.md).

// The barrier's thread 0 reads %globaltimer (in 1024 ns units) when it
// arrives and while it spins, and traps after 60 s (58593750 units) by
// default; with barrier-timeout=0 it spins without a clock.
// TIMEOUT-LABEL: llvm.func internal @stepc_grid_barrier
// TIMEOUT: llvm.atomicrmw add
// TIMEOUT: nvvm.read.ptx.sreg.globaltimer
// TIMEOUT: llvm.load {{.*}} atomic {{.*}} acquire
// TIMEOUT: llvm.return
// TIMEOUT: nvvm.read.ptx.sreg.globaltimer
// TIMEOUT: llvm.mlir.constant(58593750 : i32)
// TIMEOUT: llvm.icmp "ugt"
// TIMEOUT: llvm.intr.trap
// NO-TIMEOUT-LABEL: llvm.func internal @stepc_grid_barrier
// NO-TIMEOUT-NOT: globaltimer
// NO-TIMEOUT-NOT: llvm.intr.trap
// NO-TIMEOUT: llvm.return
// NO-TIMEOUT-NEXT: }
// BAD-TIMEOUT: error: barrier-timeout=3600 is outside 0 to 1800 seconds

// Where the phased kernel puts grid barriers: only where a thread may touch
// an element another thread touched since the last barrier, one of the two
// writing it. Pointwise ops (one grid-stride loop over their buffers' own
// shape) touch element e from thread e mod threads, so two of them meet
// in one thread.

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// A pointwise op reading what a pointwise op wrote: no barrier. A
// transposed read of it: a barrier first. The tensor ends with one.
// CHECK-LABEL: gpu.func @pointwise_then_transposed
// CHECK: scf.for %[[T:.*]] = %{{[0-9a-z_]+}} to %{{[0-9a-z_]+}} step %{{[0-9a-z_]+}} {
// CHECK: arith.addf
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: arith.mulf
// CHECK: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: arith.subf
// CHECK: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK-NEXT: }
func.func @pointwise_then_transposed(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %q: memref<?x?xf32> {stepc.param_dims = array<i64: 1, 0>}) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.mulf %x, %x : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x?xf32>) outs(%q : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.subf %x, %o : f32
    linalg.yield %y : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// A loop whose iterations are pointwise on the same buffers: an iteration
// follows the one before without a barrier, so the loop has none.
// CHECK-LABEL: gpu.func @carried_loop
// CHECK: scf.for %{{.*}} = %c0 to %c5 step %c1 {
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: arith.addf
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: arith.mulf
// The op's last loop (points one by one, when vectors do not fit), then
// the end of the loop and the barrier after it.
// CHECK: memref.store %{{.*}} : memref<?xf32>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
func.func @carried_loop(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  scf.for %i = %c0 to %c5 step %c1 {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.addf %x, %x : f32
      linalg.yield %y : f32
    }
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%s : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.mulf %x, %x : f32
      linalg.yield %y : f32
    }
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// A loop whose next iteration reads transposed what this one wrote: a
// barrier between the two ops, and one between iterations (placed first
// in the body: the plan starts every iteration from what one leaves).
// CHECK-LABEL: gpu.func @loop_needs_barrier
// CHECK: scf.for %{{.*}} = %c0 to %c5 step %c1 {
// CHECK-NEXT: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK: arith.addf
// CHECK: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK: arith.mulf
// CHECK: memref.store %{{.*}} : memref<?xf32>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
func.func @loop_needs_barrier(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  scf.for %i = %c0 to %c5 step %c1 {
    linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
        ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.addf %x, %x : f32
      linalg.yield %y : f32
    }
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%s : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.mulf %x, %x : f32
      linalg.yield %y : f32
    }
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// After an if, what either branch did: the then-branch's pointwise write,
// then a transposed read, needs a barrier between them, though the
// else-branch wrote nothing.
// CHECK-LABEL: gpu.func @if_joins
// CHECK: scf.for
// CHECK: scf.if
// CHECK: arith.addf
// CHECK: memref.store %{{.*}} : memref<?xf32>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK: arith.subf
func.func @if_joins(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>},
    %flag: i1) {
  scf.if %flag {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.addf %x, %x : f32
      linalg.yield %y : f32
    }
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.subf %x, %o : f32
    linalg.yield %y : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>

// Every thread loading one element (a norm) after a pointwise op wrote
// it: a barrier first. Writing the buffer again while threads may still
// be loading it: another.
// CHECK-LABEL: gpu.func @uniform_loads
// CHECK: arith.addf
// CHECK: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK-NEXT: %[[NORM:.*]] = memref.load %{{.*}}[%c0, %c0] : memref<?x?xf32>
// CHECK: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK: arith.mulf %{{.*}}, %[[NORM]] : f32
func.func @uniform_loads(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  }
  %norm = memref.load %s[%c0, %c0] : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.mulf %x, %norm : f32
    linalg.yield %y : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Thread 0's store, then every thread reading the buffer pointwise: a
// barrier (a store outside any loop is no pointwise access).
// CHECK-LABEL: gpu.func @thread_zero_store
// CHECK: memref.store %cst, %{{.*}}[%c0, %c0]
// CHECK-NEXT: }
// CHECK-NEXT: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK: arith.addf
func.func @thread_zero_store(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  memref.store %one, %w[%c0, %c0] : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Through a subview the element order is not the buffer's: a pointwise op
// on the subview and one on the whole buffer meet with a barrier.
// CHECK-LABEL: gpu.func @through_a_subview
// CHECK: arith.addf
// CHECK: llvm.call @stepc_grid_barrier({{.*}}) {convergent}
// CHECK: arith.mulf
func.func @through_a_subview(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %w, %c0 : memref<?x?xf32>
  %cols = memref.dim %w, %c1 : memref<?x?xf32>
  %half = arith.divui %cols, %c1 : index
  %part = memref.subview %s[0, 0] [%rows, %half] [1, 1]
      : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1]>>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%part : memref<?x?xf32, strided<[?, 1]>>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.mulf %x, %x : f32
    linalg.yield %y : f32
  }
  return
}
