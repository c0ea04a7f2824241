// RUN: stepc-opt %s --stepc-sink-select-operands --split-input-file | FileCheck %s

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>

// MuonMax's stale nuclear norm: the reduction (and the loop it reads) only
// runs on the first step; the stale value needs nothing. The condition and
// what the rest of the function reads stay outside.
// CHECK-LABEL: func.func @first_step_only
// CHECK: %[[FIRST:.*]] = arith.cmpf oeq
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}}iterator_types = ["parallel"]
// CHECK: %[[R:.*]] = scf.if %[[FIRST]] -> (f32) {
// CHECK:   linalg.generic {{.*}}ins(%[[SQ]] : tensor<?xf32>)
// CHECK:   %[[NOW:.*]] = tensor.extract
// CHECK:   scf.yield %[[NOW]] : f32
// CHECK: } else {
// CHECK:   scf.yield %{{.*}} : f32
// CHECK: }
// CHECK-NOT: arith.select
// CHECK: return %[[R]], %[[SQ]]
func.func @first_step_only(%x: tensor<?xf32>, %t: f32, %last: f32) -> (f32, tensor<?xf32>) {
  %one = arith.constant 1.0 : f32
  %first = arith.cmpf oeq, %t, %one : f32
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.mulf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.from_elements %zero : tensor<f32>
  %sum = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]} ins(%sq : tensor<?xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %now = tensor.extract %sum[] : tensor<f32>
  %r = arith.select %first, %now, %last : f32
  return %r, %sq : f32, tensor<?xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>

// An operand that something else also reads, and selects of a few scalar
// ops, are left alone: a branch would save no loop.
// CHECK-LABEL: func.func @nothing_to_save
// CHECK-NOT: scf.if
// CHECK: arith.select
// CHECK: arith.select
func.func @nothing_to_save(%x: tensor<?xf32>, %c: i1, %a: f32) -> (f32, f32, f32) {
  %zero = arith.constant 0.0 : f32
  %init = tensor.from_elements %zero : tensor<f32>
  %sum = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]} ins(%x : tensor<?xf32>) outs(%init : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %now = tensor.extract %sum[] : tensor<f32>
  %shared = arith.select %c, %now, %a : f32
  %b = arith.mulf %a, %a : f32
  %scalar = arith.select %c, %b, %a : f32
  return %shared, %scalar, %now : f32, f32, f32
}

// -----

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>

// A chain whose ops read each other (as Newton–Schulz's iterations do)
// moves whole, whatever order the reduction lists its inputs in.
// CHECK-LABEL: func.func @chain
// CHECK-NEXT: scf.if
// CHECK-COUNT-3: linalg.generic
// CHECK: } else {
func.func @chain(%x: tensor<?xf32>, %c: i1, %last: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.mulf %v, %v : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %v : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.from_elements %zero : tensor<f32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction"]} ins(%b, %a : tensor<?xf32>, tensor<?xf32>) outs(%init : tensor<f32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %p = arith.mulf %u, %v : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %now = tensor.extract %sum[] : tensor<f32>
  %r = arith.select %c, %now, %last : f32
  return %r : f32
}
