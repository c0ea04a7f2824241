//===- FuseRowLoops.cpp - one sweep for row-local loops -------------------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"
#include "stepc/Transforms/RewriteBlocks.h"

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

/// Whether a reshape's leading reassociation group keeps dim 0 of the
/// collapsed shape as dim 0 of the expanded one: `[0]`, or `[0, 1]` where
/// dim 1 of the expanded type has size 1 (a `?x1` view of a vector).
static bool keepsLeadingDim(ArrayRef<ReassociationIndices> groups,
                            MemRefType expanded) {
  if (groups.empty())
    return false;
  ArrayRef<int64_t> first = groups.front();
  return first.size() == 1 ||
         (first.size() == 2 && expanded.getDimSize(first[1]) == 1);
}

namespace {
/// A buffer a loop reads or writes, and whether every access is at the
/// buffer's row given by the loop's index.
struct Access {
  Value buffer;
  bool write;
  bool atLoopRow;
};
} // namespace

/// The buffer `memref` views and whether its dim 0 is the buffer's: a
/// function argument or an allocation, through reshapes. Null if unknown.
static Value bufferOf(Value memref, bool &keepsRows) {
  keepsRows = true;
  while (true) {
    if (isa<BlockArgument>(memref))
      return memref;
    Operation *def = memref.getDefiningOp();
    if (isa_and_nonnull<memref::AllocOp, memref::AllocaOp>(def))
      return memref;
    if (auto expand = dyn_cast_or_null<memref::ExpandShapeOp>(def)) {
      keepsRows &= keepsLeadingDim(expand.getReassociationIndices(),
                                   expand.getResultType());
      memref = expand.getSrc();
    } else if (auto collapse = dyn_cast_or_null<memref::CollapseShapeOp>(def)) {
      keepsRows &= keepsLeadingDim(collapse.getReassociationIndices(),
                                   collapse.getSrcType());
      memref = collapse.getSrc();
    } else {
      return nullptr;
    }
  }
}

/// The accesses of `loop`'s body; none if it does anything but loads,
/// stores and effect-free work.
static std::optional<SmallVector<Access>> accessesOf(scf::ForOp loop) {
  SmallVector<Access> accesses;
  Value row = loop.getInductionVar();
  auto record = [&](Value memref, ValueRange indices, bool write) {
    bool keepsRows;
    Value buffer = bufferOf(memref, keepsRows);
    if (!buffer)
      return false;
    bool atLoopRow = keepsRows && !indices.empty() && indices[0] == row;
    accesses.push_back({buffer, write, atLoopRow});
    return true;
  };
  WalkResult result = loop.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      return record(load.getMemRef(), load.getIndices(), false)
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    if (auto store = dyn_cast<memref::StoreOp>(op))
      return record(store.getMemRef(), store.getIndices(), true)
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() ||
        isMemoryEffectFree(op))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  if (result.wasInterrupted())
    return std::nullopt;
  return accesses;
}

/// Whether iteration i of `second` may run right after iteration i of
/// `first`: every buffer one writes and the other touches is touched by both
/// only at row i.
static bool rowLocal(ArrayRef<Access> first, ArrayRef<Access> second) {
  for (const Access &a : first)
    for (const Access &b : second)
      if (a.buffer == b.buffer && (a.write || b.write) &&
          !(a.atLoopRow && b.atLoopRow))
        return false;
  return true;
}

/// Whether `op` (and what it nests) neither uses `first`'s results nor
/// touches a buffer `first` touches, beyond reading what `first` only reads.
static bool independentOf(Operation *op, scf::ForOp first,
                          ArrayRef<Access> firstAccesses) {
  auto conflicts = [&](Value memref, bool writes) {
    bool keepsRows;
    Value buffer = memref ? bufferOf(memref, keepsRows) : Value();
    return !buffer || llvm::any_of(firstAccesses, [&](const Access &a) {
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
                         ArrayRef<Access> firstAccesses) {
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
    std::optional<SmallVector<Access>> firstAccesses = accessesOf(first);
    std::optional<SmallVector<Access>> secondAccesses = accessesOf(second);
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
