// Heavy-ball momentum whose buffer is stored as bf16 (computed in f32):
//   b ← 0.5·b + g ;  w ← w − lr·b
// The buffer starts at 0.3, which bf16 cannot hold exactly.
step.optimizer @bf16_state {
  step.group @all accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%b : tensor<?xf32> = constant(0.3) store(bf16))
      hyper(%lr : f32 = 1.0) {
    %b1, %u = step.momentum heavy_ball %g, %b beta(0.5) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %b1 : tensor<?xf32>, tensor<?xf32>
  }
}
