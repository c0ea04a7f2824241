// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A use of an undefined value.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}undefined-value.mlir:[[@LINE+1]]:26: error: use of undeclared SSA value name
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}
