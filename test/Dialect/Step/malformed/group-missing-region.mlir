// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A group without a body.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// CHECK: {{.*}}group-missing-region.mlir:[[@LINE+1]]:57: error: expected '{' to begin a region
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
}
