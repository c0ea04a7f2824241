// RUN: stepc-opt %s --stepc-lower-to-linalg --stepc-plan-phases | FileCheck %s
// RUN: stepc-opt %stepc_src_root/examples/specs/sinkgd.mlir --stepc-lower-to-linalg --stepc-plan-phases | FileCheck %s --check-prefix=SINKGD

// A row reduction stays in the tile that owns the row: one phase.
// CHECK-LABEL: func.func @stepc_o_rows(
// CHECK-SAME: stepc.num_phases = 1
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}}stepc.phase = 0 : i64, stepc.phase_class = "row_local"
// CHECK: linalg.generic {{.*}}stepc.phase = 0 : i64, stepc.phase_class = "row_local"
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}}stepc.phase = 0 : i64, stepc.phase_class = "row_local"

// A column reduction is complete only after its phase: the per-column
// factors (computed by every tile) and the update are in the next one.
// CHECK-LABEL: func.func @stepc_o_cols(
// CHECK-SAME: stepc.num_phases = 2
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]{{.*}}stepc.phase = 0 : i64, stepc.phase_class = "accumulate"
// CHECK: linalg.generic {{.*}}stepc.phase = 1 : i64, stepc.phase_class = "replicated"
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}}stepc.phase = 1 : i64, stepc.phase_class = "row_local"

// So is a whole-tensor reduction (a Frobenius norm), captured as a scalar.
// CHECK-LABEL: func.func @stepc_o_frobenius(
// CHECK-SAME: stepc.num_phases = 2
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]{{.*}}stepc.phase = 0 : i64, stepc.phase_class = "accumulate"
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}}stepc.phase = 1 : i64, stepc.phase_class = "row_local"

// An element-wise group is one phase.
// CHECK-LABEL: func.func @stepc_o_adam(
// CHECK-SAME: stepc.num_phases = 1
// CHECK: linalg.generic {{.*}}stepc.phase = 0 : i64, stepc.phase_class = "row_local"
// CHECK-NOT: stepc.phase = 1
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
  step.group @frobenius accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32 = 1.0) {
    %s = step.scale %g norm(frobenius) eps(1.0e-8) mode(add) : tensor<?x?xf32>
    %w1 = step.apply %w, %s lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
  step.group @adam accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w1 = step.apply %w, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}

// SinkGD's five row/column alternations: each column step ends a phase,
// the row steps add none (5 barriers, not 10).
// SINKGD-LABEL: func.func @stepc_sinkgd_hidden(
// SINKGD-SAME: stepc.num_phases = 6
// SINKGD-COUNT-5: iterator_types = ["reduction", "parallel"]{{.*}}stepc.phase_class = "accumulate"
// SINKGD-LABEL: func.func @stepc_sinkgd_hidden_bf16(
