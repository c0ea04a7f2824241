// MuonMD: Magnitude–Direction decoupling with a Muon step on the direction
// (Hägele, Hernández-Cano, Kosson, Jaggi, arXiv 2606.25971).
//
// Source: swiss-ai/Megatron-LM-MoE megatron/core/optimizer/md_decoupling.py
// and its MuonMD recipe (--matrix-lr 1e-2 --gains-lr 1e-3
// --use-orthogonal-updates --hypersphere-mode flat --hypersphere-gains-mode
// rowcol --gain-parametrization softplus --muon-scale-mode shape_up
// --muon-momentum 0.95 --muon-use-nesterov --weight-decay 0); shared
// ALGORITHMS.md §10. Gains Adam: betas (0.9, 0.999), eps 1e-8, bias-corrected.
//
//   W = diag(γ_r)·Ŵ·diag(γ_c),  γ = softplus(g),  g₀ = ln(e − 1) so γ₀ = 1
//   Ŵ = W/(γ_r γ_cᵀ);  G_Ŵ = G ⊙ γ_r γ_cᵀ;  ∂g = sigmoid(g) ⊙ Σ(Ŵ⊙G⊙γ_other)
//   M ← β·M + (1−β)·G_Ŵ;  U ← (1−β)·G_Ŵ + β·M;  O ← NS5(U)·sqrt(max(m/n, n/m))
//   Ŵ ← Ŵ − lr·O;  Ŵ ← sqrt(max(m, n)) · Ŵ/‖Ŵ‖_F          flat hypersphere
//   g ← Adam(g, ∂g; lr_γ);  W ← softplus(g_r) Ŵ softplus(g_c)
//
// Not in this spec: the recipe clips the global norm of the fused gradient
// before splitting (a group-wide reduction, see issue 5); the model should be
// initialized on the sphere (md_decoupling.py normalizes W at construction).
// The non-matrix parameters use AdamW with betas (0.9, 0.95) and no weight
// decay as in the recipe; its lr of 1e-3 is stepc's default (not read from a
// recipe).
step.optimizer @muon_md {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros,
            %gr : tensor<?x1xf32> = constant(0.541324854612918),
            %gc : tensor<1x?xf32> = constant(0.541324854612918),
            %mr : tensor<?x1xf32> = zeros, %vr : tensor<?x1xf32> = zeros,
            %mc : tensor<1x?xf32> = zeros, %vc : tensor<1x?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-2, %lr_gain : f32 = 1.0e-3) count(%t : f32) {
    %d, %gd, %dgr, %dgc = step.gain_split %w, %g gains(%gr, %gc) axes(row_col)
        map(softplus) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    %m1, %u = step.momentum ema %gd, %m beta(0.95) nesterov : tensor<?x?xf32>
    %o = step.newton_schulz %u steps(5)
        coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    %s = step.scale %o shape(shape_up) : tensor<?x?xf32>
    %d1 = step.apply %d, %s lr(%lr : f32) : tensor<?x?xf32>
    %d2 = step.sphere_project %d1 shape(sqrt_max_dim) eps(1.0e-12) : tensor<?x?xf32>
    %w1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1 = step.gain_update %d2
        gains(%gr, %gc) grads(%dgr, %dgc) moments(%mr, %vr, %mc, %vc)
        lr(%lr_gain) count(%t) axes(row_col) map(softplus) betas(0.9, 0.999)
        eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    step.return %w1, %m1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1
        : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>,
          tensor<?x1xf32>, tensor<?x1xf32>, tensor<1x?xf32>, tensor<1x?xf32>
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
