// Muon, Keller Jordan's reference (KellerJordan/Muon muon.py, Nov 2025), with
// its auxiliary AdamW for everything that is not a hidden matrix.
//
// Source: shared ALGORITHMS.md §4.1. Muon defaults: lr = 0.02,
// momentum = 0.95, nesterov = True, ns_steps = 5, weight_decay = 0.
// Auxiliary AdamW (MuonWithAuxAdam): lr = 3e-4, betas = (0.9, 0.95),
// eps = 1e-10, weight_decay = 0.
//
//   M ← β·M + (1−β)·G ;  U ← (1−β)·G + β·M        EMA + Nesterov blend
//   O ← NS5(U), X₀ = U/(‖U‖_F + 1e-7), (a,b,c) = (3.4445, −4.7750, 2.0315),
//       tall matrices transposed so the Gram is min(m,n)², bf16 matmuls
//   W ← W·(1 − lr·λ) − lr·sqrt(max(1, m/n))·O      decay with the base lr
//
// Differences from the reference, by design: the Frobenius pre-normalization
// is computed in f32 before rounding to bf16 (the reference takes the norm of
// the bf16 tensor), and the gradient buffer is not overwritten in place.
step.optimizer @muon {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros)
      hyper(%lr : f32 = 2.0e-2, %wd : f32 = 0.0) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) nesterov : tensor<?x?xf32>
    %o = step.newton_schulz %u steps(5)
        coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    %s = step.scale %o shape(keller) : tensor<?x?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?x?xf32>
    %w2 = step.apply %w1, %s lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1 : tensor<?x?xf32>, tensor<?x?xf32>
  }

  // Embeddings, the output head, gains and biases.
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
