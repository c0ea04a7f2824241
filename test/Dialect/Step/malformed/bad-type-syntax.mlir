// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A type that does not exist.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// CHECK: {{.*}}bad-type-syntax.mlir:[[@LINE+1]]:69: error: expected non-function type
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : float) {
    step.return %w : tensor<?xf32>
  }
}
