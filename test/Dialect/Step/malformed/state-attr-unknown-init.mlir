// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An unknown initial value in the #step.state attribute.

// CHECK: {{.*}}state-attr-unknown-init.mlir:[[@LINE+1]]:50: error: unknown state initial value 'randn'; expected zeros, ones, constant(v) or param_norm
step.optimizer @o attributes {init = #step.state<randn>} {
}
