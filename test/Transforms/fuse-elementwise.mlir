// RUN: stepc-opt %s --split-input-file --stepc-fuse-elementwise --cse | FileCheck %s

#id = affine_map<(d0) -> (d0)>

// Two producers with two uses each (stored and read by the consumer) and the
// consumer become one loop with three results; inputs read once.
// CHECK-LABEL: func.func @adam_like
// CHECK: %[[R:.*]]:3 = linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]#{{[0-9]}}, %[[R]]#{{[0-9]}}, %[[R]]#{{[0-9]}}
func.func @adam_like(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>, %v: tensor<?xf32>, %n: index) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %e = tensor.empty(%n) : tensor<?xf32>
  %m1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%g, %m : tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %v1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%g, %v : tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.mulf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %p1 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel"]} ins(%p, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %d = arith.divf %b, %c : f32
    %s = arith.subf %a, %d : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %p1, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

/// Loops over different iteration spaces (their inits have different
/// sizes) stay apart.
// CHECK-LABEL: func.func @negative_different_domains
// CHECK-COUNT-2: linalg.generic
func.func @negative_different_domains(%a: tensor<?xf32>, %b: tensor<?xf32>, %n: index, %k: index) -> (tensor<?xf32>, tensor<?xf32>) {
  %e1 = tensor.empty(%n) : tensor<?xf32>
  %e2 = tensor.empty(%k) : tensor<?xf32>
  %x = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<?xf32>) outs(%e1 : tensor<?xf32>) {
  ^bb0(%i: f32, %o: f32):
    linalg.yield %i : f32
  } -> tensor<?xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%b : tensor<?xf32>) outs(%e2 : tensor<?xf32>) {
  ^bb0(%i: f32, %o: f32):
    linalg.yield %i : f32
  } -> tensor<?xf32>
  return %x, %y : tensor<?xf32>, tensor<?xf32>
}

// -----

/// A reduction is not element-wise: it ends a phase and does not merge.
// CHECK-LABEL: func.func @negative_reduction
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: iterator_types = ["parallel", "parallel"]
func.func @negative_reduction(%x: tensor<4x8xf32>, %acc: tensor<4xf32>, %e: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<4x8xf32>) {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %i, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.mulf %i, %i : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r, %y : tensor<4xf32>, tensor<4x8xf32>
}
