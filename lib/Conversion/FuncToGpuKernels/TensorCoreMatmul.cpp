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

#include "stepc/Conversion/FuncToGpuKernels.h"
#include "stepc/Transforms/Contraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace {

/// The mma tile (rows × cols × depth) of mma.sync m16n8k16.
constexpr int64_t kMmaRows = 16, kMmaCols = 8, kMmaDepth = 16;
constexpr int64_t kWarpSize = stepc::kGpuWarpSize;
/// A block tile is split into 2 × 4 warps' parts, one per warp of a block.
constexpr int64_t kWarpsDown = 2, kWarpsAcross = 4;
static_assert(kWarpsDown * kWarpsAcross * kWarpSize == stepc::kGpuBlockSize,
              "one part of the block tile per warp");
/// The k-step the block stages at once: two mma depths.
constexpr int64_t kBlockDepth = 2 * kMmaDepth;
/// A staged slice holds, per row of L (per col of R), the k-step's bf16
/// pairs in i32 words, padded from 16 to 20 words: the rows a fragment
/// load's 8 groups read then start in 8 different groups of 4 banks, so
/// its 32 lanes hit 32 banks.
constexpr int64_t kPairsPerRow = kBlockDepth / 2, kRowWords = kPairsPerRow + 4;
/// Pairs one 16-byte load of a bf16 row fetches.
constexpr int64_t kPairsPerWideLoad = 4;
/// wgmma's factors (docs/Design/Wgmma.md): core matrices of 8 rows of 16
/// bytes (8 bf16), in i32 words; a warpgroup of 4 warps; m64nNk16.
constexpr int64_t kCoreRowWords = 4, kCoreMatrixWords = 8 * kCoreRowWords;
constexpr int64_t kWarpgroupSize = 4 * kWarpSize, kWgmmaRows = 64,
                  kWgmmaDepth = 16;

/// The sizes that follow from a block tile of `side` × `side` outputs
/// (stepc::kMatmulTileSides): a warp's part is (side / 2) ×
/// (side / 4), `tilesDown` × `tilesAcross` mma tiles. A 64 × 64 block tile
/// has 32 × 16 parts; 128 × 128 ones double the flops per staged byte,
/// and take the kernels with a matmul to 255 registers, some with spills
/// (docs/Design/GpuKernels.md, "128 × 128 block tiles").
struct TileGeometry {
  TileGeometry(int64_t side, int64_t stages)
      : side(side), stages(stages), tilesDown(side / kWarpsDown / kMmaRows),
        tilesAcross(side / kWarpsAcross / kMmaCols),
        warpRows(side / kWarpsDown), warpCols(side / kWarpsAcross),
        sliceWords(side * kRowWords), stageWords(2 * sliceWords),
        sharedWords(stages * stageWords),
        pairsPerThread(side * kPairsPerRow / stepc::kGpuBlockSize),
        kMajorRowWords(side / 2 + 4),
        runsPerThread(kBlockDepth * side / 8 / stepc::kGpuBlockSize),
        coreLboWords(side / 8 * kCoreMatrixWords) {
    assert(kBlockDepth * kMajorRowWords <= sliceWords &&
           "a k-major slice fits in a slice's words");
    assert(llvm::is_contained(stepc::kMatmulTileSides, side) && stages >= 2 &&
           stages <= stepc::kMaxMatmulStages &&
           "a block tile and stages the emission was written for");
  }
  /// L's slice is side × k-step, R's k-step × side: `sliceWords` each.
  int64_t side, stages, tilesDown, tilesAcross, warpRows, warpCols;
  /// A stage holds L's slice, then R's; `stages` of them, so that the
  /// block multiplies out of one while the next stages - 1 k-steps'
  /// copies are in flight.
  int64_t sliceWords, stageWords, sharedWords;
  /// Pairs of a slice each thread stages: 4 or 8, whole 16-byte loads of
  /// a bf16 row.
  int64_t pairsPerThread;
  /// R's slice staged k by k (a bf16 matrix read at (k, col)): per k, the
  /// tile's cols in bf16 pairs, padded by 4 words (the 8 rows an
  /// ldmatrix reads then start in 8 different groups of 4 banks); each
  /// thread copies `runsPerThread` runs of 8 cols.
  int64_t kMajorRowWords, runsPerThread;
  /// With wgmma, a slice's core matrices of k 0 to 7 of the k-step, then
  /// those of 8 to 15, ...: the descriptors' leading byte offset (LBO), in
  /// words. A slice's side × 32 elements take 4 of them, fewer words than
  /// the padded rows of mma.sync.
  int64_t coreLboWords;
};

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

/// Whether `writer` (a generic, a fill or a copy) writes all of `buffer`
/// with bf16-exact values.
bool writesExactly(Operation *writer, Value buffer, int depth) {
  if (auto copy = dyn_cast<memref::CopyOp>(writer))
    return exactBefore(copy.getSource(), copy, depth + 1);
  if (auto fill = dyn_cast<linalg::FillOp>(writer))
    return isExactConstant(fill.value());
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

/// Whether every element `reader` may read of `value` is exact in bf16.
bool exactBefore(Value value, Operation *reader, int depth) {
  if (!isa<MemRefType>(value.getType()))
    return isExactConstant(value);
  if (depth > stepc::kMaxTracedWrites)
    return false;
  Operation *writer = stepc::lastWriteBefore(value, reader);
  return writer && writesExactly(writer, value, depth);
}

/// Whether the first input `root` reads (in operand order) has `dim` as
/// its map's last result: the dim its buffer is contiguous along.
bool firstInputAlong(linalg::GenericOp generic, Value root, unsigned dim) {
  std::optional<unsigned> first;
  for (BlockArgument arg : stepc::argumentsReadBy(generic, root))
    if (arg.getArgNumber() < generic.getNumDpsInputs())
      first = std::min(first.value_or(arg.getArgNumber()), arg.getArgNumber());
  if (!first)
    return true;
  AffineMap map =
      generic.getMatchingIndexingMap(generic.getDpsInputOperand(*first));
  if (map.getNumResults() == 0)
    return true;
  auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
  return last && last.getPosition() == dim;
}

} // namespace

bool stepc::detail::holdsBf16ExactValues(OpOperand &input) {
  return exactBefore(input.get(), input.getOwner(), 0);
}

Value stepc::detail::filledValue(linalg::GenericOp generic) {
  if (generic.getNumDpsInits() != 1 || generic.getNumReductionLoops() != 0 ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
           .isPermutation())
    return {};
  Value value = stepc::uniformYield(generic, 0);
  return value && isa<FloatType>(value.getType()) ? value : Value();
}

std::optional<stepc::detail::Bf16Contraction>
stepc::detail::matchBf16Contraction(
    linalg::GenericOp generic, llvm::function_ref<bool(unsigned)> exactInput,
    llvm::function_ref<bool(unsigned)> symmetricInput) {
  std::optional<stepc::Contraction> product = stepc::matchContraction(generic);
  if (!product || !isExactScalar(generic, product->lhs, exactInput) ||
      !isExactScalar(generic, product->rhs, exactInput))
    return std::nullopt;
  return Bf16Contraction{
      product->rowDim,
      product->reductionDim,
      product->colDim,
      product->lhs,
      product->rhs,
      firstInputAlong(generic, product->lhs, product->reductionDim),
      firstInputAlong(generic, product->rhs, product->reductionDim),
      stepc::isMirrored(generic, *product, symmetricInput)};
}

/// TileGeometry's shared bytes, for any count of stages.
static int64_t sharedBytesOfStages(int64_t tileSide, int64_t stages) {
  return stages * 2 * tileSide * kRowWords * 4;
}

int64_t stepc::matmulStagesOf(int64_t tileSide, int64_t stages) {
  if (stages != 0)
    return stages;
  // The most stages up to the deepest that fit, as a power of two keeps
  // the stage index a mask.
  for (int64_t fitting = kMaxMatmulStages; fitting > 2; fitting /= 2)
    if (sharedBytesOfStages(tileSide, fitting) <= kMaxStaticSharedBytes)
      return fitting;
  return 2;
}

std::string stepc::checkMatmulOptions(int64_t tileSide, int64_t stages,
                                      bool wgmma,
                                      llvm::StringRef optionPrefix) {
  std::string prefix = optionPrefix.str();
  if (!llvm::is_contained(kMatmulTileSides, tileSide))
    return prefix + "matmul-tile=" + std::to_string(tileSide) +
           " is not a block tile the tensor-core matmuls compute (64 or "
           "128)";
  if (wgmma && tileSide != kWgmmaRows)
    return prefix + "matmul-wgmma computes 64 x 64 block tiles only, not " +
           prefix + "matmul-tile=" + std::to_string(tileSide);
  if (stages == 0)
    return "";
  if (stages < 2 || stages > kMaxMatmulStages)
    return prefix + "matmul-stages=" + std::to_string(stages) +
           " is not a stage count the tensor-core matmuls pipeline (2 to " +
           std::to_string(kMaxMatmulStages) + ")";
  return "";
}

int64_t stepc::detail::tensorCoreSharedBytes(int64_t tileSide, int64_t stages) {
  int64_t bytes = TileGeometry(tileSide, stages).sharedWords * 4;
  assert(bytes == sharedBytesOfStages(tileSide, stages));
  return bytes;
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
  auto ceilDiv = [&](Value x, int64_t y) { return div(addConst(x, y - 1), y); };
  auto below = [&](Value x, Value bound) -> Value {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, bound);
  };
  auto both = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, loc, x, y);
  };
  /// `x` clamped into [0, size), size > 0: threads past an edge read a
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
  /// Word `word` (an index or an i32) of the shared tiles.
  auto sharedWord = [&](Value word) -> Value {
    Value offset = word.getType() == i32
                       ? word
                       : arith::IndexCastUIOp::create(b, loc, i32, word);
    return LLVM::GEPOp::create(b, loc, emission.sharedTiles.getType(), i32,
                               emission.sharedTiles, ValueRange{offset});
  };
  auto blockBarrier = [&] { gpu::BarrierOp::create(b, loc); };

  const TileGeometry tiles(emission.tileSide, emission.stages);
  Value rows = sizes[contraction.rowDim], cols = sizes[contraction.colDim],
        depth = sizes[contraction.reductionDim];
  // Block tiles are square, so a mirrored tile is a tile.
  Value tilesDown = ceilDiv(rows, tiles.side);
  Value tilesAcross = ceilDiv(cols, tiles.side);
  // A symmetric result (rows = cols) needs the tiles on and above the
  // diagonal only: T(T + 1) / 2 of T² for a Gram of T × T tiles.
  bool symmetric = contraction.mirrored && emission.symmetricOutput;
  Value numTiles = symmetric
                       ? div(arith::MulIOp::create(b, loc, tilesDown,
                                                   addConst(tilesDown, 1)),
                             2)
                       : arith::MulIOp::create(b, loc, tilesDown, tilesAcross);
  Value numSteps = ceilDiv(depth, kBlockDepth);
  // A member's tiles start where the earlier members' left off.
  Value firstTile = emission.blockIndex;
  if (emission.member) {
    Value shift = arith::RemUIOp::create(
        b, loc, arith::MulIOp::create(b, loc, emission.member, numTiles),
        emission.numBlocks);
    firstTile = arith::RemUIOp::create(
        b, loc,
        arith::SubIOp::create(b, loc,
                              arith::AddIOp::create(b, loc, emission.blockIndex,
                                                    emission.numBlocks),
                              shift),
        emission.numBlocks);
  }
  // Uniform per block: every thread of a block meets the same barriers.
  auto tileLoop =
      scf::ForOp::create(b, loc, firstTile, numTiles, emission.numBlocks);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(tileLoop.getBody());
  Value tile = tileLoop.getInductionVar();
  Value tileRow, tileCol, offDiagonal;
  if (symmetric) {
    // Tile t of the triangle, row by row: (row, col) = (c, r) for the pair
    // c ≤ r with t = r(r + 1)/2 + c. r is ⌊(√(8t + 1) − 1)/2⌋, taken in f32
    // and corrected by one either way where the rounding missed.
    Type f32 = b.getF32Type();
    auto triangle = [&](Value r) {
      return div(arith::MulIOp::create(b, loc, r, addConst(r, 1)), 2);
    };
    Value eightTPlusOne = arith::UIToFPOp::create(
        b, loc, f32,
        arith::IndexCastUIOp::create(b, loc, b.getI64Type(),
                                     addConst(mul(tile, 8), 1)));
    Value root = math::SqrtOp::create(b, loc, eightTPlusOne);
    Value half = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.5));
    Value one = index(1);
    Value estimate = arith::IndexCastUIOp::create(
        b, loc, b.getIndexType(),
        arith::FPToUIOp::create(
            b, loc, b.getI64Type(),
            arith::MulFOp::create(
                b, loc,
                arith::SubFOp::create(
                    b, loc, root,
                    arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1))),
                half)));
    Value r = arith::SelectOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                              triangle(estimate), tile),
        arith::SubIOp::create(b, loc, estimate, one), estimate);
    r = arith::SelectOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                              triangle(addConst(r, 1)), tile),
        addConst(r, 1), r);
    tileRow = arith::SubIOp::create(b, loc, tile, triangle(r));
    tileCol = r;
    // Off the diagonal, the mirror image's tile is computed by nobody.
    offDiagonal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                        tileRow, tileCol);
  } else {
    tileRow = arith::DivUIOp::create(b, loc, tile, tilesAcross);
    tileCol = arith::RemUIOp::create(b, loc, tile, tilesAcross);
  }
  Value rowBase = mul(tileRow, tiles.side), colBase = mul(tileCol, tiles.side);

  // The thread's index, read per tile where LLVM cannot hoist it: the
  // offsets below depend on the thread only, and hoisted out of every loop
  // each matmul's would live through the whole kernel (Muon's hidden
  // kernel went from 128 registers to 255 and spilled).
  Value thread = arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(),
      LLVM::InlineAsmOp::create(
          b, loc, i32, ValueRange{}, stepc::kOpaqueThreadIdAsm, "=r",
          /*has_side_effects=*/true, /*is_align_stack=*/false,
          LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
          ArrayAttr())
          .getResult(0));
  Value lane = rem(thread, kWarpSize), warp = div(thread, kWarpSize);
  // PTX's groupID and threadID_in_group: a lane's rows (cols) within an
  // mma tile, and its pair of k within 8.
  Value group = div(lane, 4), inGroup = rem(lane, 4);
  Value warpRow = mul(div(warp, kWarpsAcross), tiles.warpRows);
  Value warpCol = mul(rem(warp, kWarpsAcross), tiles.warpCols);
  // The row of an ldmatrix.x4 this lane addresses: row lane % 8 of matrix
  // j = lane / 8. For A, matrix j is rows +8 (odd j), pairs +4 (j ≥ 2) of
  // an mma tile; for B, cols +8 (j ≥ 2: the second of two tiles), pairs +4
  // (odd j).
  Value matrix = div(lane, 8), matrixRow = rem(lane, 8);
  Value aLine = add(matrixRow, mul(rem(matrix, 2), 8));
  Value aPair = mul(div(matrix, 2), 4);
  Value bLine = add(matrixRow, mul(div(matrix, 2), kMmaCols));
  Value bPair = mul(rem(matrix, 2), 4);
  // The same for B staged k by k, read transposed: matrix j is k + 8 (odd
  // j), cols + 8 (j ≥ 2); the lane addresses k row lane % 8 of it.
  Value bK = add(matrixRow, mul(rem(matrix, 2), 8));
  Value bColOfK = mul(div(matrix, 2), kMmaCols);
  Type fourWords =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {i32, i32, i32, i32});

  // What a thread stages of one factor: tiles.pairsPerThread pairs of k, each
  // at a row (col) of the block tile and a pair index in the k-step.
  // A factor read from a bf16 matrix along its rows (bf16RowsOf) is
  // staged 8 elements at a time: a thread's pairs come in runs of 4
  // consecutive ones of one line, which one 16-byte load fetches.
  //
  // Who stages what: each warp instruction of the staging writes 8
  // consecutive lines × 4 consecutive runs (pairs), lane l at line l % 8
  // and run (pair) l / 8. A quarter warp's 16-byte writes then fill 8
  // different groups of 4 banks in both stage layouts (the 20-word rows
  // and wgmma's core matrices), and its 4-byte stores 32 different banks,
  // where 4 lanes along one line wrote one group 2 to 8 ways; a warp still
  // reads whole 32-byte sectors: 8 lines × 64 bytes of bf16 runs, 8 × 32
  // bytes of f32 pairs. (docs/Design/Wgmma.md, "Staging without bank
  // conflicts".) A factor contiguous along its lines instead keeps a warp
  // along 32 lines, which its bf16 sources need for whole sectors.
  struct Staged {
    Value factor;
    unsigned dim;
    /// The factor's extent along `dim`, and the tile's first line there.
    Value size, base;
    SmallVector<Value> lines, pairs;
    int64_t sliceOffset;
    Value bf16Rows;
    /// A bf16 matrix read at (k, line), staged k by k: the thread's runs
    /// of 8 lines, their k and first line in the tile.
    Value bf16Cols;
    SmallVector<Value> runKs, runLines;
  };
  assert(tiles.pairsPerThread % kPairsPerWideLoad == 0 &&
         "a thread's pairs of a slice are whole 16-byte loads");
  // The warp instruction's 8 × 4 (line, run) of a lane, and the 64 lines a
  // block's 8 warps cover.
  constexpr int64_t kLinesPerWarpStep = 8, kRunsPerWarpStep = 4,
                    kLinesPerBlockStep =
                        kLinesPerWarpStep * stepc::kGpuBlockSize / kWarpSize;
  static_assert(kRunsPerWarpStep * kPairsPerWideLoad == kPairsPerRow,
                "a warp step's runs are a row's k-step");
  Value stepLine =
            add(rem(thread, kLinesPerWarpStep), mul(warp, kLinesPerWarpStep)),
        stepRun = rem(div(thread, kLinesPerWarpStep), kRunsPerWarpStep);
  auto staged = [&](Value factor, unsigned dim, Value size, Value base,
                    bool alongK, int64_t sliceOffset) {
    Value bf16Rows = emission.bf16RowsOf(factor);
    Staged s{factor,      dim,      size, base, {}, {},
             sliceOffset, bf16Rows, {},   {},   {}};
    const int64_t pairsPerPass = stepc::kGpuBlockSize / tiles.side;
    for (int64_t j = 0; j < tiles.pairsPerThread; ++j) {
      if (s.bf16Rows) {
        int64_t run = j / kPairsPerWideLoad;
        s.lines.push_back(addConst(stepLine, run * kLinesPerBlockStep));
        s.pairs.push_back(
            addConst(mul(stepRun, kPairsPerWideLoad), j % kPairsPerWideLoad));
      } else if (alongK) {
        s.lines.push_back(
            addConst(stepLine, j / kRunsPerWarpStep * kLinesPerBlockStep));
        s.pairs.push_back(
            addConst(stepRun, j % kRunsPerWarpStep * kRunsPerWarpStep));
      } else {
        s.lines.push_back(rem(thread, tiles.side));
        s.pairs.push_back(addConst(div(thread, tiles.side), j * pairsPerPass));
      }
    }
    return s;
  };
  Staged lhs = staged(contraction.lhs, contraction.rowDim, rows, rowBase,
                      contraction.lhsAlongReduction, 0);
  Staged rhs = staged(contraction.rhs, contraction.colDim, cols, colBase,
                      contraction.rhsAlongReduction, tiles.sliceWords);
  if (!rhs.bf16Rows)
    rhs.bf16Cols = emission.bf16ColsOf(rhs.factor);
  if (rhs.bf16Cols) {
    // The same 8 × 4 per warp instruction, with k for the lines: 8 k of 4
    // runs of 8 cols, 32 k of 8 such runs per block step.
    constexpr int64_t kKsPerBlockStep = kBlockDepth;
    static_assert(kLinesPerBlockStep / kKsPerBlockStep == 2,
                  "a block step takes a k-step's 32 k twice over");
    Value k = rem(stepLine, kKsPerBlockStep);
    Value runOfStep =
        add(stepRun, mul(div(stepLine, kKsPerBlockStep), kRunsPerWarpStep));
    for (int64_t q = 0; q < tiles.runsPerThread; ++q) {
      rhs.runKs.push_back(k);
      rhs.runLines.push_back(
          mul(addConst(runOfStep, q * 2 * kRunsPerWarpStep), 8));
    }
  }

  // One element of a factor as bf16 bits (i32), zero past the edges.
  Value bf16Zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(bf16));
  auto element = [&](const Staged &s, Value line, Value k) -> Value {
    Value value = emission.valueAt(s.factor, ivsAt(s.dim, clamp(line, s.size),
                                                   contraction.reductionDim,
                                                   clamp(k, depth)));
    Value narrow = arith::TruncFOp::create(b, loc, bf16, value);
    Value masked = arith::SelectOp::create(
        b, loc, both(below(line, s.size), below(k, depth)), narrow, bf16Zero);
    Value bits =
        arith::BitcastOp::create(b, loc, b.getI16Type(), masked).getResult();
    return arith::ExtUIOp::create(b, loc, i32, bits);
  };
  // Two elements' bf16 bits in one word, the first in the low half.
  auto packPair = [&](Value low, Value high) -> Value {
    Value shifted = arith::ShLIOp::create(
        b, loc, high,
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)));
    return arith::OrIOp::create(b, loc, low, shifted);
  };
  // `count` of a thread's pairs of one factor's slice at k-step `k0`, from
  // its pair `first` on: two consecutive elements along k in one word, the
  // first in the low half, as PTX wants a fragment register.
  auto fetchPairs = [&](const Staged &s, Value k0, size_t first, size_t count) {
    SmallVector<Value> words;
    for (auto [line, pair] : llvm::zip(ArrayRef(s.lines).slice(first, count),
                                       ArrayRef(s.pairs).slice(first, count))) {
      Value at = add(s.base, line), k = add(k0, mul(pair, 2));
      words.push_back(
          packPair(element(s, at, k), element(s, at, addConst(k, 1))));
    }
    return words;
  };
  // Word `j` of a thread's words of factor `s` in the stage at `stageBase`.
  auto stagedWord = [&](const Staged &s, Value stageBase, size_t j) {
    Value slice = addConst(stageBase, s.sliceOffset);
    if (emission.wgmma) // K-major core matrices: [k / 8][line / 8][line % 8]
      return add(slice, add(add(mul(div(s.pairs[j], 4), tiles.coreLboWords),
                                mul(s.lines[j], kCoreRowWords)),
                            rem(s.pairs[j], 4)));
    return add(slice, add(mul(s.lines[j], kRowWords), s.pairs[j]));
  };
  // `matrix`'s 8 elements from (row, col) on, copied into shared word
  // `word` with one 16-byte cp.async where they lie `inside` the matrix at
  // a 16-byte aligned address along a contiguous row: already bf16, so no
  // rounding on the way and no registers held while the copy is in
  // flight. Elsewhere `elementByElement` stores them.
  // The byte address of a bf16 `matrix`'s element (row, col).
  auto addressOf = [&](Value matrix, Value row, Value col) -> Value {
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, matrix);
    Value first = add(
        metadata.getOffset(),
        add(arith::MulIOp::create(b, loc, row, metadata.getStrides()[0]), col));
    return add(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, matrix),
               mul(first, 2));
  };
  // One 16-byte cp.async from global byte address `address` into shared
  // word `word`.
  auto copyAsync = [&](Value address, Value word) {
    // Every buffer of a phased kernel is in global memory.
    Value source = LLVM::IntToPtrOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext(), /*global=*/1),
        ValueRange{
            arith::IndexCastUIOp::create(b, loc, b.getI64Type(), address)});
    NVVM::CpAsyncOp::create(b, loc, sharedWord(word), source, /*size=*/16,
                            NVVM::LoadCacheModifierKind::CG,
                            /*cpSize=*/Value());
  };
  auto copy16Bytes = [&](Value matrix, Value row, Value col, Value inside,
                         Value word,
                         llvm::function_ref<void()> elementByElement) {
    Value address = addressOf(matrix, row, col);
    Value aligned = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq,
        arith::AndIOp::create(b, loc, address, index(15)), index(0));
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, matrix);
    Value contiguous = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, metadata.getStrides()[1], index(1));
    auto ifWide = scf::IfOp::create(b, loc, TypeRange{},
                                    both(inside, both(aligned, contiguous)),
                                    /*withElseRegion=*/true);
    OpBuilder::InsertionGuard branch(b);
    b.setInsertionPointToStart(ifWide.thenBlock());
    copyAsync(address, word);
    b.setInsertionPointToStart(ifWide.elseBlock());
    elementByElement();
  };
  // A thread's run of 8 consecutive elements of a bf16 row, from its pair
  // `first` on, into the stage at `stageBase`. Little-endian: the first
  // element is a word's low half.
  auto copyRow = [&](const Staged &s, Value k0, size_t first, Value stageBase) {
    Value line = add(s.base, s.lines[first]),
          k = add(k0, mul(s.pairs[first], 2));
    Value inside = both(below(line, s.size),
                        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                              addConst(k, 8), depth));
    copy16Bytes(
        s.bf16Rows, line, k, inside, stagedWord(s, stageBase, first), [&] {
          for (auto [j, word] :
               llvm::enumerate(fetchPairs(s, k0, first, kPairsPerWideLoad)))
            LLVM::StoreOp::create(
                b, loc, word, sharedWord(stagedWord(s, stageBase, first + j)));
        });
  };
  // Word (k, line) of a k-major slice in the stage at `stageBase`.
  auto kMajorWord = [&](const Staged &s, Value stageBase, Value k, Value line) {
    Value slice = addConst(stageBase, s.sliceOffset);
    if (emission.wgmma) // N-major core matrices: [k / 8][line / 8][k % 8]
      return add(slice,
                 add(add(mul(div(k, 8), tiles.coreLboWords),
                         mul(div(line, 8), kCoreMatrixWords)),
                     add(mul(rem(k, 8), kCoreRowWords), div(rem(line, 8), 2))));
    return add(slice, add(mul(k, tiles.kMajorRowWords), div(line, 2)));
  };
  // A thread's run `q` of 8 consecutive lines at one k of a factor staged
  // k by k, into the stage at `stageBase`.
  auto copyCols = [&](const Staged &s, Value k0, size_t q, Value stageBase) {
    Value line = add(s.base, s.runLines[q]), k = add(k0, s.runKs[q]);
    Value inside = both(below(k, depth),
                        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                              addConst(line, 8), s.size));
    Value word = kMajorWord(s, stageBase, s.runKs[q], s.runLines[q]);
    copy16Bytes(s.bf16Cols, k, line, inside, word, [&] {
      for (int64_t w = 0; w < 4; ++w)
        LLVM::StoreOp::create(
            b, loc,
            packPair(element(s, addConst(line, 2 * w), k),
                     element(s, addConst(line, 2 * w + 1), k)),
            sharedWord(addConst(word, w)));
    });
  };
  // The staged factors: bf16 rows are copied into a stage as they are
  // loaded (copyRows); the others are loaded into registers (fetch), then
  // stored (store), so that their rounding and fused prologue run while
  // the loads are in flight.
  SmallVector<const Staged *> copied, inRegisters;
  for (const Staged *s : {&lhs, &rhs})
    (s->bf16Rows || s->bf16Cols ? copied : inRegisters).push_back(s);
  auto copyRows = [&](Value k0, Value stageBase) {
    for (const Staged *s : copied) {
      for (size_t q = 0; q < s->runKs.size(); ++q)
        copyCols(*s, k0, q, stageBase);
      if (s->bf16Rows)
        for (size_t first = 0; first < s->lines.size();
             first += kPairsPerWideLoad)
          copyRow(*s, k0, first, stageBase);
    }
  };
  auto fetch = [&](Value k0) {
    SmallVector<Value> words;
    for (const Staged *s : inRegisters)
      llvm::append_range(words, fetchPairs(*s, k0, 0, s->lines.size()));
    return words;
  };
  auto store = [&](ArrayRef<Value> words, Value stageBase) {
    size_t n = 0;
    for (const Staged *s : inRegisters)
      for (size_t j = 0; j < s->lines.size(); ++j)
        LLVM::StoreOp::create(b, loc, words[n++],
                              sharedWord(stagedWord(*s, stageBase, j)));
  };
  // The word where stage `stage` (an index below tiles.stages) starts.
  auto stageBaseOf = [&](Value stage) { return mul(stage, tiles.stageWords); };

  // The accumulators start at zero and the output's values are added at
  // the end, so that nothing of the output is live across the k loop.
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  SmallVector<Value> initial(tiles.tilesDown * tiles.tilesAcross * 4, zero);

  auto toI32 = [&](Value x) -> Value {
    return arith::IndexCastUIOp::create(b, loc, i32, x);
  };
  auto addI32 = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto addConstI32 = [&](Value x, int64_t y) -> Value {
    return y ? addI32(x,
                      arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(y)))
             : x;
  };
  // The words where this lane's ldmatrix rows start in a stage, for the
  // first mma tile and depth: the other tiles and the second depth are
  // constant offsets from them. In i32, like the stage's start, so that a
  // k-step's fragment addresses cost one 32-bit add per factor.
  Value aWords = toI32(add(mul(add(warpRow, aLine), kRowWords), aPair));
  Value bWords = toI32(addConst(
      rhs.bf16Cols
          ? add(mul(bK, tiles.kMajorRowWords), div(add(warpCol, bColOfK), 2))
          : add(mul(add(warpCol, bLine), kRowWords), bPair),
      tiles.sliceWords));

  // Four fragment registers from the stage: matrix j of the ldmatrix.x4
  // lands in register j, lane l holding row l/4's pair l%4 (the lanes'
  // rows are aLine/aPair and bLine/bPair above). R's slice staged k by k is
  // read with .trans: lane l of matrix j then receives k 2 (l % 4) and the
  // next at col l / 4, what the mma wants.
  auto ldmatrix = [&](Value word, NVVM::MMALayout layout) {
    Value loaded = NVVM::LdMatrixOp::create(
        b, loc, fourWords, sharedWord(word), /*num=*/4, layout,
        NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
        NVVM::LdStMatrixEltType::B16);
    SmallVector<Value, 4> registers;
    for (int64_t q = 0; q < 4; ++q)
      registers.push_back(LLVM::ExtractValueOp::create(b, loc, loaded, q));
    return registers;
  };
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  // wgmma (docs/Design/Wgmma.md): warpgroup w of the block computes cols
  // (side / 2) w to (side / 2)(w + 1) − 1 of the tile, m64nNk16 with N =
  // side / 2, reading both slices of a stage through descriptors: the
  // start's 18 bits of shared-window address over 16, LBO (between the
  // core matrices of k 0-7 and 8-15) and SBO (between eights of lines)
  // over 16, no swizzle. The second k16 half is 2 LBO further.
  const int64_t wgmmaCols = tiles.side / 2;
  Type i64 = b.getI64Type();
  auto i64Const = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  };
  const int64_t lboBytes = tiles.coreLboWords * 4,
                sboBytes = kCoreMatrixWords * 4;
  Value sharedBytes, warpgroupColBytes;
  if (emission.wgmma) {
    assert(tiles.side == kWgmmaRows && "one m64 wgmma per tile's rows");
    sharedBytes = LLVM::PtrToIntOp::create(b, loc, i64, emission.sharedTiles);
    warpgroupColBytes = arith::IndexCastUIOp::create(
        b, loc, i64,
        mul(div(thread, kWarpgroupSize), wgmmaCols / 8 * kCoreMatrixWords * 4));
  }
  auto descriptorAt = [&](Value bytes) -> Value {
    Value start = arith::ShRUIOp::create(
        b, loc, arith::AndIOp::create(b, loc, bytes, i64Const(0x3FFFF)),
        i64Const(4));
    return arith::OrIOp::create(
        b, loc, start, i64Const((lboBytes >> 4) << 16 | (sboBytes >> 4) << 32));
  };
  Type accumulatorsType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(wgmmaCols / 2, f32));
  // Starts a warpgroup's products of one k-step; `finishByWarpgroup`
  // waits for them. In between the thread issues the next k-step's copies
  // into another stage, which the products do not read.
  auto startByWarpgroup = [&](Value stageWord, ValueRange sums) {
    Value stage = arith::AddIOp::create(
        b, loc, sharedBytes,
        arith::MulIOp::create(b, loc,
                              arith::ExtUIOp::create(b, loc, i64, stageWord),
                              i64Const(4)));
    Value descriptorA = descriptorAt(stage);
    Value descriptorB = descriptorAt(arith::AddIOp::create(
        b, loc, arith::AddIOp::create(b, loc, stage, warpgroupColBytes),
        i64Const(tiles.sliceWords * 4)));
    Value accumulators = LLVM::UndefOp::create(b, loc, accumulatorsType);
    for (auto [i, sum] : llvm::enumerate(sums))
      accumulators = LLVM::InsertValueOp::create(b, loc, accumulators, sum, i);
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    for (int64_t half = 0; half < kBlockDepth / kWgmmaDepth; ++half) {
      Value step = i64Const(half * (2 * lboBytes >> 4));
      accumulators = NVVM::WgmmaMmaAsyncOp::create(
          b, loc, accumulatorsType, accumulators,
          arith::AddIOp::create(b, loc, descriptorA, step),
          arith::AddIOp::create(b, loc, descriptorB, step),
          NVVM::MMAShapeAttr::get(b.getContext(), kWgmmaRows, wgmmaCols,
                                  kWgmmaDepth),
          NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::f32,
          NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
          NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
          // R staged k by k is N-major: the transposed form.
          rhs.bf16Cols ? NVVM::MMALayout::row : NVVM::MMALayout::col,
          /*satfinite=*/nullptr);
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    return accumulators;
  };
  // Waited for in the same k-step, before the loop carries the
  // accumulators on: a move into them while the products run would
  // serialize the wgmma (ptxas C7515).
  auto finishByWarpgroup = [&](Value accumulators) {
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
    SmallVector<Value> results;
    for (int64_t i = 0; i < wgmmaCols / 2; ++i)
      results.push_back(LLVM::ExtractValueOp::create(b, loc, accumulators, i));
    return results;
  };
  // One k-step's products by mma.sync out of the stage at word `stageWord`
  // (an i32), added to `sums`.
  auto multiplyByWarps = [&](Value stageWord, ValueRange sums) {
    SmallVector<Value> accumulators(sums);
    Value aStage = addI32(stageWord, aWords),
          bStage = addI32(stageWord, bWords);
    for (int64_t half = 0; half < kBlockDepth / kMmaDepth; ++half) {
      int64_t pairBase = half * kMmaDepth / 2;
      SmallVector<SmallVector<Value, 4>> aFragments;
      for (int64_t m = 0; m < tiles.tilesDown; ++m)
        aFragments.push_back(
            ldmatrix(addConstI32(aStage, m * kMmaRows * kRowWords + pairBase),
                     NVVM::MMALayout::row));
      // One ldmatrix.x4 holds two B tiles.
      SmallVector<SmallVector<Value, 2>> bFragments;
      for (int64_t n = 0; n < tiles.tilesAcross; n += 2) {
        SmallVector<Value, 4> bRegisters =
            rhs.bf16Cols
                ? ldmatrix(
                      addConstI32(bStage, 2 * pairBase * tiles.kMajorRowWords +
                                              n * kMmaCols / 2),
                      NVVM::MMALayout::col)
                : ldmatrix(
                      addConstI32(bStage, n * kMmaCols * kRowWords + pairBase),
                      NVVM::MMALayout::row);
        bFragments.push_back({bRegisters[0], bRegisters[1]});
        bFragments.push_back({bRegisters[2], bRegisters[3]});
      }
      for (int64_t m = 0; m < tiles.tilesDown; ++m)
        for (int64_t n = 0; n < tiles.tilesAcross; ++n) {
          MutableArrayRef<Value> c =
              MutableArrayRef<Value>(accumulators)
                  .slice((m * tiles.tilesAcross + n) * 4, 4);
          Value d = NVVM::MmaOp::create(
              b, loc, resultType, aFragments[m], bFragments[n],
              SmallVector<Value>(c.begin(), c.end()),
              ArrayRef<int64_t>{kMmaRows, kMmaCols, kMmaDepth}, std::nullopt,
              std::nullopt,
              std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                            NVVM::MMATypes::bf16},
              std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                             NVVM::MMALayout::col});
          for (int64_t r = 0; r < 4; ++r)
            c[r] = LLVM::ExtractValueOp::create(b, loc, d, r);
        }
    }
    return accumulators;
  };
  // One k-step's products out of the stage at word `stageWord()`, added
  // to `sums`, with the next k-step's copies issued by `issueNext`. mma.sync
  // issues the copies first, so that they are in flight during the
  // products. wgmma runs asynchronously: its products start first and are
  // waited for after the copies issue, so that the copies' address
  // arithmetic overlaps them too.
  auto multiplyAround = [&](function_ref<Value()> stageWord, ValueRange sums,
                            function_ref<void()> issueNext) {
    if (!emission.wgmma) {
      issueNext();
      return multiplyByWarps(stageWord(), sums);
    }
    Value inFlight = startByWarpgroup(stageWord(), sums);
    issueNext();
    return finishByWarpgroup(inFlight);
  };

  // A pipeline of tiles.stages stages: k-step j is staged in stage
  // j % stages, as one cp.async group per thread (committed even when
  // empty, so that a thread's groups count its k-steps). Before the loop
  // the first stages - 1 k-steps are issued. Iteration j waits until at
  // most stages - 2 groups are in flight (k-step j's has landed), meets the
  // block (every thread's copies and stores of k-step j are in, and every
  // warp is done with k-step j - 1), issues k-step j + stages - 1 into the
  // stage k-step j - 1 was read from, and multiplies out of stage j % stages
  // (these two in multiplyAround's order).
  auto commit = [&] {
    if (!copied.empty())
      NVVM::CpAsyncCommitGroupOp::create(b, loc);
  };
  auto waitAndMeet = [&] {
    if (!copied.empty())
      NVVM::CpAsyncWaitGroupOp::create(b, loc, tiles.stages - 2);
    if (emission.wgmma) // the thread's writes of the stage (copies and
                        // stores) are in the generic proxy; wgmma reads
                        // through the async one
      NVVM::FenceProxyOp::create(
          b, loc, NVVM::ProxyKind::async_shared,
          NVVM::SharedSpaceAttr::get(b.getContext(),
                                     NVVM::SharedSpace::shared_cta));
    blockBarrier();
  };

  // Any tile: each k-step's copies checked against the matrix's edges, its
  // alignment and its strides, and element by element where they fail.
  // Factors loaded into registers are stored into their stage after the
  // multiply, so that their loads are in flight during it.
  auto anyTileLoop = [&]() -> SmallVector<Value> {
    auto issue = [&](Value k0, Value stageBase) {
      copyRows(k0, stageBase);
      return fetch(k0);
    };
    for (int64_t stage = 0; stage + 1 < tiles.stages; ++stage) {
      auto ifIssued = scf::IfOp::create(b, loc, below(index(stage), numSteps));
      {
        OpBuilder::InsertionGuard branch(b);
        b.setInsertionPointToStart(ifIssued.thenBlock());
        Value stageBase = index(stage * tiles.stageWords);
        store(issue(index(stage * kBlockDepth), stageBase), stageBase);
      }
      commit();
    }
    auto kLoop =
        scf::ForOp::create(b, loc, index(0), numSteps, index(1), initial);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(kLoop.getBody());
    Value step = kLoop.getInductionVar();
    waitAndMeet();
    Value stageBase = stageBaseOf(rem(step, tiles.stages));
    Value nextStep = addConst(step, tiles.stages - 1);
    Value nextBase = stageBaseOf(rem(nextStep, tiles.stages));
    Value hasNext = below(nextStep, numSteps);
    SmallVector<Value> fetched;
    auto issueNext = [&] {
      SmallVector<Type> wordTypes(inRegisters.size() * tiles.pairsPerThread,
                                  i32);
      auto ifNext = scf::IfOp::create(b, loc, wordTypes, hasNext,
                                      /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard branch(b);
        b.setInsertionPointToStart(ifNext.thenBlock());
        SmallVector<Value> words = issue(mul(nextStep, kBlockDepth), nextBase);
        // Without results, the builder gave both blocks their yields.
        if (!words.empty()) {
          scf::YieldOp::create(b, loc, words);
          b.setInsertionPointToStart(ifNext.elseBlock());
          Value none =
              arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
          scf::YieldOp::create(b, loc, SmallVector<Value>(words.size(), none));
        }
      }
      commit();
      fetched = ifNext.getResults();
    };
    SmallVector<Value> accumulators = multiplyAround(
        [&] { return toI32(stageBase); }, kLoop.getRegionIterArgs(), issueNext);
    auto ifStore = scf::IfOp::create(b, loc, hasNext);
    {
      OpBuilder::InsertionGuard branch(b);
      b.setInsertionPointToStart(ifStore.thenBlock());
      store(fetched, nextBase);
    }
    scf::YieldOp::create(b, loc, accumulators);
    return SmallVector<Value>(kLoop.getResults());
  };

  // A whole tile (GpuKernels.md, "Whole tiles"): every copy of every
  // k-step is a 16-byte run inside its matrix at an aligned address, so
  // the k loop copies without checks. Each run's global address is
  // carried and advanced by a constant per k-step, and its place in a
  // stage is computed once per tile, so that a k-step's addresses are a
  // 64-bit add per run and 32-bit adds.
  auto wholeTileLoop = [&]() -> SmallVector<Value> {
    struct Run {
      /// Byte address at k-step 0, bytes per k-step, word in a stage (i32).
      Value start, stride, word;
    };
    SmallVector<Run> runs;
    for (const Staged *s : copied) {
      for (size_t q = 0; q < s->runKs.size(); ++q) {
        auto metadata =
            memref::ExtractStridedMetadataOp::create(b, loc, s->bf16Cols);
        runs.push_back(
            {addressOf(s->bf16Cols, s->runKs[q], add(s->base, s->runLines[q])),
             mul(metadata.getStrides()[0], 2 * kBlockDepth),
             toI32(kMajorWord(*s, index(0), s->runKs[q], s->runLines[q]))});
      }
      if (s->bf16Rows)
        for (size_t first = 0; first < s->lines.size();
             first += kPairsPerWideLoad)
          runs.push_back({addressOf(s->bf16Rows, add(s->base, s->lines[first]),
                                    mul(s->pairs[first], 2)),
                          index(2 * kBlockDepth),
                          toI32(stagedWord(*s, index(0), first))});
    }
    auto stageWordOf = [&](Value stepI32) -> Value {
      Value stages =
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(tiles.stages));
      return arith::MulIOp::create(
          b, loc, arith::RemUIOp::create(b, loc, stepI32, stages),
          arith::ConstantOp::create(b, loc,
                                    b.getI32IntegerAttr(tiles.stageWords)));
    };
    auto issueRuns = [&](Value stageWord, ValueRange addresses) {
      for (auto [run, address] : llvm::zip_equal(runs, addresses))
        copyAsync(address, addI32(stageWord, run.word));
    };
    auto addressesAt = [&](int64_t step) {
      SmallVector<Value> addresses;
      for (const Run &run : runs)
        addresses.push_back(add(
            run.start, arith::MulIOp::create(b, loc, run.stride, index(step))));
      return addresses;
    };
    for (int64_t stage = 0; stage + 1 < tiles.stages; ++stage) {
      auto ifIssued = scf::IfOp::create(b, loc, below(index(stage), numSteps));
      {
        OpBuilder::InsertionGuard branch(b);
        b.setInsertionPointToStart(ifIssued.thenBlock());
        issueRuns(toI32(index(stage * tiles.stageWords)), addressesAt(stage));
      }
      commit();
    }
    SmallVector<Value> carried(initial);
    llvm::append_range(carried, addressesAt(tiles.stages - 1));
    auto kLoop =
        scf::ForOp::create(b, loc, index(0), numSteps, index(1), carried);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(kLoop.getBody());
    Value step = kLoop.getInductionVar();
    ValueRange sums = kLoop.getRegionIterArgs().take_front(initial.size());
    ValueRange addresses = kLoop.getRegionIterArgs().drop_front(initial.size());
    waitAndMeet();
    Value stepI32 = toI32(step);
    Value nextStep = addConst(step, tiles.stages - 1);
    auto issueNext = [&] {
      auto ifNext = scf::IfOp::create(b, loc, below(nextStep, numSteps));
      {
        OpBuilder::InsertionGuard branch(b);
        b.setInsertionPointToStart(ifNext.thenBlock());
        issueRuns(stageWordOf(addConstI32(stepI32, tiles.stages - 1)),
                  addresses);
      }
      commit();
    };
    SmallVector<Value> yielded =
        multiplyAround([&] { return stageWordOf(stepI32); }, sums, issueNext);
    for (auto [run, address] : llvm::zip_equal(runs, addresses))
      yielded.push_back(add(address, run.stride));
    scf::YieldOp::create(b, loc, yielded);
    return SmallVector<Value>(kLoop.getResults().take_front(initial.size()));
  };

  // Whether this tile is whole: every line the block stages lies inside
  // its factor, the depth is whole k-steps, and each copied matrix is
  // contiguous along its rows, which start at 16-byte boundaries. The same
  // for every thread of the block, so both loops' barriers are safe.
  auto isWholeTile = [&]() -> Value {
    Value whole = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        rem(depth, kBlockDepth), index(0));
    for (const Staged *s : copied) {
      whole = both(
          whole, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                       addConst(s->base, tiles.side), s->size));
      Value matrix = s->bf16Rows ? s->bf16Rows : s->bf16Cols;
      auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, matrix);
      Value start = addressOf(matrix, index(0), index(0));
      for (auto [value, multiple] :
           {std::pair(start, 16),
            std::pair(Value(metadata.getStrides()[0]), 8)})
        whole =
            both(whole, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              rem(value, multiple), index(0)));
      whole = both(whole,
                   arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         metadata.getStrides()[1], index(1)));
    }
    return whole;
  };

  SmallVector<Value> sums;
  if (emission.wholeTiles && inRegisters.empty()) {
    auto ifWhole = scf::IfOp::create(
        b, loc, SmallVector<Type>(initial.size(), f32), isWholeTile(),
        /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard branch(b);
      b.setInsertionPointToStart(ifWhole.thenBlock());
      scf::YieldOp::create(b, loc, wholeTileLoop());
      b.setInsertionPointToStart(ifWhole.elseBlock());
      scf::YieldOp::create(b, loc, anyTileLoop());
    }
    sums = ifWhole.getResults();
  } else {
    sums = anyTileLoop();
  }

  // The next tile's (or matmul's) first stages overwrite what the last
  // k-steps were read from.
  blockBarrier();

  // Each accumulator's row and col in the tile. mma.sync: accumulator r
  // of mma tile (m, n), row g (+8 for r ≥ 2), col 2t (+1). wgmma:
  // accumulator i of the warpgroup's thread, row 16 (warp % 4) + g (+8
  // for i % 4 ≥ 2), col 2t + i % 2 + 8 (i / 4), the PTX ISA's layout.
  Value laneCol = mul(inGroup, 2);
  SmallVector<std::pair<Value, Value>> places;
  if (emission.wgmma) {
    Value firstRow = add(mul(rem(warp, 4), kMmaRows), group);
    Value firstCol = add(mul(div(thread, kWarpgroupSize), wgmmaCols), laneCol);
    for (int64_t i = 0; i < int64_t(sums.size()); ++i)
      places.push_back({addConst(firstRow, (i / 2) % 2 * 8),
                        addConst(firstCol, i % 2 + 8 * (i / 4))});
  } else {
    for (int64_t m = 0; m < tiles.tilesDown; ++m)
      for (int64_t n = 0; n < tiles.tilesAcross; ++n)
        for (int64_t r = 0; r < 4; ++r)
          places.push_back(
              {add(warpRow, addConst(group, m * kMmaRows + (r / 2) * 8)),
               add(warpCol, addConst(laneCol, n * kMmaCols + r % 2))});
  }
  for (auto [i, place] : llvm::enumerate(places)) {
    Value row = add(rowBase, place.first);
    Value col = add(colBase, place.second);
    auto ifInRange =
        scf::IfOp::create(b, loc, both(below(row, rows), below(col, cols)));
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(ifInRange.thenBlock());
    Value result = sums[i];
    auto addAt =
        [&](Value at, Value across) {
          SmallVector<Value> ivs =
              ivsAt(contraction.rowDim, at, contraction.colDim, across);
          emission.storeOutput(
              arith::AddFOp::create(b, loc, emission.loadOutput(ivs), result),
              ivs);
        };
    addAt(row, col);
    if (!symmetric)
      continue;
    b.setInsertionPointToStart(
        scf::IfOp::create(b, loc, offDiagonal).thenBlock());
    addAt(col, row);
  }
}
