// MuonAdam-Momo (Crawshaw, Modi, Liu, Gower, arXiv 2510.09827): Muon for
// hidden matrices, Adam for the rest, one Momo model-truncated learning rate
// for all of them. Reference code: modichirag/GPT-opt
// gptopt/optim/muonadam_momo.py, truncate_loss = 0 (shared ALGORITHMS.md
// §8). The same four sums as muonmax_momo.mlir; it differs in two places:
//
//   dual norm   D = s·N + D_ad     (MuonMax-Momo: D² = s·N² + D_ad)
//   Muon step   W ← W·(1 − lr·λ) − lr_t·s·polar(M)    (no N factor)
//
// with N = Σ ‖M‖_* (stale: last step's ⟨M, polar(M)⟩, fresh at step 1) and
// D_ad = Σ m·|m|/(√v + ε) summed in absolute value, i.e. Σ m²/(√v + ε).
//   f̄ ← β·f̄ + (1−β)·(f(W) − A), f̄₁ = f(W₁) − A₁, A = Σ ⟨W, G⟩
//   lr_t = min(lr, (f̄ − f* + B) / D),  B = Σ ⟨W, d⟩ (d = new M or new m)
//   others: W ← W·(1 − lr·λ) − lr_t·m/(√v + ε)
//
// M, m and v start at the first gradient (v at its square), with no bias
// correction. The loss f(W) is an input: set it before every step, and step
// both groups together (stepc_step_groups). Weight decay uses the
// untruncated lr. As in the reference lr_t is not clamped at zero; to
// clamp, add `arith.maximumf` with 0 to both lr_t bodies. Matmul inputs of
// Newton–Schulz are rounded to bf16 with f32 accumulation, and X₀ divides
// by max(1.01‖M‖, 1e-30), as in muonmax.mlir.
step.optimizer @muonadam_momo {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros, %nuc : tensor<f32> = zeros,
            %fbar : tensor<f32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1, %scale : f32 = 10.0,
            %f_star : f32 = 0.0)
      input(%loss : f32) count(%t : f32) {
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
    %wg = step.reduce dot %w, %g over(all)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<f32>
    %wd_dot = step.reduce dot %w, %m1 over(all)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<f32>
    %none = step.elementwise -> tensor<f32> {
      %zero = arith.constant 0.0 : f32
      step.yield %zero : f32
    }
    %a = step.global_sum "loss_wg" %wg : tensor<f32>
    %b = step.global_sum "loss_wd" %wd_dot : tensor<f32>
    %nuclear = step.global_sum "nuclear" %n : tensor<f32>
    %adam = step.global_sum "adam_dual" %none : tensor<f32>
    %fbar1, %lr_t = step.elementwise
        ins(%t, %loss, %a, %b, %nuclear, %adam, %fbar, %lr, %scale, %f_star
            : f32, f32, f32, f32, f32, f32, tensor<f32>, f32, f32, f32)
        -> tensor<f32>, tensor<f32> {
    ^bb0(%step: f32, %f: f32, %sa: f32, %sb: f32, %sn: f32, %sd: f32,
         %last: f32, %base: f32, %s: f32, %fs: f32):
      %one = arith.constant 1.0 : f32
      %beta = arith.constant 0.95 : f32
      %rest = arith.constant 0.05 : f32
      %model = arith.subf %f, %sa : f32
      %kept = arith.mulf %beta, %last : f32
      %fresh_part = arith.mulf %rest, %model : f32
      %ema = arith.addf %kept, %fresh_part : f32
      %first = arith.cmpf oeq, %step, %one : f32
      %fb = arith.select %first, %model, %ema : f32
      %sn1 = arith.mulf %s, %sn : f32
      %denom = arith.addf %sn1, %sd : f32
      %gap = arith.subf %fb, %fs : f32
      %num = arith.addf %gap, %sb : f32
      %trunc = arith.divf %num, %denom : f32
      %r = arith.minimumf %trunc, %base : f32
      step.yield %fb, %r : f32, f32
    }
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?x?xf32>
    %w2 = step.apply %w1, %o lr(%lr_t : tensor<f32>) times(%scale : f32)
        : tensor<?x?xf32>
    step.return %w2, %m1, %fresh, %fbar1
        : tensor<?x?xf32>, tensor<?x?xf32>, tensor<f32>, tensor<f32>
  }

  // Embeddings, the output head, gains and biases.
  step.group @adam accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros,
            %fbar : tensor<f32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1, %scale : f32 = 10.0,
            %f_star : f32 = 0.0)
      input(%loss : f32) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) first_step(grad) count(%t)
        : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.95) first_step(grad) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) : tensor<?xf32>, tensor<?xf32>
    %wg = step.reduce dot %w, %g over(all)
        : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    %wd_dot = step.reduce dot %w, %m1 over(all)
        : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    %dual = step.reduce dot %m1, %d over(all)
        : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    %none = step.elementwise -> tensor<f32> {
      %zero = arith.constant 0.0 : f32
      step.yield %zero : f32
    }
    %a = step.global_sum "loss_wg" %wg : tensor<f32>
    %b = step.global_sum "loss_wd" %wd_dot : tensor<f32>
    %nuclear = step.global_sum "nuclear" %none : tensor<f32>
    %adam = step.global_sum "adam_dual" %dual : tensor<f32>
    %fbar1, %lr_t = step.elementwise
        ins(%t, %loss, %a, %b, %nuclear, %adam, %fbar, %lr, %scale, %f_star
            : f32, f32, f32, f32, f32, f32, tensor<f32>, f32, f32, f32)
        -> tensor<f32>, tensor<f32> {
    ^bb0(%step: f32, %f: f32, %sa: f32, %sb: f32, %sn: f32, %sd: f32,
         %last: f32, %base: f32, %s: f32, %fs: f32):
      %one = arith.constant 1.0 : f32
      %beta = arith.constant 0.95 : f32
      %rest = arith.constant 0.05 : f32
      %model = arith.subf %f, %sa : f32
      %kept = arith.mulf %beta, %last : f32
      %fresh_part = arith.mulf %rest, %model : f32
      %ema = arith.addf %kept, %fresh_part : f32
      %first = arith.cmpf oeq, %step, %one : f32
      %fb = arith.select %first, %model, %ema : f32
      %sn1 = arith.mulf %s, %sn : f32
      %denom = arith.addf %sn1, %sd : f32
      %gap = arith.subf %fb, %fs : f32
      %num = arith.addf %gap, %sb : f32
      %trunc = arith.divf %num, %denom : f32
      %r = arith.minimumf %trunc, %base : f32
      step.yield %fb, %r : f32, f32
    }
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr_t : tensor<f32>) : tensor<?xf32>
    step.return %w2, %m1, %v1, %fbar1
        : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<f32>
  }
}
