// RUN: stepc-opt %s --split-input-file --stepc-fuse-row-loops | FileCheck %s

// SinkGD's normalization after lowering: a row sum, the row scale it
// updates, then a column sum weighted by the row scale. One loop over the
// rows; the column sum's buffer and zero fill move above it.
// CHECK-LABEL: func.func @row_then_col
// CHECK-SAME: (%[[G:.*]]: memref<?x?xf32>, %[[M:.*]]: index, %[[N:.*]]: index)
// CHECK: %[[S:.*]] = memref.alloc(%[[M]])
// CHECK: %[[R:.*]] = memref.alloc(%[[M]])
// CHECK: %[[C:.*]] = memref.alloc(%[[N]])
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[N]]
// CHECK:   memref.store %{{.*}}, %[[C]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[M]]
// CHECK:   %[[SUM:.*]] = scf.for
// CHECK:   memref.store %[[SUM]], %[[S]][%[[I]]]
// CHECK:   memref.load %[[S]][%[[I]]]
// CHECK:   memref.store %{{.*}}, %[[R]][%[[I]], %{{.*}}]
// CHECK:   scf.for %[[J:.*]] =
// CHECK:     memref.load %[[G]][%[[I]], %[[J]]]
// CHECK:     memref.store %{{.*}}, %[[C]][%[[J]]]
// CHECK-NOT: scf.for
// CHECK: return %[[C]]
func.func @row_then_col(%g: memref<?x?xf32>, %m: index, %n: index) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc(%m) : memref<?xf32>
  scf.for %i = %c0 to %m step %c1 {
    %sum = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %sq = arith.mulf %x, %x : f32
      %next = arith.addf %sq, %acc : f32
      scf.yield %next : f32
    }
    memref.store %sum, %s[%i] : memref<?xf32>
  }
  %r = memref.alloc(%m) : memref<?x1xf32>
  scf.for %i = %c0 to %m step %c1 {
    %v = memref.load %s[%i] : memref<?xf32>
    %root = math.sqrt %v : f32
    memref.store %root, %r[%i, %c0] : memref<?x1xf32>
  }
  %rv = memref.collapse_shape %r [[0, 1]] : memref<?x1xf32> into memref<?xf32>
  %c = memref.alloc(%n) : memref<?xf32>
  scf.for %j = %c0 to %n step %c1 {
    memref.store %zero, %c[%j] : memref<?xf32>
  }
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %x = memref.load %g[%i, %j] : memref<?x?xf32>
      %w = memref.load %rv[%i] : memref<?xf32>
      %acc = memref.load %c[%j] : memref<?xf32>
      %p = arith.mulf %x, %w : f32
      %next = arith.addf %p, %acc : f32
      memref.store %next, %c[%j] : memref<?xf32>
    }
  }
  return %c : memref<?xf32>
}

// -----

// The second loop reads the whole vector the first one writes (a row of the
// first's result per column): it must wait for every row.
// CHECK-LABEL: func.func @negative_reads_other_rows
// CHECK-COUNT-2: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
func.func @negative_reads_other_rows(%g: memref<?x?xf32>, %s: memref<?xf32>, %m: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %m step %c1 {
    %x = memref.load %g[%i, %c0] : memref<?x?xf32>
    memref.store %x, %s[%i] : memref<?xf32>
  }
  scf.for %i = %c0 to %m step %c1 {
    %y = memref.load %s[%c0] : memref<?xf32>
    memref.store %y, %g[%i, %c1] : memref<?x?xf32>
  }
  return
}

// -----

// Loops over other ranges, loops that call out, and loops separated by an
// op reading what the first writes stay apart.
// CHECK-LABEL: func.func @negative_others
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[M:.*]] step
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[N:.*]] step
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[M]] step
// CHECK: func.call @opaque
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[M]] step
// CHECK: memref.copy
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[M]] step
func.func private @opaque(%i: index)
func.func @negative_others(%a: memref<?xf32>, %b: memref<?xf32>, %m: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.for %i = %c0 to %m step %c1 {
    memref.store %one, %a[%i] : memref<?xf32>
  }
  scf.for %i = %c0 to %n step %c1 {
    memref.store %one, %b[%i] : memref<?xf32>
  }
  scf.for %i = %c0 to %m step %c1 {
    func.call @opaque(%i) : (index) -> ()
  }
  scf.for %i = %c0 to %m step %c1 {
    memref.store %one, %a[%i] : memref<?xf32>
  }
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  scf.for %i = %c0 to %m step %c1 {
    memref.store %one, %b[%i] : memref<?xf32>
  }
  return
}

// -----

// Freeing a buffer the first loop writes is writing it: it stays after the
// loop, and so the loops stay apart.
// CHECK-LABEL: func.func @negative_free
// CHECK: scf.for
// CHECK: memref.dealloc
// CHECK: scf.for
func.func @negative_free(%b: memref<?xf32>, %m: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %a = memref.alloc(%m) : memref<?xf32>
  scf.for %i = %c0 to %m step %c1 {
    memref.store %one, %a[%i] : memref<?xf32>
  }
  memref.dealloc %a : memref<?xf32>
  scf.for %i = %c0 to %m step %c1 {
    memref.store %one, %b[%i] : memref<?xf32>
  }
  return
}
