// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels | FileCheck %s

// What stepping one tensor costs, the compiler's estimate that the runtime
// deals tensors to sub-grids by (docs/Design/SubGrids.md, "Balancing the
// sub-grids"), as a postfix program over the param's dims: every linalg
// op's and copy's iterations, a loop's body times its trip count, an
// scf.if on the dims its own branch's, any other the larger branch's.

#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(i, j, k) -> (i, k)>
#rhs = affine_map<(i, j, k) -> (j, k)>
#out = affine_map<(i, j, k) -> (i, j)>

// A Gram (rows x rows x cols iterations) in a loop of 5, then a copy of
// the param (rows x cols).
// CHECK-LABEL: gram_five_times = {
// CHECK-SAME: work = "5 rows rows mul cols mul mul rows cols mul add"
func.func @gram_five_times(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %rows = memref.dim %w, %c0 : memref<?x?xf32>
  %cols = memref.dim %w, %c1 : memref<?x?xf32>
  %gram = memref.alloc(%rows, %rows) : memref<?x?xf32>
  scf.for %i = %c0 to %c5 step %c1 {
    linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%w, %w : memref<?x?xf32>, memref<?x?xf32>)
        outs(%gram : memref<?x?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  %copy = memref.alloc(%rows, %cols) : memref<?x?xf32>
  memref.copy %w, %copy : memref<?x?xf32> to memref<?x?xf32>
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// A loop up to a dim runs at most that many times: a bound.
// CHECK-LABEL: loop_to_a_dim = {
// CHECK-SAME: work = "rows rows cols mul mul"
func.func @loop_to_a_dim(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %w, %c0 : memref<?x?xf32>
  scf.for %i = %c0 to %rows step %c1 {
    linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
        outs(%w : memref<?x?xf32>) {
    ^bb0(%o: f32):
      %d = arith.addf %o, %o : f32
      linalg.yield %d : f32
    }
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// A tall matrix is transposed (rows x cols iterations), a wide one not:
// ifgt picks the branch by the dims.
// CHECK-LABEL: transposed_when_tall = {
// CHECK-SAME: work = "rows cols cols rows mul 0 ifgt"
func.func @transposed_when_tall(
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
  return
}

// -----

// An scf.if on a value: the larger branch's (here the copy's rows x cols,
// against nothing).
// CHECK-LABEL: if_on_a_value = {
// CHECK-SAME: work = "rows cols mul 0 max"
func.func @if_on_a_value(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %first = memref.load %g[%c0, %c0] : memref<?x?xf32>
  %positive = arith.cmpf ogt, %first, %zero : f32
  scf.if %positive {
    memref.copy %g, %w : memref<?x?xf32> to memref<?x?xf32>
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// A loop whose trip count has no bound by the dims (it starts at 1 and
// ends at a dim): the estimate falls back to the param's elements.
// CHECK-LABEL: unbounded_loop = {
// CHECK-SAME: work = "rows cols mul"
func.func @unbounded_loop(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %w, %c0 : memref<?x?xf32>
  scf.for %i = %c1 to %rows step %c1 {
    linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
        outs(%w : memref<?x?xf32>) {
    ^bb0(%o: f32):
      %d = arith.addf %o, %o : f32
      linalg.yield %d : f32
    }
  }
  return
}
