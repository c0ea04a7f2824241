// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A state without `= init`.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
// CHECK: {{.*}}state-init-missing.mlir:[[@LINE+1]]:31: error: expected '='
      state(%m : tensor<?xf32>) {
    step.return %w, %m : tensor<?xf32>, tensor<?xf32>
  }
}
