// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// accepts(...) takes any or matrix.

step.optimizer @o {
// CHECK: {{.*}}accepts-vector.mlir:[[@LINE+1]]:25: error: custom op 'step.group' a group accepts 'any' or 'matrix', not 'vector'
  step.group @g accepts(vector) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}
