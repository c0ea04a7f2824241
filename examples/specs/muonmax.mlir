// MuonMax (Crawshaw, Modi, Liu, Gower, arXiv 2510.09827) without Momo
// truncation: every hidden matrix steps along polar(M) scaled by the SUM of
// the nuclear norms of all of them; everything else takes an Adam step
// without bias correction. Reference code: modichirag/GPT-opt
// gptopt/optim/muonmax_momo.py with truncate_loss=None (shared
// ALGORITHMS.md §8).
//
//   M ← β·M + (1−β)·G, M₁ = G₁              (EMA started at the first grad)
//   O = polar(M): Polar Express (GPT-opt polar.py): X₀ = M/(1.01‖M‖_F),
//       the first five (a,b,c) of the paper's list, each divided by 1.01
//   N = Σ_matrices ‖M‖_*, ‖M‖_* = ⟨M, O⟩     (group-wide sum "nuclear")
//       stale_nuc (the reference's default): last step's ⟨M, O⟩; at the
//       first step this step's
//   W ← W·(1 − lr·λ) − lr·s·N·O             s = muon_lr_scale = 10
//   Adam: m ← lerp(m, G, 1−β1), v ← lerp(v, G², 1−β2), both started at the
//         first gradient, W ← W·(1 − lr·λ) − lr·m/(√v + ε)
//
// Defaults: lr = 1e-3, wd = 0.1, momentum = 0.95, betas = (0.95, 0.95),
// eps = 1e-8. Differences from the reference, by design: matmul inputs are
// rounded to bf16 with f32 accumulation (the reference keeps X in bf16),
// and X₀ divides by max(1.01‖M‖, 1e-30) (the reference by 1.01‖M‖: a zero
// momentum gives 0/0 there). The fresh nuclear norm is computed every step,
// also when the stale one is used (docs/Design/GroupWide.md).
step.optimizer @muonmax {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros, %nuc : tensor<f32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1, %scale : f32 = 10.0)
      count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) first_step(grad) count(%t)
        : tensor<?x?xf32>
    %o = step.newton_schulz %m1 steps(5)
        coefficients([8.205160414005574, -23.362263880295878, 17.129096349040527,
                      4.066395159942775, -2.9186632838989213, 0.5394486220719408,
                      3.9095949044379155, -2.8801011049138108, 0.5463555836010037,
                      3.2855640171986153, -2.463849529024628, 0.5049989506175446,
                      2.277873287083977, -1.6523801827472766, 0.414660704903532])
        safety(1.01) eps(1.0e-30) mode(clamp) : tensor<?x?xf32>
    %fresh = step.reduce dot %m1, %o over(all)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<f32>
    %n = step.elementwise ins(%t, %fresh, %nuc : f32, tensor<f32>, tensor<f32>)
        -> tensor<f32> {
    ^bb0(%step: f32, %now: f32, %last: f32):
      %one = arith.constant 1.0 : f32
      %first = arith.cmpf oeq, %step, %one : f32
      %r = arith.select %first, %now, %last : f32
      step.yield %r : f32
    }
    %total = step.global_sum "nuclear" %n : tensor<f32>
    %k = step.elementwise ins(%scale, %total : f32, f32) -> tensor<f32> {
    ^bb0(%s: f32, %sum: f32):
      %r = arith.mulf %s, %sum : f32
      step.yield %r : f32
    }
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?x?xf32>
    %w2 = step.apply %w1, %o lr(%lr : f32) times(%k : tensor<f32>) : tensor<?x?xf32>
    step.return %w2, %m1, %fresh : tensor<?x?xf32>, tensor<?x?xf32>, tensor<f32>
  }

  // Embeddings, the output head, gains and biases.
  step.group @adam accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) first_step(grad) count(%t)
        : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.95) first_step(grad) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) : tensor<?xf32>, tensor<?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
