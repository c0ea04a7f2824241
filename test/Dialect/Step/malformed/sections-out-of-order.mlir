// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// Signature sections out of order (grad before param).

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// Only the location is checked; today: "expected '{' to begin a region", which does not name the cause.
// CHECK: {{.*}}sections-out-of-order.mlir:[[@LINE+1]]:{{[0-9]+}}: error:
      grad(%g : tensor<?xf32>) param(%w : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}
