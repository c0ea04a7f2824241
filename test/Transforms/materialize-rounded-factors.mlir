// RUN: stepc-opt %s --split-input-file --stepc-materialize-rounded-factors | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// Newton–Schulz's third product, P·X with P = b·A + c·A² rounded to bf16
// at every point. P is computed once, over its own two dims, into a bf16
// tensor the product reads; the product keeps X's rounding, and reads
// neither A nor A² any more.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[IK:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[KJ:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @third_product
// CHECK-SAME: (%[[X:.+]]: tensor<?x?xf32>, %[[A:.+]]: tensor<?x?xf32>, %[[A2:.+]]: tensor<?x?xf32>, %[[INIT:.+]]: tensor<?x?xf32>)
// CHECK: %[[M:.+]] = tensor.dim %[[A]], %c0
// CHECK: %[[K:.+]] = tensor.dim %[[A]], %c1
// CHECK: %[[E:.+]] = tensor.empty(%[[M]], %[[K]]) : tensor<?x?xbf16>
// CHECK: %[[P:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[A2]] : tensor<?x?xf32>, tensor<?x?xf32>) outs(%[[E]] : tensor<?x?xbf16>)
// CHECK: %[[BA:.+]] = arith.mulf
// CHECK: %[[CA2:.+]] = arith.mulf
// CHECK: %[[SUM:.+]] = arith.addf %[[BA]], %[[CA2]] : f32
// CHECK: %[[R:.+]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK: linalg.yield %[[R]] : bf16
// CHECK: linalg.generic {indexing_maps = [#[[KJ]], #[[IK]], #{{.+}}], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[P]] : tensor<?x?xf32>, tensor<?x?xbf16>) outs(%[[INIT]] : tensor<?x?xf32>)
// CHECK-NEXT: ^bb0(%[[XI:.+]]: f32, %[[PI:.+]]: bf16, %[[O:.+]]: f32):
// CHECK-NEXT: %[[PE:.+]] = arith.extf %[[PI]] : bf16 to f32
// CHECK-NEXT: %[[XB:.+]] = arith.truncf %[[XI]] : f32 to bf16
// CHECK-NEXT: %[[XE:.+]] = arith.extf %[[XB]] : bf16 to f32
// CHECK-NEXT: %[[PROD:.+]] = arith.mulf %[[PE]], %[[XE]] : f32
// CHECK-NEXT: %[[ACC:.+]] = arith.addf %[[PROD]], %[[O]] : f32
// CHECK-NEXT: linalg.yield %[[ACC]] : f32
func.func @third_product(%x: tensor<?x?xf32>, %a: tensor<?x?xf32>, %a2: tensor<?x?xf32>, %init: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %b = arith.constant -4.775 : f32
  %c = arith.constant 2.0315 : f32
  %r = linalg.generic {indexing_maps = [#lhs, #lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %a2, %x : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%ai: f32, %a2i: f32, %xi: f32, %o: f32):
    %xb = arith.truncf %xi : f32 to bf16
    %xe = arith.extf %xb : bf16 to f32
    %ba = arith.mulf %ai, %b : f32
    %ca2 = arith.mulf %a2i, %c : f32
    %sum = arith.addf %ba, %ca2 : f32
    %pb = arith.truncf %sum : f32 to bf16
    %pe = arith.extf %pb : bf16 to f32
    %prod = arith.mulf %pe, %xe : f32
    %acc = arith.addf %prod, %o : f32
    linalg.yield %acc : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhsT = affine_map<(d0, d1, d2) -> (d2, d1)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// The Gram rounds each factor from one tensor, X: computing it apart
// would save no reads. Left alone.
// CHECK-LABEL: func.func @gram
// CHECK-NOT: tensor.empty
// CHECK: linalg.generic {{.*}} ins(%{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
func.func @gram(%x: tensor<?x?xf32>, %init: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %r = linalg.generic {indexing_maps = [#lhs, #rhsT, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %qb = arith.truncf %q : f32 to bf16
    %qe = arith.extf %qb : bf16 to f32
    %pb = arith.truncf %p : f32 to bf16
    %pe = arith.extf %pb : bf16 to f32
    %prod = arith.mulf %pe, %qe : f32
    %acc = arith.addf %prod, %o : f32
    linalg.yield %acc : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// The same third product computed in f32 (compute(f32)): its factor is
// not rounded, so there is no bf16 tensor to compute it into. Left alone.
// CHECK-LABEL: func.func @unrounded
// CHECK-NOT: tensor.empty
// CHECK: linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
func.func @unrounded(%x: tensor<?x?xf32>, %a: tensor<?x?xf32>, %a2: tensor<?x?xf32>, %init: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %b = arith.constant -4.775 : f32
  %c = arith.constant 2.0315 : f32
  %r = linalg.generic {indexing_maps = [#lhs, #lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %a2, %x : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%ai: f32, %a2i: f32, %xi: f32, %o: f32):
    %ba = arith.mulf %ai, %b : f32
    %ca2 = arith.mulf %a2i, %c : f32
    %sum = arith.addf %ba, %ca2 : f32
    %prod = arith.mulf %sum, %xi : f32
    %acc = arith.addf %prod, %o : f32
    linalg.yield %acc : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhsT = affine_map<(d0, d1, d2) -> (d2, d1)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// Newton–Schulz's loop, reduced to the Gram and the update: the iterate X
// is read rounded on both sides of the Gram and yielded by a pointwise
// update. The loop carries bf16(X) beside X: the update yields it as a
// second result, written into the carried tensor, and the Gram reads it.
// The first value is rounded where it is computed: the scaling before
// the loop yields it as a second result.
// CHECK-LABEL: func.func @iterate
// CHECK: %[[FIRST:.+]]:2 = linalg.generic {{.*}} outs(%{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x?xbf16>)
// CHECK: arith.truncf %{{.+}} : f32 to bf16
// CHECK: %[[LOOP:.+]]:2 = scf.for {{.*}} iter_args(%[[X:.+]] = %[[FIRST]]#0, %[[XB:.+]] = %[[FIRST]]#1) -> (tensor<?x?xf32>, tensor<?x?xbf16>)
// CHECK: %[[GRAM:.+]] = linalg.generic {{.*}} ins(%[[XB]], %[[XB]] : tensor<?x?xbf16>, tensor<?x?xbf16>)
// CHECK-NEXT: ^bb0(%{{.+}}: bf16, %{{.+}}: bf16, %{{.+}}: f32):
// CHECK-NOT: arith.truncf
// CHECK: %[[NEXT:.+]]:2 = linalg.generic {{.*}} ins(%[[GRAM]] : tensor<?x?xf32>) outs(%[[X]], %[[XB]] : tensor<?x?xf32>, tensor<?x?xbf16>)
// CHECK: %[[SUM:.+]] = arith.addf
// CHECK-NEXT: %[[R:.+]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK-NEXT: linalg.yield %[[SUM]], %[[R]] : f32, bf16
// CHECK: scf.yield %[[NEXT]]#0, %[[NEXT]]#1
// CHECK: return %[[LOOP]]#0
func.func @iterate(%g: tensor<?x?xf32>, %init: tensor<?x?xf32>, %n: index) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %s = arith.constant 0.5 : f32
  %e = tensor.empty(%n, %n) : tensor<?x?xf32>
  %x0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%g : tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %scaled = arith.mulf %v, %s : f32
    linalg.yield %scaled : f32
  } -> tensor<?x?xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%x = %x0) -> (tensor<?x?xf32>) {
    %a = linalg.generic {indexing_maps = [#lhs, #rhsT, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
    ^bb0(%p: f32, %q: f32, %o: f32):
      %qb = arith.truncf %q : f32 to bf16
      %qe = arith.extf %qb : bf16 to f32
      %pb = arith.truncf %p : f32 to bf16
      %pe = arith.extf %pb : bf16 to f32
      %prod = arith.mulf %pe, %qe : f32
      %acc = arith.addf %prod, %o : f32
      linalg.yield %acc : f32
    } -> tensor<?x?xf32>
    %next = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<?x?xf32>) outs(%x : tensor<?x?xf32>) {
    ^bb0(%v: f32, %o: f32):
      %sum = arith.addf %v, %o : f32
      linalg.yield %sum : f32
    } -> tensor<?x?xf32>
    scf.yield %next : tensor<?x?xf32>
  }
  return %r : tensor<?x?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhsT = affine_map<(d0, d1, d2) -> (d2, d1)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// A tall matrix's iterate starts transposed, from an scf.if. Each branch
// rounds its own value: the transposed copy, generalized, yields the
// rounding as a second result; the function argument, which nothing
// computes here, is rounded in a pass of its own in its branch.
// CHECK-LABEL: func.func @iterate_from_if
// CHECK: %[[IF:.+]]:2 = scf.if %{{.+}} -> (tensor<?x?xf32>, tensor<?x?xbf16>)
// CHECK: %[[T:.+]]:2 = linalg.generic {{.*}} ins(%{{.+}} : tensor<?x?xf32>) outs(%{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x?xbf16>)
// CHECK: scf.yield %[[T]]#0, %[[T]]#1
// CHECK: } else {
// CHECK: %[[R:.+]] = linalg.generic {{.*}} ins(%[[G:.+]] : tensor<?x?xf32>) outs(%{{.+}} : tensor<?x?xbf16>)
// CHECK: scf.yield %[[G]], %[[R]]
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %[[IF]]#0, %{{.+}} = %[[IF]]#1)
func.func @iterate_from_if(%g: tensor<?x?xf32>, %init: tensor<?x?xf32>, %tall: i1, %n: index) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %x0 = scf.if %tall -> (tensor<?x?xf32>) {
    %e = tensor.empty(%n, %n) : tensor<?x?xf32>
    %t = linalg.transpose ins(%g : tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) permutation = [1, 0]
    scf.yield %t : tensor<?x?xf32>
  } else {
    scf.yield %g : tensor<?x?xf32>
  }
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%x = %x0) -> (tensor<?x?xf32>) {
    %a = linalg.generic {indexing_maps = [#lhs, #rhsT, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
    ^bb0(%p: f32, %q: f32, %o: f32):
      %qb = arith.truncf %q : f32 to bf16
      %qe = arith.extf %qb : bf16 to f32
      %pb = arith.truncf %p : f32 to bf16
      %pe = arith.extf %pb : bf16 to f32
      %prod = arith.mulf %pe, %qe : f32
      %acc = arith.addf %prod, %o : f32
      linalg.yield %acc : f32
    } -> tensor<?x?xf32>
    %next = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<?x?xf32>) outs(%x : tensor<?x?xf32>) {
    ^bb0(%v: f32, %o: f32):
      %sum = arith.addf %v, %o : f32
      linalg.yield %sum : f32
    } -> tensor<?x?xf32>
    scf.yield %next : tensor<?x?xf32>
  }
  return %r : tensor<?x?xf32>
}

// -----

#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhsT = affine_map<(d0, d1, d2) -> (d2, d1)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// An iterate that the loop yields straight from a product: there is no
// pointwise op to round it as well, so the Gram keeps rounding it.
// CHECK-LABEL: func.func @iterate_from_product
// CHECK-NOT: bf16>
// CHECK: scf.for {{.*}} -> (tensor<?x?xf32>)
// CHECK-NOT: bf16>
// CHECK: return
func.func @iterate_from_product(%x0: tensor<?x?xf32>, %init: tensor<?x?xf32>, %n: index) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%x = %x0) -> (tensor<?x?xf32>) {
    %a = linalg.generic {indexing_maps = [#lhs, #rhsT, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
    ^bb0(%p: f32, %q: f32, %o: f32):
      %qb = arith.truncf %q : f32 to bf16
      %qe = arith.extf %qb : bf16 to f32
      %pb = arith.truncf %p : f32 to bf16
      %pe = arith.extf %pb : bf16 to f32
      %prod = arith.mulf %pe, %qe : f32
      %acc = arith.addf %prod, %o : f32
      linalg.yield %acc : f32
    } -> tensor<?x?xf32>
    scf.yield %a : tensor<?x?xf32>
  }
  return %r : tensor<?x?xf32>
}

// -----

#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d2, d1)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// The Gram A, then A² reading A rounded on both sides: A is rounded once,
// right after the Gram (where the phased kernels make the rounding the
// Gram's epilogue), and A² reads the bf16 tensor with its own two maps.
// CHECK-DAG: #[[IK:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[KJ:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @gram_then_square
// CHECK: %[[A:.+]] = linalg.generic
// CHECK: %[[E:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?xbf16>
// CHECK-NEXT: %[[AB:.+]] = linalg.generic {{.*}} ins(%[[A]] : tensor<?x?xf32>) outs(%[[E]] : tensor<?x?xbf16>)
// CHECK: arith.truncf %{{.+}} : f32 to bf16
// CHECK: linalg.generic {indexing_maps = [#[[IK]], #[[KJ]], #{{.+}}], {{.*}} ins(%[[AB]], %[[AB]] : tensor<?x?xbf16>, tensor<?x?xbf16>)
// CHECK-NOT: arith.truncf
// CHECK: return
func.func @gram_then_square(%x: tensor<?x?xf32>, %init: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %a = linalg.generic {indexing_maps = [#lhs, #rhsT, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %qb = arith.truncf %q : f32 to bf16
    %qe = arith.extf %qb : bf16 to f32
    %pb = arith.truncf %p : f32 to bf16
    %pe = arith.extf %pb : bf16 to f32
    %prod = arith.mulf %pe, %qe : f32
    %acc = arith.addf %prod, %o : f32
    linalg.yield %acc : f32
  } -> tensor<?x?xf32>
  %a2 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %a : tensor<?x?xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %qb = arith.truncf %q : f32 to bf16
    %qe = arith.extf %qb : bf16 to f32
    %pb = arith.truncf %p : f32 to bf16
    %pe = arith.extf %pb : bf16 to f32
    %prod = arith.mulf %pe, %qe : f32
    %acc = arith.addf %prod, %o : f32
    linalg.yield %acc : f32
  } -> tensor<?x?xf32>
  return %a2 : tensor<?x?xf32>
}
