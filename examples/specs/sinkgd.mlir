// SinkGD (Scetbon, Ma, Gong, Meeds, arXiv 2502.06742, "Gradient
// Multi-Normalization for Efficient LLM Training"), Algorithms 3 and 4.
//
// Source: the paper's algorithm as quoted in jdinalt/forgather
// src/forgather/ml/optim/sinkgd.py; shared ALGORITHMS.md §9. SR-Sinkhorn with
// L = 5 alternations: every row to ℓ2 norm sqrt(n), then every column to
// sqrt(m); columns are exact, rows approximate. Stateless, no weight decay.
// Norms are clamped at 1e-8 (as the implementations do; the paper has no ε).
// lr = 0.02 × 0.05 = 1e-3 for the matrices; Adam (lr = 0.02, betas
// (0.9, 0.999), eps = 1e-8, no weight decay) for embeddings, head, norms and
// biases, as in the paper's setup reproduced by forgather.
//
//   X ← G;  5× { X ← sqrt(n)·X_i/‖X_i‖ (rows);  X ← sqrt(m)·X_j/‖X_j‖ (cols) }
//   W ← W − lr·X
step.optimizer @sinkgd {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      hyper(%lr : f32 = 1.0e-3) {
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

  // Embeddings, head, norms and biases: Adam without weight decay.
  step.group @adam accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 2.0e-2) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w1 = step.apply %w, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
