// RUN: stepc-opt %s --convert-step-to-linalg --split-input-file --verify-diagnostics | FileCheck %s

// EMA + Nesterov: one element-wise generic computes the buffer and the blend.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: step.group @ema_nesterov
// CHECK: %[[R:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ID]], #[[ID]]], iterator_types = ["parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>)
// CHECK: ^bb0(%[[G:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[BETA:.*]] = arith.constant 0.949999988 : f32
// CHECK: %[[BB:.*]] = arith.mulf %[[BETA]], %[[B]]
// CHECK: %[[ONE_MINUS:.*]] = arith.constant 5.000000e-02 : f32
// CHECK: %[[GG:.*]] = arith.mulf %[[ONE_MINUS]], %[[G]]
// CHECK: %[[NEXT:.*]] = arith.addf %[[BB]], %[[GG]]
// CHECK: %[[BLEND_G:.*]] = arith.mulf %{{.*}}, %[[G]]
// CHECK: %[[BLEND_B:.*]] = arith.mulf %{{.*}}, %[[NEXT]]
// CHECK: %[[U:.*]] = arith.addf %[[BLEND_G]], %[[BLEND_B]]
// CHECK: linalg.yield %[[NEXT]], %[[U]] : f32, f32
// CHECK: step.return %{{.*}}, %[[R]]#0
step.optimizer @o {
  step.group @ema_nesterov accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) hyper(%lr : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) nesterov : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// first_step(grad) selects the gradient when t == 1.
// CHECK-LABEL: step.group @first_step
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[FIRST:.*]] = arith.cmpf oeq, %{{.*}}, %[[ONE]] : f32
// CHECK: linalg.generic
// CHECK: ^bb0(%[[G:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[NEXT:.*]] = arith.addf
// CHECK: arith.select %[[FIRST]], %[[G]], %[[NEXT]] : f32
step.optimizer @o {
  step.group @first_step accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%b : tensor<?xf32> = zeros) hyper(%lr : f32) count(%t : f32) {
    %b1, %u = step.momentum heavy_ball %g, %b beta(0.9) first_step(grad) count(%t) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %b1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// A per-row second moment reduces x² over columns, keeps ?x1 and mixes it
// into the state with the mean's 1/n.
// CHECK-DAG: #[[MAT:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: step.group @per_row
// CHECK: %[[SUMS:.*]] = linalg.generic {indexing_maps = [#[[MAT]], #[[ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK: %[[KEEP:.*]] = tensor.expand_shape %[[SUMS]] {{\[\[}}0, 1]] output_shape [%{{.*}}, 1] : tensor<?xf32> into tensor<?x1xf32>
// CHECK: %[[INV:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[KEEP]] : tensor<?x1xf32>, tensor<?x1xf32>)
// CHECK: arith.mulf %{{.*}}, %[[INV]] : f32
step.optimizer @o {
  step.group @per_row accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x1xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.95) reduce(rows) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %w, %v1 : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// Bias correction is computed once per tensor: 1/(1 − β^t) and its square
// root, then captured by the element loop.
// CHECK-LABEL: step.group @adam_denominator
// CHECK: %[[P1:.*]] = math.powf %{{.*}}, %[[T:.*]] : f32
// CHECK: %[[C1:.*]] = arith.subf %{{.*}}, %[[P1]] : f32
// CHECK: %[[INV1:.*]] = arith.divf %{{.*}}, %[[C1]] : f32
// CHECK: math.powf %{{.*}}, %[[T]] : f32
// CHECK: %[[SQ:.*]] = math.sqrt %{{.*}} : f32
// CHECK: linalg.generic
// CHECK: ^bb0(%[[M:.*]]: f32, %[[V:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[NUM:.*]] = arith.mulf %[[M]], %[[INV1]] : f32
// CHECK: %[[ROOT:.*]] = math.sqrt %[[V]] : f32
// CHECK: %[[SCALED:.*]] = arith.mulf %[[ROOT]], %[[SQ]] : f32
// CHECK: %[[DEN:.*]] = arith.addf %[[SCALED]], %{{.*}} : f32
// CHECK: arith.divf %[[NUM]], %[[DEN]] : f32
step.optimizer @o {
  step.group @adam_denominator accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) count(%t) : tensor<?xf32>, tensor<?xf32>
    step.return %d, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// The long-axis layout: the orientation is chosen at run time from the
// shape (rows when m >= n), for the reduction and for its consumer alike.
// CHECK-LABEL: step.group @short_axis
// CHECK: %[[TALL:.*]] = arith.cmpi sge, %{{.*}}, %{{.*}} : index
// CHECK: %[[SUMS:.*]]:2 = scf.if %[[TALL]] -> (tensor<?xf32>, f32) {
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: scf.yield %{{.*}}, %{{.*}} : tensor<?xf32>, f32
// CHECK: } else {
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK: scf.yield %{{.*}}, %{{.*}} : tensor<?xf32>, f32
// CHECK: %[[V:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]} ins(%{{.*}}, %[[SUMS]]#0 : tensor<?xf32>, tensor<?xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SUMS]]#1 : f32
// CHECK: %[[TALL2:.*]] = arith.cmpi sge
// CHECK: scf.if %[[TALL2]] -> (tensor<?x?xf32>) {
// CHECK: tensor.expand_shape %[[V]] {{\[\[}}0, 1]] output_shape [%{{.*}}, 1] : tensor<?xf32> into tensor<?x1xf32>
// CHECK: } else {
// CHECK: tensor.expand_shape %[[V]] {{\[\[}}0, 1]] output_shape [1, %{{.*}}] : tensor<?xf32> into tensor<1x?xf32>
step.optimizer @o {
  step.group @short_axis accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%s : tensor<?xf32> = zeros) {
    %s1 = step.second_moment %g, %s beta(0.95) reduce(short_axis) : tensor<?x?xf32>, tensor<?xf32>
    %d = step.precondition %g, %s1 eps(1.0e-8) : tensor<?x?xf32>, tensor<?xf32>
    step.return %d, %s1 : tensor<?x?xf32>, tensor<?xf32>
  }
}

// -----

// With a static shape the orientation is known: no scf.if, a 64-long state
// of a 64x32 matrix holds the row means.
// CHECK-LABEL: step.group @short_axis_static
// CHECK-NOT: scf.if
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<64x32xf32>) outs(%{{.*}} : tensor<64xf32>)
// CHECK-NOT: scf.if
// CHECK: step.return
step.optimizer @o {
  step.group @short_axis_static accepts(matrix) dtypes(f32)
      param(%w : tensor<64x32xf32>) grad(%g : tensor<64x32xf32>)
      state(%s : tensor<64xf32> = zeros) {
    %s1 = step.second_moment %g, %s beta(0.95) reduce(short_axis) : tensor<64x32xf32>, tensor<64xf32>
    %d = step.precondition %g, %s1 eps(1.0e-8) : tensor<64x32xf32>, tensor<64xf32>
    step.return %d, %s1 : tensor<64x32xf32>, tensor<64xf32>
  }
}
