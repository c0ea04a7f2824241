// Matrix products only, for test/Python/product_order.py: the CPU code
// must sum each element's products in ascending k, a rounded multiply
// then a rounded add, whatever its blocking (stepc-block-matmuls).
//   P = G·Gᵀ,  S ← Sᵀ·P (S starts at the identity),  W ← W − lr·(S·G)
step.optimizer @products {
  step.group @all accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%s : tensor<?x?xf32> = identity square(rows))
      hyper(%lr : f32 = 1.0) {
    %p = step.matmul %g, %g transpose(rhs)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %u = step.matmul %s, %g
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %s1 = step.matmul %s, %p transpose(lhs)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1, %s1 : tensor<?x?xf32>, tensor<?x?xf32>
  }
}
