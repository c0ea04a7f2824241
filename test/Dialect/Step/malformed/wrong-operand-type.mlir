// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An operand whose type differs from the one written.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
// CHECK: {{.*}}wrong-operand-type.mlir:[[@LINE+1]]:22: error: use of value '%w' expects different type than prior uses: 'tensor<?x?xf32>' vs 'tensor<?xf32>'
    %w1 = step.apply %w, %g lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}
