// RUN: stepc-opt --stepc-lower-to-linalg \
// RUN:   --stepc-form-gpu-kernels="skip-unsupported" --mlir-print-op-on-diagnostic=false \
// RUN:   %stepc_src_root/examples/specs/muon.mlir 2>&1 | FileCheck %s

// With skip-unsupported, Muon's Newton–Schulz group gets no kernel (a
// warning per dtype says why) and its element-wise AdamW group still does;
// no function of either group is left behind.
// CHECK: warning: group function stepc_muon_hidden is not element-wise{{.*}}; it gets no kernel
// CHECK: warning: group function stepc_muon_hidden_bf16 is not element-wise
// CHECK-NOT: func.func
// CHECK: gpu.module @stepc_kernels
// CHECK-NOT: gpu.func @stepc_muon_hidden
// CHECK: gpu.func @stepc_muon_adamw(
// CHECK-NOT: gpu.func @stepc_muon_hidden
// CHECK: gpu.func @stepc_muon_adamw_bf16(
// CHECK-NOT: func.func
