// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// An unknown transpose rule.

step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
// CHECK: {{.*}}newton-schulz-unknown-transpose.mlir:[[@LINE+1]]:102: error: custom op 'step.newton_schulz' expected string or keyword containing one of the following enum values for attribute 'transpose' {{\[}}smaller_gram, none]
    %o = step.newton_schulz %g steps(5) coefficients([3.4445, -4.775, 2.0315]) eps(1.0e-7) transpose(always) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}
