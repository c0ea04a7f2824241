// RUN: stepc-opt %s --stepc-mark-distinct-buffers | FileCheck %s

// Every pointer parameter of a function over distinct buffers is noalias;
// other parameters and other functions are left as they are.
// CHECK-LABEL: llvm.func internal @sweep
// CHECK-SAME: (%{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: i64, %{{.*}}: f32, %{{.*}}: !llvm.ptr {llvm.noalias})
llvm.func internal @sweep(%a: !llvm.ptr, %b: !llvm.ptr, %n: i64, %x: f32, %c: !llvm.ptr) attributes {stepc.distinct_buffers} {
  llvm.return
}

// CHECK-LABEL: llvm.func @other
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-NOT: noalias
llvm.func @other(%a: !llvm.ptr, %b: !llvm.ptr) {
  llvm.return
}
