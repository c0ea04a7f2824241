// RUN: stepc-opt %s --stepc-destination-inits | FileCheck %s

#id = affine_map<(d0) -> (d0)>

// A result stored into a buffer is computed in that buffer's existing view:
// no second to_tensor of the same buffer is created (that would break
// `restrict`).
// CHECK-LABEL: func.func @stored
// CHECK-SAME: (%[[P:.*]]: memref<?xf32>, %[[M:.*]]: memref<?xf32>)
// CHECK: %[[PT:.*]] = bufferization.to_tensor %[[P]] restrict writable
// CHECK: %[[MT:.*]] = bufferization.to_tensor %[[M]] restrict writable
// CHECK-NOT: bufferization.to_tensor
// CHECK: linalg.generic {{.*}} outs(%[[MT]], %[[PT]] : tensor<?xf32>, tensor<?xf32>)
// CHECK-NOT: bufferization.to_tensor
func.func @stored(%p: memref<?xf32>, %m: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %pt = bufferization.to_tensor %p restrict writable : memref<?xf32> to tensor<?xf32>
  %mt = bufferization.to_tensor %m restrict writable : memref<?xf32> to tensor<?xf32>
  %n = memref.dim %p, %c0 : memref<?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %r:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel"]} ins(%pt, %mt : tensor<?xf32>, tensor<?xf32>) outs(%e, %e : tensor<?xf32>, tensor<?xf32>) {
  ^bb0(%a: f32, %b: f32, %o1: f32, %o2: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s, %a : f32, f32
  } -> (tensor<?xf32>, tensor<?xf32>)
  bufferization.materialize_in_destination %r#0 in restrict writable %m : (tensor<?xf32>, memref<?xf32>) -> ()
  bufferization.materialize_in_destination %r#1 in restrict writable %p : (tensor<?xf32>, memref<?xf32>) -> ()
  return
}

// A row inserted into a matrix in a loop is computed in that row: the init
// becomes the matching extract_slice of the destination.
// CHECK-LABEL: func.func @inserted_row
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[ACC]][%[[J]], 0] [1, %{{.*}}] [1, 1] : tensor<?x?xf32> to tensor<?xf32>
// CHECK: %[[NEW:.*]] = linalg.generic {{.*}} outs(%[[ROW]] : tensor<?xf32>)
// CHECK: tensor.insert_slice %[[NEW]] into %[[ACC]][%[[J]], 0] [1, %{{.*}}] [1, 1]
func.func @inserted_row(%x: tensor<?xf32>, %start: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = tensor.dim %start, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %r = scf.for %j = %c0 to %rows step %c1 iter_args(%acc = %start) -> tensor<?x?xf32> {
    %e = tensor.empty(%n) : tensor<?xf32>
    %row = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<?xf32>) outs(%e : tensor<?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %s = arith.mulf %a, %a : f32
      linalg.yield %s : f32
    } -> tensor<?xf32>
    %next = tensor.insert_slice %row into %acc[%j, 0] [1, %n] [1, 1] : tensor<?xf32> into tensor<?x?xf32>
    scf.yield %next : tensor<?x?xf32>
  }
  return %r : tensor<?x?xf32>
}
