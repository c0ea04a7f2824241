// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// One SSA name for two arguments.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// CHECK: {{.*}}arg-name-twice.mlir:[[@LINE+1]]:38: error: region entry argument '%w' is already in use
      param(%w : tensor<?xf32>) grad(%w : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}
