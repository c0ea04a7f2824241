// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// Coefficients not written as a list.

step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
// CHECK: {{.*}}newton-schulz-coefficients-not-list.mlir:[[@LINE+1]]:54: error: expected '{{\[}}'
    %o = step.newton_schulz %g steps(5) coefficients(3.4445) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}
