// RUN: stepc-opt %s --stepc-add-packed-entries | FileCheck %s

// Each C-interface function gets a void(void**) twin that loads every
// argument through its pointer; declarations and other functions do not.
// CHECK-LABEL: llvm.func @stepc_o_g_packed(
// CHECK-SAME: %[[ARGS:.*]]: !llvm.ptr) {
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[ARGS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[A0:.*]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[ARGS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[A1:.*]] = llvm.load %[[P1]] : !llvm.ptr -> f32
// CHECK: llvm.call @_mlir_ciface_stepc_o_g(%[[A0]], %[[A1]]) : (!llvm.ptr, f32) -> ()
// CHECK-NOT: _packed
module {
  llvm.func @_mlir_ciface_stepc_o_g(%desc: !llvm.ptr, %lr: f32) {
    llvm.return
  }
  llvm.func @_mlir_ciface_external(!llvm.ptr)
  llvm.func @helper(%x: f32) {
    llvm.return
  }
}
