// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// constant without its (v).

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
// CHECK: {{.*}}state-constant-no-value.mlir:[[@LINE+1]]:42: error: expected '('
      state(%m : tensor<?xf32> = constant) {
    step.return %w, %m : tensor<?xf32>, tensor<?xf32>
  }
}
