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
      // expected-error @+1 {{unknown state initial value 'randn'; expected zeros, ones, constant(v) or param_norm}}
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

// Argument order: grad before param (generic form; the custom syntax fixes
// the order).
step.optimizer @o {
  // expected-error @+1 {{arguments must be ordered param, grad, state, hyper, count; 'w' (param) comes after a grad}}
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
  // expected-error @+1 {{state 'm' needs an initial value (= zeros, ones, constant(v) or param_norm)}}
  "step.group"() <{sym_name = "g", accepts = 0 : i32, param_dtypes = [f32],
                   arg_roles = [0 : i32, 1 : i32, 2 : i32],
                   arg_names = ["w", "g", "m"], arg_inits = [unit, unit, unit]}> ({
  ^bb0(%w: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>):
    %m1, %u = step.momentum ema %g, %m beta(0.9) : tensor<?xf32>
    "step.return"(%w, %m1) : (tensor<?xf32>, tensor<?xf32>) -> ()
  }) : () -> ()
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
                   arg_roles = [0 : i32, 1 : i32, 4 : i32],
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
