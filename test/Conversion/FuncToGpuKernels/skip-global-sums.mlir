// RUN: stepc-opt --stepc-lower-to-linalg \
// RUN:   --stepc-form-gpu-kernels="skip-unsupported" --mlir-print-op-on-diagnostic=false \
// RUN:   %stepc_src_root/examples/specs/adamw_clip.mlir 2>&1 | FileCheck %s
// RUN: not stepc-opt --stepc-lower-to-linalg --stepc-form-gpu-kernels \
// RUN:   --mlir-print-op-on-diagnostic=false \
// RUN:   %stepc_src_root/examples/specs/adamw_clip.mlir 2>&1 | FileCheck %s --check-prefix=ERR

// Global sums need the grid barrier of the phased kernels
// (stepc-form-phased-gpu-kernels, phased-sums.mlir): the element-wise pass
// alone gives the group no kernel (one warning per dtype, none for its
// sum-phase functions) and leaves none of its functions behind.
// CHECK: warning: {{.*}}has group-wide sums (step.global_sum), which need the grid-barrier phases
// CHECK: warning: {{.*}}has group-wide sums
// CHECK-NOT: warning
// CHECK-NOT: func.func
// CHECK: gpu.module @stepc_kernels
// CHECK-NOT: gpu.func

// ERR: error: {{.*}}has group-wide sums (step.global_sum)
