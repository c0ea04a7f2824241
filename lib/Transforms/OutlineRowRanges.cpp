//===- OutlineRowRanges.cpp - sweeps over rows as parallel ranges ---------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A runner's threads split a step by tensor and a product by col panels, so
// a group with one large matrix swept its rows on one core: REG and SinkGD
// at 4096² moved 14 and 6 GB/s where one core of this project's VM streams
// about 50 (docs/Design/CpuPipeline.md, "Sweeps on free threads"). A loop
// over rows whose iterations touch only their own row of every buffer they
// write is a parallel range over blocks of rows; stepc-parallelize-ranges
// then lets the runtime's free threads share it. Each row is still
// computed by one thread, as before: the same bits for any thread count.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"
#include "stepc/Transforms/RowAccesses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace stepc {
#define GEN_PASS_DEF_OUTLINEROWRANGES
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
/// Elements a block of rows holds at least (64 KiB of f32 per buffer): a
/// thread's share is then long runs of whole cache lines, and the runtime
/// hands out blocks, not rows, one atomic increment each.
constexpr int64_t kElementsPerBlock = 1 << 14;
/// A range's cost is counted in multiply-adds of the blocked products
/// (stepc::rt::ParallelRanges::kMinSplitCost is 2²³ of them, about 200 µs).
/// A sweep element (a load, a few flops, maybe a store) took about 0.35 ns
/// of one core in REG and SinkGD at 4096², 15 multiply-adds' time. It
/// counts 8, so that a sweep splits from 2^20 elements (1024²): a smaller
/// one takes at most about 0.35 ms, and a helper thread's start (about
/// 55 µs) would eat much of what half of it saves.
constexpr int64_t kCostPerElement = 8;
/// How many blocks a sweep that sums (a column or a whole sum) is split
/// into, each with its own partial sums: enough for the threads of this
/// project's machines, few enough that the partials stay in cache.
constexpr int64_t kSummingBlocks = 16;

/// A loop over rows that may run in blocks of rows on any threads.
struct Sweep {
  scf::ForOp loop;
  /// What each iteration adds to a vector the loop reads and writes at
  /// other rows (`acc[j] = acc[j] + x`, as a column sum): rank-1 views,
  /// each the one value every access to its buffer goes through.
  SmallVector<Value> accumulators;
  /// Whether the loop's results are sums of what each iteration adds.
  bool sums = false;

  bool accumulates() const { return sums || !accumulators.empty(); }
};

bool reassociates(arith::AddFOp add) {
  return arith::bitEnumContainsAll(add.getFastmath(),
                                   arith::FastMathFlags::reassoc);
}

/// Whether iteration argument `k` of `loop` is a sum: it starts a loop
/// nested in the body that adds to it (a reassociable addf) and yields the
/// total, which `loop` yields in turn. That is how stepc-lower-reductions
/// writes a whole reduction.
bool isSum(scf::ForOp loop, unsigned k) {
  BlockArgument outerSum = loop.getRegionIterArg(k);
  if (!outerSum.hasOneUse())
    return false;
  OpOperand &start = *outerSum.getUses().begin();
  auto inner = dyn_cast<scf::ForOp>(start.getOwner());
  if (!inner || inner->getBlock() != loop.getBody() ||
      start.getOperandNumber() < inner.getNumControlOperands())
    return false;
  unsigned p = start.getOperandNumber() - inner.getNumControlOperands();
  BlockArgument innerSum = inner.getRegionIterArg(p);
  if (!innerSum.hasOneUse())
    return false;
  auto add = dyn_cast<arith::AddFOp>(innerSum.getUses().begin()->getOwner());
  Operation *innerYield = inner.getBody()->getTerminator();
  if (!add || add->getBlock() != inner.getBody() || !reassociates(add) ||
      !add->hasOneUse() || innerYield->getOperand(p) != add.getResult())
    return false;
  Value total = inner.getResult(p);
  return total.hasOneUse() &&
         loop.getBody()->getTerminator()->getOperand(k) == total;
}

/// The one view through which `loop` adds to `buffer`, if every access to
/// it in `loop` is a load whose only use is a reassociable addf stored
/// back at the same indices, through one rank-1 view defined outside.
Value accumulatorOf(scf::ForOp loop, Value buffer) {
  Value view;
  bool valid = true;
  loop.getBody()->walk([&](Operation *op) {
    Value memref;
    if (auto load = dyn_cast<memref::LoadOp>(op))
      memref = load.getMemRef();
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      memref = store.getMemRef();
    bool keepsRows;
    if (!memref || stepc::rowBufferOf(memref, keepsRows) != buffer)
      return;
    if (view && memref != view)
      valid = false;
    view = memref;
    // Each load feeds one addf whose only use stores it back, at the
    // load's indices: no iteration sees what another added.
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      auto add = load->hasOneUse()
                     ? dyn_cast<arith::AddFOp>(*load->getUsers().begin())
                     : arith::AddFOp();
      auto store = add && add->hasOneUse()
                       ? dyn_cast<memref::StoreOp>(*add->getUsers().begin())
                       : memref::StoreOp();
      valid &= store && reassociates(add) &&
               store.getValueToStore() == add.getResult() &&
               store.getMemRef() == memref &&
               store.getIndices() == load.getIndices() &&
               store->getBlock() == load->getBlock();
      return;
    }
    // Each store is of such a sum.
    auto store = cast<memref::StoreOp>(op);
    auto add = store.getValueToStore().getDefiningOp<arith::AddFOp>();
    auto loadAt = [&](Value v) {
      auto load = v.getDefiningOp<memref::LoadOp>();
      return load && load.getMemRef() == memref &&
             load.getIndices() == store.getIndices();
    };
    valid &= add && (loadAt(add.getLhs()) || loadAt(add.getRhs()));
  });
  auto type = view ? dyn_cast<MemRefType>(view.getType()) : MemRefType();
  if (!valid || !type || type.getRank() != 1 ||
      !type.getLayout().isIdentity() ||
      loop->isAncestor(view.getParentBlock()->getParentOp()))
    return nullptr;
  return view;
}

/// `loop` as a sweep, if any split of its rows into blocks, each computed
/// alone (its sums and accumulators from zero), gives its results once the
/// blocks' sums are added up: every buffer it writes is written only at
/// the loop's row, or is an accumulator.
std::optional<Sweep> sweepOf(scf::ForOp loop) {
  Sweep sweep{loop, {}, loop.getNumResults() != 0};
  for (unsigned k = 0; k < loop.getNumResults(); ++k)
    if (!isSum(loop, k))
      return std::nullopt;
  std::optional<SmallVector<stepc::RowAccess>> accesses =
      stepc::rowAccessesOf(loop);
  // A fill reads nothing: LLVM makes it a memset, bound by memory, which a
  // second thread speeds up little, and each range costs compile time.
  if (!accesses || llvm::none_of(*accesses, [](const stepc::RowAccess &a) {
        return !a.write;
      }))
    return std::nullopt;
  llvm::SetVector<Value> written;
  for (const stepc::RowAccess &access : *accesses)
    if (access.write)
      written.insert(access.buffer);
  for (Value buffer : written) {
    if (llvm::all_of(*accesses, [&](const stepc::RowAccess &a) {
          return a.buffer != buffer || a.atLoopRow;
        }))
      continue;
    Value view = accumulatorOf(loop, buffer);
    if (!view)
      return std::nullopt;
    sweep.accumulators.push_back(view);
  }
  return sweep;
}

/// The loops over a row's elements: those nested directly in `loop`'s body
/// whose bounds are known before `loop` runs. Their trip counts make a
/// row's cost.
SmallVector<scf::ForOp> elementLoops(scf::ForOp loop) {
  SmallVector<scf::ForOp> inner;
  for (auto nested : loop.getBody()->getOps<scf::ForOp>())
    if (llvm::all_of(nested.getOperands().take_front(3), [&](Value bound) {
          return !loop->isAncestor(bound.getParentBlock()->getParentOp());
        }))
      inner.push_back(nested);
  return inner;
}

/// Whether a value used in an outlined loop is better recomputed inside the
/// function than passed: constants, and views and dims of buffers, so that
/// LLVM sees two views of one buffer as one base pointer.
bool recomputeInside(Value value) {
  Operation *def = value.getDefiningOp();
  return def &&
         (def->hasTrait<OpTrait::ConstantLike>() ||
          isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::DimOp>(
              def));
}

/// Whether `value` is not a buffer, or is one that no other buffer of the
/// step can be: an argument of a function (distinct, as bufferization
/// assumed) or an allocation. A buffer carried by a loop might be another
/// one the loop also carries.
bool isDistinctBufferOrScalar(Value value) {
  if (!isa<BaseMemRefType>(value.getType()))
    return true;
  if (auto arg = dyn_cast<BlockArgument>(value))
    return isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
  return isa_and_nonnull<memref::AllocOp, memref::AllocaOp>(
      value.getDefiningOp());
}

/// Makes `function` a private, internal, never inlined function: it is
/// called from two places (the dispatch's direct path and the runtime's
/// task, or every sweep's sums), and one copy of its loops is the point
/// (compile time). Internal, LLVM may drop the parameters it does not use.
void makeInternal(func::FuncOp function) {
  MLIRContext *context = function.getContext();
  function.setPrivate();
  function->setAttr(
      "passthrough",
      ArrayAttr::get(context, {StringAttr::get(context, "noinline")}));
  function->setAttr("llvm.linkage",
                    LLVM::LinkageAttr::get(context, LLVM::Linkage::Internal));
}

/// `stepc_add_block_partials_<type>(sums, partials)`: adds each row of
/// `partials` to `sums`, in row order. One per module and element type.
func::FuncOp addPartialsFunction(ModuleOp module, MemRefType sumsType,
                                 MemRefType partialsType) {
  std::string name = "stepc_add_block_partials_";
  llvm::raw_string_ostream(name) << sumsType.getElementType();
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  Location loc = module.getLoc();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto function = func::FuncOp::create(
      b, loc, name, b.getFunctionType({sumsType, partialsType}, {}));
  makeInternal(function);
  b.setInsertionPointToStart(function.addEntryBlock());
  Value sums = function.getArgument(0), partials = function.getArgument(1);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0),
        one = arith::ConstantIndexOp::create(b, loc, 1);
  auto blocks = scf::ForOp::create(
      b, loc, zero, memref::DimOp::create(b, loc, partials, 0), one);
  func::ReturnOp::create(b, loc);
  b.setInsertionPointToStart(blocks.getBody());
  auto elements = scf::ForOp::create(
      b, loc, zero, memref::DimOp::create(b, loc, partials, 1), one);
  b.setInsertionPointToStart(elements.getBody());
  Value j = elements.getInductionVar();
  Value sum = arith::AddFOp::create(
      b, loc, memref::LoadOp::create(b, loc, sums, j),
      memref::LoadOp::create(b, loc, partials,
                             ValueRange{blocks.getInductionVar(), j}));
  memref::StoreOp::create(b, loc, sum, sums, j);
  return function;
}

struct OutlineRowRangesPass
    : stepc::impl::OutlineRowRangesBase<OutlineRowRangesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal() &&
          !function->hasAttr(stepc::kParallelRangesAttrName))
        functions.push_back(function);
    for (func::FuncOp function : functions) {
      SmallVector<Sweep> sweeps;
      function.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
        std::optional<Sweep> sweep = matchSweep(loop);
        if (!sweep)
          return WalkResult::advance();
        sweeps.push_back(*sweep);
        return WalkResult::skip();
      });
      for (auto [index, sweep] : llvm::enumerate(sweeps))
        outline(sweep, function, index);
    }
  }

  static std::optional<Sweep> matchSweep(scf::ForOp loop) {
    std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound());
    std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound());
    if ((lower && upper && *upper - *lower < 2) || elementLoops(loop).empty())
      return std::nullopt;
    return sweepOf(loop);
  }

  /// Replaces the sweep's loop by a call of a new function over blocks of
  /// its rows, then adds up what the blocks summed.
  void outline(const Sweep &sweep, func::FuncOp parent, size_t index) {
    scf::ForOp loop = sweep.loop;
    MLIRContext *context = &getContext();
    Location loc = loop.getLoc();
    OpBuilder b(loop);
    Type indexType = b.getIndexType();
    auto constant = [&](OpBuilder &at, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(at, loc, v);
    };

    // At the call: rows per block, blocks, and a block's cost.
    Value lower = loop.getLowerBound(), upper = loop.getUpperBound(),
          stride = loop.getStep();
    Value rowElements;
    for (scf::ForOp inner : elementLoops(loop)) {
      Value trips = arith::CeilDivSIOp::create(
          b, loc,
          arith::SubIOp::create(b, loc, inner.getUpperBound(),
                                inner.getLowerBound()),
          inner.getStep());
      trips = arith::MaxSIOp::create(b, loc, trips, constant(b, 0));
      rowElements = rowElements
                        ? arith::AddIOp::create(b, loc, rowElements, trips)
                        : trips;
    }
    rowElements = arith::MaxSIOp::create(b, loc, rowElements, constant(b, 1));
    Value rows = arith::MaxSIOp::create(
        b, loc,
        arith::CeilDivSIOp::create(
            b, loc, arith::SubIOp::create(b, loc, upper, lower), stride),
        constant(b, 0));
    // A sweep that sums keeps one partial result per block: a fixed number
    // of blocks, so that the partials stay small and the sums' order
    // depends on the shape alone, not on the threads.
    Value blockRows =
        sweep.accumulates()
            ? arith::CeilDivSIOp::create(b, loc, rows,
                                         constant(b, kSummingBlocks))
            : arith::CeilDivSIOp::create(b, loc, constant(b, kElementsPerBlock),
                                         rowElements);
    blockRows = arith::MaxSIOp::create(b, loc, blockRows, constant(b, 1));
    Value blocks = arith::CeilDivSIOp::create(b, loc, rows, blockRows);
    Value cost = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, blockRows, rowElements),
        constant(b, kCostPerElement));

    // The blocks' partial sums: a vector per accumulator, a value per sum.
    SmallVector<Value> accumulatorPartials, sumPartials;
    // As bufferization aligns its buffers: whole cache lines per block.
    IntegerAttr alignment = b.getI64IntegerAttr(64);
    for (Value accumulator : sweep.accumulators) {
      auto type = cast<MemRefType>(accumulator.getType());
      Value length = memref::DimOp::create(b, loc, accumulator, 0);
      accumulatorPartials.push_back(memref::AllocOp::create(
          b, loc,
          MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                          type.getElementType()),
          ValueRange{blocks, length}, alignment));
    }
    for (Type type : loop.getResultTypes())
      sumPartials.push_back(memref::AllocOp::create(
          b, loc, MemRefType::get({ShapedType::kDynamic}, type),
          ValueRange{blocks}, alignment));

    // What the body needs from outside, less what is recomputed inside.
    llvm::SetVector<Value> used;
    getUsedValuesDefinedAbove(loop.getRegion(), used);
    for (Value bound : {lower, upper, stride})
      used.insert(bound);
    SmallVector<Operation *> recomputed;
    llvm::SetVector<Value> captures;
    for (size_t i = 0; i < used.size(); ++i) {
      Value value = used[i];
      if (!recomputeInside(value)) {
        captures.insert(value);
        continue;
      }
      Operation *def = value.getDefiningOp();
      if (!llvm::is_contained(recomputed, def))
        recomputed.push_back(def);
      for (Value operand : def->getOperands())
        used.insert(operand);
    }
    for (Value partials : llvm::concat<Value>(accumulatorPartials, sumPartials))
      captures.insert(partials);

    SmallVector<Type> params;
    for (Value capture : captures)
      params.push_back(capture.getType());
    params.push_back(indexType); // rows per block
    params.append(3, indexType); // cost, begin, end
    OpBuilder atModule =
        OpBuilder::atBlockEnd(cast<ModuleOp>(parent->getParentOp()).getBody());
    std::string name =
        (parent.getName() + "_rows" + std::to_string(index)).str();
    auto function = func::FuncOp::create(
        atModule, loc, name, FunctionType::get(context, params, {}));
    makeInternal(function);
    function->setAttr(stepc::kParallelRangesAttrName, b.getUnitAttr());
    if (llvm::all_of(captures, isDistinctBufferOrScalar))
      function->setAttr(stepc::kDistinctBuffersAttrName, b.getUnitAttr());

    Block *entry = function.addEntryBlock();
    OpBuilder inside = OpBuilder::atBlockBegin(entry);
    IRMapping mapping;
    for (auto [capture, arg] : llvm::zip(captures, entry->getArguments()))
      mapping.map(capture, arg);
    // Operands before users, wherever in `parent` each was defined.
    std::function<void(Operation *)> recompute = [&](Operation *op) {
      if (mapping.contains(op))
        return;
      for (Value operand : op->getOperands())
        if (!mapping.contains(operand))
          recompute(operand.getDefiningOp());
      inside.clone(*op, mapping);
    };
    for (Operation *op : recomputed)
      recompute(op);

    size_t n = entry->getNumArguments();
    Value rowsPerBlock = entry->getArgument(n - 4),
          firstBlock = entry->getArgument(n - 2),
          endBlock = entry->getArgument(n - 1);
    Value insideLower = mapping.lookup(lower),
          insideUpper = mapping.lookup(upper);
    Value blockStride = arith::MulIOp::create(inside, loc, rowsPerBlock,
                                              mapping.lookup(stride));
    auto blockLoop = scf::ForOp::create(inside, loc, firstBlock, endBlock,
                                        constant(inside, 1));
    func::ReturnOp::create(inside, loc);
    inside.setInsertionPointToStart(blockLoop.getBody());
    Value block = blockLoop.getInductionVar();
    Value first = arith::AddIOp::create(
        inside, loc, insideLower,
        arith::MulIOp::create(inside, loc, block, blockStride));
    Value end = arith::MinSIOp::create(
        inside, loc, insideUpper,
        arith::AddIOp::create(inside, loc, first, blockStride));
    // The block adds into its own row of each accumulator's partials,
    // cleared first, and sums from zero.
    for (auto [accumulator, partials] :
         llvm::zip(sweep.accumulators, accumulatorPartials)) {
      Value all = mapping.lookup(partials);
      auto allType = cast<MemRefType>(all.getType());
      Value length = memref::DimOp::create(inside, loc, all, 1);
      SmallVector<OpFoldResult> offsets = {block, inside.getIndexAttr(0)},
                                sizes = {inside.getIndexAttr(1), length},
                                strides = {inside.getIndexAttr(1),
                                           inside.getIndexAttr(1)};
      MemRefType rowType = memref::SubViewOp::inferRankReducedResultType(
          {ShapedType::kDynamic}, allType, offsets, sizes, strides);
      Value own = memref::SubViewOp::create(inside, loc, rowType, all, offsets,
                                            sizes, strides);
      Value zero = arith::ConstantOp::create(
          inside, loc, inside.getZeroAttr(allType.getElementType()));
      auto clear = scf::ForOp::create(inside, loc, constant(inside, 0), length,
                                      constant(inside, 1));
      {
        OpBuilder::InsertionGuard guard(inside);
        inside.setInsertionPointToStart(clear.getBody());
        memref::StoreOp::create(inside, loc, zero, own,
                                clear.getInductionVar());
      }
      mapping.map(accumulator, own);
    }
    auto rowLoop = cast<scf::ForOp>(inside.clone(*loop, mapping));
    rowLoop.setLowerBound(first);
    rowLoop.setUpperBound(end);
    for (auto [k, partials] : llvm::enumerate(sumPartials)) {
      Type type = loop.getResult(k).getType();
      rowLoop.getInitArgsMutable()[k].assign(
          arith::ConstantOp::create(inside, loc, inside.getZeroAttr(type)));
      memref::StoreOp::create(inside, loc, rowLoop.getResult(k),
                              mapping.lookup(partials), block);
    }
    // The zeros before the loop.
    for (OpOperand &init : rowLoop.getInitArgsMutable())
      init.get().getDefiningOp()->moveBefore(rowLoop);

    SmallVector<Value> operands(captures.begin(), captures.end());
    operands.append({blockRows, cost, constant(b, 0), blocks});
    func::CallOp::create(b, loc, function, operands);

    // The blocks' partials added up in block order, after what the buffers
    // and the loop's inits held.
    auto module = cast<ModuleOp>(parent->getParentOp());
    for (auto [accumulator, partials] :
         llvm::zip(sweep.accumulators, accumulatorPartials))
      func::CallOp::create(
          b, loc,
          addPartialsFunction(module, cast<MemRefType>(accumulator.getType()),
                              cast<MemRefType>(partials.getType())),
          ValueRange{accumulator, partials});
    if (!sumPartials.empty()) {
      auto blockSum = scf::ForOp::create(b, loc, constant(b, 0), blocks,
                                         constant(b, 1), loop.getInitArgs());
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(blockSum.getBody());
      SmallVector<Value> totals;
      for (auto [k, partials] : llvm::enumerate(sumPartials))
        totals.push_back(arith::AddFOp::create(
            b, loc, blockSum.getRegionIterArg(k),
            memref::LoadOp::create(b, loc, partials,
                                   blockSum.getInductionVar())));
      scf::YieldOp::create(b, loc, totals);
      loop.replaceAllUsesWith(blockSum.getResults());
    }
    for (Value partials : llvm::concat<Value>(accumulatorPartials, sumPartials))
      memref::DeallocOp::create(b, loc, partials);
    loop.erase();
  }
};
} // namespace
