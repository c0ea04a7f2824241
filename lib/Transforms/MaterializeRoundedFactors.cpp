//===- MaterializeRoundedFactors.cpp - round a factor once ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Newton–Schulz's third product reads its left factor as the rounding of
// b·A + c·A², two f32 matrices. Computed inside the product, every block
// that shares a row of the output reads both matrices again: the GPU's
// tensor-core loop stages 16 bytes per factor element instead of 2. This
// pass computes such a factor once, into a bf16 tensor that the product
// reads (docs/Design/GpuKernels.md, "Factors rounded once").
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace stepc {
#define GEN_PASS_DEF_MATERIALIZEROUNDEDFACTORS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {

/// The factors of a product's body `out + L·R` (a generic of two parallel
/// loops and one reduction, on tensors), or nothing.
std::optional<std::pair<Value, Value>> factorsOf(linalg::GenericOp product) {
  if (product.getNumLoops() != 3 || product.getNumReductionLoops() != 1 ||
      product.getNumDpsInits() != 1 || !product.hasPureTensorSemantics())
    return std::nullopt;
  Block &body = product.getRegion().front();
  BlockArgument out = body.getArguments().back();
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !add->hasOneUse())
    return std::nullopt;
  Value term = add.getLhs() == out   ? add.getRhs()
               : add.getRhs() == out ? add.getLhs()
                                     : Value();
  auto mul = term ? term.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul || mul->getBlock() != &body)
    return std::nullopt;
  return std::make_pair(mul.getLhs(), mul.getRhs());
}

/// x, when `factor` is `extf(truncf(x))`: an f32 rounded to bf16.
Value roundedValue(Value factor) {
  auto ext = factor.getDefiningOp<arith::ExtFOp>();
  if (!ext || !ext.getIn().getType().isBF16() || !ext.getType().isF32())
    return {};
  auto trunc = ext.getIn().getDefiningOp<arith::TruncFOp>();
  return trunc && trunc.getIn().getType().isF32() ? trunc.getIn() : Value();
}

/// The ops of `body` that `roots` depend on, in body order, stopping at
/// `leaf` (its operands are not followed); and the block arguments reached.
SmallVector<Operation *> opsNeededBy(Block &body, ValueRange roots, Value leaf,
                                     SmallVectorImpl<BlockArgument> &args) {
  DenseSet<Value> needed(roots.begin(), roots.end());
  SmallVector<Operation *> ops;
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    if (llvm::none_of(op.getResults(),
                      [&](Value r) { return needed.contains(r); }))
      continue;
    ops.push_back(&op);
    if (op.getResult(0) != leaf)
      needed.insert(op.operand_begin(), op.operand_end());
  }
  for (BlockArgument arg : body.getArguments())
    if (needed.contains(arg))
      args.push_back(arg);
  std::reverse(ops.begin(), ops.end());
  return ops;
}

/// Computes `factor`, a rounded factor of `product` read along the
/// parallel dim `dim` and the reduction dim, into a bf16 tensor indexed
/// (dim, reduction) just before `product`, and has `product` read that
/// instead; returns the product that replaces `product`. Fails (changing
/// nothing) when the factor reads anything but inputs indexed by those two
/// dims.
FailureOr<linalg::GenericOp>
materialize(RewriterBase &rewriter, linalg::GenericOp product, Value factor) {
  Block &body = product.getRegion().front();
  Value rounded = roundedValue(factor);
  SmallVector<BlockArgument> args;
  SmallVector<Operation *> ops =
      opsNeededBy(body, ValueRange{rounded}, {}, args);
  SmallVector<utils::IteratorType> iterators = product.getIteratorTypesArray();
  unsigned reduction =
      llvm::find(iterators, utils::IteratorType::reduction) - iterators.begin();
  // The factor's loop dims, (row or col, reduction), become the new
  // generic's (d0, d1).
  std::optional<unsigned> parallel;
  SmallVector<AffineExpr> replacements(product.getNumLoops(),
                                       rewriter.getAffineConstantExpr(0));
  replacements[reduction] = rewriter.getAffineDimExpr(1);
  for (BlockArgument arg : args) {
    if (arg.getArgNumber() >= product.getNumDpsInputs())
      return failure();
    AffineMap map = product.getMatchingIndexingMap(
        product.getDpsInputOperand(arg.getArgNumber()));
    for (AffineExpr result : map.getResults()) {
      auto dim = dyn_cast<AffineDimExpr>(result);
      if (!dim)
        return failure();
      if (dim.getPosition() == reduction)
        continue;
      if (parallel && *parallel != dim.getPosition())
        return failure();
      parallel = dim.getPosition();
    }
  }
  if (!parallel)
    return failure();
  replacements[*parallel] = rewriter.getAffineDimExpr(0);

  Location loc = product.getLoc();
  rewriter.setInsertionPoint(product);
  SmallVector<Range> ranges = cast<linalg::LinalgOp>(product.getOperation())
                                  .createLoopRanges(rewriter, loc);
  Value empty = tensor::EmptyOp::create(
      rewriter, loc,
      ArrayRef<OpFoldResult>{ranges[*parallel].size, ranges[reduction].size},
      rewriter.getBF16Type());
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (BlockArgument arg : args) {
    OpOperand *input = product.getDpsInputOperand(arg.getArgNumber());
    inputs.push_back(input->get());
    maps.push_back(product.getMatchingIndexingMap(input).replaceDimsAndSymbols(
        replacements, {}, 2, 0));
  }
  maps.push_back(rewriter.getMultiDimIdentityMap(2));
  auto parallel2 =
      SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel);
  auto once = linalg::GenericOp::create(
      rewriter, loc, empty.getType(), inputs, empty, maps, parallel2,
      [&](OpBuilder &b, Location bodyLoc, ValueRange blockArgs) {
        IRMapping mapping;
        for (auto [arg, blockArg] : llvm::zip(args, blockArgs))
          mapping.map(arg, blockArg);
        for (Operation *op : ops)
          b.clone(*op, mapping);
        Value bf16 = arith::TruncFOp::create(b, bodyLoc, b.getBF16Type(),
                                             mapping.lookup(rounded));
        linalg::YieldOp::create(b, bodyLoc, bf16);
      });

  // The product again, reading the new tensor for the factor, and only
  // the inputs the rest of its body reads.
  SmallVector<BlockArgument> kept;
  SmallVector<Operation *> rest =
      opsNeededBy(body, body.getTerminator()->getOperands(), factor, kept);
  inputs.clear();
  maps.clear();
  SmallVector<Type> argTypes;
  for (BlockArgument arg : kept) {
    if (arg.getArgNumber() >= product.getNumDpsInputs())
      continue;
    OpOperand *input = product.getDpsInputOperand(arg.getArgNumber());
    inputs.push_back(input->get());
    maps.push_back(product.getMatchingIndexingMap(input));
  }
  unsigned factorInput = inputs.size();
  inputs.push_back(once.getResult(0));
  maps.push_back(AffineMap::get(product.getNumLoops(), 0,
                                {rewriter.getAffineDimExpr(*parallel),
                                 rewriter.getAffineDimExpr(reduction)},
                                rewriter.getContext()));
  OpOperand *init = product.getDpsInitOperand(0);
  maps.push_back(product.getMatchingIndexingMap(init));
  auto replacement = linalg::GenericOp::create(
      rewriter, loc, product.getResultTypes(), inputs, init->get(), maps,
      product.getIteratorTypesArray(),
      [&](OpBuilder &b, Location bodyLoc, ValueRange blockArgs) {
        IRMapping mapping;
        unsigned next = 0;
        for (BlockArgument arg : kept)
          if (arg.getArgNumber() < product.getNumDpsInputs())
            mapping.map(arg, blockArgs[next++]);
        mapping.map(body.getArguments().back(), blockArgs.back());
        mapping.map(factor, arith::ExtFOp::create(b, bodyLoc, b.getF32Type(),
                                                  blockArgs[factorInput]));
        for (Operation *op : rest)
          if (op->getResult(0) != factor)
            b.clone(*op, mapping);
        linalg::YieldOp::create(
            b, bodyLoc,
            llvm::map_to_vector(body.getTerminator()->getOperands(),
                                [&](Value v) { return mapping.lookup(v); }));
      });
  rewriter.replaceOp(product, replacement.getResults());
  return replacement;
}

/// Whether `factor` is rounded to bf16 from a value that reads more than
/// one tensor: only then does computing it once save reads.
bool readsSeveralTensors(linalg::GenericOp product, Value factor) {
  Value rounded = roundedValue(factor);
  if (!rounded)
    return false;
  SmallVector<BlockArgument> args;
  opsNeededBy(product.getRegion().front(), ValueRange{rounded}, {}, args);
  SetVector<Value> tensors;
  for (BlockArgument arg : args) {
    if (arg.getArgNumber() >= product.getNumDpsInputs())
      return false;
    Value input = product.getDpsInputOperand(arg.getArgNumber())->get();
    if (auto type = dyn_cast<RankedTensorType>(input.getType());
        type && type.getRank() != 0)
      tensors.insert(input);
  }
  return tensors.size() > 1;
}

struct MaterializeRoundedFactorsPass
    : stepc::impl::MaterializeRoundedFactorsBase<
          MaterializeRoundedFactorsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> products;
    getOperation().walk([&](linalg::GenericOp op) {
      if (factorsOf(op))
        products.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp product : products) {
      // One factor at a time: materializing one replaces the product.
      for (bool left : {true, false}) {
        auto [lhs, rhs] = *factorsOf(product);
        Value factor = left ? lhs : rhs;
        if (!readsSeveralTensors(product, factor))
          continue;
        FailureOr<linalg::GenericOp> replaced =
            materialize(rewriter, product, factor);
        if (succeeded(replaced))
          product = *replaced;
      }
    }
  }
};
} // namespace
