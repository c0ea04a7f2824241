// RUN: stepc-opt %s --stepc-lower-to-linalg --linalg-fold-unit-extent-dims --canonicalize --stepc-tile-rows=rows-per-tile=4 --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --stepc-lower-to-linalg --stepc-cpu-tile | FileCheck %s --check-prefix=PIPELINE
// RUN: not stepc-opt %s --stepc-lower-to-linalg --stepc-tile-rows=rows-per-tile=0 2>&1 | FileCheck %s --check-prefix=BAD

// normalize_rows then apply: the row norms, the per-row factors and the
// update run in one loop over blocks of 4 rows, on rows still in cache.
// CHECK-LABEL: func.func @stepc_o_rows(
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %[[C4]] iter_args
// CHECK: linalg.fill
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: tensor.insert_slice
// CHECK: scf.yield
// CHECK-NOT: linalg.generic
// CHECK: bufferization.materialize_in_destination

// normalize_cols: the column sums need every row first (their own phase,
// not tiled); the update after them is tiled by rows.
// CHECK-LABEL: func.func @stepc_o_cols(
// CHECK-NOT: scf.for
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel"]
// CHECK: scf.for
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: scf.yield

// An element-wise group is one loop already: left alone.
// CHECK-LABEL: func.func @stepc_o_sgd(
// CHECK-NOT: scf.for
// CHECK: return

// BAD: error: stepc-tile-rows: rows-per-tile must be at least 1
step.optimizer @o {
  step.group @rows accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32 = 1.0) {
    %r = step.normalize_rows %g target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %w1 = step.apply %w, %r lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
  step.group @cols accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32 = 1.0) {
    %c = step.normalize_cols %g target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %w1 = step.apply %w, %c lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
  step.group @sgd accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32 = 1.0) {
    %w1 = step.apply %w, %g lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// The registered pipeline (unit dimensions folded first) tiles too.
// PIPELINE-LABEL: func.func @stepc_o_rows(
// PIPELINE: scf.for
// PIPELINE: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
