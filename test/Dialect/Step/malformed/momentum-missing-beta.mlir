// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A momentum without beta(...).

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
// CHECK: {{.*}}momentum-missing-beta.mlir:[[@LINE+1]]:40: error: custom op 'step.momentum' expected 'beta'
    %m1, %u = step.momentum ema %g, %m : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}
