// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A signature section written twice.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// Only the location is checked; today: "expected '{' to begin a region", which does not name the cause.
// CHECK: {{.*}}section-repeated.mlir:[[@LINE+1]]:{{[0-9]+}}: error:
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) hyper(%wd : f32) {
    step.return %w : tensor<?xf32>
  }
}
