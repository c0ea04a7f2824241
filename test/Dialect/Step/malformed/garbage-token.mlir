// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A stray character.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}garbage-token.mlir:[[@LINE+1]]:36: error: unexpected character
    step.return %w : tensor<?xf32> $$
  }
}
