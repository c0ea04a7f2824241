// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An op the step dialect does not define (generic syntax).

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}unknown-op-generic.mlir:[[@LINE+1]]:10: error: unregistered operation 'step.frobnicate' found in dialect ('step') that does not allow unknown operations
    %x = "step.frobnicate"(%g) : (tensor<?xf32>) -> tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}
