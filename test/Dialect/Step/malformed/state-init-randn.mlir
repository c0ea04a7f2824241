// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An unknown state initial value.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
// CHECK: {{.*}}state-init-randn.mlir:[[@LINE+1]]:34: error: custom op 'step.group' unknown state initial value 'randn'; expected zeros, ones, constant(v), param_norm or identity
      state(%m : tensor<?xf32> = randn) {
    step.return %w, %m : tensor<?xf32>, tensor<?xf32>
  }
}
