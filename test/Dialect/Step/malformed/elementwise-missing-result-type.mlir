// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An elementwise op without a result type.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}elementwise-missing-result-type.mlir:[[@LINE+1]]:53: error: expected non-function type
    %s = step.elementwise ins(%g : tensor<?xf32>) -> {
    ^bb0(%x: f32):
      step.yield %x : f32
    }
    step.return %w : tensor<?xf32>
  }
}
