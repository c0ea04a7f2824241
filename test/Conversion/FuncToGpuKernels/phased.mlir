// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels=batch-same-shapes=false --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels="max-registers=128 batch-same-shapes=false" | FileCheck %s --check-prefix=MAXREG
// One tensor at a time (batch-same-shapes=false): batches.mlir checks the
// batched form (docs/Design/Batching.md).

// A bufferized group function: w -= lr * g / |g|. The norm is a reduction
// with no parallel loop (split into per-warp partials), the update an
// element-wise op into a scratch buffer, copied back.

#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>
func.func @scale_by_norm(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>},
    %lr: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc() : memref<f32>
  memref.store %zero, %sum[] : memref<f32>
  linalg.generic {indexing_maps = [#id, #all],
                  iterator_types = ["reduction", "reduction"]}
      ins(%g : memref<?x?xf32>) outs(%sum : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq = arith.mulf %x, %x : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  %total = memref.load %sum[] : memref<f32>
  %norm = math.sqrt %total : f32
  %scale = arith.divf %lr, %norm : f32
  %rows = memref.dim %w, %c0 : memref<?x?xf32>
  %cols = memref.dim %w, %c1 : memref<?x?xf32>
  %next = memref.alloc(%rows, %cols) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id, #id],
                  iterator_types = ["parallel", "parallel"]}
      ins(%w, %g : memref<?x?xf32>, memref<?x?xf32>) outs(%next : memref<?x?xf32>) {
  ^bb0(%p: f32, %d: f32, %out: f32):
    %t = arith.mulf %d, %scale : f32
    %u = arith.subf %p, %t : f32
    linalg.yield %u : f32
  }
  memref.copy %next, %w : memref<?x?xf32> to memref<?x?xf32>
  return
}

// The runtime's scratch: per tensor, the 0-d sum and the rows x cols
// buffer, each 256-byte aligned; room for one f32 partial per thread
// before them (a warp's lane 0 uses its own).
// CHECK: module attributes {gpu.container_module, stepc.phased_kernels = {scale_by_norm = {partials = 1 : i64, scratch = "0 4 align add 4 rows mul cols mul align add", work = "rows cols mul rows cols mul add rows cols mul add"}}}

// The barrier of the blocks [first, first + blocks) at a word: the first
// adds 0x80000000 - (blocks - 1), the others 1; thread 0 spins on bit 31
// with acquire loads.
// CHECK-LABEL: llvm.func internal @stepc_grid_barrier(%arg0: !llvm.ptr<1>, %arg1: i32, %arg2: i32) attributes {convergent}
// CHECK: nvvm.barrier0
// CHECK: llvm.icmp "eq" %{{.*}}, %arg1 : i32
// CHECK: llvm.sub %{{.*}}, %arg2 : i32
// CHECK: llvm.fence syncscope("device") release
// CHECK: llvm.atomicrmw add %arg0, %{{.*}} syncscope("device") monotonic
// CHECK: llvm.load %arg0 atomic syncscope("device") acquire
// CHECK: nvvm.barrier0

// CHECK-LABEL: gpu.func @scale_by_norm(%arg0: !llvm.ptr<1>, %arg1: i32, %arg2: !llvm.ptr<1>, %arg3: !llvm.ptr<1>, %arg4: !llvm.ptr<1>, %arg5: i32) kernel
// The grid is %arg5 sub-grids of equal block counts; thread indices and
// counts are the sub-grid's, and so is the barrier inside the tensor loop
// (word 1 + s, from the sub-grid's first block).
// CHECK: %[[SUBS:.*]] = arith.index_castui %arg5 : i32 to index
// CHECK-NEXT: %[[BLOCKS:.*]] = arith.divui %grid_dim_x, %[[SUBS]] : index
// CHECK-NEXT: %[[SUB:.*]] = arith.divui %block_id_x, %[[BLOCKS]] : index
// CHECK-NEXT: %[[FIRSTBLOCK:.*]] = arith.muli %[[SUB]], %[[BLOCKS]] : index
// CHECK-NEXT: %[[BLOCK:.*]] = arith.subi %block_id_x, %[[FIRSTBLOCK]] : index
// CHECK: %[[THREAD:.*]] = arith.addi
// CHECK: %[[THREADS:.*]] = arith.muli %[[BLOCKS]], %{{.*}} : index
// CHECK: %[[WORDAT:.*]] = arith.addi %[[SUB]], %c1 : index
// CHECK: %[[WORD:.*]] = llvm.getelementptr %arg4[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i32
// CHECK-NEXT: %[[FIRST32:.*]] = arith.index_castui %[[FIRSTBLOCK]] : index to i32
// CHECK-NEXT: %[[BLOCKS32:.*]] = arith.index_castui %[[BLOCKS]] : index to i32
// CHECK-NEXT: %[[GRID32:.*]] = arith.index_castui %grid_dim_x : index to i32
// A slot whose found-inf (step control word 3) is nonzero counts as empty.
// CHECK: %[[GIVEN:.*]] = arith.index_castui %arg1 : i32 to index
// CHECK: %[[HAS:.*]] = arith.cmpi ugt, %[[GIVEN]], %c0 : index
// CHECK: %[[SKIP:.*]] = scf.if %[[HAS]] -> (i1) {
// CHECK: llvm.getelementptr %arg2[3]
// CHECK: arith.cmpf une
// CHECK: %[[N:.*]] = arith.select %[[SKIP]], %c0, %[[GIVEN]] : index
// Each sub-grid's partials after the ones before it.
// CHECK: %[[PARTIALSAT:.*]] = arith.muli %[[SUB]], %[[THREADS]] : index
// CHECK: %[[PARTIALS:.*]] = llvm.getelementptr %arg3[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
// With any tensor to step (a launch may leave a slot empty): the hyper
// through its address (word 4), the grad scale (word 2; 1 without one),
// then one iteration per tensor.
// CHECK: %[[ANY:.*]] = arith.cmpi ugt, %[[N]], %c0 : index
// CHECK: scf.if %[[ANY]] {
// CHECK-NEXT: %[[LRAT:.*]] = llvm.getelementptr %arg2[4]
// CHECK-NEXT: %[[LRADDR:.*]] = llvm.load %[[LRAT]] : !llvm.ptr<1> -> !llvm.ptr<1>
// CHECK-NEXT: %[[LR:.*]] = llvm.load %[[LRADDR]] : !llvm.ptr<1> -> f32
// CHECK-NEXT: llvm.getelementptr %arg2[2]
// CHECK: %[[SCALE:.*]] = scf.if
// Each sub-grid's buffers after the ones before it, as large as the
// largest tensor's.
// CHECK: scf.for %{{.*}} = %c0 to %[[N]] step %c1 iter_args(%{{.*}} = %c0) -> (index) {
// CHECK: arith.maxui
// The runtime's schedule follows the tensors' 4-word records: sub-grid s
// steps positions start[s] to start[s + 1], each holding a tensor's index
// after the S + 1 starts (SubGrids.md, "Balancing the sub-grids").
// CHECK: %[[RECORDS:.*]] = arith.muli %{{.*}}, %c4_i64 : i64
// CHECK-NEXT: %[[SCHEDULE:.*]] = llvm.getelementptr %arg0[%[[RECORDS]]] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i64
// CHECK-NEXT: %[[POSITIONS:.*]] = arith.addi %[[SUBS]], %c1 : index
// CHECK-NEXT: %[[SUB64:.*]] = arith.index_castui %[[SUB]] : index to i64
// CHECK-NEXT: %[[STARTAT:.*]] = llvm.getelementptr %[[SCHEDULE]][%[[SUB64]]]
// CHECK-NEXT: %[[START:.*]] = llvm.load %[[STARTAT]] : !llvm.ptr<1> -> i64
// CHECK-NEXT: %[[BEGIN:.*]] = arith.index_castui %[[START]] : i64 to index
// CHECK-NEXT: %[[ENDAT:.*]] = llvm.getelementptr %[[SCHEDULE]][%{{.*}}]
// CHECK-NEXT: %[[STOP:.*]] = llvm.load %[[ENDAT]] : !llvm.ptr<1> -> i64
// CHECK-NEXT: %[[END:.*]] = arith.index_castui %[[STOP]] : i64 to index
// CHECK-NEXT: scf.for %[[P:.*]] = %[[BEGIN]] to %[[END]] step %c1 {
// CHECK-NEXT: %[[AT:.*]] = arith.addi %[[POSITIONS]], %[[P]] : index
// CHECK-NEXT: %[[AT64:.*]] = arith.index_castui %[[AT]] : index to i64
// CHECK-NEXT: %[[TAT:.*]] = llvm.getelementptr %[[SCHEDULE]][%[[AT64]]]
// CHECK-NEXT: %[[T:.*]] = llvm.load %[[TAT]] : !llvm.ptr<1> -> i64
// CHECK-NEXT: %[[RECORD:.*]] = arith.muli %[[T]], %c4_i64 : i64
// CHECK-NEXT: llvm.getelementptr %arg0[%[[RECORD]]]
// The param's dims follow the two pointers of the tensor's record.
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<?x?xf32>
// The store outside any loop: thread 0, then a barrier.
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[THREAD]], %c0 : index
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK: llvm.call @stepc_grid_barrier(%[[WORD]], %[[FIRST32]], %[[BLOCKS32]]) {convergent}
// The norm: each thread sums its grid-stride share, a butterfly of
// shuffles sums each warp's, lane 0 stores the warp's partial; after a
// barrier the first warp folds the partials (lane l every 32nd) and lane 0
// adds the total to the output.
// Every loop and buffer alike in row-major order: one loop over the
// elements of the buffer viewed flat.
// CHECK: %[[FLATG:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<?x?xf32> into memref<?xf32>
// CHECK-NEXT: %[[N:.*]] = memref.dim %[[FLATG]], %c0 : memref<?xf32>
// CHECK-NEXT: %[[PART:.*]] = scf.for %[[E:.*]] = %[[THREAD]] to %[[N]] step %[[THREADS]] iter_args(%{{.*}} = %{{.*}}) -> (f32) {
// Every gradient load is unscaled.
// CHECK-NEXT: %[[G:.*]] = memref.load %[[FLATG]][%[[E]]] : memref<?xf32>
// CHECK-NEXT: arith.divf %[[G]], %[[SCALE]] : f32
// CHECK: %[[S16:.*]], %{{.*}} = gpu.shuffle xor %[[PART]], %c16_i32, %c32_i32 : f32
// CHECK-NEXT: %[[P16:.*]] = arith.addf %[[PART]], %[[S16]] : f32
// CHECK-NEXT: %[[S8:.*]], %{{.*}} = gpu.shuffle xor %[[P16]], %c8_i32, %c32_i32 : f32
// CHECK: gpu.shuffle xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK-NEXT: %[[WARPSUM:.*]] = arith.addf
// CHECK-NEXT: %[[LANE:.*]] = arith.remui %[[THREAD]], %c32 : index
// CHECK-NEXT: %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
// CHECK-NEXT: scf.if %[[LANE0]] {
// CHECK-NEXT: %[[WARP:.*]] = arith.divui %[[THREAD]], %c32 : index
// CHECK-NEXT: %[[AT:.*]] = arith.index_castui %[[WARP]] : index to i64
// CHECK-NEXT: %[[SLOT:.*]] = llvm.getelementptr %[[PARTIALS]][%[[AT]]]
// CHECK-NEXT: llvm.store %[[WARPSUM]], %[[SLOT]] : f32, !llvm.ptr<1>
// CHECK: llvm.call @stepc_grid_barrier(%[[WORD]], %[[FIRST32]], %[[BLOCKS32]]) {convergent}
// CHECK-NEXT: %[[WARP0:.*]] = arith.cmpi ult, %[[THREAD]], %c32 : index
// CHECK-NEXT: scf.if %[[WARP0]] {
// CHECK-NEXT: %[[WARPS:.*]] = arith.divui %[[THREADS]], %c32 : index
// CHECK-NEXT: %[[FOLD:.*]] = scf.for %{{.*}} = %[[LANE]] to %[[WARPS]] step %c32 iter_args
// CHECK: llvm.load
// CHECK: arith.addf
// CHECK: gpu.shuffle xor %[[FOLD]], %c16_i32, %c32_i32 : f32
// CHECK: gpu.shuffle xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK-NEXT: %[[TOTAL:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: scf.if %[[LANE0]] {
// CHECK-NEXT: %[[OLD:.*]] = memref.load %{{.*}}[] : memref<f32>
// CHECK-NEXT: %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]] : f32
// CHECK-NEXT: memref.store %[[NEW]]
// CHECK: llvm.call @stepc_grid_barrier(%[[WORD]], %[[FIRST32]], %[[BLOCKS32]]) {convergent}
// Every thread reads the norm.
// CHECK: memref.load %{{.*}}[] : memref<f32>
// CHECK: math.sqrt
// The update: grid-stride over rows x cols, the last dim fastest.
// Groups of four elements per thread: vectors when the buffers are
// aligned, else the group's elements one by one.
// CHECK: %[[GROUP:.*]] = arith.muli %[[THREAD]], %c4 : index
// CHECK-NEXT: %[[GROUPS:.*]] = arith.muli %[[THREADS]], %c4 : index
// CHECK-NEXT: scf.if %{{.*}} {
// CHECK-NEXT: scf.for %[[V:.*]] = %[[GROUP]] to %{{.*}} step %[[GROUPS]] {
// CHECK: vector.load %{{.*}}[%[[V]]] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK: arith.subf
// CHECK: vector.store %{{.*}}[%[[V]]] {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// CHECK: } else {
// CHECK-NEXT: scf.for %{{.*}} = %[[GROUP]] to %{{.*}} step %[[GROUPS]] {
// CHECK: arith.subf
// CHECK: memref.store
// The copy back with no barrier before it: both loops run over the
// buffer's own shape in the same groups, so each element is read by the
// thread that wrote it. The barrier after it lets the next tensor reuse
// the scratch.
// CHECK-NOT: llvm.call @stepc_grid_barrier
// CHECK: scf.for %{{.*}} = %[[GROUP]] to %{{.*}} step %[[GROUPS]] {
// CHECK: vector.store
// CHECK: scf.for %{{.*}} = %[[GROUP]] to %{{.*}} step %[[GROUPS]] {
// CHECK: memref.store
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: llvm.call @stepc_grid_barrier(%[[WORD]], %[[FIRST32]], %[[BLOCKS32]]) {convergent}
// After the tensor loop, with sub-grids, the whole grid meets (word 0)
// before thread 0 stores the count.
// CHECK-NEXT: }
// CHECK-NEXT: %[[SEVERAL:.*]] = arith.cmpi ugt, %[[SUBS]], %c1 : index
// CHECK-NEXT: scf.if %[[SEVERAL]] {
// CHECK-NEXT: llvm.call @stepc_grid_barrier(%arg4, %c0_i32, %[[GRID32]]) {convergent}
// CHECK-NEXT: }
// After the last barrier no thread reads the count: thread 0 of sub-grid 0
// advances it, once.
// CHECK-NEXT: %[[LEADER:.*]] = arith.cmpi eq, %[[THREAD]], %c0 : index
// CHECK-NEXT: %[[SUB0:.*]] = arith.cmpi eq, %[[SUB]], %c0 : index
// CHECK-NEXT: %[[ONCE:.*]] = arith.andi %[[LEADER]], %[[SUB0]] : i1
// CHECK-NEXT: scf.if %[[ONCE]] {
// CHECK-NEXT: %[[COUNT:.*]] = llvm.load %arg2 : !llvm.ptr<1> -> i64
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[COUNT]], %c1_i64 : i64
// CHECK-NEXT: llvm.store %[[NEXT]], %arg2 : i64, !llvm.ptr<1>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return

// A register cap rides on the kernel as nvvm.maxnreg (PTX .maxnreg).
// MAXREG: gpu.func @scale_by_norm({{.*}}) kernel attributes {nvvm.maxnreg = 128 : i32}
