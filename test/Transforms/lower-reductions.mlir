// RUN: stepc-opt %s --split-input-file --stepc-lower-reductions | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// A row sum and a column sum in one sweep: the row sum is loaded before the
// inner loop, carried through it and stored after; the column sum, indexed
// by the inner loop, is loaded and stored in the body.
// CHECK-LABEL: func.func @row_and_col
// CHECK-SAME: (%[[G:.*]]: memref<?x?xf32>, %[[R:.*]]: memref<?xf32>, %[[C:.*]]: memref<?xf32>)
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:   %[[R0:.*]] = memref.load %[[R]][%[[I]]]
// CHECK:   %[[RS:.*]] = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[R0]]) -> (f32) {
// CHECK:     %[[X:.*]] = memref.load %[[G]][%[[I]], %[[J]]]
// CHECK:     %[[C0:.*]] = memref.load %[[C]][%[[J]]]
// CHECK:     %[[SQ:.*]] = arith.mulf %[[X]], %[[X]]
// CHECK:     %[[RN:.*]] = arith.addf %[[SQ]], %[[ACC]]
// CHECK:     %[[CN:.*]] = arith.addf %[[SQ]], %[[C0]]
// CHECK:     memref.store %[[CN]], %[[C]][%[[J]]]
// CHECK:     scf.yield %[[RN]] : f32
// CHECK:   memref.store %[[RS]], %[[R]][%[[I]]]
// CHECK-NOT: linalg.generic
func.func @row_and_col(%g: memref<?x?xf32>, %r: memref<?xf32>, %c: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #col], iterator_types = ["reduction", "reduction"]} ins(%g : memref<?x?xf32>) outs(%r, %c : memref<?xf32>, memref<?xf32>) {
  ^bb0(%x: f32, %racc: f32, %cacc: f32):
    %sq = arith.mulf %x, %x : f32
    %rs = arith.addf %sq, %racc : f32
    %cs = arith.addf %sq, %cacc : f32
    linalg.yield %rs, %cs : f32, f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>

// A whole sum is carried through both loops: loaded once, stored once.
// CHECK-LABEL: func.func @whole
// CHECK-SAME: (%[[G:.*]]: memref<?x?xf32>, %[[S:.*]]: memref<f32>)
// CHECK: %[[S0:.*]] = memref.load %[[S]][]
// CHECK: %[[OUT:.*]] = scf.for %{{.*}} iter_args(%[[A:.*]] = %[[S0]]) -> (f32) {
// CHECK:   %[[IN:.*]] = scf.for %{{.*}} iter_args(%[[B:.*]] = %[[A]]) -> (f32) {
// CHECK:     arith.addf %{{.*}}, %[[B]]
// CHECK:   scf.yield %[[IN]] : f32
// CHECK: memref.store %[[OUT]], %[[S]][]
func.func @whole(%g: memref<?x?xf32>, %s: memref<f32>) {
  linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]} ins(%g : memref<?x?xf32>) outs(%s : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %sum = arith.addf %x, %acc : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// A product in generic form: each result element carried through the k loop.
// CHECK-LABEL: func.func @product
// CHECK: scf.for %[[I:.*]] =
// CHECK:   scf.for %[[J:.*]] =
// CHECK:     %[[C0:.*]] = memref.load %{{.*}}[%[[I]], %[[J]]]
// CHECK:     %[[SUM:.*]] = scf.for %{{.*}} iter_args(%{{.*}} = %[[C0]]) -> (f32) {
// CHECK:     memref.store %[[SUM]], %{{.*}}[%[[I]], %[[J]]]
func.func @product(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Left to convert-linalg-to-loops: element-wise ops, ops that read their
// indices, ops still on tensors.
// CHECK-LABEL: func.func @negative
// CHECK-COUNT-3: linalg.generic
func.func @negative(%g: memref<?x?xf32>, %r: memref<?xf32>, %t: tensor<?x?xf32>, %tr: tensor<?xf32>) -> tensor<?xf32> {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%g : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %d = arith.addf %x, %x : f32
    linalg.yield %d : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%g : memref<?x?xf32>) outs(%r : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i32
    %jf = arith.sitofp %ji : i32 to f32
    %p = arith.mulf %x, %jf : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  %tt = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%t : tensor<?x?xf32>) outs(%tr : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %tt : tensor<?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// A column sum weighted by a row scale: the scale is loaded once per row,
// before the inner loop, where the sum's stores cannot be taken to change
// it.
// CHECK-LABEL: func.func @row_scale
// CHECK-SAME: (%[[G:.*]]: memref<?x?xf32>, %[[R:.*]]: memref<?xf32>, %[[C:.*]]: memref<?xf32>)
// CHECK: scf.for %[[I:.*]] =
// CHECK:   %[[W:.*]] = memref.load %[[R]][%[[I]]]
// CHECK:   scf.for %[[J:.*]] =
// CHECK-NOT: memref.load %[[R]]
// CHECK:     arith.mulf %{{.*}}, %[[W]]
func.func @row_scale(%g: memref<?x?xf32>, %r: memref<?xf32>, %c: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #col], iterator_types = ["reduction", "parallel"]} ins(%g, %r : memref<?x?xf32>, memref<?xf32>) outs(%c : memref<?xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}
