// RUN: stepc-opt %s -canonicalize -split-input-file | FileCheck %s

// Two constant scales become one whose factor is the product.
// CHECK-LABEL: step.group @scale_of_constant_scale
// CHECK: %[[S:.*]] = step.scale %{{.*}} shape(keller) : tensor<?x?xf32>
// CHECK-NOT: step.scale
// CHECK: step.return %[[S]]
step.optimizer @o {
  step.group @scale_of_constant_scale accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %a = step.scale %g factor(0.5) shape(keller) : tensor<?x?xf32>
    %b = step.scale %a factor(2.0) : tensor<?x?xf32>
    step.return %b : tensor<?x?xf32>
  }
}

// -----

// The outer constant folds into a dynamic inner scale (NorMuon's Frobenius
// restore followed by Keller's shape factor).
// CHECK-LABEL: step.group @constant_into_restore
// CHECK: step.scale %{{.*}} factor(0.2) shape(sqrt_max_dim) restore(%{{.*}} : tensor<?x?xf32>) norm(frobenius)
// CHECK-NOT: step.scale
step.optimizer @o {
  step.group @constant_into_restore accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %a = step.scale %g restore(%w : tensor<?x?xf32>) norm(frobenius) : tensor<?x?xf32>
    %b = step.scale %a factor(0.2) shape(sqrt_max_dim) : tensor<?x?xf32>
    step.return %b : tensor<?x?xf32>
  }
}

// -----

// A scale by exactly one is the identity.
// CHECK-LABEL: step.group @unit_scale
// CHECK-NOT: step.scale
// CHECK: step.return %{{.*}} : tensor<?xf32>
step.optimizer @o {
  step.group @unit_scale accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %a = step.scale %g factor(1.0) : tensor<?xf32>
    step.return %a : tensor<?xf32>
  }
}

// -----

/// Two shape rules cannot merge into one enum value: both scales stay.
// CHECK-LABEL: step.group @negative_two_shape_rules
// CHECK: step.scale %{{.*}} shape(keller)
// CHECK: step.scale %{{.*}} shape(sqrt_max_dim)
step.optimizer @o {
  step.group @negative_two_shape_rules accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %a = step.scale %g shape(keller) : tensor<?x?xf32>
    %b = step.scale %a shape(sqrt_max_dim) : tensor<?x?xf32>
    step.return %b : tensor<?x?xf32>
  }
}

// -----

/// The inner scale has a second use, so folding would compute it twice.
// CHECK-LABEL: step.group @negative_shared_inner
// CHECK: %[[A:.*]] = step.scale %{{.*}} factor(0.5)
// CHECK: step.scale %[[A]] factor(2.0)
step.optimizer @o {
  step.group @negative_shared_inner accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    %a = step.scale %g factor(0.5) : tensor<?xf32>
    %b = step.scale %a factor(2.0) : tensor<?xf32>
    %w1 = step.apply %w, %a lr(%lr : f32) : tensor<?xf32>
    %w2 = step.apply %w1, %b lr(%lr : f32) : tensor<?xf32>
    step.return %w2 : tensor<?xf32>
  }
}

// -----

/// An outer scale that is itself dynamic does not fold.
// CHECK-LABEL: step.group @negative_dynamic_outer
// CHECK: step.scale %{{.*}} factor(0.5)
// CHECK: step.scale %{{.*}} norm(rms)
step.optimizer @o {
  step.group @negative_dynamic_outer accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %a = step.scale %g factor(0.5) : tensor<?xf32>
    %b = step.scale %a norm(rms) : tensor<?xf32>
    step.return %b : tensor<?xf32>
  }
}
