// RUN: stepc-opt %s --split-input-file --stepc-fuse-elementwise="materialize-stored=true" --cse | FileCheck %s
// RUN: stepc-opt %s --split-input-file --stepc-fuse-elementwise --cse | FileCheck %s --check-prefix=RECOMPUTE

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// REG's shape: a momentum from (g, m), stored, read by a row sum, a column
// sum and the update. Computed once, each of the three reads 4 bytes an
// element less (the stored value instead of g and m): 12 saved against 8
// for the momentum's own loop.
// CHECK-LABEL: func.func @stored_and_reduced_twice
// CHECK: %[[M1:.*]] = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[M1]] : tensor<?x?xf32>)
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["reduction", "parallel"]
// CHECK-SAME: ins(%[[M1]] : tensor<?x?xf32>)
// CHECK: %[[W1:.*]] = linalg.generic
// CHECK-SAME: ins(%[[M1]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>)
// CHECK: return %[[W1]], %[[M1]]
// RECOMPUTE-LABEL: func.func @stored_and_reduced_twice
// RECOMPUTE: linalg.generic
// RECOMPUTE-SAME: iterator_types = ["parallel", "reduction"]
// RECOMPUTE-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// RECOMPUTE: linalg.generic
// RECOMPUTE-SAME: iterator_types = ["reduction", "parallel"]
// RECOMPUTE-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// RECOMPUTE: %[[R:.*]]:2 = linalg.generic
// RECOMPUTE: return %[[R]]#{{[01]}}, %[[R]]#{{[01]}}
func.func @stored_and_reduced_twice(%w: tensor<?x?xf32>, %g: tensor<?x?xf32>, %m: tensor<?x?xf32>, %r: index, %c: index) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%r, %c) : tensor<?x?xf32>
  %m1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%g, %m : tensor<?x?xf32>, tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %er = tensor.empty(%r) : tensor<?xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %rows = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%m1 : tensor<?x?xf32>) outs(%zr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %ec = tensor.empty(%c) : tensor<?xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<?xf32>) -> tensor<?xf32>
  %cols = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]} ins(%m1 : tensor<?x?xf32>) outs(%zc : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %w1 = linalg.generic {indexing_maps = [#id, #row, #col, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%m1, %rows, %cols, %w : tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %x: f32, %y: f32, %p: f32, %o: f32):
    %d = arith.mulf %x, %y : f32
    %u = arith.divf %a, %d : f32
    %s = arith.subf %p, %u : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %w1, %m1 : tensor<?x?xf32>, tensor<?x?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// One reduction: computed once saves 4 bytes an element in the reduction
// and 4 in the update, against 8 for the momentum's own loop. Recomputed.
// CHECK-LABEL: func.func @stored_and_reduced_once
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK: %[[R:.*]]:2 = linalg.generic
// CHECK: return %[[R]]#{{[01]}}, %[[R]]#{{[01]}}
func.func @stored_and_reduced_once(%w: tensor<?x?xf32>, %g: tensor<?x?xf32>, %m: tensor<?x?xf32>, %r: index, %c: index) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%r, %c) : tensor<?x?xf32>
  %m1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%g, %m : tensor<?x?xf32>, tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %er = tensor.empty(%r) : tensor<?xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %rows = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%m1 : tensor<?x?xf32>) outs(%zr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %w1 = linalg.generic {indexing_maps = [#id, #row, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%m1, %rows, %w : tensor<?x?xf32>, tensor<?xf32>, tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %x: f32, %p: f32, %o: f32):
    %u = arith.divf %a, %x : f32
    %s = arith.subf %p, %u : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %w1, %m1 : tensor<?x?xf32>, tensor<?x?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Not stored: computed once it would need a buffer of its own. Recomputed
// in both reductions and the update.
// CHECK-LABEL: func.func @not_stored
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK: %[[W1:.*]] = linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return %[[W1]] :
func.func @not_stored(%w: tensor<?x?xf32>, %g: tensor<?x?xf32>, %m: tensor<?x?xf32>, %r: index, %c: index) -> tensor<?x?xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%r, %c) : tensor<?x?xf32>
  %m1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%g, %m : tensor<?x?xf32>, tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %er = tensor.empty(%r) : tensor<?xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %rows = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%m1 : tensor<?x?xf32>) outs(%zr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %ec = tensor.empty(%c) : tensor<?xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<?xf32>) -> tensor<?xf32>
  %cols = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]} ins(%m1 : tensor<?x?xf32>) outs(%zc : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %w1 = linalg.generic {indexing_maps = [#id, #row, #col, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%m1, %rows, %cols, %w : tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %x: f32, %y: f32, %p: f32, %o: f32):
    %d = arith.mulf %x, %y : f32
    %u = arith.divf %a, %d : f32
    %s = arith.subf %p, %u : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %w1 : tensor<?x?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Stored as the group functions store a new state: into the caller's
// buffer, with no element-wise consumer to store it otherwise, so its own
// loop costs nothing and any byte saved counts. A bf16 gradient widened by
// its own loop, which fuses into the momentum.
// CHECK-LABEL: func.func @stored_in_destination
// CHECK: %[[M1:.*]] = linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<?x?xbf16>, tensor<?x?xf32>)
// CHECK-COUNT-3: ins(%[[M1]]
// CHECK: bufferization.materialize_in_destination %[[M1]] in restrict writable %arg1
func.func @stored_in_destination(%gb: tensor<?x?xbf16>, %state: memref<?x?xf32>, %r: index, %c: index) -> (tensor<f32>, tensor<?xf32>, tensor<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %m = bufferization.to_tensor %state restrict writable : memref<?x?xf32> to tensor<?x?xf32>
  %e = tensor.empty(%r, %c) : tensor<?x?xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%gb : tensor<?x?xbf16>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: bf16, %o: f32):
    %x = arith.extf %a : bf16 to f32
    linalg.yield %x : f32
  } -> tensor<?x?xf32>
  %m1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%g, %m : tensor<?x?xf32>, tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %er = tensor.empty(%r) : tensor<?xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %rows = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%m1 : tensor<?x?xf32>) outs(%zr : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %ec = tensor.empty(%c) : tensor<?xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<?xf32>) -> tensor<?xf32>
  %cols = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]} ins(%m1 : tensor<?x?xf32>) outs(%zc : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %sum = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%m1 : tensor<?x?xf32>) outs(%z0 : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  bufferization.materialize_in_destination %m1 in restrict writable %state : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return %sum, %rows, %cols : tensor<f32>, tensor<?xf32>, tensor<?xf32>
}
