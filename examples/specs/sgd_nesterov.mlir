// SGD with Nesterov momentum, PyTorch semantics (torch.optim.SGD).
//
// Source: the functional _single_tensor_sgd of torch/optim/sgd.py; shared
// ALGORITHMS.md §2. PyTorch defaults are momentum = 0, dampening = 0,
// weight_decay = 0, nesterov = False; this preset fixes momentum = 0.9 and
// nesterov = True (Nesterov needs momentum > 0 and dampening = 0), lr = 1e-3.
//
//   g ← g + λ·θ                              coupled L2, before momentum
//   b ← g at the first step, else b ← μ·b + g (no dampening on step 1)
//   θ ← θ − lr · (g + μ·b)                   Nesterov uses the updated buffer
step.optimizer @sgd_nesterov {
  step.group @all accepts(any) dtypes(f32, bf16, f16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%b : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 1.0e-3, %wd : f32 = 0.0) count(%t : f32) {
    %g1 = step.weight_decay coupled %w wd(%wd : f32) into(%g : tensor<?xf32>) : tensor<?xf32>
    %b1, %u = step.momentum heavy_ball %g1, %b beta(0.9) nesterov
        first_step(grad) count(%t) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %b1 : tensor<?xf32>, tensor<?xf32>
  }
}
