//===- FuseElementwise.cpp - fuse element-wise chains ----------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Elementwise.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace stepc {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#define GEN_PASS_DEF_FUSETRANSPOSESINTOREDUCTIONS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;
using stepc::isElementwise;
using stepc::mergeSiblings;

bool stepc::isElementwise(linalg::GenericOp op) {
  if (op.getNumLoops() != op.getNumParallelLoops() || op.hasIndexSemantics())
    return false;
  return llvm::all_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
    return op.getMatchingIndexingMap(&init).isIdentity();
  });
}

/// The sizes of the iteration space, when they can be compared: the sizes of
/// the first init if it is a tensor.empty.
static std::optional<SmallVector<OpFoldResult>> domainOf(linalg::GenericOp op) {
  auto empty = op.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>();
  if (!empty)
    return std::nullopt;
  return empty.getMixedSizes();
}

linalg::GenericOp stepc::mergeSiblings(RewriterBase &rewriter,
                                       linalg::GenericOp first,
                                       linalg::GenericOp second,
                                       Operation *at) {
  SmallVector<Value> inputs;
  SmallVector<AffineMap> inputMaps;
  auto inputIndex = [&](Value value, AffineMap map) -> unsigned {
    for (unsigned i = 0; i < inputs.size(); ++i)
      if (inputs[i] == value && inputMaps[i] == map)
        return i;
    inputs.push_back(value);
    inputMaps.push_back(map);
    return inputs.size() - 1;
  };
  SmallVector<unsigned> firstInputs, secondInputs;
  for (OpOperand *input : first.getDpsInputOperands())
    firstInputs.push_back(
        inputIndex(input->get(), first.getMatchingIndexingMap(input)));
  for (OpOperand *input : second.getDpsInputOperands())
    secondInputs.push_back(
        inputIndex(input->get(), second.getMatchingIndexingMap(input)));

  SmallVector<Value> inits(first.getDpsInits());
  llvm::append_range(inits, second.getDpsInits());
  SmallVector<AffineMap> maps = inputMaps;
  for (linalg::GenericOp op : {first, second})
    for (OpOperand &init : op.getDpsInitsMutable())
      maps.push_back(op.getMatchingIndexingMap(&init));
  SmallVector<utils::IteratorType> iterators = first.getIteratorTypesArray();
  for (auto [merged, other] :
       llvm::zip_equal(iterators, second.getIteratorTypesArray()))
    if (other == utils::IteratorType::reduction)
      merged = utils::IteratorType::reduction;
  SmallVector<Type> resultTypes(first.getResultTypes());
  llvm::append_range(resultTypes, second.getResultTypes());

  rewriter.setInsertionPoint(at);
  auto merged = linalg::GenericOp::create(
      rewriter, first.getLoc(), resultTypes, inputs, inits, maps, iterators,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        SmallVector<Value> yields;
        unsigned numInputs = inputs.size();
        unsigned firstInits = first.getNumDpsInits();
        auto inlineBody = [&](linalg::GenericOp op, ArrayRef<unsigned> ins,
                              unsigned initOffset) {
          Block &body = op.getRegion().front();
          IRMapping mapping;
          for (auto [index, slot] : llvm::enumerate(ins))
            mapping.map(body.getArgument(index), args[slot]);
          for (unsigned i = 0; i < op.getNumDpsInits(); ++i)
            mapping.map(body.getArgument(ins.size() + i),
                        args[numInputs + initOffset + i]);
          for (Operation &inner : body.without_terminator())
            b.clone(inner, mapping);
          for (Value value : body.getTerminator()->getOperands())
            yields.push_back(mapping.lookupOrDefault(value));
        };
        inlineBody(first, firstInputs, 0);
        inlineBody(second, secondInputs, firstInits);
        linalg::YieldOp::create(b, loc, yields);
      });
  unsigned split = first.getNumResults();
  rewriter.replaceOp(first, merged.getResults().take_front(split));
  rewriter.replaceOp(second, merged.getResults().drop_front(split));
  return merged;
}

/// Merges element-wise siblings in `block` until none are left.
static void mergeAllSiblings(Block &block, DominanceInfo &dominance) {
  IRRewriter rewriter(block.getParentOp()->getContext());
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<linalg::GenericOp> ops;
    for (auto op : block.getOps<linalg::GenericOp>())
      if (isElementwise(op) && domainOf(op))
        ops.push_back(op);
    for (unsigned j = 0; j < ops.size() && !changed; ++j) {
      for (unsigned i = 0; i < j && !changed; ++i) {
        linalg::GenericOp first = ops[i], second = ops[j];
        if (first.getNumLoops() != second.getNumLoops() ||
            *domainOf(first) != *domainOf(second))
          continue;
        if (llvm::is_contained(second->getOperands(), first->getResult(0)) ||
            llvm::any_of(first->getResults(), [&](Value r) {
              return llvm::is_contained(second->getOperands(), r);
            }))
          continue;
        // Either `second` moves up to `first` (all it reads, operands and
        // values its body captures, exist there) or `first` moves down to
        // `second` (nothing uses it before).
        SetVector<Value> reads(llvm::from_range, second->getOperands());
        getUsedValuesDefinedAbove(second.getRegion(), reads);
        bool secondMovesUp = llvm::all_of(reads, [&](Value v) {
          return dominance.properlyDominates(v, first);
        });
        bool firstMovesDown = llvm::all_of(first->getUsers(), [&](Operation *u) {
          return second->isBeforeInBlock(block.findAncestorOpInBlock(*u));
        });
        if (!secondMovesUp && !firstMovesDown)
          continue;
        mergeSiblings(rewriter, first, second,
                      secondMovesUp ? first.getOperation() : second.getOperation());
        changed = true;
      }
    }
  }
}

/// The bytes of one element of `type`, a tensor of ints or floats.
static int64_t elementBytes(Type type) {
  return llvm::divideCeil(getElementTypeOrSelf(type).getIntOrFloatBitWidth(),
                          8);
}

/// Whether `op` stores a value: returns it, or materializes it in a
/// destination.
static bool isStore(Operation *op) {
  return isa<func::ReturnOp, bufferization::MaterializeInDestinationOp>(op);
}

static bool isStored(Value value) {
  return llvm::any_of(value.getUsers(), isStore);
}

/// The bytes per element of the full-size tensors `consumer` reads once
/// the element-wise ops it reads fuse into it (all but `kept`): each tensor
/// counted once, however many of them read it.
static int64_t fusedReadBytes(linalg::GenericOp consumer,
                              linalg::GenericOp kept) {
  DenseSet<Value> tensors;
  SmallPtrSet<Operation *, 8> visited;
  SmallVector<linalg::GenericOp> worklist{consumer};
  while (!worklist.empty()) {
    linalg::GenericOp op = worklist.pop_back_val();
    for (OpOperand *input : op.getDpsInputOperands()) {
      if (!isa<RankedTensorType>(input->get().getType()) ||
          !op.getMatchingIndexingMap(input).isPermutation())
        continue;
      auto producer = input->get().getDefiningOp<linalg::GenericOp>();
      if (producer && producer != kept && isElementwise(producer)) {
        if (visited.insert(producer).second)
          worklist.push_back(producer);
        continue;
      }
      tensors.insert(input->get());
    }
  }
  int64_t bytes = 0;
  for (Value tensor : tensors)
    bytes += elementBytes(tensor.getType());
  return bytes;
}

/// Whether `producer`, element-wise with stored results, is better computed
/// once, in a loop of its own, than inside each reduction that reads it,
/// counting bytes per element. Each such reduction then reads its results
/// instead of its inputs (unless it reads those anyway: AdamP's update
/// recomputes both moments, which share the gradient), and so do the
/// element-wise consumers that store their own results (the update), into
/// whose loop the producer and its store would otherwise fuse. Against
/// that, the loop of its own reads the producer's inputs once more; it
/// costs nothing when no such consumer would take the producer in.
static bool worthMaterializing(linalg::GenericOp producer) {
  if (!isElementwise(producer))
    return false;
  // A result read but not stored would need a buffer of its own.
  bool stored = false;
  for (Value result : producer->getResults()) {
    if (result.use_empty())
      continue;
    if (!isStored(result))
      return false;
    stored = true;
  }
  if (!stored)
    return false;
  // Its consumers, through element-wise ops (which fuse into them).
  SmallPtrSet<Operation *, 8> visited;
  SmallVector<linalg::GenericOp> reductions, storing;
  SmallVector<Value> worklist(producer->getResults());
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers()) {
      auto generic = dyn_cast<linalg::GenericOp>(user);
      if (!generic || !visited.insert(user).second)
        continue;
      if (generic.getNumReductionLoops() != 0) {
        reductions.push_back(generic);
        continue;
      }
      if (!isElementwise(generic))
        continue;
      if (llvm::any_of(generic->getResults(), isStored))
        storing.push_back(generic);
      llvm::append_range(worklist, generic->getResults());
    }
  }
  int64_t saved = 0;
  for (linalg::GenericOp consumer :
       llvm::concat<linalg::GenericOp>(reductions, storing))
    saved += fusedReadBytes(consumer, /*kept=*/nullptr) -
             fusedReadBytes(consumer, producer);
  int64_t ownLoop = storing.empty() ? 0 : fusedReadBytes(producer, nullptr);
  return saved > ownLoop;
}

namespace {
struct FuseElementwisePass
    : stepc::impl::FuseElementwiseBase<FuseElementwisePass> {
  using FuseElementwiseBase::FuseElementwiseBase;

  void runOnOperation() override {
    // Decided once, on the unfused function: asked at each fusion, the
    // answer would change as the producer's consumers took it in one by
    // one. A kept producer is known by the stores of its results, which
    // stay when fusing the producer's own producers into it replaces it.
    DenseSet<OpOperand *> keptStores;
    if (materializeStored)
      getOperation().walk([&](linalg::GenericOp op) {
        if (!worthMaterializing(op))
          return;
        for (Value result : op->getResults())
          for (OpOperand &use : result.getUses())
            if (isStore(use.getOwner()))
              keptStores.insert(&use);
      });
    auto isKept = [&](linalg::GenericOp producer) {
      return llvm::any_of(producer->getResults(), [&](Value result) {
        return llvm::any_of(result.getUses(), [&](OpOperand &use) {
          return keptStores.contains(&use);
        });
      });
    };
    RewritePatternSet patterns(&getContext());
    // Any element-wise producer may fuse into its consumers; it stays for
    // its other uses and the sibling merge below computes it once.
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [&](OpOperand *fused) {
          auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
          return producer && isElementwise(producer) && !isKept(producer);
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    DominanceInfo dominance(getOperation());
    getOperation().walk([&](Block *block) { mergeAllSiblings(*block, dominance); });
  }
};
} // namespace

/// Whether fusing the producer of `fused` into its consumer, a reduction,
/// has the consumer read every input of the producer along a reduced dim
/// (the last result of the fused map): coalesced on a GPU, where a warp's
/// lanes, or a tensor-core tile's staging threads, walk that dim.
static bool fusesAlongReducedDim(OpOperand *fused) {
  auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
  auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
  if (!consumer || !producer || consumer.getNumReductionLoops() == 0 ||
      !isElementwise(producer))
    return false;
  // The producer writes at its own loop indices, so its loop dims are the
  // results of the consumer's map.
  AffineMap consumerMap = consumer.getMatchingIndexingMap(fused);
  SmallVector<utils::IteratorType> iterators = consumer.getIteratorTypesArray();
  return llvm::all_of(producer.getDpsInputOperands(), [&](OpOperand *input) {
    AffineMap fusedMap =
        producer.getMatchingIndexingMap(input).compose(consumerMap);
    if (fusedMap.getNumResults() == 0)
      return true;
    auto last = dyn_cast<AffineDimExpr>(fusedMap.getResults().back());
    return last && linalg::isReductionIterator(iterators[last.getPosition()]);
  });
}

namespace {
struct FuseTransposesIntoReductionsPass
    : stepc::impl::FuseTransposesIntoReductionsBase<
          FuseTransposesIntoReductionsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::TransposeOp> transposes;
    getOperation().walk([&](linalg::TransposeOp transpose) {
      if (llvm::any_of(transpose->getUsers(), [](Operation *user) {
            auto generic = dyn_cast<linalg::GenericOp>(user);
            return generic && generic.getNumReductionLoops() != 0;
          }))
        transposes.push_back(transpose);
    });
    for (linalg::TransposeOp transpose : transposes) {
      rewriter.setInsertionPoint(transpose);
      if (failed(linalg::generalizeNamedOp(rewriter, transpose)))
        return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns,
                                                 fusesAlongReducedDim);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
