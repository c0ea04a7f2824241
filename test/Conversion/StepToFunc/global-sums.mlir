// RUN: stepc-opt %s --convert-step-to-linalg --convert-step-to-func --canonicalize | FileCheck %s
//
// A group with global sums becomes one function per phase of sums, which
// writes each tensor's contribution and nothing else, and a main function
// that takes every total after the group's arguments. Phase 2 ("scaled")
// reads phase 1's total.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      hyper(%lr : f32 = 1.0) input(%loss : f32) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %total = step.global_sum "grad_sq" %sq : tensor<f32>
    %u = step.scale %g by(%total : f32) : tensor<?xf32>
    %usq = step.reduce sum_sq %u over(all) : tensor<?xf32> -> tensor<f32>
    %scaled = step.global_sum "scaled" %usq : tensor<f32>
    %k = step.elementwise ins(%scaled, %loss : f32, f32) -> tensor<f32> {
    ^bb0(%a: f32, %b: f32):
      %r = arith.mulf %a, %b : f32
      step.yield %r : f32
    }
    %w2 = step.apply %w, %g lr(%lr : f32) times(%k : tensor<f32>) : tensor<?xf32>
    step.return %w2 : tensor<?xf32>
  }
}

// Phase 1: Σ g² into the out-buffer; the param is not written.
// CHECK-LABEL: func.func @stepc_o_g_sums1(
// CHECK-SAME: %[[W:.*]]: memref<?xf32> {{.*}}, %{{.*}}: memref<?xf32> {{.*}}, %{{.*}}: f32, %{{.*}}: f32, %[[OUT:.*]]: memref<f32>)
// CHECK-SAME: stepc.sum_phase = 1
// CHECK: linalg.generic
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[OUT]]
// CHECK-NOT: materialize_in_destination
// CHECK: return

// Phase 2 takes phase 1's total and writes Σ (total·g)².
// CHECK-LABEL: func.func @stepc_o_g_sums2(
// CHECK-SAME: %{{.*}}: f32, %{{.*}}: f32, %[[T1:.*]]: f32, %[[OUT2:.*]]: memref<f32>)
// CHECK-SAME: stepc.sum_phase = 2
// CHECK: arith.mulf %{{.*}}, %[[T1]]
// CHECK: materialize_in_destination %{{.*}} in restrict writable %[[OUT2]]

// The main function: the arguments, then both totals; no reduction left.
// CHECK-LABEL: func.func @stepc_o_g(
// CHECK-SAME: %[[W:.*]]: memref<?xf32> {{.*}}, %{{.*}}: memref<?xf32> {{.*}}, %[[LR:.*]]: f32, %[[LOSS:.*]]: f32, %{{.*}}: f32, %[[T2:.*]]: f32)
// CHECK-SAME: stepc.num_totals = 2 : i64, stepc.optimizer = "o", stepc.sum_keys = ["grad_sq", "scaled"], stepc.sum_phases = 2
// CHECK: arith.mulf %[[T2]], %[[LOSS]]
// CHECK-NOT: iterator_types = ["reduction"]
// CHECK: materialize_in_destination %{{.*}} in restrict writable %[[W]]
