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
// reads. Likewise the iterate X, which the Gram and P·X read rounded: the
// update that computes it rounds it too, and the loop carries both; and
// the Gram A, which A² reads rounded (docs/Design/GpuKernels.md, "Factors
// rounded once").
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/BodySlice.h"
#include "stepc/Transforms/Elementwise.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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

/// `product` again, with `factor` read as `extf` of the bf16 tensor
/// `rounded` (indexed by `map`), and only the inputs the rest of its body
/// reads. Returns the product that replaces `product`.
linalg::GenericOp readFactorFrom(RewriterBase &rewriter,
                                 linalg::GenericOp product, Value factor,
                                 Value rounded, AffineMap map) {
  Block &body = product.getRegion().front();
  SmallVector<BlockArgument> kept;
  SmallVector<Operation *> rest = stepc::opsNeededBy(
      body, body.getTerminator()->getOperands(), factor, &kept);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (BlockArgument arg : kept) {
    if (arg.getArgNumber() >= product.getNumDpsInputs())
      continue;
    OpOperand *input = product.getDpsInputOperand(arg.getArgNumber());
    inputs.push_back(input->get());
    maps.push_back(product.getMatchingIndexingMap(input));
  }
  unsigned factorInput = inputs.size();
  inputs.push_back(rounded);
  maps.push_back(map);
  OpOperand *init = product.getDpsInitOperand(0);
  maps.push_back(product.getMatchingIndexingMap(init));
  rewriter.setInsertionPoint(product);
  auto replacement = linalg::GenericOp::create(
      rewriter, product.getLoc(), product.getResultTypes(), inputs, init->get(),
      maps, product.getIteratorTypesArray(),
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
      stepc::opsNeededBy(body, ValueRange{rounded}, {}, &args);
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
        IRMapping mapping =
            stepc::cloneSlice(b, ops, args, blockArgs.take_front(args.size()));
        Value bf16 = arith::TruncFOp::create(b, bodyLoc, b.getBF16Type(),
                                             mapping.lookup(rounded));
        linalg::YieldOp::create(b, bodyLoc, bf16);
      });

  return readFactorFrom(rewriter, product, factor, once.getResult(0),
                        AffineMap::get(product.getNumLoops(), 0,
                                       {rewriter.getAffineDimExpr(*parallel),
                                        rewriter.getAffineDimExpr(reduction)},
                                       rewriter.getContext()));
}

/// Whether `factor` is rounded to bf16 from a value that reads more than
/// one tensor: only then does computing it once save reads.
bool readsSeveralTensors(linalg::GenericOp product, Value factor) {
  Value rounded = roundedValue(factor);
  if (!rounded)
    return false;
  SmallVector<BlockArgument> args;
  stepc::opsNeededBy(product.getRegion().front(), ValueRange{rounded}, {},
                     &args);
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

/// The input operand of `product` whose block argument `factor` rounds
/// (`extf(truncf(arg))`), when it is one.
OpOperand *roundedInput(linalg::GenericOp product, Value factor) {
  auto arg = dyn_cast_or_null<BlockArgument>(roundedValue(factor));
  if (!arg || arg.getOwner() != &product.getRegion().front() ||
      arg.getArgNumber() >= product.getNumDpsInputs())
    return nullptr;
  return product.getDpsInputOperand(arg.getArgNumber());
}

/// A product in `block` with a factor rounded from `value` itself: the
/// product and that factor, or nothing.
std::optional<std::pair<linalg::GenericOp, Value>>
productRounding(Block &block, Value value) {
  for (auto product : block.getOps<linalg::GenericOp>()) {
    auto factors = factorsOf(product);
    if (!factors)
      continue;
    for (Value factor : {factors->first, factors->second})
      if (OpOperand *input = roundedInput(product, factor);
          input && input->get() == value)
        return std::make_pair(product, factor);
  }
  return std::nullopt;
}

Value emptyBf16Like(RewriterBase &rewriter, Location loc, Value tensor) {
  return tensor::EmptyOp::create(rewriter, loc,
                                 tensor::getMixedSizes(rewriter, loc, tensor),
                                 rewriter.getBF16Type());
}

/// `bf16(tensor)`, element by element, in a pass of its own just before
/// `before`.
Value roundAll(RewriterBase &rewriter, Value tensor, Operation *before) {
  Location loc = before->getLoc();
  rewriter.setInsertionPoint(before);
  Value empty = emptyBf16Like(rewriter, loc, tensor);
  unsigned rank = cast<RankedTensorType>(tensor.getType()).getRank();
  SmallVector<AffineMap> maps(2, rewriter.getMultiDimIdentityMap(rank));
  return linalg::GenericOp::create(
             rewriter, loc, empty.getType(), tensor, empty, maps,
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
               linalg::YieldOp::create(
                   b, bodyLoc,
                   arith::TruncFOp::create(b, bodyLoc, b.getBF16Type(), args[0])
                       .getResult());
             })
      .getResult(0);
}

/// `op` with one more result, `bf16(op's result `result`)`, written into
/// `init`; returns that result.
Value alsoRounded(RewriterBase &rewriter, linalg::GenericOp op, unsigned result,
                  Value init) {
  SmallVector<Value> inits(op.getDpsInits());
  inits.push_back(init);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  maps.push_back(maps.back());
  SmallVector<Type> types(op.getResultTypes());
  types.push_back(init.getType());
  Block &body = op.getRegion().front();
  rewriter.setInsertionPoint(op);
  auto extended = linalg::GenericOp::create(
      rewriter, op.getLoc(), types, op.getDpsInputs(), inits, maps,
      op.getIteratorTypesArray(),
      [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
        IRMapping mapping;
        mapping.map(body.getArguments(), args.drop_back());
        for (Operation &inner : body.without_terminator())
          b.clone(inner, mapping);
        SmallVector<Value> yields = llvm::map_to_vector(
            body.getTerminator()->getOperands(),
            [&](Value v) { return mapping.lookupOrDefault(v); });
        yields.push_back(arith::TruncFOp::create(b, bodyLoc, b.getBF16Type(),
                                                 yields[result]));
        linalg::YieldOp::create(b, bodyLoc, yields);
      });
  rewriter.replaceOp(op, extended.getResults().drop_back());
  return extended.getResults().back();
}

Value roundedAt(RewriterBase &rewriter, Value value, Operation *before);

/// `ifOp` with one more result, `bf16` of its result `result`, rounded in
/// each branch where that branch's value is computed.
Value roundedIf(RewriterBase &rewriter, scf::IfOp ifOp, unsigned result) {
  SmallVector<Type> types(ifOp.getResultTypes());
  types.push_back(
      cast<RankedTensorType>(types[result]).clone(rewriter.getBF16Type()));
  rewriter.setInsertionPoint(ifOp);
  auto extended = scf::IfOp::create(rewriter, ifOp.getLoc(), types,
                                    ifOp.getCondition(), false, false);
  rewriter.inlineRegionBefore(ifOp.getThenRegion(), extended.getThenRegion(),
                              extended.getThenRegion().end());
  rewriter.inlineRegionBefore(ifOp.getElseRegion(), extended.getElseRegion(),
                              extended.getElseRegion().end());
  for (Region *branch :
       {&extended.getThenRegion(), &extended.getElseRegion()}) {
    auto yield = cast<scf::YieldOp>(branch->front().getTerminator());
    Value rounded = roundedAt(rewriter, yield.getOperand(result), yield);
    rewriter.modifyOpInPlace(
        yield, [&] { yield.getResultsMutable().append(rounded); });
  }
  rewriter.replaceOp(ifOp, extended.getResults().drop_back());
  return extended.getResults().back();
}

/// `bf16(value)` for a use at `before`, computed where `value` is: as one
/// more result of the generic (or transpose) that writes it pointwise, in
/// the branches of the `scf.if` that yields it, or else in a pass of its
/// own. The first two cost no pass over the tensor, and no grid barrier
/// after a transposed copy.
Value roundedAt(RewriterBase &rewriter, Value value, Operation *before) {
  auto result = dyn_cast<OpResult>(value);
  Operation *def = result ? result.getOwner() : nullptr;
  if (auto transpose = dyn_cast_or_null<linalg::TransposeOp>(def)) {
    rewriter.setInsertionPoint(transpose);
    FailureOr<linalg::GenericOp> generic =
        linalg::generalizeNamedOp(rewriter, transpose);
    if (succeeded(generic)) {
      // The transpose is gone: its one result is the generic's.
      def = *generic;
      result = generic->getOperation()->getResult(0);
    }
  }
  if (auto generic = dyn_cast_or_null<linalg::GenericOp>(def);
      generic && stepc::isElementwise(generic)) {
    // Sized like the result's init: the result is not defined yet there.
    rewriter.setInsertionPoint(generic);
    Value empty =
        emptyBf16Like(rewriter, generic.getLoc(),
                      generic.getDpsInits()[result.getResultNumber()]);
    return alsoRounded(rewriter, generic, result.getResultNumber(), empty);
  }
  if (auto ifOp = dyn_cast_or_null<scf::IfOp>(def); ifOp && ifOp.elseBlock())
    return roundedIf(rewriter, ifOp, result.getResultNumber());
  return roundAll(rewriter, value, before);
}

/// Newton–Schulz's iterate X: a loop's f32 iter_arg that products in the
/// loop read as rounded factors (the Gram on both sides, P·X on the
/// right), and that a pointwise generic in the loop yields (the update
/// a·X + P·X). The loop carries bf16(X) beside X: rounded once before the
/// loop, then by the update as a second result, written in place; the
/// products read it. Each product's blocks then load 2 bytes per element
/// of X instead of 4, for one bf16 store per element per iteration.
/// Returns the loop that replaces `loop`, or `loop`.
scf::ForOp roundIterateOnce(RewriterBase &rewriter, scf::ForOp loop,
                            unsigned position) {
  Value iterate = loop.getRegionIterArgs()[position];
  auto type = dyn_cast<RankedTensorType>(iterate.getType());
  auto next = dyn_cast<OpResult>(loop.getYieldedValues()[position]);
  auto update =
      next ? dyn_cast<linalg::GenericOp>(next.getOwner()) : linalg::GenericOp();
  if (!type || !type.getElementType().isF32() || !update ||
      update->getBlock() != loop.getBody() || !stepc::isElementwise(update) ||
      !productRounding(*loop.getBody(), iterate))
    return loop;

  Value first = roundedAt(rewriter, loop.getInitArgs()[position], loop);
  FailureOr<LoopLikeOpInterface> replaced = loop.replaceWithAdditionalYields(
      rewriter, first, /*replaceInitOperandUsesInLoop=*/false,
      [](OpBuilder &, Location, ArrayRef<BlockArgument> added) {
        return SmallVector<Value>(added.begin(), added.end());
      });
  if (failed(replaced))
    return loop;
  auto carried = cast<scf::ForOp>(replaced->getOperation());
  iterate = carried.getRegionIterArgs()[position];
  BlockArgument rounded = carried.getRegionIterArgs().back();
  Value roundedNext =
      alsoRounded(rewriter, update, next.getResultNumber(), rounded);
  carried.getYieldedValuesMutable()->back().set(roundedNext);
  while (auto found = productRounding(*carried.getBody(), iterate)) {
    auto [product, factor] = *found;
    AffineMap map =
        product.getMatchingIndexingMap(roundedInput(product, factor));
    readFactorFrom(rewriter, product, factor, rounded, map);
  }
  return carried;
}

/// Newton–Schulz's A = X·Xᵀ, which A² reads rounded on both sides (and
/// b·A + c·A² in f32): a product's result that other products in its block
/// read as rounded factors is rounded once, right after the product, where
/// the phased kernels compute the rounding in the product's stores; the
/// factors read that. Returns whether it changed anything.
bool roundProductOnce(RewriterBase &rewriter, linalg::GenericOp producer) {
  Value result = producer.getResult(0);
  Block &block = *producer->getBlock();
  if (!productRounding(block, result))
    return false;
  Value rounded = roundAll(rewriter, result, producer->getNextNode());
  while (auto found = productRounding(block, result)) {
    auto [product, factor] = *found;
    AffineMap map =
        product.getMatchingIndexingMap(roundedInput(product, factor));
    readFactorFrom(rewriter, product, factor, rounded, map);
  }
  return true;
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
    // Rounding a product's result replaces the products that read it:
    // walk again after each.
    bool changed = true;
    while (changed) {
      changed = false;
      getOperation().walk([&](linalg::GenericOp op) {
        if (!factorsOf(op) || !roundProductOnce(rewriter, op))
          return WalkResult::advance();
        changed = true;
        return WalkResult::interrupt();
      });
    }
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      for (unsigned position = 0, e = loop.getNumRegionIterArgs(); position < e;
           ++position)
        loop = roundIterateOnce(rewriter, loop, position);
  }
};
} // namespace
