// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An unknown initial value in the #step.state attribute.

// CHECK: {{.*}}state-attr-unknown-init.mlir:[[@LINE+1]]:50: error: unknown state initial value 'randn'; expected zeros, ones, constant(v), param_norm or identity
step.optimizer @o attributes {init = #step.state<randn>} {
}
