// RUN: stepc-opt %s --convert-step-to-linalg --split-input-file | FileCheck %s

// Decoupled decay multiplies by one scalar computed outside the loop; apply
// subtracts lr·times·u; the scalar from a tensor<f32> is extracted once.
// CHECK-LABEL: step.group @decay_and_apply
// CHECK: %[[PROD:.*]] = arith.mulf %[[LR:.*]], %[[WD:.*]] : f32
// CHECK: %[[KEEP:.*]] = arith.subf %{{.*}}, %[[PROD]] : f32
// CHECK: linalg.generic
// CHECK: arith.mulf %{{.*}}, %[[KEEP]] : f32
// CHECK: %[[S:.*]] = tensor.extract %{{.*}}[] : tensor<f32>
// CHECK: %[[ALPHA:.*]] = arith.mulf %[[LR]], %[[S]] : f32
// CHECK: linalg.generic
// CHECK: ^bb0(%[[W:.*]]: f32, %[[U:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[STEP:.*]] = arith.mulf %[[ALPHA]], %[[U]] : f32
// CHECK: arith.subf %[[W]], %[[STEP]] : f32
step.optimizer @o {
  step.group @decay_and_apply accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones) hyper(%lr : f32, %wd : f32) {
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %w2 = step.apply %w1, %g lr(%lr : f32) times(%s : tensor<f32>) : tensor<?xf32>
    step.return %w2, %s : tensor<?xf32>, tensor<f32>
  }
}

// -----

// Coupled decay returns G + λ·W; cautious decay masks on u·W ≥ 0.
// CHECK-LABEL: step.group @coupled_and_cautious
// CHECK: ^bb0(%[[G:.*]]: f32, %[[W:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[LW:.*]] = arith.mulf %{{.*}}, %[[W]] : f32
// CHECK: arith.addf %[[G]], %[[LW]] : f32
// CHECK: linalg.generic
// CHECK: ^bb0(%[[W2:.*]]: f32, %[[U:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[UW:.*]] = arith.mulf %[[U]], %[[W2]] : f32
// CHECK: %[[AGREE:.*]] = arith.cmpf oge, %[[UW]], %{{.*}} : f32
// CHECK: arith.select %[[AGREE]], %{{.*}}, %[[W2]] : f32
step.optimizer @o {
  step.group @coupled_and_cautious accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32, %wd : f32) {
    %g1 = step.weight_decay coupled %w wd(%wd : f32) into(%g : tensor<?xf32>) : tensor<?xf32>
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) cautious(%g1 : tensor<?xf32>) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// An elementwise body is inlined into the generic; per-row inputs broadcast
// and f32 scalars are captured.
// CHECK-LABEL: step.group @inline_body
// CHECK: %[[RV:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<?x1xf32> into tensor<?xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[RV]] : tensor<?x?xf32>, tensor<?xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[R:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[Q:.*]] = arith.divf %[[X]], %[[R]] : f32
// CHECK: %[[P:.*]] = arith.mulf %[[Q]], %[[LR:.*]] : f32
// CHECK: linalg.yield %[[P]] : f32
step.optimizer @o {
  step.group @inline_body accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32) {
    %rn = step.reduce norm %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    %e = step.elementwise ins(%g, %rn, %lr : tensor<?x?xf32>, tensor<?x1xf32>, f32) -> tensor<?x?xf32> {
    ^bb0(%x: f32, %r: f32, %l: f32):
      %q = arith.divf %x, %r : f32
      %p = arith.mulf %q, %l : f32
      step.yield %p : f32
    }
    step.return %e : tensor<?x?xf32>
  }
}

// -----

// A constant scale with a shape rule reads the dimensions once; norm(rms)
// divides by max(sqrt(Σx²/numel), ε).
// CHECK-LABEL: step.group @scales
// CHECK: %[[ROWS:.*]] = arith.sitofp %{{.*}} : i64 to f32
// CHECK: %[[COLS:.*]] = arith.sitofp %{{.*}} : i64 to f32
// CHECK: %[[BIG:.*]] = arith.maximumf %[[ROWS]], %[[COLS]] : f32
// CHECK: math.sqrt %[[BIG]] : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
// CHECK: %[[MEAN:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: %[[RMS:.*]] = math.sqrt %[[MEAN]] : f32
// CHECK: arith.maximumf %[[RMS]], %{{.*}} : f32
step.optimizer @o {
  step.group @scales accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %a = step.scale %g factor(0.2) shape(sqrt_max_dim) : tensor<?x?xf32>
    %b = step.scale %a norm(rms) eps(1.0e-8) : tensor<?x?xf32>
    step.return %b : tensor<?x?xf32>
  }
}

// -----

// Magnitude–Direction: softplus gains, a split generic with two results,
// and one reduction per gain axis.
// CHECK-LABEL: step.group @md
// CHECK: math.log1p
// CHECK: %{{.*}}:2 = linalg.generic
// CHECK: arith.maximumf
// CHECK: arith.divf
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: math.exp
// CHECK: iterator_types = ["reduction", "parallel"]
// CHECK: step.return
step.optimizer @o {
  step.group @md accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gr : tensor<?x1xf32> = zeros, %gc : tensor<1x?xf32> = zeros,
            %mr : tensor<?x1xf32> = zeros, %vr : tensor<?x1xf32> = zeros,
            %mc : tensor<1x?xf32> = zeros, %vc : tensor<1x?xf32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %dgr, %dgc = step.gain_split %w, %g gains(%gr, %gc) axes(row_col) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    %d1 = step.apply %d, %gd lr(%lr : f32) : tensor<?x?xf32>
    %w1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1 = step.gain_update %d1 gains(%gr, %gc) grads(%dgr, %dgc) moments(%mr, %vr, %mc, %vc) lr(%lr) count(%t) axes(row_col) betas(0.9, 0.999) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    step.return %w1, %gr1, %gc1, %mr1, %vr1, %mc1, %vc1 : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<1x?xf32>, tensor<1x?xf32>
  }
}

// -----

// numel reads the shape, never the elements: n per row (filled ?x1), m·n
// per tensor.
// CHECK-LABEL: step.group @numel
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[N:.*]] = tensor.dim %[[W:.*]], %[[C1]] : tensor<?x?xf32>
// CHECK: %[[NF:.*]] = arith.sitofp
// CHECK: %[[M:.*]] = tensor.dim %[[W]]
// CHECK: %[[ROWS:.*]] = tensor.empty(%[[M]]) : tensor<?x1xf32>
// CHECK: %[[FILLED:.*]] = linalg.fill ins(%[[NF]] : f32) outs(%[[ROWS]] : tensor<?x1xf32>)
// CHECK: %[[MN:.*]] = arith.mulf
// CHECK: %[[ALL:.*]] = tensor.from_elements %[[MN]] : tensor<f32>
// CHECK-NOT: iterator_types = {{.*}}"reduction"
// CHECK: step.return
step.optimizer @o {
  step.group @numel accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %n = step.reduce numel %w over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    %mn = step.reduce numel %w over(all) : tensor<?x?xf32> -> tensor<f32>
    %w1 = step.elementwise ins(%w, %n, %mn : tensor<?x?xf32>, tensor<?x1xf32>, tensor<f32>) -> tensor<?x?xf32> {
    ^bb0(%x: f32, %r: f32, %a: f32):
      %q = arith.mulf %x, %r : f32
      %p = arith.divf %q, %a : f32
      step.yield %p : f32
    }
    step.return %w1 : tensor<?x?xf32>
  }
}
