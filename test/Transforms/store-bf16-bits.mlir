// RUN: stepc-opt %s --stepc-store-bf16-bits | FileCheck %s

// A bf16 value stored twice, as a symmetric product's rounded epilogue
// does in the host emulation: both stores store its i16 bits. Other
// stores are left alone.
// CHECK-LABEL: llvm.func @stores
// CHECK-SAME: (%[[P:.+]]: !llvm.ptr, %[[Q:.+]]: !llvm.ptr, %[[V:.+]]: bf16, %[[W:.+]]: vector<4xbf16>, %[[F:.+]]: f32)
// CHECK: %[[B1:.+]] = llvm.bitcast %[[V]] : bf16 to i16
// CHECK-NEXT: llvm.store %[[B1]], %[[P]] : i16, !llvm.ptr
// CHECK-NEXT: %[[B2:.+]] = llvm.bitcast %[[V]] : bf16 to i16
// CHECK-NEXT: llvm.store %[[B2]], %[[Q]] : i16, !llvm.ptr
// CHECK-NEXT: %[[BW:.+]] = llvm.bitcast %[[W]] : vector<4xbf16> to vector<4xi16>
// CHECK-NEXT: llvm.store %[[BW]], %[[P]] : vector<4xi16>, !llvm.ptr
// CHECK-NEXT: llvm.store %[[F]], %[[Q]] : f32, !llvm.ptr
llvm.func @stores(%p: !llvm.ptr, %q: !llvm.ptr, %v: bf16, %w: vector<4xbf16>, %f: f32) {
  llvm.store %v, %p : bf16, !llvm.ptr
  llvm.store %v, %q : bf16, !llvm.ptr
  llvm.store %w, %p : vector<4xbf16>, !llvm.ptr
  llvm.store %f, %q : f32, !llvm.ptr
  llvm.return
}
