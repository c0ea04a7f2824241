// RUN: stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels="batch-same-shapes=false matmul-wgmma=true" --canonicalize --cse | FileCheck %s
// RUN: not stepc-opt %s --split-input-file --stepc-form-phased-gpu-kernels="matmul-wgmma=true matmul-tile=128" 2>&1 | FileCheck %s --check-prefix=BAD-TILE
// The tensor-core matmuls as wgmma.mma_async (docs/Design/Wgmma.md):
// warpgroup w of a block computes cols 32w to 32w + 31 of a 64 x 64 tile
// with two m64n32k16 per k-step of 32, reading core matrices of the stage
// through descriptors. tensor-cores.mlir checks the mma.sync form.

#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// A product of bf16 matrices, both read along k: L's rows and R's cols are
// K-major core matrices (B col: not transposed). The descriptors hold the
// stage's shared address over 16 in 14 bits, LBO 1024 bytes (64 << 16) and
// SBO 128 (8 << 32): 34363932672. Per k-step the writers fence their
// stage for the async proxy before the block meets; the second k16 half
// is 2 LBO further (+128). The next k-step's copies issue while the
// products run, which are done before the loop goes on.
// CHECK-LABEL: gpu.func @product
// CHECK-SAME: nvvm.maxnreg = 128
// CHECK: %[[BASE:.*]] = llvm.ptrtoint %{{.*}} : !llvm.ptr<3> to i64
// CHECK: scf.for
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: %[[STAGE:.*]] = arith.addi %[[BASE]], %{{.*}} : i64
// CHECK-NEXT: %[[MASKED:.*]] = arith.andi %[[STAGE]], %c262143_i64 : i64
// CHECK-NEXT: %[[START:.*]] = arith.shrui %[[MASKED]], %c4_i64 : i64
// CHECK-NEXT: %[[DESCA:.*]] = arith.ori %[[START]], %c34363932672_i64 : i64
// CHECK: %[[DESCB:.*]] = arith.ori %{{.*}}, %c34363932672_i64 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[FIRST:.*]] = nvvm.wgmma.mma_async %[[DESCA]], %[[DESCB]], %{{.*}}, <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: %[[HALFA:.*]] = arith.addi %[[DESCA]], %c128_i64 : i64
// CHECK-NEXT: %[[HALFB:.*]] = arith.addi %[[DESCB]], %c128_i64 : i64
// CHECK-NEXT: nvvm.wgmma.mma_async %[[HALFA]], %[[HALFB]], %[[FIRST]], <m = 64, n = 32, k = 16>
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: nvvm.ldmatrix
// CHECK: gpu.return
func.func @product(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %a: memref<?x?xbf16> {stepc.param_dims = array<i64: 0, 0>},
    %b: memref<?x?xbf16> {stepc.param_dims = array<i64: 1, 0>}) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, affine_map<(d0, d1, d2) -> (d2, d1)>, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x?xbf16>, memref<?x?xbf16>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %fx = arith.extf %x : bf16 to f32
    %fy = arith.extf %y : bf16 to f32
    %p = arith.mulf %fx, %fy : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// BAD-TILE: error: matmul-wgmma computes 64 x 64 block tiles only, not matmul-tile=128

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// R read along its rows at (k, col), staged k by k: N-major core matrices,
// the transposed form (B row).
// CHECK-LABEL: gpu.func @product_by_rows
// CHECK: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK-NOT: nvvm.ldmatrix
// CHECK: gpu.return
func.func @product_by_rows(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %a: memref<?x?xbf16> {stepc.param_dims = array<i64: 0, 0>},
    %b: memref<?x?xbf16> {stepc.param_dims = array<i64: 0, 1>}) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x?xbf16>, memref<?x?xbf16>) outs(%w : memref<?x?xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %fx = arith.extf %x : bf16 to f32
    %fy = arith.extf %y : bf16 to f32
    %p = arith.mulf %fx, %fy : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}
