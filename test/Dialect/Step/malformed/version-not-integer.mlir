// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A spec version that is not a number.

// CHECK: {{.*}}version-not-integer.mlir:[[@LINE+1]]:27: error: expected attribute value
step.optimizer @o version(one) {
}
