// Muon with the Polar Express coefficient schedule (Amsel, Persson, Musco,
// Gower, arXiv 2505.16932), as used by karpathy/nanochat and modded-nanogpt.
//
// Source: NoahAmsel/PolarExpress polar_express.py; karpathy/nanochat
// nanochat/optim.py; shared ALGORITHMS.md §4.5. Iteration k applies its own
// quintic (a_k, b_k, c_k); the list below is optimal_composition(l = 1e-3,
// num_iters = 5, safety_factor_eps = 2e-2, cushion = 0.02). The input is
// pre-normalized by 1.01·‖X‖_F + 1e-7 (the reference; nanochat adds 1e-6).
// Everything else as Keller's Muon: lr = 0.02, momentum = 0.95 (EMA,
// Nesterov), weight_decay = 0, shape factor sqrt(max(1, m/n)).
step.optimizer @muon_polar_express {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros)
      hyper(%lr : f32 = 2.0e-2, %wd : f32 = 0.0) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) nesterov : tensor<?x?xf32>
    %o = step.newton_schulz %u steps(5)
        coefficients([8.156554524902461, -22.48329292557795, 15.878769915207462,
                      4.042929935166739, -2.808917465908714, 0.5000178451051316,
                      3.8916678022926607, -2.772484153217685, 0.5060648178503393,
                      3.285753657755655, -2.3681294933425376, 0.46449024233003106,
                      2.3465413258596377, -1.7097828382687081, 0.42323551169305323])
        safety(1.01) eps(1.0e-7) : tensor<?x?xf32>
    %s = step.scale %o shape(keller) : tensor<?x?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?x?xf32>
    %w2 = step.apply %w1, %s lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1 : tensor<?x?xf32>, tensor<?x?xf32>
  }

  // Embeddings, the output head, gains and biases (Keller's auxiliary AdamW).
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
