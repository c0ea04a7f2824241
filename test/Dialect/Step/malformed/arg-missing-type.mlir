// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An argument without a type.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// CHECK: {{.*}}arg-missing-type.mlir:[[@LINE+1]]:15: error: expected ':'
      param(%w) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}
