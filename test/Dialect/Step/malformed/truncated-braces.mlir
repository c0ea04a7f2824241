// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// Input cut off before the closing braces.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}truncated-braces.mlir:[[@LINE+1]]:35: error: expected operation name in quotes
    step.return %w : tensor<?xf32>
