// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// store without parentheses.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
// CHECK: {{.*}}state-store-no-parens.mlir:[[@LINE+1]]:45: error: expected '('
      state(%m : tensor<?xf32> = zeros store bf16) {
    step.return %w, %m : tensor<?xf32>, tensor<?xf32>
  }
}
