// Hyperball, MuonH form (Wen, Dang, Lyu, Ma, Liang, "weight decay hyperball",
// Dec 2025): weights stay on the Frobenius sphere of their initial norm.
//
// Source: the Hyperball post (WhenWen/WhenWen.github.io, 2025-12-15) and
// microsoft/dion dion/muonh.py; shared ALGORITHMS.md §10.1. No weight decay;
// the radius ‖W₀‖_F is captured when the state is created (param_norm);
// hyperball_eps = 1e-10. The Muon update is Keller's (EMA 0.95, Nesterov,
// NS5); lr = 0.02 is stepc's default. Scalars and embeddings use Adam
// without weight decay (lr 3e-4, betas (0.9, 0.95), eps 1e-10, Keller's aux
// values).
//
//   u ← Muon direction of G
//   W ← ρ · Norm(W − lr · ρ · Norm(u)),  Norm(x) = x/‖x‖_F,  ρ = ‖W₀‖_F
step.optimizer @hyperball {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros, %radius : tensor<f32> = param_norm)
      hyper(%lr : f32 = 2.0e-2) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) nesterov : tensor<?x?xf32>
    %o = step.newton_schulz %u steps(5)
        coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    %n = step.scale %o by(%radius : tensor<f32>) norm(frobenius) eps(1.0e-10)
        : tensor<?x?xf32>
    %w1 = step.apply %w, %n lr(%lr : f32) : tensor<?x?xf32>
    %w2 = step.sphere_project %w1 by(%radius : tensor<f32>) eps(1.0e-10) : tensor<?x?xf32>
    step.return %w2, %m1, %radius : tensor<?x?xf32>, tensor<?x?xf32>, tensor<f32>
  }

  // Scalars, gains and embeddings: Adam without weight decay.
  step.group @adam accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 3.0e-4) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.95) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-10) bias_correction(0.9, 0.95) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w1 = step.apply %w, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
