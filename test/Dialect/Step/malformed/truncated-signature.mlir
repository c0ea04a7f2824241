// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// Input cut off inside a group signature.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
// CHECK: {{.*}}truncated-signature.mlir:[[@LINE+1]]:27: error: expected non-function type
      param(%w : tensor<?xf