// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An op the step dialect does not define (custom syntax).

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}unknown-op.mlir:[[@LINE+1]]:10: error: custom op 'step.frobnicate' is unknown
    %x = step.frobnicate %g : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}
