// RUN: stepc-opt --stepc-lower-to-linalg --stepc-form-gpu-kernels %s | FileCheck %s
// RUN: not stepc-opt --stepc-lower-to-linalg --stepc-form-gpu-kernels \
// RUN:   %stepc_src_root/examples/specs/muon.mlir 2>&1 | FileCheck %s --check-prefix=PHASES

// One kernel per group and dtype, over the work table; 4-wide vector loads
// and stores in the tile's body, one element at a time in its tail.
// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @stepc_kernels
// CHECK: gpu.func @stepc_adamw_all(%[[TENSORS:.*]]: !llvm.ptr<1>, %[[ITEMS:.*]]: !llvm.ptr<1>, %[[N:.*]]: i32, %[[SCALARS:.*]]: !llvm.ptr<1>) kernel
// CHECK-COUNT-3: llvm.load {{.*}} : !llvm.ptr<1> -> f32
// CHECK: gpu.block_id x
// CHECK: gpu.grid_dim x
// CHECK: scf.for %[[ITEM:.*]] = {{.*}} step
// The record: 4 buffers (w, g, m, v) and the size.
// CHECK: arith.constant 5 : i64
// CHECK-COUNT-4: llvm.load {{.*}} : !llvm.ptr<1> -> !llvm.ptr<1>
// CHECK: scf.for
// CHECK-COUNT-4: llvm.load {{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: math.sqrt
// CHECK-COUNT-3: llvm.store {{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
// CHECK: scf.for
// CHECK: llvm.load {{.*}} : !llvm.ptr<1> -> f32
// CHECK: gpu.return
// bf16 params: 8-byte vectors of the 16-bit values.
// CHECK: gpu.func @stepc_adamw_all_bf16(
// CHECK: llvm.load {{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<4xbf16>
// CHECK: gpu.func @stepc_adamw_all_f16(
// CHECK-NOT: func.func

// PHASES: error: group function stepc_muon_hidden is not element-wise: GPU kernels for groups with reductions or matmuls need phases (docs/Design/GpuKernels.md)
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
