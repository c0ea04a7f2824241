// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An elementwise op without a body.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
// CHECK: {{.*}}elementwise-missing-region.mlir:[[@LINE+1]]:67: error: expected '{' to begin a region
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}
