// RUN: stepc-opt --stepc-lower-to-linalg --stepc-form-gpu-kernels %s | FileCheck %s
// RUN: not stepc-opt --stepc-lower-to-linalg --stepc-form-gpu-kernels \
// RUN:   %stepc_src_root/examples/specs/muon.mlir 2>&1 | FileCheck %s --check-prefix=PHASES

// One kernel per group and dtype, over the work table; 4-wide vector loads
// and stores in the tile's body, one element at a time in its tail.
// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @stepc_kernels
// CHECK: gpu.func @stepc_adamw_all(%[[TENSORS:.*]]: !llvm.ptr<1>, %[[ITEMS:.*]]: !llvm.ptr<1>, %[[N:.*]]: i32, %[[CONTROL:.*]]: !llvm.ptr<1>) kernel
// The step control block (docs/Design/GpuKernels.md): a nonzero found-inf,
// the f32 at the address in word 3, skips the whole step.
// CHECK: llvm.getelementptr %[[CONTROL]][%c3_i64]
// CHECK: %[[SKIP:.*]] = scf.if
// CHECK: arith.cmpf une
// CHECK: %[[GO:.*]] = arith.xori %[[SKIP]], %{{.*}} : i1
// CHECK: scf.if %[[GO]] {
// lr and wd through their addresses (words 4 and 5); the count is the
// last step's (word 0) plus one.
// CHECK: llvm.getelementptr %[[CONTROL]][%c4_i64]
// CHECK-NEXT: %[[LR_AT:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> !llvm.ptr<1>
// CHECK-NEXT: llvm.load %[[LR_AT]] : !llvm.ptr<1> -> f32
// CHECK: llvm.getelementptr %[[CONTROL]][%c5_i64]
// CHECK: llvm.getelementptr %[[CONTROL]][%c0_i64]
// CHECK-NEXT: %[[LAST:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> i64
// CHECK: arith.addi %[[LAST]], %c1_i64 : i64
// CHECK-NEXT: arith.sitofp
// The grad scale: the f32 at word 2's address, else 1.
// CHECK: llvm.getelementptr %[[CONTROL]][%c2_i64]
// CHECK: %[[SCALE:.*]] = scf.if
// CHECK: gpu.block_id x
// CHECK: gpu.grid_dim x
// CHECK: scf.for %[[ITEM:.*]] = {{.*}} step
// The record: 4 buffers (w, g, m, v) and the size.
// CHECK: arith.constant 5 : i64
// CHECK-COUNT-4: llvm.load {{.*}} : !llvm.ptr<1> -> !llvm.ptr<1>
// CHECK: scf.for
// The gradient first, unscaled lane by lane, then w, m and v.
// CHECK: llvm.load {{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK-COUNT-4: arith.divf %{{.*}}, %[[SCALE]] : f32
// CHECK-COUNT-3: llvm.load {{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: math.sqrt
// CHECK-COUNT-3: llvm.store {{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
// CHECK: scf.for
// CHECK: llvm.load {{.*}} : !llvm.ptr<1> -> f32
// The count: after a block barrier each block's thread 0 takes a ticket
// (word 1); the block with the last one stores count + 1 and resets it.
// CHECK: gpu.barrier
// CHECK: %[[TICKET:.*]] = llvm.getelementptr %[[CONTROL]][%c1_i64
// CHECK-NEXT: llvm.fence syncscope("device") release
// CHECK: %[[TAKEN:.*]] = llvm.atomicrmw add %[[TICKET]], %{{.*}} syncscope("device") monotonic
// CHECK: %[[LAST_BLOCK:.*]] = arith.cmpi eq, %[[TAKEN]], %{{.*}} : i64
// CHECK: scf.if %[[LAST_BLOCK]] {
// CHECK-NEXT: llvm.fence syncscope("device") acquire
// CHECK: llvm.store %{{.*}}, %{{.*}} : i64, !llvm.ptr<1>
// CHECK: llvm.store %{{.*}}, %[[TICKET]] : i64, !llvm.ptr<1>
// CHECK: gpu.return
// bf16 params: 8-byte vectors of the 16-bit values.
// CHECK: gpu.func @stepc_adamw_all_bf16(
// CHECK: llvm.load {{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<4xbf16>
// f16 grads: unscaled in f32, and the body gets the f32 quotient, not one
// rounded back to f16 (where a small unscaled grad would be 0).
// CHECK: gpu.func @stepc_adamw_all_f16(
// CHECK: %[[G16:.*]] = llvm.load {{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<4xf16>
// CHECK: %[[G0:.*]] = llvm.extractelement %[[G16]]
// CHECK: %[[WIDE:.*]] = arith.extf %[[G0]] : f16 to f32
// CHECK-NEXT: %[[UNSCALED:.*]] = arith.divf %[[WIDE]], %{{.*}} : f32
// CHECK-NOT: arith.truncf %[[UNSCALED]]
// CHECK: arith.mulf %{{.*}}, %[[UNSCALED]] : f32
// CHECK-NOT: func.func

// PHASES: error: group function stepc_muon_hidden is not element-wise: GPU kernels for groups with reductions, matmuls or values of the shape need phases (docs/Design/GpuKernels.md)
// PHASES: note: here:

step.optimizer @adamw {
  step.group @all accepts(any) dtypes(f32, bf16, f16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 1.0e-2) count(%t : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
