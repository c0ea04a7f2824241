//===- PhasedKernels.cpp - one grid-wide kernel per group function -*- C++
//-*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Groups that are not element-wise (reductions, matmuls, Newton–Schulz,
// QR) become one persistent kernel: the tensors of the group are stepped
// one after the other, and each linalg op of a tensor's step is spread over
// every thread of the grid, with a software grid barrier where the next op
// may read what another thread wrote. The body is the bufferized group
// function itself (memrefs kept: upstream lowers their loads, stores and
// views), so every op the CPU path runs, the kernel runs the same way.
// docs/Design/GpuKernels.md says why (and what later slices make faster).
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/FuncToGpuKernels.h"
#include "stepc/Conversion/StepToFunc.h"
#include "stepc/Transforms/BodySlice.h"
#include "stepc/Transforms/Contraction.h"
#include "stepc/Transforms/Passes.h"

#include "GlobalMemoryBuilder.h"
#include "TensorCoreMatmul.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

#include "llvm/Support/raw_ostream.h"
#include <map>

namespace stepc {
#define GEN_PASS_DEF_FORMPHASEDGPUKERNELS
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {

/// The phase a grid barrier call ends, as text: set on each call as it is
/// emitted, turned into timeline sites or dropped by addPhaseTimeline.
constexpr const char *kPhaseAttrName = "stepc.phase";
constexpr const char *kNoGridWork = "no grid-wide work";

//===----------------------------------------------------------------------===//
// Scratch sizes
//===----------------------------------------------------------------------===//

/// An upper bound of a size, over the dims of the tensor's param. The
/// kernel evaluates it to place its scratch buffers and the runtime (from
/// its postfix form in the manifest) to allocate them: one source for both.
struct SizeExpr {
  enum Kind {
    Const,
    Rows,
    Cols,
    Add,
    Mul,
    Max,
    Align,
    IfGreater,     ///< operands a, b, then, otherwise: a > b ? then : ...
    IfGreaterEqual ///< the same with a >= b
  } kind = Const;
  int64_t value = 0;
  std::vector<SizeExpr> operands;

  static SizeExpr constant(int64_t v) { return {Const, v, {}}; }
  static SizeExpr binary(Kind kind, SizeExpr lhs, SizeExpr rhs) {
    return {kind, 0, {std::move(lhs), std::move(rhs)}};
  }
  /// `value` rounded up to kScratchAlignment bytes.
  static SizeExpr aligned(SizeExpr value) {
    return {Align, 0, {std::move(value)}};
  }

  void print(llvm::raw_ostream &os) const {
    static const char *names[] = {"",    "rows",  "cols", "add", "mul",
                                  "max", "align", "ifgt", "ifge"};
    for (const SizeExpr &operand : operands) {
      operand.print(os);
      os << ' ';
    }
    if (kind == Const)
      os << value;
    else
      os << names[kind];
  }

  Value emit(OpBuilder &b, Location loc, Value rows, Value cols) const {
    switch (kind) {
    case Const:
      return arith::ConstantIndexOp::create(b, loc, value);
    case Rows:
      return rows;
    case Cols:
      return cols;
    case Align: {
      Value v = operands[0].emit(b, loc, rows, cols);
      Value mask =
          arith::ConstantIndexOp::create(b, loc, stepc::kScratchAlignment - 1);
      Value up = arith::AddIOp::create(b, loc, v, mask);
      Value notMask = arith::ConstantIndexOp::create(
          b, loc, ~(stepc::kScratchAlignment - 1));
      return arith::AndIOp::create(b, loc, up, notMask);
    }
    case IfGreater:
    case IfGreaterEqual: {
      Value a = operands[0].emit(b, loc, rows, cols);
      Value bound = operands[1].emit(b, loc, rows, cols);
      Value holds =
          arith::CmpIOp::create(b, loc,
                                kind == IfGreater ? arith::CmpIPredicate::ugt
                                                  : arith::CmpIPredicate::uge,
                                a, bound);
      return arith::SelectOp::create(b, loc, holds,
                                     operands[2].emit(b, loc, rows, cols),
                                     operands[3].emit(b, loc, rows, cols));
    }
    default:
      break;
    }
    Value lhs = operands[0].emit(b, loc, rows, cols);
    Value rhs = operands[1].emit(b, loc, rows, cols);
    if (kind == Add)
      return arith::AddIOp::create(b, loc, lhs, rhs);
    if (kind == Mul)
      return arith::MulIOp::create(b, loc, lhs, rhs);
    return arith::MaxUIOp::create(b, loc, lhs, rhs);
  }
};

/// Bounds the sizes of a group function's buffers by its param's dims.
class SizeBounds {
public:
  explicit SizeBounds(func::FuncOp func) : func(func) {}

  FailureOr<SizeExpr> ofIndex(Value value) {
    if (!value)
      return failure();
    if (std::optional<int64_t> c = getConstantIntValue(value))
      return SizeExpr::constant(*c);
    // A loop's index is below its upper bound.
    if (auto forOp = scf::getForInductionVarOwner(value)) {
      inexact = true;
      return ofIndex(forOp.getUpperBound());
    }
    Operation *def = value.getDefiningOp();
    if (auto dim = dyn_cast_or_null<memref::DimOp>(def)) {
      std::optional<int64_t> index = dim.getConstantIndex();
      if (!index)
        return failure();
      return ofDim(dim.getSource(), *index);
    }
    if (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(def))
      return ofIndex(def->getOperand(0));
    if (isa_and_nonnull<arith::AddIOp, arith::MulIOp, arith::MaxUIOp,
                        arith::MaxSIOp>(def)) {
      FailureOr<SizeExpr> lhs = ofIndex(def->getOperand(0));
      FailureOr<SizeExpr> rhs = ofIndex(def->getOperand(1));
      if (failed(lhs) || failed(rhs))
        return failure();
      SizeExpr::Kind kind = isa<arith::AddIOp>(def)   ? SizeExpr::Add
                            : isa<arith::MulIOp>(def) ? SizeExpr::Mul
                                                      : SizeExpr::Max;
      return SizeExpr::binary(kind, *lhs, *rhs);
    }
    return failure();
  }

  FailureOr<SizeExpr> ofDim(Value memref, int64_t dim) {
    auto type = cast<MemRefType>(memref.getType());
    if (!type.isDynamicDim(dim))
      return SizeExpr::constant(type.getDimSize(dim));
    if (auto arg = dyn_cast<BlockArgument>(memref)) {
      if (arg.getOwner() != &func.getBody().front())
        return failure();
      auto dims = func.getArgAttrOfType<DenseI64ArrayAttr>(
          arg.getArgNumber(), stepc::kParamDimsAttrName);
      if (!dims || dims[dim] < 0)
        return failure();
      return SizeExpr{dims[dim] == 0 ? SizeExpr::Rows : SizeExpr::Cols, 0, {}};
    }
    Operation *def = memref.getDefiningOp();
    if (auto alloc = dyn_cast<memref::AllocOp>(def))
      return ofIndex(dyn_cast<Value>(alloc.getMixedSizes()[dim]));
    if (auto cast = dyn_cast<memref::CastOp>(def))
      return ofDim(cast.getSource(), dim);
    if (auto ifOp = dyn_cast<scf::IfOp>(def)) {
      unsigned r = cast<OpResult>(memref).getResultNumber();
      FailureOr<SizeExpr> lhs = ofDim(ifOp.thenYield().getOperand(r), dim);
      FailureOr<SizeExpr> rhs = ofDim(ifOp.elseYield().getOperand(r), dim);
      if (failed(lhs) || failed(rhs))
        return failure();
      // The branch's own dim when the condition compares dims (a matrix
      // transposed when it is tall); else the larger of the two.
      if (std::optional<SizeExpr> branch =
              selectOn(ifOp.getCondition(), *lhs, *rhs))
        return *branch;
      inexact = true;
      return SizeExpr::binary(SizeExpr::Max, *lhs, *rhs);
    }
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(def)) {
      SizeExpr product = SizeExpr::constant(1);
      for (int64_t source : collapse.getReassociationIndices()[dim]) {
        FailureOr<SizeExpr> factor = ofDim(collapse.getSrc(), source);
        if (failed(factor))
          return failure();
        product = SizeExpr::binary(SizeExpr::Mul, product, *factor);
      }
      return product;
    }
    if (auto expand = dyn_cast<memref::ExpandShapeOp>(def))
      return ofIndex(dyn_cast<Value>(expand.getMixedOutputShape()[dim]));
    if (auto subview = dyn_cast<memref::SubViewOp>(def))
      if (subview.getSourceType().getRank() == type.getRank())
        return ofIndex(dyn_cast<Value>(subview.getMixedSizes()[dim]));
    return failure();
  }

  /// `condition ? then : otherwise`, when `condition` compares two sizes
  /// known exactly (not bounded) by the param's dims.
  std::optional<SizeExpr> selectOn(Value condition, const SizeExpr &then,
                                   const SizeExpr &otherwise) {
    auto compare = condition.getDefiningOp<arith::CmpIOp>();
    if (!compare)
      return std::nullopt;
    Value a = compare.getLhs(), bound = compare.getRhs();
    SizeExpr::Kind kind;
    switch (compare.getPredicate()) {
    case arith::CmpIPredicate::ugt:
    case arith::CmpIPredicate::sgt:
      kind = SizeExpr::IfGreater;
      break;
    case arith::CmpIPredicate::uge:
    case arith::CmpIPredicate::sge:
      kind = SizeExpr::IfGreaterEqual;
      break;
    case arith::CmpIPredicate::ult:
    case arith::CmpIPredicate::slt:
      std::swap(a, bound);
      kind = SizeExpr::IfGreater;
      break;
    case arith::CmpIPredicate::ule:
    case arith::CmpIPredicate::sle:
      std::swap(a, bound);
      kind = SizeExpr::IfGreaterEqual;
      break;
    default:
      return std::nullopt;
    }
    bool wasInexact = inexact;
    inexact = false;
    FailureOr<SizeExpr> lhs = ofIndex(a);
    FailureOr<SizeExpr> rhs = ofIndex(bound);
    bool exact = !inexact && succeeded(lhs) && succeeded(rhs);
    inexact = wasInexact;
    if (!exact)
      return std::nullopt;
    return SizeExpr{kind, 0, {*lhs, *rhs, then, otherwise}};
  }

  /// Bytes of `alloc`, rounded up to the scratch alignment.
  FailureOr<SizeExpr> ofAlloc(memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    Type element = type.getElementType();
    unsigned bits = element.isIndex() ? 64 : element.getIntOrFloatBitWidth();
    SizeExpr bytes = SizeExpr::constant(std::max(1u, bits / 8));
    for (int64_t d = 0; d < type.getRank(); ++d) {
      FailureOr<SizeExpr> extent = ofDim(alloc.getResult(), d);
      if (failed(extent))
        return failure();
      bytes = SizeExpr::binary(SizeExpr::Mul, bytes, *extent);
    }
    return SizeExpr::aligned(bytes);
  }

private:
  func::FuncOp func;
  /// Whether a size computed since this was last cleared is a bound
  /// rather than the size itself.
  bool inexact = false;
};

/// `lhs + rhs` and `lhs * rhs`, folding constants so that a work program
/// stays short.
SizeExpr plus(SizeExpr lhs, SizeExpr rhs) {
  if (lhs.kind == SizeExpr::Const && rhs.kind == SizeExpr::Const)
    return SizeExpr::constant(lhs.value + rhs.value);
  if (lhs.kind == SizeExpr::Const && lhs.value == 0)
    return rhs;
  if (rhs.kind == SizeExpr::Const && rhs.value == 0)
    return lhs;
  return SizeExpr::binary(SizeExpr::Add, std::move(lhs), std::move(rhs));
}
SizeExpr times(SizeExpr lhs, SizeExpr rhs) {
  if (lhs.kind == SizeExpr::Const && rhs.kind == SizeExpr::Const)
    return SizeExpr::constant(lhs.value * rhs.value);
  if (lhs.kind == SizeExpr::Const && lhs.value == 1)
    return rhs;
  if (rhs.kind == SizeExpr::Const && rhs.value == 1)
    return lhs;
  return SizeExpr::binary(SizeExpr::Mul, std::move(lhs), std::move(rhs));
}

/// What stepping one tensor through `block` costs, over the param's dims,
/// for dealing tensors to sub-grids (docs/Design/SubGrids.md, "Balancing
/// the sub-grids"): the iterations of its linalg ops and copies, a loop's
/// body times its trip count (a bound where it is not constant), an
/// `scf.if` on sizes its branch's, any other `scf.if` the larger branch's.
/// Failure where some op's sizes cannot be bounded.
FailureOr<SizeExpr> workOf(Block &block, SizeBounds &bounds) {
  SizeExpr total = SizeExpr::constant(0);
  for (Operation &op : block) {
    SizeExpr work = SizeExpr::constant(0);
    if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      // Each loop's extent from an operand indexed by it.
      SmallVector<std::optional<SizeExpr>> extents(generic.getNumLoops());
      for (OpOperand &operand : generic->getOpOperands()) {
        if (!isa<MemRefType>(operand.get().getType()))
          continue;
        AffineMap map = generic.getMatchingIndexingMap(&operand);
        for (auto [r, result] : llvm::enumerate(map.getResults())) {
          auto dim = dyn_cast<AffineDimExpr>(result);
          if (!dim || extents[dim.getPosition()])
            continue;
          FailureOr<SizeExpr> extent = bounds.ofDim(operand.get(), r);
          if (succeeded(extent))
            extents[dim.getPosition()] = *extent;
        }
      }
      SizeExpr iterations = SizeExpr::constant(1);
      for (std::optional<SizeExpr> &extent : extents) {
        if (!extent)
          return failure();
        iterations = times(iterations, *extent);
      }
      work = iterations;
    } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      SizeExpr elements = SizeExpr::constant(1);
      auto type = cast<MemRefType>(copy.getTarget().getType());
      for (int64_t d = 0; d < type.getRank(); ++d) {
        FailureOr<SizeExpr> extent = bounds.ofDim(copy.getTarget(), d);
        if (failed(extent))
          return failure();
        elements = times(elements, *extent);
      }
      work = elements;
    } else if (auto forOp = dyn_cast<scf::ForOp>(op)) {
      FailureOr<SizeExpr> body = workOf(*forOp.getBody(), bounds);
      if (failed(body))
        return failure();
      FailureOr<SizeExpr> trips = failure();
      if (std::optional<APInt> count = forOp.getStaticTripCount())
        trips = SizeExpr::constant(count->getSExtValue());
      else if (isConstantIntValue(forOp.getLowerBound(), 0) &&
               isConstantIntValue(forOp.getStep(), 1))
        trips = bounds.ofIndex(forOp.getUpperBound());
      if (failed(trips))
        return failure();
      work = times(*trips, *body);
    } else if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      FailureOr<SizeExpr> then = workOf(*ifOp.thenBlock(), bounds);
      FailureOr<SizeExpr> otherwise =
          ifOp.elseBlock() ? workOf(*ifOp.elseBlock(), bounds)
                           : FailureOr<SizeExpr>(SizeExpr::constant(0));
      if (failed(then) || failed(otherwise))
        return failure();
      std::optional<SizeExpr> branch =
          bounds.selectOn(ifOp.getCondition(), *then, *otherwise);
      if (branch)
        work = *branch;
      else if (then->kind == SizeExpr::Const &&
               otherwise->kind == SizeExpr::Const)
        work = SizeExpr::constant(std::max(then->value, otherwise->value));
      else
        work = SizeExpr::binary(SizeExpr::Max, *then, *otherwise);
    }
    total = plus(total, work);
  }
  return total;
}

//===----------------------------------------------------------------------===//
// What a function needs
//===----------------------------------------------------------------------===//

/// How an op of the group function runs in the kernel.
enum class Work {
  Uniform,      ///< every thread computes the same values (hypers, norms)
  SingleThread, ///< writes memory without a loop to spread: thread 0 runs it
  Distributed   ///< a linalg op or copy: spread over the grid's threads
};

Work classify(Operation *op) {
  if (isa<linalg::GenericOp, memref::CopyOp>(op))
    return Work::Distributed;
  Work work = Work::Uniform;
  op->walk([&](Operation *nested) {
    if (isa<linalg::GenericOp, memref::CopyOp>(nested))
      work = Work::Distributed;
    else if (work == Work::Uniform && isa<memref::StoreOp>(nested))
      work = Work::SingleThread;
  });
  return work;
}

/// The op that combines a reduction's accumulator with a new value, when
/// the body yields `combiner(acc, value)` and uses acc nowhere else: such a
/// reduction can be split into per-thread partials.
Operation *splittableCombiner(linalg::GenericOp generic, unsigned output) {
  Block &body = generic.getRegion().front();
  BlockArgument acc = body.getArgument(generic.getNumDpsInputs() + output);
  Value yielded = body.getTerminator()->getOperand(output);
  Operation *combiner = yielded.getDefiningOp();
  if (!combiner || !acc.hasOneUse() ||
      acc.getUses().begin()->getOwner() != combiner)
    return nullptr;
  if (!isa<arith::AddFOp, arith::MaximumFOp, arith::MinimumFOp,
           arith::MaxNumFOp, arith::MinNumFOp>(combiner) ||
      !yielded.getType().isF32())
    return nullptr;
  return combiner;
}

/// Whether every output of `generic` has a splittable combiner.
bool splittable(linalg::GenericOp generic) {
  for (unsigned r = 0; r < generic.getNumDpsInits(); ++r)
    if (!splittableCombiner(generic, r))
      return false;
  return true;
}

/// The value `combiner` leaves unchanged.
TypedAttr identityOf(Operation *combiner, Builder &b) {
  float value = isa<arith::AddFOp>(combiner) ? 0.0f
                : isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner)
                    ? -std::numeric_limits<float>::infinity()
                    : std::numeric_limits<float>::infinity();
  return b.getF32FloatAttr(value);
}

/// Whether the lanes of a warp, stepping together through the reduction
/// loops of one point, read neighbouring elements: some input's fastest
/// dim is a reduction loop (a row sum) and none is the innermost parallel
/// loop (a matmul's right factor), whose neighbouring points one thread
/// each read together already.
bool lanesCoalesce(linalg::GenericOp generic) {
  SmallVector<utils::IteratorType> iterators = generic.getIteratorTypesArray();
  std::optional<unsigned> innermostParallel;
  for (auto [d, type] : llvm::enumerate(iterators))
    if (type == utils::IteratorType::parallel)
      innermostParallel = d;
  bool alongReduction = false;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    AffineMap map = generic.getMatchingIndexingMap(input);
    if (map.getNumResults() == 0)
      continue;
    auto fastest = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!fastest)
      continue;
    if (fastest.getPosition() == innermostParallel)
      return false;
    alongReduction |=
        iterators[fastest.getPosition()] == utils::IteratorType::reduction;
  }
  return alongReduction;
}

/// Whether `generic`'s reductions are split into per-thread partials in
/// the slot's scratch: a whole-space reduction, or one with parallel loops
/// whose lanes would not read neighbours as a warp (a column sum), which
/// runs in runs per point (chunksPerPoint).
bool usesPartials(linalg::GenericOp generic) {
  return generic.getNumReductionLoops() != 0 && splittable(generic) &&
         (generic.getNumParallelLoops() == 0 || !lanesCoalesce(generic));
}

/// A group function checked for what the kernel can run, with its scratch
/// plan.
struct PhasedGroup {
  func::FuncOp func;
  SmallVector<unsigned> bufferArgs, scalarArgs;
  /// Each alloc's bytes, in walk order.
  SmallVector<std::pair<memref::AllocOp, SizeExpr>> allocs;
  /// f32 partials per thread the split reductions need.
  int64_t partials = 0;
  /// What stepping one tensor costs (workOf), or the param's elements
  /// where that cannot be told.
  SizeExpr work;
  /// Loop iterates with a second buffer (pairIterates): the value a loop
  /// reads, and the buffer of its shape the loop alternates with it.
  DenseMap<Value, Value> partners;
  /// Whether the function can step a batch of same-shape tensors
  /// batch-major, and the values that differ between the batch's members
  /// (docs/Design/Batching.md): the buffers and what is read from them.
  bool batches = false;
  DenseSet<Value> perMember;
};

/// The values of `func` that differ between tensors of one shape: its
/// buffer arguments, its allocs, and what follows from them, except their
/// dims (analyzeBatching).
DenseSet<Value> perMemberValues(func::FuncOp func) {
  DenseSet<Value> perMember;
  for (BlockArgument arg : func.getArguments())
    if (isa<MemRefType>(arg.getType()))
      perMember.insert(arg);
  // Loops carry values around: repeat until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    auto mark = [&](Value value) { changed |= perMember.insert(value).second; };
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<linalg::GenericOp>(op))
        return WalkResult::skip(); // no results once bufferized
      if (isa<memref::AllocOp>(op)) {
        mark(op->getResult(0));
        return WalkResult::advance();
      }
      if (isa<memref::DimOp>(op))
        return WalkResult::advance(); // a batch's members share their dims
      if (auto forOp = dyn_cast<scf::ForOp>(op)) {
        auto yield = cast<scf::YieldOp>(forOp.getBody()->getTerminator());
        for (auto [init, iterArg, yielded, result] :
             llvm::zip(forOp.getInitArgs(), forOp.getRegionIterArgs(),
                       yield.getOperands(), forOp.getResults()))
          if (perMember.contains(init) || perMember.contains(yielded)) {
            mark(iterArg);
            mark(result);
          }
        return WalkResult::advance();
      }
      if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
        for (auto [k, result] : llvm::enumerate(ifOp.getResults()))
          for (scf::YieldOp yield : {ifOp.thenYield(), ifOp.elseYield()})
            if (yield && perMember.contains(yield.getOperand(k)))
              mark(result);
        return WalkResult::advance();
      }
      bool reads = llvm::any_of(op->getOperands(), [&](Value operand) {
        return perMember.contains(operand);
      });
      if (!reads && op->getNumRegions() != 0) {
        llvm::SetVector<Value> above;
        getUsedValuesDefinedAbove(op->getRegions(), above);
        reads =
            llvm::any_of(above, [&](Value v) { return perMember.contains(v); });
      }
      if (reads)
        for (Value result : op->getResults())
          mark(result);
      return WalkResult::advance();
    });
  }
  return perMember;
}

/// Whether the kernel can compute `value`, which `branch` yields, again
/// after the branch, for any member: it comes from before the branch, is
/// an alloc (placed per member), or follows from such values by ops
/// without grid-wide work or stores (a norm read back from a buffer).
bool recomputableAfter(Value value, Operation *branch) {
  Operation *def = value.getDefiningOp();
  if (!branch->isAncestor(value.getParentBlock()->getParentOp()))
    return true;
  if (!def)
    return false;
  if (isa<memref::AllocOp>(def))
    return true;
  if (classify(def) != Work::Uniform)
    return false;
  llvm::SetVector<Value> used(def->getOperands().begin(),
                              def->getOperands().end());
  getUsedValuesDefinedAbove(def->getRegions(), used);
  return llvm::all_of(used,
                      [&](Value v) { return recomputableAfter(v, branch); });
}

/// Whether `group`'s function can run batch-major (docs/Design/
/// Batching.md): every loop and branch with grid-wide work has uniform
/// bounds or condition and carries no per-member value, and a branch's
/// per-member results can be computed again after it, per member
/// (recomputableAfter). Records the per-member values.
void analyzeBatching(PhasedGroup &group) {
  group.perMember = perMemberValues(group.func);
  auto perMember = [&](Value v) { return group.perMember.contains(v); };
  WalkResult walk = group.func.walk([&](Operation *op) {
    if (classify(op) != Work::Distributed)
      return WalkResult::advance();
    if (auto forOp = dyn_cast<scf::ForOp>(op)) {
      if (perMember(forOp.getLowerBound()) ||
          perMember(forOp.getUpperBound()) || perMember(forOp.getStep()) ||
          llvm::any_of(forOp.getRegionIterArgs(), perMember))
        return WalkResult::interrupt();
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      if (perMember(ifOp.getCondition()))
        return WalkResult::interrupt();
      for (auto [k, result] : llvm::enumerate(ifOp.getResults())) {
        if (!perMember(result))
          continue;
        for (scf::YieldOp yield : {ifOp.thenYield(), ifOp.elseYield()})
          if (!recomputableAfter(yield.getOperand(k), ifOp))
            return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  group.batches = !walk.wasInterrupted();
}

/// A buffer like `value`'s, next to it: a clone of its alloc, or, for the
/// result of an scf.if whose branches yield allocs, a new result that
/// yields a clone of each. Null when `value` is neither. The new scf.if
/// replaces the old one; `value` becomes its result.
Value partnerOf(Value &value) {
  OpBuilder b(value.getContext());
  if (auto alloc = value.getDefiningOp<memref::AllocOp>()) {
    b.setInsertionPointAfter(alloc);
    return b.clone(*alloc)->getResult(0);
  }
  auto ifOp = value.getDefiningOp<scf::IfOp>();
  if (!ifOp || !ifOp.elseBlock())
    return {};
  unsigned result = cast<OpResult>(value).getResultNumber();
  auto yields = {ifOp.thenYield(), ifOp.elseYield()};
  for (scf::YieldOp yield : yields)
    if (!yield.getOperand(result).getDefiningOp<memref::AllocOp>())
      return {};
  SmallVector<Type> types(ifOp.getResultTypes());
  types.push_back(value.getType());
  b.setInsertionPoint(ifOp);
  auto paired = scf::IfOp::create(b, ifOp.getLoc(), types, ifOp.getCondition(),
                                  /*withElseRegion=*/true);
  paired.getThenRegion().takeBody(ifOp.getThenRegion());
  paired.getElseRegion().takeBody(ifOp.getElseRegion());
  for (scf::YieldOp yield : {paired.thenYield(), paired.elseYield()}) {
    b.setInsertionPoint(yield);
    Operation *clone =
        b.clone(*yield.getOperand(result).getDefiningOp<memref::AllocOp>());
    yield->insertOperands(yield->getNumOperands(), clone->getResult(0));
  }
  ifOp.replaceAllUsesWith(paired.getResults().drop_back());
  ifOp.erase();
  value = paired.getResult(result);
  return paired.getResults().back();
}

/// Gives a second buffer to each loop iterate that a loop's last write
/// updates in place, pointwise, after a product read it: Newton–Schulz's
/// bf16(X), which P·X reads and the update a·X + P·X rewrites. With two,
/// the kernel makes the update P·X's epilogue (epilogueOf): it writes the
/// buffer P·X does not read, and the loop swaps them (emitFor).
DenseMap<Value, Value> pairIterates(func::FuncOp func) {
  DenseMap<Value, Value> partners;
  SmallVector<std::pair<scf::ForOp, linalg::GenericOp>> updates;
  func.walk([&](scf::ForOp loop) {
    Operation *last = loop.getBody()->getTerminator()->getPrevNode();
    if (auto update = dyn_cast_or_null<linalg::GenericOp>(last))
      updates.push_back({loop, update});
  });
  for (auto [forOp, last] : updates) {
    scf::ForOp loop = forOp;
    linalg::GenericOp update = last;
    if (update.getNumReductionLoops() != 0 || update.getNumLoops() != 2 ||
        !llvm::all_of(update.getIndexingMapsArray(),
                      [](AffineMap map) { return map.isIdentity(); }))
      continue;
    for (Value init : update.getDpsInits()) {
      auto type = dyn_cast<MemRefType>(init.getType());
      if (!type || !type.getElementType().isBF16() ||
          loop->isAncestor(init.getParentBlock()->getParentOp()) ||
          partners.count(init))
        continue;
      // Read by a product earlier in the body whose output the update
      // reads.
      bool readByProduct = llvm::any_of(
          loop.getBody()->without_terminator(), [&](Operation &op) {
            auto product = dyn_cast<linalg::GenericOp>(op);
            return product && product != update &&
                   product.getNumReductionLoops() == 1 &&
                   product.getNumDpsInits() == 1 &&
                   llvm::is_contained(product.getDpsInputs(), init) &&
                   llvm::is_contained(update.getDpsInputs(),
                                      product.getDpsInits()[0]);
          });
      if (!readByProduct)
        continue;
      Value iterate = init;
      if (Value partner = partnerOf(iterate))
        partners[iterate] = partner;
    }
  }
  return partners;
}

FailureOr<PhasedGroup> analyzePhased(func::FuncOp func,
                                     DiagnosticSeverity severity) {
  auto report = [&](Operation *at) {
    return severity == DiagnosticSeverity::Warning ? at->emitWarning()
                                                   : at->emitError();
  };
  PhasedGroup group;
  group.func = func;
  for (BlockArgument arg : func.getArguments()) {
    if (isa<MemRefType>(arg.getType()))
      group.bufferArgs.push_back(arg.getArgNumber());
    else if (arg.getType().isIntOrIndexOrFloat())
      group.scalarArgs.push_back(arg.getArgNumber());
    else
      return report(func) << "argument " << arg.getArgNumber() << " has type "
                          << arg.getType() << ", not a buffer or a scalar";
  }
  if (group.bufferArgs.empty())
    return report(func) << "has no buffer argument";
  int64_t paramRank =
      cast<MemRefType>(func.getArgument(group.bufferArgs[0]).getType())
          .getRank();
  if (paramRank > 2)
    return report(func) << "param of rank " << paramRank
                        << " (the kernels take vectors and matrices)";
  SizeBounds bounds(func);
  WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
    if (op->getParentOfType<linalg::GenericOp>())
      return WalkResult::advance();
    Dialect *dialect = op->getDialect();
    StringRef ns = dialect ? dialect->getNamespace() : "";
    bool known =
        ns == "arith" || ns == "math" ||
        isa<func::FuncOp, func::ReturnOp, scf::ForOp, scf::IfOp, scf::YieldOp,
            linalg::GenericOp, memref::AllocOp, memref::DimOp, memref::LoadOp,
            memref::StoreOp, memref::CopyOp, memref::GetGlobalOp,
            memref::ExpandShapeOp, memref::CollapseShapeOp, memref::SubViewOp,
            memref::CastOp>(op);
    if (!known) {
      report(op) << "the GPU kernel of " << func.getSymName() << " cannot run "
                 << op->getName();
      return WalkResult::interrupt();
    }
    if (classify(op) == Work::SingleThread && op->getNumResults() != 0) {
      report(op) << "the GPU kernel of " << func.getSymName()
                 << " cannot run a loop that both stores and returns values";
      return WalkResult::interrupt();
    }
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      // Each alloc has its own place in the scratch, reused by every
      // iteration of a loop around it: a buffer must not outlive its loop
      // iteration.
      for (Operation *user : alloc->getUsers())
        if (isa<scf::YieldOp>(user) && isa<scf::ForOp>(user->getParentOp())) {
          report(op) << "a buffer carried from one loop iteration to the "
                        "next has no place in the GPU kernel's scratch";
          return WalkResult::interrupt();
        }
      FailureOr<SizeExpr> bytes = bounds.ofAlloc(alloc);
      if (failed(bytes)) {
        report(op) << "cannot bound the size of this buffer by the param's "
                      "dims, which the GPU kernel's scratch needs";
        return WalkResult::interrupt();
      }
      group.allocs.push_back({alloc, *bytes});
    }
    if (auto generic = dyn_cast<linalg::GenericOp>(op);
        generic && usesPartials(generic))
      group.partials =
          std::max<int64_t>(group.partials, generic.getNumDpsInits());
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  FailureOr<SizeExpr> work = workOf(func.getBody().front(), bounds);
  group.work =
      succeeded(work)
          ? *work
          : SizeExpr::binary(SizeExpr::Mul, SizeExpr{SizeExpr::Rows, 0, {}},
                             SizeExpr{SizeExpr::Cols, 0, {}});
  return group;
}

/// One group function's place in a kernel: the functions of its sum
/// phases, in phase order (stepc-convert-step-to-func), then its main
/// function. A kernel has one slot per group function it steps: one for a
/// group without global sums, one per (group, dtype) of an optimizer whose
/// groups sum (they share the totals; docs/Design/GroupWide.md).
struct PhasedKernel {
  PhasedGroup main;
  SmallVector<PhasedGroup, 1> sumPhases;
  /// The group's own arguments (buffers, hypers, inputs, count) come first
  /// in every one of its functions; totals and contributions follow.
  unsigned numGroupArgs = 0;
  /// Totals per sum phase; all of them, in phase order, end the main
  /// function's arguments.
  SmallVector<unsigned> totalsPerPhase;
  unsigned numTotals = 0;
  /// The key of each total, in argument order.
  SmallVector<StringRef> keys;
  /// Whether the slot steps same-shape tensors in batches (every stage
  /// batches; docs/Design/Batching.md).
  bool batches = false;
};

/// A group's main function with its sum-phase functions (any order), each
/// checked, or failure with a diagnostic.
FailureOr<PhasedKernel> analyzeKernel(func::FuncOp main,
                                      ArrayRef<func::FuncOp> sumPhases,
                                      DiagnosticSeverity severity,
                                      bool pairLoopIterates,
                                      bool batchSameShapes) {
  PhasedKernel kernel;
  DenseMap<Value, Value> partners;
  if (pairLoopIterates)
    partners = pairIterates(main);
  FailureOr<PhasedGroup> group = analyzePhased(main, severity);
  if (failed(group))
    return failure();
  kernel.main = std::move(*group);
  kernel.main.partners = std::move(partners);
  auto phases = main->getAttrOfType<IntegerAttr>(stepc::kSumPhasesAttrName);
  auto numTotals = main->getAttrOfType<IntegerAttr>(stepc::kNumTotalsAttrName);
  int64_t numPhases = phases ? phases.getInt() : 0;
  kernel.numTotals = numTotals ? numTotals.getInt() : 0;
  kernel.numGroupArgs = main.getNumArguments() - kernel.numTotals;
  if (int64_t(sumPhases.size()) != numPhases)
    return main.emitError() << "has " << numPhases << " sum phases but "
                            << sumPhases.size() << " sum-phase functions";
  if (kernel.numTotals != 0) {
    auto keys = main->getAttrOfType<ArrayAttr>(stepc::kSumKeysAttrName);
    if (!keys || keys.size() != kernel.numTotals ||
        !llvm::all_of(keys, llvm::IsaPred<StringAttr>))
      return main.emitError()
             << "takes " << kernel.numTotals << " totals but has no "
             << stepc::kSumKeysAttrName << " naming each";
    for (Attribute key : keys)
      kernel.keys.push_back(cast<StringAttr>(key).getValue());
  }
  SmallVector<func::FuncOp> ordered(sumPhases);
  llvm::sort(ordered, [](func::FuncOp a, func::FuncOp b) {
    return a->getAttrOfType<IntegerAttr>(stepc::kSumPhaseAttrName).getInt() <
           b->getAttrOfType<IntegerAttr>(stepc::kSumPhaseAttrName).getInt();
  });
  unsigned earlier = 0;
  for (func::FuncOp func : ordered) {
    FailureOr<PhasedGroup> phase = analyzePhased(func, severity);
    if (failed(phase))
      return failure();
    // Its arguments: the group's, the earlier totals, one out per total.
    unsigned outs = func.getNumArguments() - kernel.numGroupArgs - earlier;
    kernel.totalsPerPhase.push_back(outs);
    earlier += outs;
    kernel.main.partials = std::max(kernel.main.partials, phase->partials);
    kernel.sumPhases.push_back(std::move(*phase));
  }
  if (earlier != kernel.numTotals)
    return main.emitError() << "takes " << kernel.numTotals
                            << " totals but its sum phases make " << earlier;
  // A slot batches when each of its stages can: they share the scratch.
  if (batchSameShapes) {
    kernel.batches = true;
    auto stages = llvm::to_vector(llvm::make_pointer_range(kernel.sumPhases));
    stages.push_back(&kernel.main);
    for (PhasedGroup *stage : stages) {
      analyzeBatching(*stage);
      kernel.batches &= stage->batches;
    }
  }
  return kernel;
}

/// The keys of a kernel's slots as one list: phase by phase, in slot order,
/// each key once.
struct KernelKeys {
  /// Per slot, the index in the list of each of its totals.
  SmallVector<SmallVector<unsigned>> perSlot;
  /// Per phase, the indices of the keys it totals.
  SmallVector<SmallVector<unsigned>> perPhase;
  unsigned count = 0;
};

/// Fails (with a diagnostic) when two slots total a key in different
/// phases, which the step verifier rules out within an optimizer.
FailureOr<KernelKeys> numberKeys(ArrayRef<PhasedKernel *> slots) {
  llvm::StringMap<std::pair<unsigned, size_t>> known; // index, phase
  size_t numPhases = 0;
  for (PhasedKernel *slot : slots)
    numPhases = std::max(numPhases, slot->sumPhases.size());
  KernelKeys keys;
  SmallVector<SmallVector<unsigned>> &globalKeys = keys.perSlot;
  SmallVector<SmallVector<unsigned>> &keysPerPhase = keys.perPhase;
  globalKeys.assign(slots.size(), {});
  keysPerPhase.assign(numPhases, {});
  for (size_t phase = 0; phase < numPhases; ++phase)
    for (auto [s, slot] : llvm::enumerate(slots)) {
      if (phase >= slot->totalsPerPhase.size())
        continue;
      unsigned first = globalKeys[s].size();
      for (unsigned j = 0; j < slot->totalsPerPhase[phase]; ++j) {
        StringRef key = slot->keys[first + j];
        auto [it, inserted] =
            known.try_emplace(key, unsigned(known.size()), phase);
        if (inserted)
          keysPerPhase[phase].push_back(it->second.first);
        else if (it->second.second != phase)
          return slot->main.func.emitError()
                 << "totals key '" << key << "' in phase " << phase + 1
                 << ", another group in phase " << it->second.second + 1;
        globalKeys[s].push_back(it->second.first);
      }
    }
  keys.count = known.size();
  return keys;
}

//===----------------------------------------------------------------------===//
// Where barriers are needed
//===----------------------------------------------------------------------===//

/// The buffers an op of the group function reads and writes, by root (the
/// alloc or function argument a memref views), and whether each access is
/// pointwise: element e of the root, in its row-major order, touched by
/// grid thread (e / kGpuVectorWidth) mod threads, as every element-wise
/// loop over a buffer's own shape does (groupStride). Two pointwise
/// accesses to one root meet in one thread, so they need no barrier
/// between them.
struct Accesses {
  struct Access {
    Value root;
    bool write, pointwise;
  };
  SmallVector<Access> accesses;
  /// Some access's root is not known: it may be any buffer.
  bool unknown = false;

  /// Records an access through the (source) memref `view`.
  void add(Value view, bool write, bool pointwise) {
    SmallVector<std::pair<Value, bool>> roots;
    if (!rootsOf(view, /*linear=*/true, roots)) {
      unknown = true;
      return;
    }
    for (auto [root, linear] : roots)
      accesses.push_back({root, write, pointwise && linear});
  }

  /// The roots `view` may view, each with whether the view keeps its
  /// row-major order; false when one is not known.
  static bool rootsOf(Value view, bool linear,
                      SmallVectorImpl<std::pair<Value, bool>> &roots) {
    if (auto arg = dyn_cast<BlockArgument>(view)) {
      if (!isa<func::FuncOp>(arg.getOwner()->getParentOp()))
        return false;
      roots.push_back({arg, linear});
      return true;
    }
    Operation *def = view.getDefiningOp();
    if (isa<memref::AllocOp, memref::GetGlobalOp>(def)) {
      roots.push_back({view, linear});
      return true;
    }
    // Reshapes of a contiguous buffer keep its element order; a subview
    // does not.
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp>(
            def))
      return rootsOf(def->getOperand(0), linear, roots);
    if (auto subview = dyn_cast<memref::SubViewOp>(def))
      return rootsOf(subview.getSource(), false, roots);
    if (auto ifOp = dyn_cast<scf::IfOp>(def)) {
      unsigned r = cast<OpResult>(view).getResultNumber();
      return rootsOf(ifOp.thenYield().getOperand(r), linear, roots) &&
             rootsOf(ifOp.elseYield().getOperand(r), linear, roots);
    }
    return false;
  }
};

/// What the threads did since the last barrier, and whether an op may
/// follow without one.
class Hazards {
public:
  /// Whether some thread may touch, in `op`, an element another thread
  /// touched since the last barrier, one of the two writing it.
  bool conflict(const Accesses &op) const {
    if (op.unknown && (unknown || !state.empty()))
      return true;
    for (const Accesses::Access &access : op.accesses) {
      if (unknown || (readsAnything && access.write))
        return true;
      auto it = state.find(access.root);
      if (it == state.end())
        continue;
      const Entry &before = it->second;
      bool touched =
          access.write ? (before.read || before.write) : before.write;
      if (touched && !(access.pointwise && before.pointwise))
        return true;
    }
    return false;
  }

  void record(const Accesses &op) {
    unknown |= op.unknown;
    for (const Accesses::Access &access : op.accesses) {
      Entry &entry = state[access.root];
      entry.pointwise &= access.pointwise;
      (access.write ? entry.write : entry.read) = true;
    }
  }

  /// Every thread read memory no op here names (the totals' combine):
  /// any write must wait.
  void readEverything() { readsAnything = true; }

  /// What either of two paths (the branches of an if) may have done.
  void join(const Hazards &other) {
    unknown |= other.unknown;
    readsAnything |= other.readsAnything;
    for (const auto &[root, entry] : other.state) {
      auto [it, inserted] = state.try_emplace(root, entry);
      if (!inserted) {
        it->second.read |= entry.read;
        it->second.write |= entry.write;
        it->second.pointwise &= entry.pointwise;
      }
    }
  }

  /// Whether this state is at least as restrictive as `other`: every
  /// barrier `other` would need, this one needs too.
  bool covers(const Hazards &other) const {
    if ((other.unknown && !unknown) || (other.readsAnything && !readsAnything))
      return false;
    for (const auto &[root, entry] : other.state) {
      auto it = state.find(root);
      if (it == state.end() || (entry.read && !it->second.read) ||
          (entry.write && !it->second.write) ||
          (!entry.pointwise && it->second.pointwise))
        return false;
    }
    return true;
  }

  bool empty() const { return state.empty() && !unknown && !readsAnything; }
  void clear() { *this = Hazards(); }

private:
  struct Entry {
    bool read = false, write = false, pointwise = true;
  };
  DenseMap<Value, Entry> state;
  bool unknown = false, readsAnything = false;
};

//===----------------------------------------------------------------------===//
// The kernel
//===----------------------------------------------------------------------===//

class PhasedKernelBuilder : stepc::detail::GlobalMemoryBuilder {
public:
  PhasedKernelBuilder(ArrayRef<PhasedKernel *> slots, OpBuilder &builder,
                      LLVM::LLVMFuncOp gridBarrier, bool tensorCores,
                      int64_t matmulTile, int64_t matmulStages,
                      bool matmulWholeTiles, bool matmulWgmma, int maxRegisters,
                      bool vectorElementwise)
      : GlobalMemoryBuilder(builder, slots.front()->main.func.getLoc()),
        gridBarrier(gridBarrier), tensorCores(tensorCores),
        matmulTile(matmulTile), matmulStages(matmulStages),
        matmulWholeTiles(matmulWholeTiles), matmulWgmma(matmulWgmma),
        maxRegisters(maxRegisters), vectorElementwise(vectorElementwise) {
    for (PhasedKernel *kernel : slots)
      this->slots.emplace_back().k = kernel;
  }

  /// Builds kernel `name`: per slot (tensors, numTensors, control, scratch),
  /// then the barrier words and the number of sub-grids (SubGrids.md). Each
  /// slot's scratch keeps `partials` f32 per thread (the most any slot's
  /// split reductions need).
  void build(gpu::GPUModuleOp gpuModule, StringRef name, const KernelKeys &keys,
             int64_t partials) {
    b.setInsertionPointToEnd(gpuModule.getBody());
    SmallVector<Type> params;
    for (size_t s = 0; s < slots.size(); ++s)
      params.append({globalPtr, b.getI32Type(), globalPtr, globalPtr});
    params.append({globalPtr, b.getI32Type()});
    auto kernel =
        gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(params, {}));
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    Block &entry = kernel.getBody().front();
    b.setInsertionPointToStart(&entry);
    barrierWord = entry.getArgument(entry.getNumArguments() - 2);

    this->gpuModule = gpuModule;
    // The grid is `subgrids` sub-grids of equal block counts (the runtime
    // launches a multiple); every thread index, thread count and block
    // index below is its sub-grid's. Sub-grid s steps tensors s, s + S, ...
    Value gridBlock = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value blockDim = gpu::BlockDimOp::create(b, loc, gpu::Dimension::x);
    gridBlocks = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
    numSubgrids = arith::IndexCastUIOp::create(b, loc, b.getIndexType(),
                                               entry.getArguments().back());
    gridDim = arith::DivUIOp::create(b, loc, gridBlocks, numSubgrids);
    subgrid = arith::DivUIOp::create(b, loc, gridBlock, gridDim);
    firstBlock = arith::MulIOp::create(b, loc, subgrid, gridDim);
    blockId = arith::SubIOp::create(b, loc, gridBlock, firstBlock);
    Value threadId = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    threadIndex = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, blockId, blockDim), threadId);
    numThreads = arith::MulIOp::create(b, loc, gridDim, blockDim);
    // The barriers' operands (word, first block, blocks), made once so that
    // two calls in a row have the same ones.
    auto toI32 = [&](Value v) -> Value {
      return arith::IndexCastUIOp::create(b, loc, b.getI32Type(), v);
    };
    subgridBarrier = {
        gep(b.getI32Type(), barrierWord,
            toI64(arith::AddIOp::create(b, loc, subgrid, index(1)))),
        toI32(firstBlock), toI32(gridDim)};
    gridBarrierOperands = {barrierWord, toI32(index(0)), toI32(gridBlocks)};
    partials = std::max<int64_t>(partials, 1);

    for (auto [s, slot] : llvm::enumerate(slots)) {
      slot.tensors = entry.getArgument(4 * s);
      slot.numTensors = arith::IndexCastUIOp::create(
          b, loc, b.getIndexType(), entry.getArgument(4 * s + 1));
      slot.batchCap = batchCapOf(slot);
      slot.control = entry.getArgument(4 * s + 2);
      slot.scratch = entry.getArgument(4 * s + 3);
      // A slot the caller's found-inf skips is an empty one: it steps no
      // tensor and adds nothing to the totals.
      Value given = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                          slot.numTensors, index(0));
      auto ifGiven = scf::IfOp::create(b, loc, b.getI1Type(), given,
                                       /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifGiven.thenBlock());
        scf::YieldOp::create(b, loc, isSkipped(slot.control));
        b.setInsertionPointToStart(ifGiven.elseBlock());
        scf::YieldOp::create(
            b, loc,
            arith::ConstantOp::create(b, loc, b.getBoolAttr(false))
                .getResult());
      }
      slot.numTensors = arith::SelectOp::create(b, loc, ifGiven.getResult(0),
                                                index(0), slot.numTensors);
      slot.globalKeys = keys.perSlot[s];
      // A slot's scratch: the totals (f64, for the runtime to read after
      // the step), each tensor's contributions to them (f32), the split
      // reductions' partials, then each alloc's buffer (the phases' in
      // turn, in the same place).
      unsigned numTotals = slot.k->numTotals;
      Value totalsBytes = alignUp(index(8 * int64_t(numTotals)));
      Value contributionBytes = alignUp(arith::MulIOp::create(
          b, loc, slot.numTensors, index(4 * int64_t(numTotals))));
      // The partials, one per thread of the grid, in sub-grid order; a
      // batch's members each have their own.
      Value partialBytes = alignUp(arith::MulIOp::create(
          b, loc, arith::MulIOp::create(b, loc, gridBlocks, blockDim),
          index(4 * partials)));
      slot.memberPartialBytes = partialBytes;
      slot.contributions = byteOffset(slot.scratch, totalsBytes);
      Value partialsOffset =
          arith::AddIOp::create(b, loc, totalsBytes, contributionBytes);
      Value subgridPartials = arith::MulIOp::create(
          b, loc, arith::MulIOp::create(b, loc, subgrid, numThreads),
          index(4 * partials));
      slot.partialsBase =
          byteOffset(slot.scratch, arith::AddIOp::create(b, loc, partialsOffset,
                                                         subgridPartials));
      slot.allocsOffset = arith::AddIOp::create(
          b, loc, partialsOffset,
          arith::MulIOp::create(b, loc, slot.batchCap, partialBytes));
    }

    // Phase by phase, every slot's contributions, then the totals.
    SmallVector<Value> totals(keys.count);
    for (auto [phase, phaseKeys] : llvm::enumerate(keys.perPhase)) {
      for (Slot &slot : slots)
        if (phase < slot.k->sumPhases.size())
          emitTensorLoop(slot, slot.k->sumPhases[phase], totals,
                         slot.k->totalsPerPhase[phase]);
      for (unsigned key : phaseKeys)
        totals[key] = combine(key);
    }
    for (Slot &slot : slots)
      emitTensorLoop(slot, slot.k->main, totals, 0);
    gpu::ReturnOp::create(b, loc);
    widenUnscaledGrads();
    // A cap on registers trades spills for blocks per SM (the NVVM
    // lowering keeps the attribute): by default 128, two blocks of 256
    // threads, for the kernels with tensor-core matmuls on 64 x 64 tiles,
    // whose k loops wait on memory with one block's 8 warps; 128 x 128
    // tiles' accumulators alone take 64 registers (docs/Design/
    // GpuKernels.md, "Registers").
    int cap = maxRegisters;
    if (cap == 0 && matmulTile == 64 &&
        kernel
            .walk([](Operation *op) {
              return isa<NVVM::MmaOp, NVVM::WgmmaMmaAsyncOp>(op)
                         ? WalkResult::interrupt()
                         : WalkResult::advance();
            })
            .wasInterrupted())
      cap = stepc::kMatmulKernelRegisters;
    if (cap > 0)
      kernel->setAttr("nvvm.maxnreg", b.getI32IntegerAttr(cap));
  }

private:
  /// A group function's launch arguments and its scratch's parts.
  struct Slot {
    PhasedKernel *k;
    Value tensors, numTensors, control, scratch, contributions, partialsBase,
        allocsOffset;
    /// The most tensors a batch takes (1 for a slot that does not batch)
    /// and the bytes of one member's partials.
    Value batchCap, memberPartialBytes;
    /// Per total of the slot, its key's index in the kernel's key list.
    SmallVector<unsigned> globalKeys;
  };

  /// Every tensor of `slot` stepped through `stage` (a sum phase or the
  /// main function): its group arguments from the tensor's record and the
  /// scalars, its totals so far, then (a sum phase) `numOuts`
  /// contributions. A slot the launch leaves empty (no tensors, null
  /// pointers) is skipped.
  void emitTensorLoop(Slot &slot, PhasedGroup &stage, ArrayRef<Value> totals,
                      unsigned numOuts) {
    current = &slot;
    PhasedKernel &k = *slot.k;
    func::FuncOp func = stage.func;
    // A slot may step no tensor: after it, what came before is pending.
    Hazards before = hazards;
    Value present = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                          slot.numTensors, index(0));
    auto ifPresent = scf::IfOp::create(b, loc, present);
    b.setInsertionPointToStart(ifPresent.thenBlock());
    // The group's scalars (hypers, inputs, count), in argument order.
    SmallVector<unsigned> groupScalars;
    for (unsigned argIndex : k.main.scalarArgs)
      if (argIndex < k.numGroupArgs)
        groupScalars.push_back(argIndex);
    mapScalars(func, groupScalars, slot.control, map);
    gradScale = loadGradScale(slot.control);
    unsigned first = 0; // totals the stage takes: the earlier phases'
    for (unsigned argIndex = k.numGroupArgs;
         argIndex < func.getNumArguments() - numOuts; ++argIndex, ++first)
      map.map(func.getArgument(argIndex),
              totals[slot.globalKeys[argIndex - k.numGroupArgs]]);

    ArrayRef<unsigned> buffers = k.main.bufferArgs;
    int64_t recordWords = recordWordsOf(slot);
    auto recordAt = [&](Value tensor) {
      return gep(i64, slot.tensors,
                 mul64(toI64(tensor), constantI64(recordWords)));
    };
    auto dimOf = [&](Value record, int64_t d) {
      return toIndex(
          load(i64, gep(i64, record, constantI64(buffers.size() + d))));
    };
    auto recordOf = [&](Value tensor) {
      Value record = recordAt(tensor);
      rows = dimOf(record, 0);
      cols = dimOf(record, 1);
      return record;
    };
    // Each sub-grid's buffers in a region of their own: a place per batch
    // member, each as large as the largest tensor's buffers.
    Value region = allocsOffsetOf(slot, stage, recordOf, memberAllocBytes);

    // The runtime's schedule follows the records (SubGrids.md, "Balancing
    // the sub-grids"): S + 1 words, sub-grid s stepping positions
    // [start[s], start[s + 1]), then the tensor at each position.
    Value schedule =
        gep(i64, slot.tensors,
            mul64(toI64(slot.numTensors), constantI64(recordWords)));
    auto scheduleWord = [&](Value at) {
      return load(i64, gep(i64, schedule, toI64(at)));
    };
    Value nextSubgrid = arith::AddIOp::create(b, loc, subgrid, index(1));
    Value positions = arith::AddIOp::create(b, loc, numSubgrids, index(1));
    Value start = toIndex(scheduleWord(subgrid));
    Value end = toIndex(scheduleWord(nextSubgrid));
    auto tensorAt = [&](Value position) {
      return scheduleWord(arith::AddIOp::create(b, loc, positions, position));
    };
    // Position by position; or, batch by batch, the consecutive positions
    // whose tensors have the first one's dims, up to the cap.
    Operation *tensorLoop;
    if (!k.batches) {
      auto loop = scf::ForOp::create(b, loc, start, end, index(1));
      b.setInsertionPointToStart(loop.getBody());
      batchFirst = loop.getInductionVar();
      batchMembers = index(1);
      tensorLoop = loop;
    } else {
      Type indexType = b.getIndexType();
      auto loop =
          scf::WhileOp::create(b, loc, TypeRange{indexType}, ValueRange{start});
      Block *before = b.createBlock(&loop.getBefore(), {}, {indexType}, {loc});
      scf::ConditionOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                before->getArgument(0), end),
          before->getArguments());
      Block *after = b.createBlock(&loop.getAfter(), {}, {indexType}, {loc});
      batchFirst = after->getArgument(0);
      tensorLoop = loop;
    }
    Value t = tensorAt(batchFirst);
    Value record = recordOf(toIndex(t));
    if (k.batches)
      batchMembers =
          countMembers(slot, batchFirst, end, tensorAt, recordAt, dimOf);
    inTensorLoop = true;
    batchSchedule = gep(i64, schedule, toI64(positions));
    currentStage = &stage;
    stageFirstTotal = first;
    // The batch's first tensor: what ops outside a member loop see.
    for (auto [recordSlot, argIndex] : llvm::enumerate(buffers)) {
      BlockArgument arg = func.getArgument(argIndex);
      Value view = bufferView(arg, recordSlot, record);
      map.map(arg, view);
    }
    // Contribution j of tensor t to the slot's total `first + j`.
    for (unsigned j = 0; j < numOuts; ++j) {
      BlockArgument out = func.getArgument(k.numGroupArgs + first + j);
      map.map(out, contributionView(out, toIndex(t), j));
    }
    Value offset = region;
    for (auto &[alloc, bytes] : stage.allocs) {
      allocOffsets[alloc] = offset;
      offset =
          arith::AddIOp::create(b, loc, offset, bytes.emit(b, loc, rows, cols));
    }

    emitBlock(func.getBody().front());
    // The next tensor reuses the scratch; the combine reads every
    // tensor's contributions.
    barrier();
    if (auto loop = dyn_cast<scf::WhileOp>(tensorLoop))
      scf::YieldOp::create(
          b, loc,
          ValueRange{arith::AddIOp::create(b, loc, batchFirst, batchMembers)});
    swaps.clear();
    currentStage = nullptr;
    inTensorLoop = false;
    b.setInsertionPointAfter(tensorLoop);
    // Sub-grids meet once, after their tensors: the combine and the next
    // slot read what the others wrote, and the count is stored below.
    Value several = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                          numSubgrids, index(1));
    auto ifSeveral = scf::IfOp::create(b, loc, several);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifSeveral.thenBlock());
      emitBarrierCall();
    }
    // After the slot's last barrier no thread reads the count again; the
    // grid's thread 0 advances it, once.
    if (&stage == &k.main)
      onGridThreadZero([&] {
        LLVM::StoreOp::create(b, loc, nextCount(slot.control),
                              controlWord(slot.control, stepc::kControlCount));
      });
    b.setInsertionPointAfter(ifPresent);
    hazards = before;
  }

  /// The view of buffer argument `arg`, the `recordSlot`th pointer of the
  /// tensor record `record`, at the batch's dims.
  Value bufferView(BlockArgument arg, unsigned recordSlot, Value record) {
    func::FuncOp func = currentStage->func;
    unsigned argIndex = arg.getArgNumber();
    auto type = cast<MemRefType>(arg.getType());
    auto dims = func.getArgAttrOfType<DenseI64ArrayAttr>(
        argIndex, stepc::kParamDimsAttrName);
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      sizes.push_back(type.isDynamicDim(d) ? (dims[d] == 0 ? rows : cols)
                                           : index(type.getDimSize(d)));
    Value pointer = load(globalPtr, gep(i64, record, constantI64(recordSlot)));
    Value view = viewOf(pointer, type, sizes);
    if (func.getArgAttr(argIndex, stepc::kGradArgAttrName))
      gradViews.insert(view);
    return view;
  }

  /// Tensor `t`'s (an index) contribution `j` of the stage's (out argument
  /// `out`), a slot of the current slot's contributions.
  Value contributionView(BlockArgument out, Value t, unsigned j) {
    Value at = arith::AddIOp::create(
        b, loc, mul64(toI64(t), constantI64(current->k->numTotals)),
        constantI64(stageFirstTotal + j));
    return viewOf(gep(b.getF32Type(), current->contributions, at),
                  cast<MemRefType>(out.getType()), {});
  }

  /// The tensors of the batch that starts at position `first`: 1, and each
  /// next position before `end` whose tensor has the first one's dims (the
  /// current `rows` and `cols`), up to the slot's cap.
  Value countMembers(Slot &slot, Value first, Value end,
                     llvm::function_ref<Value(Value)> tensorAt,
                     llvm::function_ref<Value(Value)> recordAt,
                     llvm::function_ref<Value(Value, int64_t)> dimOf) {
    Type indexType = b.getIndexType();
    Value firstRows = rows, firstCols = cols;
    auto count = scf::WhileOp::create(b, loc, TypeRange{indexType},
                                      ValueRange{index(1)});
    OpBuilder::InsertionGuard guard(b);
    Block *before = b.createBlock(&count.getBefore(), {}, {indexType}, {loc});
    Value members = before->getArgument(0);
    Value next = arith::AddIOp::create(b, loc, first, members);
    Value room = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, members,
                              slot.batchCap),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, next, end));
    // The next position's record is read only when it is the sub-grid's.
    auto ifRoom = scf::IfOp::create(b, loc, b.getI1Type(), room,
                                    /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard inIf(b);
      b.setInsertionPointToStart(ifRoom.thenBlock());
      Value record = recordAt(toIndex(tensorAt(next)));
      Value same = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                dimOf(record, 0), firstRows),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                dimOf(record, 1), firstCols));
      scf::YieldOp::create(b, loc, same);
      b.setInsertionPointToStart(ifRoom.elseBlock());
      scf::YieldOp::create(
          b, loc,
          arith::ConstantOp::create(b, loc, b.getBoolAttr(false)).getResult());
    }
    scf::ConditionOp::create(b, loc, ifRoom.getResult(0), ValueRange{members});
    Block *after = b.createBlock(&count.getAfter(), {}, {indexType}, {loc});
    scf::YieldOp::create(b, loc,
                         ValueRange{arith::AddIOp::create(
                             b, loc, after->getArgument(0), index(1))});
    return count.getResult(0);
  }

  //===--------------------------------------------------------------===//
  // Batches (docs/Design/Batching.md)
  //===--------------------------------------------------------------===//

  /// Which part of a reduction split at a grid barrier (splitsAtBarrier)
  /// to emit: all of it, the partials before the barrier, or their fold
  /// after it (the barrier then is the caller's).
  enum class Part { Whole, Partials, Fold };

  /// Whether `op` runs once per member of the batch: a batched stage's op
  /// that reads or writes a member's values.
  bool runsPerMember(Operation &op) {
    if (!currentStage || !current->k->batches)
      return false;
    if (classify(&op) == Work::Distributed &&
        isa<linalg::GenericOp, memref::CopyOp>(op))
      return true;
    if (classify(&op) != Work::SingleThread)
      return false;
    return llvm::any_of(valuesUsedBy({&op}), [&](Value v) {
      return currentStage->perMember.contains(v);
    });
  }

  /// The values `ops` use that are defined outside them.
  static llvm::SetVector<Value> valuesUsedBy(ArrayRef<Operation *> ops) {
    llvm::SetVector<Value> used;
    for (Operation *op : ops) {
      used.insert(op->getOperands().begin(), op->getOperands().end());
      getUsedValuesDefinedAbove(op->getRegions(), used);
    }
    return used;
  }

  /// `emit` once per member of the batch, in a loop uniform over the grid
  /// and without a barrier between members: with the values `ops` use
  /// bound to the member's, its partials apart, and its tiles rotated.
  void forEachMember(ArrayRef<Operation *> ops,
                     llvm::function_ref<void()> emit) {
    auto loop = scf::ForOp::create(b, loc, index(0), batchMembers, index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    IRMapping outer = map;
    DenseMap<Value, Value> outerWrites = epilogueWrites;
    memberIndex = loop.getInductionVar();
    memberPartials =
        byteOffset(current->partialsBase,
                   arith::MulIOp::create(b, loc, memberIndex,
                                         current->memberPartialBytes));
    for (Value v : valuesUsedBy(ops))
      memberValue(v);
    for (auto &[iterate, swap] : swaps)
      epilogueWrites[iterate] = arith::SelectOp::create(
          b, loc, swap.flag, ownBuffer(iterate), memberValue(swap.partner));
    emit();
    map = std::move(outer);
    epilogueWrites = std::move(outerWrites);
    memberBound.clear();
    memberIndex = Value();
    memberPartials = Value();
  }

  /// `value` for the member being emitted (outside a member loop, or for a
  /// value the members share, its value in `map`).
  Value memberValue(Value value) {
    if (!memberIndex || !currentStage->perMember.contains(value)) {
      // Computed again here (inside a branch whose yields are being
      // placed): later clones for the member read it from `map`, which
      // forEachMember restores.
      Value here = sharedValueHere(value);
      if (memberIndex && here != map.lookupOrDefault(value))
        map.map(value, here);
      return here;
    }
    if (memberBound.contains(value))
      return map.lookup(value);
    Value result;
    if (auto swap = swaps.find(value); swap != swaps.end())
      result = arith::SelectOp::create(b, loc, swap->second.flag,
                                       memberValue(swap->second.partner),
                                       ownBuffer(value));
    else
      result = ownBuffer(value);
    map.map(value, result);
    memberBound.insert(value);
    return result;
  }

  /// A value the members share (a size) here: its value in `map`, or,
  /// when it is computed inside the branch whose yields memberValue is
  /// placing (an alloc's size there), the ops that compute it again.
  Value sharedValueHere(Value value) {
    Operation *def = value.getDefiningOp();
    if (!def || !branch || !branch->isAncestor(def))
      return map.lookupOrDefault(value);
    IRMapping here;
    for (Value operand : def->getOperands())
      here.map(operand, sharedValueHere(operand));
    Operation *clone = b.clone(*def, here);
    return clone->getResult(cast<OpResult>(value).getResultNumber());
  }

  /// `value` for the member being emitted, the buffer an iterate in two
  /// buffers starts in (not the one it is in now).
  Value ownBuffer(Value value) {
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      assert(arg.getOwner() == &currentStage->func.getBody().front() &&
             "analyzeBatching admits no per-member loop-carried value");
      Value tensor = toIndex(load(
          i64,
          gep(i64, batchSchedule,
              toI64(arith::AddIOp::create(b, loc, batchFirst, memberIndex)))));
      ArrayRef<unsigned> buffers = current->k->main.bufferArgs;
      if (const unsigned *slot = llvm::find(buffers, arg.getArgNumber());
          slot != buffers.end()) {
        Value record =
            gep(i64, current->tensors,
                mul64(toI64(tensor), constantI64(recordWordsOf(*current))));
        return bufferView(arg, slot - buffers.begin(), record);
      }
      unsigned firstOut = current->k->numGroupArgs + stageFirstTotal;
      return contributionView(arg, tensor, arg.getArgNumber() - firstOut);
    }
    Operation *def = value.getDefiningOp();
    if (auto alloc = dyn_cast<memref::AllocOp>(def)) {
      SmallVector<Value> sizes;
      for (OpFoldResult size : alloc.getMixedSizes())
        sizes.push_back(isa<Value>(size) ? sharedValueHere(cast<Value>(size))
                                         : index(*getConstantIntValue(size)));
      Value offset = arith::AddIOp::create(
          b, loc, allocOffsets[alloc],
          arith::MulIOp::create(b, loc, memberIndex, memberAllocBytes));
      return viewOf(byteOffset(current->scratch, offset), alloc.getType(),
                    sizes);
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(def);
        ifOp && classify(ifOp) == Work::Distributed) {
      unsigned k = cast<OpResult>(value).getResultNumber();
      Operation *outerBranch = branch;
      branch = ifOp;
      Value then = memberValue(ifOp.thenYield().getOperand(k));
      Value otherwise = memberValue(ifOp.elseYield().getOperand(k));
      branch = outerBranch;
      return arith::SelectOp::create(b, loc, map.lookup(ifOp.getCondition()),
                                     then, otherwise);
    }
    // An op of scalars and views: recomputed for the member.
    for (Value used : valuesUsedBy({def}))
      memberValue(used);
    Operation *clone = b.clone(*def, map);
    unscaleGradLoads(clone);
    for (auto [from, to] : llvm::zip(def->getResults(), clone->getResults())) {
      map.map(from, to);
      memberBound.insert(from);
    }
    return map.lookup(value);
  }

  /// A tensor's record: one pointer per buffer argument, then the param's
  /// dims (rows, cols; a vector's length and 1).
  static int64_t recordWordsOf(Slot &slot) {
    return int64_t(slot.k->main.bufferArgs.size()) + 2;
  }

  /// The cap on a batch's tensors the runtime leaves after the schedule
  /// (docs/Design/Batching.md), at least 1; 1 for a slot that does not
  /// batch. Read from the launch's count, before found-inf empties it.
  Value batchCapOf(Slot &slot) {
    if (!slot.k->batches)
      return index(1);
    Value given = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                        slot.numTensors, index(0));
    auto ifGiven = scf::IfOp::create(b, loc, b.getIndexType(), given,
                                     /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifGiven.thenBlock());
    // After the records, the S + 1 starts and a position per tensor.
    Value at = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, slot.numTensors,
                              index(recordWordsOf(slot) + 1)),
        arith::AddIOp::create(b, loc, numSubgrids, index(1)));
    Value cap = toIndex(load(i64, gep(i64, slot.tensors, toI64(at))));
    scf::YieldOp::create(
        b, loc, ValueRange{arith::MaxUIOp::create(b, loc, cap, index(1))});
    b.setInsertionPointToStart(ifGiven.elseBlock());
    scf::YieldOp::create(b, loc, ValueRange{index(1)});
    return ifGiven.getResult(0);
  }

  /// Where the thread's sub-grid's buffers of `stage` start in the slot's
  /// scratch: after the partials, at the sub-grid's index times the bytes
  /// the largest tensor's buffers take (`recordOf` reads a tensor's dims).
  Value allocsOffsetOf(Slot &slot, PhasedGroup &stage,
                       llvm::function_ref<Value(Value)> recordOf,
                       Value &memberBytes) {
    memberBytes = index(0);
    if (stage.allocs.empty())
      return slot.allocsOffset;
    auto loop = scf::ForOp::create(b, loc, index(0), slot.numTensors, index(1),
                                   ValueRange{index(0)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      recordOf(loop.getInductionVar());
      Value bytes = index(0);
      for (auto &[alloc, size] : stage.allocs)
        bytes =
            arith::AddIOp::create(b, loc, bytes, size.emit(b, loc, rows, cols));
      scf::YieldOp::create(b, loc,
                           ValueRange{arith::MaxUIOp::create(
                               b, loc, loop.getRegionIterArgs()[0], bytes)});
    }
    // Each member of a batch has a place of that size.
    memberBytes = alignUp(loop.getResult(0));
    Value stride = arith::MulIOp::create(b, loc, memberBytes, slot.batchCap);
    return arith::AddIOp::create(
        b, loc, slot.allocsOffset,
        arith::MulIOp::create(b, loc, subgrid, stride));
  }

  /// The total of key `key` on every thread: the contributions of every
  /// slot that sums it, added in f64 in slot order, then tensor order (the
  /// CPU runtime's order, when the groups are stepped in the spec's
  /// order), rounded to the f32 the functions take. Thread 0 leaves the
  /// f64 total in the scratch of each of those slots, for the runtime.
  Value combine(unsigned key) {
    Type f64 = b.getF64Type(), f32 = b.getF32Type();
    Value total = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.0));
    SmallVector<std::pair<Slot *, unsigned>> summers;
    for (Slot &slot : slots)
      for (auto [local, global] : llvm::enumerate(slot.globalKeys))
        if (global == key)
          summers.push_back({&slot, unsigned(local)});
    for (auto [slot, local] : summers) {
      auto loop = scf::ForOp::create(b, loc, index(0), slot->numTensors,
                                     index(1), ValueRange{total});
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value at = arith::AddIOp::create(
          b, loc,
          mul64(toI64(loop.getInductionVar()), constantI64(slot->k->numTotals)),
          constantI64(local));
      Value part = load(f32, gep(f32, slot->contributions, at));
      Value sum =
          arith::AddFOp::create(b, loc, loop.getRegionIterArgs()[0],
                                arith::ExtFOp::create(b, loc, f64, part));
      scf::YieldOp::create(b, loc, sum);
      b.setInsertionPointAfter(loop);
      total = loop.getResult(0);
    }
    onGridThreadZero([&] {
      for (auto [slot, local] : summers) {
        // An empty or skipped slot has no scratch of its own to write.
        Value given = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                            slot->numTensors, index(0));
        auto ifGiven = scf::IfOp::create(b, loc, given);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifGiven.thenBlock());
        LLVM::StoreOp::create(b, loc, total,
                              gep(f64, slot->scratch, constantI64(local)));
      }
    });
    hazards.readEverything();
    return arith::TruncFOp::create(b, loc, f32, total);
  }

  Value byteOffset(Value base, Value bytes) {
    return LLVM::GEPOp::create(b, loc, globalPtr, b.getI8Type(), base,
                               ValueRange{toI64(bytes)});
  }

  //===--------------------------------------------------------------===//
  // Structure
  //===--------------------------------------------------------------===//

  void emitBlock(Block &block) {
    for (Operation &op : block.without_terminator())
      emitOp(op);
  }

  void emitOp(Operation &op) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      SmallVector<Value> sizes;
      for (OpFoldResult size : alloc.getMixedSizes())
        sizes.push_back(isa<Value>(size) ? map.lookup(cast<Value>(size))
                                         : index(*getConstantIntValue(size)));
      Value base = byteOffset(current->scratch, allocOffsets[alloc]);
      map.map(alloc.getResult(), viewOf(base, alloc.getType(), sizes));
      return;
    }
    if (auto getGlobal = dyn_cast<memref::GetGlobalOp>(op))
      globals.insert(getGlobal.getName());
    Work work = classify(&op);
    if (auto forOp = dyn_cast<scf::ForOp>(op);
        forOp && work == Work::Distributed)
      return emitFor(forOp);
    if (auto ifOp = dyn_cast<scf::IfOp>(op); ifOp && work == Work::Distributed)
      return emitIf(ifOp);
    if (matmulOverFill(op) || matmulBefore(op))
      return;
    Accesses accesses = accessesOfOp(op);
    if (hazards.conflict(accesses))
      barrier();
    if (runsPerMember(op)) {
      SmallVector<Operation *> ops = {&op};
      if (linalg::GenericOp epilogue = epilogueOf(op))
        ops.push_back(epilogue);
      // Partials, then their fold: every member's partials before the one
      // barrier between (each member's in a place of its own).
      auto generic = dyn_cast<linalg::GenericOp>(op);
      if (generic && splitsAtBarrier(generic)) {
        forEachMember(ops, [&] { emitGeneric(generic, Part::Partials); });
        emitBarrierCall();
        forEachMember(ops, [&] { emitGeneric(generic, Part::Fold); });
      } else {
        forEachMember(ops, [&] { emitWork(op, work); });
      }
    } else {
      emitWork(op, work);
    }
    hazards.record(accesses);
  }

  /// `op`'s work as `classify` says it runs.
  void emitWork(Operation &op, Work work) {
    switch (work) {
    case Work::Uniform:
      unscaleGradLoads(b.clone(op, map));
      break;
    case Work::SingleThread: {
      auto guard = scf::IfOp::create(b, loc, isThreadZero());
      OpBuilder::InsertionGuard insertion(b);
      b.setInsertionPointToStart(guard.thenBlock());
      b.clone(op, map);
      break;
    }
    case Work::Distributed:
      if (auto generic = dyn_cast<linalg::GenericOp>(op))
        emitGeneric(generic);
      else if (auto copy = dyn_cast<memref::CopyOp>(op))
        emitCopy(copy);
      else
        llvm_unreachable("analyzePhased admits no other op with linalg inside");
      break;
    }
  }

  /// What an op that is not a loop or branch with grid-wide work inside
  /// does to the buffers.
  Accesses accessesOfOp(Operation &op) {
    if (matmulOverFill(op) || matmulBefore(op))
      return {};
    if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      Accesses accesses = accessesOf(generic);
      // The epilogue runs at the matmul's tile stores, not grid-stride.
      if (linalg::GenericOp epilogue = epilogueOf(op))
        for (const Accesses::Access &access : accessesOf(epilogue).accesses)
          accesses.accesses.push_back({access.root, access.write, false});
      return accesses;
    }
    Accesses accesses;
    if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      accesses.add(copy.getSource(), /*write=*/false, /*pointwise=*/true);
      accesses.add(copy.getTarget(), /*write=*/true, /*pointwise=*/true);
      return accesses;
    }
    op.walk([&](Operation *nested) {
      if (auto load = dyn_cast<memref::LoadOp>(nested))
        accesses.add(load.getMemRef(), /*write=*/false, /*pointwise=*/false);
      else if (auto store = dyn_cast<memref::StoreOp>(nested))
        accesses.add(store.getMemRef(), /*write=*/true, /*pointwise=*/false);
    });
    return accesses;
  }

  /// `state` after `block` as emitBlock would leave it, with the barriers
  /// it would place: emitFor plans a loop with it before emitting one.
  void simulate(Block &block, Hazards &state) {
    for (Operation &op : block.without_terminator()) {
      if (isa<memref::AllocOp>(op))
        continue;
      bool structural =
          classify(&op) == Work::Distributed && isa<scf::ForOp, scf::IfOp>(op);
      if (auto forOp = dyn_cast<scf::ForOp>(op); forOp && structural) {
        state = planLoop(forOp, state).after;
      } else if (auto ifOp = dyn_cast<scf::IfOp>(op); ifOp && structural) {
        Hazards otherwise = state;
        simulate(*ifOp.thenBlock(), state);
        if (ifOp.elseBlock())
          simulate(*ifOp.elseBlock(), otherwise);
        state.join(otherwise);
      } else {
        Accesses accesses = accessesOfOp(op);
        if (state.conflict(accesses))
          state.clear();
        state.record(accesses);
      }
    }
  }

  /// How a loop with grid-wide work runs: from what state each iteration
  /// starts, whether one ends with a barrier, and the state after it.
  struct LoopPlan {
    Hazards start, after;
    bool endBarrier = false;
  };

  /// An iteration may follow the one before without a barrier when the
  /// body, started from what came before joined with what an iteration
  /// leaves, leaves no more than that (the iterate's copy, then its
  /// rounding, both pointwise: one thread each element). Otherwise each
  /// iteration that leaves anything pending ends with a barrier.
  LoopPlan planLoop(scf::ForOp forOp, const Hazards &before) {
    Hazards end = before;
    simulate(*forOp.getBody(), end);
    Hazards start = before;
    start.join(end);
    Hazards again = start;
    simulate(*forOp.getBody(), again);
    if (start.covers(again))
      return {start, start, false};
    return {before, before, !end.empty()};
  }

  /// What a linalg op does to its buffers. It is pointwise when it runs
  /// as one grid-stride loop over its operands' own shapes (no reduction,
  /// identity maps); a split reduction also uses the slot's partials.
  Accesses accessesOf(linalg::GenericOp generic) {
    bool pointwise =
        generic.getNumReductionLoops() == 0 &&
        llvm::all_of(generic->getOpOperands(), [&](OpOperand &operand) {
          return !isa<MemRefType>(operand.get().getType()) ||
                 generic.getMatchingIndexingMap(&operand).isIdentity();
        });
    Accesses accesses;
    for (OpOperand *input : generic.getDpsInputOperands())
      if (isa<MemRefType>(input->get().getType()))
        accesses.add(input->get(), /*write=*/false, pointwise);
    for (OpOperand &init : generic.getDpsInitsMutable()) {
      accesses.add(init.get(), /*write=*/false, pointwise);
      accesses.add(init.get(), /*write=*/true, pointwise);
    }
    if ((generic.getNumParallelLoops() == 0 &&
         generic.getNumReductionLoops() != 0) ||
        usesPartials(generic))
      for (bool write : {false, true})
        accesses.accesses.push_back({current->partialsBase, write, false});
    return accesses;
  }

  /// A loop whose body has grid-wide work: every thread runs its control
  /// (the bounds are uniform), and the work inside is spread.
  void emitFor(scf::ForOp forOp) {
    // Iterates whose update is a matmul's epilogue in the body (pairIterates)
    // are carried with their partners, swapped each iteration: the body
    // reads one and the epilogue writes the other.
    SmallVector<Value> swapped;
    for (Operation &op : forOp.getBody()->without_terminator())
      if (linalg::GenericOp epilogue = epilogueOf(op))
        for (Value init : epilogue.getDpsInits())
          if (current->k->main.partners.count(init) &&
              llvm::is_contained(cast<linalg::GenericOp>(op).getDpsInputs(),
                                 init))
            swapped.push_back(init);
    SmallVector<Value> inits = llvm::map_to_vector(
        forOp.getInitArgs(), [&](Value v) { return map.lookup(v); });
    // A batched stage carries, per iterate, whether it is in its partner:
    // each member's buffers follow from that (memberValue).
    bool batched = currentStage && current->k->batches;
    for (Value iterate : swapped) {
      Value partner = current->k->main.partners.lookup(iterate);
      if (!batched) {
        inits.append({map.lookup(iterate), map.lookup(partner)});
        continue;
      }
      auto [swap, fresh] = swaps.try_emplace(iterate);
      if (fresh)
        swap->second = {arith::ConstantOp::create(b, loc, b.getBoolAttr(false)),
                        partner, map.lookup(iterate), map.lookup(partner)};
      inits.push_back(swap->second.flag);
    }
    auto loop = scf::ForOp::create(b, loc, map.lookup(forOp.getLowerBound()),
                                   map.lookup(forOp.getUpperBound()),
                                   map.lookup(forOp.getStep()), inits);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    map.map(forOp.getInductionVar(), loop.getInductionVar());
    for (auto [from, to] :
         llvm::zip(forOp.getRegionIterArgs(), loop.getRegionIterArgs()))
      map.map(from, to);
    unsigned carried = forOp.getNumRegionIterArgs();
    for (auto [k, iterate] : llvm::enumerate(swapped)) {
      if (batched) {
        Swap &swap = swaps[iterate];
        swap.flag = loop.getRegionIterArgs()[carried + k];
        map.map(iterate, swap.firstMember(b, loc));
        epilogueWrites[iterate] = swap.firstMember(b, loc, /*other=*/true);
        continue;
      }
      map.map(iterate, loop.getRegionIterArgs()[carried + 2 * k]);
      epilogueWrites[iterate] = loop.getRegionIterArgs()[carried + 2 * k + 1];
    }
    LoopPlan plan = planLoop(forOp, hazards);
    hazards = plan.start;
    SmallVector<std::string> beforeLoop = phaseWork;
    size_t firstBarrier = barrierCalls.size();
    emitBlock(*forOp.getBody());
    if (plan.endBarrier && !hazards.empty())
      barrier();
    // What an iteration runs after its last barrier, the next iteration
    // runs before its first: that barrier ends both phases. After the loop
    // (which may run no iteration) the work before it is pending too.
    if (barrierCalls.size() > firstBarrier) {
      for (const std::string &work : phaseWork)
        addPhaseName(barrierCalls[firstBarrier], work);
      for (const std::string &work : beforeLoop)
        if (!llvm::is_contained(phaseWork, work))
          phaseWork.push_back(work);
    }
    // A loop may run no iteration.
    hazards = plan.after;
    auto yield = cast<scf::YieldOp>(forOp.getBody()->getTerminator());
    SmallVector<Value> yielded = llvm::map_to_vector(
        yield.getOperands(), [&](Value v) { return map.lookup(v); });
    for (auto [k, iterate] : llvm::enumerate(swapped)) {
      if (batched)
        yielded.push_back(arith::XOrIOp::create(
            b, loc, loop.getRegionIterArgs()[carried + k],
            arith::ConstantOp::create(b, loc, b.getBoolAttr(true))));
      else
        yielded.append({loop.getRegionIterArgs()[carried + 2 * k + 1],
                        loop.getRegionIterArgs()[carried + 2 * k]});
      epilogueWrites.erase(iterate);
    }
    setYield(loop, yielded);
    b.setInsertionPointAfter(loop);
    for (auto [from, to] : llvm::zip(forOp.getResults(), loop.getResults()))
      map.map(from, to);
    // After the loop the iterate is in the buffer the last update wrote.
    for (auto [k, iterate] : llvm::enumerate(swapped)) {
      if (batched) {
        Swap &swap = swaps[iterate];
        swap.flag = loop.getResults()[carried + k];
        map.map(iterate, swap.firstMember(b, loc));
        continue;
      }
      map.map(iterate, loop.getResults()[carried + 2 * k]);
    }
  }

  void emitIf(scf::IfOp ifOp) {
    auto branch = scf::IfOp::create(b, loc, ifOp.getResultTypes(),
                                    map.lookup(ifOp.getCondition()),
                                    /*withElseRegion=*/true);
    auto emitBranch = [&](Block *from, Block *to) {
      OpBuilder::InsertionGuard guard(b);
      if (!to->empty() && isa<scf::YieldOp>(to->back()))
        to->back().erase();
      b.setInsertionPointToEnd(to);
      SmallVector<Value> yielded;
      if (from) {
        emitBlock(*from);
        yielded = llvm::map_to_vector(from->getTerminator()->getOperands(),
                                      [&](Value v) { return map.lookup(v); });
      }
      scf::YieldOp::create(b, loc, yielded);
    };
    // Both branches start from the state before the if (the condition is
    // uniform: all threads take one), and either may have run.
    Hazards before = hazards;
    emitBranch(ifOp.thenBlock(), branch.thenBlock());
    Hazards afterThen = hazards;
    hazards = before;
    emitBranch(ifOp.elseBlock(), branch.elseBlock());
    hazards.join(afterThen);
    for (auto [from, to] : llvm::zip(ifOp.getResults(), branch.getResults()))
      map.map(from, to);
  }

  //===--------------------------------------------------------------===//
  // Grid-wide work
  //===--------------------------------------------------------------===//

  SmallVector<Value> loopSizesOf(linalg::GenericOp generic) {
    SmallVector<Value> sizes;
    for (Range range : cast<linalg::LinalgOp>(generic.getOperation())
                           .createLoopRanges(b, loc))
      sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, range.size));
    return sizes;
  }

  /// `generic` over one loop, when its loops are all parallel or all
  /// reductions and every buffer it reads or writes holds them in its own
  /// row-major order (an identity map on a contiguous buffer) or none of
  /// them (a scalar): the one loop's index is then each element's offset,
  /// which several loops would carry as digits instead. Null otherwise.
  linalg::GenericOp flattened(linalg::GenericOp generic) {
    unsigned rank = generic.getNumLoops();
    if (rank < 2 || generic.hasIndexSemantics() ||
        !llvm::all_equal(generic.getIteratorTypesArray()))
      return nullptr;
    for (OpOperand &operand : generic->getOpOperands()) {
      auto type = dyn_cast<MemRefType>(operand.get().getType());
      AffineMap map = generic.getMatchingIndexingMap(&operand);
      if (type && map.getNumResults() != 0 &&
          !(map.isIdentity() && type.getLayout().isIdentity()))
        return nullptr;
    }
    IRRewriter rewriter(b);
    rewriter.setInsertionPoint(generic);
    ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    FailureOr<linalg::CollapseResult> collapsed =
        linalg::collapseOpIterationDims(generic, {all}, rewriter);
    if (failed(collapsed))
      return nullptr;
    rewriter.eraseOp(generic);
    auto flat = cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation());
    for (Value operand : flat->getOperands())
      if (auto view = operand.getDefiningOp<memref::CollapseShapeOp>();
          view && gradViews.contains(view.getSrc()))
        gradViews.insert(view);
    return flat;
  }

  /// Whether `source` runs as per-thread partials, a grid barrier, then
  /// their fold (splitReduction, chunksPerPoint): a batch runs each half
  /// for every member, with one barrier between (Part).
  bool splitsAtBarrier(linalg::GenericOp source) {
    if (tensorCoreContraction(source, source))
      return false;
    SmallVector<unsigned> parallel, reduction;
    for (auto [d, type] : llvm::enumerate(source.getIteratorTypesArray()))
      (type == utils::IteratorType::parallel ? parallel : reduction)
          .push_back(d);
    if (!parallel.empty() && !reduction.empty() && splittable(source) &&
        lanesCoalesce(source))
      return false;
    if (!parallel.empty())
      return usesPartials(source);
    return !reduction.empty() && splittable(source);
  }

  /// One linalg op over the grid: each thread takes points of the parallel
  /// loops (grid-stride over their flattened space) and runs the reduction
  /// loops of each point itself; or, when the reduction runs along rows in
  /// memory (a row norm), each warp takes points and its lanes share their
  /// reductions. A reduction with no parallel loop is split into per-warp
  /// partials combined in a fixed order (reproducible for a given grid).
  /// Both splits need a known combiner.
  void emitGeneric(linalg::GenericOp source, Part part = Part::Whole) {
    auto generic = cast<linalg::GenericOp>(b.clone(*source, map));
    SmallVector<Value> sizes = loopSizesOf(generic);
    if (part == Part::Whole && tensorCores &&
        emitOnTensorCores(source, generic, sizes)) {
      notePhaseWork(source, matmulMirrored ? "matmul, symmetric" : "matmul");
      generic.erase();
      return;
    }
    if (part != Part::Fold)
      notePhaseWork(source, generic.getNumReductionLoops() == 0 ? "element-wise"
                                                                : "reduction");
    emitOverGrid(generic, part);
  }

  /// emitGeneric's op (a clone, erased here) over the grid's threads.
  void emitOverGrid(linalg::GenericOp generic, Part part) {
    if (linalg::GenericOp flat = flattened(generic))
      generic = flat;
    SmallVector<Value> sizes = loopSizesOf(generic);
    SmallVector<unsigned> parallel, reduction;
    for (auto [d, type] : llvm::enumerate(generic.getIteratorTypesArray()))
      (type == utils::IteratorType::parallel ? parallel : reduction)
          .push_back(d);
    SmallVector<Value> ivs(sizes.size());

    // One point of the parallel loops, its reductions run serially.
    auto point = [&] {
      SmallVector<Value> outs = loadOutputs(generic, ivs);
      SmallVector<Value> results =
          reduction.empty()
              ? computeAt(generic, ivs, outs)
              : reduceSerially(generic, reduction, sizes, ivs, outs);
      storeOutputs(generic, ivs, results);
    };
    if (!parallel.empty() && reduction.empty())
      emitElementwise(generic, parallel, sizes, ivs, point);
    else if (!parallel.empty() && !reduction.empty() && splittable(generic) &&
             lanesCoalesce(generic))
      warpPerPoint(generic, parallel, reduction, sizes, ivs);
    else if (!parallel.empty() && usesPartials(generic))
      chunksPerPoint(generic, parallel, reduction, sizes, ivs, point, part);
    else if (!parallel.empty())
      gridStride(parallel, sizes, ivs, point);
    else if (!reduction.empty() && splittable(generic))
      splitReduction(generic, reduction, sizes, ivs, part);
    else
      onThreadZero(point);
    generic.erase();
  }

  /// `generic` as a bf16 contraction, when it is one (TensorCoreMatmul.h);
  /// `source` is the function's generic it is, or is cloned from.
  std::optional<stepc::detail::Bf16Contraction>
  tensorCoreContraction(linalg::GenericOp source, linalg::GenericOp generic) {
    if (!tensorCores)
      return std::nullopt;
    return stepc::detail::matchBf16Contraction(
        generic,
        [&](unsigned n) {
          return stepc::detail::holdsBf16ExactValues(
              *source.getDpsInputOperand(n));
        },
        [&](unsigned n) {
          return stepc::holdsSymmetricValues(*source.getDpsInputOperand(n));
        });
  }

  /// Whether `op`, or an op inside it, uses `buffer`.
  static bool touches(Operation *op, Value buffer) {
    return llvm::any_of(buffer.getUsers(),
                        [&](Operation *user) { return op->isAncestor(user); });
  }

  /// The tensor-core matmul that next touches the buffer `op` fills, when
  /// `op` is a fill and the matmul accumulates into all of that buffer.
  /// The matmul then adds its products to the fill's value instead of
  /// loading it, and the fill is not emitted: a pass over the buffer that
  /// writes it, and one that reads it back, fewer (Newton–Schulz's P·X
  /// per iteration).
  linalg::GenericOp matmulOverFill(Operation &op) {
    auto fill = dyn_cast<linalg::GenericOp>(op);
    if (!tensorCores || !fill || !stepc::detail::filledValue(fill))
      return {};
    // A buffer of the function's own, without views: its users are all
    // its accesses.
    Value buffer = fill.getDpsInits()[0];
    if (!buffer.getDefiningOp<memref::AllocOp>() ||
        !llvm::all_of(buffer.getUsers(), [](Operation *user) {
          return isa<linalg::GenericOp, memref::CopyOp, memref::LoadOp,
                     memref::StoreOp, memref::DimOp, memref::DeallocOp>(user);
        }))
      return {};
    for (Operation *next = op.getNextNode(); next; next = next->getNextNode()) {
      if (!touches(next, buffer))
        continue;
      auto matmul = dyn_cast<linalg::GenericOp>(next);
      if (matmul && matmul.getNumDpsInits() == 1 &&
          matmul.getDpsInits()[0] == buffer &&
          tensorCoreContraction(matmul, matmul))
        return matmul;
      return {};
    }
    return {};
  }

  /// The value of the fill left to `matmul` (matmulOverFill), or null.
  Value fillLeftTo(linalg::GenericOp matmul) {
    Value buffer = matmul.getDpsInits()[0];
    for (Operation *prev = matmul->getPrevNode(); prev;
         prev = prev->getPrevNode()) {
      if (!touches(prev, buffer))
        continue;
      auto fill = dyn_cast<linalg::GenericOp>(prev);
      return fill && matmulOverFill(*prev) == matmul
                 ? stepc::detail::filledValue(fill)
                 : Value();
    }
    return {};
  }

  /// Whether `op` writes `buffer` (a store, or an init of a generic or a
  /// copy's target), looking inside it.
  static bool writes(Operation *op, Value buffer) {
    return llvm::any_of(buffer.getUses(), [&](OpOperand &use) {
      Operation *user = use.getOwner();
      if (!op->isAncestor(user))
        return false;
      if (auto generic = dyn_cast<linalg::GenericOp>(user))
        return generic.isDpsInit(&use);
      if (auto copy = dyn_cast<memref::CopyOp>(user))
        return copy.getTarget() == buffer;
      auto store = dyn_cast<memref::StoreOp>(user);
      return store && store.getMemRef() == buffer;
    });
  }

  /// The element-wise generic that the tensor-core matmul `op` computes in
  /// its stores (an epilogue): the next op to touch the matmul's output,
  /// when it reads that output, and all it touches, at the point the
  /// matmul stores (identity maps over the output's shape). Newton–Schulz's
  /// A² stores P = bf16(b·A + c·A²) that way (stepc-materialize-rounded-
  /// factors): no pass over A² and no grid barrier before one.
  linalg::GenericOp epilogueOf(Operation &op) {
    auto matmul = dyn_cast<linalg::GenericOp>(op);
    if (!tensorCores || !matmul || matmul.getNumDpsInits() != 1 ||
        !tensorCoreContraction(matmul, matmul))
      return {};
    Value output = matmul.getDpsInits()[0];
    if (!output.getDefiningOp<memref::AllocOp>())
      return {};
    Operation *next = op.getNextNode();
    while (next && !touches(next, output))
      next = next->getNextNode();
    auto epilogue = dyn_cast_or_null<linalg::GenericOp>(next);
    if (!epilogue || epilogue.getNumLoops() != 2 ||
        epilogue.getNumReductionLoops() != 0 || epilogue.hasIndexSemantics() ||
        llvm::is_contained(epilogue.getDpsInits(), output) ||
        !llvm::all_of(epilogue->getOpOperands(), [&](OpOperand &operand) {
          return !isa<MemRefType>(operand.get().getType()) ||
                 epilogue.getMatchingIndexingMap(&operand).isIdentity();
        }))
      return {};
    // It runs while other blocks still multiply: it must not write what
    // the matmul reads, and the ops it moves ahead of must not touch its
    // buffers. All it reads must exist at the matmul (its outputs' buffers
    // are mapped early, as allocs are only views of the scratch).
    SetVector<Value> reads(llvm::from_range, epilogue->getOperands());
    getUsedValuesDefinedAbove(epilogue.getRegion(), reads);
    for (Value value : reads) {
      if (isa<MemRefType>(value.getType())) {
        if (value != output && writes(&op, value))
          return {};
        for (Operation *between = op.getNextNode(); between != next;
             between = between->getNextNode())
          if (touches(between, value))
            return {};
      }
      Operation *def = value.getDefiningOp();
      if (!def || def->getBlock() != op.getBlock() || def->isBeforeInBlock(&op))
        continue;
      auto alloc = dyn_cast<memref::AllocOp>(def);
      if (!alloc || !llvm::all_of(alloc->getOperands(), [&](Value size) {
            Operation *sizeDef = size.getDefiningOp();
            return !sizeDef || sizeDef->getBlock() != op.getBlock() ||
                   sizeDef->isBeforeInBlock(&op);
          }))
        return {};
    }
    // A buffer the matmul reads may be written only when it has a partner
    // to write instead (pairIterates; emitFor swaps the two).
    for (Value init : epilogue.getDpsInits())
      if (llvm::is_contained(matmul.getDpsInputs(), init) &&
          !(current && current->k->main.partners.count(init) &&
            op.getParentOfType<scf::ForOp>() &&
            !op.getParentOfType<scf::ForOp>()->isAncestor(
                init.getParentBlock()->getParentOp())))
        return {};
    return epilogue;
  }

  /// The tensor-core matmul whose epilogue `op` is (epilogueOf), or null.
  linalg::GenericOp matmulBefore(Operation &op) {
    auto epilogue = dyn_cast<linalg::GenericOp>(op);
    if (!tensorCores || !epilogue)
      return {};
    for (Value input : epilogue.getDpsInputs()) {
      if (!isa<MemRefType>(input.getType()))
        continue;
      Operation *prev = op.getPrevNode();
      while (prev && !touches(prev, input))
        prev = prev->getPrevNode();
      if (prev && epilogueOf(*prev) == epilogue)
        return cast<linalg::GenericOp>(prev);
    }
    return {};
  }

  /// Whether anything but `matmul`, its epilogue and a fill left to it
  /// reads or writes the matmul's output: else the epilogue is all that
  /// reads it, and the matmul need not store it.
  bool outputUsedBeyond(linalg::GenericOp matmul, linalg::GenericOp epilogue) {
    Value output = matmul.getDpsInits()[0];
    return llvm::any_of(output.getUsers(), [&](Operation *user) {
      if (user == matmul || user == epilogue ||
          isa<memref::DimOp, memref::DeallocOp>(user))
        return false;
      auto fill = dyn_cast<linalg::GenericOp>(user);
      return !fill || matmulOverFill(*fill) != matmul;
    });
  }

  /// `generic` (cloned from `source`) as a warp-tiled mma.sync loop, when
  /// it is a bf16 contraction (TensorCoreMatmul.h).
  bool emitOnTensorCores(linalg::GenericOp source, linalg::GenericOp generic,
                         ArrayRef<Value> sizes) {
    std::optional<stepc::detail::Bf16Contraction> contraction =
        tensorCoreContraction(source, generic);
    if (!contraction)
      return false;
    matmulMirrored = contraction->mirrored;
    OpOperand *init = generic.getDpsInitOperand(0);
    auto valueAt = [&](Value value, ArrayRef<Value> ivs) {
      return evaluateAt(generic, value, ivs);
    };
    Value filled = fillLeftTo(source);
    auto loadOutput = [&](ArrayRef<Value> ivs) -> Value {
      if (filled)
        return memberValue(filled);
      return memref::LoadOp::create(b, loc, init->get(),
                                    indicesOf(generic, init, ivs));
    };
    linalg::GenericOp epilogue = epilogueOf(*source), epilogueClone;
    bool storesOutput = true;
    if (epilogue) {
      for (Value operand : epilogue->getOperands())
        if (auto alloc = operand.getDefiningOp<memref::AllocOp>();
            alloc && !map.contains(operand))
          emitOp(*alloc);
      // An iterate the loop swaps is written into its other buffer.
      IRMapping epilogueMap = map;
      for (auto [iterate, other] : epilogueWrites)
        epilogueMap.map(iterate, other);
      epilogueClone = cast<linalg::GenericOp>(b.clone(*epilogue, epilogueMap));
      storesOutput = outputUsedBeyond(source, epilogue);
    }
    auto storeOutput = [&](Value value, ArrayRef<Value> ivs) {
      SmallVector<Value> at = indicesOf(generic, init, ivs);
      if (storesOutput)
        memref::StoreOp::create(b, loc, value, init->get(), at);
      if (!epilogueClone)
        return;
      // The epilogue's point is the output's element: identity maps.
      SmallVector<std::pair<unsigned, Value>> given;
      for (OpOperand *input : epilogue.getDpsInputOperands())
        if (input->get() == source.getDpsInits()[0])
          given.push_back({input->getOperandNumber(), value});
      storeOutputs(
          epilogueClone, at,
          computeAt(epilogueClone, at, loadOutputs(epilogueClone, at), given));
    };
    // The bf16 matrix `factor` is the extf of, read at (line, k) when
    // `alongK`, at (k, line) otherwise; null if it is anything else.
    auto bf16MatrixOf = [&](Value factor, bool alongK) -> Value {
      auto ext = factor.getDefiningOp<arith::ExtFOp>();
      auto arg = ext ? dyn_cast<BlockArgument>(ext.getIn()) : BlockArgument();
      if (!arg || arg.getOwner() != &generic.getRegion().front() ||
          arg.getArgNumber() >= generic.getNumDpsInputs())
        return {};
      OpOperand *input = generic.getDpsInputOperand(arg.getArgNumber());
      auto type = dyn_cast<MemRefType>(input->get().getType());
      AffineMap indexing = generic.getMatchingIndexingMap(input);
      if (!type || type.getRank() != 2 || !type.getElementType().isBF16() ||
          gradViews.contains(input->get()) || indexing.getNumResults() != 2 ||
          !isa<AffineDimExpr>(indexing.getResult(0)) ||
          !isa<AffineDimExpr>(indexing.getResult(1)) ||
          indexing.getResult(0) == indexing.getResult(1))
        return {};
      AffineExpr k = b.getAffineDimExpr(contraction->reductionDim);
      return indexing.getResult(alongK ? 1 : 0) == k ? input->get() : Value();
    };
    // Read at (line, k): a row. Read at (k, line): a row too when the
    // matrix is symmetric (bf16(A) on the right of A²).
    auto bf16RowsOf = [&](Value factor) -> Value {
      if (Value rows = bf16MatrixOf(factor, /*alongK=*/true))
        return rows;
      Value cols = bf16MatrixOf(factor, /*alongK=*/false);
      auto arg = cols ? cast<BlockArgument>(
                            factor.getDefiningOp<arith::ExtFOp>().getIn())
                      : BlockArgument();
      return cols && stepc::holdsSymmetricValues(
                         *source.getDpsInputOperand(arg.getArgNumber()))
                 ? cols
                 : Value();
    };
    auto bf16ColsOf = [&](Value factor) {
      return bf16MatrixOf(factor, /*alongK=*/false);
    };
    stepc::detail::emitTensorCoreMatmul(
        b, loc, *contraction, sizes,
        {blockId, gridDim, matmulTile, matmulStages, sharedTiles(), valueAt,
         bf16RowsOf, bf16ColsOf, loadOutput, storeOutput,
         stepc::holdsOneValue(*source.getDpsInitOperand(0)), matmulWholeTiles,
         memberIndex, matmulWgmma});
    if (epilogueClone)
      epilogueClone.erase();
    return true;
  }

  /// The address of the shared memory the tensor-core loops stage their
  /// operands in: one module-level `.shared` array, which each kernel that
  /// refers to it gets a copy of per block. Up to 48 KiB it is static;
  /// beyond, it is an external array of no size, PTX's dynamic shared
  /// memory, whose bytes the launch gives (dynamicSharedBytes).
  Value sharedTiles() {
    auto sharedPtr =
        LLVM::LLVMPointerType::get(ctx, stepc::kSharedAddressSpace);
    int64_t bytes =
        stepc::detail::tensorCoreSharedBytes(matmulTile, matmulStages);
    bool dynamic = bytes > stepc::kMaxStaticSharedBytes;
    if (dynamic)
      dynamicSharedBytes = bytes;
    auto global =
        gpuModule.lookupSymbol<LLVM::GlobalOp>(stepc::kSharedTilesName);
    if (!global) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(gpuModule.getBody());
      auto type =
          LLVM::LLVMArrayType::get(b.getI32Type(), dynamic ? 0 : bytes / 4);
      global = LLVM::GlobalOp::create(
          b, loc, type, /*isConstant=*/false,
          dynamic ? LLVM::Linkage::External : LLVM::Linkage::Internal,
          stepc::kSharedTilesName, Attribute(), /*alignment=*/16,
          stepc::kSharedAddressSpace);
    }
    return LLVM::AddressOfOp::create(b, loc, sharedPtr,
                                     stepc::kSharedTilesName);
  }

  void emitCopy(memref::CopyOp copy) {
    notePhaseWork(copy, "copy");
    Value source = map.lookup(copy.getSource());
    Value target = map.lookup(copy.getTarget());
    // As the element-wise op it is: its points go to the threads as
    // theirs do (groupStride), in vectors where they fit.
    unsigned rank = cast<MemRefType>(source.getType()).getRank();
    AffineMap identity = b.getMultiDimIdentityMap(rank);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{}, ValueRange{source}, ValueRange{target},
        ArrayRef<AffineMap>{identity, identity},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          linalg::YieldOp::create(nested, nestedLoc, args.front());
        });
    emitOverGrid(generic, Part::Whole);
  }

  //===--------------------------------------------------------------===//
  // Element-wise work, in groups of points
  //===--------------------------------------------------------------===//

  /// How the lanes of a group (consecutive points along the innermost
  /// loop) reach an operand.
  enum class LaneAccess {
    /// At consecutive elements: one vector access for the group.
    Contiguous,
    /// At one element: one access for the group.
    Broadcast,
    /// Elsewhere (a transposed read): an access per lane.
    Gathered,
  };

  LaneAccess laneAccessOf(linalg::GenericOp generic, OpOperand &operand,
                          unsigned inner) {
    AffineMap map = generic.getMatchingIndexingMap(&operand);
    if (!map.isFunctionOfDim(inner))
      return LaneAccess::Broadcast;
    auto type = cast<MemRefType>(operand.get().getType());
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    bool innerOnlyLast =
        last && last.getPosition() == inner &&
        llvm::count_if(map.getResults(), [&](AffineExpr result) {
          return result.isFunctionOfDim(inner);
        }) == 1;
    // Whole bytes per element: a vector of them has an alignment.
    if (innerOnlyLast && type.getLayout().isIdentity() &&
        type.getElementType().isIntOrFloat() &&
        type.getElementTypeBitWidth() % 8 == 0)
      return LaneAccess::Contiguous;
    return LaneAccess::Gathered;
  }

  /// The bytes of a group's elements of `memref`: a vector's size, and
  /// the alignment the kernel checks before it takes vectors.
  int64_t groupBytesOf(Value memref) {
    return stepc::kGpuVectorWidth *
           cast<MemRefType>(memref.getType()).getElementTypeBitWidth() / 8;
  }

  /// An element-wise op over the grid, in groups of kGpuVectorWidth
  /// consecutive points (groupStride). When the innermost loop's size is a
  /// multiple of the width and every operand the group reaches at
  /// consecutive elements is aligned to the group's bytes (uniform over
  /// the grid), those accesses are vectors: 16 bytes of f32, where a
  /// thread's scalar loads leave too few bytes in flight to reach the
  /// memory's bandwidth. Otherwise the group's points run one by one.
  void emitElementwise(linalg::GenericOp generic, ArrayRef<unsigned> dims,
                       ArrayRef<Value> sizes, SmallVector<Value> &ivs,
                       llvm::function_ref<void()> point) {
    unsigned inner = dims.back();
    DenseMap<unsigned, LaneAccess> access; // by operand number
    bool anyContiguous = false, outputsApart = true;
    for (OpOperand &operand : generic->getOpOperands()) {
      if (!isa<MemRefType>(operand.get().getType()))
        continue;
      LaneAccess kind = laneAccessOf(generic, operand, inner);
      access[operand.getOperandNumber()] = kind;
      anyContiguous |= kind == LaneAccess::Contiguous;
      // Lanes that would store one element: left to the points' order.
      if (generic.isDpsInit(&operand) && kind == LaneAccess::Broadcast)
        outputsApart = false;
    }
    Value inVectors;
    if (vectorElementwise && anyContiguous && outputsApart) {
      Value width = index(stepc::kGpuVectorWidth);
      inVectors = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::RemUIOp::create(b, loc, sizes[inner], width), index(0));
      for (OpOperand &operand : generic->getOpOperands()) {
        auto kind = access.find(operand.getOperandNumber());
        if (kind == access.end() || kind->second != LaneAccess::Contiguous)
          continue;
        Value memref = operand.get();
        int64_t bytes = groupBytesOf(memref);
        Value address =
            memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
        Value aligned = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::eq,
            arith::AndIOp::create(b, loc, address, index(bytes - 1)), index(0));
        inVectors = arith::AndIOp::create(b, loc, inVectors, aligned);
      }
    }
    groupStride(
        dims, sizes, ivs, inVectors,
        [&] { emitGroupInVectors(generic, inner, access, ivs); }, point);
  }

  /// for (g = thread; g < ⌈Π sizes[dims] / width⌉; g += threads): the
  /// group of points g · width to g · width + width - 1 (row-major, the
  /// last dim fastest; ivs[dims] its first), by `inVectors ? group :
  /// point at each`. Point e is thread (e / width) mod threads's either
  /// way, which Accesses calls pointwise: a vector op may follow a
  /// point-by-point one on the same buffer without a barrier. A null
  /// `inVectors` leaves the points only.
  void groupStride(ArrayRef<unsigned> dims, ArrayRef<Value> sizes,
                   SmallVector<Value> &ivs, Value inVectors,
                   llvm::function_ref<void()> group,
                   llvm::function_ref<void()> point) {
    Value width = index(stepc::kGpuVectorWidth);
    Value total = pointsOf(dims, sizes);
    Value first = arith::MulIOp::create(b, loc, threadIndex, width);
    Value step = arith::MulIOp::create(b, loc, numThreads, width);
    auto pointByPoint = [&] {
      pointLoop(dims, sizes, ivs, first, total, step, [&](Value at) {
        // The group's points: ivs already hold at's digits.
        Value end = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, at, width), total);
        pointLoop(
            dims, sizes, ivs, at, end, index(1), [&](Value) { point(); }, {},
            nullptr, nullptr,
            /*atIvs=*/true);
      });
    };
    if (!inVectors) {
      pointByPoint();
      return;
    }
    auto ifVectors =
        scf::IfOp::create(b, loc, inVectors, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifVectors.thenBlock());
    pointLoop(dims, sizes, ivs, first, total, step, [&](Value) { group(); });
    b.setInsertionPointToStart(ifVectors.elseBlock());
    pointByPoint();
  }

  /// The group at ivs (its innermost index a multiple of the width, the
  /// group inside one row): each operand loaded as `access` says, the body
  /// cloned per lane, the outputs stored likewise.
  void emitGroupInVectors(linalg::GenericOp generic, unsigned inner,
                          const DenseMap<unsigned, LaneAccess> &access,
                          ArrayRef<Value> ivs) {
    constexpr int64_t width = stepc::kGpuVectorWidth;
    SmallVector<SmallVector<Value>> laneIvs(width, SmallVector<Value>(ivs));
    for (int64_t lane = 1; lane < width; ++lane)
      laneIvs[lane][inner] =
          arith::AddIOp::create(b, loc, ivs[inner], index(lane));
    auto alignmentOf = [&](Value memref) {
      return llvm::MaybeAlign(groupBytesOf(memref));
    };
    auto loadLanes = [&](OpOperand &operand, bool unscaled) {
      Value memref = operand.get();
      auto loadAt = [&](ArrayRef<Value> at) {
        SmallVector<Value> indices = indicesOf(generic, &operand, at);
        return unscaled
                   ? loadUnscaled(memref, indices)
                   : Value(memref::LoadOp::create(b, loc, memref, indices));
      };
      SmallVector<Value> lanes;
      switch (access.lookup(operand.getOperandNumber())) {
      case LaneAccess::Contiguous: {
        Type element = cast<MemRefType>(memref.getType()).getElementType();
        Value vector =
            vector::LoadOp::create(b, loc, VectorType::get({width}, element),
                                   memref, indicesOf(generic, &operand, ivs),
                                   /*nontemporal=*/false, alignmentOf(memref));
        bool grad = unscaled && gradViews.contains(memref);
        for (int64_t lane = 0; lane < width; ++lane) {
          Value value = vector::ExtractOp::create(b, loc, vector, lane);
          lanes.push_back(grad ? unscale(value, gradScale) : value);
        }
        break;
      }
      case LaneAccess::Broadcast:
        lanes.assign(width, loadAt(ivs));
        break;
      case LaneAccess::Gathered:
        for (int64_t lane = 0; lane < width; ++lane)
          lanes.push_back(loadAt(laneIvs[lane]));
        break;
      }
      return lanes;
    };

    SmallVector<SmallVector<std::pair<unsigned, Value>>> given(width);
    for (OpOperand *input : generic.getDpsInputOperands()) {
      if (!isa<MemRefType>(input->get().getType()))
        continue;
      for (auto [lane, value] :
           llvm::enumerate(loadLanes(*input, /*unscaled=*/true)))
        given[lane].push_back({input->getOperandNumber(), value});
    }
    SmallVector<SmallVector<Value>> outs(width);
    for (OpOperand &init : generic.getDpsInitsMutable()) {
      BlockArgument arg = generic.getMatchingBlockArgument(&init);
      SmallVector<Value> lanes =
          arg.use_empty()
              ? SmallVector<Value>(width,
                                   arith::ConstantOp::create(
                                       b, loc, b.getZeroAttr(arg.getType())))
              : loadLanes(init, /*unscaled=*/false);
      for (int64_t lane = 0; lane < width; ++lane)
        outs[lane].push_back(lanes[lane]);
    }
    SmallVector<SmallVector<Value>> results;
    for (int64_t lane = 0; lane < width; ++lane)
      results.push_back(
          computeAt(generic, laneIvs[lane], outs[lane], given[lane]));

    for (auto [r, init] : llvm::enumerate(generic.getDpsInitsMutable())) {
      Value memref = init.get();
      if (access.lookup(init.getOperandNumber()) == LaneAccess::Contiguous) {
        size_t result = r; // C++17 lambdas cannot capture bindings
        SmallVector<Value> lanes =
            llvm::map_to_vector(results, [&](ArrayRef<Value> laneResults) {
              return laneResults[result];
            });
        Type element = cast<MemRefType>(memref.getType()).getElementType();
        Value vector = vector::FromElementsOp::create(
            b, loc, VectorType::get({width}, element), lanes);
        vector::StoreOp::create(b, loc, vector, memref,
                                indicesOf(generic, &init, ivs),
                                /*nontemporal=*/false, alignmentOf(memref));
        continue;
      }
      for (int64_t lane = 0; lane < width; ++lane)
        memref::StoreOp::create(b, loc, results[lane][r], memref,
                                indicesOf(generic, &init, laneIvs[lane]));
    }
  }

  /// for (i = thread; i < Π sizes[dims]; i += threads): ivs[dims] = i
  /// delinearized (the last dim fastest, so neighbouring threads touch
  /// neighbouring elements), then `body`.
  void gridStride(
      ArrayRef<unsigned> dims, ArrayRef<Value> sizes, SmallVector<Value> &ivs,
      llvm::function_ref<void()> body, ValueRange iterArgs = {},
      llvm::function_ref<SmallVector<Value>(ValueRange)> iterBody = nullptr,
      SmallVector<Value> *results = nullptr) {
    strideLoop(dims, sizes, ivs, threadIndex, numThreads, body, iterArgs,
               iterBody, results);
  }

  /// for (i = first; i < Π sizes[dims]; i += step): ivs[dims] = i
  /// delinearized (the last dim fastest), then `body`; or, with
  /// `iterBody`, the loop carries `iterArgs` and leaves its results in
  /// `results`.
  void strideLoop(
      ArrayRef<unsigned> dims, ArrayRef<Value> sizes, SmallVector<Value> &ivs,
      Value first, Value step, llvm::function_ref<void()> body,
      ValueRange iterArgs = {},
      llvm::function_ref<SmallVector<Value>(ValueRange)> iterBody = nullptr,
      SmallVector<Value> *results = nullptr) {
    pointLoop(
        dims, sizes, ivs, first, pointsOf(dims, sizes), step,
        [&](Value) { body(); }, iterArgs, iterBody, results);
  }

  /// for (i = lower; i < upper; i += step), i a point of the loops `dims`
  /// (upper at most their points), as strideLoop. The loop carries
  /// ivs[dims] and adds step's digits to them, a carry passing from each
  /// dim to the next: dividing i by the sizes instead costs a 64-bit
  /// division and remainder per dim and point, long sequences on a GPU
  /// that bounded the element-wise passes. `body` takes i. With `atIvs`,
  /// ivs[dims] already hold lower's digits, and a step of constant 1 adds
  /// one to the last digit: no division at all.
  void pointLoop(
      ArrayRef<unsigned> dims, ArrayRef<Value> sizes, SmallVector<Value> &ivs,
      Value lower, Value upper, Value step,
      llvm::function_ref<void(Value)> body, ValueRange iterArgs = {},
      llvm::function_ref<SmallVector<Value>(ValueRange)> iterBody = nullptr,
      SmallVector<Value> *results = nullptr, bool atIvs = false) {
    // One dim is i itself.
    bool carried = dims.size() > 1;
    SmallVector<Value> inits;
    SmallVector<Value> strides(sizes.size());
    if (carried) {
      bool unitStep = matchPattern(step, m_One());
      SmallVector<Value> starts(ivs);
      if (!atIvs || !unitStep) {
        // The sizes divide only here, before the loop, where a zero size
        // (no points, the loop never runs) must not trap the host emulator.
        SmallVector<Value> nonzero(sizes.begin(), sizes.end());
        for (unsigned d : dims)
          nonzero[d] = arith::MaxUIOp::create(b, loc, sizes[d], index(1));
        if (!atIvs)
          delinearize(dims, nonzero, lower, starts);
        if (!unitStep)
          delinearize(dims, nonzero, step, strides);
      }
      if (unitStep) {
        for (unsigned d : dims)
          strides[d] = index(0);
        strides[dims.back()] = step;
      }
      for (unsigned d : dims)
        inits.push_back(starts[d]);
    }
    unsigned numCarried = inits.size();
    inits.append(iterArgs.begin(), iterArgs.end());
    auto loop = scf::ForOp::create(b, loc, lower, upper, step, inits);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    ValueRange loopArgs = loop.getRegionIterArgs();
    if (carried) {
      for (auto [k, d] : llvm::enumerate(dims))
        ivs[d] = loopArgs[k];
    } else if (!dims.empty()) {
      ivs[dims.front()] = loop.getInductionVar();
    }
    SmallVector<Value> next;
    if (iterBody)
      next = iterBody(loopArgs.drop_front(numCarried));
    else
      body(loop.getInductionVar());
    if (Block *block = loop.getBody();
        !block->empty() && isa<scf::YieldOp>(block->back()))
      block->back().erase();
    b.setInsertionPointToEnd(loop.getBody());
    SmallVector<Value> yields;
    if (carried)
      yields = advance(dims, sizes, loopArgs.take_front(numCarried), strides);
    yields.append(next);
    scf::YieldOp::create(b, loc, yields);
    if (results)
      *results = SmallVector<Value>(loop.getResults().drop_front(numCarried));
  }

  /// The digits `at` (of the loops `dims`, the last fastest) plus the
  /// digits `strides`: each digit below its size wraps once at most, as
  /// both addends are below it.
  SmallVector<Value> advance(ArrayRef<unsigned> dims, ArrayRef<Value> sizes,
                             ValueRange at, ArrayRef<Value> strides) {
    SmallVector<Value> sums(dims.size());
    Value carry = index(0);
    for (int k = dims.size() - 1; k >= 0; --k) {
      unsigned d = dims[k];
      Value sum = arith::AddIOp::create(
          b, loc, arith::AddIOp::create(b, loc, at[k], strides[d]), carry);
      if (k == 0) { // the outermost dim runs past its size to end the loop
        sums[k] = sum;
        break;
      }
      Value wraps = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                          sum, sizes[d]);
      sums[k] = arith::SelectOp::create(
          b, loc, wraps, arith::SubIOp::create(b, loc, sum, sizes[d]), sum);
      carry = arith::SelectOp::create(b, loc, wraps, index(1), index(0));
    }
    return sums;
  }

  /// The points of the loops `dims`: the product of their sizes.
  Value pointsOf(ArrayRef<unsigned> dims, ArrayRef<Value> sizes) {
    Value total = index(1);
    for (unsigned d : dims)
      total = arith::MulIOp::create(b, loc, total, sizes[d]);
    return total;
  }

  /// ivs[dims] = point `linear` of the loops `dims`, the last dim fastest.
  /// The outermost dim takes what the others leave, without a remainder:
  /// past the last point it runs past its size.
  void delinearize(ArrayRef<unsigned> dims, ArrayRef<Value> sizes, Value linear,
                   SmallVector<Value> &ivs) {
    for (unsigned d : llvm::reverse(dims.drop_front())) {
      ivs[d] = arith::RemUIOp::create(b, loc, linear, sizes[d]);
      linear = arith::DivUIOp::create(b, loc, linear, sizes[d]);
    }
    if (!dims.empty())
      ivs[dims.front()] = linear;
  }

  /// Each warp takes points of the parallel loops (warp-stride, so the
  /// loop is uniform across its lanes); its lanes reduce every 32nd point
  /// of the reduction loops from the identity, and a butterfly of
  /// shuffles combines them; lane 0 folds the result into the output.
  void warpPerPoint(linalg::GenericOp generic, ArrayRef<unsigned> parallel,
                    ArrayRef<unsigned> reduction, ArrayRef<Value> sizes,
                    SmallVector<Value> &ivs) {
    SmallVector<Operation *> combiners = combinersOf(generic);
    SmallVector<Value> identities = identitiesOf(combiners);
    strideLoop(parallel, sizes, ivs, warpIndex(), numWarps(), [&] {
      SmallVector<Value> partials;
      strideLoop(
          reduction, sizes, ivs, laneIndex(), index(stepc::kGpuWarpSize), [] {},
          identities,
          [&](ValueRange accs) { return computeAt(generic, ivs, accs); },
          &partials);
      SmallVector<Value> totals = combineAcrossWarp(partials, combiners);
      for (unsigned d : reduction)
        ivs[d] = Value(); // defined in the loop above; outputs do not use them
      onLaneZero([&] { foldIntoOutputs(generic, ivs, combiners, totals); });
    });
  }

  /// A thread per point of the parallel loops leaves most of the grid idle
  /// when the points are fewer than its threads, each walking a long
  /// reduction alone (a column sum of a tall matrix: 768 threads walk 3072
  /// rows). Each point's reduction is cut into `runs` = threads / points
  /// runs of consecutive reduction points instead: thread t takes point
  /// t % points (neighbouring threads, neighbouring points, as a thread per
  /// point has them) and run t / points, and stores its partials; after a
  /// grid barrier the thread of each point folds its runs' partials in run
  /// order (reproducible for a given grid) into the outputs. With one run
  /// per point (as many points as threads, or more) it is the thread per
  /// point, `point`.
  void chunksPerPoint(linalg::GenericOp generic, ArrayRef<unsigned> parallel,
                      ArrayRef<unsigned> reduction, ArrayRef<Value> sizes,
                      SmallVector<Value> &ivs, llvm::function_ref<void()> point,
                      Part part) {
    Value points = pointsOf(parallel, sizes);
    Value runs = arith::DivUIOp::create(b, loc, numThreads, points);
    // Uniform over the grid, as the barrier inside needs.
    Value split = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, runs,
                                        index(1));
    auto ifSplit = scf::IfOp::create(b, loc, split, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifSplit.elseBlock());
    if (part != Part::Fold)
      gridStride(parallel, sizes, ivs, point);
    b.setInsertionPointToStart(ifSplit.thenBlock());

    SmallVector<Operation *> combiners = combinersOf(generic);
    SmallVector<Value> identities = identitiesOf(combiners);
    if (part != Part::Fold)
      storeRunPartials(generic, parallel, reduction, sizes, ivs, points, runs,
                       identities);
    if (!betweenParts(part, reduction, ivs))
      return;
    pointLoop(parallel, sizes, ivs, threadIndex, points, numThreads,
              [&](Value linearPoint) {
                foldRunPartials(generic, ivs, combiners, identities,
                                linearPoint, points, runs);
              });
  }

  /// chunksPerPoint's second half, at point `linearPoint`: its runs'
  /// partials folded in run order into the outputs.
  void foldRunPartials(linalg::GenericOp generic, SmallVector<Value> &ivs,
                       ArrayRef<Operation *> combiners, ValueRange identities,
                       Value linearPoint, Value points, Value runs) {
    auto fold =
        scf::ForOp::create(b, loc, index(0), runs, index(1), identities);
    {
      OpBuilder::InsertionGuard inFold(b);
      b.setInsertionPointToStart(fold.getBody());
      Value thread = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, fold.getInductionVar(), points),
          linearPoint);
      SmallVector<Value> next;
      for (auto [r, combiner] : llvm::enumerate(combiners)) {
        Value partial = LLVM::LoadOp::create(b, loc, b.getF32Type(),
                                             partialSlot(r, thread));
        next.push_back(combine(combiner, fold.getRegionIterArgs()[r], partial));
      }
      setYield(fold, next);
    }
    foldIntoOutputs(generic, ivs, combiners,
                    SmallVector<Value>(fold.getResults()));
  }

  /// Between a split reduction's partials and their fold: the barrier when
  /// the emitter places it (Part::Whole), and whether the fold follows.
  /// The hazards stay as they were: simulate() plans loops without looking
  /// inside ops, and emission must place the barriers it planned.
  bool betweenParts(Part part, ArrayRef<unsigned> reduction,
                    SmallVector<Value> &ivs) {
    if (part == Part::Whole)
      emitBarrierCall();
    if (part == Part::Partials)
      return false;
    for (unsigned d : reduction)
      ivs[d] =
          Value(); // defined in the partials' loop; outputs do not use them
    return true;
  }

  /// chunksPerPoint's first half: each active thread's run of a point's
  /// reduction, folded from the identities, left in its partials.
  void storeRunPartials(linalg::GenericOp generic, ArrayRef<unsigned> parallel,
                        ArrayRef<unsigned> reduction, ArrayRef<Value> sizes,
                        SmallVector<Value> &ivs, Value points, Value runs,
                        ValueRange identities) {
    Value length = pointsOf(reduction, sizes);
    Value runLength = arith::CeilDivUIOp::create(b, loc, length, runs);
    Value active = arith::MulIOp::create(b, loc, points, runs);
    auto ifActive = scf::IfOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, threadIndex,
                              active));
    {
      OpBuilder::InsertionGuard inRun(b);
      b.setInsertionPointToStart(ifActive.thenBlock());
      delinearize(parallel, sizes,
                  arith::RemUIOp::create(b, loc, threadIndex, points), ivs);
      Value run = arith::DivUIOp::create(b, loc, threadIndex, points);
      Value begin = arith::MulIOp::create(b, loc, run, runLength);
      Value end = arith::MinUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, begin, runLength), length);
      SmallVector<Value> partials;
      pointLoop(
          reduction, sizes, ivs, begin, end, index(1), [](Value) {}, identities,
          [&](ValueRange accs) { return computeAt(generic, ivs, accs); },
          &partials);
      for (auto [r, partial] : llvm::enumerate(partials))
        LLVM::StoreOp::create(b, loc, partial, partialSlot(r, threadIndex));
    }
  }

  /// The reduction loops of one point, run by one thread, the accumulators
  /// in registers.
  SmallVector<Value> reduceSerially(linalg::GenericOp generic,
                                    ArrayRef<unsigned> reduction,
                                    ArrayRef<Value> sizes,
                                    SmallVector<Value> &ivs,
                                    SmallVector<Value> accs) {
    return nest(generic, reduction, sizes, ivs, accs, 0);
  }

  SmallVector<Value> nest(linalg::GenericOp generic, ArrayRef<unsigned> dims,
                          ArrayRef<Value> sizes, SmallVector<Value> &ivs,
                          ValueRange accs, size_t depth) {
    if (depth == dims.size())
      return computeAt(generic, ivs, accs);
    auto loop = scf::ForOp::create(b, loc, index(0), sizes[dims[depth]],
                                   index(1), accs);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    ivs[dims[depth]] = loop.getInductionVar();
    SmallVector<Value> next =
        nest(generic, dims, sizes, ivs, loop.getRegionIterArgs(), depth + 1);
    setYield(loop, next);
    return SmallVector<Value>(loop.getResults());
  }

  SmallVector<Operation *> combinersOf(linalg::GenericOp generic) {
    SmallVector<Operation *> combiners;
    for (unsigned r = 0; r < generic.getNumDpsInits(); ++r)
      combiners.push_back(splittableCombiner(generic, r));
    return combiners;
  }

  SmallVector<Value> identitiesOf(ArrayRef<Operation *> combiners) {
    return llvm::map_to_vector(combiners, [&](Operation *combiner) -> Value {
      return arith::ConstantOp::create(b, loc, identityOf(combiner, b));
    });
  }

  /// `combiner` (a reduction's) applied to `lhs` and `rhs`.
  Value combine(Operation *combiner, Value lhs, Value rhs) {
    return b
        .create(OperationState(loc, combiner->getName(), ValueRange{lhs, rhs},
                               TypeRange{lhs.getType()}, combiner->getAttrs()))
        ->getResult(0);
  }

  /// Each value combined over the 32 lanes of the warp (a butterfly of
  /// shuffles: every lane ends with the same total, summed in the same
  /// order whatever the grid). Every lane of the warp must run it.
  SmallVector<Value> combineAcrossWarp(ArrayRef<Value> values,
                                       ArrayRef<Operation *> combiners) {
    SmallVector<Value> totals(values);
    for (int32_t laneMask = stepc::kGpuWarpSize / 2; laneMask > 0;
         laneMask /= 2)
      for (auto [total, combiner] : llvm::zip(totals, combiners)) {
        Value other =
            gpu::ShuffleOp::create(b, loc, total, laneMask, stepc::kGpuWarpSize,
                                   gpu::ShuffleMode::XOR)
                .getShuffleResult();
        total = combine(combiner, total, other);
      }
    return totals;
  }

  /// The outputs at `ivs`, each combined with its value in `values`.
  void foldIntoOutputs(linalg::GenericOp generic, ArrayRef<Value> ivs,
                       ArrayRef<Operation *> combiners,
                       ArrayRef<Value> values) {
    SmallVector<Value> outs = loadOutputs(generic, ivs, /*all=*/true);
    for (auto [out, combiner, value] : llvm::zip(outs, combiners, values))
      out = combine(combiner, out, value);
    storeOutputs(generic, ivs, outs);
  }

  /// Every thread reduces its share of the whole space from the identity,
  /// each warp combines its lanes', and lane 0 leaves the warp's partial
  /// in the scratch. After a barrier, the grid's first warp folds the
  /// partials (lane l every 32nd from l, then a butterfly) into the
  /// output: one thread folding every thread's partial would be a serial
  /// chain as long as the grid.
  void splitReduction(linalg::GenericOp generic, ArrayRef<unsigned> reduction,
                      ArrayRef<Value> sizes, SmallVector<Value> &ivs,
                      Part part) {
    SmallVector<Operation *> combiners = combinersOf(generic);
    SmallVector<Value> identities = identitiesOf(combiners);
    if (part != Part::Fold) {
      SmallVector<Value> partials;
      gridStride(
          reduction, sizes, ivs, [] {}, identities,
          [&](ValueRange accs) { return computeAt(generic, ivs, accs); },
          &partials);
      SmallVector<Value> warpTotals = combineAcrossWarp(partials, combiners);
      onLaneZero([&] {
        for (auto [r, total] : llvm::enumerate(warpTotals))
          LLVM::StoreOp::create(b, loc, total, partialSlot(r, warpIndex()));
      });
    }
    if (!betweenParts(part, reduction, ivs))
      return;
    Value firstWarp =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, threadIndex,
                              index(stepc::kGpuWarpSize));
    auto ifFirstWarp = scf::IfOp::create(b, loc, firstWarp);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifFirstWarp.thenBlock());
    auto fold = scf::ForOp::create(b, loc, laneIndex(), numWarps(),
                                   index(stepc::kGpuWarpSize), identities);
    {
      OpBuilder::InsertionGuard inFold(b);
      b.setInsertionPointToStart(fold.getBody());
      SmallVector<Value> next;
      for (auto [r, combiner] : llvm::enumerate(combiners)) {
        Value partial = LLVM::LoadOp::create(
            b, loc, b.getF32Type(), partialSlot(r, fold.getInductionVar()));
        next.push_back(combine(combiner, fold.getRegionIterArgs()[r], partial));
      }
      setYield(fold, next);
    }
    SmallVector<Value> totals =
        combineAcrossWarp(SmallVector<Value>(fold.getResults()), combiners);
    onLaneZero([&] { foldIntoOutputs(generic, ivs, combiners, totals); });
  }

  /// Partial `output` of warp `warp` (the scratch keeps room for one per
  /// thread; a warp's lane 0 uses its thread's).
  Value partialSlot(unsigned output, Value warp) {
    Value slot = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, index(output), numThreads), warp);
    return gep(b.getF32Type(),
               memberPartials ? memberPartials : current->partialsBase,
               toI64(slot));
  }

  /// The current values of the outputs at `ivs` (those the body reads, or
  /// `all`; zeros for the others).
  SmallVector<Value> loadOutputs(linalg::GenericOp generic, ArrayRef<Value> ivs,
                                 bool all = false) {
    SmallVector<Value> outs;
    for (OpOperand &init : generic.getDpsInitsMutable()) {
      BlockArgument arg = generic.getMatchingBlockArgument(&init);
      if (!all && arg.use_empty()) {
        outs.push_back(
            arith::ConstantOp::create(b, loc, b.getZeroAttr(arg.getType())));
        continue;
      }
      outs.push_back(memref::LoadOp::create(b, loc, init.get(),
                                            indicesOf(generic, &init, ivs)));
    }
    return outs;
  }

  void storeOutputs(linalg::GenericOp generic, ArrayRef<Value> ivs,
                    ArrayRef<Value> values) {
    for (auto [init, value] : llvm::zip(generic.getDpsInitsMutable(), values))
      memref::StoreOp::create(b, loc, value, init.get(),
                              indicesOf(generic, &init, ivs));
  }

  SmallVector<Value> indicesOf(linalg::GenericOp generic, OpOperand *operand,
                               ArrayRef<Value> ivs) {
    AffineMap indexing = generic.getMatchingIndexingMap(operand);
    SmallVector<Value> dims = llvm::map_to_vector(ivs, [&](Value v) {
      return v ? v : index(0); // dims the map does not use
    });
    return *affine::expandAffineMap(b, loc, indexing, dims);
  }

  /// The generic's body at one point: its inputs loaded there (or, for the
  /// operand numbers in `given`, the values given), the outputs given as
  /// `outs`.
  SmallVector<Value>
  computeAt(linalg::GenericOp generic, ArrayRef<Value> ivs, ValueRange outs,
            ArrayRef<std::pair<unsigned, Value>> given = {}) {
    Block &body = generic.getRegion().front();
    IRMapping point;
    for (OpOperand *input : generic.getDpsInputOperands()) {
      Value value = input->get();
      auto known = llvm::find_if(given, [&](auto &operandAndValue) {
        return operandAndValue.first == input->getOperandNumber();
      });
      if (known != given.end())
        value = known->second;
      else if (isa<MemRefType>(value.getType()))
        value = loadUnscaled(value, indicesOf(generic, input, ivs));
      point.map(generic.getMatchingBlockArgument(input), value);
    }
    for (auto [r, out] : llvm::enumerate(outs))
      point.map(body.getArgument(generic.getNumDpsInputs() + r), out);
    for (Operation &op : body.without_terminator()) {
      if (auto indexOp = dyn_cast<linalg::IndexOp>(op)) {
        point.map(indexOp.getResult(), ivs[indexOp.getDim()]);
        continue;
      }
      b.clone(op, point);
    }
    return llvm::map_to_vector(
        body.getTerminator()->getOperands(),
        [&](Value v) { return point.lookupOrDefault(v); });
  }

  /// One value of the generic's body at `ivs`: the ops it depends on,
  /// cloned, with the inputs they read loaded there.
  Value evaluateAt(linalg::GenericOp generic, Value value,
                   ArrayRef<Value> ivs) {
    SmallVector<BlockArgument> args;
    SmallVector<Operation *> ops = stepc::opsNeededBy(
        generic.getRegion().front(), value, /*leaf=*/{}, &args);
    IRMapping point;
    for (BlockArgument arg : args) {
      if (arg.getArgNumber() >= generic.getNumDpsInputs())
        continue;
      OpOperand *input = generic.getDpsInputOperand(arg.getArgNumber());
      Value loaded = input->get();
      if (isa<MemRefType>(loaded.getType()))
        loaded = loadUnscaled(loaded, indicesOf(generic, input, ivs));
      point.map(arg, loaded);
    }
    for (Operation *op : ops)
      b.clone(*op, point);
    return point.lookupOrDefault(value);
  }

  //===--------------------------------------------------------------===//
  // Gradients, unscaled as they are loaded
  //===--------------------------------------------------------------===//

  /// `memref[indices]`, divided by the grad scale when `memref` views the
  /// gradient.
  Value loadUnscaled(Value memref, ValueRange indices) {
    Value value = memref::LoadOp::create(b, loc, memref, indices);
    return gradViews.contains(memref) ? unscale(value, gradScale) : value;
  }

  /// Unscales, in `cloned` (an op cloned whole, with what it nests), every
  /// load of the gradient, through the views of it taken there too.
  void unscaleGradLoads(Operation *cloned) {
    cloned->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(op)) {
        if (gradViews.contains(view.getViewSource()))
          gradViews.insert(op->getResult(0));
        return;
      }
      auto loadOp = dyn_cast<memref::LoadOp>(op);
      if (!loadOp || !gradViews.contains(loadOp.getMemRef()))
        return;
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointAfter(loadOp);
      Value loaded = loadOp.getResult();
      SmallPtrSet<Operation *, 4> before(loaded.user_begin(),
                                         loaded.user_end());
      Value unscaled = unscale(loaded, gradScale);
      loaded.replaceUsesWithIf(unscaled, [&](OpOperand &use) {
        return before.contains(use.getOwner());
      });
    });
  }

  //===--------------------------------------------------------------===//
  // Synchronization and helpers
  //===--------------------------------------------------------------===//

  /// Ends `loop`'s body with a yield of `values` (replacing the one the
  /// builder may have added).
  void setYield(scf::ForOp loop, ValueRange values) {
    Block *body = loop.getBody();
    if (!body->empty() && isa<scf::YieldOp>(body->back()))
      body->back().erase();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(body);
    scf::YieldOp::create(b, loc, values);
  }

  void barrier() {
    emitBarrierCall();
    hazards.clear();
  }

  /// The barrier of the thread's sub-grid inside a tensor loop, of the
  /// whole grid outside one.
  void emitBarrierCall() {
    ValueRange operands = inTensorLoop ? ValueRange(subgridBarrier)
                                       : ValueRange(gridBarrierOperands);
    auto call = LLVM::CallOp::create(b, loc, gridBarrier, operands);
    // Every thread of the grid must call the same barrier: convergent keeps
    // LLVM from duplicating the call into the branches of an if before it
    // (it did, and thread 0 then hung at another call than its block).
    call.setConvergent(true);
    // The phase it ends, for the phase timeline (addPhaseTimeline).
    call->setAttr(kPhaseAttrName, b.getStringAttr(kNoGridWork));
    for (const std::string &work : phaseWork)
      addPhaseName(call, work);
    phaseWork.clear();
    barrierCalls.push_back(call);
  }

  /// Adds `work` to the names of the phases that barrier `call` ends.
  void addPhaseName(LLVM::CallOp call, StringRef work) {
    StringRef name = call->getAttrOfType<StringAttr>(kPhaseAttrName);
    SmallVector<StringRef> names;
    if (name != kNoGridWork)
      name.split(names, "; ");
    if (!llvm::is_contained(names, work))
      names.push_back(work);
    call->setAttr(kPhaseAttrName, b.getStringAttr(llvm::join(names, "; ")));
  }

  /// Notes that the phase being emitted runs `op` as `kind` of work, named
  /// by where the spec has it ("muon.mlir:24 matmul").
  void notePhaseWork(Operation *op, StringRef kind) {
    std::string where;
    if (auto file = op->getLoc()->findInstanceOf<FileLineColLoc>())
      where = (llvm::sys::path::filename(file.getFilename().getValue()) + ":" +
               Twine(file.getLine()) + " ")
                  .str();
    // Numbered per spec op and kind, in the order they are emitted: a spec
    // op lowers to several (Newton–Schulz: its normalization, the Gram,
    // A², P·X, the update).
    auto [base, detail] = kind.split(", ");
    std::string work = where + base.str() + " " +
                       std::to_string(++opsAt[where + base.str()]) +
                       (detail.empty() ? "" : ", " + detail.str());
    if (!llvm::is_contained(phaseWork, work))
      phaseWork.push_back(work);
  }

  Value isThreadZero() {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, threadIndex,
                                 index(0));
  }

  void onThreadZero(llvm::function_ref<void()> body) {
    auto guard = scf::IfOp::create(b, loc, isThreadZero());
    OpBuilder::InsertionGuard insertion(b);
    b.setInsertionPointToStart(guard.thenBlock());
    body();
  }

  /// Blocks are whole warps (kGpuBlockSize), so a thread's warp and lane
  /// follow from its index in the grid.
  Value laneIndex() {
    return arith::RemUIOp::create(b, loc, threadIndex,
                                  index(stepc::kGpuWarpSize));
  }
  Value warpIndex() {
    return arith::DivUIOp::create(b, loc, threadIndex,
                                  index(stepc::kGpuWarpSize));
  }
  Value numWarps() {
    return arith::DivUIOp::create(b, loc, numThreads,
                                  index(stepc::kGpuWarpSize));
  }

  /// `body` on thread 0 of sub-grid 0 only: for what the whole grid does
  /// once (isThreadZero() holds once per sub-grid).
  void onGridThreadZero(llvm::function_ref<void()> body) {
    Value first = arith::AndIOp::create(
        b, loc, isThreadZero(),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, subgrid,
                              index(0)));
    auto guard = scf::IfOp::create(b, loc, first);
    OpBuilder::InsertionGuard insertion(b);
    b.setInsertionPointToStart(guard.thenBlock());
    body();
  }

  void onLaneZero(llvm::function_ref<void()> body) {
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        laneIndex(), index(0));
    auto guard = scf::IfOp::create(b, loc, first);
    OpBuilder::InsertionGuard insertion(b);
    b.setInsertionPointToStart(guard.thenBlock());
    body();
  }

  /// A memref over `pointer` (global memory) with a row-major layout: the
  /// descriptor built by hand, then cast to the memref type, which the
  /// NVVM lowering turns back into the same descriptor.
  Value viewOf(Value pointer, MemRefType type, ArrayRef<Value> sizes) {
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Value generic = LLVM::AddrSpaceCastOp::create(b, loc, ptr, pointer);
    int64_t rank = type.getRank();
    SmallVector<Type> fields = {ptr, ptr, i64};
    if (rank > 0) {
      fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
      fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    }
    auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields);
    Value desc = LLVM::PoisonOp::create(b, loc, structType);
    desc = LLVM::InsertValueOp::create(b, loc, desc, generic,
                                       ArrayRef<int64_t>{0});
    desc = LLVM::InsertValueOp::create(b, loc, desc, generic,
                                       ArrayRef<int64_t>{1});
    desc = LLVM::InsertValueOp::create(b, loc, desc, constantI64(0),
                                       ArrayRef<int64_t>{2});
    Value stride = constantI64(1);
    for (int64_t d = rank - 1; d >= 0; --d) {
      Value size = toI64(sizes[d]);
      desc = LLVM::InsertValueOp::create(b, loc, desc, size,
                                         ArrayRef<int64_t>{3, d});
      desc = LLVM::InsertValueOp::create(b, loc, desc, stride,
                                         ArrayRef<int64_t>{4, d});
      stride = mul64(stride, size);
    }
    return UnrealizedConversionCastOp::create(b, loc, type, desc).getResult(0);
  }

  Value alignUp(Value bytes) {
    Value up = arith::AddIOp::create(b, loc, bytes,
                                     index(stepc::kScratchAlignment - 1));
    return arith::AndIOp::create(b, loc, up,
                                 index(~(stepc::kScratchAlignment - 1)));
  }
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value toIndex(Value v) {
    return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), v);
  }

public:
  /// memref.global symbols the kernel reads (copied into the gpu.module).
  llvm::SetVector<StringRef> globals;
  /// Bytes of dynamic shared memory per block the kernel's launch has to
  /// give it: its tensor-core stages, when they need more than a kernel
  /// may declare statically; 0 otherwise.
  int64_t dynamicSharedBytes = 0;

private:
  SmallVector<Slot> slots;
  /// The slot whose function is being emitted.
  Slot *current = nullptr;
  LLVM::LLVMFuncOp gridBarrier;
  /// Whether bf16 contractions run on tensor cores, the side of their
  /// block tiles, the k-steps they stage at once, and whether whole tiles
  /// get a k loop without checks, and whether wgmma computes them.
  bool tensorCores;
  int64_t matmulTile, matmulStages;
  bool matmulWholeTiles, matmulWgmma;
  /// The kernel's register cap (0: none).
  int maxRegisters;
  /// Whether element-wise ops may load and store vectors.
  bool vectorElementwise;
  IRMapping map;
  gpu::GPUModuleOp gpuModule;
  Value barrierWord, threadIndex, numThreads, rows, cols;
  /// The sub-grid's block index, block count and first block in the grid;
  /// the sub-grid's index and count; the grid's block count; the
  /// barriers' operands, the sub-grid's and the grid's.
  Value blockId, gridDim, firstBlock, subgrid, numSubgrids, gridBlocks;
  SmallVector<Value, 3> subgridBarrier, gridBarrierOperands;
  /// Whether ops are emitted inside a slot's tensor loop, where barriers
  /// are the sub-grid's.
  bool inTensorLoop = false;
  DenseMap<Operation *, Value> allocOffsets;
  /// The gradient's views in the kernel, and the grad scale they are
  /// divided by when loaded.
  DenseSet<Value> gradViews;
  Value gradScale;
  /// What the threads did since the last barrier.
  Hazards hazards;
  /// What the phase since the last barrier runs (notePhaseWork), the
  /// barrier calls so far, the ops noted per place in the spec and kind,
  /// and whether the last matmul on tensor cores computed a symmetric
  /// product.
  SmallVector<std::string> phaseWork;
  SmallVector<LLVM::CallOp> barrierCalls;
  /// Per loop iterate that emitFor swaps, the buffer its update writes.
  DenseMap<Value, Value> epilogueWrites;
  /// The stage being emitted, and where its totals (then its
  /// contributions) start among the slot's.
  PhasedGroup *currentStage = nullptr;
  unsigned stageFirstTotal = 0;
  /// The batch being stepped: its first position, its tensors, the
  /// sub-grid's positions (the tensor at each), and the bytes of a member's
  /// place for its buffers (docs/Design/Batching.md).
  Value batchFirst, batchMembers, batchSchedule, memberAllocBytes;
  /// In a member loop: the member, its partials, and the values bound to
  /// its own in `map`.
  Value memberIndex, memberPartials;
  DenseSet<Value> memberBound;
  /// The branch (scf.if) whose yields memberValue is placing, or null.
  Operation *branch = nullptr;
  /// In a batched stage, per iterate in two buffers that a loop swaps:
  /// whether it is in its partner now (an i1 the loop carries), and the
  /// partner.
  struct Swap {
    Value flag, partner;
    /// The batch's first member's buffers: the iterate's own and its
    /// partner's.
    Value firstOwn, firstPartner;
    /// The first member's buffer the iterate is in now, or the `other`.
    Value firstMember(OpBuilder &b, Location loc, bool other = false) const {
      return arith::SelectOp::create(b, loc, flag,
                                     other ? firstOwn : firstPartner,
                                     other ? firstPartner : firstOwn);
    }
  };
  DenseMap<Value, Swap> swaps;
  std::map<std::string, int> opsAt;
  bool matmulMirrored = false;
};

/// The software grid barrier of CUDA's cooperative groups (shared/
/// TOOLCHAIN.md §6): one u32 word, zeroed once and never reset. Block 0
/// adds 0x80000000 - (blocks - 1), every other block 1, so bit 31 flips
/// exactly when the last block arrives; each block's thread 0 spins on it,
/// and traps once it has waited `timeoutSeconds` by %globaltimer (0:
/// never). LLVM 22's NVPTX drops orderings on atomicrmw, so the release is
/// a fence.
LLVM::LLVMFuncOp buildGridBarrier(gpu::GPUModuleOp gpuModule, OpBuilder &b,
                                  int64_t timeoutSeconds) {
  Location loc = gpuModule.getLoc();
  MLIRContext *ctx = b.getContext();
  auto globalPtr = LLVM::LLVMPointerType::get(ctx, 1);
  Type i32 = b.getI32Type();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(gpuModule.getBody());
  auto func = LLVM::LLVMFuncOp::create(
      b, loc, stepc::kGridBarrierName,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                  {globalPtr, i32, i32}));
  func.setLinkage(LLVM::Linkage::Internal);
  func.setConvergent(true);
  Block *entry = func.addEntryBlock(b);
  Block *arrive = func.addBlock();
  Block *spin = func.addBlock();
  Block *done = func.addBlock();
  // The word before the thread's add, and (with a timeout) when the thread
  // began to wait.
  spin->addArgument(i32, loc);
  if (timeoutSeconds)
    spin->addArgument(i32, loc);
  Value word = entry->getArgument(0);
  auto constant = [&](int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(v));
  };
  // %globaltimer in units of 1024 ns, in 32 bits: it wraps after 73
  // minutes, and the difference of two readings is right across a wrap.
  constexpr int64_t kTimerShift = 10;
  auto now = [&]() -> Value {
    Type i64 = b.getI64Type();
    Value shifted = LLVM::LShrOp::create(
        b, loc, NVVM::GlobalTimerOp::create(b, loc, i64),
        LLVM::ConstantOp::create(b, loc, i64,
                                 b.getI64IntegerAttr(kTimerShift)));
    return LLVM::TruncOp::create(b, loc, i32, shifted);
  };

  b.setInsertionPointToStart(entry);
  NVVM::Barrier0Op::create(b, loc);
  Value thread = NVVM::ThreadIdXOp::create(b, loc, i32);
  Value leader = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, thread,
                                      constant(0));
  LLVM::CondBrOp::create(b, loc, leader, arrive, done);

  b.setInsertionPointToStart(arrive);
  // The blocks [firstBlock, firstBlock + blocks) meet: the first adds
  // 0x80000000 - (blocks - 1), the others 1, so the word's top bit flips
  // when the last arrives.
  Value firstBlock = entry->getArgument(1), blocks = entry->getArgument(2);
  Value block = NVVM::BlockIdXOp::create(b, loc, i32);
  Value first =
      LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, block, firstBlock);
  Value firstAdds =
      LLVM::SubOp::create(b, loc, constant(int64_t(0x80000000u) + 1), blocks);
  Value add = LLVM::SelectOp::create(b, loc, first, firstAdds, constant(1));
  LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::release, "device");
  Value old = LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::add, word,
                                        add, LLVM::AtomicOrdering::monotonic,
                                        "device", /*alignment=*/4);
  SmallVector<Value, 2> waitState = {old};
  if (timeoutSeconds)
    waitState.push_back(now());
  LLVM::BrOp::create(b, loc, waitState, spin);

  b.setInsertionPointToStart(spin);
  Value current = LLVM::LoadOp::create(
      b, loc, i32, word, /*alignment=*/4, /*isVolatile=*/false,
      /*isNonTemporal=*/false, /*isInvariant=*/false,
      /*isInvariantGroup=*/false, LLVM::AtomicOrdering::acquire, "device");
  Value flipped = LLVM::AndOp::create(
      b, loc, LLVM::XOrOp::create(b, loc, spin->getArgument(0), current),
      constant(int64_t(0x80000000u)));
  Value waiting = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, flipped,
                                       constant(0));
  if (!timeoutSeconds) {
    LLVM::CondBrOp::create(b, loc, waiting, spin,
                           ValueRange{spin->getArguments()}, done,
                           ValueRange{});
  } else {
    Block *checkTime = func.addBlock();
    Block *timedOut = func.addBlock();
    LLVM::CondBrOp::create(b, loc, waiting, checkTime, done);
    b.setInsertionPointToStart(checkTime);
    Value waited = LLVM::SubOp::create(b, loc, now(), spin->getArgument(1));
    Value expired = LLVM::ICmpOp::create(
        b, loc, LLVM::ICmpPredicate::ugt, waited,
        constant(timeoutSeconds * 1'000'000'000 >> kTimerShift));
    LLVM::CondBrOp::create(b, loc, expired, timedOut, ValueRange{}, spin,
                           ValueRange{spin->getArguments()});
    b.setInsertionPointToStart(timedOut);
    LLVM::Trap::create(b, loc);
    LLVM::UnreachableOp::create(b, loc);
  }

  b.setInsertionPointToStart(done);
  NVVM::Barrier0Op::create(b, loc);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return func;
}

/// With `record`, makes every kernel of `gpuModule` keep its phase
/// timeline (FuncToGpuKernels.h, kPhaseTimelineCapacity): the first block
/// of each sub-grid empties its region at the start, and after each grid
/// barrier call the first block of the blocks that met appends the call's
/// site and the time. Returns the sites' names, the text each call was
/// tagged with (kPhaseAttrName), numbered from 1 across the module; the
/// tags are dropped either way.
SmallVector<Attribute> addPhaseTimeline(gpu::GPUModuleOp gpuModule,
                                        OpBuilder &b, bool record) {
  SmallVector<Attribute> sites;
  for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>()) {
    SmallVector<LLVM::CallOp> calls;
    kernel.walk([&](LLVM::CallOp call) {
      if (call->hasAttr(kPhaseAttrName))
        calls.push_back(call);
    });
    if (!record || calls.empty()) {
      for (LLVM::CallOp call : calls)
        call->removeAttr(kPhaseAttrName);
      continue;
    }
    Location loc = kernel.getLoc();
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    auto constant = [&](Type type, int64_t v) -> Value {
      return arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, v));
    };
    auto eq = [&](Value x, Value y) -> Value {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
    };
    auto word = [&](Value base, Value at) -> Value {
      return LLVM::GEPOp::create(b, loc, base.getType(), i32, base,
                                 ValueRange{at});
    };
    auto now = [&]() -> Value {
      Value time = arith::ShRUIOp::create(
          b, loc, NVVM::GlobalTimerOp::create(b, loc, i64),
          constant(i64, stepc::kPhaseTimelineShift));
      return arith::TruncIOp::create(b, loc, i32, time);
    };
    auto onlyIf = [&](Value condition, llvm::function_ref<void()> body) {
      auto guard = scf::IfOp::create(b, loc, condition);
      OpBuilder::InsertionGuard insertion(b);
      b.setInsertionPointToStart(guard.thenBlock());
      body();
    };

    Block &entry = kernel.getBody().front();
    b.setInsertionPointToStart(&entry);
    // The barrier words, then (after gridDim + 1 words, aligned) the regions.
    Value words = entry.getArgument(entry.getNumArguments() - 2);
    Value subgrids =
        arith::ExtUIOp::create(b, loc, i64, entry.getArguments().back());
    auto dim = [&](Value v) -> Value {
      return arith::IndexCastUIOp::create(b, loc, i64, v);
    };
    Value gridBlocks = dim(gpu::GridDimOp::create(b, loc, gpu::Dimension::x));
    Value block = dim(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
    Value threadZero =
        eq(dim(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x)),
           constant(i64, 0));
    Value align = constant(i64, stepc::kPhaseTimelineAlignWords);
    Value regionsAt = arith::MulIOp::create(
        b, loc,
        arith::DivUIOp::create(
            b, loc,
            arith::AddIOp::create(
                b, loc, gridBlocks,
                constant(i64, stepc::kPhaseTimelineAlignWords)),
            align),
        align);
    Value regions = word(words, regionsAt);
    auto region = [&](Value index) {
      return word(
          regions,
          arith::MulIOp::create(
              b, loc, index, constant(i64, stepc::kPhaseTimelineRegionWords)));
    };
    auto store = [&](Value value, Value base, int64_t at) {
      LLVM::StoreOp::create(b, loc, value, word(base, constant(i64, at)),
                            /*alignment=*/4);
    };
    // Thread 0 of the first block of each sub-grid empties its region (and
    // block 0 the grid's): only that thread writes there during the launch.
    Value perSubgrid = arith::DivUIOp::create(b, loc, gridBlocks, subgrids);
    Value subgrid = arith::DivUIOp::create(b, loc, block, perSubgrid);
    Value leads = arith::AndIOp::create(
        b, loc, threadZero,
        eq(arith::RemUIOp::create(b, loc, block, perSubgrid),
           constant(i64, 0)));
    onlyIf(leads, [&] {
      auto reset = [&](Value index) {
        Value at = region(index);
        store(constant(i32, 0), at, 0);
        store(now(), at, 1);
      };
      reset(arith::AddIOp::create(b, loc, subgrid, constant(i64, 1)));
      onlyIf(eq(block, constant(i64, 0)), [&] { reset(constant(i64, 0)); });
    });

    for (LLVM::CallOp call : calls) {
      sites.push_back(call->getAttr(kPhaseAttrName));
      call->removeAttr(kPhaseAttrName);
      int64_t site = int64_t(sites.size());
      b.setInsertionPointAfter(call);
      // Operands: the word, the first block, the block count.
      Value first = arith::ExtUIOp::create(b, loc, i64, call.getOperand(1));
      onlyIf(arith::AndIOp::create(b, loc, threadZero, eq(block, first)), [&] {
        // The word's index among the barrier words is its region's.
        Value offset = arith::SubIOp::create(
            b, loc, LLVM::PtrToIntOp::create(b, loc, i64, call.getOperand(0)),
            LLVM::PtrToIntOp::create(b, loc, i64, words));
        Value at =
            region(arith::DivUIOp::create(b, loc, offset, constant(i64, 4)));
        Value count = LLVM::LoadOp::create(b, loc, i32, at, /*alignment=*/4);
        Value room =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, count,
                                  constant(i32, stepc::kPhaseTimelineCapacity));
        onlyIf(room, [&] {
          Value pair = arith::AddIOp::create(
              b, loc,
              arith::MulIOp::create(b, loc,
                                    arith::ExtUIOp::create(b, loc, i64, count),
                                    constant(i64, 2)),
              constant(i64, 2));
          Value entry = word(at, pair);
          store(constant(i32, site), entry, 0);
          store(now(), entry, 1);
        });
        // Past the capacity only the count grows: the runtime says how
        // many releases were not kept.
        store(arith::AddIOp::create(b, loc, count, constant(i32, 1)), at, 0);
      });
    }
  }
  return sites;
}

} // namespace

std::string stepc::checkBarrierTimeout(int64_t seconds,
                                       llvm::StringRef optionPrefix) {
  if (seconds >= 0 && seconds <= kMaxGridBarrierTimeoutSeconds)
    return "";
  return optionPrefix.str() + "barrier-timeout=" + std::to_string(seconds) +
         " is outside 0 to " + std::to_string(kMaxGridBarrierTimeoutSeconds) +
         " seconds";
}

namespace {

/// The scratch bytes a slot's allocs need per tensor, as the runtime's
/// postfix program: the phases' buffers share one place, the largest
/// phase's.
/// `expr` in the runtime's postfix form.
std::string programOf(const SizeExpr &expr) {
  std::string program;
  llvm::raw_string_ostream os(program);
  expr.print(os);
  return program;
}

/// What stepping one tensor costs in a slot: every phase's work.
std::string workProgram(PhasedKernel &slot) {
  SizeExpr total = slot.main.work;
  for (PhasedGroup &stage : slot.sumPhases)
    total = plus(stage.work, total);
  return programOf(total);
}

std::string scratchProgram(PhasedKernel &slot) {
  std::optional<SizeExpr> largest;
  auto stages = llvm::to_vector(llvm::make_pointer_range(slot.sumPhases));
  stages.push_back(&slot.main);
  for (PhasedGroup *stage : stages) {
    SizeExpr total = SizeExpr::constant(0);
    for (auto &[alloc, bytes] : stage->allocs)
      total = SizeExpr::binary(SizeExpr::Add, total, bytes);
    largest =
        largest ? SizeExpr::binary(SizeExpr::Max, *largest, total) : total;
  }
  return programOf(*largest);
}

struct FormPhasedGpuKernelsPass
    : stepc::impl::FormPhasedGpuKernelsBase<FormPhasedGpuKernelsPass> {
  using FormPhasedGpuKernelsBase::FormPhasedGpuKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string badOptions =
        stepc::checkMatmulOptions(matmulTile, matmulStages, matmulWgmma);
    if (!badOptions.empty()) {
      emitError(module.getLoc()) << badOptions;
      return signalPassFailure();
    }
    if (std::string bad = stepc::checkBarrierTimeout(barrierTimeout);
        !bad.empty()) {
      emitError(module.getLoc()) << bad;
      return signalPassFailure();
    }
    auto severity = skipUnsupported ? DiagnosticSeverity::Warning
                                    : DiagnosticSeverity::Error;
    // Each sum-phase function goes with its group's main function:
    // stepc_<opt>_<group>_sums<k>[_dtype] with stepc_<opt>_<group>[_dtype].
    llvm::StringMap<SmallVector<func::FuncOp>> sumPhasesOf;
    for (auto func : module.getOps<func::FuncOp>())
      if (auto phase =
              func->getAttrOfType<IntegerAttr>(stepc::kSumPhaseAttrName)) {
        std::string suffix = "_sums" + std::to_string(phase.getInt());
        std::string name = func.getSymName().str();
        size_t at = name.find(suffix);
        if (at == std::string::npos)
          continue; // not convert-step-to-func's: no main function claims it
        name.erase(at, suffix.size());
        sumPhasesOf[name].push_back(func);
      }
    std::vector<PhasedKernel> groups;
    SmallVector<func::FuncOp> unsupported;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() || func->hasAttr(stepc::kSumPhaseAttrName))
        continue;
      FailureOr<PhasedKernel> group =
          analyzeKernel(func, sumPhasesOf[func.getSymName()], severity,
                        tensorCores && fuseIterateUpdates, batchSameShapes);
      if (failed(group)) {
        unsupported.push_back(func);
        llvm::append_range(unsupported, sumPhasesOf[func.getSymName()]);
      } else {
        groups.push_back(std::move(*group));
      }
    }
    if (!unsupported.empty() && !skipUnsupported)
      return signalPassFailure();
    for (func::FuncOp func : unsupported)
      func.erase();
    if (groups.empty())
      return;

    OpBuilder b(module.getContext());
    gpu::GPUModuleOp gpuModule;
    for (auto existing : module.getOps<gpu::GPUModuleOp>())
      if (existing.getName() == stepc::kGpuModuleName)
        gpuModule = existing;
    if (!gpuModule) {
      b.setInsertionPointToEnd(module.getBody());
      gpuModule =
          gpu::GPUModuleOp::create(b, module.getLoc(), stepc::kGpuModuleName);
    }
    LLVM::LLVMFuncOp barrier = buildGridBarrier(gpuModule, b, barrierTimeout);
    SymbolTable symbols(module);
    llvm::SetVector<StringRef> globals;
    NamedAttrList layouts(
        module->getAttrOfType<DictionaryAttr>(stepc::kPhasedKernelsAttrName));

    // A group without global sums is a kernel of its own; the groups of an
    // optimizer that sum (every dtype of each) share one, named after the
    // optimizer, so that groups stepped together share the totals.
    llvm::MapVector<StringRef, SmallVector<PhasedKernel *>> kernels;
    for (PhasedKernel &group : groups) {
      auto optimizer =
          group.main.func->getAttrOfType<StringAttr>(stepc::kOptimizerAttrName);
      if (group.numTotals != 0 && optimizer)
        kernels[b.getStringAttr("stepc_" + optimizer.getValue()).getValue()]
            .push_back(&group);
      else
        kernels[group.main.func.getSymName()].push_back(&group);
    }
    for (auto &[name, slots] : kernels) {
      bool shared = slots.front()->numTotals != 0;
      if (shared && symbols.lookup(name)) {
        symbols.lookup(name)->emitError()
            << "has the name of the kernel its optimizer's global sums need";
        return signalPassFailure();
      }
      FailureOr<KernelKeys> keys = numberKeys(slots);
      if (failed(keys))
        return signalPassFailure();
      int64_t partials = 0;
      for (PhasedKernel *slot : slots)
        partials = std::max(partials, slot->main.partials);
      PhasedKernelBuilder builder(
          slots, b, barrier, tensorCores, matmulTile,
          stepc::matmulStagesOf(matmulTile, matmulStages), matmulWholeTiles,
          matmulWgmma, maxRegisters, vectorElementwise);
      builder.build(gpuModule, name, *keys, partials);
      globals.insert(builder.globals.begin(), builder.globals.end());
      for (auto [index, slot] : llvm::enumerate(slots)) {
        SmallVector<NamedAttribute> layout = {
            b.getNamedAttr("scratch", b.getStringAttr(scratchProgram(*slot))),
            b.getNamedAttr("work", b.getStringAttr(workProgram(*slot))),
            b.getNamedAttr("partials", b.getI64IntegerAttr(partials))};
        if (slot->batches)
          layout.push_back(b.getNamedAttr("batches", b.getUnitAttr()));
        if (builder.dynamicSharedBytes)
          layout.push_back(
              b.getNamedAttr("dynamic_shared_bytes",
                             b.getI64IntegerAttr(builder.dynamicSharedBytes)));
        if (shared)
          layout.append(
              {b.getNamedAttr("kernel", b.getStringAttr(name)),
               b.getNamedAttr("slot", b.getI64IntegerAttr(index)),
               b.getNamedAttr("slots", b.getI64IntegerAttr(slots.size()))});
        layouts.set(slot->main.func.getSymName(), b.getDictionaryAttr(layout));
      }
    }
    // A barrier right after another one (a phase ending the tensor, say)
    // synchronizes nothing more.
    SmallVector<Operation *> redundant;
    gpuModule.walk([&](LLVM::CallOp call) {
      auto previous = dyn_cast_or_null<LLVM::CallOp>(call->getPrevNode());
      if (call.getCallee() == stepc::kGridBarrierName && previous &&
          previous.getCallee() == stepc::kGridBarrierName &&
          previous.getOperands() == call.getOperands())
        redundant.push_back(call);
    });
    for (Operation *call : redundant)
      call->erase();
    SmallVector<Attribute> sites =
        addPhaseTimeline(gpuModule, b, phaseTimeline);
    if (phaseTimeline)
      module->setAttr(stepc::kPhaseTimelineSitesAttrName,
                      b.getArrayAttr(sites));
    b.setInsertionPointToStart(gpuModule.getBody());
    for (StringRef name : globals)
      b.clone(*symbols.lookup(name));
    for (PhasedKernel &group : groups) {
      group.main.func.erase();
      for (PhasedGroup &sums : group.sumPhases)
        sums.func.erase();
    }
    module->setAttr(stepc::kPhasedKernelsAttrName,
                    layouts.getDictionary(module.getContext()));
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
  }
};

} // namespace
