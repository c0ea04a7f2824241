// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A hyper default that is not a number.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// CHECK: {{.*}}hyper-default-keyword.mlir:[[@LINE+1]]:76: error: expected floating point literal
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32 = zeros) {
    step.return %w : tensor<?xf32>
  }
}
