// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels=batch-same-shapes=false --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels="batch-same-shapes=false vector-elementwise=false" --canonicalize --cse | FileCheck %s --check-prefix=SCALAR

// Element-wise ops in groups (docs/Design/GpuKernels.md, "Element-wise
// ops in groups"): thread t takes the groups of four consecutive points
// t, t + threads, ...; a group's accesses are vectors when the innermost
// size is a multiple of four and the buffers it reaches at consecutive
// elements are aligned to the group's bytes, else its points run one by
// one. Without vectors (SCALAR) the groups stay, so that a thread touches
// the same elements either way.

// Every buffer in its own row-major order: one loop over the flat views.
// The grad is unscaled lane by lane; the bf16 state is 8 bytes a group.
// CHECK-LABEL: gpu.func @pointwise
// CHECK-DAG: %[[G:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<?x?xf32> into memref<?xf32>
// CHECK-DAG: %[[M:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<?x?xbf16> into memref<?xbf16>
// CHECK: %[[N:.*]] = memref.dim %[[G]], %c0 : memref<?xf32>
// CHECK-NEXT: %[[REM:.*]] = arith.remui %[[N]], %c4 : index
// CHECK-NEXT: %[[WHOLE:.*]] = arith.cmpi eq, %[[REM]], %c0 : index
// CHECK-NEXT: %[[GAT:.*]] = memref.extract_aligned_pointer_as_index %[[G]]
// CHECK-NEXT: %[[GLOW:.*]] = arith.andi %[[GAT]], %c15 : index
// CHECK: %[[MAT:.*]] = memref.extract_aligned_pointer_as_index %[[M]]
// CHECK-NEXT: %{{.*}} = arith.andi %[[MAT]], %c7 : index
// CHECK: %[[FIRST:.*]] = arith.muli %{{.*}}, %c4 : index
// CHECK-NEXT: %[[STEP:.*]] = arith.muli %{{.*}}, %c4 : index
// CHECK-NEXT: scf.if %[[FITS:.*]] {
// CHECK-NEXT: scf.for %[[AT:.*]] = %[[FIRST]] to %[[N]] step %[[STEP]] {
// CHECK-NEXT: %[[GV:.*]] = vector.load %[[G]][%[[AT]]] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK-NEXT: %[[G0:.*]] = vector.extract %[[GV]][0] : f32 from vector<4xf32>
// CHECK-NEXT: %[[U0:.*]] = arith.divf %[[G0]], %[[SCALE:.*]] : f32
// CHECK: vector.load %[[M]][%[[AT]]] {alignment = 8 : i64} : memref<?xbf16>, vector<4xbf16>
// CHECK: %[[S0:.*]] = arith.addf %[[U0]], %{{.*}} : f32
// CHECK: %[[W:.*]] = vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-NEXT: vector.store %[[W]], %{{.*}}[%[[AT]]] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: } else {
// CHECK-NEXT: scf.for %[[AT1:.*]] = %[[FIRST]] to %[[N]] step %[[STEP]] {
// CHECK-NEXT: %[[PAST:.*]] = arith.addi %[[AT1]], %c4 : index
// CHECK-NEXT: %[[END:.*]] = arith.minui %[[PAST]], %[[N]] : index
// CHECK-NEXT: scf.for %[[E:.*]] = %[[AT1]] to %[[END]] step %c1 {
// CHECK: memref.load %[[G]][%[[E]]] : memref<?xf32>
// CHECK-NEXT: arith.divf %{{.*}}, %[[SCALE]] : f32
// CHECK: memref.store %{{.*}}[%[[E]]] : memref<?xf32>
// SCALAR-LABEL: gpu.func @pointwise
// SCALAR-NOT: vector.
// SCALAR: %[[FIRST:.*]] = arith.muli %{{.*}}, %c4 : index
// SCALAR-NEXT: %[[STEP:.*]] = arith.muli %{{.*}}, %c4 : index
// SCALAR-NEXT: scf.for %[[AT:.*]] = %[[FIRST]] to %{{.*}} step %[[STEP]] {
// SCALAR-NOT: vector.
// SCALAR: gpu.return
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

func.func @pointwise(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>},
    %m: memref<?x?xbf16> {stepc.param_dims = array<i64: 0, 1>}) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %m : memref<?x?xf32>, memref<?x?xbf16>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: bf16, %o: f32):
    %e = arith.extf %y : bf16 to f32
    %s = arith.addf %x, %e : f32
    %r = arith.subf %o, %s : f32
    linalg.yield %r : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// A row's and a column's values beside the matrix's: not one order, so
// the loop carries the group's row and column (digits of the stride, a
// carry from the column to the row). The column's values and the matrix's
// are vectors, which the row length must divide; the row's value is one
// load for the group.
// CHECK-LABEL: gpu.func @row_and_column
// CHECK: %[[ROWS:.*]] = memref.dim %[[R:.*]], %c0 : memref<?xf32>
// CHECK-NEXT: %[[COLS:.*]] = memref.dim %[[C:.*]], %c0 : memref<?xf32>
// CHECK-NEXT: %[[REM:.*]] = arith.remui %[[COLS]], %c4 : index
// CHECK: scf.if
// CHECK: %[[COLS1:.*]] = arith.maxui %[[COLS]], %c1 : index
// CHECK-NEXT: %[[COL0:.*]] = arith.remui %[[FIRST:.*]], %[[COLS1]] : index
// CHECK-NEXT: %[[ROW0:.*]] = arith.divui %[[FIRST]], %[[COLS1]] : index
// CHECK-NEXT: %[[DCOL:.*]] = arith.remui %[[STEP:.*]], %[[COLS1]] : index
// CHECK-NEXT: %[[DROW:.*]] = arith.divui %[[STEP]], %[[COLS1]] : index
// CHECK-NEXT: scf.for %{{.*}} = %[[FIRST]] to %{{.*}} step %[[STEP]] iter_args(%[[ROW:.*]] = %[[ROW0]], %[[COL:.*]] = %[[COL0]]) -> (index, index) {
// CHECK-NEXT: %[[RV:.*]] = memref.load %[[R]][%[[ROW]]] : memref<?xf32>
// CHECK-NEXT: vector.load %[[C]][%[[COL]]] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK: vector.load %{{.*}}[%[[ROW]], %[[COL]]] {alignment = 16 : i64} : memref<?x?xf32>, vector<4xf32>
// CHECK: arith.mulf %[[RV]], %{{.*}} : f32
// CHECK: vector.store %{{.*}}[%[[ROW]], %[[COL]]] {alignment = 16 : i64}
// CHECK-NEXT: %[[NEXTCOL:.*]] = arith.addi %[[COL]], %[[DCOL]] : index
// CHECK-NEXT: %[[WRAPS:.*]] = arith.cmpi uge, %[[NEXTCOL]], %[[COLS]] : index
// CHECK-NEXT: %[[WRAPPED:.*]] = arith.subi %[[NEXTCOL]], %[[COLS]] : index
// CHECK-NEXT: %[[COL1:.*]] = arith.select %[[WRAPS]], %[[WRAPPED]], %[[NEXTCOL]] : index
// CHECK-NEXT: %[[CARRY:.*]] = arith.select %[[WRAPS]], %c1, %c0 : index
// CHECK-NEXT: %[[NEXTROW:.*]] = arith.addi %[[ROW]], %[[DROW]] : index
// CHECK-NEXT: %[[ROW1:.*]] = arith.addi %[[NEXTROW]], %[[CARRY]] : index
// CHECK-NEXT: scf.yield %[[ROW1]], %[[COL1]] : index, index
// Points one by one: each advances the column by one, with its carry.
// CHECK: } else {
// CHECK: scf.for
// CHECK: scf.for %{{.*}} = %[[GROUP:.*]] to %{{.*}} step %c1 iter_args(%[[PROW:.*]] = %{{.*}}, %[[PCOL:.*]] = %{{.*}}) -> (index, index) {
// CHECK: memref.load %[[R]][%[[PROW]]] : memref<?xf32>
// CHECK: %[[NEXT:.*]] = arith.addi %[[PCOL]], %c1 : index
// CHECK-NEXT: arith.cmpi uge, %[[NEXT]], %[[COLS]] : index
func.func @row_and_column(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %r: memref<?xf32> {stepc.param_dims = array<i64: 0>},
    %c: memref<?xf32> {stepc.param_dims = array<i64: 1>}) {
  linalg.generic {indexing_maps = [#row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %c : memref<?xf32>, memref<?xf32>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %d = arith.mulf %x, %y : f32
    %q = arith.divf %o, %d : f32
    linalg.yield %q : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// A transposed read: a load per lane, the matrix written as a vector.
// CHECK-LABEL: gpu.func @transposed
// CHECK: scf.if
// CHECK: scf.for
// CHECK-COUNT-4: memref.load %{{.*}} : memref<?x?xf32>
// CHECK-NOT: memref.load
// CHECK: vector.load
// CHECK: vector.store
func.func @transposed(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 0>}) {
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %o : f32
    linalg.yield %y : f32
  }
  return
}
