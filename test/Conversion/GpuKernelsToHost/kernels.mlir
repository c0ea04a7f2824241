// RUN: stepc-opt %s --stepc-gpu-kernels-to-host --split-input-file --verify-diagnostics \
// RUN:   --allow-unregistered-dialect | FileCheck %s

// A kernel becomes a host function over the launch's parameter array and
// the thread's ids; the body is kept; the grid barrier calls through the
// pointer the emulator sets; memref globals move to the host module.

// CHECK-NOT: gpu.container_module
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_grid_barrier() {{.*}} : !llvm.ptr {
// CHECK: llvm.mlir.zero : !llvm.ptr
// CHECK: llvm.func internal @stepc_grid_barrier(%[[WORD:.*]]: !llvm.ptr<1>) {
// CHECK: %[[SLOT:.*]] = llvm.mlir.addressof @stepc_emulator_grid_barrier : !llvm.ptr
// CHECK: %[[FN:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[FLAT:.*]] = llvm.addrspacecast %[[WORD]] : !llvm.ptr<1> to !llvm.ptr
// CHECK: llvm.call %[[FN]](%[[FLAT]]) : !llvm.ptr, (!llvm.ptr) -> ()
// CHECK: memref.global "private" constant @table : memref<2xf32> = dense<[1.000000e+00, 2.000000e+00]>
// CHECK: func.func @scale(%[[PARAMS:.*]]: !llvm.ptr, %[[BLOCK:.*]]: index, %[[THREAD:.*]]: index, %[[BDIM:.*]]: index, %[[GDIM:.*]]: index) {
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[PARAMS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[DATA:.*]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr<1>
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[PARAMS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[N:.*]] = llvm.load %[[P1]] : !llvm.ptr -> i32
// CHECK: cf.br ^bb1(%[[DATA]], %[[N]], {{.*}} : !llvm.ptr<1>, i32, !llvm.ptr<1>)
// CHECK: ^bb1(%{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %[[BARRIER:.*]]: !llvm.ptr<1>):
// CHECK: arith.muli %[[BLOCK]], %[[BDIM]]
// CHECK: arith.addi %{{.*}}, %[[THREAD]]
// CHECK: arith.muli %[[GDIM]], %[[BDIM]]
// The y and z dimensions: ids 0, sizes 1.
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: arith.addi %[[C0]], %[[C1]]
// CHECK: memref.get_global @table
// CHECK: llvm.call @stepc_grid_barrier(%[[BARRIER]])
// CHECK: return
// CHECK-NOT: gpu.
module attributes {gpu.container_module} {
  memref.global "private" constant @table : memref<2xf32> = dense<[1.0, 2.0]>
  gpu.module @stepc_kernels {
    memref.global "private" constant @table : memref<2xf32> = dense<[1.0, 2.0]>
    llvm.func internal @stepc_grid_barrier(%word: !llvm.ptr<1>) {
      nvvm.barrier0
      llvm.return
    }
    gpu.func @scale(%data: !llvm.ptr<1>, %n: i32, %barrier: !llvm.ptr<1>) kernel {
      %block = gpu.block_id x
      %thread = gpu.thread_id x
      %bdim = gpu.block_dim x
      %gdim = gpu.grid_dim x
      %first = arith.muli %block, %bdim : index
      %id = arith.addi %first, %thread : index
      %threads = arith.muli %gdim, %bdim : index
      %y = gpu.thread_id y
      %ydim = gpu.block_dim z
      %sum = arith.addi %y, %ydim : index
      %t = memref.get_global @table : memref<2xf32>
      llvm.call @stepc_grid_barrier(%barrier) : (!llvm.ptr<1>) -> ()
      "test.keep"(%id, %threads, %sum, %t) : (index, index, index, memref<2xf32>) -> ()
      gpu.return
    }
  }
}

// -----

// __syncthreads() calls through the pointer the emulator sets for the
// block barrier.
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_block_barrier() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_block_barrier() {
// CHECK: %[[SLOT:.*]] = llvm.mlir.addressof @stepc_emulator_block_barrier : !llvm.ptr
// CHECK: %[[FN:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call %[[FN]]() : !llvm.ptr, () -> ()
// CHECK: func.func @synced(
// CHECK: llvm.call @stepc_block_barrier() : () -> ()
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @synced() kernel {
      gpu.barrier
      gpu.return
    }
  }
}

// -----

// mma.sync m16n8k16 bf16 → f32 hands the lane's fragments to the
// emulator's warp through one stack slot: A (4 words), B (2), C (4) in, D
// (4) out.
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_mma_bf16() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_mma_bf16(%[[FRAGMENTS:.*]]: !llvm.ptr) {
// CHECK: %[[SLOT:.*]] = llvm.mlir.addressof @stepc_emulator_mma_bf16 : !llvm.ptr
// CHECK: %[[FN:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call %[[FN]](%[[FRAGMENTS]]) : !llvm.ptr, (!llvm.ptr) -> ()
// CHECK: func.func @tensor_core(
// CHECK: %[[WORDS:.*]] = llvm.mlir.constant(14 : i64) : i64
// CHECK: %[[BUF:.*]] = llvm.alloca %[[WORDS]] x i32 {alignment = 16 : i64} : (i64) -> !llvm.ptr
// CHECK: %[[W0:.*]] = llvm.getelementptr %[[BUF]][0] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %{{.*}}, %[[W0]] : i32, !llvm.ptr
// CHECK: %[[W6:.*]] = llvm.getelementptr %[[BUF]][6] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %{{.*}}, %[[W6]] : f32, !llvm.ptr
// CHECK: llvm.call @stepc_mma_bf16(%[[BUF]]) : (!llvm.ptr) -> ()
// CHECK: %[[W10:.*]] = llvm.getelementptr %[[BUF]][10] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.load %[[W10]] : !llvm.ptr -> f32
// CHECK: %[[W13:.*]] = llvm.getelementptr %[[BUF]][13] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.load %[[W13]] : !llvm.ptr -> f32
// CHECK-NOT: nvvm.mma.sync
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @tensor_core(%a: i32, %b: i32, %c: f32, %out: !llvm.ptr<1>) kernel {
      %d = nvvm.mma.sync A[%a, %a, %a, %a] B[%b, %b] C[%c, %c, %c, %c]
          {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
           multiplicandAPtxType = #nvvm.mma_type<bf16>,
           multiplicandBPtxType = #nvvm.mma_type<bf16>,
           shape = #nvvm.shape<m = 16, n = 8, k = 16>}
          : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d3 = llvm.extractvalue %d[3] : !llvm.struct<(f32, f32, f32, f32)>
      llvm.store %d3, %out : f32, !llvm.ptr<1>
      gpu.return
    }
  }
}

// -----

// wgmma.mma_async m64nNk16 bf16 → f32 hands the thread's descriptors (two
// words each), its form (word 4: N = 8, B transposed (layout row): bit 17,
// scale-d one: bit 18; 393224) and its 4 accumulators (from word 5) to the
// emulator's warpgroup. The proxy fence tells the emulator that the
// thread's copies are visible to wgmma; the commit and the wait (with the
// groups it leaves in flight) how long the wgmma reads its factors.
// wgmma's fence has nothing to do there.
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_fence_proxy_async() {{.*}} : !llvm.ptr {
// CHECK: llvm.mlir.global external @stepc_emulator_wgmma_wait() {{.*}} : !llvm.ptr {
// CHECK: llvm.mlir.global external @stepc_emulator_wgmma_commit() {{.*}} : !llvm.ptr {
// CHECK: llvm.mlir.global external @stepc_emulator_wgmma_bf16() {{.*}} : !llvm.ptr {
// CHECK: func.func @warpgroup(
// CHECK: %[[WORDS:.*]] = llvm.mlir.constant(133 : i64) : i64
// CHECK: %[[BUF:.*]] = llvm.alloca %[[WORDS]] x i32 {alignment = 16 : i64} : (i64) -> !llvm.ptr
// CHECK: llvm.call @stepc_fence_proxy_async() : () -> ()
// CHECK-NOT: nvvm.wgmma.fence
// CHECK: llvm.store %{{.*}}, %{{.*}} : i64, !llvm.ptr
// CHECK: llvm.store %{{.*}}, %{{.*}} : i64, !llvm.ptr
// CHECK: %[[FORM:.*]] = llvm.mlir.constant(393224 : i32) : i32
// CHECK: %[[W4:.*]] = llvm.getelementptr %[[BUF]][4] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %[[FORM]], %[[W4]] : i32, !llvm.ptr
// CHECK: %[[W8:.*]] = llvm.getelementptr %[[BUF]][8] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %{{.*}}, %[[W8]] : f32, !llvm.ptr
// CHECK: llvm.call @stepc_wgmma_bf16(%[[BUF]]) : (!llvm.ptr) -> ()
// CHECK: %[[R8:.*]] = llvm.getelementptr %[[BUF]][8] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.load %[[R8]] : !llvm.ptr -> f32
// CHECK: llvm.call @stepc_wgmma_commit() : () -> ()
// CHECK: %[[IN_FLIGHT:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call @stepc_wgmma_wait(%[[IN_FLIGHT]]) : (i32) -> ()
// CHECK-NOT: nvvm.wgmma
// CHECK: return
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @warpgroup(%da: i64, %db: i64, %c: f32, %out: !llvm.ptr<1>) kernel {
      %u = llvm.mlir.undef : !llvm.struct<(f32, f32, f32, f32)>
      %a0 = llvm.insertvalue %c, %u[0] : !llvm.struct<(f32, f32, f32, f32)>
      %a1 = llvm.insertvalue %c, %a0[1] : !llvm.struct<(f32, f32, f32, f32)>
      %a2 = llvm.insertvalue %c, %a1[2] : !llvm.struct<(f32, f32, f32, f32)>
      %a3 = llvm.insertvalue %c, %a2[3] : !llvm.struct<(f32, f32, f32, f32)>
      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
      nvvm.wgmma.fence.aligned
      %d = nvvm.wgmma.mma_async %da, %db, %a3, <m = 64, n = 8, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>] : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 1
      %d3 = llvm.extractvalue %d[3] : !llvm.struct<(f32, f32, f32, f32)>
      llvm.store %d3, %out : f32, !llvm.ptr<1>
      gpu.return
    }
  }
}

// -----

// Other wgmma forms (here one that saturates) are not modelled.
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @saturating(%da: i64, %db: i64) kernel {
      %u = llvm.mlir.undef : !llvm.struct<(i32, i32, i32, i32)>
      // expected-error @+1 {{'nvvm.wgmma.mma_async' op is not modelled by the host CUDA emulator}}
      %d = nvvm.wgmma.mma_async %da, %db, %u, <m = 64, n = 8, k = 32>, D[<s32>, <one>, <satfinite>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>] : !llvm.struct<(i32, i32, i32, i32)> -> !llvm.struct<(i32, i32, i32, i32)>
      gpu.return
    }
  }
}

// -----

// Other mma forms are not modelled.
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @half(%a: vector<2xf16>, %c: f32) kernel {
      // expected-error @+1 {{'nvvm.mma.sync' op is not modelled by the host CUDA emulator}}
      %d = nvvm.mma.sync A[%a, %a, %a, %a] B[%a, %a] C[%c, %c, %c, %c]
          {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
           shape = #nvvm.shape<m = 16, n = 8, k = 16>}
          : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      gpu.return
    }
  }
}

// -----

// ldmatrix.x4 (8x8, b16, not transposed) hands the lane's row address, as
// a host pointer, to the emulator's warp through one stack slot (words 0
// and 1) and reads the lane's 4 registers from words 2 to 5.
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_ldmatrix_x4() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_ldmatrix_x4(%{{.*}}: !llvm.ptr) {
// CHECK: func.func @fragments(
// CHECK: %[[SIX:.*]] = llvm.mlir.constant(6 : i64) : i64
// CHECK: %[[BUF:.*]] = llvm.alloca %[[SIX]] x i32 {alignment = 8 : i64} : (i64) -> !llvm.ptr
// CHECK: %[[HOST:.*]] = llvm.addrspacecast %{{.*}} : !llvm.ptr<3> to !llvm.ptr
// CHECK: %[[W0:.*]] = llvm.getelementptr %[[BUF]][0] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %[[HOST]], %[[W0]] : !llvm.ptr, !llvm.ptr
// CHECK: llvm.call @stepc_ldmatrix_x4(%[[BUF]]) : (!llvm.ptr) -> ()
// CHECK: %[[W2:.*]] = llvm.getelementptr %[[BUF]][2] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.load %[[W2]] : !llvm.ptr -> i32
// CHECK: %[[W5:.*]] = llvm.getelementptr %[[BUF]][5] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.load %[[W5]] : !llvm.ptr -> i32
// CHECK-NOT: nvvm.ldmatrix
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    llvm.mlir.global internal @stepc_shared_tiles() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<256 x i32>
    gpu.func @fragments(%out: !llvm.ptr<1>) kernel {
      %tiles = llvm.mlir.addressof @stepc_shared_tiles : !llvm.ptr<3>
      %r = nvvm.ldmatrix %tiles {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
      %r3 = llvm.extractvalue %r[3] : !llvm.struct<(i32, i32, i32, i32)>
      llvm.store %r3, %out : i32, !llvm.ptr<1>
      gpu.return
    }
  }
}

// -----

// ldmatrix.x4.trans goes through a hook of its own, with the same words.
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_ldmatrix_x4_trans() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_ldmatrix_x4_trans(%{{.*}}: !llvm.ptr) {
// CHECK-NOT: @stepc_emulator_ldmatrix_x4()
// CHECK: func.func @transposed(
// CHECK: llvm.call @stepc_ldmatrix_x4_trans(%{{.*}}) : (!llvm.ptr) -> ()
// CHECK-NOT: nvvm.ldmatrix
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @transposed(%at: !llvm.ptr<3>, %out: !llvm.ptr<1>) kernel {
      %r = nvvm.ldmatrix %at {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
      %r0 = llvm.extractvalue %r[0] : !llvm.struct<(i32, i32, i32, i32)>
      llvm.store %r0, %out : i32, !llvm.ptr<1>
      gpu.return
    }
  }
}

// -----

// Other ldmatrix forms are not modelled.
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @two_matrices(%at: !llvm.ptr<3>) kernel {
      // expected-error @+1 {{'nvvm.ldmatrix' op is not modelled by the host CUDA emulator}}
      %r = nvvm.ldmatrix %at {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 2 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
      gpu.return
    }
  }
}

// -----

// cp.async of 16 bytes hands the lane's destination and source, as host
// pointers, to the emulator through one stack slot (words 0 and 1, 2 and
// 3); commit_group and wait_group N call the emulator, which keeps the
// thread's groups and writes their copies when a wait covers them.
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_cp_async_wait() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_cp_async_wait(%{{.*}}: i32) {
// CHECK: llvm.mlir.global external @stepc_emulator_cp_async_commit() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_cp_async_commit() {
// CHECK: llvm.mlir.global external @stepc_emulator_cp_async() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_cp_async(%{{.*}}: !llvm.ptr) {
// CHECK: func.func @copies(
// CHECK: %[[FOUR:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[BUF:.*]] = llvm.alloca %[[FOUR]] x i32 {alignment = 8 : i64} : (i64) -> !llvm.ptr
// CHECK: %[[DST:.*]] = llvm.addrspacecast %{{.*}} : !llvm.ptr<3> to !llvm.ptr
// CHECK: %[[W0:.*]] = llvm.getelementptr %[[BUF]][0] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %[[DST]], %[[W0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[SRC:.*]] = llvm.addrspacecast %{{.*}} : !llvm.ptr<1> to !llvm.ptr
// CHECK: %[[W2:.*]] = llvm.getelementptr %[[BUF]][2] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %[[SRC]], %[[W2]] : !llvm.ptr, !llvm.ptr
// CHECK: llvm.call @stepc_cp_async(%[[BUF]]) : (!llvm.ptr) -> ()
// CHECK-NEXT: llvm.call @stepc_cp_async_commit() : () -> ()
// CHECK-NEXT: %[[TWO:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK-NEXT: llvm.call @stepc_cp_async_wait(%[[TWO]]) : (i32) -> ()
// CHECK-NOT: nvvm.cp.async
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    llvm.mlir.global internal @stepc_shared_tiles() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<256 x i32>
    gpu.func @copies(%in: !llvm.ptr<1>) kernel {
      %tiles = llvm.mlir.addressof @stepc_shared_tiles : !llvm.ptr<3>
      nvvm.cp.async.shared.global %tiles, %in, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
      nvvm.cp.async.commit.group
      nvvm.cp.async.wait.group 2
      gpu.return
    }
  }
}

// -----

// Other cp.async forms are not modelled: a copy of fewer bytes than it
// writes.
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @zero_filled(%to: !llvm.ptr<3>, %from: !llvm.ptr<1>, %n: i32) kernel {
      // expected-error @+1 {{'nvvm.cp.async.shared.global' op is not modelled by the host CUDA emulator}}
      nvvm.cp.async.shared.global %to, %from, 16, cache = cg, %n : !llvm.ptr<3>, !llvm.ptr<1>, i32
      gpu.return
    }
  }
}

// -----

// A butterfly shuffle over the whole warp hands the lane's value (as i32)
// and lane mask to the emulator's warp through one stack slot and reads
// its partner's value from the third word; every lane is valid.
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_shuffle_xor() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_shuffle_xor(%[[WORDS:.*]]: !llvm.ptr) {
// CHECK: %[[SLOT:.*]] = llvm.mlir.addressof @stepc_emulator_shuffle_xor : !llvm.ptr
// CHECK: %[[FN:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call %[[FN]](%[[WORDS]]) : !llvm.ptr, (!llvm.ptr) -> ()
// CHECK: func.func @butterfly(
// CHECK: %[[THREE:.*]] = llvm.mlir.constant(3 : i64) : i64
// CHECK: %[[BUF:.*]] = llvm.alloca %[[THREE]] x i32 {alignment = 4 : i64} : (i64) -> !llvm.ptr
// CHECK: %[[BITS:.*]] = llvm.bitcast %{{.*}} : f32 to i32
// CHECK: %[[W0:.*]] = llvm.getelementptr %[[BUF]][0] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %[[BITS]], %[[W0]] : i32, !llvm.ptr
// CHECK: %[[W1:.*]] = llvm.getelementptr %[[BUF]][1] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %{{.*}}, %[[W1]] : i32, !llvm.ptr
// CHECK: llvm.call @stepc_shuffle_xor(%[[BUF]]) : (!llvm.ptr) -> ()
// CHECK: %[[W2:.*]] = llvm.getelementptr %[[BUF]][2] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: %[[OUT:.*]] = llvm.load %[[W2]] : !llvm.ptr -> i32
// CHECK: %[[VALUE:.*]] = llvm.bitcast %[[OUT]] : i32 to f32
// CHECK: %[[VALID:.*]] = arith.constant true
// CHECK: llvm.store %[[VALUE]], %{{.*}} : f32, !llvm.ptr<1>
// CHECK: llvm.store %[[VALID]], %{{.*}} : i1, !llvm.ptr<1>
// CHECK-NOT: gpu.shuffle
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @butterfly(%x: f32, %out: !llvm.ptr<1>, %flag: !llvm.ptr<1>) kernel {
      %c4 = arith.constant 4 : i32
      %c32 = arith.constant 32 : i32
      %y, %ok = gpu.shuffle xor %x, %c4, %c32 : f32
      llvm.store %y, %out : f32, !llvm.ptr<1>
      llvm.store %ok, %flag : i1, !llvm.ptr<1>
      gpu.return
    }
  }
}

// -----

// What the emulator does not model is an error, not a silent pass: other
// shuffle modes, and shuffles over part of a warp.
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @shuffles(%x: f32) kernel {
      %c1 = arith.constant 1 : i32
      %c16 = arith.constant 16 : i32
      %c32 = arith.constant 32 : i32
      // expected-error @+1 {{'gpu.shuffle' op is not modelled by the host CUDA emulator}}
      %y, %ok = gpu.shuffle idx %x, %c1, %c32 : f32
      // expected-error @+1 {{'gpu.shuffle' op is not modelled by the host CUDA emulator}}
      %z, %ok2 = gpu.shuffle xor %x, %c1, %c16 : f32
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @block_barrier() kernel {
      // expected-error @+1 {{'nvvm.barrier0' op is not modelled by the host CUDA emulator}}
      nvvm.barrier0
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    // expected-error @+1 {{'gpu.func' op has workgroup or private attributions}}
    gpu.func @shared() workgroup(%tile : memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    // expected-error @+1 {{'gpu.func' op has an argument of type 'memref<4xf32>', which a launch cannot pass by pointer}}
    gpu.func @descriptor(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// The tensor-core loops' shared array: each address of it asks the
// emulator for the running thread's block's copy (the bytes in, the
// address out, in one i64 word); the array itself stays behind. Their
// opaque thread index reads the thread argument.
// CHECK-NOT: stepc_shared_tiles
// CHECK-LABEL: llvm.mlir.global external @stepc_emulator_shared_memory() {{.*}} : !llvm.ptr {
// CHECK: llvm.func internal @stepc_shared_memory(%[[WORDS:.*]]: !llvm.ptr) {
// CHECK: func.func @staged(%{{.*}}: !llvm.ptr, %{{.*}}: index, %[[THREAD:.*]]: index, %{{.*}}: index, %{{.*}}: index) {
// CHECK: %[[TWO:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK: %[[BUF:.*]] = llvm.alloca %[[TWO]] x i32 {alignment = 8 : i64} : (i64) -> !llvm.ptr
// CHECK: %[[W0:.*]] = llvm.getelementptr %[[BUF]][0] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: llvm.store %[[BYTES]], %[[W0]] : i64, !llvm.ptr
// CHECK: llvm.call @stepc_shared_memory(%[[BUF]]) : (!llvm.ptr) -> ()
// CHECK: %[[HOST:.*]] = llvm.load %[[W0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[TILES:.*]] = llvm.addrspacecast %[[HOST]] : !llvm.ptr to !llvm.ptr<3>
// CHECK: %[[ID:.*]] = arith.index_castui %[[THREAD]] : index to i32
// CHECK: %[[AT:.*]] = llvm.getelementptr %[[TILES]][%[[ID]]] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
// CHECK: llvm.store %[[ID]], %[[AT]] : i32, !llvm.ptr<3>
// CHECK-NOT: llvm.inline_asm
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    llvm.mlir.global internal @stepc_shared_tiles() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<16 x i32>
    gpu.func @staged() kernel {
      %tiles = llvm.mlir.addressof @stepc_shared_tiles : !llvm.ptr<3>
      %thread = llvm.inline_asm has_side_effects "mov.u32 $0, %tid.x;", "=r" : () -> i32
      %at = llvm.getelementptr %tiles[%thread] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
      llvm.store %thread, %at : i32, !llvm.ptr<3>
      gpu.return
    }
  }
}

// -----

// Any other inline PTX is not modelled.
module attributes {gpu.container_module} {
  gpu.module @stepc_kernels {
    gpu.func @clock(%out: !llvm.ptr<1>) kernel {
      // expected-error @+1 {{'llvm.inline_asm' op is not modelled by the host CUDA emulator}}
      %t = llvm.inline_asm has_side_effects "mov.u32 $0, %clock;", "=r" : () -> i32
      llvm.store %t, %out : i32, !llvm.ptr<1>
      gpu.return
    }
  }
}
