// RUN: stepc-opt %s --split-input-file --stepc-merge-sibling-reductions | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#all = affine_map<(d0, d1) -> ()>

// REG's row and column norms of one matrix: one op, one sweep. The column
// sum's init (defined between the two) moves up with it; a loop is parallel
// only where both were.
// CHECK-DAG: #map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #map1 = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #map2 = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @row_and_col
// CHECK: %[[RI:.*]] = linalg.fill {{.*}} -> tensor<?xf32>
// CHECK: %[[CI:.*]] = linalg.fill {{.*}} -> tensor<?xf32>
// CHECK: %[[S:.*]]:2 = linalg.generic
// CHECK-SAME: indexing_maps = [#map, #map1, #map2]
// CHECK-SAME: iterator_types = ["reduction", "reduction"]
// CHECK-SAME: ins(%{{.*}} : tensor<?x?xf32>) outs(%[[RI]], %[[CI]] : tensor<?xf32>, tensor<?xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return %[[S]]#0, %[[S]]#1
func.func @row_and_col(%g: tensor<?x?xf32>, %m: index, %n: index) -> (tensor<?xf32>, tensor<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty(%m) : tensor<?xf32>
  %ri = linalg.fill ins(%zero : f32) outs(%re : tensor<?xf32>) -> tensor<?xf32>
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%g : tensor<?x?xf32>) outs(%ri : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq = arith.mulf %x, %x : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %ce = tensor.empty(%n) : tensor<?xf32>
  %ci = linalg.fill ins(%zero : f32) outs(%ce : tensor<?xf32>) -> tensor<?xf32>
  %c = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]} ins(%g : tensor<?x?xf32>) outs(%ci : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq = arith.mulf %x, %x : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %r, %c : tensor<?xf32>, tensor<?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// A reduction that reads what the one before computed (SinkGD's column sum
// weighted by the row scales) must wait for it: two sweeps.
// CHECK-LABEL: func.func @negative_dependent
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.generic
func.func @negative_dependent(%g: tensor<?x?xf32>, %ri: tensor<?xf32>, %ci: tensor<?xf32>) -> tensor<?xf32> {
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%g : tensor<?x?xf32>) outs(%ri : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %c = linalg.generic {indexing_maps = [#id, #row, #col], iterator_types = ["reduction", "parallel"]} ins(%g, %r : tensor<?x?xf32>, tensor<?xf32>) outs(%ci : tensor<?xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %c : tensor<?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
#row = affine_map<(d0, d1) -> (d0)>

// Reductions over different matrices, or over one matrix read in another
// order, are not known to run over the same loops: left apart.
// CHECK-LABEL: func.func @negative_other_loops
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: linalg.generic
func.func @negative_other_loops(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>, %i: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %ra = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<?x?xf32>) outs(%i : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %rb = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%b : tensor<?x?xf32>) outs(%i : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %rt = linalg.generic {indexing_maps = [#t, #row], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<?x?xf32>) outs(%i : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %ra, %rb, %rt : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#all = affine_map<(d0, d1) -> ()>

// Three siblings (row sums of two products and a whole sum, as AdamP's
// norms and dot products) become one op with three results.
// CHECK-LABEL: func.func @three
// CHECK: %[[S:.*]]:3 = linalg.generic
// CHECK-SAME: iterator_types = ["reduction", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
func.func @three(%p: tensor<?x?xf32>, %g: tensor<?x?xf32>, %ri: tensor<?xf32>, %si: tensor<f32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<f32>) {
  %pg = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]} ins(%p, %g : tensor<?x?xf32>, tensor<?x?xf32>) outs(%ri : tensor<?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %xy = arith.mulf %x, %y : f32
    %s = arith.addf %xy, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %pp = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%p : tensor<?x?xf32>) outs(%ri : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %xx = arith.mulf %x, %x : f32
    %s = arith.addf %xx, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %gg = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]} ins(%g : tensor<?x?xf32>) outs(%si : tensor<f32>) {
  ^bb0(%y: f32, %acc: f32):
    %yy = arith.mulf %y, %y : f32
    %s = arith.addf %yy, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %pg, %pp, %gg : tensor<?xf32>, tensor<?xf32>, tensor<f32>
}
