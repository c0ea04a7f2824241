// RUN: stepc-opt %s --split-input-file --stepc-route-scratch-allocations \
// RUN:   --verify-diagnostics | FileCheck %s

// The generic allocation functions finalize-memref-to-llvm declares get
// internal bodies: a null hook in the exported table means malloc / free,
// else the hook is called with the table's context first. The allocation
// keeps what LLVM knows of malloc (a noalias result) by not being inlined.
// CHECK-DAG: llvm.func @malloc(i64) -> !llvm.ptr
// CHECK-DAG: llvm.func @free(!llvm.ptr)
// CHECK-DAG: llvm.mlir.global external @stepc_scratch_allocator() {{.*}} : !llvm.struct<(ptr, ptr, ptr)> {
// CHECK-LABEL: llvm.func internal @_mlir_memref_to_llvm_alloc
// CHECK-SAME: (%[[N:.+]]: i64) -> (!llvm.ptr {llvm.noalias})
// CHECK-SAME: no_inline
// CHECK: %[[T:.+]] = llvm.mlir.addressof @stepc_scratch_allocator
// CHECK: %[[AF:.+]] = llvm.getelementptr %[[T]][0, 0]
// CHECK: %[[A:.+]] = llvm.load %[[AF]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[UNSET:.+]] = llvm.icmp "eq" %[[A]], %{{.+}} : !llvm.ptr
// CHECK: llvm.cond_br %[[UNSET]], ^[[LIBC:.+]], ^[[HOOK:[a-z0-9]+]]
// CHECK: ^[[HOOK]]:
// CHECK: %[[CF:.+]] = llvm.getelementptr %{{.+}}[0, 2]
// CHECK: %[[C:.+]] = llvm.load %[[CF]]
// CHECK: %[[R:.+]] = llvm.call %[[A]](%[[C]], %[[N]]) : !llvm.ptr, (!llvm.ptr, i64) -> !llvm.ptr
// CHECK: llvm.return %[[R]]
// CHECK: ^[[LIBC]]:
// CHECK: llvm.call @malloc(%[[N]])
// CHECK-LABEL: llvm.func internal @_mlir_memref_to_llvm_free
// CHECK-SAME: (%[[P:.+]]: !llvm.ptr)
// CHECK: llvm.getelementptr %{{.+}}[0, 1]
// CHECK: llvm.cond_br %{{.+}}, ^[[LIBC2:.+]], ^[[HOOK2:[a-z0-9]+]]
// CHECK: ^[[HOOK2]]:
// CHECK: llvm.getelementptr %{{.+}}[0, 2]
// CHECK: llvm.call %{{.+}}(%{{.+}}, %[[P]]) : !llvm.ptr, (!llvm.ptr, !llvm.ptr) -> ()
// CHECK: ^[[LIBC2]]:
// CHECK: llvm.call @free(%[[P]])
// CHECK-LABEL: llvm.func @step
// CHECK: llvm.call @_mlir_memref_to_llvm_alloc
llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
llvm.func @_mlir_memref_to_llvm_free(!llvm.ptr)
llvm.func @step(%n: i64) {
  %p = llvm.call @_mlir_memref_to_llvm_alloc(%n) : (i64) -> !llvm.ptr
  llvm.call @_mlir_memref_to_llvm_free(%p) : (!llvm.ptr) -> ()
  llvm.return
}

// -----

// A module that allocates nothing gets no table.
// CHECK-NOT: stepc_scratch_allocator
// CHECK-LABEL: llvm.func @pure
llvm.func @pure() {
  llvm.return
}

// -----

// Aligned allocations (use-aligned-alloc) would bypass the pool: refused.
// expected-error@below {{aligned allocations are not routed}}
llvm.func @_mlir_memref_to_llvm_aligned_alloc(i64, i64) -> !llvm.ptr
