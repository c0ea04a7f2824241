//===- ClipGradNorm.cpp - global gradient clipping as a prologue ----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Gives any spec PyTorch's clip_grad_norm_ before its step, written in the
// step dialect itself (a global sum and an element-wise scale), so every
// backend runs it as it runs examples/specs/adamw_clip.mlir.
//
//===----------------------------------------------------------------------===//

#include "stepc/Dialect/Step/IR/StepOps.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace stepc {
#define GEN_PASS_DEF_CLIPGRADNORM
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;
namespace step = stepc::step;

namespace {

constexpr llvm::StringLiteral kHyperName = "max_grad_norm";
constexpr llvm::StringLiteral kKey = "grad_sq";

/// Adds the `max_grad_norm` hyper after the group's last hyper (or its
/// last state) and returns it.
BlockArgument addHyper(step::GroupOp group, double defaultValue) {
  MLIRContext *ctx = group.getContext();
  Builder b(ctx);
  Block &body = group.getBody().front();
  unsigned at = 0;
  for (BlockArgument arg : body.getArguments())
    if (step::Role role = group.getRole(arg.getArgNumber());
        role != step::Role::input && role != step::Role::count)
      at = arg.getArgNumber() + 1;
  SmallVector<Attribute> roles(group.getArgRoles().getValue());
  SmallVector<Attribute> names(group.getArgNames().getValue());
  SmallVector<Attribute> inits(group.getArgInits().getValue());
  roles.insert(roles.begin() + at, step::RoleAttr::get(ctx, step::Role::hyper));
  names.insert(names.begin() + at, b.getStringAttr(kHyperName));
  inits.insert(inits.begin() + at, b.getF64FloatAttr(defaultValue));
  group.setArgRolesAttr(b.getArrayAttr(roles));
  group.setArgNamesAttr(b.getArrayAttr(names));
  group.setArgInitsAttr(b.getArrayAttr(inits));
  return body.insertArgument(at, b.getF32Type(), group.getLoc());
}

/// G · min(1, limit / (sqrt(total) + 1e-6)): clip_grad_norm_'s scale.
Value clipped(OpBuilder &b, Location loc, Value grad, Value total,
              Value limit) {
  Type f32 = b.getF32Type();
  auto scale = step::ElementwiseOp::create(b, loc, TypeRange{grad.getType()},
                                           ValueRange{grad, total, limit});
  Block *body =
      b.createBlock(&scale.getBody(), {}, {f32, f32, f32}, {loc, loc, loc});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(body);
  auto constant = [&](float value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  };
  Value norm = math::SqrtOp::create(b, loc, body->getArgument(1));
  Value denominator = arith::AddFOp::create(b, loc, norm, constant(1.0e-6f));
  Value coefficient =
      arith::DivFOp::create(b, loc, body->getArgument(2), denominator);
  Value bounded =
      arith::MinimumFOp::create(b, loc, coefficient, constant(1.0f));
  Value result = arith::MulFOp::create(b, loc, body->getArgument(0), bounded);
  step::YieldOp::create(b, loc, ValueRange{result});
  return scale.getResult(0);
}

struct ClipGradNormPass : stepc::impl::ClipGradNormBase<ClipGradNormPass> {
  using ClipGradNormBase::ClipGradNormBase;

  void runOnOperation() override {
    WalkResult walk = getOperation().walk([&](step::GroupOp group) {
      for (unsigned i = 0; i < group.getArgNames().size(); ++i)
        if (group.getArgName(i) == kHyperName) {
          group.emitError() << "already has a hyper '" << kHyperName
                            << "'; it cannot take gradient clipping";
          return WalkResult::interrupt();
        }
      for (auto sum : group.getBody().getOps<step::GlobalSumOp>())
        if (sum.getKey() == kKey) {
          sum.emitError() << "already sums '" << kKey
                          << "'; the group cannot take gradient clipping";
          return WalkResult::interrupt();
        }
      clip(group);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }

  void clip(step::GroupOp group) {
    BlockArgument limit = addHyper(group, maxNorm);
    Value grad = group.getGrad();
    Location loc = group.getLoc();
    auto b = OpBuilder::atBlockBegin(&group.getBody().front());
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    MLIRContext *ctx = b.getContext();
    auto squares = step::ReduceOp::create(
        b, loc, scalar,
        step::ReduceKindAttr::get(ctx, step::ReduceKind::sum_sq),
        ValueRange{grad}, step::ReduceAxisAttr::get(ctx, step::ReduceAxis::all),
        b.getF64FloatAttr(2.0));
    auto total = step::GlobalSumOp::create(b, loc, kKey, squares);
    Value clippedGrad = clipped(b, loc, grad, total, limit);
    grad.replaceAllUsesExcept(
        clippedGrad,
        SmallPtrSet<Operation *, 2>{squares, clippedGrad.getDefiningOp()});
  }
};

} // namespace
