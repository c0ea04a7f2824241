// RUN: stepc-opt %s --stepc-form-phased-gpu-kernels --split-input-file --verify-diagnostics

// Functions the phased kernel cannot run are errors that name the reason
// (stepc compile --target=cuda drops them with the same text as a warning).


func.func @on_stack(%w: memref<?xf32> {stepc.param_dims = array<i64: 0>}) {
  // expected-error @+1 {{the GPU kernel of on_stack cannot run memref.alloca}}
  %a = memref.alloca() : memref<f32>
  return
}

// -----

func.func @unbounded(%w: memref<?xf32> {stepc.param_dims = array<i64: 0>},
                     %n: i32) {
  %size = arith.index_cast %n : i32 to index
  // expected-error @+1 {{cannot bound the size of this buffer by the param's dims, which the GPU kernel's scratch needs}}
  %a = memref.alloc(%size) : memref<?xf32>
  return
}
