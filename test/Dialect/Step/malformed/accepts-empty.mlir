// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// accepts(...) with no keyword.

step.optimizer @o {
// CHECK: {{.*}}accepts-empty.mlir:[[@LINE+1]]:25: error: custom op 'step.group' expected valid keyword
  step.group @g accepts() dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}
