// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An optimizer without a body.

// CHECK: {{.*}}optimizer-missing-region.mlir:[[@LINE+1]]:29: error: expected '{' to begin a region
step.optimizer @o version(1)
