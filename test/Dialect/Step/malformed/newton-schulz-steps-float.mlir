// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A fractional step count.

step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
// CHECK: {{.*}}newton-schulz-steps-float.mlir:[[@LINE+1]]:41: error: floating point value not valid for specified type
    %o = step.newton_schulz %g steps(2.5) coefficients([3.4445, -4.775, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}
