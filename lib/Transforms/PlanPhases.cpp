//===- PlanPhases.cpp - annotate linalg ops with their phase ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"
#include "stepc/Transforms/PhasePlan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace stepc {
#define GEN_PASS_DEF_PLANPHASES
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
struct PlanPhasesPass : stepc::impl::PlanPhasesBase<PlanPhasesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    stepc::PhasePlan plan(func);
    Builder b(func.getContext());
    func.walk([&](linalg::LinalgOp op) {
      const stepc::OpPhase *phase = plan.lookup(op);
      if (!phase)
        return;
      op->setAttr("stepc.phase", b.getI64IntegerAttr(phase->phase));
      op->setAttr("stepc.phase_class",
                  b.getStringAttr(stepc::stringifyPhaseClass(phase->kind)));
    });
    func->setAttr("stepc.num_phases", b.getI64IntegerAttr(plan.numPhases()));
  }
};
} // namespace
