// RUN: stepc-opt %s --convert-step-to-func | FileCheck %s

// A group becomes stepc_<optimizer>_<group> over buffers: tensors view the
// caller's memrefs (the grad read-only; it and the count are marked for the
// GPU kernels), scalars pass by value, and the new
// param and states are written back into their own buffers.
// CHECK-NOT: step.optimizer
// CHECK-LABEL: func.func @stepc_opt_grp(
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
// CHECK-SAME: %[[G:[a-z0-9]+]]: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>},
// CHECK-SAME: %[[V:[a-z0-9]+]]: memref<?x1xf32> {stepc.param_dims = array<i64: 0, -1>},
// CHECK-SAME: %[[R:[a-z0-9]+]]: memref<f32> {stepc.param_dims = array<i64>},
// CHECK-SAME: %[[LR:[a-z0-9]+]]: f32, %[[T:[a-z0-9]+]]: f32 {stepc.count})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[WT:.*]] = bufferization.to_tensor %[[W]] restrict writable : memref<?x?xf32> to tensor<?x?xf32>
// CHECK: %[[GT:.*]] = bufferization.to_tensor %[[G]] restrict : memref<?x?xf32> to tensor<?x?xf32>
// CHECK: %[[VT:.*]] = bufferization.to_tensor %[[V]] restrict writable
// CHECK: %[[RT:.*]] = bufferization.to_tensor %[[R]] restrict writable
// CHECK: %[[NEW:.*]] = arith.addf
// CHECK: bufferization.materialize_in_destination %[[NEW]] in restrict writable %[[W]] : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
// CHECK: bufferization.materialize_in_destination %[[VT]] in restrict writable %[[V]]
// CHECK: bufferization.materialize_in_destination %[[RT]] in restrict writable %[[R]]
// CHECK: return
// CHECK-LABEL: func.func @stepc_opt_second(
step.optimizer @opt {
  step.group @grp accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x1xf32> = zeros, %r : tensor<f32> = param_norm)
      hyper(%lr : f32) count(%t : f32) {
    %sum = arith.addf %w, %g : tensor<?x?xf32>
    %keep = arith.addf %v, %v : tensor<?x1xf32>
    %again = arith.addf %r, %r : tensor<f32>
    %use = arith.addf %lr, %t : f32
    step.return %sum, %v, %r : tensor<?x?xf32>, tensor<?x1xf32>, tensor<f32>
  }
  step.group @second accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %g : tensor<?xf32>
  }
}
