// One matrix group with a row reduction: no element-wise group, so no
// CUDA kernel at all yet.
step.optimizer @rows {
  step.group @hidden accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      hyper(%lr : f32 = 1.0e-3) {
    %d = step.normalize_rows %g target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %w1 = step.apply %w, %d lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}
