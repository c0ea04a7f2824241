// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An unknown momentum kind.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
// CHECK: {{.*}}momentum-unknown-kind.mlir:[[@LINE+1]]:29: error: custom op 'step.momentum' expected string or keyword containing one of the following enum values for attribute 'kind' {{\[}}ema, heavy_ball]
    %m1, %u = step.momentum adam %g, %m beta(0.9) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}
