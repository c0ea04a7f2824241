// RUN: stepc-opt %s --convert-step-to-func --verify-diagnostics

// bf16 state storage is refused by the lowering with a clear message, not
// silently ignored.
step.optimizer @o {
  // expected-error @+1 {{state 'm' asks for 'bf16' storage, which the CPU lowering does not support yet; drop store(...) to keep it in f32}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros store(bf16)) {
    step.return %w, %m : tensor<?xf32>, tensor<?xf32>
  }
}
