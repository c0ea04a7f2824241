// RUN: stepc-opt --stepc-gpu-kernels %stepc_src_root/examples/specs/adamw_clip.mlir | FileCheck %s

// A group with global sums is one kernel per dtype: its sum phase over
// every tensor (each tensor's contribution to scratch), a barrier, the
// total added in f64 in tensor order on every thread (thread 0 keeps it at
// the start of scratch for the runtime), then the update over every tensor
// with the total rounded to f32. The sum-phase function is gone.
// CHECK: module attributes {gpu.container_module, stepc.phased_kernels = {stepc_adamw_clip_all = {partials = 1 : i64, scratch = "0 4 align add 0 max"}
// CHECK-NOT: func.func
// CHECK: gpu.func @stepc_adamw_clip_all(%{{.*}}: !llvm.ptr<1>, %[[N:.*]]: i32, %{{.*}}: !llvm.ptr<1>, %[[SCRATCH:.*]]: !llvm.ptr<1>, %[[BARRIER:.*]]: !llvm.ptr<1>) kernel
// CHECK: %[[T:.*]] = arith.index_castui %[[N]] : i32 to index
// The sum phase: the tensor loop, a reduction, the contribution stored.
// CHECK: scf.for %{{.*}} = %c0 to %[[T]] step %c1 {
// CHECK: arith.mulf
// CHECK: llvm.call @stepc_grid_barrier(%[[BARRIER]])
// CHECK: llvm.call @stepc_grid_barrier(%[[BARRIER]])
// CHECK: }
// The total.
// CHECK: %[[TOTAL:.*]] = scf.for %{{.*}} = %c0 to %[[T]] step %c1 iter_args(%[[ACC:.*]] = %{{.*}}) -> (f64) {
// CHECK: %[[PART:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[WIDE:.*]] = arith.extf %[[PART]] : f32 to f64
// CHECK: arith.addf %[[ACC]], %[[WIDE]] : f64
// CHECK: scf.if
// CHECK-NEXT: llvm.store %[[TOTAL]], %[[SCRATCH]] : f64, !llvm.ptr<1>
// CHECK: %[[TOTAL32:.*]] = arith.truncf %[[TOTAL]] : f64 to f32
// The update reads it.
// CHECK: scf.for %{{.*}} = %c0 to %[[T]] step %c1 {
// CHECK: math.sqrt %[[TOTAL32]] : f32
// CHECK: gpu.return
// CHECK: gpu.func @stepc_adamw_clip_all_bf16(
