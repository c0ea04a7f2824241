// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels=batch-same-shapes=false --canonicalize --cse | FileCheck %s --check-prefix=ALONE

// Same-shape tensors in batches (docs/Design/Batching.md). The kernel
// reads the cap the runtime leaves after the schedule, takes each run of
// same-dims positions up to it as a batch, and runs every op with work
// once per member inside one phase: a split reduction's partials for
// every member (each in its own place), one barrier, then every member's
// fold; the norm read back from the member's own buffer before the ops
// that use it; the iterate's two buffers chosen per member by an i1 the
// Newton–Schulz loop carries; the product's tiles rotated by member.
// Without batches (ALONE) the positions are stepped one by one.
#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>
#none = affine_map<() -> ()>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// Muon's shape, small: a Frobenius norm (a split reduction), X rounded to
// bf16 after scaling by it, then a loop of products whose update rewrites
// bf16(X) in place (an iterate in two buffers).
func.func @batched(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %sq: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  %one = arith.constant 1.0 : f32
  %sum = memref.alloc() : memref<f32>
  linalg.generic {indexing_maps = [#none, #none], iterator_types = []}
      ins(%zero : f32) outs(%sum : memref<f32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#id, #scalar], iterator_types = ["reduction", "reduction"]}
      ins(%w : memref<?x?xf32>) outs(%sum : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq2 = arith.mulf %x, %x : f32
    %s = arith.addf %sq2, %acc fastmath<reassoc> : f32
    linalg.yield %s : f32
  }
  %total = memref.load %sum[] : memref<f32>
  %norm = math.sqrt %total : f32
  %inv = arith.divf %one, %norm : f32
  %xb = memref.alloc(%m, %n) : memref<?x?xbf16>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%xb : memref<?x?xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %y = arith.mulf %x, %inv : f32
    %r = arith.truncf %y : f32 to bf16
    linalg.yield %r : bf16
  }
  scf.for %i = %c0 to %c3 step %c1 {
    %pb = memref.alloc(%m, %m) : memref<?x?xbf16>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%sq : memref<?x?xf32>) outs(%pb : memref<?x?xbf16>) {
    ^bb0(%x: f32, %o: bf16):
      %r = arith.truncf %x : f32 to bf16
      linalg.yield %r : bf16
    }
    %px = memref.alloc(%m, %n) : memref<?x?xf32>
    linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
        ins(%zero : f32) outs(%px : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      linalg.yield %x : f32
    }
    linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%pb, %xb : memref<?x?xbf16>, memref<?x?xbf16>) outs(%px : memref<?x?xf32>) {
    ^bb0(%a: bf16, %b: bf16, %acc: f32):
      %fa = arith.extf %a : bf16 to f32
      %fb = arith.extf %b : bf16 to f32
      %p = arith.mulf %fa, %fb : f32
      %s = arith.addf %p, %acc : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%px : memref<?x?xf32>) outs(%w, %xb : memref<?x?xf32>, memref<?x?xbf16>) {
    ^bb0(%p: f32, %x: f32, %o: bf16):
      %ax = arith.mulf %x, %two : f32
      %y = arith.addf %ax, %p : f32
      %r = arith.truncf %y : f32 to bf16
      linalg.yield %y, %r : f32, bf16
    }
  }
  return
}

// CHECK-LABEL: gpu.func @batched(
// The cap: after 4-word records, S + 1 starts and a position per tensor.
// CHECK: %[[CAP:.*]] = scf.if %{{.*}} -> (index) {
// CHECK: arith.maxui %{{.*}}, %c1 : index
// CHECK: scf.while (%[[FIRST:.*]] = %{{.*}}) : (index) -> index {
// CHECK: %[[MEMBERS:.*]] = scf.while (%[[COUNT:.*]] = %c1) : (index) -> index {
// CHECK: arith.cmpi ult, %[[COUNT]], %[[CAP]] : index
// CHECK: scf.condition
// The fill of the sum, once per member.
// CHECK: scf.for %{{.*}} = %c0 to %[[MEMBERS]] step %c1 {
// CHECK: llvm.call @stepc_grid_barrier
// Every member's partials, one barrier, every member's fold.
// CHECK-NEXT: scf.for %{{.*}} = %c0 to %[[MEMBERS]] step %c1 {
// CHECK: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<1>
// CHECK: llvm.call @stepc_grid_barrier
// CHECK-NEXT: scf.for %{{.*}} = %c0 to %[[MEMBERS]] step %c1 {
// CHECK: gpu.shuffle xor
// CHECK: llvm.call @stepc_grid_barrier
// The rounding reads the member's own norm.
// CHECK-NEXT: scf.for %{{.*}} = %c0 to %[[MEMBERS]] step %c1 {
// CHECK: memref.load %{{.*}}[] : memref<f32>
// CHECK: math.sqrt
// CHECK: arith.divf
// CHECK: arith.truncf
// The loop carries which buffer holds bf16(X).
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args(%[[SWAPPED:.*]] = %false) -> (i1) {
// CHECK: scf.for %[[MEMBER:.*]] = %c0 to %[[MEMBERS]] step %c1 {
// CHECK: %[[READ:.*]] = arith.select %[[SWAPPED]], %{{.*}}, %{{.*}} : memref<?x?xbf16>
// CHECK: %[[WRITTEN:.*]] = arith.select %[[SWAPPED]], %{{.*}}, %{{.*}} : memref<?x?xbf16>
// The member's tiles start where the earlier members' left off.
// CHECK: %[[SHIFT:.*]] = arith.muli %[[MEMBER]], %[[TILES:.*]] : index
// CHECK: arith.remui %[[SHIFT]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[TILES]] step
// CHECK: arith.xori %[[SWAPPED]], %true : i1
// CHECK: arith.addi %[[FIRST]], %[[MEMBERS]] : index

// ALONE-LABEL: gpu.func @batched(
// ALONE-NOT: scf.while
// ALONE: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (memref<?x?xbf16>, memref<?x?xbf16>) {
