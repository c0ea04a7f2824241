// Chains of normalizations, for test/Python/normalization_chains.py: the
// CPU pipeline carries each as two scale vectors
// (stepc-fold-normalization-chains).
step.optimizer @chains {
  // SinkGD's step: rows and columns to √n and √m, clamped, five times (a
  // zero row's factor √n/ε, compounded five times, would overflow f32).
  step.group @sinkgd accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      hyper(%lr : f32 = 1.0) {
    %r1 = step.normalize_rows %g target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %c1 = step.normalize_cols %r1 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %r2 = step.normalize_rows %c1 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %c2 = step.normalize_cols %r2 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %r3 = step.normalize_rows %c2 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %c3 = step.normalize_cols %r3 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %r4 = step.normalize_rows %c3 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %c4 = step.normalize_cols %r4 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %r5 = step.normalize_rows %c4 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %c5 = step.normalize_cols %r5 target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<?x?xf32>
    %w1 = step.apply %w, %c5 lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
  // Unit targets, ε added, two row normalizations in a row.
  step.group @added accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      hyper(%lr : f32 = 1.0) {
    %c1 = step.normalize_cols %g eps(1.0e-3) : tensor<?x?xf32>
    %r1 = step.normalize_rows %c1 eps(1.0e-3) : tensor<?x?xf32>
    %r2 = step.normalize_rows %r1 eps(1.0e-3) : tensor<?x?xf32>
    %w1 = step.apply %w, %r2 lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}
