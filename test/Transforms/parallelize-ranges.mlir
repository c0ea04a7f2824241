// RUN: stepc-opt %s --split-input-file --stepc-parallelize-ranges \
// RUN:   --verify-diagnostics | FileCheck %s

// Calls of a function marked stepc.parallel_ranges go through a dispatch:
// a null `run` in the exported table means the call as before, else the
// operands but the bounds are stored in a stack frame (allocated in the
// entry block) and `run(context, begin, end, cost, task, frame)` shares
// the range; the task loads them and calls the function on its piece.
// CHECK: llvm.mlir.global external @stepc_parallel_ranges() {{.*}} : !llvm.struct<(ptr, ptr)> {
// CHECK-LABEL: llvm.func @caller
// CHECK: llvm.call @panels_dispatch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: llvm.call @panels_dispatch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CHECK-NOT: llvm.call @panels(
// CHECK: llvm.return
// CHECK-LABEL: llvm.func @panels
// CHECK-SAME: stepc.parallel_ranges
// CHECK-LABEL: llvm.func internal @panels_task
// CHECK-SAME: (%[[ENV:.+]]: !llvm.ptr, %[[B:.+]]: i64, %[[E:.+]]: i64)
// CHECK: %[[F0:.+]] = llvm.getelementptr %[[ENV]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, f32, i64)>
// CHECK: %[[P:.+]] = llvm.load %[[F0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[F1:.+]] = llvm.getelementptr %[[ENV]][0, 1]
// CHECK: %[[S:.+]] = llvm.load %[[F1]] : !llvm.ptr -> f32
// CHECK: %[[F2:.+]] = llvm.getelementptr %[[ENV]][0, 2]
// CHECK: %[[COST:.+]] = llvm.load %[[F2]] : !llvm.ptr -> i64
// CHECK: llvm.call @panels(%[[P]], %[[S]], %[[COST]], %[[B]], %[[E]])
// CHECK-LABEL: llvm.func internal @panels_dispatch
// CHECK-SAME: (%[[DP:.+]]: !llvm.ptr, %[[DS:.+]]: f32, %[[DC:.+]]: i64, %[[DB:.+]]: i64, %[[DE:.+]]: i64)
// CHECK: %[[FRAME:.+]] = llvm.alloca %{{.+}} x !llvm.struct<(ptr, f32, i64)>
// CHECK: %[[T:.+]] = llvm.mlir.addressof @stepc_parallel_ranges
// CHECK: %[[RF:.+]] = llvm.getelementptr %[[T]][0, 0]
// CHECK: %[[HOOKFN:.+]] = llvm.load %[[RF]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[UNSET:.+]] = llvm.icmp "eq" %[[HOOKFN]], %{{.+}} : !llvm.ptr
// CHECK: llvm.cond_br %[[UNSET]], ^[[DIRECT:.+]], ^[[HOOK:[a-z0-9]+]]
// CHECK: ^[[DIRECT]]:
// CHECK-NEXT: llvm.call @panels(%[[DP]], %[[DS]], %[[DC]], %[[DB]], %[[DE]])
// CHECK-NEXT: llvm.return
// CHECK: ^[[HOOK]]:
// CHECK: llvm.store %[[DP]], %{{.+}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %[[DS]], %{{.+}} : f32, !llvm.ptr
// CHECK: llvm.store %[[DC]], %{{.+}} : i64, !llvm.ptr
// CHECK: %[[CF:.+]] = llvm.getelementptr %{{.+}}[0, 1]
// CHECK: %[[CONTEXT:.+]] = llvm.load %[[CF]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[TASK:.+]] = llvm.mlir.addressof @panels_task
// CHECK: llvm.call %[[HOOKFN]](%[[CONTEXT]], %[[DB]], %[[DE]], %[[DC]], %[[TASK]], %[[FRAME]]) : !llvm.ptr, (!llvm.ptr, i64, i64, i64, !llvm.ptr, !llvm.ptr) -> ()
llvm.func @caller(%p: !llvm.ptr, %s: f32, %n: i64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %cost = llvm.mlir.constant(4096 : i64) : i64
  llvm.call @panels(%p, %s, %cost, %c0, %n) : (!llvm.ptr, f32, i64, i64, i64) -> ()
  llvm.call @panels(%p, %s, %cost, %c0, %n) : (!llvm.ptr, f32, i64, i64, i64) -> ()
  llvm.return
}
llvm.func @panels(%p: !llvm.ptr, %s: f32, %cost: i64, %begin: i64, %end: i64) attributes {stepc.parallel_ranges} {
  llvm.return
}

// -----

// Nothing marked: no table.
// CHECK-LABEL: llvm.func @plain
// CHECK-NOT: stepc_parallel_ranges
llvm.func @plain(%n: i64) {
  llvm.return
}

// -----

// expected-error @below {{a function marked stepc.parallel_ranges must return nothing and end with (cost, begin, end) parameters of type i64}}
llvm.func @wrong(%p: !llvm.ptr, %begin: i64, %end: i32) attributes {stepc.parallel_ranges} {
  llvm.return
}

// -----

// expected-error @below {{a function marked stepc.parallel_ranges must have a body}}
llvm.func @external(%cost: i64, %begin: i64, %end: i64) attributes {stepc.parallel_ranges}
