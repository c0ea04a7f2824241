// The Q factor of the gradient, as the new param: test/Numerics/qr.py.
step.optimizer @qr {
  step.group @all accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %q = step.qr %g : tensor<?x?xf32>
    step.return %q : tensor<?x?xf32>
  }
}
