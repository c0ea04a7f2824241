// ARO, Adaptively Rotated Optimization (Gong, Zazo, Luo, Wang, Hensman, Ma,
// arXiv 2602.09006), with the row-norm base optimizer. Reference code:
// microsoft/dion dion/aro.py (shared ALGORITHMS.md §11; design:
// docs/Design/Aro.md). Defaults: lr = 0.01, mu = 0.95, weight_decay = 0.01,
// base_opt = "row_norm", adjust_lr = "rms_norm".
//
//   M ← μ·M + (1−μ)·G                       (EMA from zero)
//   C = M·f(Rᵀ M)ᵀ                          (m×m; R starts at the identity)
//   R ← Q, C = Q·R'                         (QR)
//   U = Q·f(Qᵀ M),  f(X) = √n·X / max(‖x_i‖, 1e-8)   (each row x_i)
//   W ← W·(1 − lr·λ) − lr·0.2·√max(m, n)·U
//
// R is an m×m state (square(rows)). Q is unique up to column signs; U does
// not depend on them, R does, so compare U, not R, with other
// implementations. Bind tall weights (m > n) transposed: for them C has
// rank at most n and part of the update is set by rounding, in the
// reference too (docs/Design/Aro.md). The rotation is computed in f32 (the
// reference's R and products are f32). ARO-Sinkhorn (base_opt="sinkhorn",
// the paper's strongest variant) replaces each normalize_rows below with
// five alternations of `normalize_rows` and `normalize_cols`, both
// target(sqrt_dim) eps(1.0e-8) mode(clamp); test/Numerics/presets.py runs
// that variant too.
step.optimizer @aro {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros,
            %r : tensor<?x?xf32> = identity square(rows))
      hyper(%lr : f32 = 0.01, %wd : f32 = 0.01) {
    %m1, %mu = step.momentum ema %g, %m beta(0.95) : tensor<?x?xf32>
    %rm = step.matmul %r, %m1 transpose(lhs)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %f = step.normalize_rows %rm target(sqrt_dim) eps(1.0e-8) mode(clamp)
        : tensor<?x?xf32>
    %cross = step.matmul %m1, %f transpose(rhs)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %q = step.qr %cross : tensor<?x?xf32>
    %qm = step.matmul %q, %m1 transpose(lhs)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %fq = step.normalize_rows %qm target(sqrt_dim) eps(1.0e-8) mode(clamp)
        : tensor<?x?xf32>
    %u = step.matmul %q, %fq
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %u1 = step.scale %u factor(0.2) shape(sqrt_max_dim) : tensor<?x?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32)
        : tensor<?x?xf32>
    %w2 = step.apply %w1, %u1 lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1, %q : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>
  }

  // Embeddings, heads, gains and biases: AdamW (PyTorch semantics) with
  // ARO's scalar betas (0.9, 0.95).
  step.group @adamw accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 0.01, %wd : f32 = 0.01) count(%t : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.95) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.95) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
