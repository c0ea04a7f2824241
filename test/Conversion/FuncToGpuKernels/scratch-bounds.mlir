// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels=batch-same-shapes=false | FileCheck %s
// One tensor at a time (batch-same-shapes=false): batches.mlir checks the
// batched form (docs/Design/Batching.md).

// The scratch a phased kernel's buffers need per tensor, as the postfix
// program the runtime evaluates (rt::evaluateSizeProgram). A buffer whose dims
// come from an scf.if on a comparison of the param's dims takes the
// branch's own dims (ifgt: a b then otherwise); an if on anything else
// takes the larger of the two.

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// A matrix transposed when it is tall (a cols x rows buffer), then the
// Gram of whichever is wide: min(rows, cols)^2, not max(rows, cols)^2.
// CHECK: transpose_then_gram = {partials = 0 : i64, scratch = "0 4 cols mul rows mul align add 4 rows cols cols rows ifgt mul rows cols cols rows ifgt mul align add", work =
func.func @transpose_then_gram(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %w, %c0 : memref<?x?xf32>
  %cols = memref.dim %w, %c1 : memref<?x?xf32>
  %tall = arith.cmpi ugt, %rows, %cols : index
  %x = scf.if %tall -> (memref<?x?xf32>) {
    %t = memref.alloc(%cols, %rows) : memref<?x?xf32>
    linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
        ins(%w : memref<?x?xf32>) outs(%t : memref<?x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    }
    scf.yield %t : memref<?x?xf32>
  } else {
    scf.yield %w : memref<?x?xf32>
  }
  %n = memref.dim %x, %c0 : memref<?x?xf32>
  %gram = memref.alloc(%n, %n) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%gram : memref<?x?xf32>) outs(%gram : memref<?x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

// An if on a loaded value: the larger branch.
// CHECK: on_a_value = {partials = 0 : i64, scratch = "0 4 rows cols max mul align add", work =
func.func @on_a_value(
    %w: memref<?xf32> {stepc.param_dims = array<i64: 0>},
    %v: memref<?xf32> {stepc.param_dims = array<i64: 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %first = memref.load %w[%c0] : memref<?xf32>
  %positive = arith.cmpf ogt, %first, %zero : f32
  %x = scf.if %positive -> (memref<?xf32>) {
    scf.yield %w : memref<?xf32>
  } else {
    scf.yield %v : memref<?xf32>
  }
  %n = memref.dim %x, %c0 : memref<?xf32>
  %copy = memref.alloc(%n) : memref<?xf32>
  memref.copy %x, %copy : memref<?xf32> to memref<?xf32>
  return
}
