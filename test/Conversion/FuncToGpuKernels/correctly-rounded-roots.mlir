// RUN: stepc-opt %s --pass-pipeline='builtin.module(gpu.module(stepc-use-correctly-rounded-roots))' | FileCheck %s

// f32 and f64 roots become PTX sqrt.rn; rsqrt is one over it (NVVM's
// rsqrt.approx is not correctly rounded either). Other types are left.
// CHECK-LABEL: gpu.func @roots
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%arg0) : (f32) -> f32
// CHECK: %[[R:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%arg0) : (f32) -> f32
// CHECK: arith.divf %{{.*}}, %[[R]] : f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.d"(%arg1) : (f64) -> f64
// CHECK: math.sqrt %arg2 : f16
// CHECK-NOT: math.sqrt %arg0
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @roots(%a: f32, %b: f64, %c: f16, %out: memref<4xf32>) kernel {
      %s = math.sqrt %a : f32
      %r = math.rsqrt %a : f32
      %d = math.sqrt %b : f64
      %h = math.sqrt %c : f16
      gpu.return
    }
  }
}
