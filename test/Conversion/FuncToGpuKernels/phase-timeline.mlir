// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels=phase-timeline=true --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels | FileCheck %s --check-prefix=OFF

// The phase timeline (docs/Design/PhaseTimeline.md): thread 0 of each
// sub-grid's first block empties its region of the barrier buffer at the
// start (block 0 the grid's too), and after each grid barrier thread 0 of
// the first block that met there appends (site, %globaltimer / 32). The
// module names the sites: what each phase ran and where the source has it,
// numbered per place and kind.
// CHECK: module attributes {{{.*}}stepc.phase_timeline_sites = ["phase-timeline.mlir:{{[0-9]+}} element-wise 1", "phase-timeline.mlir:{{[0-9]+}} element-wise 1", "no grid-wide work"]
// CHECK-LABEL: gpu.func @transposed
// The regions start after gridDim + 1 words, rounded up to 64.
// CHECK: %[[GRID:.*]] = arith.index_castui %grid_dim_x : index to i64
// CHECK: %[[BLOCK:.*]] = arith.index_castui %block_id_x : index to i64
// CHECK: %[[THREAD0:.*]] = arith.cmpi eq, %{{.*}}, %c0_i64 : i64
// CHECK: %[[ROUND:.*]] = arith.addi %[[GRID]], %c64_i64 : i64
// CHECK: %[[DIV:.*]] = arith.divui %[[ROUND]], %c64_i64 : i64
// CHECK: %[[AT:.*]] = arith.muli %[[DIV]], %c64_i64 : i64
// CHECK: %[[REGIONS:.*]] = llvm.getelementptr %arg4[%[[AT]]]
// A region is 2 + 2 * 4096 words: the count, the start, the marks.
// CHECK: scf.if
// CHECK: arith.muli %{{.*}}, %c8194_i64 : i64
// CHECK: llvm.store %c0_i32
// CHECK: nvvm.read.ptx.sreg.globaltimer
// CHECK: arith.shrui %{{.*}}, %c5_i64 : i64
// Site 1 after the first barrier, by the first block that met there, in
// the region of the barrier's word; the count grows past the capacity too.
// CHECK: llvm.call @stepc_grid_barrier(%[[WORD:.*]], %[[FIRST:.*]], %{{.*}}) {convergent}
// CHECK-NEXT: %[[FIRST64:.*]] = arith.extui %[[FIRST]] : i32 to i64
// CHECK-NEXT: %[[LEADS:.*]] = arith.cmpi eq, %[[BLOCK]], %[[FIRST64]] : i64
// CHECK-NEXT: %[[RECORDS:.*]] = arith.andi %[[THREAD0]], %[[LEADS]] : i1
// CHECK-NEXT: scf.if %[[RECORDS]] {
// CHECK-NEXT: %[[W:.*]] = llvm.ptrtoint %[[WORD]]
// CHECK-NEXT: %[[BASE:.*]] = llvm.ptrtoint %arg4
// CHECK-NEXT: %[[BYTES:.*]] = arith.subi %[[W]], %[[BASE]] : i64
// CHECK-NEXT: %[[INDEX:.*]] = arith.divui %[[BYTES]], %c4_i64 : i64
// CHECK-NEXT: %[[OFFSET:.*]] = arith.muli %[[INDEX]], %c8194_i64 : i64
// CHECK-NEXT: %[[REGION:.*]] = llvm.getelementptr %[[REGIONS]][%[[OFFSET]]]
// CHECK-NEXT: %[[COUNT:.*]] = llvm.load %[[REGION]]
// CHECK-NEXT: %[[ROOM:.*]] = arith.cmpi ult, %[[COUNT]], %c4096_i32 : i32
// CHECK-NEXT: scf.if %[[ROOM]] {
// CHECK: llvm.store %c1_i32
// CHECK-NEXT: nvvm.read.ptx.sreg.globaltimer
// CHECK-NEXT: arith.shrui
// CHECK-NEXT: arith.trunci
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: llvm.store {{.*}} : i32, !llvm.ptr<1>
// CHECK-NEXT: {{^ *}$}}
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[COUNT]], %c1_i32 : i32
// CHECK-NEXT: llvm.store %[[NEXT]], %[[REGION]]
// CHECK: llvm.call @stepc_grid_barrier
// CHECK-NEXT: scf.if %[[RECORDS]] {
// CHECK: llvm.store %c2_i32
// CHECK: llvm.call @stepc_grid_barrier
// CHECK: llvm.store %c3_i32
// Without the option nothing is recorded and the calls keep no tag.
// OFF-NOT: {{stepc.phase[ _]}}
// OFF-LABEL: gpu.func @transposed
// OFF-NOT: globaltimer
// OFF-NOT: {{stepc.phase[ _]}}
// OFF: gpu.return

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

func.func @transposed(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %q: memref<?x?xf32> {stepc.param_dims = array<i64: 1, 0>}) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x?xf32>) outs(%q : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.subf %x, %o : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// In a loop, the work after an iteration's last barrier runs before the
// next iteration's first: that barrier (site 1, where the loop starts)
// ends the third op's phase, which the tensor's last barrier (site 4) ends
// after the loop.
// CHECK: module attributes {{{.*}}stepc.phase_timeline_sites = ["phase-timeline.mlir:[[OP3:[0-9]+]] element-wise 1", "phase-timeline.mlir:{{[0-9]+}} element-wise 1", "phase-timeline.mlir:{{[0-9]+}} element-wise 1", "phase-timeline.mlir:[[OP3]] element-wise 1", "no grid-wide work"]
// CHECK-LABEL: gpu.func @loop
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

func.func @loop(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %s: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %q: memref<?x?xf32> {stepc.param_dims = array<i64: 1, 0>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  scf.for %i = %c0 to %c3 step %c1 {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%w : memref<?x?xf32>) outs(%s : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.addf %x, %x : f32
      linalg.yield %y : f32
    }
    linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
        ins(%s : memref<?x?xf32>) outs(%q : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.subf %x, %o : f32
      linalg.yield %y : f32
    }
    linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
        ins(%q : memref<?x?xf32>) outs(%w : memref<?x?xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = arith.mulf %x, %o : f32
      linalg.yield %y : f32
    }
  }
  return
}
