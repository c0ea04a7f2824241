//===- StepBase.td - step dialect, enums and attributes ---*- tablegen -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_DIALECT_STEP_IR_STEPBASE_TD
#define STEPC_DIALECT_STEP_IR_STEPBASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Step_Dialect : Dialect {
  let name = "step";
  let summary = "One optimizer step, written as a per-tensor program";
  let description = [{
    The `step` dialect describes one training-optimizer step. A
    `step.optimizer` holds `step.group`s; a group is a pure function from one
    parameter tensor, its gradient, its optimizer state and runtime scalars to
    the new parameter and the new state. Compute ops (`step.momentum`,
    `step.newton_schulz`, ...) have value semantics on `f32` tensors; storage
    dtypes (bf16 parameters, bf16 state) are declared on the group and handled
    by the lowering. See docs/Dialects/Step/RationaleStep.md.
  }];
  let cppNamespace = "::stepc::step";
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

class Step_Op<string mnemonic, list<Trait> traits = []>
    : Op<Step_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Step_Tensor : RankedTensorOf<[F32]>;
def Step_Matrix : Type<And<[RankedTensorOf<[F32]>.predicate,
                            HasAnyRankOfPred<[2]>]>,
    "f32 matrix (a rank-2 tensor: matrix ops need a group that "
    "accepts(matrix))", "::mlir::RankedTensorType">;
def Step_Scalar : AnyTypeOf<[F32, TensorRankOf<[F32], [0]>],
    "f32 scalar (f32 or tensor<f32>)">;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

class Step_Enum<string name, string summary, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, summary, cases> {
  let cppNamespace = "::stepc::step";
}

def Step_Accepts : Step_Enum<"Accepts", "tensors a group accepts", [
    I32EnumAttrCase<"any", 0>, I32EnumAttrCase<"matrix", 1>]>;

def Step_Role : Step_Enum<"Role", "role of a group argument", [
    I32EnumAttrCase<"param", 0>, I32EnumAttrCase<"grad", 1>,
    I32EnumAttrCase<"state", 2>, I32EnumAttrCase<"hyper", 3>,
    I32EnumAttrCase<"input", 4>, I32EnumAttrCase<"count", 5>]>;

def Step_StateInitKind : Step_Enum<"StateInitKind", "initial state value", [
    I32EnumAttrCase<"zeros", 0>, I32EnumAttrCase<"ones", 1>,
    I32EnumAttrCase<"constant", 2>, I32EnumAttrCase<"param_norm", 3>,
    I32EnumAttrCase<"identity", 4>]>;

def Step_StateShape : Step_Enum<"StateShape", "a state shape its type cannot say", [
    I32EnumAttrCase<"by_type", 0>, I32EnumAttrCase<"rows_square", 1>,
    I32EnumAttrCase<"cols_square", 2>]>;

def Step_MomentumKind : Step_Enum<"MomentumKind", "momentum form", [
    I32EnumAttrCase<"ema", 0>, I32EnumAttrCase<"heavy_ball", 1>]>;

def Step_FirstStep : Step_Enum<"FirstStep", "what the first step stores", [
    I32EnumAttrCase<"update", 0>, I32EnumAttrCase<"grad", 1>]>;

def Step_MomentReduce : Step_Enum<"MomentReduce",
    "how a second moment is reduced", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"rows", 1>,
    I32EnumAttrCase<"cols", 2>, I32EnumAttrCase<"short_axis", 3>,
    I32EnumAttrCase<"matrix", 4>]>;

def Step_EpsMode : Step_Enum<"EpsMode", "where epsilon guards a norm", [
    I32EnumAttrCase<"add", 0>, I32EnumAttrCase<"clamp", 1>]>;

def Step_PrecondEps : Step_Enum<"PrecondEps",
    "where epsilon enters a second-moment denominator", [
    I32EnumAttrCase<"add", 0>, I32EnumAttrCase<"add_before_correction", 1>,
    I32EnumAttrCase<"clamp", 2>, I32EnumAttrCase<"inside_sqrt", 3>]>;

def Step_NormTarget : Step_Enum<"NormTarget", "norm each vector is scaled to", [
    I32EnumAttrCase<"unit", 0>, I32EnumAttrCase<"sqrt_dim", 1>,
    I32EnumAttrCase<"rms_of_norms", 2>]>;

def Step_Transpose : Step_Enum<"Transpose", "orientation rule of Newton-Schulz", [
    I32EnumAttrCase<"smaller_gram", 0>, I32EnumAttrCase<"none", 1>]>;

def Step_MatmulTranspose : Step_Enum<"MatmulTranspose", "operands a matmul transposes", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"lhs", 1>,
    I32EnumAttrCase<"rhs", 2>, I32EnumAttrCase<"both", 3>]>;

def Step_SphereMode : Step_Enum<"SphereMode", "which norm a sphere uses", [
    I32EnumAttrCase<"frobenius", 0>, I32EnumAttrCase<"rows", 1>,
    I32EnumAttrCase<"cols", 2>]>;

def Step_ShapeFactor : Step_Enum<"ShapeFactor",
    "factor computed from a matrix shape (m rows, n cols)", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"keller", 1>,
    I32EnumAttrCase<"sqrt_max_dim", 2>, I32EnumAttrCase<"sqrt_min_dim", 3>,
    I32EnumAttrCase<"sqrt_rows_over_cols", 4>, I32EnumAttrCase<"shape_up", 5>,
    I32EnumAttrCase<"sqrt_numel", 6>]>;

def Step_ScaleNorm : Step_Enum<"ScaleNorm", "norm a scale divides by", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"rms", 1>,
    I32EnumAttrCase<"frobenius", 2>]>;

def Step_DecayMode : Step_Enum<"DecayMode", "weight decay form", [
    I32EnumAttrCase<"decoupled", 0>, I32EnumAttrCase<"coupled", 1>]>;

def Step_GainAxes : Step_Enum<"GainAxes", "axes that carry learnable gains", [
    I32EnumAttrCase<"scalar", 0>, I32EnumAttrCase<"row", 1>,
    I32EnumAttrCase<"col", 2>, I32EnumAttrCase<"row_col", 3>]>;

def Step_GainMap : Step_Enum<"GainMap", "gain parameterization", [
    I32EnumAttrCase<"identity", 0>, I32EnumAttrCase<"softplus", 1>]>;

def Step_ReduceKind : Step_Enum<"ReduceKind", "per-tensor reduction", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"mean", 1>,
    I32EnumAttrCase<"sum_sq", 2>, I32EnumAttrCase<"mean_sq", 3>,
    I32EnumAttrCase<"norm", 4>, I32EnumAttrCase<"dot", 5>,
    I32EnumAttrCase<"max_abs", 6>, I32EnumAttrCase<"numel", 7>]>;

def Step_ReduceAxis : Step_Enum<"ReduceAxis", "what a reduction keeps", [
    I32EnumAttrCase<"rows", 0>, I32EnumAttrCase<"cols", 1>,
    I32EnumAttrCase<"all", 2>]>;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Step_StateInitAttr : AttrDef<Step_Dialect, "StateInit"> {
  let mnemonic = "state";
  let summary = "initial value and storage dtype of a state tensor";
  let description = [{
    `zeros`, `ones`, `constant(v)` fill the state; `param_norm` (0-d state
    only) captures the Frobenius norm of the parameter when the state is
    created; `identity` (square states only) fills the identity matrix.
    `square(rows)` makes a `tensor<?x?xf32>` state of a matrix group m×m
    (`square(cols)`: n×n) instead of the param's m×n: ARO's rotation.
    `store(bf16)` keeps the state in bf16 memory; it is computed in f32.
    Printed inside `step.group` as `= identity square(rows) store(bf16)`.
  }];
  let parameters = (ins
    EnumParameter<Step_StateInitKind>:$kind,
    DefaultValuedParameter<"::mlir::FloatAttr", "nullptr">:$value,
    DefaultValuedParameter<"::mlir::Type", "nullptr">:$storage,
    DefaultValuedParameter<"::stepc::step::StateShape",
                           "::stepc::step::StateShape::by_type">:$shape);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // STEPC_DIALECT_STEP_IR_STEPBASE_TD
