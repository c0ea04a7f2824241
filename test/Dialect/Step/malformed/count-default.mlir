// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// The step count takes no default.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// Only the location is checked; today: "expected ')'".
// CHECK: {{.*}}count-default.mlir:[[@LINE+1]]:{{[0-9]+}}: error:
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) count(%t : f32 = 1.0) {
    step.return %w : tensor<?xf32>
  }
}
