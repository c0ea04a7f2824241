// AdamMD: Magnitude–Direction decoupling with an Adam step on the direction
// (Hägele, Hernández-Cano, Kosson, Jaggi, arXiv 2606.25971).
//
// Source: swiss-ai/Megatron-LM-MoE megatron/core/optimizer/md_decoupling.py
// (Adam branch) and shared ALGORITHMS.md §10: row and column softplus gains
// with their own bias-corrected Adam (betas (0.9, 0.999), eps 1e-8,
// lr_γ = 1e-3), the direction on the flat hypersphere of radius
// sqrt(max(m, n)), no weight decay. The direction's Adam uses the recipe's
// AdamW betas (0.9, 0.95) and eps 1e-8; its lr of 1e-3 is stepc's default
// (the paper's hyperparameter table was not readable).
//
//   Ŵ, G_Ŵ, ∂g_r, ∂g_c = split(W, G; g_r, g_c)        see muon_md.mlir
//   m ← β1·m + (1−β1)·G_Ŵ;  v ← β2·v + (1−β2)·G_Ŵ²
//   Ŵ ← Ŵ − lr · (m/c1)/(sqrt(v)/sqrt(c2) + ε)
//   Ŵ ← sqrt(max(m, n)) · Ŵ/‖Ŵ‖_F
//   g ← Adam(g, ∂g; lr_γ);  W ← softplus(g_r) Ŵ softplus(g_c)
step.optimizer @adam_md {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros, %v : tensor<?x?xf32> = zeros,
            %gr : tensor<?x1xf32> = constant(0.541324854612918),
            %gc : tensor<1x?xf32> = constant(0.541324854612918),
            %mr : tensor<?x1xf32> = zeros, %vr : tensor<?x1xf32> = zeros,
            %mc : tensor<1x?xf32> = zeros, %vc : tensor<1x?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %lr_gain : f32 = 1.0e-3) count(%t : f32) {
    %d, %gd, %dgr, %dgc = step.gain_split %w, %g gains(%gr, %gc) axes(row_col)
        map(softplus) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    %m1, %u = step.momentum ema %gd, %m beta(0.9) : tensor<?x?xf32>
    %v1 = step.second_moment %gd, %v beta(0.95) : tensor<?x?xf32>, tensor<?x?xf32>
    %a = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.95) count(%t)
        : tensor<?x?xf32>, tensor<?x?xf32>
    %d1 = step.apply %d, %a lr(%lr : f32) : tensor<?x?xf32>
    %d2 = step.sphere_project %d1 shape(sqrt_max_dim) eps(1.0e-12) : tensor<?x?xf32>
    %w1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1 = step.gain_update %d2
        gains(%gr, %gc) grads(%dgr, %dgc) moments(%mr, %vr, %mc, %vc)
        lr(%lr_gain) count(%t) axes(row_col) map(softplus) betas(0.9, 0.999)
        eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    step.return %w1, %m1, %v1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1
        : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x1xf32>,
          tensor<1x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<1x?xf32>,
          tensor<1x?xf32>
  }

  // Biases, norms, embeddings and the output head.
  step.group @adamw accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.0) count(%t : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.95) : tensor<?xf32>, tensor<?xf32>
    %dir = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.95) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %dir lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
