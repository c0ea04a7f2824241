// Symmetric matrix products, for test/Python/symmetric_products.py: the
// CPU code computes the upper blocks of P = G·Gᵀ and of Q = P·P and copies
// the rest across (stepc-block-matmuls), which must give the bits of the
// whole products summed in ascending k. Q·G is not symmetric.
//   W ← W − lr·(Q·G)
step.optimizer @symmetric_products {
  step.group @all accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      hyper(%lr : f32 = 1.0) {
    %p = step.matmul %g, %g transpose(rhs)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %q = step.matmul %p, %p
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %u = step.matmul %q, %g
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}
