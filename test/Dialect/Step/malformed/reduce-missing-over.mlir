// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A reduce without over(...).

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}reduce-missing-over.mlir:[[@LINE+1]]:29: error: custom op 'step.reduce' expected 'over'
    %r = step.reduce sum %g : tensor<?xf32> -> tensor<f32>
    step.return %w : tensor<?xf32>
  }
}
