// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An optimizer without a name.

// CHECK: {{.*}}missing-symbol.mlir:[[@LINE+1]]:16: error: custom op 'step.optimizer' expected valid '@'-identifier for symbol name
step.optimizer {
}
