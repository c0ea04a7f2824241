// RUN: stepc-opt %s --split-input-file --stepc-block-matmuls --canonicalize --cse | FileCheck %s
// The CPU's matrix products in register blocks of 6 rows by 16 cols: each
// factor packed into panels (its own ops done once per element), then a
// call of the module's one blocked function, whose k loop carries 12
// vectors of 8, each element still summing a rounded multiply then a
// rounded add in ascending k. Rows and cols outside whole blocks stay the
// generic, over views.

#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROWPANEL:.*]] = affine_map<(d0, d1) -> (d0 floordiv 6, d1, d0 mod 6)>
// CHECK-DAG: #[[SWAP:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[COLPANEL:.*]] = affine_map<(d0, d1) -> (d0 floordiv 16, d1, d0 mod 16)>
// CHECK-LABEL: func.func @rounded_lhs
// CHECK: %[[L:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x6xf32>
// CHECK: %[[LWHOLE:.*]] = memref.subview %arg0[0, 0]
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROWPANEL]]]{{.*}} ins(%[[LWHOLE]] : {{.*}}) outs(%[[L]] : memref<?x?x6xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.truncf
// CHECK-NEXT: arith.extf
// CHECK: %[[R:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x16xf32>
// CHECK: %[[RWHOLE:.*]] = memref.subview %arg1[0, 0]
// CHECK: linalg.generic {indexing_maps = [#[[SWAP]], #[[COLPANEL]]]{{.*}} ins(%[[RWHOLE]] : {{.*}}) outs(%[[R]] : memref<?x?x16xf32>)
// CHECK: %[[OUT:.*]] = memref.cast %arg2 : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: call @stepc_product_blocks(%[[L]], %[[R]], %[[OUT]])
// CHECK: %[[LROWS:.*]] = memref.subview %arg0
// CHECK: linalg.generic {{.*}} ins(%[[LROWS]], %{{.*}} : memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x?xf32, strided<[?, 1]>>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.truncf
// CHECK: linalg.generic
// CHECK-NOT: memref.dealloc
// CHECK: return
// CHECK: func.func private @stepc_product_blocks(%[[LP:.*]]: memref<?x?x6xf32>, %[[RP:.*]]: memref<?x?x16xf32>, %[[C:.*]]: memref<?x?xf32, strided<[?, 1], offset: ?>>) attributes {passthrough = ["noinline"]}
// CHECK: scf.for %[[COL:.*]] = %c0 to %{{.*}} step %c16
// CHECK: scf.for %[[ROW:.*]] = %c0 to %{{.*}} step %c6
// CHECK-COUNT-12: vector.load %[[C]]
// CHECK: scf.for %[[K:.*]] = %c0 to %{{.*}} step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-NEXT: %[[R0:.*]] = vector.load %[[RP]][%{{.*}}, %[[K]], %c0] : memref<?x?x16xf32>, vector<8xf32>
// CHECK-NEXT: %[[R1:.*]] = vector.load %[[RP]][%{{.*}}, %[[K]], %c8] : memref<?x?x16xf32>, vector<8xf32>
// CHECK-NEXT: %[[L0:.*]] = memref.load %[[LP]][%{{.*}}, %[[K]], %c0] : memref<?x?x6xf32>
// CHECK-NEXT: %[[B0:.*]] = vector.broadcast %[[L0]] : f32 to vector<8xf32>
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[B0]], %[[R0]] : vector<8xf32>
// CHECK-NEXT: arith.addf %[[P]], %{{.*}} : vector<8xf32>
// CHECK-COUNT-11: arith.addf
// CHECK: scf.yield
// CHECK-COUNT-12: vector.store {{.*}}, %[[C]]
func.func @rounded_lhs(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %t = arith.truncf %x : f32 to bf16
    %e = arith.extf %t : bf16 to f32
    %p = arith.mulf %e, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A left factor read transposed, at (k, i): its panels read it so. Two
// products in a module share one blocked function.
// CHECK-DAG: #[[TRANSPOSED:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @transposed_lhs
// CHECK: linalg.generic {indexing_maps = [#[[TRANSPOSED]], #{{.*}}]{{.*}} outs(%{{.*}} : memref<?x?x6xf32>)
// CHECK: call @stepc_product_blocks
// CHECK: call @stepc_product_blocks
// CHECK: func.func private @stepc_product_blocks
// CHECK-NOT: func.func
func.func @transposed_lhs(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>, %d: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d0)>,
                                   affine_map<(d0, d1, d2) -> (d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d2)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %y, %x : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                   affine_map<(d0, d1, d2) -> (d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d2)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%d : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not products of one factor per side: left as they are.
// CHECK-LABEL: func.func @not_products
// CHECK-NOT: vector.
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: vector.
func.func @not_products(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>, %d: memref<?x?x?xf32>) {
  // The multiply's one factor reads both the row and the col.
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                   affine_map<(d0, d1, d2) -> (d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d2)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  // A sum of squares, not a product of two factors.
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                   affine_map<(d0, d1, d2) -> (d0, d2)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %p = arith.mulf %x, %x : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}
