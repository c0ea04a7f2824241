// AdamW with PyTorch semantics (torch.optim.AdamW, including fused=True).
//
// Source: pytorch/pytorch torch/optim/adamw.py (_single_tensor_adamw) and
// aten/src/ATen/native/cuda/fused_adam_utils.cuh (adam_math); see
// shared ALGORITHMS.md §1.
// Defaults: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 1e-2,
// amsgrad = False.
//
//   θ ← θ·(1 − lr·λ)                       decay first, with the current lr
//   m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g²
//   θ ← θ − lr · (m/c1) / (sqrt(v)/sqrt(c2) + ε),  c_i = 1 − β_i^t
//
// ε is added after the bias-corrected square root, as PyTorch does.
step.optimizer @adamw {
  step.group @all accepts(any) dtypes(f32, bf16, f16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 1.0e-2) count(%t : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
