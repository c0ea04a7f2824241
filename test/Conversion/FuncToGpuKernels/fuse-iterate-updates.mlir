// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels=batch-same-shapes=false --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels="fuse-iterate-updates=false batch-same-shapes=false" --canonicalize --cse | FileCheck %s --check-prefix=OFF
// One tensor at a time (batch-same-shapes=false): batches.mlir checks the
// batched form (docs/Design/Batching.md).

#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// Newton–Schulz's shape: the loop carries X in f32 and bf16(X) (%xb);
// P·X reads bf16(X) and the update rewrites both in place. With a second
// buffer for bf16(X), the update is P·X's epilogue: the emitted loop
// carries the two buffers, P·X reads the first, the update writes the
// second with no barrier between them, and the yield swaps them. (Here the
// loop's barrier count stays 2, as P's rounding must wait for the P·X
// before it; in Muon, where the Gram reads bf16(X), it drops from 4 to 3
// per iteration: test/GPU/barriers-on-host.test.)
// CHECK-LABEL: gpu.func @update_in_epilogue
// CHECK: %{{.*}}:2 = scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args(%[[READ:.*]] = %{{.*}}, %[[WRITE:.*]] = %{{.*}}) -> (memref<?x?xbf16>, memref<?x?xbf16>) {
// CHECK: llvm.call @stepc_grid_barrier
// CHECK: llvm.call @stepc_grid_barrier
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: nvvm.mma.sync
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: memref.store %{{.*}}, %[[WRITE]]
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: scf.yield %[[WRITE]], %[[READ]] : memref<?x?xbf16>, memref<?x?xbf16>
// Without the option the update is a phase of its own, after a barrier.
// OFF-LABEL: gpu.func @update_in_epilogue
// OFF: scf.for %{{.*}} = %c0 to %c3 step %c1 {
// OFF: nvvm.mma.sync
// OFF: llvm.call @stepc_grid_barrier
// OFF-NEXT: memref.collapse_shape
// OFF: arith.truncf
func.func @update_in_epilogue(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %sq: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  %xb = memref.alloc(%m, %n) : memref<?x?xbf16>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%xb : memref<?x?xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %r = arith.truncf %x : f32 to bf16
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
