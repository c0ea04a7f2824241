// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A group without dtypes(...).

step.optimizer @o {
  step.group @g accepts(any)
// CHECK: {{.*}}missing-dtypes.mlir:[[@LINE+1]]:7: error: custom op 'step.group' expected 'dtypes'
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}
