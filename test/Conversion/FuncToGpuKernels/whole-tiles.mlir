// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels --canonicalize --cse | FileCheck %s
// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels=matmul-whole-tiles=false --canonicalize --cse | FileCheck %s --check-prefix=CHECKED

// A Gram of a rounded iterate, both factors bf16 rows copied by cp.async
// (docs/Design/GpuKernels.md, "Whole tiles"). Per tile the block asks once
// whether every copy of every k-step lies inside its matrix, aligned; if
// so, a k loop copies without checks, else the checked loop runs.

#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>
#lhs = affine_map<(i, k, j) -> (i, k)>
#rhsT = affine_map<(i, k, j) -> (j, k)>
#out = affine_map<(i, k, j) -> (i, j)>

func.func @rounded_gram(
    %w: memref<?x?xf32> {stepc.param_dims = array<i64: 0, 1>},
    %g: memref<?x?xf32> {stepc.grad, stepc.param_dims = array<i64: 0, 1>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %w, %c0 : memref<?x?xf32>
  %n = memref.dim %w, %c1 : memref<?x?xf32>
  %xb = memref.alloc(%m, %n) : memref<?x?xbf16>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<?x?xf32>) outs(%xb : memref<?x?xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %r = arith.truncf %x : f32 to bf16
    linalg.yield %r : bf16
  }
  %a = memref.alloc(%m, %m) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%xb, %xb : memref<?x?xbf16>, memref<?x?xbf16>) outs(%a : memref<?x?xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%g : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// CHECK-LABEL: gpu.func @rounded_gram(
// The question, per tile: whole k-steps, the tile's lines inside the
// factors, the matrix's start and row stride at 16 bytes.
// CHECK: %[[KREM:.*]] = arith.remui %dim{{.*}}, %c32 : index
// CHECK: arith.cmpi eq, %[[KREM]], %c0 : index
// CHECK: %[[LEND:.*]] = arith.addi %{{.*}}, %c64 : index
// CHECK: arith.cmpi ule, %[[LEND]], %{{.*}} : index
// CHECK: %[[START:.*]] = memref.extract_aligned_pointer_as_index
// CHECK: arith.remui %[[START]], %c16 : index
// CHECK: arith.remui %strides#0, %c8 : index
// CHECK: %[[REND:.*]] = arith.addi %{{.*}}, %c64 : index
// CHECK: arith.cmpi ule, %[[REND]], %{{.*}} : index
// CHECK: %{{.*}}:16 = scf.if %{{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// Whole: three k-steps issued before the loop, 16 bytes per factor each,
// 64 bytes further along the rows and 2560 words further in shared memory
// per k-step.
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.shared.global
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: arith.addi %{{.*}}, %c64 : index
// CHECK: arith.addi %{{.*}}, %c2560_i32 : i32
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// The loop carries each copy's global address and advances it by 64
// bytes; its only branch is whether a k-step is left to issue.
// CHECK: %{{.*}}:18 = scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args({{.*}}) -> ({{.*}}, index, index) {
// CHECK-NEXT: nvvm.cp.async.wait.group 2
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[STEP:.*]] = arith.index_castui
// CHECK-NEXT: arith.addi
// CHECK-NEXT: arith.cmpi ult
// CHECK-NEXT: scf.if
// CHECK-NOT: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK-NOT: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.cp.async.commit.group
// Fragments from the stage's start (32-bit) plus the lane's offsets.
// CHECK-NEXT: %[[STAGE:.*]] = arith.remui %[[STEP]], %c4_i32 : i32
// CHECK-NEXT: %[[WORD:.*]] = arith.muli %[[STAGE]], %c2560_i32 : i32
// CHECK-NEXT: arith.addi %[[WORD]], %{{.*}} : i32
// CHECK-NEXT: arith.addi %[[WORD]], %{{.*}} : i32
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: nvvm.ldmatrix
// CHECK-NOT: scf.if
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK-NOT: scf.if
// CHECK: arith.addi %{{.*}}, %c64 : index
// CHECK-NEXT: arith.addi %{{.*}}, %c64 : index
// CHECK-NEXT: scf.yield
// Any other tile: the checked loop, each copy by cp.async where its run
// is inside and aligned, element by element where not.
// CHECK: } else {
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 2
// CHECK: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK: } else {
// CHECK: memref.load
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK: gpu.return

// With matmul-whole-tiles=false every tile takes the checked loop.
// CHECKED-LABEL: gpu.func @rounded_gram(
// CHECKED-NOT: arith.remui %dim{{.*}}, %c32 : index
// CHECKED: scf.for
// CHECKED: nvvm.cp.async.wait.group 2
// CHECKED-COUNT-8: nvvm.mma.sync
// CHECKED-NOT: nvvm.mma.sync
// CHECKED: gpu.return
