// AdamP (Heo et al., "AdamP: Slowing Down the Slowdown for Momentum
// Optimizers on Scale-invariant Weights", ICLR 2021). Reference code:
// clovaai/AdamP adamp/adamp.py (shared ALGORITHMS.md §10.1). Defaults:
// lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0,
// delta = 0.1, wd_ratio = 0.1, nesterov = False.
//
//   m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g²
//   u = m / (sqrt(v)/sqrt(c2) + ε)                        (PyTorch Adam)
//   matrices only, with cos(a, b) = |⟨a, b⟩| / (max(‖a‖, ε)·max(‖b‖, ε))
//   (torch.nn.functional.cosine_similarity):
//     if max_i cos(g_i, w_i) < δ/√n              (rows i, n columns)
//       u_i ← u_i − ŵ_i⟨ŵ_i, u_i⟩, ŵ_i = w_i/(‖w_i‖ + ε);  λ ← λ·wd_ratio
//     elif cos(g, w) < δ/√(m·n)                  (the whole matrix)
//       u ← u − ŵ⟨ŵ, u⟩, ŵ = w/(‖w‖_F + ε);                 λ ← λ·wd_ratio
//   w ← w·(1 − lr·λ) ;  w ← w − lr/c1 · u,  c_i = 1 − β_i^t
//
// This spec tests max_i |cos_i|·√n < δ, which is the reference's
// max_i |cos_i| < δ/√n as every row has n elements. The reference views a
// conv weight as (out_channels, −1): bind it reshaped to that matrix. The
// projections use w before decay, as the reference does.
step.optimizer @adamp {
  step.group @matrices accepts(matrix) dtypes(f32, bf16, f16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros, %v : tensor<?x?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.0, %delta : f32 = 0.1,
            %wd_ratio : f32 = 0.1)
      count(%t : f32) {
    %m1, %mu = step.momentum ema %g, %m beta(0.9) : tensor<?x?xf32>
    %v1 = step.second_moment %g, %v beta(0.999)
        : tensor<?x?xf32>, tensor<?x?xf32>
    %u = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999)
        count(%t) : tensor<?x?xf32>, tensor<?x?xf32>
    // The channel test: max over rows of |cos(g_i, w_i)|·√n.
    %gw_rows = step.reduce dot %g, %w over(rows)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x1xf32>
    %g_rows = step.reduce norm %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    %w_rows = step.reduce norm %w over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    %n = step.reduce numel %w over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    %row_score = step.elementwise
        ins(%gw_rows, %g_rows, %w_rows, %n
            : tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
        -> tensor<?x1xf32> {
    ^bb0(%dot: f32, %gn: f32, %wn: f32, %count: f32):
      %eps = arith.constant 1.0e-8 : f32
      %gc = arith.maximumf %gn, %eps : f32
      %wc = arith.maximumf %wn, %eps : f32
      %den = arith.mulf %gc, %wc : f32
      %cos = arith.divf %dot, %den : f32
      %abs = math.absf %cos : f32
      %root = math.sqrt %count : f32
      %r = arith.mulf %abs, %root : f32
      step.yield %r : f32
    }
    %channel = step.reduce max_abs %row_score over(all)
        : tensor<?x1xf32> -> tensor<f32>
    // The layer test: |cos(g, w)|·√(m·n).
    %gw = step.reduce dot %g, %w over(all)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<f32>
    %g_all = step.reduce norm %g over(all) : tensor<?x?xf32> -> tensor<f32>
    %w_all = step.reduce norm %w over(all) : tensor<?x?xf32> -> tensor<f32>
    %mn = step.reduce numel %w over(all) : tensor<?x?xf32> -> tensor<f32>
    %layer = step.elementwise
        ins(%gw, %g_all, %w_all, %mn
            : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>)
        -> tensor<f32> {
    ^bb0(%dot: f32, %gn: f32, %wn: f32, %count: f32):
      %eps = arith.constant 1.0e-8 : f32
      %gc = arith.maximumf %gn, %eps : f32
      %wc = arith.maximumf %wn, %eps : f32
      %den = arith.mulf %gc, %wc : f32
      %cos = arith.divf %dot, %den : f32
      %abs = math.absf %cos : f32
      %root = math.sqrt %count : f32
      %r = arith.mulf %abs, %root : f32
      step.yield %r : f32
    }
    %by_rows = step.tangent_project %u onto(%w) sphere(rows) eps(1.0e-8)
        : tensor<?x?xf32>
    %by_layer = step.tangent_project %u onto(%w) eps(1.0e-8) : tensor<?x?xf32>
    %u1 = step.elementwise
        ins(%channel, %layer, %delta, %by_rows, %by_layer, %u
            : tensor<f32>, tensor<f32>, f32, tensor<?x?xf32>, tensor<?x?xf32>,
              tensor<?x?xf32>)
        -> tensor<?x?xf32> {
    ^bb0(%c: f32, %l: f32, %d: f32, %rows: f32, %whole: f32, %plain: f32):
      %use_rows = arith.cmpf olt, %c, %d : f32
      %use_layer = arith.cmpf olt, %l, %d : f32
      %other = arith.select %use_layer, %whole, %plain : f32
      %r = arith.select %use_rows, %rows, %other : f32
      step.yield %r : f32
    }
    %lambda = step.elementwise
        ins(%channel, %layer, %delta, %wd, %wd_ratio
            : tensor<f32>, tensor<f32>, f32, f32, f32)
        -> tensor<f32> {
    ^bb0(%c: f32, %l: f32, %d: f32, %base: f32, %ratio: f32):
      %use_rows = arith.cmpf olt, %c, %d : f32
      %use_layer = arith.cmpf olt, %l, %d : f32
      %projected = arith.ori %use_rows, %use_layer : i1
      %scaled = arith.mulf %base, %ratio : f32
      %r = arith.select %projected, %scaled, %base : f32
      step.yield %r : f32
    }
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%lambda : tensor<f32>)
        : tensor<?x?xf32>
    %w2 = step.apply %w1, %u1 lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1, %v1 : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>
  }

  // Vectors (biases, norm gains): the reference projects only tensors with
  // more than one dimension, so these take plain Adam with decoupled decay.
  step.group @others accepts(any) dtypes(f32, bf16, f16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.0) count(%t : f32) {
    %m1, %mu = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %u = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999)
        count(%t) : tensor<?xf32>, tensor<?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %w2 = step.apply %w1, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
