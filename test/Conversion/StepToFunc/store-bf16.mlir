// RUN: stepc-opt %s --convert-step-to-linalg --convert-step-to-func | FileCheck %s

// A state stored as bf16 is passed as a bf16 buffer, widened to f32 for the
// body and rounded back when stored; params keep their own dtype.
// CHECK-LABEL: func.func @stepc_o_g(
// CHECK-SAME: %[[W:.*]]: memref<?xf32> {{.*}}, %[[G:.*]]: memref<?xf32> {{.*}}, %[[M:.*]]: memref<?xbf16> {{.*}}, %[[V:.*]]: memref<?xf32>
// CHECK: %[[MT:.*]] = bufferization.to_tensor %[[M]] restrict writable : memref<?xbf16> to tensor<?xbf16>
// CHECK: linalg.generic {{.*}} ins(%[[MT]] : tensor<?xbf16>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[M]] : (tensor<?xbf16>, memref<?xbf16>) -> ()
// CHECK-NOT: truncf
// CHECK: return
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros store(bf16), %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %m1, %v : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
