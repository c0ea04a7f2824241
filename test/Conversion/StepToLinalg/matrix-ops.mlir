// RUN: stepc-opt %s --convert-step-to-linalg --split-input-file | FileCheck %s

// Rows are scaled to norm sqrt(n): one row reduction, one factor per row
// (T / max(d, ε)), one broadcast multiply.
// CHECK-DAG: #[[MAT:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: step.group @rows_to_sqrt_n
// CHECK: %[[N:.*]] = arith.sitofp %{{.*}} : i64 to f32
// CHECK: %[[T:.*]] = math.sqrt %[[N]] : f32
// CHECK: linalg.generic {indexing_maps = [#[[MAT]], #[[ROW]]], iterator_types = ["parallel", "reduction"]}
// The accumulation may be reassociated, so that LLVM vectorizes it.
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK: math.sqrt
// CHECK: %[[F:.*]] = linalg.generic
// CHECK: arith.maximumf
// CHECK: arith.divf %[[T]], %{{.*}} : f32
// CHECK: %[[FV:.*]] = tensor.collapse_shape %[[F]] {{\[\[}}0, 1]] : tensor<?x1xf32> into tensor<?xf32>
// CHECK: linalg.generic {indexing_maps = [#[[MAT]], #[[ROW]], #[[MAT]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[FV]] : tensor<?x?xf32>, tensor<?xf32>)
step.optimizer @o {
  step.group @rows_to_sqrt_n accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %r = step.normalize_rows %g target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    step.return %r : tensor<?x?xf32>
  }
}

// -----

// Columns broadcast along d1.
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: step.group @cols
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [1, %{{.*}}] : tensor<?xf32> into tensor<1x?xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x?xf32> into tensor<?xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[COL]], #{{.*}}]
step.optimizer @o {
  step.group @cols accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %c = step.normalize_cols %g eps(1.0e-8) : tensor<?x?xf32>
    step.return %c : tensor<?x?xf32>
  }
}

// -----

// Dynamic shapes: tall matrices are transposed at run time, so the Gram is
// min(m, n)²; the iterations are one loop (emitted once), between a
// conditional transpose in and one out. The body rounds to bf16, runs 3
// contractions and writes a·X + P·X over X; one (a, b, c) needs no table.
// CHECK-LABEL: step.group @ns_dynamic
// CHECK: %[[TALL:.*]] = arith.cmpi ugt, %{{.*}}, %{{.*}} : index
// CHECK: %[[IN:.*]] = scf.if %[[TALL]] -> (tensor<?x?xf32>) {
// CHECK: linalg.transpose
// CHECK: } else {
// CHECK-NEXT: scf.yield %{{.*}} : tensor<?x?xf32>
// CHECK-NOT: dense<
// CHECK: %[[STEPS:.*]] = arith.constant 2 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[STEPS]] step %{{.*}} iter_args(%[[X:[a-z0-9_]+]] = %[[IN]]) -> (tensor<?x?xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-COUNT-3: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: %[[NEXT:.*]] = linalg.generic {{.*}} outs(%[[X]] : tensor<?x?xf32>)
// CHECK: scf.yield %[[NEXT]]
// CHECK-NOT: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: scf.if %[[TALL]] -> (tensor<?x?xf32>) {
// CHECK: linalg.transpose
// CHECK: } else {
// CHECK-NOT: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: step.return
step.optimizer @o {
  step.group @ns_dynamic accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %o = step.newton_schulz %g steps(2) coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %o : tensor<?x?xf32>
  }
}

// -----

// Static shapes decide the orientation at compile time; compute(f32) skips
// the rounding; a schedule uses one (a, b, c) per iteration.
// CHECK-LABEL: step.group @ns_static_tall
// CHECK-NOT: scf.if
// CHECK-NOT: arith.truncf
// CHECK: linalg.transpose ins(%{{.*}} : tensor<64x32xf32>)
// CHECK: %[[A:.*]] = arith.constant dense<[8.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: scf.for %[[K:[a-z0-9_]+]] = {{.*}} -> (tensor<32x64xf32>)
// CHECK: tensor.extract %[[A]][%[[K]]] : tensor<2xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<32x64xf32>) outs(%{{.*}} : tensor<64x32xf32>)
step.optimizer @o {
  step.group @ns_static_tall accepts(matrix) dtypes(f32)
      param(%w : tensor<64x32xf32>) grad(%g : tensor<64x32xf32>) {
    %o = step.newton_schulz %g steps(2) coefficients([8.0, -20.0, 15.0, 2.0, -1.5, 0.5]) eps(1.0e-7) compute(f32) : tensor<64x32xf32>
    step.return %o : tensor<64x32xf32>
  }
}

// -----

// matmul: transposed factors are read in place, the lhs through (k, i), the
// rhs through (j, k); i, k, j loops with an f32 accumulator.
// CHECK-DAG: #[[IK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[KI:.*]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-DAG: #[[KJ:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[JK:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[IJ:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: step.group @matmul
// CHECK: linalg.generic {indexing_maps = [#[[KI]], #[[KJ]], #[[IJ]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-NOT: linalg.transpose
// The result has as many cols as g has rows.
// CHECK: %[[G0:.*]] = tensor.dim %[[G:g]], %c0{{.*}} : tensor<?x?xf32>
// CHECK: tensor.empty(%{{.*}}, %[[G0]])
// CHECK: linalg.generic {indexing_maps = [#[[IK]], #[[JK]], #[[IJ]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[G]] :
step.optimizer @o {
  step.group @matmul accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%r : tensor<?x?xf32> = identity square(rows)) {
    %rg = step.matmul %r, %g transpose(lhs) : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %c = step.matmul %rg, %g transpose(rhs) : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    step.return %w, %c : tensor<?x?xf32>, tensor<?x?xf32>
  }
}

// -----

// qr: one loop over the columns (rows of Cᵀ); each projects twice onto the
// rows built so far (a mat-vec and a vec-mat per pass); a column left with
// at most 2⁻¹² of its norm is replaced by the least covered unit vector
// (an argmin over linalg.index), projected the same way; the result is
// normalized and inserted as row j of Qᵀ. The mat-vec's dot products may
// be reassociated (LLVM keeps vector partial sums); the vec-mat is an axpy
// per basis row and keeps its order.
// CHECK-LABEL: step.group @qr
// CHECK: %[[CT:.*]] = linalg.transpose
// CHECK: scf.for %[[J:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[QT:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x?xf32>)
// CHECK: tensor.extract_slice %[[CT]][%[[J]], 0]
// CHECK: %[[BASIS:.*]] = tensor.extract_slice %[[QT]][0, 0] [%[[J]], %{{.*}}]
// CHECK: iterator_types = ["parallel", "reduction"]} ins(%[[BASIS]], %{{.*}} : tensor<?x?xf32>, tensor<?xf32>)
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK: iterator_types = ["reduction", "parallel"]} ins(%{{.*}}, %[[BASIS]] : tensor<?xf32>, tensor<?x?xf32>)
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : f32
// CHECK-NEXT: linalg.yield
// CHECK: iterator_types = ["parallel", "reduction"]} ins(%[[BASIS]], %{{.*}} : tensor<?x?xf32>, tensor<?xf32>)
// CHECK: arith.constant 2.44140625E-4 : f32
// CHECK: %[[DEP:.*]] = arith.cmpf ole
// CHECK: scf.if %[[DEP]] -> (tensor<?xf32>) {
// CHECK: linalg.index 0 : index
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: } else {
// CHECK: arith.constant 1.000000e-30 : f32
// CHECK: tensor.insert_slice %{{.*}} into %[[QT]][%[[J]], 0]
// CHECK: linalg.transpose
step.optimizer @o {
  step.group @qr accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %q = step.qr %g : tensor<?x?xf32>
    step.return %q : tensor<?x?xf32>
  }
}
