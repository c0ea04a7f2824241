// RUN: stepc-opt %s | FileCheck %s
// RUN: stepc-opt %s --mlir-print-op-generic | stepc-opt | FileCheck %s
// RUN: stepc-opt %s | stepc-opt | FileCheck %s

// Round trip of every op in its custom form, and through the generic form.

// CHECK-LABEL: step.optimizer @elementwise_ops {
step.optimizer @elementwise_ops version(1) {
  // CHECK: step.group @adam accepts(any) dtypes(f32, bf16, f16)
  // CHECK-NEXT: param(%[[W:.*]] : tensor<?xf32>) grad(%[[G:.*]] : tensor<?xf32>)
  // CHECK-NEXT: state(%[[M:.*]] : tensor<?xf32> = zeros, %[[V:.*]] : tensor<?xf32> = zeros store(bf16))
  // CHECK-NEXT: hyper(%[[LR:.*]] : f32 = 0.001, %[[WD:.*]] : f32) count(%[[T:.*]] : f32) {
  step.group @adam accepts(any) dtypes(f32, bf16, f16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros store(bf16))
      hyper(%lr : f32 = 1.0e-3, %wd : f32) count(%t : f32) {
    // CHECK: %[[W1:.*]] = step.weight_decay decoupled %[[W]] lr(%[[LR]] : f32) wd(%[[WD]] : f32) : tensor<?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    // CHECK: %[[M1:.*]], %{{.*}} = step.momentum ema %[[G]], %[[M]] beta(0.9) : tensor<?xf32>
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    // CHECK: %[[V1:.*]] = step.second_moment %[[G]], %[[V]] beta(0.5) : tensor<?xf32>, tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.5) : tensor<?xf32>, tensor<?xf32>
    // CHECK: %[[D:.*]] = step.precondition %[[M1]], %[[V1]] eps(1.0e-08) bias_correction(0.9, 0.5) count(%[[T]]) : tensor<?xf32>, tensor<?xf32>
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.5) count(%t) : tensor<?xf32>, tensor<?xf32>
    // CHECK: %[[W2:.*]] = step.apply %[[W1]], %[[D]] lr(%[[LR]] : f32) : tensor<?xf32>
    %w2 = step.apply %w1, %d lr(%lr : f32) : tensor<?xf32>
    // CHECK: step.return %[[W2]], %[[M1]], %[[V1]] : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
    step.return %w2, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }

  // CHECK: step.group @sgd accepts(any) dtypes(f32)
  step.group @sgd accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%b : tensor<?xf32> = zeros)
      hyper(%lr : f32, %wd : f32) count(%t : f32) {
    // CHECK: step.weight_decay coupled %{{.*}} wd(%{{.*}} : f32) into(%{{.*}} : tensor<?xf32>) : tensor<?xf32>
    %g1 = step.weight_decay coupled %w wd(%wd : f32) into(%g : tensor<?xf32>) : tensor<?xf32>
    // CHECK: step.momentum heavy_ball %{{.*}}, %{{.*}} beta(0.9) nesterov first_step(grad) count(%{{.*}}) : tensor<?xf32>
    %b1, %u = step.momentum heavy_ball %g1, %b beta(0.9) nesterov first_step(grad) count(%t) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %b1 : tensor<?xf32>, tensor<?xf32>
  }

  // CHECK: step.group @lion
  step.group @lion accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) hyper(%lr : f32) {
    // CHECK: step.momentum heavy_ball %{{.*}}, %{{.*}} beta(0.5) dampening(0.25) : tensor<?xf32>
    %c, %unused = step.momentum heavy_ball %g, %m beta(0.5) dampening(0.25) : tensor<?xf32>
    // CHECK: step.elementwise ins(%{{.*}} : tensor<?xf32>) -> tensor<?xf32> {
    // CHECK-NEXT: ^bb0(%[[X:.*]]: f32):
    // CHECK: math.copysign
    // CHECK: step.yield %{{.*}} : f32
    %s = step.elementwise ins(%c : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      %one = arith.constant 1.0 : f32
      %r = math.copysign %one, %x : f32
      step.yield %r : f32
    }
    %m1, %u = step.momentum ema %g, %m beta(0.75) : tensor<?xf32>
    %w1 = step.apply %w, %s lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %m1 : tensor<?xf32>, tensor<?xf32>
  }

  // CHECK: step.group @constants accepts(any) dtypes(f32)
  // CHECK-NEXT: param(%{{.*}}) grad(%{{.*}})
  // CHECK-NEXT: state(%{{.*}} : tensor<f32> = param_norm, %{{.*}} : tensor<?xf32> = constant(0.5), %{{.*}} : tensor<?xf32> = ones)
  step.group @constants accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%r : tensor<f32> = param_norm, %c : tensor<?xf32> = constant(0.5), %o : tensor<?xf32> = ones)
      hyper(%lr : f32) {
    // CHECK: step.sphere_project %{{.*}} by(%{{.*}} : tensor<f32>) eps({{.*}}) : tensor<?xf32>
    %w1 = step.sphere_project %w by(%r : tensor<f32>) eps(1.0e-12) : tensor<?xf32>
    // CHECK: step.apply %{{.*}}, %{{.*}} lr(%{{.*}} : f32) times(%{{.*}} : tensor<f32>) : tensor<?xf32>
    %w2 = step.apply %w1, %c lr(%lr : f32) times(%r : tensor<f32>) : tensor<?xf32>
    // CHECK: step.reduce dot %{{.*}}, %{{.*}} over(all) : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    %ip = step.reduce dot %w2, %o over(all) : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    %w3 = step.scale %w2 by(%ip : tensor<f32>) : tensor<?xf32>
    step.return %w3, %r, %c, %o : tensor<?xf32>, tensor<f32>, tensor<?xf32>, tensor<?xf32>
  }
}

// CHECK-LABEL: step.optimizer @matrix_ops
step.optimizer @matrix_ops {
  // CHECK: step.group @muon accepts(matrix) dtypes(f32, bf16)
  step.group @muon accepts(matrix) dtypes(f32, bf16)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x?xf32> = zeros, %v : tensor<?x1xf32> = zeros, %s : tensor<?xf32> = zeros)
      hyper(%lr : f32 = 2.0e-2, %wd : f32 = 0.0) {
    %m1, %u = step.momentum ema %g, %m beta(0.95) nesterov : tensor<?x?xf32>
    // CHECK: step.newton_schulz %{{.*}} steps(5) coefficients([3.4445, -4.775, 2.0315]) eps({{.*}}) : tensor<?x?xf32>
    %o = step.newton_schulz %u steps(5) coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    // CHECK: step.newton_schulz %{{.*}} steps(2) coefficients([8.0, -20.0, 15.0, 2.0, -1.5, 0.5]) safety(1.01) eps({{.*}}) mode(clamp) compute(f16) transpose(none) : tensor<?x?xf32>
    %o2 = step.newton_schulz %o steps(2) coefficients([8.0, -20.0, 15.0, 2.0, -1.5, 0.5]) safety(1.01) eps(1.0e-7) mode(clamp) compute(f16) transpose(none) : tensor<?x?xf32>
    // CHECK: step.second_moment %{{.*}}, %{{.*}} beta({{.*}}) reduce(rows) : tensor<?x?xf32>, tensor<?x1xf32>
    %v1 = step.second_moment %o2, %v beta(0.95) reduce(rows) : tensor<?x?xf32>, tensor<?x1xf32>
    // CHECK: step.second_moment %{{.*}}, %{{.*}} beta({{.*}}) reduce(short_axis) : tensor<?x?xf32>, tensor<?xf32>
    %s1 = step.second_moment %o2, %s beta(0.95) reduce(short_axis) : tensor<?x?xf32>, tensor<?xf32>
    // CHECK: step.precondition %{{.*}}, %{{.*}} eps(1.0e-10) mode(clamp) : tensor<?x?xf32>, tensor<?x1xf32>
    %n = step.precondition %o2, %v1 eps(1.0e-10) mode(clamp) : tensor<?x?xf32>, tensor<?x1xf32>
    // CHECK: step.scale %{{.*}} restore(%{{.*}} : tensor<?x?xf32>) norm(frobenius) eps(1.0e-10) mode(add) : tensor<?x?xf32>
    %r = step.scale %n restore(%o2 : tensor<?x?xf32>) norm(frobenius) eps(1.0e-10) mode(add) : tensor<?x?xf32>
    // CHECK: step.scale %{{.*}} factor(0.2) shape(sqrt_max_dim) : tensor<?x?xf32>
    %k = step.scale %r factor(0.2) shape(sqrt_max_dim) : tensor<?x?xf32>
    // CHECK: step.weight_decay decoupled %{{.*}} lr(%{{.*}} : f32) wd(%{{.*}} : f32) cautious(%{{.*}} : tensor<?x?xf32>) : tensor<?x?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) cautious(%k : tensor<?x?xf32>) : tensor<?x?xf32>
    %w2 = step.apply %w1, %k lr(%lr : f32) : tensor<?x?xf32>
    step.return %w2, %m1, %v1, %s1 : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x1xf32>, tensor<?xf32>
  }

  // CHECK: step.group @sinkhorn accepts(matrix)
  step.group @sinkhorn accepts(matrix) dtypes(f32)
      param(%w : tensor<64x32xf32>) grad(%g : tensor<64x32xf32>) hyper(%lr : f32) {
    // CHECK: step.normalize_rows %{{.*}} target(sqrt_dim) eps(1.0e-08) mode(clamp) : tensor<64x32xf32>
    %a = step.normalize_rows %g target(sqrt_dim) eps(1.0e-8) mode(clamp) : tensor<64x32xf32>
    // CHECK: step.normalize_cols %{{.*}} p(3.0) power(0.5) target(rms_of_norms) eps(1.0e-08) : tensor<64x32xf32>
    %b = step.normalize_cols %a p(3.0) power(0.5) target(rms_of_norms) eps(1.0e-8) : tensor<64x32xf32>
    // CHECK: step.reduce norm %{{.*}} over(rows) : tensor<64x32xf32> -> tensor<64x1xf32>
    %rn = step.reduce norm %b over(rows) : tensor<64x32xf32> -> tensor<64x1xf32>
    // CHECK: step.reduce max_abs %{{.*}} over(cols) p(1.0) : tensor<64x32xf32> -> tensor<1x32xf32>
    %cn = step.reduce max_abs %b over(cols) p(1.0) : tensor<64x32xf32> -> tensor<1x32xf32>
    // CHECK: step.elementwise ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<64x32xf32>, tensor<64x1xf32>, tensor<1x32xf32>, f32) -> tensor<64x32xf32>, tensor<64x32xf32>
    %e:2 = step.elementwise ins(%b, %rn, %cn, %lr : tensor<64x32xf32>, tensor<64x1xf32>, tensor<1x32xf32>, f32) -> tensor<64x32xf32>, tensor<64x32xf32> {
    ^bb0(%x: f32, %r: f32, %c: f32, %l: f32):
      %q = arith.divf %x, %r : f32
      %p = arith.mulf %q, %c : f32
      step.yield %p, %q : f32, f32
    }
    // CHECK: step.tangent_project %{{.*}} onto(%{{.*}}) sphere(rows) eps(1.0e-08) : tensor<64x32xf32>
    %t = step.tangent_project %e#0 onto(%w) sphere(rows) eps(1.0e-8) : tensor<64x32xf32>
    %w1 = step.apply %w, %t lr(%lr : f32) : tensor<64x32xf32>
    step.return %w1 : tensor<64x32xf32>
  }

  // CHECK: step.group @md accepts(matrix) dtypes(f32)
  step.group @md accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gr : tensor<?x1xf32> = constant(0.5413), %gc : tensor<1x?xf32> = constant(0.5413),
            %mr : tensor<?x1xf32> = zeros, %vr : tensor<?x1xf32> = zeros,
            %mc : tensor<1x?xf32> = zeros, %vc : tensor<1x?xf32> = zeros)
      hyper(%lr : f32, %lrg : f32) count(%t : f32) {
    // CHECK: %{{.*}}, %{{.*}}, %[[GG:.*]]:2 = step.gain_split %{{.*}}, %{{.*}} gains(%{{.*}}, %{{.*}}) axes(row_col) eps(1.0e-08) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    %d, %gd, %dgr, %dgc = step.gain_split %w, %g gains(%gr, %gc) axes(row_col) map(softplus) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    %d1 = step.apply %d, %gd lr(%lr : f32) : tensor<?x?xf32>
    // CHECK: step.sphere_project %{{.*}} shape(sqrt_max_dim) eps({{.*}}) : tensor<?x?xf32>
    %d2 = step.sphere_project %d1 shape(sqrt_max_dim) eps(1.0e-12) : tensor<?x?xf32>
    // CHECK: step.gain_update %{{.*}} gains(%{{.*}}, %{{.*}}) grads(%[[GG]]#0, %[[GG]]#1) moments(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) lr(%{{.*}}) count(%{{.*}}) axes(row_col) betas(0.9, 0.999) eps(1.0e-08) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    %w1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1 = step.gain_update %d2 gains(%gr, %gc) grads(%dgr, %dgc) moments(%mr, %vr, %mc, %vc) lr(%lrg) count(%t) axes(row_col) map(softplus) betas(0.9, 0.999) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    step.return %w1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1 : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<1x?xf32>, tensor<1x?xf32>
  }

  // CHECK: step.group @scalar_gain accepts(matrix)
  step.group @scalar_gain accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gs : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    // CHECK: step.gain_split %{{.*}}, %{{.*}} gains(%{{.*}}) axes(scalar) map(identity) eps(1.0e-08) : tensor<?x?xf32>, tensor<f32>
    %d, %gd, %dg = step.gain_split %w, %g gains(%gs) axes(scalar) map(identity) eps(1.0e-8) : tensor<?x?xf32>, tensor<f32>
    %w1, %gs1, %m1, %v1 = step.gain_update %d gains(%gs) grads(%dg) moments(%m, %v) lr(%lr) count(%t) axes(scalar) map(identity) betas(0.9, 0.999) eps(1.0e-8) : tensor<?x?xf32>, tensor<f32>
    step.return %w1, %gs1, %m1, %v1 : tensor<?x?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// Per-row and per-column values of a per-row input are themselves per-row
// (a static 4x1 parameter, whose type equals its per-row layout).
// CHECK-LABEL: step.optimizer @unit_dims
step.optimizer @unit_dims {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<4x1xf32>) grad(%g : tensor<4x1xf32>)
      state(%v : tensor<4x1xf32> = zeros, %gr : tensor<4x1xf32> = ones) {
    // CHECK: step.second_moment %{{.*}}, %{{.*}} beta(0.9) reduce(rows) : tensor<4x1xf32>, tensor<4x1xf32>
    %v1 = step.second_moment %g, %v beta(0.9) reduce(rows) : tensor<4x1xf32>, tensor<4x1xf32>
    // CHECK: step.reduce max_abs %{{.*}} over(rows) : tensor<4x1xf32> -> tensor<4x1xf32>
    %r = step.reduce max_abs %v1 over(rows) : tensor<4x1xf32> -> tensor<4x1xf32>
    %d, %gd, %dg = step.gain_split %w, %r gains(%gr) axes(row) eps(1.0e-8) : tensor<4x1xf32>, tensor<4x1xf32>
    step.return %d, %v1, %gr : tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>
  }
}
