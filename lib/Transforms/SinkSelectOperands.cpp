//===- SinkSelectOperands.cpp - compute select operands lazily --*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace stepc {
#define GEN_PASS_DEF_SINKSELECTOPERANDS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {

/// The ops of `select`'s block that compute its operand `operandIndex` and
/// that nothing else needs, in block order.
llvm::SetVector<Operation *> exclusiveSlice(arith::SelectOp select,
                                            unsigned operandIndex) {
  Block *block = select->getBlock();
  llvm::SetVector<Operation *> slice;
  SmallVector<Operation *> work;
  auto visitOperands = [&](Operation *op) {
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && def->getBlock() == block)
          work.push_back(def);
    });
  };
  if (Operation *def = select->getOperand(operandIndex).getDefiningOp();
      def && def->getBlock() == block)
    work.push_back(def);
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (slice.insert(op))
      visitOperands(op);
  }
  // Drop, until none is left to drop, every op that has memory effects or
  // that something outside the slice reads (the select's condition and its
  // other operand count as outside).
  auto exclusive = [&](Operation *op) {
    if (!isMemoryEffectFree(op))
      return false;
    for (OpOperand &use : op->getUses()) {
      Operation *user = block->findAncestorOpInBlock(*use.getOwner());
      if (user == select.getOperation() && use.getOwner() == user &&
          use.getOperandNumber() == operandIndex)
        continue;
      if (!user || !slice.contains(user))
        return false;
    }
    return true;
  };
  for (bool changed = true; changed;) {
    SmallVector<Operation *> shared = llvm::filter_to_vector(
        slice, [&](Operation *op) { return !exclusive(op); });
    for (Operation *op : shared)
      slice.remove(op);
    changed = !shared.empty();
  }
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return llvm::SetVector<Operation *>(ordered.begin(), ordered.end());
}

/// Whether moving `slice` under a branch saves a loop, not just a few
/// scalar ops.
bool worthABranch(const llvm::SetVector<Operation *> &slice) {
  return llvm::any_of(slice,
                      [](Operation *op) { return op->getNumRegions() > 0; });
}

struct SinkSelectOperandsPass
    : stepc::impl::SinkSelectOperandsBase<SinkSelectOperandsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<arith::SelectOp> selects;
    for (auto select : func.getBody().front().getOps<arith::SelectOp>())
      if (select.getType().isIntOrIndexOrFloat() &&
          select.getTrueValue() != select.getFalseValue())
        selects.push_back(select);
    for (arith::SelectOp select : selects)
      sink(select);
  }

  void sink(arith::SelectOp select) {
    llvm::SetVector<Operation *> whenTrue = exclusiveSlice(select, 1);
    llvm::SetVector<Operation *> whenFalse = exclusiveSlice(select, 2);
    if (!worthABranch(whenTrue) && !worthABranch(whenFalse))
      return;
    OpBuilder builder(select);
    Location loc = select.getLoc();
    auto branch =
        scf::IfOp::create(builder, loc, select.getType(), select.getCondition(),
                          /*withElseRegion=*/true);
    auto fill = [&](Block &block, const llvm::SetVector<Operation *> &ops,
                    Value result) {
      builder.setInsertionPointToEnd(&block);
      auto yield = scf::YieldOp::create(builder, loc, result);
      for (Operation *op : ops)
        op->moveBefore(yield);
    };
    fill(branch.getThenRegion().front(), whenTrue, select.getTrueValue());
    fill(branch.getElseRegion().front(), whenFalse, select.getFalseValue());
    select.replaceAllUsesWith(branch.getResult(0));
    select.erase();
  }
};
} // namespace
