//===- FuseRowLoops.cpp - one sweep for row-local loops -------------------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"
#include "stepc/Transforms/RewriteBlocks.h"
#include "stepc/Transforms/RowAccesses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace stepc {
#define GEN_PASS_DEF_FUSEROWLOOPS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

using stepc::RowAccess;

/// Whether iteration i of `second` may run right after iteration i of
/// `first`: every buffer one writes and the other touches is touched by both
/// only at row i.
static bool rowLocal(ArrayRef<RowAccess> first, ArrayRef<RowAccess> second) {
  for (const RowAccess &a : first)
    for (const RowAccess &b : second)
      if (a.buffer == b.buffer && (a.write || b.write) &&
          !(a.atLoopRow && b.atLoopRow))
        return false;
  return true;
}

/// Whether `op` (and what it nests) neither uses `first`'s results nor
/// touches a buffer `first` touches, beyond reading what `first` only reads.
static bool independentOf(Operation *op, scf::ForOp first,
                          ArrayRef<RowAccess> firstAccesses) {
  auto conflicts = [&](Value memref, bool writes) {
    bool keepsRows;
    Value buffer = memref ? stepc::rowBufferOf(memref, keepsRows) : Value();
    return !buffer || llvm::any_of(firstAccesses, [&](const RowAccess &a) {
      return a.buffer == buffer && (a.write || writes);
    });
  };
  WalkResult result = op->walk([&](Operation *nested) {
    if (llvm::any_of(nested->getOperands(), [&](Value v) {
          return v.getDefiningOp() == first.getOperation();
        }))
      return WalkResult::interrupt();
    if (nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!effects)
      return isMemoryEffectFree(nested) ? WalkResult::advance()
                                        : WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &effect : instances) {
      // A new buffer is no other; freeing one is writing it.
      if (isa<MemoryEffects::Allocate>(effect.getEffect()))
        continue;
      if (conflicts(effect.getValue(),
                    !isa<MemoryEffects::Read>(effect.getEffect())))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

/// Moves the ops between `first` and `second` above `first` when they are
/// all independent of it. Returns false, moving nothing, otherwise.
static bool hoistBetween(scf::ForOp first, scf::ForOp second,
                         ArrayRef<RowAccess> firstAccesses) {
  SmallVector<Operation *> between;
  for (Operation *op = first->getNextNode(); op != second;
       op = op->getNextNode())
    between.push_back(op);
  if (!llvm::all_of(between, [&](Operation *op) {
        return independentOf(op, first, firstAccesses);
      }))
    return false;
  for (Operation *op : between)
    op->moveBefore(first);
  return true;
}

static bool sameBounds(scf::ForOp a, scf::ForOp b) {
  return a.getLowerBound() == b.getLowerBound() &&
         a.getUpperBound() == b.getUpperBound() && a.getStep() == b.getStep();
}

/// Fuses one pair of loops in `block`; false if none is left.
static bool fuseOnePair(Block &block, RewriterBase &rewriter) {
  SmallVector<scf::ForOp> loops(block.getOps<scf::ForOp>());
  for (unsigned i = 0; i < loops.size(); ++i) {
    // The next loop over the same range; loops over other ranges between
    // (a column vector's zero fill) may move above `first`.
    scf::ForOp first = loops[i], second;
    for (unsigned j = i + 1; j < loops.size() && !second; ++j)
      if (sameBounds(first, loops[j]))
        second = loops[j];
    if (!second)
      continue;
    std::optional<SmallVector<RowAccess>> firstAccesses =
        stepc::rowAccessesOf(first);
    std::optional<SmallVector<RowAccess>> secondAccesses =
        stepc::rowAccessesOf(second);
    if (!firstAccesses || !secondAccesses ||
        !rowLocal(*firstAccesses, *secondAccesses))
      continue;
    if (llvm::any_of(first->getUsers(),
                     [&](Operation *user) { return second->isAncestor(user); }))
      continue;
    // The bounds must exist above `first`; they are the same values.
    if (!hoistBetween(first, second, *firstAccesses))
      continue;
    fuseIndependentSiblingForLoops(first, second, rewriter);
    return true;
  }
  return false;
}

namespace {
struct FuseRowLoopsPass : stepc::impl::FuseRowLoopsBase<FuseRowLoopsPass> {
  void runOnOperation() override {
    stepc::rewriteEachBlock(getOperation(), fuseOnePair);
  }
};
} // namespace
