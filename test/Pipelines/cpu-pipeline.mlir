// RUN: stepc-opt %s --stepc-lower-to-linalg | FileCheck %s --check-prefix=LINALG
// RUN: stepc-opt %s --stepc-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// AdamW's element-wise chain fuses; after the full CPU pipeline only the LLVM
// dialect is left, with the C interface the runtime calls.
// LINALG-LABEL: func.func @stepc_adamw_all
// LINALG-NOT: step.
// LINALG: linalg.generic
// LINALG: math.sqrt
// LINALG: bufferization.materialize_in_destination

// LLVM-LABEL: llvm.func @stepc_adamw_all
// LLVM-NOT: linalg.
// LLVM-NOT: memref.
// LLVM-NOT: scf.
// LLVM: llvm.intr.sqrt
// LLVM-LABEL: llvm.func @_mlir_ciface_stepc_adamw_all
step.optimizer @adamw {
  step.group @all accepts(any) dtypes(f32)
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
