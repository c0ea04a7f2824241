// RUN: stepc-opt --stepc-gpu-kernels=batch-same-shapes=false %s | FileCheck %s
// One tensor at a time (batch-same-shapes=false): batches.mlir checks the
// batched form (docs/Design/Batching.md).

// The groups of an optimizer with global sums share one kernel, named
// after it, with a slot of launch arguments (tensors, count, step control,
// scratch) per group and dtype, so that groups stepped together share the
// totals in one launch. Phase by phase: every slot's contributions (to its
// own scratch), then each key's total added in f64 over the slots that sum
// it, slot by slot and tensor by tensor, on every thread; thread 0 leaves
// it in each such slot's scratch (when the slot steps tensors) for the
// runtime; the update of every slot takes it rounded to f32.

step.optimizer @two {
  step.group @a accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      hyper(%lr : f32 = 1.0e-3) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %total = step.global_sum "grad_sq" %sq : tensor<f32>
    %w1 = step.elementwise ins(%w, %g, %total, %lr
                               : tensor<?xf32>, tensor<?xf32>, f32, f32)
        -> tensor<?xf32> {
    ^bb0(%x: f32, %y: f32, %s: f32, %l: f32):
      %d = arith.mulf %y, %s : f32
      %e = arith.mulf %d, %l : f32
      %r = arith.subf %x, %e : f32
      step.yield %r : f32
    }
    step.return %w1 : tensor<?xf32>
  }
  step.group @b accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      hyper(%lr : f32 = 1.0e-3) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %abs = step.reduce sum_sq %w over(all) : tensor<?xf32> -> tensor<f32>
    %extra = step.global_sum "w_sq" %abs : tensor<f32>
    %total = step.global_sum "grad_sq" %sq : tensor<f32>
    %w1 = step.elementwise ins(%w, %g, %total, %extra, %lr
                               : tensor<?xf32>, tensor<?xf32>, f32, f32, f32)
        -> tensor<?xf32> {
    ^bb0(%x: f32, %y: f32, %s: f32, %t: f32, %l: f32):
      %d = arith.mulf %y, %s : f32
      %d2 = arith.mulf %d, %t : f32
      %e = arith.mulf %d2, %l : f32
      %r = arith.subf %x, %e : f32
      step.yield %r : f32
    }
    step.return %w1 : tensor<?xf32>
  }
}

// CHECK: module attributes {gpu.container_module, stepc.phased_kernels = {
// CHECK-SAME: stepc_two_a = {kernel = "stepc_two", partials = 1 : i64, scratch = "{{[^"]*}}", slot = 0 : i64, slots = 2 : i64, work = "{{[^"]*}}"}
// CHECK-SAME: stepc_two_b = {kernel = "stepc_two", partials = 1 : i64, scratch = "{{[^"]*}}", slot = 1 : i64, slots = 2 : i64, work = "{{[^"]*}}"}
// CHECK-NOT: func.func
// CHECK: gpu.func @stepc_two(%[[TABLEA:.*]]: !llvm.ptr<1>, %[[NA:.*]]: i32, %{{.*}}: !llvm.ptr<1>, %[[SA:.*]]: !llvm.ptr<1>, %[[TABLEB:.*]]: !llvm.ptr<1>, %[[NB:.*]]: i32, %{{.*}}: !llvm.ptr<1>, %[[SB:.*]]: !llvm.ptr<1>, %[[BARRIER:.*]]: !llvm.ptr<1>, %[[NSUB:.*]]: i32) kernel
// CHECK: %[[SUBS:.*]] = arith.index_castui %[[NSUB]] : i32 to index
// CHECK: %[[SUB:.*]] = arith.divui %block_id_x
// A slot whose found-inf is set steps no tensor, as an empty one.
// CHECK: %[[CA:.*]] = arith.index_castui %[[NA]] : i32 to index
// CHECK: %[[TA:.*]] = arith.select %{{.*}}, %c0, %[[CA]] : index
// CHECK: %[[CB:.*]] = arith.index_castui %[[NB]] : i32 to index
// CHECK: %[[TB:.*]] = arith.select %{{.*}}, %c0, %[[CB]] : index
// The sum phase of each slot with a tensor to step, each ending its
// tensors with a barrier. Each slot's schedule follows its own records.
// CHECK: %[[HAS_A:.*]] = arith.cmpi ugt, %[[TA]], %c0 : index
// CHECK: scf.if %[[HAS_A]]
// CHECK: llvm.getelementptr %[[TABLEA]][
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK: llvm.call @stepc_grid_barrier(
// CHECK: llvm.call @stepc_grid_barrier(%[[BARRIER]], %c0_i32
// CHECK: %[[HAS_B:.*]] = arith.cmpi ugt, %[[TB]], %c0 : index
// CHECK: scf.if %[[HAS_B]]
// CHECK: llvm.getelementptr %[[TABLEB]][
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK: llvm.call @stepc_grid_barrier(
// CHECK: llvm.call @stepc_grid_barrier(%[[BARRIER]], %c0_i32
// "grad_sq": slot a's tensors, then slot b's (b's second total).
// CHECK: %[[GA:.*]] = scf.for %{{.*}} = %c0 to %[[TA]] step %c1 iter_args(%{{.*}} = %{{.*}}) -> (f64) {
// CHECK: %[[GRAD:.*]] = scf.for %{{.*}} = %c0 to %[[TB]] step %c1 iter_args(%{{.*}} = %[[GA]]) -> (f64) {
// CHECK: arith.addi %{{.*}}, %c1_i64 : i64
// CHECK: scf.if
// CHECK: scf.if %[[HAS_A]] {
// CHECK-NEXT: llvm.store %[[GRAD]], %[[SA]] : f64, !llvm.ptr<1>
// CHECK: scf.if %[[HAS_B]] {
// CHECK-NEXT: %[[AT:.*]] = llvm.getelementptr %[[SB]][1] : (!llvm.ptr<1>) -> !llvm.ptr<1>, f64
// CHECK-NEXT: llvm.store %[[GRAD]], %[[AT]] : f64, !llvm.ptr<1>
// CHECK: %[[GRAD32:.*]] = arith.truncf %[[GRAD]] : f64 to f32
// "w_sq": slot b's tensors alone, its first total.
// CHECK: %[[WSQ:.*]] = scf.for %{{.*}} = %c0 to %[[TB]] step %c1 iter_args(%{{.*}} = %{{.*}}) -> (f64) {
// CHECK-NOT: scf.if %[[HAS_A]]
// CHECK: scf.if %[[HAS_B]] {
// CHECK-NEXT: llvm.store %[[WSQ]], %[[SB]] : f64, !llvm.ptr<1>
// CHECK: %[[WSQ32:.*]] = arith.truncf %[[WSQ]] : f64 to f32
// The updates read them.
// CHECK: llvm.getelementptr %[[TABLEA]][
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK: arith.mulf %{{.*}}, %[[GRAD32]] : f32
// CHECK: llvm.getelementptr %[[TABLEB]][
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK: arith.mulf %{{.*}}, %[[GRAD32]] : f32
// CHECK: arith.mulf %{{.*}}, %[[WSQ32]] : f32
// CHECK: gpu.return
