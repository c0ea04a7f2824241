// NorMuon (Li, Liu, Liang, Chen, Zhao, arXiv 2510.05491): Muon followed by a
// per-neuron (per-row) second-moment normalization.
//
// Source: reference code zichongli5/NorMuon normuon.py; shared
// ALGORITHMS.md §6. Defaults: lr = 0.02, momentum = 0.95, beta2 = 0.95,
// weight_decay = 0; auxiliary AdamW as Keller's (lr = 3e-4, betas (0.9, 0.95),
// eps = 1e-10).
//
//   M ← β·M + (1−β)·G ;  U ← (1−β)·G + β·M
//   O ← NS5(U)
//   v ← β2·v + (1−β2)·mean_j(O_ij²)          one value per row, no bias correction
//   Ô ← O / (sqrt(v) + 1e-10)
//   Ô ← Ô · ‖O‖_F / (‖Ô‖_F + 1e-10)          restore the Frobenius norm
//   W ← W·(1 − lr·λ) − lr·sqrt(max(1, m/n))·Ô
//
// This is the reference code's global scale; the paper's 0.2·sqrt(mn)/‖Ô‖_F
// is `step.scale ... factor(0.2) shape(sqrt_numel) norm(frobenius)` instead.
step.optimizer @normuon {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros, %v : tensor<?x1xf32> = zeros)
      hyper(%lr : f32 = 2.0e-2, %wd : f32 = 0.0) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) nesterov : tensor<?x?xf32>
    %o = step.newton_schulz %u steps(5)
        coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    %v1 = step.second_moment %o, %v beta(0.95) reduce(rows)
        : tensor<?x?xf32>, tensor<?x1xf32>
    %n = step.precondition %o, %v1 eps(1.0e-10) : tensor<?x?xf32>, tensor<?x1xf32>
    %r = step.scale %n restore(%o : tensor<?x?xf32>) norm(frobenius) eps(1.0e-10) mode(add)
        : tensor<?x?xf32>
    %s = step.scale %r shape(keller) : tensor<?x?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?x?xf32>
    %w2 = step.apply %w1, %s lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1, %v1 : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x1xf32>
  }

  // Embeddings, the classifier head, gains and biases.
  step.group @adamw accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 3.0e-4, %wd : f32 = 0.0) count(%t : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.95) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-10) bias_correction(0.9, 0.95) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
