// RUN: stepc-opt %s --split-input-file --stepc-fold-normalization-chains | FileCheck %s

// Rows to √n (ε clamped), then columns to 1 (ε added): G² is summed along
// the rows; the row scale is √n / max(norm, ε), or 1 where the sum is 0;
// the column sums weigh G² by the row scale squared; the column scale is
// 1 / (norm + ε); the result is G · r · c.
// CHECK-LABEL: step.group @chain
// CHECK-NEXT: grad(%[[G:[a-z0-9_]+]]
// CHECK: %[[SQ:.+]] = step.elementwise ins(%[[G]] : tensor<?x?xf32>)
// CHECK: arith.mulf %[[X:.+]], %[[X]] : f32
// CHECK: %[[RS:.+]] = step.reduce sum %[[SQ]] over(rows)
// CHECK: %[[N:.+]] = step.reduce numel %[[G]] over(rows)
// CHECK: %[[T:.+]] = step.elementwise ins(%[[N]] : tensor<?x1xf32>)
// CHECK: math.sqrt
// CHECK: %[[R:.+]] = step.elementwise ins(%[[RS]], %[[T]] : tensor<?x1xf32>, tensor<?x1xf32>) -> tensor<?x1xf32> {
// CHECK-NEXT: ^bb0(%[[S:.+]]: f32, %[[TV:.+]]: f32):
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[NORM:.+]] = math.sqrt %[[S]] : f32
// CHECK-DAG: %[[EPS:.+]] = arith.constant 9.99999993E-9 : f32
// CHECK: %[[D:.+]] = arith.maximumf %[[NORM]], %[[EPS]] : f32
// CHECK: %[[F:.+]] = arith.divf %[[TV]], %[[D]] : f32
// CHECK: %[[NEW:.+]] = arith.mulf %[[ONE]], %[[F]] : f32
// CHECK: %[[Z:.+]] = arith.cmpf oeq, %[[S]], %{{.+}} : f32
// CHECK: %[[SEL:.+]] = arith.select %[[Z]], %[[ONE]], %[[NEW]] : f32
// CHECK: step.yield %[[SEL]]
// CHECK: %[[W:.+]] = step.elementwise ins(%[[SQ]], %[[R]] : tensor<?x?xf32>, tensor<?x1xf32>)
// CHECK: %[[CS:.+]] = step.reduce sum %[[W]] over(cols)
// CHECK-NOT: step.reduce numel
// CHECK: %[[C:.+]] = step.elementwise ins(%[[CS]] : tensor<1x?xf32>) -> tensor<1x?xf32>
// CHECK: arith.addf
// CHECK: %[[OUT:.+]] = step.elementwise ins(%[[G]], %[[R]], %[[C]] : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>) -> tensor<?x?xf32>
// CHECK-NOT: step.normalize
// CHECK: step.return %[[OUT]]
step.optimizer @o {
  step.group @chain accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %r = step.normalize_rows %g target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %c = step.normalize_cols %r eps(1.0e-3) : tensor<?x?xf32>
    step.return %c : tensor<?x?xf32>
  }
}

// -----

// Left alone: a single normalization, a chain whose middle result has
// another use, p = 1, power 0.5 and a target from the whole matrix.
// CHECK-LABEL: step.group @unfolded
// CHECK-NOT: step.reduce
// CHECK-COUNT-9: step.normalize_
// CHECK-NOT: step.normalize_
step.optimizer @o {
  step.group @unfolded accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %single = step.normalize_rows %g eps(1.0e-8) : tensor<?x?xf32>
    %r = step.normalize_rows %single p(1.0) eps(1.0e-8) : tensor<?x?xf32>
    %shared = step.normalize_rows %g eps(1.0e-8) : tensor<?x?xf32>
    %c = step.normalize_cols %shared eps(1.0e-8) : tensor<?x?xf32>
    %s = step.scale %shared factor(2.0) : tensor<?x?xf32>
    %half = step.normalize_cols %g power(0.5) eps(1.0e-8) : tensor<?x?xf32>
    %h2 = step.normalize_rows %half power(0.5) eps(1.0e-8) : tensor<?x?xf32>
    %rms = step.normalize_rows %g target(rms_of_norms) eps(1.0e-8) : tensor<?x?xf32>
    %m2 = step.normalize_cols %rms target(rms_of_norms) eps(1.0e-8) : tensor<?x?xf32>
    %u = step.normalize_rows %g eps(1.0e-8) : tensor<?x?xf32>
    %a = step.elementwise ins(%r, %c, %s, %h2 : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32> {
    ^bb0(%x: f32, %y: f32, %z: f32, %v: f32):
      %0 = arith.addf %x, %y : f32
      %1 = arith.addf %0, %z : f32
      %2 = arith.addf %1, %v : f32
      step.yield %2 : f32
    }
    %b = step.elementwise ins(%a, %m2, %u : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32> {
    ^bb0(%x: f32, %y: f32, %z: f32):
      %0 = arith.addf %x, %y : f32
      %1 = arith.addf %0, %z : f32
      step.yield %1 : f32
    }
    step.return %b : tensor<?x?xf32>
  }
}
