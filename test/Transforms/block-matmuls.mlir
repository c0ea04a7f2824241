// RUN: stepc-opt %s --split-input-file --stepc-block-matmuls --canonicalize --cse | FileCheck %s
// The CPU's matrix products in register blocks of 6 rows by 16 cols: each
// factor packed into panels (its own ops done once per element), then a
// call of the module's one blocked function, whose k loop carries 12
// vectors of 8, each element still summing a rounded multiply then a
// rounded add in ascending k. Rows and cols outside whole blocks stay the
// generic, over views; a factor's panels are filled along its rows. A
// symmetric product computes the blocks that reach
// the diagonal or above it and copies the rest across. The blocked
// function is a parallel range over col panels: (cost, begin, end) last,
// cost the multiply-adds of a panel.

#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROWPANEL:.*]] = affine_map<(d0, d1) -> (d0 floordiv 6, d1, d0 mod 6)>
// CHECK-DAG: #[[COLPANEL:.*]] = affine_map<(d0, d1) -> (d1 floordiv 16, d0, d1 mod 16)>
// CHECK-LABEL: func.func @rounded_lhs
// CHECK: %[[L:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x6xf32>
// CHECK: %[[LWHOLE:.*]] = memref.subview %arg0[0, 0]
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROWPANEL]]]{{.*}} ins(%[[LWHOLE]] : {{.*}}) outs(%[[L]] : memref<?x?x6xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.truncf
// CHECK-NEXT: arith.extf
// CHECK: %[[PANELS:.*]] = arith.divui %{{.*}}, %c16 : index
// CHECK: %[[R:.*]] = memref.alloc(%[[PANELS]], {{.*}}) {alignment = 64 : i64} : memref<?x?x16xf32>
// CHECK: %[[RWHOLE:.*]] = memref.subview %arg1[0, 0]
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[COLPANEL]]]{{.*}} ins(%[[RWHOLE]] : {{.*}}) outs(%[[R]] : memref<?x?x16xf32>)
// CHECK: %[[RC:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK-NEXT: %[[COST:.*]] = arith.muli %[[RC]], %c16 : index
// CHECK: %[[OUT:.*]] = memref.cast %arg2 : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: call @stepc_product_blocks(%[[L]], %[[R]], %[[OUT]], %false, %[[COST]], %c0, %[[PANELS]])
// CHECK: %[[LROWS:.*]] = memref.subview %arg0
// CHECK: linalg.generic {{.*}} ins(%[[LROWS]], %{{.*}} : memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x?xf32, strided<[?, 1]>>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.truncf
// CHECK: linalg.generic
// CHECK-NOT: memref.dealloc
// CHECK: return
// CHECK: func.func private @stepc_product_blocks(%[[LP:.*]]: memref<?x?x6xf32>, %[[RP:.*]]: memref<?x?x16xf32>, %[[C:.*]]: memref<?x?xf32, strided<[?, 1], offset: ?>>, %[[UPPER:.*]]: i1, %{{.*}}: index, %[[BEGIN:.*]]: index, %[[END:.*]]: index) attributes {passthrough = ["noinline"], stepc.parallel_ranges}
// CHECK: %[[BLOCKED:.*]] = arith.muli %{{.*}}, %c6
// CHECK: %[[FIRSTCOL:.*]] = arith.muli %[[BEGIN]], %c16
// CHECK: %[[ENDCOL:.*]] = arith.muli %[[END]], %c16
// CHECK: scf.for %[[COL:.*]] = %[[FIRSTCOL]] to %[[ENDCOL]] step %c16
// CHECK: %[[PAST:.*]] = arith.addi %[[COL]], %c16
// CHECK: %[[DIAGONAL:.*]] = arith.minui %[[BLOCKED]], %[[PAST]]
// CHECK: %[[ROWEND:.*]] = arith.select %[[UPPER]], %[[DIAGONAL]], %[[BLOCKED]]
// CHECK: scf.for %[[ROW:.*]] = %c0 to %[[ROWEND]] step %c6
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

// A left factor read transposed, at (k, i): its panels read it so, with
// k the outer loop (along its rows). Two products in a module share one
// blocked function.
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[KOUTER:.*]] = affine_map<(d0, d1) -> (d1 floordiv 6, d0, d1 mod 6)>
// CHECK-LABEL: func.func @transposed_lhs
// CHECK: linalg.generic {indexing_maps = [#[[ROWS]], #[[KOUTER]]]{{.*}} outs(%{{.*}} : memref<?x?x6xf32>)
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

// -----

// Newton–Schulz's Gram A = X·Xᵀ (X read in place at (j, k)) into a filled
// buffer is symmetric, and so is A·A: both compute the upper blocks only,
// then copy each element below the diagonal from its mirror image. A·X is
// not mirrored, and a Gram into a buffer the function did not fill may
// start unsymmetric: both are computed whole.
// CHECK-LABEL: func.func @symmetric
// CHECK: %[[A:.*]] = memref.alloc
// CHECK: %[[S:.*]] = memref.alloc
// CHECK: %[[ACAST:.*]] = memref.cast %[[A]]
// CHECK: call @stepc_product_blocks(%{{.*}}, %{{.*}}, %[[ACAST]], %true, %{{.*}}, %c0, %{{.*}})
// CHECK: scf.for %[[I:.*]] = %c1 to %[[M:.*]] step %c1 {
// CHECK-NEXT: scf.for %[[J:.*]] = %c0 to %[[I]] step %c1 {
// CHECK-NEXT: %[[V:.*]] = memref.load %[[A]][%[[J]], %[[I]]]
// CHECK-NEXT: memref.store %[[V]], %[[A]][%[[I]], %[[J]]]
// CHECK: %[[SCAST:.*]] = memref.cast %[[S]]
// CHECK: call @stepc_product_blocks(%{{.*}}, %{{.*}}, %[[SCAST]], %true, %{{.*}}, %c0, %{{.*}})
// CHECK: scf.for
// CHECK-NEXT: scf.for
// CHECK-NEXT: memref.load %[[S]]
// CHECK: call @stepc_product_blocks(%{{.*}}, %{{.*}}, %{{.*}}, %false, %{{.*}}, %c0, %{{.*}})
// CHECK-NOT: scf.for
// CHECK: call @stepc_product_blocks(%{{.*}}, %{{.*}}, %{{.*}}, %false, %{{.*}}, %c0, %{{.*}})
// CHECK-NOT: scf.for
// CHECK: return
#ik = affine_map<(d0, d1, d2) -> (d0, d1)>
#jk = affine_map<(d0, d1, d2) -> (d2, d1)>
#kj = affine_map<(d0, d1, d2) -> (d1, d2)>
#ij = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @symmetric(%x: memref<?x?xf32>, %r: memref<?x?xf32>, %g: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %x, %c0 : memref<?x?xf32>
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  %s = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<?x?xf32>)
  linalg.fill ins(%zero : f32) outs(%s : memref<?x?xf32>)
  linalg.generic {indexing_maps = [#ik, #jk, #ij],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %x : memref<?x?xf32>, memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %tv = arith.truncf %v : f32 to bf16
    %ev = arith.extf %tv : bf16 to f32
    %tu = arith.truncf %u : f32 to bf16
    %eu = arith.extf %tu : bf16 to f32
    %p = arith.mulf %eu, %ev : f32
    %sum = arith.addf %p, %acc : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#ik, #kj, #ij],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %a : memref<?x?xf32>, memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %p = arith.mulf %u, %v : f32
    %sum = arith.addf %p, %acc : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#ik, #kj, #ij],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%s, %x : memref<?x?xf32>, memref<?x?xf32>) outs(%r : memref<?x?xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %p = arith.mulf %u, %v : f32
    %sum = arith.addf %p, %acc : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#ik, #jk, #ij],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %x : memref<?x?xf32>, memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %p = arith.mulf %u, %v : f32
    %sum = arith.addf %p, %acc : f32
    linalg.yield %sum : f32
  }
  return
}
