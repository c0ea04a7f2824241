// A hyper without a default must be set with --hyper.
step.optimizer @sgd {
  step.group @all accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    %w1 = step.apply %w, %g lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}
