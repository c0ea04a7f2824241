// RUN: stepc-opt %s --split-input-file --stepc-outline-row-ranges --cse | FileCheck %s

// An update that touches only its own row of each buffer: a parallel range
// over blocks of at least 2^14 elements, each costing 8 per element.
// CHECK-LABEL: func.func @own_rows
// CHECK-SAME: (%[[W:.*]]: memref<?x?xf32>, %[[G:.*]]: memref<?x?xf32>, %[[LR:.*]]: f32)
// CHECK: %[[ROW_ELEMENTS:.*]] = arith.maxsi %{{.*}}, %c1
// CHECK: %[[ROWS:.*]] = arith.maxsi %{{.*}}, %c0
// CHECK: %[[BLOCK_ROWS:.*]] = arith.ceildivsi %c16384, %[[ROW_ELEMENTS]]
// CHECK: %[[BLOCK_ROWS1:.*]] = arith.maxsi %[[BLOCK_ROWS]], %c1
// CHECK: %[[BLOCKS:.*]] = arith.ceildivsi %[[ROWS]], %[[BLOCK_ROWS1]]
// CHECK: %[[BLOCK_ELEMENTS:.*]] = arith.muli %[[BLOCK_ROWS1]], %[[ROW_ELEMENTS]]
// CHECK: %[[COST:.*]] = arith.muli %[[BLOCK_ELEMENTS]], %c8
// CHECK: call @own_rows_rows0(%[[G]], %[[W]], %[[LR]], %[[BLOCK_ROWS1]], %[[COST]], %c0, %[[BLOCKS]])
// CHECK-NOT: scf.for
// CHECK: return
// CHECK: func.func private @own_rows_rows0
// CHECK-SAME: (%[[G2:.*]]: memref<?x?xf32>, %[[W2:.*]]: memref<?x?xf32>, %[[LR2:.*]]: f32, %[[R:.*]]: index, %{{.*}}: index, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"], stepc.distinct_buffers, stepc.parallel_ranges}
// CHECK: %[[ALL_ROWS:.*]] = memref.dim %[[W2]], %c0
// CHECK: scf.for %[[B:.*]] = %[[BEGIN]] to %[[END]]
// CHECK:   %[[FIRST_OFFSET:.*]] = arith.muli %[[B]]
// CHECK:   %[[FIRST:.*]] = arith.addi %c0, %[[FIRST_OFFSET]]
// CHECK:   %[[NEXT:.*]] = arith.addi %[[FIRST]]
// CHECK:   %[[LAST:.*]] = arith.minsi %[[ALL_ROWS]], %[[NEXT]]
// CHECK:   scf.for %[[I:.*]] = %[[FIRST]] to %[[LAST]]
// CHECK:     scf.for %[[J:[^ ]*]] =
// CHECK:       memref.load %[[G2]][%[[I]], %[[J]]]
// CHECK:       memref.store %{{.*}}, %[[W2]][%[[I]], %[[J]]]
func.func @own_rows(%w: memref<?x?xf32>, %g: memref<?x?xf32>, %lr: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %p = memref.load %w[%i, %j] : memref<?x?xf32>
      %d = arith.mulf %x, %lr : f32
      %q = arith.subf %p, %d : f32
      memref.store %q, %w[%i, %j] : memref<?x?xf32>
    }
  }
  return
}

// -----

// A column sum (REG's column norms): 16 blocks, each adding into its own
// cleared row of the partials; the partials are then added to the sums in
// block order. The row sum kept in the row's own element needs nothing.
// The views the body uses are made again inside.
// CHECK-LABEL: func.func @column_sums
// CHECK-SAME: (%[[G:.*]]: memref<?x?xf32>, %[[ROW:.*]]: memref<?xf32>, %[[COL:.*]]: memref<?xf32>)
// CHECK: arith.maxsi %{{.*}}, %c1
// CHECK: %[[ROWS:.*]] = arith.maxsi %{{.*}}, %c0
// CHECK: %[[BLOCK_ROWS:.*]] = arith.ceildivsi %[[ROWS]], %c16
// CHECK: %[[BLOCK_ROWS1:.*]] = arith.maxsi %[[BLOCK_ROWS]], %c1
// CHECK: %[[BLOCKS:.*]] = arith.ceildivsi %[[ROWS]], %[[BLOCK_ROWS1]]
// CHECK: %[[LEN:.*]] = memref.dim %[[COL]], %c0
// CHECK: %[[PARTIALS:.*]] = memref.alloc(%[[BLOCKS]], %[[LEN]]) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK: call @column_sums_rows0(%[[G]], %[[COL]], %[[ROW]], %[[PARTIALS]], %[[BLOCK_ROWS1]], %{{.*}}, %c0, %[[BLOCKS]])
// CHECK: call @stepc_add_block_partials_f32(%[[COL]], %[[PARTIALS]])
// CHECK: memref.dealloc %[[PARTIALS]]
// CHECK: func.func private @column_sums_rows0
// CHECK-SAME: (%{{.*}}: memref<?x?xf32>, %{{.*}}: memref<?xf32>, %[[ROW2:.*]]: memref<?xf32>, %[[ALL:.*]]: memref<?x?xf32>,
// CHECK: %[[ROW_VIEW:.*]] = memref.expand_shape %[[ROW2]]
// CHECK: scf.for %[[B:.*]] =
// CHECK:   %[[L:.*]] = memref.dim %[[ALL]], %c1
// CHECK:   %[[OWN:.*]] = memref.subview %[[ALL]][%[[B]], 0] [1, %[[L]]] [1, 1] : memref<?x?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK:   scf.for %[[J:.*]] = %c0 to %[[L]]
// CHECK:     memref.store %cst, %[[OWN]][%[[J]]]
// CHECK:   scf.for %[[I:.*]] =
// CHECK:     scf.for %[[J:[^ ]*]] =
// CHECK:       memref.load %[[OWN]][%[[J]]]
// CHECK:       memref.store %{{.*}}, %[[OWN]][%[[J]]]
// CHECK:     memref.store %{{.*}}, %[[ROW_VIEW]][%[[I]], %c0]
// The partials are added by one function per module and element type.
// CHECK: func.func private @stepc_add_block_partials_f32
// CHECK-SAME: (%[[SUMS:.*]]: memref<?xf32>, %[[ALL:.*]]: memref<?x?xf32>)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK: %[[BLOCKS:.*]] = memref.dim %[[ALL]], %c0
// CHECK: scf.for %[[B:.*]] = %c0 to %[[BLOCKS]]
// CHECK:   %[[L:.*]] = memref.dim %[[ALL]], %c1
// CHECK:   scf.for %[[J:.*]] = %c0 to %[[L]]
// CHECK:     %[[OLD:.*]] = memref.load %[[SUMS]][%[[J]]]
// CHECK:     %[[PART:.*]] = memref.load %[[ALL]][%[[B]], %[[J]]]
// CHECK:     %[[SUM:.*]] = arith.addf %[[OLD]], %[[PART]] : f32
// CHECK:     memref.store %[[SUM]], %[[SUMS]][%[[J]]]
func.func @column_sums(%g: memref<?x?xf32>, %row: memref<?xf32>, %col: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %g, %c0 : memref<?x?xf32>
  %n = memref.dim %g, %c1 : memref<?x?xf32>
  %rows = memref.expand_shape %row [[0, 1]] output_shape [%m, 1] : memref<?xf32> into memref<?x1xf32>
  scf.for %i = %c0 to %m step %c1 {
    %s = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %sq = arith.mulf %x, %x : f32
      %c = memref.load %col[%j] : memref<?xf32>
      %cs = arith.addf %sq, %c fastmath<reassoc> : f32
      memref.store %cs, %col[%j] : memref<?xf32>
      %next = arith.addf %sq, %acc fastmath<reassoc> : f32
      scf.yield %next : f32
    }
    memref.store %s, %rows[%i, %c0] : memref<?x1xf32>
  }
  return
}

// -----

// A whole sum (REG's RMS): each block sums from zero into its own element;
// the blocks' sums are added to the loop's init in block order.
// CHECK-LABEL: func.func @whole_sum
// CHECK-SAME: (%[[G:.*]]: memref<?x?xf32>, %[[INIT:.*]]: f32)
// CHECK: arith.maxsi %{{.*}}, %c1
// CHECK: %[[ROWS:.*]] = arith.maxsi %{{.*}}, %c0
// CHECK: arith.ceildivsi %[[ROWS]], %c16
// CHECK: %[[BLOCK_ROWS:.*]] = arith.maxsi
// CHECK: %[[BLOCKS:.*]] = arith.ceildivsi %[[ROWS]], %[[BLOCK_ROWS]]
// CHECK: %[[PARTIALS:.*]] = memref.alloc(%[[BLOCKS]]) {alignment = 64 : i64} : memref<?xf32>
// CHECK: call @whole_sum_rows0(%[[G]], %[[PARTIALS]],
// CHECK: %[[TOTAL:.*]] = scf.for %[[B:.*]] = %c0 to %[[BLOCKS]] step %c1 iter_args(%[[ACC:.*]] = %[[INIT]])
// CHECK:   %[[PART:.*]] = memref.load %[[PARTIALS]][%[[B]]]
// CHECK:   %[[NEXT:.*]] = arith.addf %[[ACC]], %[[PART]] : f32
// CHECK:   scf.yield %[[NEXT]]
// CHECK: memref.dealloc %[[PARTIALS]]
// CHECK: return %[[TOTAL]]
// CHECK: func.func private @whole_sum_rows0
// CHECK-SAME: %[[ALL:[^:]*]]: memref<?xf32>
// CHECK: scf.for %[[B:.*]] =
// CHECK:   %[[SUM:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %cst)
// CHECK:   memref.store %[[SUM]], %[[ALL]][%[[B]]]
func.func @whole_sum(%g: memref<?x?xf32>, %init: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %g, %c0 : memref<?x?xf32>
  %n = memref.dim %g, %c1 : memref<?x?xf32>
  %total = scf.for %i = %c0 to %m step %c1 iter_args(%outer = %init) -> (f32) {
    %s = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %outer) -> (f32) {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %sq = arith.mulf %x, %x : f32
      %next = arith.addf %sq, %acc fastmath<reassoc> : f32
      scf.yield %next : f32
    }
    scf.yield %s : f32
  }
  return %total : f32
}

// -----

// Loops whose rows depend on each other stay as they are.
// CHECK-LABEL: func.func @dependent_rows
// CHECK-NOT: call
// CHECK-COUNT-7: scf.for %{{.*}} = %c0 to %{{.*}} step %c1
// CHECK-NOT: call
func.func @dependent_rows(%g: memref<?x?xf32>, %w: memref<?x?xf32>, %col: memref<?xf32>, %v: memref<?xf32>) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %g, %c0 : memref<?x?xf32>
  %n = memref.dim %g, %c1 : memref<?x?xf32>
  // Each row reads the row above, which the loop writes.
  scf.for %i = %c1 to %m step %c1 {
    %above = arith.subi %i, %c1 : index
    scf.for %j = %c0 to %n step %c1 {
      %x = memref.load %w[%above, %j] : memref<?x?xf32>
      memref.store %x, %w[%i, %j] : memref<?x?xf32>
    }
  }
  // A column sum whose running value is also stored elsewhere.
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %c = memref.load %col[%j] : memref<?xf32>
      %s = arith.addf %x, %c fastmath<reassoc> : f32
      memref.store %s, %col[%j] : memref<?xf32>
      memref.store %s, %w[%i, %j] : memref<?x?xf32>
    }
  }
  // A column sum that may not be reassociated.
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %c = memref.load %col[%j] : memref<?xf32>
      %s = arith.addf %x, %c : f32
      memref.store %s, %col[%j] : memref<?xf32>
    }
  }
  // A running maximum is not a sum.
  %max = scf.for %i = %c0 to %m step %c1 iter_args(%outer = %zero) -> (f32) {
    %r = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %outer) -> (f32) {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %next = arith.maximumf %x, %acc : f32
      scf.yield %next : f32
    }
    scf.yield %r : f32
  }
  // A loop over a vector has no row of elements to count.
  %sum = scf.for %i = %c0 to %m step %c1 iter_args(%acc = %zero) -> (f32) {
    %x = memref.load %v[%i] : memref<?xf32>
    %next = arith.addf %x, %acc fastmath<reassoc> : f32
    scf.yield %next : f32
  }
  return %max, %sum : f32, f32
}

// -----

// One row is not worth a call; nor is a fill, which reads nothing (a
// memset, bound by memory), nor a function marked as a range already (a
// product's blocks).
// CHECK-LABEL: func.func @one_row
// CHECK-NOT: call
// CHECK-LABEL: func.func @fill
// CHECK-NOT: call
// CHECK-LABEL: func.func private @blocks
// CHECK-NOT: call
func.func @one_row(%w: memref<1x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %w, %c1 : memref<1x?xf32>
  scf.for %i = %c0 to %c1 step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      memref.store %zero, %w[%i, %j] : memref<1x?xf32>
    }
  }
  return
}
func.func @fill(%w: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      memref.store %zero, %w[%i, %j] : memref<?x?xf32>
    }
  }
  return
}
func.func private @blocks(%w: memref<?x?xf32>, %cost: index, %begin: index, %end: index) attributes {stepc.parallel_ranges} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  scf.for %i = %begin to %end step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      memref.store %zero, %w[%i, %j] : memref<?x?xf32>
    }
  }
  return
}

// -----

// A buffer a loop carries may be another buffer the loop also carries: the
// sweep over it is outlined, but its buffers are not promised distinct.
// CHECK-LABEL: func.func @carried
// CHECK: call @carried_rows0
// CHECK: func.func private @carried_rows0
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"], stepc.parallel_ranges}
func.func @carried(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %steps: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %a, %c0 : memref<?x?xf32>
  %n = memref.dim %a, %c1 : memref<?x?xf32>
  %r:2 = scf.for %s = %c0 to %steps step %c1 iter_args(%x = %a, %y = %b) -> (memref<?x?xf32>, memref<?x?xf32>) {
    scf.for %i = %c0 to %m step %c1 {
      scf.for %j = %c0 to %n step %c1 {
        %v = memref.load %x[%i, %j] : memref<?x?xf32>
        %w = arith.mulf %v, %v : f32
        memref.store %w, %y[%i, %j] : memref<?x?xf32>
      }
    }
    scf.yield %y, %x : memref<?x?xf32>, memref<?x?xf32>
  }
  return
}
