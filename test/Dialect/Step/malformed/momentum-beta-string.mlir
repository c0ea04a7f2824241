// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A string where a number belongs.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
// CHECK: {{.*}}momentum-beta-string.mlir:[[@LINE+1]]:45: error: expected floating point literal
    %m1, %u = step.momentum ema %g, %m beta("high") : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}
