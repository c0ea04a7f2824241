//===- LowerReductions.cpp - reductions as loops carrying their sums ------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace stepc {
#define GEN_PASS_DEF_LOWERREDUCTIONS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

/// The first loop from which `map`'s point no longer moves: one past the
/// deepest loop it reads. None when a result is neither a loop index nor a
/// constant.
static std::optional<unsigned> invariantFrom(AffineMap map) {
  unsigned from = 0;
  for (AffineExpr result : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(result))
      from = std::max(from, dim.getPosition() + 1);
    else if (!isa<AffineConstantExpr>(result))
      return std::nullopt;
  }
  return from;
}

namespace {
/// Emits the loops of one reduction, outermost first.
class ReductionLowering {
public:
  ReductionLowering(linalg::GenericOp op, ArrayRef<unsigned> initFrom,
                    ArrayRef<unsigned> inputFrom)
      : op(op), initFrom(initFrom), inputFrom(inputFrom) {}

  void emit(OpBuilder &b) {
    ranges = cast<linalg::LinalgOp>(op.getOperation())
                 .createLoopRanges(b, op.getLoc());
    SmallVector<Value> values(op.getNumDpsInits());
    inputs.assign(op.getNumDpsInputs(), Value());
    emitLoop(b, 0, values);
  }

private:
  SmallVector<Value> indices(OpBuilder &b, AffineMap map) {
    SmallVector<Value> result;
    for (AffineExpr expr : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(expr))
        result.push_back(ivs[dim.getPosition()]);
      else
        result.push_back(arith::ConstantIndexOp::create(
            b, op.getLoc(), cast<AffineConstantExpr>(expr).getValue()));
    }
    return result;
  }

  Value load(OpBuilder &b, OpOperand &operand) {
    return memref::LoadOp::create(
        b, op.getLoc(), operand.get(),
        indices(b, op.getMatchingIndexingMap(&operand)));
  }

  void store(OpBuilder &b, Value value, OpOperand &init) {
    memref::StoreOp::create(b, op.getLoc(), value, init.get(),
                            indices(b, op.getMatchingIndexingMap(&init)));
  }

  /// `values[k]`: the value of init k in this loop, where it is carried;
  /// updated to the value after the loops.
  void emitLoop(OpBuilder &b, unsigned depth, SmallVector<Value> &values) {
    Location loc = op.getLoc();
    MutableArrayRef<OpOperand> inits = op.getDpsInitsMutable();
    if (depth == ranges.size()) {
      emitBody(b, values);
      return;
    }
    // An input that stays put in the loops from here on is loaded here
    // once: a row's scale in a column sum. In the loop, its load would need
    // LLVM to prove that the sum's stores never write it.
    for (OpOperand *input : op.getDpsInputOperands())
      if (inputFrom[input->getOperandNumber()] == depth)
        inputs[input->getOperandNumber()] = load(b, *input);
    for (unsigned k = 0; k < inits.size(); ++k)
      if (initFrom[k] == depth)
        values[k] = load(b, inits[k]);
    SmallVector<unsigned> carried;
    for (unsigned k = 0; k < inits.size(); ++k)
      if (initFrom[k] <= depth)
        carried.push_back(k);
    SmallVector<Value> iterArgs;
    for (unsigned k : carried)
      iterArgs.push_back(values[k]);
    Range range = ranges[depth];
    auto loop = scf::ForOp::create(
        b, loc, getValueOrCreateConstantIndexOp(b, loc, range.offset),
        getValueOrCreateConstantIndexOp(b, loc, range.size),
        getValueOrCreateConstantIndexOp(b, loc, range.stride), iterArgs,
        [&](OpBuilder &nested, Location, Value iv, ValueRange args) {
          ivs.push_back(iv);
          SmallVector<Value> inner = values;
          for (auto [k, arg] : llvm::zip_equal(carried, args))
            inner[k] = arg;
          emitLoop(nested, depth + 1, inner);
          SmallVector<Value> yields;
          for (unsigned k : carried)
            yields.push_back(inner[k]);
          scf::YieldOp::create(nested, loc, yields);
          ivs.pop_back();
        });
    for (auto [k, result] : llvm::zip_equal(carried, loop.getResults()))
      values[k] = result;
    for (unsigned k = 0; k < inits.size(); ++k)
      if (initFrom[k] == depth)
        store(b, values[k], inits[k]);
  }

  void emitBody(OpBuilder &b, SmallVector<Value> &values) {
    Block &body = op.getRegion().front();
    IRMapping mapping;
    for (OpOperand *input : op.getDpsInputOperands()) {
      Value hoisted = inputs[input->getOperandNumber()];
      mapping.map(op.getMatchingBlockArgument(input),
                  hoisted ? hoisted : load(b, *input));
    }
    MutableArrayRef<OpOperand> inits = op.getDpsInitsMutable();
    for (unsigned k = 0; k < inits.size(); ++k)
      mapping.map(op.getMatchingBlockArgument(&inits[k]),
                  initFrom[k] == ranges.size() ? load(b, inits[k]) : values[k]);
    for (Operation &inner : body.without_terminator())
      b.clone(inner, mapping);
    for (auto [k, yielded] :
         llvm::enumerate(body.getTerminator()->getOperands())) {
      Value value = mapping.lookupOrDefault(yielded);
      if (initFrom[k] == ranges.size())
        store(b, value, inits[k]);
      else
        values[k] = value;
    }
  }

  linalg::GenericOp op;
  ArrayRef<unsigned> initFrom;
  /// Per input: the loop before which it is loaded (the loop count: in the
  /// body), and its value once loaded.
  ArrayRef<unsigned> inputFrom;
  SmallVector<Value> inputs;
  SmallVector<Range> ranges;
  SmallVector<Value> ivs;
};

struct LowerReductionsPass
    : stepc::impl::LowerReductionsBase<LowerReductionsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() != 0 && op.hasPureBufferSemantics() &&
          !op.hasIndexSemantics())
        reductions.push_back(op);
    });
    for (linalg::GenericOp op : reductions) {
      SmallVector<unsigned> inputFrom, initFrom;
      bool supported = true;
      for (OpOperand &operand : op->getOpOperands()) {
        std::optional<unsigned> from =
            invariantFrom(op.getMatchingIndexingMap(&operand));
        supported &= from.has_value();
        if (!from)
          break;
        if (op.isDpsInit(&operand))
          initFrom.push_back(*from);
        else // Inputs the op also writes are read where they are written.
          inputFrom.push_back(
              llvm::is_contained(op.getDpsInits(), operand.get())
                  ? op.getNumLoops()
                  : *from);
      }
      if (!supported)
        continue;
      OpBuilder builder(op);
      ReductionLowering(op, initFrom, inputFrom).emit(builder);
      op.erase();
    }
  }
};
} // namespace
