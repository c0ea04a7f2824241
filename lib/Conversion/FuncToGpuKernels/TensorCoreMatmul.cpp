//===- TensorCoreMatmul.cpp - bf16 contractions on tensor cores -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Newton–Schulz's matmuls round their inputs to bf16 and accumulate in f32
// (step.newton_schulz compute(bf16)), which is what mma.sync m16n8k16
// .bf16 → .f32 computes. A generic that provably is such a product runs
// on tensor cores; docs/Design/GpuKernels.md ("Tensor-core matmuls") says
// how and what was rejected.
//
//===----------------------------------------------------------------------===//

#include "TensorCoreMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace {

/// How far the exactness of a buffer is traced back through the writes
/// that produced it (a copy of a transpose of a rounding is 3).
constexpr int kMaxWriteDepth = 8;

/// The warp tile, in mma tiles of 16 × 8 (rows × cols): 32 × 16. A 32 × 32
/// tile (2 × 4) needed 255 registers in MuonMax's kernel and spilled.
constexpr int64_t kMmaRows = 16, kMmaCols = 8, kMmaDepth = 16;
constexpr int64_t kTilesDown = 2, kTilesAcross = 2;
constexpr int64_t kWarpSize = 32;

bool isExactConstant(Value value) {
  FloatAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return false;
  APFloat narrowed = attr.getValue();
  bool losesInfo = false;
  narrowed.convert(APFloat::BFloat(), APFloat::rmNearestTiesToEven, &losesInfo);
  return !losesInfo;
}

/// Whether `value` of `generic`'s body is exact in bf16: an extension of a
/// bf16 value, an exact constant, or an element of an input `exactInput`
/// vouches for.
bool isExactScalar(linalg::GenericOp generic, Value value,
                   llvm::function_ref<bool(unsigned)> exactInput) {
  if (auto ext = value.getDefiningOp<arith::ExtFOp>())
    return ext.getIn().getType().isBF16();
  auto arg = dyn_cast<BlockArgument>(value);
  if (arg && arg.getOwner() == &generic.getRegion().front())
    return arg.getArgNumber() < generic.getNumDpsInputs() &&
           exactInput(arg.getArgNumber());
  return isExactConstant(value);
}

bool exactBefore(Value value, Operation *reader, int depth);

/// Whether `writer` (a generic or a copy) writes all of `buffer` with
/// bf16-exact values.
bool writesExactly(Operation *writer, Value buffer, int depth) {
  if (auto copy = dyn_cast<memref::CopyOp>(writer))
    return exactBefore(copy.getSource(), copy, depth + 1);
  auto generic = cast<linalg::GenericOp>(writer);
  if (generic.getNumReductionLoops() != 0)
    return false;
  auto exactInput = [&](unsigned n) {
    return exactBefore(generic.getDpsInputOperand(n)->get(), generic,
                       depth + 1);
  };
  Operation *yield = generic.getRegion().front().getTerminator();
  for (auto [position, init] : llvm::enumerate(generic.getDpsInitsMutable()))
    if (init.get() == buffer &&
        (!generic.getMatchingIndexingMap(&init).isPermutation() ||
         !isExactScalar(generic, yield->getOperand(position), exactInput)))
      return false;
  return true;
}

bool writes(Operation *op, Value buffer) {
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    return copy.getTarget() == buffer;
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return llvm::is_contained(generic.getDpsInits(), buffer);
  return false;
}

/// Whether every element `reader` may read of `value` is exact in bf16.
bool exactBefore(Value value, Operation *reader, int depth) {
  if (!isa<MemRefType>(value.getType()))
    return isExactConstant(value);
  // A buffer of the function's own, without aliases: its writers are all
  // in sight.
  if (depth > kMaxWriteDepth || !value.getDefiningOp<memref::AllocOp>())
    return false;
  for (Operation *user : value.getUsers())
    if (!isa<linalg::GenericOp, memref::CopyOp, memref::LoadOp, memref::DimOp,
             memref::DeallocOp>(user))
      return false;
  // The last write before the reader decides; one nested in a region (a
  // loop's, a branch's) or none in this block is not followed.
  for (Operation *op = reader->getPrevNode(); op; op = op->getPrevNode()) {
    bool nestedWrite = false;
    op->walk([&](Operation *nested) {
      if (nested != op && writes(nested, value))
        nestedWrite = true;
    });
    if (nestedWrite)
      return false;
    if (writes(op, value))
      return writesExactly(op, value, depth);
  }
  return false;
}

/// The loop dims (a bit each) the inputs that `root` reads are indexed by,
/// or nullopt when it reads the output.
std::optional<unsigned> readDims(linalg::GenericOp generic, Value root) {
  Block &body = generic.getRegion().front();
  unsigned mask = 0;
  SmallVector<Value> worklist = {root};
  DenseSet<Value> seen;
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    if (!seen.insert(value).second)
      continue;
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      if (arg.getOwner() != &body)
        continue;
      if (arg.getArgNumber() >= generic.getNumDpsInputs())
        return std::nullopt;
      AffineMap map = generic.getMatchingIndexingMap(
          generic.getDpsInputOperand(arg.getArgNumber()));
      for (unsigned d = 0; d < map.getNumDims(); ++d)
        if (map.isFunctionOfDim(d))
          mask |= 1u << d;
      continue;
    }
    Operation *def = value.getDefiningOp();
    if (def && def->getBlock() == &body)
      worklist.append(def->operand_begin(), def->operand_end());
  }
  return mask;
}

} // namespace

bool stepc::detail::holdsBf16ExactValues(OpOperand &input) {
  return exactBefore(input.get(), input.getOwner(), 0);
}

std::optional<stepc::detail::Bf16Contraction>
stepc::detail::matchBf16Contraction(
    linalg::GenericOp generic, llvm::function_ref<bool(unsigned)> exactInput) {
  if (generic.getNumLoops() != 3 || generic.getNumDpsInits() != 1 ||
      !generic.hasPureBufferSemantics())
    return std::nullopt;
  SmallVector<unsigned> parallel, reduction;
  for (auto [d, type] : llvm::enumerate(generic.getIteratorTypesArray()))
    (type == utils::IteratorType::parallel ? parallel : reduction).push_back(d);
  if (parallel.size() != 2 || reduction.size() != 1)
    return std::nullopt;

  // An f32 output indexed by the two parallel dims, that no input reads.
  OpOperand *init = generic.getDpsInitOperand(0);
  AffineMap outMap = generic.getMatchingIndexingMap(init);
  if (!cast<MemRefType>(init->get().getType()).getElementType().isF32() ||
      !outMap.isProjectedPermutation() || outMap.getNumResults() != 2 ||
      outMap.isFunctionOfDim(reduction[0]))
    return std::nullopt;
  for (OpOperand *input : generic.getDpsInputOperands())
    if (input->get() == init->get())
      return std::nullopt;

  // out + L·R, L and R straight-line element-wise work on the inputs.
  Block &body = generic.getRegion().front();
  for (Operation &op : body)
    if (op.getNumRegions() != 0 || isa<linalg::IndexOp>(op))
      return std::nullopt;
  BlockArgument out = generic.getMatchingBlockArgument(init);
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !add->hasOneUse() || !out.hasOneUse())
    return std::nullopt;
  Value product = add.getLhs() == out   ? add.getRhs()
                  : add.getRhs() == out ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul || !mul->hasOneUse() || mul->getBlock() != &body)
    return std::nullopt;

  // Each factor reads one parallel dim (and k), not the other's.
  std::optional<unsigned> lhsDims = readDims(generic, mul.getLhs());
  std::optional<unsigned> rhsDims = readDims(generic, mul.getRhs());
  if (!lhsDims || !rhsDims)
    return std::nullopt;
  auto side = [&](unsigned mask) {
    bool first = mask & (1u << parallel[0]),
         second = mask & (1u << parallel[1]);
    return first && second ? -2 : first ? 0 : second ? 1 : -1;
  };
  int lhsSide = side(*lhsDims), rhsSide = side(*rhsDims);
  if (lhsSide == -2 || rhsSide == -2 || (lhsSide == -1 && rhsSide == -1))
    return std::nullopt;
  if (lhsSide == -1)
    lhsSide = 1 - rhsSide;
  if (rhsSide == -1)
    rhsSide = 1 - lhsSide;
  if (lhsSide == rhsSide)
    return std::nullopt;

  if (!isExactScalar(generic, mul.getLhs(), exactInput) ||
      !isExactScalar(generic, mul.getRhs(), exactInput))
    return std::nullopt;
  return Bf16Contraction{parallel[lhsSide], reduction[0], parallel[rhsSide],
                         mul.getLhs(), mul.getRhs()};
}

void stepc::detail::emitTensorCoreMatmul(OpBuilder &b, Location loc,
                                         const Bf16Contraction &contraction,
                                         ArrayRef<Value> sizes,
                                         const MatmulEmission &emission) {
  Type f32 = b.getF32Type(), bf16 = b.getBF16Type(), i32 = b.getI32Type();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto addConst = [&](Value x, int64_t y) { return y ? add(x, index(y)) : x; };
  auto mul = [&](Value x, int64_t y) -> Value {
    return arith::MulIOp::create(b, loc, x, index(y));
  };
  auto div = [&](Value x, int64_t y) -> Value {
    return arith::DivUIOp::create(b, loc, x, index(y));
  };
  auto rem = [&](Value x, int64_t y) -> Value {
    return arith::RemUIOp::create(b, loc, x, index(y));
  };
  auto below = [&](Value x, Value bound) -> Value {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, bound);
  };
  auto both = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, loc, x, y);
  };
  /// `x` clamped into [0, size), size > 0: lanes past an edge read a
  /// real element and select zero instead, without branching.
  auto clamp = [&](Value x, Value size) -> Value {
    return arith::MinUIOp::create(
        b, loc, x, arith::SubIOp::create(b, loc, size, index(1)));
  };
  auto ivsAt = [&](unsigned dimA, Value a, unsigned dimB, Value c) {
    SmallVector<Value> ivs(3);
    ivs[dimA] = a;
    ivs[dimB] = c;
    return ivs;
  };

  Value rows = sizes[contraction.rowDim], cols = sizes[contraction.colDim],
        depth = sizes[contraction.reductionDim];
  Value lane = rem(emission.threadIndex, kWarpSize);
  Value warp = div(emission.threadIndex, kWarpSize);
  Value numWarps = div(emission.numThreads, kWarpSize);
  // PTX's groupID and 2 × threadID_in_group.
  Value group = div(lane, 4), pair = mul(rem(lane, 4), 2);

  int64_t tileRows = kTilesDown * kMmaRows, tileCols = kTilesAcross * kMmaCols;
  Value tilesAcross = div(addConst(cols, tileCols - 1), tileCols);
  Value numTiles = arith::MulIOp::create(
      b, loc, div(addConst(rows, tileRows - 1), tileRows), tilesAcross);
  // Uniform per warp, as mma.sync.aligned requires.
  auto tileLoop = scf::ForOp::create(b, loc, warp, numTiles, numWarps);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(tileLoop.getBody());
  Value tile = tileLoop.getInductionVar();
  Value rowBase =
      mul(arith::DivUIOp::create(b, loc, tile, tilesAcross), tileRows);
  Value colBase =
      mul(arith::RemUIOp::create(b, loc, tile, tilesAcross), tileCols);

  // Accumulator r of mma tile (m, n): row g (+8 for r ≥ 2), col 2t (+1).
  struct Position {
    Value row, col, inRange;
  };
  SmallVector<Position> positions;
  SmallVector<Value> initial;
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  for (int64_t m = 0; m < kTilesDown; ++m)
    for (int64_t n = 0; n < kTilesAcross; ++n)
      for (int64_t r = 0; r < 4; ++r) {
        Value row = add(rowBase, addConst(group, m * kMmaRows + (r / 2) * 8));
        Value col = add(colBase, addConst(pair, n * kMmaCols + r % 2));
        Value inRange = both(below(row, rows), below(col, cols));
        positions.push_back({row, col, inRange});
        Value current =
            emission.loadOutput(ivsAt(contraction.rowDim, clamp(row, rows),
                                      contraction.colDim, clamp(col, cols)));
        initial.push_back(
            arith::SelectOp::create(b, loc, inRange, current, zero));
      }

  auto kLoop =
      scf::ForOp::create(b, loc, index(0), depth, index(kMmaDepth), initial);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(kLoop.getBody());
    Value k0 = kLoop.getInductionVar();
    Value bf16Zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(bf16));
    // One operand element as bf16 bits (i32), zero past the edges.
    auto element = [&](Value factor, unsigned dimA, Value a, Value sizeA,
                       Value k) -> Value {
      Value value = emission.valueAt(factor, ivsAt(dimA, clamp(a, sizeA),
                                                   contraction.reductionDim,
                                                   clamp(k, depth)));
      Value narrow = arith::TruncFOp::create(b, loc, bf16, value);
      Value masked = arith::SelectOp::create(
          b, loc, both(below(a, sizeA), below(k, depth)), narrow, bf16Zero);
      Value bits =
          arith::BitcastOp::create(b, loc, b.getI16Type(), masked).getResult();
      return arith::ExtUIOp::create(b, loc, i32, bits);
    };
    // Two consecutive elements along k in one register, the first in the
    // low half.
    auto pack = [&](Value factor, unsigned dimA, Value a, Value sizeA,
                    Value k) -> Value {
      Value low = element(factor, dimA, a, sizeA, k);
      Value high = element(factor, dimA, a, sizeA, addConst(k, 1));
      Value shifted = arith::ShLIOp::create(
          b, loc, high,
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)));
      return arith::OrIOp::create(b, loc, low, shifted);
    };
    // A (16 × 16, row): register q holds row g (+8 for odd q), k = 2t (+8
    // for q ≥ 2) and the next.
    SmallVector<SmallVector<Value, 4>> aFragments(kTilesDown);
    for (int64_t m = 0; m < kTilesDown; ++m)
      for (int64_t q = 0; q < 4; ++q)
        aFragments[m].push_back(
            pack(contraction.lhs, contraction.rowDim,
                 add(rowBase, addConst(group, m * kMmaRows + (q % 2) * 8)),
                 rows, add(k0, addConst(pair, (q / 2) * 8))));
    // B (16 × 8, col): register q holds col g, k = 2t (+8 for q = 1) and
    // the next.
    SmallVector<SmallVector<Value, 2>> bFragments(kTilesAcross);
    for (int64_t n = 0; n < kTilesAcross; ++n)
      for (int64_t q = 0; q < 2; ++q)
        bFragments[n].push_back(
            pack(contraction.rhs, contraction.colDim,
                 add(colBase, addConst(group, n * kMmaCols)), cols,
                 add(k0, addConst(pair, q * 8))));

    auto resultType =
        LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    SmallVector<Value> next;
    ValueRange accumulators = kLoop.getRegionIterArgs();
    for (int64_t m = 0; m < kTilesDown; ++m)
      for (int64_t n = 0; n < kTilesAcross; ++n) {
        ValueRange c = accumulators.slice((m * kTilesAcross + n) * 4, 4);
        Value d = NVVM::MmaOp::create(
            b, loc, resultType, aFragments[m], bFragments[n], c,
            ArrayRef<int64_t>{kMmaRows, kMmaCols, kMmaDepth}, std::nullopt,
            std::nullopt,
            std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                          NVVM::MMATypes::bf16},
            std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                           NVVM::MMALayout::col});
        for (int64_t r = 0; r < 4; ++r)
          next.push_back(LLVM::ExtractValueOp::create(b, loc, d, r));
      }
    scf::YieldOp::create(b, loc, next);
  }

  for (auto [position, result] : llvm::zip(positions, kLoop.getResults())) {
    auto ifInRange = scf::IfOp::create(b, loc, position.inRange);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(ifInRange.thenBlock());
    emission.storeOutput(result, ivsAt(contraction.rowDim, position.row,
                                       contraction.colDim, position.col));
  }
}
