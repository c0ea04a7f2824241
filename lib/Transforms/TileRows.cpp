//===- TileRows.cpp - row-local work in loops over row blocks --*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"
#include "stepc/Transforms/PhasePlan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace stepc {
#define GEN_PASS_DEF_TILEROWS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;
using namespace stepc;

namespace {

/// The op's tile loop indexes the rows of its first result, so a block of
/// that loop is a block of result rows.
static bool ownsResultRows(linalg::GenericOp op, const OpPhase &phase) {
  if (phase.kind != PhaseClass::RowLocal || !phase.tileLoop)
    return false;
  AffineMap map = op.getIndexingMapsArray()[op.getNumDpsInputs()];
  return map.getNumResults() > 0 &&
         map.getResult(0) == getAffineDimExpr(*phase.tileLoop, op.getContext());
}

struct TileRowsPass : stepc::impl::TileRowsBase<TileRowsPass> {
  using TileRowsBase::TileRowsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    auto param = func.getNumArguments()
                     ? dyn_cast<ShapedType>(func.getArgument(0).getType())
                     : ShapedType();
    if (!param || param.getRank() != 2)
      return;
    if (rowsPerTile < 1) {
      func.emitError("stepc-tile-rows: rows-per-tile must be at least 1");
      return signalPassFailure();
    }
    // Sizes read from intermediate results would keep their producers
    // alive outside the loops; read them from the inputs instead.
    if (failed(resolveSizes(func)))
      return signalPassFailure();
    PhasePlan plan(func);

    // Roots: row-owning ops whose result leaves the phase (a later phase,
    // a store, anything that is not a row-local op of the same phase).
    SmallVector<linalg::GenericOp> roots;
    func.walk([&](linalg::GenericOp op) {
      const OpPhase *phase = plan.lookup(op);
      if (!phase || !ownsResultRows(op, *phase))
        return;
      bool leaves = llvm::any_of(op->getUsers(), [&](Operation *user) {
        const OpPhase *userPhase = plan.lookup(user);
        return !userPhase || userPhase->phase != phase->phase ||
               userPhase->kind != PhaseClass::RowLocal;
      });
      if (leaves)
        roots.push_back(op);
    });

    IRRewriter rewriter(func.getContext());
    DenseSet<Operation *> erased;
    for (linalg::GenericOp root : llvm::reverse(roots)) {
      if (erased.contains(root))
        continue;
      const OpPhase rootPhase = *plan.lookup(root);
      SmallVector<OpFoldResult> tileSizes(root.getNumLoops(),
                                          rewriter.getIndexAttr(0));
      tileSizes[*rootPhase.tileLoop] = rewriter.getIndexAttr(rowsPerTile);
      // Producers of the same phase in the same block (a producer outside
      // an scf.if cannot hand its other users a value from inside it).
      auto fusable = [&](Operation *op) {
        const OpPhase *phase = plan.lookup(op);
        if (op->getBlock() != root->getBlock())
          return false;
        return isa<linalg::FillOp>(op) ||
               (phase && phase->phase == rootPhase.phase &&
                phase->kind == PhaseClass::RowLocal);
      };
      // What the loop will compute: the root and its fusable producers.
      DenseSet<Operation *> inLoop = {root};
      SmallVector<Operation *> worklist = {root};
      while (!worklist.empty()) {
        for (Value operand : worklist.pop_back_val()->getOperands()) {
          Operation *producer = operand.getDefiningOp();
          if (producer && isa<linalg::LinalgOp>(producer) &&
              fusable(producer) && inLoop.insert(producer).second)
            worklist.push_back(producer);
        }
      }
      scf::SCFTileAndFuseOptions options;
      options.tilingOptions.setTileSizes(tileSizes);
      options.setFusionControlFn(
          [&](tensor::ExtractSliceOp slice, OpResult producer,
              bool isDestination)
              -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            Operation *op = producer.getOwner();
            if (!inLoop.contains(op))
              return std::nullopt;
            // A fill is cheap: recompute it per tile, keep the original for
            // its other users.
            if (isa<linalg::FillOp>(op))
              return scf::SCFTileAndFuseOptions::ControlFnResult{};
            // Users outside the loop still need the whole result, which the
            // loop can hand only to users after it; size queries are
            // resolved from the inputs afterwards.
            bool usedOutside = false;
            for (Operation *user : producer.getUsers()) {
              if (isa<tensor::DimOp>(user) || inLoop.contains(user) ||
                  slice->getParentOp()->isAncestor(user))
                continue;
              Operation *ancestor = root->getBlock()->findAncestorOpInBlock(*user);
              if (ancestor && ancestor->isBeforeInBlock(root))
                return std::nullopt;
              usedOutside = true;
            }
            return scf::SCFTileAndFuseOptions::ControlFnResult{
                /*yieldProducerReplacement=*/usedOutside};
          });
      rewriter.setInsertionPoint(root);
      FailureOr<scf::SCFTileAndFuseResult> tiled =
          scf::tileConsumerAndFuseProducersUsingSCF(
              rewriter, cast<TilingInterface>(root.getOperation()), options);
      if (failed(tiled)) {
        root.emitError("stepc-tile-rows: could not tile this row-local op");
        return signalPassFailure();
      }
      for (auto [original, replacement] : tiled->replacements)
        rewriter.replaceAllUsesWith(original, replacement);
      // Consumers before producers, so that each is dead when erased.
      SmallVector<Operation *> originals = {root.getOperation()};
      llvm::append_range(originals, tiled->fusedProducers);
      for (Operation *op : originals) {
        if (!op->use_empty() || erased.contains(op))
          continue;
        erased.insert(op);
        rewriter.eraseOp(op);
      }
    }
    // Tiling queried the sizes of the untiled producers; with those
    // queries resolved, the producers are dead and go.
    if (failed(resolveSizes(func)))
      return signalPassFailure();
  }

  /// Replaces tensor.dim of op results by the sizes of their inputs (and
  /// erases what becomes dead).
  static LogicalResult resolveSizes(func::FuncOp func) {
    RewritePatternSet patterns(func.getContext());
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    memref::populateResolveShapedTypeResultDimsPatterns(patterns);
    return applyPatternsGreedily(func, std::move(patterns));
  }
};

} // namespace
