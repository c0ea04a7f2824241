// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An attribute the step dialect does not define.

// CHECK: {{.*}}attr-unknown-mnemonic.mlir:[[@LINE+1]]:44: error: unknown attribute `frob` in dialect `step`
step.optimizer @o attributes {init = #step.frob<zeros>} {
}
