// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms").
//
// Source: google/automl lion/lion_pytorch.py; shared ALGORITHMS.md §3.
// Defaults: lr = 1e-4, betas = (0.9, 0.99), weight_decay = 0.
//
//   θ ← θ·(1 − lr·λ)
//   c ← β1·m + (1−β1)·g          the update blends the OLD momentum with β1
//   θ ← θ − lr · sign(c)         sign(0) = 0, sign(NaN) = NaN (torch.sign)
//   m ← β2·m + (1−β2)·g          the state is updated afterwards with β2
step.optimizer @lion {
  step.group @all accepts(any) dtypes(f32, bf16, f16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-4, %wd : f32 = 0.0) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    // Only the blend is used; this op's buffer is not the new state.
    %c, %unused = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %s = step.elementwise ins(%c : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      %zero = arith.constant 0.0 : f32
      %one = arith.constant 1.0 : f32
      %minus_one = arith.constant -1.0 : f32
      %pos = arith.cmpf ogt, %x, %zero : f32
      %neg = arith.cmpf olt, %x, %zero : f32
      %nan = arith.cmpf uno, %x, %x : f32
      %a = arith.select %pos, %one, %zero : f32
      %b = arith.select %neg, %minus_one, %a : f32
      %r = arith.select %nan, %x, %b : f32
      step.yield %r : f32
    }
    %w2 = step.apply %w1, %s lr(%lr : f32) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.99) : tensor<?xf32>
    step.return %w2, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}
