// RUN: stepc-opt %s --stepc-unify-shapes | FileCheck %s

// Dimensions of the grad, a full state and a per-row state are read from the
// param; a long-axis state (-1) keeps its own.
// CHECK-LABEL: func.func @dims(
// CHECK-SAME: %[[P:[a-z0-9]+]]: memref<?x?xf32>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[A:.*]] = memref.dim %[[P]], %[[C0]]
// CHECK: %[[B:.*]] = memref.dim %[[P]], %[[C1]]
// CHECK: %[[C:.*]] = memref.dim %[[P]], %[[C0]]
// CHECK: %[[D:.*]] = memref.dim %[[L:.*]], %{{.*}} : memref<?xf32>
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]]
func.func @dims(%p: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
                %g: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
                %r: memref<?x1xf32> {stepc.param_dims = array<i64: 0, -1>},
                %l: memref<?xf32> {stepc.param_dims = array<i64: -1>}) -> (index, index, index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.dim %g, %c0 : memref<?x?xf32>
  %t = bufferization.to_tensor %g restrict : memref<?x?xf32> to tensor<?x?xf32>
  %b = tensor.dim %t, %c1 : tensor<?x?xf32>
  %c = memref.dim %r, %c0 : memref<?x1xf32>
  %d = memref.dim %l, %c0 : memref<?xf32>
  return %a, %b, %c, %d : index, index, index, index
}
