// REG: Muon with the polar factor replaced by RACS, a Row-And-Column Scaling
// operator (Liu, Wu, Fu, Liu, Han, Zhong, Yuan, arXiv 2510.03691).
//
// Source: shared ALGORITHMS.md §7. The paper's method section and code were
// not available; this is stepc's REG definition from §7, and every choice
// the paper may make differently is a visible knob below:
// EMA momentum β = 0.95 (first moment only), one simultaneous RACS step with
// p = 2 and exponent 1/2 (row and column norms both taken from M), an RMS
// normalization to 0.2 (AdamW-matched, as Moonlight), decoupled weight decay
// with the base lr. lr = 1e-3 and wd = 0.1 are stepc's defaults, not the
// paper's (unverified). The paper found AdamW on the embedding layer better,
// hence the second group.
//
//   M ← β·M + (1−β)·G
//   r_i = ‖M_i,:‖₂ ,  c_j = ‖M_:,j‖₂
//   R = diag(r)^(−1/2) · M · diag(c)^(−1/2)      norms clamped at 1e-8
//   U = 0.2 · R / RMS(R)
//   W ← W·(1 − lr·λ) − lr·U
step.optimizer @reg {
  step.group @hidden accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) : tensor<?x?xf32>
    %r = step.reduce norm %m1 over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    %c = step.reduce norm %m1 over(cols) : tensor<?x?xf32> -> tensor<1x?xf32>
    %racs = step.elementwise ins(%m1, %r, %c : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>)
        -> tensor<?x?xf32> {
    ^bb0(%x: f32, %rn: f32, %cn: f32):
      %eps = arith.constant 1.0e-8 : f32
      %rc = arith.maximumf %rn, %eps : f32
      %cc = arith.maximumf %cn, %eps : f32
      %rs = math.sqrt %rc : f32
      %cs = math.sqrt %cc : f32
      %d = arith.mulf %rs, %cs : f32
      %y = arith.divf %x, %d : f32
      step.yield %y : f32
    }
    %s = step.scale %racs factor(0.2) norm(rms) eps(1.0e-8) : tensor<?x?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?x?xf32>
    %w2 = step.apply %w1, %s lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1 : tensor<?x?xf32>, tensor<?x?xf32>
  }

  // The embedding layer and every non-matrix parameter (PyTorch AdamW).
  step.group @adamw accepts(any) dtypes(f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.1) count(%t : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}
