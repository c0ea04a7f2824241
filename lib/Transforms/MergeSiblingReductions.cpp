//===- MergeSiblingReductions.cpp - one sweep for sibling reductions ------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Elementwise.h"
#include "stepc/Transforms/Passes.h"
#include "stepc/Transforms/RewriteBlocks.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace stepc {
#define GEN_PASS_DEF_MERGESIBLINGREDUCTIONS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

static bool isReduction(linalg::GenericOp op) {
  return op.getNumReductionLoops() != 0 && !op.hasIndexSemantics();
}

/// Whether `a` and `b` run over the same loops: both read one value with
/// the same map, a permutation of all their loops, so each loop's range is
/// that value's size along the same dim.
static bool shareLoops(linalg::GenericOp a, linalg::GenericOp b) {
  if (a.getNumLoops() != b.getNumLoops())
    return false;
  for (OpOperand *x : a.getDpsInputOperands()) {
    AffineMap map = a.getMatchingIndexingMap(x);
    if (!map.isPermutation())
      continue;
    for (OpOperand *y : b.getDpsInputOperands())
      if (y->get() == x->get() && b.getMatchingIndexingMap(y) == map)
        return true;
  }
  return false;
}

/// Moves before `at` the ops after it that `values` depend on, when all of
/// them can move: free of memory effects and depending on nothing at or
/// after `at` that cannot move. Returns false, moving nothing, otherwise.
static bool hoistDefinitions(const SetVector<Value> &values, Operation *at,
                             DominanceInfo &dominance) {
  SetVector<Operation *> toMove;
  std::function<bool(Value)> available = [&](Value value) {
    if (dominance.properlyDominates(value, at))
      return true;
    Operation *def = value.getDefiningOp();
    if (!def || def->getBlock() != at->getBlock() ||
        !at->isBeforeInBlock(def) || !isMemoryEffectFree(def))
      return false;
    if (toMove.contains(def))
      return true;
    SetVector<Value> reads(llvm::from_range, def->getOperands());
    getUsedValuesDefinedAbove(def->getRegions(), reads);
    if (!llvm::all_of(reads, available))
      return false;
    toMove.insert(def);
    return true;
  };
  if (!llvm::all_of(values, available))
    return false;
  SmallVector<Operation *> ordered(toMove.begin(), toMove.end());
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  for (Operation *op : ordered)
    op->moveBefore(at);
  return true;
}

/// Merges one pair of sibling reductions in `block`; false if none is left.
static bool mergeOnePair(Block &block, RewriterBase &rewriter) {
  SmallVector<linalg::GenericOp> reductions;
  for (auto op : block.getOps<linalg::GenericOp>())
    if (isReduction(op))
      reductions.push_back(op);
  DominanceInfo dominance(block.getParentOp());
  for (unsigned j = 0; j < reductions.size(); ++j) {
    for (unsigned i = 0; i < j; ++i) {
      linalg::GenericOp first = reductions[i], second = reductions[j];
      if (!shareLoops(first, second))
        continue;
      // All `second` reads, operands and values its body captures, must be
      // (or be made) available at `first`; that also rules out `second`
      // using `first`.
      SetVector<Value> reads(llvm::from_range, second->getOperands());
      getUsedValuesDefinedAbove(second.getRegion(), reads);
      if (!hoistDefinitions(reads, first, dominance))
        continue;
      stepc::mergeSiblings(rewriter, first, second, first);
      return true;
    }
  }
  return false;
}

namespace {
struct MergeSiblingReductionsPass
    : stepc::impl::MergeSiblingReductionsBase<MergeSiblingReductionsPass> {
  void runOnOperation() override {
    stepc::rewriteEachBlock(getOperation(), mergeOnePair);
  }
};
} // namespace
