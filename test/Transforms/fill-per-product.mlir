// RUN: stepc-opt %s --split-input-file --stepc-fill-per-product | FileCheck %s

#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// Newton–Schulz's Gram and A² after CSE: two products that start from one
// zero fill. The second gets a fill of its own, just before it.
// CHECK-LABEL: func.func @two_products
// CHECK: %[[E:.+]] = tensor.empty
// CHECK-NEXT: %[[F:.+]] = linalg.fill ins(%[[ZERO:.+]] : f32) outs(%[[E]] :
// CHECK-NEXT: %[[A:.+]] = linalg.generic {{.*}} outs(%[[F]] :
// CHECK: %[[E2:.+]] = tensor.empty
// CHECK-NEXT: %[[F2:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E2]] :
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[A]], %[[A]] : {{.*}}) outs(%[[F2]] :
func.func @two_products(%x: tensor<?x?xf32>, %m: index) -> tensor<?x?xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m, %m) : tensor<?x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %a = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%f : tensor<?x?xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %t = arith.mulf %p, %q : f32
    %s = arith.addf %t, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %a2 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %a : tensor<?x?xf32>, tensor<?x?xf32>) outs(%f : tensor<?x?xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %t = arith.mulf %p, %q : f32
    %s = arith.addf %t, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %a2 : tensor<?x?xf32>
}

// -----

#x = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Row sums sharing a fill keep sharing it: a fill just before a row sum
// would cost a grid barrier between the two.
// CHECK-LABEL: func.func @negative_row_sums
// CHECK-COUNT-1: linalg.fill
// CHECK-NOT: linalg.fill
func.func @negative_row_sums(%x: tensor<?x?xf32>, %y: tensor<?x?xf32>, %m: index) -> (tensor<?xf32>, tensor<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %r = linalg.generic {indexing_maps = [#x, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<?x?xf32>) outs(%f : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %r2 = linalg.generic {indexing_maps = [#x, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<?x?xf32>) outs(%f : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %r, %r2 : tensor<?xf32>, tensor<?xf32>
}
