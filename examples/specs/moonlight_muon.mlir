// Moonlight's Muon ("Muon is Scalable for LLM Training", arXiv 2502.16982).
//
// Source: MoonshotAI/Moonlight examples/toy_train.py; shared ALGORITHMS.md
// §4.3. Defaults: lr = 1e-3, wd = 0.1, momentum = 0.95, nesterov = True,
// ns_steps = 5; the AdamW side uses betas = (0.9, 0.95), eps = 1e-8 and
// shares lr and wd with Muon.
//
//   M ← μ·M + G ;  U ← G + μ·M                      heavy-ball + Nesterov
//   O ← NS5(U)                                       Keller's coefficients
//   W ← W·(1 − lr·wd) − lr·0.2·sqrt(max(m, n))·O     RMS matched to AdamW
//
// Moonlight's AdamW puts ε before the bias correction:
//   θ ← θ − lr · (m/c1) · sqrt(c2) / (sqrt(v) + ε)   (mode add_before_correction)
step.optimizer @moonlight_muon {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1) {
    %m1, %u = step.momentum heavy_ball %g, %m beta(0.95) nesterov : tensor<?x?xf32>
    %o = step.newton_schulz %u steps(5)
        coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    %s = step.scale %o factor(0.2) shape(sqrt_max_dim) : tensor<?x?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?x?xf32>
    %w2 = step.apply %w1, %s lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1 : tensor<?x?xf32>, tensor<?x?xf32>
  }

  // Embeddings, the output head and every non-matrix parameter.
  step.group @adamw accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1) count(%t : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.95) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) mode(add_before_correction)
        bias_correction(0.9, 0.95) count(%t) : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
