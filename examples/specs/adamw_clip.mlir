// AdamW after global gradient-norm clipping, as PyTorch's
// torch.nn.utils.clip_grad_norm_ followed by torch.optim.AdamW.
//
// Source: shared ALGORITHMS.md §1 (AdamW) and §8 (group-wide sums); PyTorch
// clip_grad_norm_: total = ‖(‖G_1‖, …, ‖G_n‖)‖₂ over every tensor stepped
// together, coef = min(1, max_norm / (total + 1e-6)), G ← coef·G.
// AdamW defaults: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8,
// weight_decay = 1e-2; max_norm = 1.
//
// The step runs in two phases (docs/Design/GroupWide.md): first every
// tensor's Σ G², then, once the runtime has the total (reported as
// "grad_sq": the global gradient norm is its square root), the update.
step.optimizer @adamw_clip {
  step.group @all accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 1.0e-2, %max_norm : f32 = 1.0)
      count(%t : f32) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %total = step.global_sum "grad_sq" %sq : tensor<f32>
    %gc = step.elementwise ins(%g, %total, %max_norm : tensor<?xf32>, f32, f32)
        -> tensor<?xf32> {
    ^bb0(%x: f32, %s: f32, %limit: f32):
      %norm = math.sqrt %s : f32
      %eps = arith.constant 1.0e-6 : f32
      %one = arith.constant 1.0 : f32
      %den = arith.addf %norm, %eps : f32
      %coef = arith.divf %limit, %den : f32
      %clamped = arith.minimumf %coef, %one : f32
      %y = arith.mulf %x, %clamped : f32
      step.yield %y : f32
    }
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %gc, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %gc, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
