// RUN: stepc-opt --stepc-clip-grad-norm="max-norm=0.5" --split-input-file --verify-diagnostics %s | FileCheck %s

// Every group gains the hyper max_grad_norm (after its hypers, before its
// inputs and count), sums its squared gradient into "grad_sq", and every
// op that read the gradient reads G · min(1, max / (sqrt(total) + 1e-6));
// a sum that read the gradient now reads the clipped one (a later phase).
// CHECK-LABEL: step.optimizer @two
// CHECK: step.group @a
// CHECK: hyper(%lr : f32 = 0.001, %max_grad_norm : f32 = 0.5) input(%loss : f32) count(%t : f32) {
// CHECK-NEXT: %[[SQ:.*]] = step.reduce sum_sq %g over(all)
// CHECK-NEXT: %[[TOTAL:.*]] = step.global_sum "grad_sq" %[[SQ]]
// CHECK-NEXT: %[[GC:.*]] = step.elementwise ins(%g, %[[TOTAL]], %max_grad_norm : tensor<?xf32>, f32, f32) -> tensor<?xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[S:.*]]: f32, %[[LIMIT:.*]]: f32):
// CHECK-NEXT: %[[NORM:.*]] = math.sqrt %[[S]] : f32
// CHECK-NEXT: %[[EPS:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK-NEXT: %[[DEN:.*]] = arith.addf %[[NORM]], %[[EPS]] : f32
// CHECK-NEXT: %[[COEF:.*]] = arith.divf %[[LIMIT]], %[[DEN]] : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[MIN:.*]] = arith.minimumf %[[COEF]], %[[ONE]] : f32
// CHECK-NEXT: %[[Y:.*]] = arith.mulf %[[X]], %[[MIN]] : f32
// CHECK-NEXT: step.yield %[[Y]] : f32
// CHECK: %[[DOT:.*]] = step.reduce dot %w, %[[GC]] over(all)
// CHECK: step.global_sum "w_dot_g" %[[DOT]]
// CHECK: step.elementwise ins(%w, %[[GC]], {{.*}})
// CHECK-NOT: %g
// CHECK: step.group @b
// CHECK: hyper(%max_grad_norm : f32 = 0.5) input(%loss : f32) {
// CHECK: step.global_sum "grad_sq"
step.optimizer @two {
  step.group @a accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      hyper(%lr : f32 = 1.0e-3) input(%loss : f32) count(%t : f32) {
    %dot = step.reduce dot %w, %g over(all)
        : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    %s = step.global_sum "w_dot_g" %dot : tensor<f32>
    %w1 = step.elementwise ins(%w, %g, %s, %lr, %loss, %t
                               : tensor<?xf32>, tensor<?xf32>, f32, f32, f32, f32)
        -> tensor<?xf32> {
    ^bb0(%x: f32, %y: f32, %a: f32, %l: f32, %f: f32, %c: f32):
      %d = arith.mulf %y, %a : f32
      %e = arith.mulf %d, %l : f32
      %e2 = arith.mulf %e, %f : f32
      %e3 = arith.mulf %e2, %c : f32
      %r = arith.subf %x, %e3 : f32
      step.yield %r : f32
    }
    step.return %w1 : tensor<?xf32>
  }
  step.group @b accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) input(%loss : f32) {
    %dot = step.reduce dot %w, %g over(all)
        : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    %s = step.global_sum "w_dot_g" %dot : tensor<f32>
    %w1 = step.elementwise ins(%w, %g, %s, %loss
                               : tensor<?xf32>, tensor<?xf32>, f32, f32)
        -> tensor<?xf32> {
    ^bb0(%x: f32, %y: f32, %a: f32, %f: f32):
      %d = arith.mulf %y, %a : f32
      %e = arith.mulf %d, %f : f32
      %r = arith.subf %x, %e : f32
      step.yield %r : f32
    }
    step.return %w1 : tensor<?xf32>
  }
}

// -----

step.optimizer @taken {
  // expected-error @+1 {{already has a hyper 'max_grad_norm'; it cannot take gradient clipping}}
  step.group @a accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      hyper(%max_grad_norm : f32 = 1.0) {
    %w1 = step.apply %w, %g lr(%max_grad_norm : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

step.optimizer @clipped {
  step.group @a accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    // expected-error @+1 {{already sums 'grad_sq'; the group cannot take gradient clipping}}
    %total = step.global_sum "grad_sq" %sq : tensor<f32>
    %w1 = step.elementwise ins(%w, %total : tensor<?xf32>, f32) -> tensor<?xf32> {
    ^bb0(%x: f32, %s: f32):
      %r = arith.subf %x, %s : f32
      step.yield %r : f32
    }
    step.return %w1 : tensor<?xf32>
  }
}
