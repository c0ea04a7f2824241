//===- StepOps.td - step dialect operations ---------------*- tablegen -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
// Every compute op documents its fp64 reference formula in `description`;
// docs/Dialects/Step/StepOps.md is generated from this file. Notation: x is
// the op's input, m x n its shape (rows x cols; a rank-1 tensor has no shape
// rule), ‖·‖ the Frobenius norm, t the 1-based step count.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_DIALECT_STEP_IR_STEPOPS_TD
#define STEPC_DIALECT_STEP_IR_STEPOPS_TD

include "stepc/Dialect/Step/IR/StepBase.td"
include "mlir/Bytecode/BytecodeOpInterface.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Containers
//===----------------------------------------------------------------------===//

def Step_OptimizerOp : Step_Op<"optimizer", [
    SymbolTable, Symbol, NoTerminator, SingleBlock, IsolatedFromAbove,
    NoRegionArguments]> {
  let summary = "An optimizer: a named set of parameter groups";
  let description = [{
    The top-level container of a spec. It is a symbol table of
    `step.group`s and carries the version of the spec format (1).

    ```mlir
    step.optimizer @adamw version(1) {
      step.group @all accepts(any) dtypes(f32, bf16) ... { ... }
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       DefaultValuedAttr<I64Attr, "1">:$version);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name (`version` `(` $version^ `)`)? attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The newest spec format this stepc reads.
    static constexpr int64_t kSpecVersion = 1;
  }];
}

def Step_GroupOp : Step_Op<"group", [
    Symbol, IsolatedFromAbove, HasParent<"OptimizerOp">,
    SingleBlockImplicitTerminator<"ReturnOp">,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "A parameter group: the per-tensor program of one step";
  let description = [{
    A group is a pure function of one parameter tensor, its gradient, its
    state tensors and runtime scalars. At run time any number of tensors are
    bound to a group and one step updates all of them. The body returns the
    new parameter, then the new value of every state in declaration order.

    Arguments come in sections, each a role:
    - `param` and `grad`: the tensor and its gradient, `tensor<?xf32>` in a
      group that `accepts(any)` (tensors of any rank, seen flattened) or
      `tensor<?x?xf32>` in one that `accepts(matrix)`. `dtypes(...)` lists
      the storage dtypes a parameter may have (f32, bf16, f16); the program
      always computes in f32.
    - `state`: one tensor per bound parameter, with its initial value
      (`zeros`, `ones`, `constant(v)`, `param_norm`) and optional storage
      dtype (`store(bf16)`). Its type says its layout: like the parameter,
      `tensor<?x1xf32>` (one value per row), `tensor<1x?xf32>` (per column),
      `tensor<?xf32>` in a matrix group (per element of the long axis) or
      `tensor<f32>` (one value per tensor).
    - `hyper`: runtime scalars (f32) with an optional default. Changing one
      never recompiles; its name is the SSA name written in the spec.
    - `input`: runtime scalars (f32) that the trainer sets before every
      step, e.g. the loss Momo reads; a step whose inputs were not set is
      an error.
    - `count`: the 1-based step count, supplied by the runtime.

    ```mlir
    step.group @all accepts(any) dtypes(f32, bf16)
        param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>)
        state(%m : tensor<?xf32> = zeros)
        hyper(%lr : f32 = 1.000000e-03) count(%t : f32) {
      ...
      step.return %w2, %m2 : tensor<?xf32>, tensor<?xf32>
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       Step_Accepts:$accepts,
                       TypeArrayAttr:$param_dtypes,
                       TypedArrayAttrBase<Step_Role, "argument roles">:$arg_roles,
                       StrArrayAttr:$arg_names,
                       ArrayAttr:$arg_inits);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// Role of block argument `index`.
    Role getRole(unsigned index);
    /// Spec name of block argument `index`.
    ::llvm::StringRef getArgName(unsigned index);
    /// Block arguments with role `role`, in order.
    ::llvm::SmallVector<::mlir::BlockArgument> getArgsWithRole(Role role);
    ::mlir::BlockArgument getParam() { return getArgsWithRole(Role::param)[0]; }
    ::mlir::BlockArgument getGrad() { return getArgsWithRole(Role::grad)[0]; }
  }];
}

def Step_ReturnOp : Step_Op<"return", [Pure, HasParent<"GroupOp">,
                                       ReturnLike, Terminator]> {
  let summary = "Returns the new parameter and the new state of a group";
  let description = [{
    Ends a `step.group`: the new parameter first, then the new value of each
    state argument in declaration order.
  }];
  let arguments = (ins Variadic<Step_Tensor>:$values);
  let builders = [OpBuilder<(ins), [{ build($_builder, $_state, {}); }]>];
  let assemblyFormat = "$values attr-dict (`:` type($values)^)?";
}

def Step_YieldOp : Step_Op<"yield", [Pure, HasParent<"ElementwiseOp">,
                                     ReturnLike, Terminator]> {
  let summary = "Yields the scalar results of a step.elementwise body";
  let arguments = (ins Variadic<F32>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

/// Compute ops are pure and live directly in a group body: they read the
/// group's arguments and every rule about state and counts is checked there.
class Step_ComputeOp<string mnemonic, list<Trait> traits = []>
    : Step_Op<mnemonic, !listconcat([Pure, HasParent<"GroupOp">], traits)>;

//===----------------------------------------------------------------------===//
// Moments
//===----------------------------------------------------------------------===//

def Step_MomentumOp : Step_ComputeOp<"momentum", [AllTypesMatch<["grad", "buffer", "new_buffer", "update"]>]> {
  let summary = "Momentum buffer update and the direction it gives";
  let description = [{
    Returns the new buffer `b'` and the update direction `u`.

    - `ema`:        `b' = β·b + (1−β)·g`;  `u = nesterov ? (1−β)·g + β·b' : b'`
    - `heavy_ball`: `b' = β·b + (1−τ)·g`;  `u = nesterov ? g + β·b' : b'`
      (τ = `dampening`)
    - `first_step(grad)` with `count(%t)`: at `t = 1`, `b' = g` (PyTorch
      SGD's clone of the first gradient; MuonMax's first-gradient init), and
      `u` is formed from that `b'`.

    `buffer` must be a `state` argument of the group, and the group must
    return `new_buffer` (or the result of another op reading that state) for it.

    ```mlir
    %m2, %u = step.momentum ema %g, %m beta(9.500000e-01) nesterov : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$grad, Step_Tensor:$buffer,
                       Optional<F32>:$count,
                       Step_MomentumKind:$kind, F64Attr:$beta,
                       DefaultValuedAttr<F64Attr, "0.0">:$dampening,
                       UnitAttr:$nesterov,
                       DefaultValuedAttr<Step_FirstStep,
                                         "FirstStep::update">:$first_step);
  let results = (outs Step_Tensor:$new_buffer, Step_Tensor:$update);
  let assemblyFormat = [{
    $kind $grad `,` $buffer `beta` `(` custom<ShortFloat>($beta) `)`
    (`dampening` `(` custom<ShortFloat>($dampening)^ `)`)? (`nesterov` $nesterov^)?
    (`first_step` `(` $first_step^ `)`)? (`count` `(` $count^ `)`)?
    attr-dict `:` type($grad)
  }];
  let hasVerifier = 1;
}

def Step_SecondMomentOp : Step_ComputeOp<"second_moment", [AllTypesMatch<["state", "new_state"]>]> {
  let summary = "EMA of squares, per element, row, column or matrix";
  let description = [{
    `v' = β·v + (1−β)·R(x⊙x)` where `R` is `reduce`:
    - `none`: per element (Adam); `v` has the input's type.
    - `rows`: `mean_j x_ij²`, one value per row; `v : tensor<?x1xf32>`.
    - `cols`: `mean_i x_ij²`, one value per column; `v : tensor<1x?xf32>`.
    - `short_axis`: the mean over the shorter axis, one value per element
      of the longer one (rows when m ≥ n); `v : tensor<?xf32>` of length
      max(m, n).
    - `matrix`: the mean of all elements; `v : tensor<f32>`.

    `first_step(grad)` with `count(%t)` stores `R(x⊙x)` at `t = 1` (MuonMax).
    The state holds raw (not bias-corrected) values; `step.precondition`
    applies bias correction where it is read.

    ```mlir
    %v2 = step.second_moment %o, %v beta(9.500000e-01) reduce(rows)
        : tensor<?x?xf32>, tensor<?x1xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$input, Step_Tensor:$state,
                       Optional<F32>:$count, F64Attr:$beta,
                       DefaultValuedAttr<Step_MomentReduce,
                                         "MomentReduce::none">:$reduce,
                       DefaultValuedAttr<Step_FirstStep,
                                         "FirstStep::update">:$first_step);
  let results = (outs Step_Tensor:$new_state);
  let assemblyFormat = [{
    $input `,` $state `beta` `(` custom<ShortFloat>($beta) `)` (`reduce` `(` $reduce^ `)`)?
    (`first_step` `(` $first_step^ `)`)? (`count` `(` $count^ `)`)?
    attr-dict `:` type($input) `,` type($state)
  }];
  let extraClassDeclaration = [{
    ::mlir::Type getStateType() { return getState().getType(); }
  }];
  let hasVerifier = 1;
}

def Step_PreconditionOp : Step_ComputeOp<"precondition", [AllTypesMatch<["numerator", "result"]>]> {
  let summary = "Divide by the square root of a second moment";
  let description = [{
    With bias correction (`bias_correction(β1, β2) count(%t)`),
    `c1 = 1 − β1^t`, `c2 = 1 − β2^t`; without it `c1 = c2 = 1`. Then, with
    `x` the numerator and `v` the moment (broadcast per element, row,
    column or tensor; a long-axis moment `tensor<?xf32>` of a matrix is per
    row when m >= n, else per column):
    - `add`:                   `(x/c1) / (sqrt(v)/sqrt(c2) + ε)` (PyTorch Adam)
    - `add_before_correction`: `(x/c1) / ((sqrt(v) + ε)/sqrt(c2))` (Moonlight)
    - `clamp`:                 `(x/c1) / sqrt(max(v/c2, ε))` (nanochat)
    - `inside_sqrt`:           `(x/c1) / sqrt(v/c2 + ε)` (RACS)

    ```mlir
    %d = step.precondition %m2, %v2 eps(1.000000e-08)
        bias_correction(9.000000e-01, 9.990000e-01) count(%t)
        : tensor<?xf32>, tensor<?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$numerator, Step_Tensor:$moment,
                       Optional<F32>:$count, F64Attr:$eps,
                       DefaultValuedAttr<Step_PrecondEps,
                                         "PrecondEps::add">:$mode,
                       OptionalAttr<F64Attr>:$beta1,
                       OptionalAttr<F64Attr>:$beta2);
  let results = (outs Step_Tensor:$result);
  let assemblyFormat = [{
    $numerator `,` $moment `eps` `(` custom<ShortFloat>($eps) `)` (`mode` `(` $mode^ `)`)?
    (`bias_correction` `(` custom<ShortFloat>($beta1) `,`
     custom<ShortFloat>($beta2) `)` `count` `(` $count^ `)`)?
    attr-dict `:` type($numerator) `,` type($moment)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization and orthogonalization
//===----------------------------------------------------------------------===//

class Step_NormalizeOp<string mnemonic, string axis>
    : Step_ComputeOp<mnemonic, [AllTypesMatch<["input", "result"]>]> {
  let summary = "Scale every " # axis # " to a target p-norm";
  let description = [{
    For every }] # axis # [{ `x_i` with `d_i = ‖x_i‖_p`:
    `y_i = T · x_i / D_i`, with `D_i = d_i^power + ε` (`mode(add)`) or
    `D_i = max(d_i, ε)^power` (`mode(clamp)`). Target `T`: `unit` 1,
    `sqrt_dim` the square root of the }] # axis # [{ length (√n for rows,
    √m for columns: SinkGD), `rms_of_norms` ‖x‖/√(number of }] # axis # [{s)
    (MuonEq). `power(0.5)` divides by the square root of the norm (one
    balancing step). Needs a matrix.

    ```mlir
    %y = step.}] # mnemonic # [{ %x target(sqrt_dim) eps(1.000000e-08) mode(clamp)
        : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Matrix:$input,
                       DefaultValuedAttr<F64Attr, "2.0">:$p,
                       DefaultValuedAttr<F64Attr, "1.0">:$power,
                       DefaultValuedAttr<Step_NormTarget,
                                         "NormTarget::unit">:$target,
                       F64Attr:$eps,
                       DefaultValuedAttr<Step_EpsMode, "EpsMode::add">:$mode);
  let results = (outs Step_Matrix:$result);
  let assemblyFormat = [{
    $input (`p` `(` custom<ShortFloat>($p)^ `)`)? (`power` `(` custom<ShortFloat>($power)^ `)`)?
    (`target` `(` $target^ `)`)? `eps` `(` custom<ShortFloat>($eps) `)` (`mode` `(` $mode^ `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Step_NormalizeRowsOp : Step_NormalizeOp<"normalize_rows", "row">;
def Step_NormalizeColsOp : Step_NormalizeOp<"normalize_cols", "column">;

def Step_NewtonSchulzOp : Step_ComputeOp<"newton_schulz", [AllTypesMatch<["input", "result"]>]> {
  let summary = "Odd-polynomial orthogonalization (Muon, Polar Express)";
  let description = [{
    Approximates polar(x) = UVᵀ. Pre-normalization:
    `X₀ = x / (s·‖x‖ + ε)` (`mode(add)`) or `x / max(s·‖x‖, ε)` (`mode(clamp)`)
    with `s` = `safety`. With `transpose(smaller_gram)` a tall input (m > n) is
    transposed first and the result transposed back, so the Gram is
    min(m,n)². Iteration k = 1..`steps` uses the k-th (a,b,c) triple of
    `coefficients` (the last one repeats when the list is shorter):
    `A = X Xᵀ; B = b·A + c·A²; X ← a·X + B·X`.
    Matmul inputs are rounded to `compute` (bf16 by default) with f32
    accumulation; the fp64 reference is the same polynomial in fp64.

    ```mlir
    %o = step.newton_schulz %u steps(5)
        coefficients([3.444500e+00, -4.775000e+00, 2.031500e+00])
        eps(1.000000e-07) : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Matrix:$input, I64Attr:$steps,
                       DenseF64ArrayAttr:$coefficients,
                       DefaultValuedAttr<F64Attr, "1.0">:$safety,
                       F64Attr:$eps,
                       DefaultValuedAttr<Step_EpsMode, "EpsMode::add">:$mode,
                       OptionalAttr<TypeAttr>:$compute,
                       DefaultValuedAttr<Step_Transpose,
                                         "Transpose::smaller_gram">:$transpose);
  let results = (outs Step_Matrix:$result);
  let assemblyFormat = [{
    $input `steps` `(` $steps `)` `coefficients` `(` custom<Coefficients>($coefficients) `)`
    (`safety` `(` custom<ShortFloat>($safety)^ `)`)? `eps` `(` custom<ShortFloat>($eps) `)` (`mode` `(` $mode^ `)`)?
    (`compute` `(` $compute^ `)`)? (`transpose` `(` $transpose^ `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The matmul input type; bf16 unless `compute(...)` says otherwise.
    ::mlir::Type getComputeType() {
      if (auto type = getCompute())
        return *type;
      return ::mlir::BFloat16Type::get(getContext());
    }
    /// The (a, b, c) triple used by iteration `k` (0-based).
    std::array<double, 3> getCoefficientsAt(int64_t k);
  }];
}

def Step_MatmulOp : Step_ComputeOp<"matmul"> {
  let summary = "Matrix product, f32 accumulation";
  let description = [{
    `C = op(A) · op(B)`, `op` the identity or the transpose as
    `transpose(lhs|rhs|both)` says. ARO's rotated frame: `Rᵀ·M` is
    `step.matmul %r, %m transpose(lhs)`, `M·Fᵀ` is `transpose(rhs)`. The
    inner dimensions must agree at run time (static ones are checked here).

    ```mlir
    %x = step.matmul %r, %m transpose(lhs)
        : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Matrix:$lhs, Step_Matrix:$rhs,
                       DefaultValuedAttr<Step_MatmulTranspose,
                                         "MatmulTranspose::none">:$transpose);
  let results = (outs Step_Matrix:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`transpose` `(` $transpose^ `)`)? attr-dict `:`
    type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    bool transposesLhs() {
      return getTranspose() == MatmulTranspose::lhs ||
             getTranspose() == MatmulTranspose::both;
    }
    bool transposesRhs() {
      return getTranspose() == MatmulTranspose::rhs ||
             getTranspose() == MatmulTranspose::both;
    }
  }];
}

def Step_QrOp : Step_ComputeOp<"qr", [AllTypesMatch<["input", "result"]>]> {
  let summary = "Q factor of a thin QR factorization";
  let description = [{
    For an m×k matrix C (m ≥ k) returns Q (m×k) with orthonormal columns and
    C = Q·R', R' upper triangular with a non-negative diagonal. Computed by
    classical Gram–Schmidt with reorthogonalization: each column is
    projected twice against the columns before it, then normalized. A
    column left with at most 2⁻¹² of its norm (in the span of the earlier
    ones: a rank-deficient or zero C) is replaced by the unit vector e_i the
    earlier columns cover least, projected the same way, so Q is
    orthonormal for every input and never NaN; those columns complete the
    basis as any QR's would, arbitrarily. The signs of Q's columns can
    differ from LAPACK's (Householder) QR; ARO's update does not depend on
    them (docs/Design/Aro.md). With m < k the columns after the m-th are
    not orthonormal.

    ```mlir
    %q = step.qr %c : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Matrix:$input);
  let results = (outs Step_Matrix:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Spheres and gains (Magnitude-Direction decoupling, Hyperball, nGPT)
//===----------------------------------------------------------------------===//

def Step_SphereProjectOp : Step_ComputeOp<"sphere_project", [AllTypesMatch<["input", "result"]>]> {
  let summary = "Retract onto a sphere (Frobenius, per row or per column)";
  let description = [{
    `y = ρ · x / N(x)` with `N` the Frobenius norm (`frobenius`), or the norm
    of each row (`rows`) or column (`cols`); `N = max(‖·‖, ε)` (`mode(clamp)`,
    default) or `‖·‖ + ε` (`mode(add)`). The radius
    `ρ = radius · shape(m, n) [· r]` where `r` is the optional `by` operand
    (e.g. a `param_norm` state: the initial Frobenius norm).

    ```mlir
    %w3 = step.sphere_project %w2 radius(1.000000e+00) shape(sqrt_max_dim)
        eps(1.000000e-12) : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$input, Optional<Step_Scalar>:$by,
                       DefaultValuedAttr<Step_SphereMode,
                                         "SphereMode::frobenius">:$sphere,
                       DefaultValuedAttr<F64Attr, "1.0">:$radius,
                       DefaultValuedAttr<Step_ShapeFactor,
                                         "ShapeFactor::none">:$shape,
                       F64Attr:$eps,
                       DefaultValuedAttr<Step_EpsMode, "EpsMode::clamp">:$mode);
  let results = (outs Step_Tensor:$result);
  let assemblyFormat = [{
    $input (`sphere` `(` $sphere^ `)`)? (`radius` `(` custom<ShortFloat>($radius)^ `)`)?
    (`shape` `(` $shape^ `)`)? (`by` `(` $by^ `:` type($by) `)`)?
    `eps` `(` custom<ShortFloat>($eps) `)` (`mode` `(` $mode^ `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Step_GainSplitOp : Step_ComputeOp<"gain_split", [AllTypesMatch<["param", "grad"]>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "Split a fused weight into direction and gain gradients";
  let description = [{
    Magnitude–Direction decoupling, first half. With `W = γ_r Ŵ γ_c`
    (`γ = φ(g)`, `φ` = softplus or identity; `γ_r` per row, `γ_c` per
    column, or one scalar `γ`):
    - `Ŵ = W / max(γ_r,i·γ_c,j, ε)` (the direction)
    - `G_Ŵ = G ⊙ γ_r γ_cᵀ` (the direction's gradient)
    - `∂g_r,i = φ'(g_r,i) · Σ_j Ŵ_ij G_ij γ_c,j`,
      `∂g_c,j = φ'(g_c,j) · Σ_i Ŵ_ij G_ij γ_r,i`
      (scalar: `∂g = φ'(g) Σ Ŵ⊙G`), with φ' = sigmoid for softplus.

    `gains` are the raw gain states: row gains `tensor<?x1xf32>` before
    column gains `tensor<1x?xf32>`, or one `tensor<f32>`. Results: `Ŵ`,
    `G_Ŵ`, then one gradient per gain.

    ```mlir
    %d, %gd, %dgr, %dgc = step.gain_split %w, %g gains(%gr, %gc)
        axes(row_col) map(softplus) eps(1.000000e-08)
        : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$param, Step_Tensor:$grad,
                       Variadic<Step_Tensor>:$gains,
                       Step_GainAxes:$axes,
                       DefaultValuedAttr<Step_GainMap, "GainMap::softplus">:$map,
                       F64Attr:$eps);
  let results = (outs Step_Tensor:$direction, Step_Tensor:$direction_grad,
                      Variadic<Step_Tensor>:$gain_grads);
  let assemblyFormat = [{
    $param `,` $grad `gains` `(` $gains `)` `axes` `(` $axes `)`
    (`map` `(` $map^ `)`)? `eps` `(` custom<ShortFloat>($eps) `)`
    attr-dict `:` type($param) (`,` type($gains)^)?
  }];
  let hasVerifier = 1;
}

def Step_GainUpdateOp : Step_ComputeOp<"gain_update", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "Step the gains with their own Adam and re-fuse the weight";
  let description = [{
    Magnitude–Direction decoupling, second half. For every gain `g` with
    gradient `∂g` and Adam moments `(m, v)`:
    `m' = β1·m + (1−β1)·∂g`, `v' = β2·v + (1−β2)·∂g²`,
    `g' = g − lr · (m'/(1−β1^t)) / (sqrt(v'/(1−β2^t)) + ε)`.
    Then `W' = φ(g_r') Ŵ φ(g_c')` (or `φ(g') Ŵ`), `Ŵ` = `direction`.

    Operands: the new direction; `gains` (as in `step.gain_split`); their
    gradients in the same order; `moments` as `(m, v)` per gain; the gain
    learning rate and the step count. Results: `W'`, then the new gains, then
    the new moments in operand order.

    ```mlir
    %w4, %gr2, %gc2, %mr2, %vr2, %mc2, %vc2 = step.gain_update %d3
        gains(%gr, %gc) grads(%dgr, %dgc) moments(%mr, %vr, %mc, %vc)
        lr(%lrg) count(%t) axes(row_col) map(softplus)
        betas(9.000000e-01, 9.990000e-01) eps(1.000000e-08)
        : tensor<?x?xf32>, tensor<?x1xf32>, tensor<1x?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$direction,
                       Variadic<Step_Tensor>:$gains,
                       Variadic<Step_Tensor>:$gain_grads,
                       Variadic<Step_Tensor>:$moments,
                       F32:$lr, F32:$count,
                       Step_GainAxes:$axes,
                       DefaultValuedAttr<Step_GainMap, "GainMap::softplus">:$map,
                       F64Attr:$beta1, F64Attr:$beta2, F64Attr:$eps);
  let results = (outs Step_Tensor:$new_param, Variadic<Step_Tensor>:$new_state);
  let assemblyFormat = [{
    $direction `gains` `(` $gains `)` `grads` `(` $gain_grads `)`
    `moments` `(` $moments `)` `lr` `(` $lr `)` `count` `(` $count `)`
    `axes` `(` $axes `)` (`map` `(` $map^ `)`)?
    `betas` `(` custom<ShortFloat>($beta1) `,` custom<ShortFloat>($beta2) `)` `eps` `(` custom<ShortFloat>($eps) `)`
    attr-dict `:` type($direction) `,` custom<GainTypes>(type($gains),
        type($gain_grads), type($moments))
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Scaling, decay, apply
//===----------------------------------------------------------------------===//

def Step_ScaleOp : Step_ComputeOp<"scale", [AttrSizedOperandSegments,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Multiply by a constant, a shape rule and dynamic factors";
  let description = [{
    `y = x · factor · shape(m, n) [· s] [· ‖ref‖] / N(x)` where
    - `shape`: `none` 1, `keller` √max(1, m/n), `sqrt_max_dim` √max(m,n),
      `sqrt_min_dim` √min(m,n), `sqrt_rows_over_cols` √(m/n), `shape_up`
      √max(m/n, n/m), `sqrt_numel` √(mn);
    - `s`: the optional `by` scalar operand;
    - `ref`: the optional `restore` operand (Frobenius-norm restore, NorMuon);
    - `N`: `norm(none)` 1, `norm(rms)` RMS(x), `norm(frobenius)` ‖x‖, guarded
      by ε as `max(N, ε)` (`mode(clamp)`) or `N + ε` (`mode(add)`).

    Consecutive constant scales fold into one (canonicalization); a scale by
    exactly 1 folds away.

    ```mlir
    %o2 = step.scale %o factor(2.000000e-01) shape(sqrt_max_dim) : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$input, Optional<Step_Scalar>:$by,
                       Optional<Step_Tensor>:$restore,
                       DefaultValuedAttr<F64Attr, "1.0">:$factor,
                       DefaultValuedAttr<Step_ShapeFactor,
                                         "ShapeFactor::none">:$shape,
                       DefaultValuedAttr<Step_ScaleNorm, "ScaleNorm::none">:$norm,
                       DefaultValuedAttr<F64Attr, "1.0e-12">:$eps,
                       DefaultValuedAttr<Step_EpsMode, "EpsMode::clamp">:$mode);
  let results = (outs Step_Tensor:$result);
  let assemblyFormat = [{
    $input (`factor` `(` custom<ShortFloat>($factor)^ `)`)? (`shape` `(` $shape^ `)`)?
    (`by` `(` $by^ `:` type($by) `)`)? (`restore` `(` $restore^ `:` type($restore) `)`)?
    (`norm` `(` $norm^ `)`)? (`eps` `(` custom<ShortFloat>($eps)^ `)`)? (`mode` `(` $mode^ `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// True when the op multiplies by `factor · shape` only.
    bool isConstantScale() {
      return !getBy() && !getRestore() && getNorm() == ScaleNorm::none;
    }
  }];
}

def Step_WeightDecayOp : Step_ComputeOp<"weight_decay", [AttrSizedOperandSegments,
    AllTypesMatch<["param", "result"]>]> {
  let summary = "Decoupled or coupled (L2) weight decay";
  let description = [{
    - `decoupled`: `W' = W · (1 − lr·λ)`; with `cautious(%u)` only where the
      update agrees in sign with the weight:
      `W' = W − lr·λ·W ⊙ [u⊙W ≥ 0]`.
    - `coupled`: returns the gradient `G' = G + λ·W` (`into(%g)`; PyTorch
      SGD's L2 term). λ is the `wd` operand.

    ```mlir
    %w2 = step.weight_decay decoupled %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    %g2 = step.weight_decay coupled %w wd(%wd : f32) into(%g) : tensor<?xf32>
    ```
  }];
  let arguments = (ins Step_DecayMode:$mode, Step_Tensor:$param,
                       Optional<Step_Scalar>:$lr, Step_Scalar:$wd,
                       Optional<Step_Tensor>:$grad,
                       Optional<Step_Tensor>:$cautious);
  let results = (outs Step_Tensor:$result);
  let assemblyFormat = [{
    $mode $param (`lr` `(` $lr^ `:` type($lr) `)`)? `wd` `(` $wd `:` type($wd) `)`
    (`into` `(` $grad^ `:` type($grad) `)`)?
    (`cautious` `(` $cautious^ `:` type($cautious) `)`)?
    attr-dict `:` type($param)
  }];
  let hasVerifier = 1;
}

def Step_ApplyOp : Step_ComputeOp<"apply", [AllTypesMatch<["param", "update", "result"]>]> {
  let summary = "Apply an update: W − lr·[s·]U";
  let description = [{
    `W' = W − lr · s · U`, `s` the optional `times` scalar (Momo's truncated
    step, MuonMax's nuclear-norm factor). Shape factors belong to a
    `step.scale` on `U`.

    ```mlir
    %w3 = step.apply %w2, %u lr(%lr : f32) : tensor<?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$param, Step_Tensor:$update,
                       Step_Scalar:$lr, Optional<Step_Scalar>:$times);
  let results = (outs Step_Tensor:$result);
  let assemblyFormat = [{
    $param `,` $update `lr` `(` $lr `:` type($lr) `)`
    (`times` `(` $times^ `:` type($times) `)`)? attr-dict `:` type($param)
  }];
}

def Step_TangentProjectOp : Step_ComputeOp<"tangent_project", [AllTypesMatch<["input", "onto", "result"]>]> {
  let summary = "Remove the radial component of an update";
  let description = [{
    `u' = u − ŵ ⟨ŵ, u⟩` with `ŵ = w / (‖w‖ + ε)`, over the whole tensor
    (`frobenius`), each row or each column (AdamP, MD's tangential gradient).

    ```mlir
    %u2 = step.tangent_project %u onto(%w) eps(1.000000e-08) : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Step_Tensor:$input, Step_Tensor:$onto,
                       DefaultValuedAttr<Step_SphereMode,
                                         "SphereMode::frobenius">:$sphere,
                       F64Attr:$eps);
  let results = (outs Step_Tensor:$result);
  let assemblyFormat = [{
    $input `onto` `(` $onto `)` (`sphere` `(` $sphere^ `)`)? `eps` `(` custom<ShortFloat>($eps) `)`
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Group-wide values
//===----------------------------------------------------------------------===//

def Step_GlobalSumOp : Step_ComputeOp<"global_sum"> {
  let summary = "Sum a per-tensor scalar over every tensor stepped together";
  let description = [{
    `S = Σ_k x_k` over every tensor `k` of every group stepped in the same
    step call that sums into the same `key` (a group stepped alone: its own
    tensors; `stepc_step_groups`: all of them). `x` is one value per tensor
    (`f32` or `tensor<f32>`, e.g. a `step.reduce ... over(all)`); the sum is
    accumulated in f64 by the runtime and read as f32.

    The step then runs in phases (docs/Design/GroupWide.md): every tensor's
    `x` is computed first, the runtime totals them, and only then is any
    tensor updated. A sum whose `x` depends on another sum is a later phase;
    a key has the same phase in every group. After the step the runtime
    reports every total by key (the global gradient norm is the square root
    of a `sum_sq` total).

    ```mlir
    %sq = step.reduce sum_sq %g over(all) : tensor<?xf32> -> tensor<f32>
    %total = step.global_sum "grad_sq" %sq : tensor<f32>
    ```
  }];
  let arguments = (ins StrAttr:$key, Step_Scalar:$input);
  let results = (outs F32:$total);
  let assemblyFormat = "$key $input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// 1 when `input` reads no other sum, else one more than the latest
    /// phase among the sums it reads.
    int64_t getPhase();
  }];
}

//===----------------------------------------------------------------------===//
// Escape hatches: elementwise regions and per-tensor reductions
//===----------------------------------------------------------------------===//

def Step_ElementwiseOp : Step_ComputeOp<"elementwise", [SingleBlock]> {
  let summary = "A scalar arith/math body applied to every element";
  let description = [{
    The body sees one f32 per input and yields one f32 per result. Inputs
    broadcast to each result's shape: f32 scalars and `tensor<f32>` to every
    element, `tensor<?x1xf32>` along rows, `tensor<1x?xf32>` along columns.
    The body may only use `arith` and `math` ops (sign, clamp, lerp, masks,
    softplus, ...).

    ```mlir
    %s = step.elementwise ins(%c : tensor<?xf32>) -> tensor<?xf32> {
    ^bb0(%x: f32):
      %zero = arith.constant 0.0 : f32
      %pos = arith.cmpf ogt, %x, %zero : f32
      ...
      step.yield %r : f32
    }
    ```
  }];
  let arguments = (ins Variadic<AnyTypeOf<[F32, Step_Tensor]>>:$inputs);
  let results = (outs Variadic<Step_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    (`ins` `(` $inputs^ `:` type($inputs) `)`)? `->` type($results)
    attr-dict-with-keyword $body
  }];
  let hasRegionVerifier = 1;
}

def Step_ReduceOp : Step_ComputeOp<"reduce", []> {
  let summary = "Per-tensor reduction over rows, columns or everything";
  let description = [{
    `over(rows)` keeps one value per row (`tensor<?x1xf32>`), `over(cols)`
    one per column (`tensor<1x?xf32>`), `over(all)` one per tensor
    (`tensor<f32>`). Kinds: `sum` Σx, `mean`, `sum_sq` Σx², `mean_sq`,
    `norm` (Σ|x|^p)^(1/p), `dot` Σx⊙y (with a second operand of the same
    type: ⟨M, polar(M)⟩ is the nuclear norm), `max_abs`, `numel` (how many
    elements each value reduces: n per row, m per column, m·n per tensor;
    AdamP's δ/√n thresholds).

    ```mlir
    %r = step.reduce norm %m over(rows) : tensor<?x?xf32> -> tensor<?x1xf32>
    %ip = step.reduce dot %w, %u over(all) : tensor<?xf32>, tensor<?xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Step_ReduceKind:$kind, Variadic<Step_Tensor>:$inputs,
                       Step_ReduceAxis:$axis,
                       DefaultValuedAttr<F64Attr, "2.0">:$p);
  let results = (outs Step_Tensor:$result);
  let assemblyFormat = [{
    $kind $inputs `over` `(` $axis `)` (`p` `(` custom<ShortFloat>($p)^ `)`)?
    attr-dict `:` type($inputs) `->` type($result)
  }];
  let extraClassDeclaration = [{
    ::mlir::Value getInput() { return getInputs()[0]; }
    /// The second operand of a dot, or null.
    ::mlir::Value getOther() {
      return getInputs().size() > 1 ? getInputs()[1] : ::mlir::Value();
    }
  }];
  let hasVerifier = 1;
}

#endif // STEPC_DIALECT_STEP_IR_STEPOPS_TD
