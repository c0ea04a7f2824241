// RUN: stepc-opt %s -split-input-file -verify-diagnostics
//
// One case per user-facing verifier error of the step dialect
// (lib/Dialect/Step/IR/StepOps.cpp), plus the ODS constraint errors a spec
// author is likely to hit. Sections follow StepOps.cpp: state inits, the
// optimizer, the group signature, the group return, then each op.
// Cases that need a signature the custom syntax cannot write use the generic
// form ("step.group"() <{...}>).

//===----------------------------------------------------------------------===//
// StateInitAttr
//===----------------------------------------------------------------------===//

// State storage: only f32 and bf16.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      // expected-error @+1 {{state storage must be f32 or bf16, got 'f16'}}
      state(%m : tensor<?xf32> = zeros store(f16)) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// State storage given as a non-float type, in the #step.state attribute form.
// expected-error @+1 {{state storage must be f32 or bf16, got 'i32'}}
step.optimizer @o attributes {init = #step.state<zeros store(i32)>} {
}

// -----

// Unknown state initial value (custom parser).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      // expected-error @+1 {{unknown state initial value 'randn'; expected zeros, ones, constant(v), param_norm or identity}}
      state(%m : tensor<?xf32> = randn) {
    step.return %w, %m : tensor<?xf32>, tensor<?xf32>
  }
}

//===----------------------------------------------------------------------===//
// OptimizerOp
//===----------------------------------------------------------------------===//

// -----

// Spec version newer than this stepc.
// expected-error @+1 {{spec version 2 is not supported: this stepc reads version 1}}
step.optimizer @o version(2) {
}

// -----

// Spec version 0 does not exist.
// expected-error @+1 {{spec version 0 is not supported}}
step.optimizer @o version(0) {
}

// -----

// Only groups inside an optimizer.
step.optimizer @o {
  // expected-error @+1 {{'arith.constant' op is not allowed in step.optimizer; it holds only step.group}}
  %c = arith.constant 1.0 : f32
}

// -----

// A group outside an optimizer (ODS HasParent).
// expected-error @+1 {{'step.group' op expects parent op 'step.optimizer'}}
step.group @g accepts(any) dtypes(f32)
    param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
  step.return %w : tensor<?xf32>
}

// -----

// Two groups with one name (SymbolTable).
step.optimizer @o {
  // expected-note @+1 {{see existing symbol definition here}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
  // expected-error @+1 {{redefinition of symbol named 'g'}}
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    step.return %w : tensor<?x?xf32>
  }
}

//===----------------------------------------------------------------------===//
// GroupOp: signature
//===----------------------------------------------------------------------===//

// -----

// Unknown accepts keyword (custom parser).
step.optimizer @o {
  // expected-error @+1 {{a group accepts 'any' or 'matrix', not 'vector'}}
  step.group @g accepts(vector) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// arg_roles/arg_names/arg_inits must match the block arguments (generic form).
step.optimizer @o {
  // expected-error @+1 {{arg_roles, arg_names and arg_inits must have one entry per block argument (3)}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32], arg_names = ["w", "g"],
                   arg_inits = [unit, unit]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>, %lr: f32):
    "step.return"(%w) : (tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// Same, with a body op that reads the argument arg_roles does not cover: the
// signature is checked before the body (body verifiers look up roles).
step.optimizer @o {
  // expected-error @+1 {{arg_roles, arg_names and arg_inits must have one entry per block argument (3)}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32], arg_names = ["w", "g"],
                   arg_inits = [unit, unit]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>):
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    "step.return"(%w, %m1) : (tensor<?xf32>, tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// Argument order: grad before param (generic form; the custom syntax fixes
// the order).
step.optimizer @o {
  // expected-error @+1 {{arguments must be ordered param, grad, state, hyper, input, count; 'w' (param) comes after a grad}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [1 : i32, 0 : i32], arg_names = ["g", "w"],
                   arg_inits = [unit, unit]}> ({
  ^bb0(%g: tensor<?xf32>, %w: tensor<?xf32>):
    "step.return"(%w) : (tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// Argument order: hyper before state (generic form).
step.optimizer @o {
  // expected-error @+1 {{'m' (state) comes after a hyper}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32, 3 : i32, 2 : i32],
                   arg_names = ["w", "g", "lr", "m"],
                   arg_inits = [unit, unit, unit, #step.state<zeros>]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>, %lr: f32, %m: tensor<?xf32>):
    "step.return"(%w, %m) : (tensor<?xf32>, tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// Two params.
step.optimizer @o {
  // expected-error @+1 {{needs exactly one param and one grad argument, got 2 and 1}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>, %w2 : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// No grad.
step.optimizer @o {
  // expected-error @+1 {{needs exactly one param and one grad argument, got 1 and 0}}
  step.group @g accepts(any) dtypes(f32) param(%w : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// No arguments at all.
step.optimizer @o {
  // expected-error @+1 {{needs exactly one param and one grad argument, got 0 and 0}}
  step.group @g accepts(any) dtypes(f32) {
  }
}

// -----

// Two step counts.
step.optimizer @o {
  // expected-error @+1 {{has more than one count argument; one step count is enough}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      count(%t : f32, %t2 : f32) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// A numeric SSA name cannot name an argument (hypers are set by name).
step.optimizer @o {
  // expected-error @+1 {{argument #2 needs a name that is a word (e.g. %lr), got '%0'}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%0 : f32) {
    %w1 = step.apply %w, %g lr(%0 : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// An empty argument name (generic form).
step.optimizer @o {
  // expected-error @+1 {{argument #1 needs a name that is a word (e.g. %lr), got '%'}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32], arg_names = ["w", ""],
                   arg_inits = [unit, unit]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>):
    "step.return"(%w) : (tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// A name used twice (generic form; the custom syntax rejects it while
// parsing, see malformed/).
step.optimizer @o {
  // expected-error @+1 {{argument name 'w' is used twice}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32], arg_names = ["w", "w"],
                   arg_inits = [unit, unit]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>):
    "step.return"(%w) : (tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// No parameter dtype.
step.optimizer @o {
  // expected-error @+1 {{dtypes(...) must list at least one parameter dtype}}
  step.group @g accepts(any) dtypes()
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// Unsupported parameter dtype.
step.optimizer @o {
  // expected-error @+1 {{parameter dtype 'f64' is not supported; use f32, bf16 or f16}}
  step.group @g accepts(any) dtypes(f32, f64)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// Integer parameter dtype.
step.optimizer @o {
  // expected-error @+1 {{parameter dtype 'i8' is not supported}}
  step.group @g accepts(any) dtypes(i8)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// Repeated parameter dtype.
step.optimizer @o {
  // expected-error @+1 {{dtype 'bf16' is listed twice}}
  step.group @g accepts(any) dtypes(bf16, f32, bf16)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// The param is computed in f32; storage dtypes go in dtypes(...).
step.optimizer @o {
  // expected-error @+1 {{param 'w' must be an f32 tensor (the compute type; storage dtypes go in dtypes(...)), got 'tensor<?xbf16>'}}
  step.group @g accepts(any) dtypes(bf16)
      param(%w : tensor<?xbf16>) grad(%g : tensor<?xbf16>) {
  }
}

// -----

// The param must be a tensor, not a scalar.
step.optimizer @o {
  // expected-error @+1 {{param 'w' must be an f32 tensor}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : f32) grad(%g : f32) {
    %c = arith.addf %w, %g : f32
  }
}

// -----

// accepts(any) sees rank-1 params.
step.optimizer @o {
  // expected-error @+1 {{a group that accepts(any) sees its params as rank-1 tensors (tensor<?xf32>), but param 'w' is 'tensor<?x?xf32>'}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// accepts(matrix) sees rank-2 params.
step.optimizer @o {
  // expected-error @+1 {{a group that accepts(matrix) sees its params as rank-2 tensors (tensor<?x?xf32>), but param 'w' is 'tensor<?xf32>'}}
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// Grad type differs from the param type.
step.optimizer @o {
  // expected-error @+1 {{grad 'g' must have the param's type 'tensor<?xf32>', got 'tensor<?xbf16>'}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xbf16>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// A matrix state in a flat group.
step.optimizer @o {
  // expected-error @+1 {{state 'm' has type 'tensor<?x?xf32>', which is no state layout for this group; use tensor<?xf32> (like the param) or tensor<f32> (per tensor)}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?x?xf32> = zeros) {
    step.return %w, %m : tensor<?xf32>, tensor<?x?xf32>
  }
}

// -----

// A state of storage dtype bf16 written as its type (it must be f32).
step.optimizer @o {
  // expected-error @+1 {{state 'v' has type 'tensor<?x?xbf16>', which is no state layout for this group; use tensor<?x?xf32> (like the param), tensor<?x1xf32> (per row), tensor<1x?xf32> (per column), tensor<?xf32> (per element of the long axis) or tensor<f32> (per tensor)}}
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x?xbf16> = zeros) {
  }
}

// -----

// A rank-3 state in a matrix group.
step.optimizer @o {
  // expected-error @+1 {{state 'v' has type 'tensor<?x?x?xf32>', which is no state layout}}
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x?x?xf32> = zeros) {
    step.return %w, %v : tensor<?x?xf32>, tensor<?x?x?xf32>
  }
}

// -----

// A scalar (non-tensor) state.
step.optimizer @o {
  // expected-error @+1 {{state 's' has type 'f32', which is no state layout}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : f32 = zeros) {
    %w1 = step.apply %w, %g lr(%s : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// A state with no initial value (generic form; the custom syntax requires
// `= init`).
step.optimizer @o {
  // expected-error @+1 {{state 'm' needs an initial value (= zeros, ones, constant(v), param_norm or identity)}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32, 2 : i32],
                   arg_names = ["w", "g", "m"], arg_inits = [unit, unit, unit]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>):
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    "step.return"(%w, %m1) : (tensor<?xf32>, tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// A square state needs a matrix group and the param's matrix type.
step.optimizer @o {
  // expected-error @+1 {{state 'r' is square, which needs a group that accepts(matrix)}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%r : tensor<?xf32> = identity square(rows)) {
    step.return %w, %r : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

step.optimizer @o {
  // expected-error @+1 {{state 'r' is square, so its type must be the param's 'tensor<?x?xf32>', got 'tensor<?x1xf32>'}}
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%r : tensor<?x1xf32> = zeros square(cols)) {
    step.return %w, %r : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// identity is only defined for a square state.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      // expected-error @+1 {{an identity state must be square: = identity square(rows) or square(cols)}}
      state(%r : tensor<?x?xf32> = identity) {
    step.return %w, %r : tensor<?x?xf32>, tensor<?x?xf32>
  }
}

// -----

step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      // expected-error @+1 {{square(diag) is no square state; use square(rows) (m×m) or square(cols) (n×n)}}
      state(%r : tensor<?x?xf32> = identity square(diag)) {
    step.return %w, %r : tensor<?x?xf32>, tensor<?x?xf32>
  }
}

// -----

// param_norm holds one value per tensor.
step.optimizer @o {
  // expected-error @+1 {{state 'r' = param_norm holds one norm per tensor, so its type must be tensor<f32>}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%r : tensor<?xf32> = param_norm) {
    step.return %w, %r : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// A state nothing reads.
step.optimizer @o {
  // expected-error @+1 {{state 'm' is never read; remove it or use it}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    %z = step.scale %g factor(0.0) : tensor<?xf32>
    step.return %w, %z : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// Hypers are f32.
step.optimizer @o {
  // expected-error @+1 {{hyper 'lr' must be f32, got 'f64'}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f64) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// A tensor hyper.
step.optimizer @o {
  // expected-error @+1 {{hyper 'lr' must be f32, got 'tensor<f32>'}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : tensor<f32>) {
    %w1 = step.apply %w, %g lr(%lr : tensor<f32>) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// The step count is f32.
step.optimizer @o {
  // expected-error @+1 {{count 't' must be f32, got 'i64'}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) count(%t : i64) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// A hyper default that is not a number (generic form).
step.optimizer @o {
  // expected-error @+1 {{hyper 'lr' has an invalid default "fast"}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32, 3 : i32],
                   arg_names = ["w", "g", "lr"], arg_inits = [unit, unit, "fast"]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>, %lr: f32):
    "step.return"(%w) : (tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// The step count has no default: the runtime supplies it (generic form).
step.optimizer @o {
  // expected-error @+1 {{count 't' has an invalid default 1.000000e+00 : f64}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32, 5 : i32],
                   arg_names = ["w", "g", "t"], arg_inits = [unit, unit, 1.0 : f64]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>, %t: f32):
    "step.return"(%w) : (tensor<?xf32>) -> ()
  }) : () -> ()
}

//===----------------------------------------------------------------------===//
// GroupOp: the return
//===----------------------------------------------------------------------===//

// -----

// Missing state in the return.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    // expected-error @+1 {{'step.return' op must return the new param and then each of the group's 1 state(s): 2 values, got 1}}
    step.return %w : tensor<?xf32>
  }
}

// -----

// No return at all: the implicit step.return returns nothing.
step.optimizer @o {
  // expected-error @+1 {{'step.return' op must return the new param and then each of the group's 0 state(s): 1 values, got 0}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
  }
}

// -----

// Wrong type for the new param.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%r : tensor<f32> = param_norm) {
    // expected-error @+1 {{'step.return' op returns 'tensor<f32>' as the new param, which must be 'tensor<?xf32>'}}
    step.return %r, %r : tensor<f32>, tensor<f32>
  }
}

// -----

// Wrong type for a state.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x1xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.95) reduce(rows) : tensor<?x?xf32>, tensor<?x1xf32>
    // expected-error @+1 {{'step.return' op returns 'tensor<?x?xf32>' for state 'v', which has type 'tensor<?x1xf32>'}}
    step.return %w, %g : tensor<?x?xf32>, tensor<?x?xf32>
  }
}

// -----

// The state read by a momentum is returned unchanged: its update is lost.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) hyper(%lr : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    // expected-error @+1 {{'step.return' op returns a value for state 'm' that is not its update: it is read by 'step.momentum', so return that op's new state for it}}
    step.return %w1, %m : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// The momentum's update direction (its second result) returned as the state.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) hyper(%lr : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) nesterov : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    // expected-error @+1 {{returns a value for state 'm' that is not its update: it is read by 'step.momentum'}}
    step.return %w1, %u : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// A second moment returned after further computation.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    %v2 = step.scale %v1 factor(0.5) : tensor<?xf32>
    // expected-error @+1 {{returns a value for state 'v' that is not its update: it is read by 'step.second_moment'}}
    step.return %w, %v2 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// States returned in the wrong order.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{returns a value for state 'm' that is not its update: it is read by 'step.momentum'}}
    step.return %w, %v1, %m1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// The return holds tensors only (ODS).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.return' op operand #1 must be variadic of ranked tensor of 32-bit float values, but got 'f32'}}
    step.return %w, %lr : tensor<?xf32>, f32
  }
}

// -----

// step.return outside a group (ODS HasParent).
// expected-error @+1 {{'step.return' op expects parent op 'step.group'}}
step.return

//===----------------------------------------------------------------------===//
// step.momentum
//===----------------------------------------------------------------------===//

// -----

// beta outside [0, 1).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{'step.momentum' op beta must be in [0, 1), got 1.000000e+00}}
    %m1, %u = step.momentum ema %g, %m beta(1.0) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// Negative beta.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{beta must be in [0, 1), got -5.000000e-01}}
    %m1, %u = step.momentum heavy_ball %g, %m beta(-0.5) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// dampening outside [0, 1).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{dampening must be in [0, 1), got 1.500000e+00}}
    %m1, %u = step.momentum heavy_ball %g, %m beta(0.9) dampening(1.5) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// The buffer must be a state argument, not the grad.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.momentum' op buffer must be a state argument of the group (declare it in state(...)), got the grad argument 'g'}}
    %m1, %u = step.momentum ema %g, %g beta(0.9) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// The buffer must be a state argument, not a computed value.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %b = step.scale %g factor(0.5) : tensor<?xf32>
    // expected-error @+1 {{buffer must be a state argument of the group (declare it in state(...)), got a value computed in the group body}}
    %m1, %u = step.momentum ema %g, %b beta(0.9) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// first_step(grad) reads the step count.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{'step.momentum' op first_step(grad) needs the step count: add count(%t)}}
    %m1, %u = step.momentum heavy_ball %g, %m beta(0.9) first_step(grad) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// count(...) without first_step(grad).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) count(%t : f32) {
    // expected-error @+1 {{'step.momentum' op count(...) is only read with first_step(grad); remove it}}
    %m1, %u = step.momentum heavy_ball %g, %m beta(0.9) count(%t) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// dampening belongs to heavy_ball.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{dampening applies to heavy_ball momentum; ema already weighs the gradient by (1-beta)}}
    %m1, %u = step.momentum ema %g, %m beta(0.9) dampening(0.1) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// nesterov with dampening.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{nesterov needs dampening(0) (as in PyTorch SGD)}}
    %m1, %u = step.momentum heavy_ball %g, %m beta(0.9) dampening(0.1) nesterov : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// A buffer whose type differs from the grad's: the custom syntax names one
// type, so the buffer must have it.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      // expected-note @+1 {{prior use here}}
      state(%m : tensor<?x1xf32> = zeros) {
    // expected-error @+1 {{use of value '%m' expects different type than prior uses: 'tensor<?x?xf32>' vs 'tensor<?x1xf32>'}}
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?x?xf32>
    step.return %w, %m1 : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// Same, in the generic form (ODS AllTypesMatch).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%m : tensor<?x1xf32> = zeros) {
    // expected-error @+1 {{'step.momentum' op failed to verify that all of {grad, buffer, new_buffer, update} have same type}}
    %m1:2 = "step.momentum"(%g, %m) <{beta = 0.9 : f64, kind = 0 : i32}>
        : (tensor<?x?xf32>, tensor<?x1xf32>) -> (tensor<?x1xf32>, tensor<?x?xf32>)
    step.return %w, %m1#0 : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// The count operand is an f32, not a tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      // expected-note @+1 {{prior use here}}
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{use of value '%g' expects different type than prior uses: 'f32' vs 'tensor<?xf32>'}}
    %m1, %u = step.momentum heavy_ball %g, %m beta(0.9) first_step(grad) count(%g) : tensor<?xf32>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// Momentum on a bf16 tensor (compute ops are f32).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      // expected-note @+1 {{prior use here}}
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros) {
    // expected-error @+1 {{use of value '%g' expects different type than prior uses: 'tensor<?xbf16>' vs 'tensor<?xf32>'}}
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xbf16>
    step.return %w, %m1 : tensor<?xf32>, tensor<?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.second_moment
//===----------------------------------------------------------------------===//

// -----

// beta outside [0, 1).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    // expected-error @+1 {{'step.second_moment' op beta must be in [0, 1), got 1.500000e+00}}
    %v1 = step.second_moment %g, %v beta(1.5) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// The state must be a state argument.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.second_moment' op state must be a state argument of the group (declare it in state(...)), got the param argument 'w'}}
    %v1 = step.second_moment %g, %w beta(0.999) : tensor<?xf32>, tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// first_step(grad) without count.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    // expected-error @+1 {{'step.second_moment' op first_step(grad) needs the step count: add count(%t)}}
    %v1 = step.second_moment %g, %v beta(0.95) first_step(grad) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// count without first_step(grad).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) count(%t : f32) {
    // expected-error @+1 {{'step.second_moment' op count(...) is only read with first_step(grad); remove it}}
    %v1 = step.second_moment %g, %v beta(0.95) count(%t) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// A reduction needs a matrix.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<f32> = zeros) {
    // expected-error @+1 {{'step.second_moment' op reduce(rows) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'; use it in a group that accepts(matrix)}}
    %v1 = step.second_moment %g, %v beta(0.95) reduce(rows) : tensor<?xf32>, tensor<f32>
    step.return %w, %v1 : tensor<?xf32>, tensor<f32>
  }
}

// -----

// reduce(none): the state has the input's type.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x1xf32> = zeros) {
    // expected-error @+1 {{reduce(none) keeps one value per element (the input's type), so the state must be of that layout; got 'tensor<?x1xf32>' for input 'tensor<?x?xf32>'}}
    %v1 = step.second_moment %g, %v beta(0.95) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %w, %v1 : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// reduce(rows) with a per-column state.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<1x?xf32> = zeros) {
    // expected-error @+1 {{reduce(rows) keeps one value per row (tensor<?x1xf32>), so the state must be of that layout; got 'tensor<1x?xf32>'}}
    %v1 = step.second_moment %g, %v beta(0.95) reduce(rows) : tensor<?x?xf32>, tensor<1x?xf32>
    step.return %w, %v1 : tensor<?x?xf32>, tensor<1x?xf32>
  }
}

// -----

// reduce(rows) with a full state.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x?xf32> = zeros) {
    // expected-error @+1 {{reduce(rows) keeps one value per row (tensor<?x1xf32>), so the state must be of that layout; got 'tensor<?x?xf32>'}}
    %v1 = step.second_moment %g, %v beta(0.95) reduce(rows) : tensor<?x?xf32>, tensor<?x?xf32>
    step.return %w, %v1 : tensor<?x?xf32>, tensor<?x?xf32>
  }
}

// -----

// reduce(cols) with a per-row state.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x1xf32> = zeros) {
    // expected-error @+1 {{reduce(cols) keeps one value per column (tensor<1x?xf32>), so the state must be of that layout; got 'tensor<?x1xf32>'}}
    %v1 = step.second_moment %g, %v beta(0.95) reduce(cols) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %w, %v1 : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// reduce(short_axis) with a per-tensor state.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<f32> = zeros) {
    // expected-error @+1 {{reduce(short_axis) keeps one value per element of the long axis (tensor<?xf32>, max(rows, cols) long), so the state must be of that layout; got 'tensor<f32>'}}
    %v1 = step.second_moment %g, %v beta(0.95) reduce(short_axis) : tensor<?x?xf32>, tensor<f32>
    step.return %w, %v1 : tensor<?x?xf32>, tensor<f32>
  }
}

// -----

// reduce(matrix) with a per-row state.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?x1xf32> = zeros) {
    // expected-error @+1 {{reduce(matrix) keeps one value (tensor<f32>), so the state must be of that layout; got 'tensor<?x1xf32>'}}
    %v1 = step.second_moment %g, %v beta(0.95) reduce(matrix) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %w, %v1 : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.precondition
//===----------------------------------------------------------------------===//

// -----

// eps must be positive.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op eps must be positive and finite, got 0.000000e+00}}
    %d = step.precondition %g, %v1 eps(0.0) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// eps must be finite.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op eps must be positive and finite, got INF}}
    %d = step.precondition %g, %v1 eps(0x7FF0000000000000) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// A moment that does not broadcast to the numerator: 3 is neither the rows
// nor the long axis of a 4x8 matrix.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<4x8xf32>) grad(%g : tensor<4x8xf32>)
      state(%v : tensor<3xf32> = zeros) {
    // expected-error @+1 {{'step.precondition' op moment of type 'tensor<3xf32>' does not broadcast to the numerator 'tensor<4x8xf32>'; use the same type, one value per row or column, one per element of the long axis (tensor<?xf32>) or tensor<f32>}}
    %d = step.precondition %g, %v eps(1.0e-8) : tensor<4x8xf32>, tensor<3xf32>
    step.return %w, %v : tensor<4x8xf32>, tensor<3xf32>
  }
}

// -----

// bias_correction needs the step count (generic form: the custom syntax
// writes `bias_correction(b1, b2) count(%t)` as one clause).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op bias_correction(...) needs the step count: add count(%t)}}
    %d = "step.precondition"(%g, %v1) <{eps = 1.0e-8 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64}>
        : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// count without bias_correction (generic form).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) count(%t : f32) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op count(...) is only read with bias_correction(beta1, beta2); remove it}}
    %d = "step.precondition"(%g, %v1, %t) <{eps = 1.0e-8 : f64}>
        : (tensor<?xf32>, tensor<?xf32>, f32) -> tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// bias_correction without count in the custom syntax.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{custom op 'step.precondition' expected 'count'}}
    %d = step.precondition %g, %v1 eps(1.0e-8) bias_correction(0.9, 0.999) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// beta1 outside [0, 1).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) count(%t : f32) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op beta1 must be in [0, 1), got 1.000000e+00}}
    %d = step.precondition %g, %v1 eps(1.0e-8) bias_correction(1.0, 0.999) count(%t) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// beta2 outside [0, 1).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) count(%t : f32) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op beta2 must be in [0, 1), got -1.000000e-01}}
    %d = step.precondition %g, %v1 eps(1.0e-8) bias_correction(0.9, -0.1) count(%t) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// bias_correction beta1 must be the ema momentum's beta.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op bias_correction beta1 8.000000e-01 differs from the momentum's beta 9.000000e-01}}
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.8, 0.999) count(%t) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// bias_correction beta2 must be the second moment's beta.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%m : tensor<?xf32> = zeros, %v : tensor<?xf32> = zeros) count(%t : f32) {
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.precondition' op bias_correction beta2 9.900000e-01 differs from the second moment's beta 9.990000e-01}}
    %d = step.precondition %m1, %v1 eps(1.0e-8) bias_correction(0.9, 0.99) count(%t) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %m1, %v1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// Unknown eps mode (enum keyword).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.999) : tensor<?xf32>, tensor<?xf32>
    // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'mode' [add, add_before_correction, clamp, inside_sqrt]}}
    %d = step.precondition %g, %v1 eps(1.0e-8) mode(max) : tensor<?xf32>, tensor<?xf32>
    step.return %w, %v1 : tensor<?xf32>, tensor<?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.normalize_rows / step.normalize_cols
//===----------------------------------------------------------------------===//

// -----

// A matrix op in a flat group (ODS Step_Matrix).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.normalize_rows' op operand #0 must be f32 matrix (a rank-2 tensor: matrix ops need a group that accepts(matrix)), but got 'tensor<?xf32>'}}
    %y = step.normalize_rows %g eps(1.0e-8) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// p below 1 (rows).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.normalize_rows' op p must be finite and at least 1, got 5.000000e-01}}
    %y = step.normalize_rows %g p(0.5) eps(1.0e-8) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// power must be positive (rows).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.normalize_rows' op power must be positive and finite, got 0.000000e+00}}
    %y = step.normalize_rows %g power(0.0) eps(1.0e-8) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// eps must be positive (rows).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.normalize_rows' op eps must be positive and finite, got -1.000000e-08}}
    %y = step.normalize_rows %g eps(-1.0e-8) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// A matrix op in a flat group (cols).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.normalize_cols' op operand #0 must be f32 matrix (a rank-2 tensor: matrix ops need a group that accepts(matrix)), but got 'tensor<?xf32>'}}
    %y = step.normalize_cols %g eps(1.0e-8) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// p below 1 (cols).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.normalize_cols' op p must be finite and at least 1, got 0.000000e+00}}
    %y = step.normalize_cols %g p(0.0) eps(1.0e-8) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// power must be positive (cols).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.normalize_cols' op power must be positive and finite, got -5.000000e-01}}
    %y = step.normalize_cols %g power(-0.5) eps(1.0e-8) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// eps must be positive (cols).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.normalize_cols' op eps must be positive and finite, got 0.000000e+00}}
    %y = step.normalize_cols %g target(sqrt_dim) eps(0.0) mode(clamp) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// Unknown target keyword.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'target' [unit, sqrt_dim, rms_of_norms]}}
    %y = step.normalize_cols %g target(rms) eps(1.0e-8) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.newton_schulz
//===----------------------------------------------------------------------===//

// -----

// A matrix op on a rank-1 tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op operand #0 must be f32 matrix (a rank-2 tensor: matrix ops need a group that accepts(matrix)), but got 'tensor<?xf32>'}}
    %o = step.newton_schulz %g steps(5) coefficients([3.4445, -4.775, 2.0315]) eps(1.0e-7) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// steps below 1.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op steps must be in [1, 100], got 0}}
    %o = step.newton_schulz %g steps(0) coefficients([3.4445, -4.775, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// steps above 100.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op steps must be in [1, 100], got 101}}
    %o = step.newton_schulz %g steps(101) coefficients([3.4445, -4.775, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// Coefficients not in triples.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op coefficients must be (a, b, c) triples, one per iteration; got 4 numbers}}
    %o = step.newton_schulz %g steps(5) coefficients([3.4445, -4.775, 2.0315, 1.0]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// No coefficients.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op coefficients must be (a, b, c) triples, one per iteration; got 0 numbers}}
    %o = step.newton_schulz %g steps(5) coefficients([]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// More triples than steps.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op the schedule has 2 (a, b, c) triples but steps is 1; drop the unused triples or raise steps}}
    %o = step.newton_schulz %g steps(1) coefficients([3.4445, -4.775, 2.0315, 3.4445, -4.775, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// A non-finite coefficient (hex bits of +inf).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op coefficients must be finite}}
    %o = step.newton_schulz %g steps(5) coefficients([3.4445, 0x7FF0000000000000, 2.0315]) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// Unsupported compute type.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op compute type must be bf16, f16 or f32, got 'f64'}}
    %o = step.newton_schulz %g steps(5) coefficients([3.4445, -4.775, 2.0315]) eps(1.0e-7) compute(f64) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// safety must be positive.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op safety must be positive and finite, got 0.000000e+00}}
    %o = step.newton_schulz %g steps(5) coefficients([3.4445, -4.775, 2.0315]) safety(0.0) eps(1.0e-7) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// eps must be positive.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.newton_schulz' op eps must be positive and finite, got 0.000000e+00}}
    %o = step.newton_schulz %g steps(5) coefficients([3.4445, -4.775, 2.0315]) eps(0.0) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.sphere_project
//===----------------------------------------------------------------------===//

// -----

// Per-row sphere on a rank-1 tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.sphere_project' op sphere(rows) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'; use it in a group that accepts(matrix)}}
    %w1 = step.sphere_project %w sphere(rows) eps(1.0e-12) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// Per-column sphere on a rank-1 tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.sphere_project' op sphere(cols) needs a matrix (rank-2 tensor)}}
    %w1 = step.sphere_project %w sphere(cols) eps(1.0e-12) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// A shape factor on a rank-1 tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.sphere_project' op shape(sqrt_max_dim) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'}}
    %w1 = step.sphere_project %w shape(sqrt_max_dim) eps(1.0e-12) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// radius must be positive.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.sphere_project' op radius must be positive and finite, got -1.000000e+00}}
    %w1 = step.sphere_project %w radius(-1.0) eps(1.0e-12) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}

// -----

// eps must be positive.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.sphere_project' op eps must be positive and finite, got 0.000000e+00}}
    %w1 = step.sphere_project %w sphere(rows) eps(0.0) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}

// -----

// `by` must be a scalar (ODS Step_Scalar).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.sphere_project' op operand #1 must be f32 scalar (f32 or tensor<f32>), but got 'tensor<?xf32>'}}
    %w1 = step.sphere_project %w by(%g : tensor<?xf32>) eps(1.0e-12) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.gain_split
//===----------------------------------------------------------------------===//

// -----

// eps must be positive.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones) {
    // expected-error @+1 {{'step.gain_split' op eps must be positive and finite, got 0.000000e+00}}
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(0.0) : tensor<?xf32>, tensor<f32>
    step.return %d, %s : tensor<?xf32>, tensor<f32>
  }
}

// -----

// Per-row gains on a rank-1 param.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones) {
    // expected-error @+1 {{'step.gain_split' op axes(row) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'; use it in a group that accepts(matrix)}}
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(row) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %d, %s : tensor<?xf32>, tensor<f32>
  }
}

// -----

// axes(scalar) with a per-row gain.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gr : tensor<?x1xf32> = ones) {
    // expected-error @+1 {{'step.gain_split' op axes(scalar) needs one tensor<f32> gain in gains(...)}}
    %d, %gd, %dgr = step.gain_split %w, %g gains(%gr) axes(scalar) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %d, %gr : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// axes(row) with a per-column gain.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gc : tensor<1x?xf32> = ones) {
    // expected-error @+1 {{'step.gain_split' op axes(row) needs one per-row gain (tensor<?x1xf32>) in gains(...)}}
    %d, %gd, %dgc = step.gain_split %w, %g gains(%gc) axes(row) eps(1.0e-8) : tensor<?x?xf32>, tensor<1x?xf32>
    step.return %d, %gc : tensor<?x?xf32>, tensor<1x?xf32>
  }
}

// -----

// axes(col) with a per-row gain.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gr : tensor<?x1xf32> = ones) {
    // expected-error @+1 {{'step.gain_split' op axes(col) needs one per-column gain (tensor<1x?xf32>) in gains(...)}}
    %d, %gd, %dgr = step.gain_split %w, %g gains(%gr) axes(col) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %d, %gr : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// axes(row_col) with one gain.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gr : tensor<?x1xf32> = ones) {
    // expected-error @+1 {{'step.gain_split' op axes(row_col) needs a per-row gain (tensor<?x1xf32>) then a per-column gain (tensor<1x?xf32>) in gains(...)}}
    %d, %gd, %dgr = step.gain_split %w, %g gains(%gr) axes(row_col) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %d, %gr : tensor<?x?xf32>, tensor<?x1xf32>
  }
}

// -----

// axes(row_col) with the gains swapped.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%gr : tensor<?x1xf32> = ones, %gc : tensor<1x?xf32> = ones) {
    // expected-error @+1 {{'step.gain_split' op axes(row_col) needs a per-row gain (tensor<?x1xf32>) then a per-column gain}}
    %d, %gd, %dgc, %dgr = step.gain_split %w, %g gains(%gc, %gr) axes(row_col) eps(1.0e-8) : tensor<?x?xf32>, tensor<1x?xf32>, tensor<?x1xf32>
    step.return %d, %gr, %gc : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
  }
}

// -----

// A gain that is not a state argument.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %r = step.reduce norm %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{'step.gain_split' op each gain must be a state argument of the group (declare it in state(...)), got a value computed in the group body}}
    %d, %gd, %dgr = step.gain_split %w, %g gains(%r) axes(row) eps(1.0e-8) : tensor<?x?xf32>, tensor<?x1xf32>
    step.return %d : tensor<?x?xf32>
  }
}

// -----

// Binding fewer results than the op has (one gradient per gain).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones) {
    // expected-error @+1 {{operation defines 3 results but was provided 2 to bind}}
    %d, %gd = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %d, %s : tensor<?xf32>, tensor<f32>
  }
}

// -----

// Unknown axes keyword.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%s : tensor<f32> = ones) {
    // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'axes' [scalar, row, col, row_col]}}
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(rows) eps(1.0e-8) : tensor<?x?xf32>, tensor<f32>
    step.return %d, %s : tensor<?x?xf32>, tensor<f32>
  }
}

//===----------------------------------------------------------------------===//
// step.gain_update
//===----------------------------------------------------------------------===//

// -----

// Gains must match axes (a per-tensor gain for axes(row)).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?x?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op axes(row) needs one per-row gain (tensor<?x1xf32>) in gains(...)}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(row) betas(0.9, 0.999) eps(1.0e-8) : tensor<?x?xf32>, tensor<f32>
    step.return %w1, %s1, %m1, %v1 : tensor<?x?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// Per-column gains on a rank-1 direction.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op axes(col) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(col) betas(0.9, 0.999) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s1, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// A gain that is not a state.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op each gain must be a state argument of the group (declare it in state(...)), got a value computed in the group body}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%ds) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(scalar) betas(0.9, 0.999) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// beta1 outside [0, 1).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op beta1 must be in [0, 1), got 1.000000e+00}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(scalar) betas(1.0, 0.999) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s1, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// beta2 outside [0, 1).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op beta2 must be in [0, 1), got 2.000000e+00}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(scalar) betas(0.9, 2.0) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s1, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// eps must be positive.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op eps must be positive and finite, got 0.000000e+00}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(scalar) betas(0.9, 0.999) eps(0.0) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s1, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// One gradient per gain (generic form: the custom syntax derives the grad
// types from the gain types, so a mismatch is a parse error there).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op needs one gradient per gain: 1 gains, 2 grads}}
    %r:4 = "step.gain_update"(%d, %s, %ds, %ds, %m, %v, %lr, %t)
        <{axes = 0 : i32, map = 1 : i32, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64,
          operandSegmentSizes = array<i32: 1, 1, 2, 2, 1, 1>}>
        : (tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, f32, f32)
        -> (tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>)
    step.return %r#0, %r#1, %r#2, %r#3 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// Two moments per gain (generic form).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op needs two Adam moments (m, v) per gain: 2 moments, got 1}}
    %r:3 = "step.gain_update"(%d, %s, %ds, %m, %lr, %t)
        <{axes = 0 : i32, map = 1 : i32, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64,
          operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1>}>
        : (tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>, f32, f32)
        -> (tensor<?xf32>, tensor<f32>, tensor<f32>)
    step.return %r#0, %r#1, %r#2 : tensor<?xf32>, tensor<f32>, tensor<f32>
  }
}

// -----

// Grad count mismatch in the custom syntax.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{number of operands and types do not match: got 2 operands and 1 types}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds, %ds) moments(%m, %v) lr(%lr) count(%t) axes(scalar) betas(0.9, 0.999) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s1, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// A moment that is not a state.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.gain_update' op each moment must be a state argument of the group (declare it in state(...)), got a value computed in the group body}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %ds) lr(%lr) count(%t) axes(scalar) betas(0.9, 0.999) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s1, %m1 : tensor<?xf32>, tensor<f32>, tensor<f32>
  }
}

// -----

// A gain stepped by gain_update but returned unchanged.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      hyper(%lr : f32) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(scalar) betas(0.9, 0.999) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{'step.return' op returns a value for state 's' that is not its update: it is read by 'step.gain_update', so return that op's new state for it}}
    step.return %w1, %s, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

// -----

// The lr operand is an f32 (ODS F32; the custom syntax fixes its type).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%s : tensor<f32> = ones, %m : tensor<f32> = zeros, %v : tensor<f32> = zeros)
      // expected-note @+1 {{prior use here}}
      hyper(%lr : tensor<f32>) count(%t : f32) {
    %d, %gd, %ds = step.gain_split %w, %g gains(%s) axes(scalar) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    // expected-error @+1 {{use of value '%lr' expects different type than prior uses: 'f32' vs 'tensor<f32>'}}
    %w1, %s1, %m1, %v1 = step.gain_update %d gains(%s) grads(%ds) moments(%m, %v) lr(%lr) count(%t) axes(scalar) betas(0.9, 0.999) eps(1.0e-8) : tensor<?xf32>, tensor<f32>
    step.return %w1, %s1, %m1, %v1 : tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>
  }
}

//===----------------------------------------------------------------------===//
// step.scale
//===----------------------------------------------------------------------===//

// -----

// A non-finite factor (hex bits of +inf).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.scale' op factor must be finite}}
    %u = step.scale %g factor(0x7FF0000000000000) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// A NaN factor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.scale' op factor must be finite}}
    %u = step.scale %g factor(0x7FF8000000000000) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// A shape rule on a rank-1 tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.scale' op shape(keller) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'; use it in a group that accepts(matrix)}}
    %u = step.scale %g shape(keller) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// restore(...) of another type.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32) {
    %r = step.reduce norm %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{'step.scale' op restore(...) must have the input's type 'tensor<?x?xf32>', got 'tensor<?x1xf32>'}}
    %u = step.scale %g restore(%r : tensor<?x1xf32>) norm(frobenius) : tensor<?x?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}

// -----

// eps must be positive.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.scale' op eps must be positive and finite, got -1.000000e+00}}
    %u = step.scale %g norm(rms) eps(-1.0) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// `by` must be a scalar (ODS Step_Scalar).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.scale' op operand #1 must be f32 scalar (f32 or tensor<f32>), but got 'tensor<?xf32>'}}
    %u = step.scale %g by(%w : tensor<?xf32>) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// Unknown norm keyword.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'norm' [none, rms, frobenius]}}
    %u = step.scale %g norm(l2) : tensor<?xf32>
    %w1 = step.apply %w, %u lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.weight_decay
//===----------------------------------------------------------------------===//

// -----

// Decoupled decay without a learning rate.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%wd : f32) {
    // expected-error @+1 {{'step.weight_decay' op decoupled decay multiplies by the learning rate: add lr(%lr : f32)}}
    %w1 = step.weight_decay decoupled %w wd(%wd : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// Decoupled decay with into(...).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32, %wd : f32) {
    // expected-error @+1 {{'step.weight_decay' op into(...) is for coupled decay; decoupled decay changes the param itself}}
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) into(%g : tensor<?xf32>) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// Coupled decay without into(...).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%wd : f32) {
    // expected-error @+1 {{'step.weight_decay' op coupled decay adds wd*W to a gradient: add into(%g : type)}}
    %g1 = step.weight_decay coupled %w wd(%wd : f32) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// Coupled decay with lr(...).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32, %wd : f32) {
    // expected-error @+1 {{'step.weight_decay' op coupled decay takes no lr(...) or cautious(...); they belong to decoupled decay}}
    %g1 = step.weight_decay coupled %w lr(%lr : f32) wd(%wd : f32) into(%g : tensor<?xf32>) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// Coupled decay with cautious(...).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%wd : f32) {
    // expected-error @+1 {{'step.weight_decay' op coupled decay takes no lr(...) or cautious(...)}}
    %g1 = step.weight_decay coupled %w wd(%wd : f32) into(%g : tensor<?xf32>) cautious(%g : tensor<?xf32>) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// cautious(...) of another type.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32, %wd : f32) {
    %r = step.reduce sum %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{'step.weight_decay' op operand of type 'tensor<?x1xf32>' must have the param's type 'tensor<?x?xf32>'}}
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) cautious(%r : tensor<?x1xf32>) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}

// -----

// into(...) of another type.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%wd : f32) {
    %r = step.reduce sum %g over(cols) : tensor<?x?xf32> -> tensor<1x?xf32>
    // expected-error @+1 {{'step.weight_decay' op operand of type 'tensor<1x?xf32>' must have the param's type 'tensor<?x?xf32>'}}
    %g1 = step.weight_decay coupled %w wd(%wd : f32) into(%r : tensor<1x?xf32>) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// wd must be a scalar (ODS Step_Scalar).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.weight_decay' op operand #2 must be f32 scalar (f32 or tensor<f32>), but got 'tensor<?xf32>'}}
    %w1 = step.weight_decay decoupled %w lr(%lr : f32) wd(%g : tensor<?xf32>) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// Unknown decay mode.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32, %wd : f32) {
    // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'mode' [decoupled, coupled]}}
    %w1 = step.weight_decay l2 %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.apply (ODS only)
//===----------------------------------------------------------------------===//

// -----

// lr must be a scalar.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.apply' op operand #2 must be f32 scalar (f32 or tensor<f32>), but got 'tensor<?xf32>'}}
    %w1 = step.apply %w, %g lr(%g : tensor<?xf32>) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// An f64 learning rate.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %lr = arith.constant 1.0e-3 : f64
    // expected-error @+1 {{'step.apply' op operand #2 must be f32 scalar (f32 or tensor<f32>), but got 'f64'}}
    %w1 = step.apply %w, %g lr(%lr : f64) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// An update of another type (AllTypesMatch, generic form).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32) {
    %r = step.reduce sum %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{'step.apply' op failed to verify that all of {param, update, result} have same type}}
    %w1 = "step.apply"(%w, %r, %lr) : (tensor<?x?xf32>, tensor<?x1xf32>, f32) -> tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}

// -----

// An update of another type (custom syntax).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) hyper(%lr : f32) {
    // expected-note @+1 {{prior use here}}
    %r = step.reduce sum %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{use of value '%r' expects different type than prior uses: 'tensor<?x?xf32>' vs 'tensor<?x1xf32>'}}
    %w1 = step.apply %w, %r lr(%lr : f32) : tensor<?x?xf32>
    step.return %w1 : tensor<?x?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.tangent_project
//===----------------------------------------------------------------------===//

// -----

// Per-row projection on a rank-1 tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.tangent_project' op sphere(rows) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'; use it in a group that accepts(matrix)}}
    %u = step.tangent_project %g onto(%w) sphere(rows) eps(1.0e-8) : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// eps must be positive.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.tangent_project' op eps must be positive and finite, got 0.000000e+00}}
    %u = step.tangent_project %g onto(%w) sphere(cols) eps(0.0) : tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// onto(...) of another type (AllTypesMatch, generic form).
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %r = step.reduce sum %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{'step.tangent_project' op failed to verify that all of {input, onto, result} have same type}}
    %u = "step.tangent_project"(%g, %r) <{eps = 1.0e-8 : f64}> : (tensor<?x?xf32>, tensor<?x1xf32>) -> tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.elementwise / step.yield
//===----------------------------------------------------------------------===//

// -----

// No results (generic form: the custom syntax needs a result type).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.elementwise' op needs at least one result}}
    "step.elementwise"() ({
      "step.yield"() : () -> ()
    }) : () -> ()
    step.return %w : tensor<?xf32>
  }
}

// -----

// Results of different types.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.elementwise' op all results must have one type; got 'tensor<?xf32>' and 'tensor<f32>'}}
    %a, %b = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32>, tensor<f32> {
    ^bb0(%x: f32):
      step.yield %x, %x : f32, f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// An input that does not broadcast to the result.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>)
      state(%v : tensor<?xf32> = zeros) {
    %v1 = step.second_moment %g, %v beta(0.95) reduce(short_axis) : tensor<?x?xf32>, tensor<?xf32>
    // expected-error @+1 {{'step.elementwise' op input of type 'tensor<?xf32>' does not broadcast to the result 'tensor<?x?xf32>'; use the same type, one value per row (?x1) or column (1x?), tensor<f32> or f32}}
    %s = step.elementwise ins(%g, %v1 : tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32> {
    ^bb0(%x: f32, %y: f32):
      %r = arith.mulf %x, %y : f32
      step.yield %r : f32
    }
    step.return %w, %v1 : tensor<?x?xf32>, tensor<?xf32>
  }
}

// -----

// A body without arguments for its inputs.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.elementwise' op body needs one f32 argument per input (1), got 0}}
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
      %c = arith.constant 1.0 : f32
      step.yield %c : f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// A body argument that is not f32.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.elementwise' op body arguments are f32 elements, got 'f64'}}
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f64):
      %c = arith.truncf %x : f64 to f32
      step.yield %c : f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// A body argument that is a tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.elementwise' op body arguments are f32 elements, got 'tensor<?xf32>'}}
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: tensor<?xf32>):
      %c = arith.constant 1.0 : f32
      step.yield %c : f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// A step op inside the body.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      // expected-error @+1 {{'step.scale' op expects parent op 'step.group'}}
      %t = step.scale %g factor(2.0) : tensor<?xf32>
      step.yield %x : f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// A body without a terminator.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      // expected-error @+1 {{block with no terminator}}
      %y = arith.mulf %x, %x : f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// A body that ends with step.return.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      // expected-error @+1 {{'step.return' op expects parent op 'step.group'}}
      step.return %g : tensor<?xf32>
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// A body that ends with a terminator other than step.yield.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.elementwise' op body must end with step.yield}}
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      ub.unreachable
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// Yielding more values than results.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      // expected-error @+1 {{'step.yield' op yields 2 values for 1 results}}
      step.yield %x, %x : f32, f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// Yielding a non-f32 value (ODS).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %s = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      %y = arith.extf %x : f32 to f64
      // expected-error @+1 {{'step.yield' op operand #0 must be variadic of 32-bit float, but got 'f64'}}
      step.yield %y : f64
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// step.yield outside an elementwise body (ODS HasParent).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{'step.yield' op expects parent op 'step.elementwise'}}
    step.yield %lr : f32
  }
}

// -----

// An f64 input (ODS).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %c = arith.constant 2.0 : f64
    // expected-error @+1 {{'step.elementwise' op operand #0 must be variadic of 32-bit float or ranked tensor of 32-bit float values, but got 'f64'}}
    %s = step.elementwise ins(%c : f64) -> tensor<?xf32> {
    ^bb0(%x: f32):
      step.yield %x : f32
    }
    step.return %w : tensor<?xf32>
  }
}

//===----------------------------------------------------------------------===//
// step.reduce
//===----------------------------------------------------------------------===//

// -----

// dot needs two operands.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.reduce' op dot needs a second operand: reduce dot %a, %b}}
    %r = step.reduce dot %g over(all) : tensor<?xf32> -> tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// Only dot takes two operands.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.reduce' op only dot takes a second operand}}
    %r = step.reduce sum %g, %w over(all) : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// dot operands of different types.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %c = step.reduce sum %g over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{'step.reduce' op dot operands must have one type; got 'tensor<?x?xf32>' and 'tensor<?x1xf32>'}}
    %r = step.reduce dot %g, %c over(all) : tensor<?x?xf32>, tensor<?x1xf32> -> tensor<f32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// Three operands.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.reduce' op takes one tensor (two for dot), got 3}}
    %r = step.reduce dot %g, %w, %g over(all) : tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// No operand at all.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.reduce' op takes one tensor (two for dot), got 0}}
    %r = "step.reduce"() <{kind = 0 : i32, axis = 2 : i32}> : () -> tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// A norm with p below 1.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.reduce' op p must be finite and at least 1, got 5.000000e-01}}
    %r = step.reduce norm %g over(all) p(0.5) : tensor<?xf32> -> tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// A per-row reduction of a rank-1 tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.reduce' op over(rows) needs a matrix (rank-2 tensor), got 'tensor<?xf32>'; use it in a group that accepts(matrix)}}
    %r = step.reduce sum %g over(rows) : tensor<?xf32> -> tensor<?x1xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// over(rows) gives one value per row.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.reduce' op over(rows) gives tensor<?x1xf32> (one value per row), not 'tensor<1x?xf32>'}}
    %r = step.reduce sum %g over(rows) : tensor<?x?xf32> -> tensor<1x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// over(rows) with a rank-1 result.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.reduce' op over(rows) gives tensor<?x1xf32> (one value per row), not 'tensor<?xf32>'}}
    %r = step.reduce mean %g over(rows) : tensor<?x?xf32> -> tensor<?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// over(cols) gives one value per column.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{'step.reduce' op over(cols) gives tensor<1x?xf32> (one value per column), not 'tensor<?x?xf32>'}}
    %r = step.reduce max_abs %g over(cols) : tensor<?x?xf32> -> tensor<?x?xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// over(all) gives one value.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.reduce' op over(all) gives tensor<f32>, not 'tensor<?xf32>'}}
    %r = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// Unknown reduction kind.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [sum, mean, sum_sq, mean_sq, norm, dot, max_abs, numel]}}
    %r = step.reduce prod %g over(all) : tensor<?xf32> -> tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// Unknown reduction axis.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'axis' [rows, cols, all]}}
    %r = step.reduce sum %g over(diag) : tensor<?x?xf32> -> tensor<f32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// A bf16 result (ODS Step_Tensor: compute ops are f32).
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{'step.elementwise' op result #0 must be variadic of ranked tensor of 32-bit float values, but got 'tensor<?xbf16>'}}
    %b = "step.elementwise"() ({
      %c = arith.constant 1.0 : f32
      "step.yield"(%c) : (f32) -> ()
    }) : () -> tensor<?xbf16>
    step.return %w : tensor<?xf32>
  }
}

// -----

// count(...) must be the group's step count, not another f32.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      state(%b : tensor<?xf32> = zeros) hyper(%lr : f32) count(%t : f32) {
    // expected-error @+1 {{count(...) must be the group's count argument (declare count(%t : f32) in the group), got the hyper argument 'lr'}}
    %b1, %u = step.momentum heavy_ball %g, %b beta(0.9) first_step(grad) count(%lr) : tensor<?xf32>
    step.return %w, %b1 : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// A bias correction reads the step count too.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) count(%t : f32) {
    // expected-error @+1 {{count(...) must be the group's count argument}}
    %d = step.precondition %g, %g eps(1.0e-8) bias_correction(0.9, 0.999) count(%lr) : tensor<?xf32>, tensor<?xf32>
    step.return %d : tensor<?xf32>
  }
}

// -----

// An elementwise result needs an input that gives it its shape.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32) {
    // expected-error @+1 {{needs an input of the result type 'tensor<?x?xf32>' to give the result its shape}}
    %e = step.elementwise ins(%lr : f32) -> tensor<?x?xf32> {
    ^bb0(%x: f32):
      step.yield %x : f32
    }
    step.return %w : tensor<?xf32>
  }
}

// -----

// An elementwise body computes on scalars; a captured tensor is rejected.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %e = step.elementwise ins(%g : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      // expected-error @+1 {{in step.elementwise must compute on scalars}}
      %t = arith.addf %w, %w : tensor<?xf32>
      step.yield %x : f32
    }
    step.return %e : tensor<?xf32>
  }
}

// -----

// A NaN norm exponent is rejected.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    // expected-error @+1 {{p must be finite and at least 1, got nan}}
    %r = step.reduce norm %g over(rows) p(0x7FF8000000000000) : tensor<?x?xf32> -> tensor<?x1xf32>
    step.return %w : tensor<?x?xf32>
  }
}

// -----

// A hyper default must be a finite f32.
step.optimizer @o {
  // expected-error @+1 {{hyper 'lr' has a default that is no finite f32}}
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32 = 1.0e40) {
    %w1 = step.apply %w, %g lr(%lr : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}

// -----

// A constant state must be a finite f32.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      // expected-error @+1 {{a constant state must be a finite f32}}
      state(%c : tensor<?xf32> = constant(1.0e300)) hyper(%lr : f32) {
    %w1 = step.apply %w, %c lr(%lr : f32) : tensor<?xf32>
    step.return %w1, %c : tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// With static shapes the long-axis state has max(rows, cols) elements.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<4x8xf32>) grad(%g : tensor<4x8xf32>)
      state(%s : tensor<3xf32> = zeros) {
    // expected-error @+1 {{max(rows, cols) long), so the state must be of that layout; got 'tensor<3xf32>'}}
    %s1 = step.second_moment %g, %s beta(0.9) reduce(short_axis) : tensor<4x8xf32>, tensor<3xf32>
    step.return %w, %s1 : tensor<4x8xf32>, tensor<3xf32>
  }
}

// -----

// Signature sections come in a fixed order.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      // expected-error @+1 {{section 'param' is out of place: a group signature has the sections param, grad, state, hyper, input, count, each at most once and in this order}}
      grad(%g : tensor<?xf32>) param(%w : tensor<?xf32>) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// The step count has no default.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      // expected-error @+1 {{the step count takes no default: the runtime supplies it}}
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) count(%t : f32 = 1.0) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// The param takes no initial value (generic form).
step.optimizer @o {
  // expected-error @+1 {{param 'w' takes no initial value}}
  "step.group"() <{accepts = 0 : i32, arg_inits = [#step.state<zeros>, unit], arg_names = ["w", "g"], arg_roles = [0 : i32, 1 : i32], param_dtypes = [f32], sym_name = "g"}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>):
    "step.return"(%w) : (tensor<?xf32>) -> ()
  }) : () -> ()
}

// -----

// Inputs are set by the trainer before every step: no default.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
      // expected-error @+1 {{an input takes no default: the trainer sets it before every step}}
      input(%loss : f32 = 1.0) {
    step.return %w : tensor<?xf32>
  }
}

// -----

// A global sum adds one value per tensor.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    // expected-error @+1 {{operand #0 must be f32 scalar (f32 or tensor<f32>), but got 'tensor<?xf32>'}}
    %s = step.global_sum "grad" %g : tensor<?xf32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// The runtime reports totals by key, so a key is a word.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    // expected-error @+1 {{key 'grad sq' must be a word (letters, digits, '_'): the runtime reports the total under it}}
    %s = step.global_sum "grad sq" %sq : tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// Each tensor contributes once to a key.
step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %s1 = step.global_sum "grad_sq" %sq : tensor<f32>
    // expected-error @+1 {{sums key 'grad_sq' a second time in this group; each tensor contributes once to a key}}
    %s2 = step.global_sum "grad_sq" %sq : tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// Groups stepped together total a key in one phase: here "norm" reads no
// other sum in @a but reads "grad_sq" in @b.
step.optimizer @o {
  step.group @a accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %n = step.global_sum "norm" %sq : tensor<f32>
    step.return %w : tensor<?xf32>
  }
  step.group @b accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) {
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %s = step.global_sum "grad_sq" %sq : tensor<f32>
    %x = step.elementwise ins(%s : f32) -> tensor<f32> {
    ^bb0(%v: f32):
      step.yield %v : f32
    }
    // expected-error @+1 {{sums 'norm' in phase 2, but group @a sums it in phase 1; groups stepped together must total a key in the same phase (the same number of sums before it)}}
    %n = step.global_sum "norm" %x : tensor<f32>
    step.return %w : tensor<?xf32>
  }
}

// -----

// A matmul's static inner dimensions must agree once transposed.
step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<4x8xf32>) grad(%g : tensor<4x8xf32>) {
    // expected-error @+1 {{'step.matmul' op inner dimensions differ: 8 and 4 (transpose(none))}}
    %p = step.matmul %w, %g : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    step.return %w : tensor<4x8xf32>
  }
}

// -----

step.optimizer @o {
  step.group @g accepts(matrix) dtypes(f32)
      param(%w : tensor<4x8xf32>) grad(%g : tensor<4x8xf32>) {
    // expected-error @+1 {{'step.matmul' op result type 'tensor<8x8xf32>' is not the product's shape}}
    %p = step.matmul %w, %g transpose(rhs) : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
    step.return %w : tensor<4x8xf32>
  }
}
