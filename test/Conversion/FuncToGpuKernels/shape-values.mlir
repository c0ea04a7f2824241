// A group without reductions whose update reads a value of the tensor's
// shape (Muon's `shape(keller)` scale, here without Newton–Schulz) is not
// element-wise: that kernel sees a tensor as its element count only. It
// becomes a phased kernel, which has the rows and cols. (The element-wise
// path took the scale's ops along without the dims they read, and
// stepc-opt crashed.)
// RUN: not stepc-opt --stepc-lower-to-linalg --stepc-form-gpu-kernels %s 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ELEMENTWISE
// RUN: stepc-opt --stepc-gpu-kernels %s | FileCheck %s

// ELEMENTWISE: error: group function stepc_scaled_hidden is not element-wise: GPU kernels for groups with reductions, matmuls or values of the shape need phases
// ELEMENTWISE: note: here: memref.dim

// The dims come from the phased kernel's tensor record.
// CHECK: gpu.func @stepc_scaled_hidden(
// CHECK: math.sqrt
// CHECK-NOT: func.func @stepc_scaled_hidden
step.optimizer @scaled {
  step.group @hidden accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      hyper(%lr : f32 = 2.0e-2) {
    %s = step.scale %g shape(keller) : tensor<?x?xf32>
    %w1 = step.apply %w, %s lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}
