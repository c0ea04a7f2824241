// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// Input cut off inside an op.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
// CHECK: {{.*}}truncated-op.mlir:[[@LINE+1]]:47: error: expected ')'
    %m1, %u = step.momentum ema %g, %m beta(0.9