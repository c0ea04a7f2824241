// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels | FileCheck %s

// An f16 gradient in a phased kernel is divided by the grad scale in f32,
// and the body's widening of it takes that f32 quotient: rounded back to
// f16 first, an unscaled gradient below 3e-8 would be 0.
// CHECK-LABEL: gpu.func @row_sums_f16
// CHECK: %[[G:.*]] = memref.load %{{.*}} : memref<?x?xf16>
// CHECK-NEXT: %[[WIDE:.*]] = arith.extf %[[G]] : f16 to f32
// CHECK-NEXT: %[[UNSCALED:.*]] = arith.divf %[[WIDE]], %{{.*}} : f32
// CHECK-NEXT: arith.mulf %[[UNSCALED]], %[[UNSCALED]] : f32
// CHECK-NOT: arith.truncf
// CHECK: gpu.return
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @row_sums_f16(
    %w: memref<?x?xf16> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf16> {stepc.grad, stepc.param_dims = array<i64: 0, 1>},
    %v: memref<?xf32> {stepc.param_dims = array<i64: 0>}) {
  linalg.generic {indexing_maps = [#id, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%g : memref<?x?xf16>) outs(%v : memref<?xf32>) {
  ^bb0(%x: f16, %acc: f32):
    %wide = arith.extf %x : f16 to f32
    %sq = arith.mulf %wide, %wide : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  return
}
