//===- BlockMatmuls.cpp - matrix products in register blocks ----*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The CPU's matrix products (docs/Design/CpuPipeline.md, "Matrix products
// in register blocks"): each output block of kBlockRows rows by
// kBlockVectors vectors stays in registers for the whole k loop, which
// loads a vector of the right factor's row k and broadcasts the left
// factor's element per row. Every element still sums its products one at
// a time in ascending k, a rounded multiply then a rounded add, as the
// generic's loops do: the same bits, several times faster.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/BodySlice.h"
#include "stepc/Transforms/Contraction.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace stepc {
#define GEN_PASS_DEF_BLOCKMATMULS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
/// Rows and 8-lane f32 vectors of an output block: 12 vector accumulators,
/// two right-factor vectors and a broadcast fit x86-64-v3's 16 registers.
constexpr int64_t kBlockRows = 6, kBlockVectors = 2, kVectorLanes = 8;
constexpr int64_t kBlockCols = kBlockVectors * kVectorLanes;

/// A contraction (stepc/Transforms/Contraction.h) the blocks compute: i and
/// j the output's row and col dims, L the factor that reads i.
struct Product {
  unsigned i, k, j;
  Value lhs, rhs;
  arith::MulFOp multiply;
  arith::AddFOp accumulate;
  /// Whether the result is symmetric (a mirrored contraction into a buffer
  /// that holds one value): only the blocks that reach the diagonal or
  /// above it are computed, and the rest is copied across.
  bool symmetric;
};

/// The loop dims an indexing map reads, when it reads plain dims.
std::optional<SmallVector<unsigned>> dimsOf(AffineMap map) {
  SmallVector<unsigned> dims;
  for (AffineExpr result : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(result);
    if (!dim)
      return std::nullopt;
    dims.push_back(dim.getPosition());
  }
  return dims;
}

/// The dims of a map that matchProduct found plain, by value: a range-for
/// over `*dimsOf(...)` would read the optional after its lifetime.
SmallVector<unsigned> plainDimsOf(AffineMap map) { return *dimsOf(map); }

std::optional<Product> matchProduct(linalg::GenericOp generic) {
  std::optional<stepc::Contraction> contraction =
      stepc::matchContraction(generic);
  if (!contraction)
    return std::nullopt;
  // Plain dims everywhere: the blocks' remainders take views of every
  // operand along them.
  if (llvm::any_of(generic.getIndexingMapsArray(),
                   [](AffineMap map) { return !dimsOf(map); }))
    return std::nullopt;
  OpOperand *out = generic.getDpsInitOperand(0);
  if (!cast<MemRefType>(out->get().getType()).isLastDimUnitStride())
    return std::nullopt;
  SmallVector<unsigned> outDims =
      plainDimsOf(generic.getMatchingIndexingMap(out));
  bool lhsReadsRows = contraction->rowDim == outDims[0];
  Product product{outDims[0],
                  contraction->reductionDim,
                  outDims[1],
                  lhsReadsRows ? contraction->lhs : contraction->rhs,
                  lhsReadsRows ? contraction->rhs : contraction->lhs,
                  contraction->multiply,
                  contraction->accumulate,
                  false};
  product.symmetric = stepc::isMirrored(generic, *contraction,
                                        [&](unsigned n) {
                                          return stepc::holdsSymmetricValues(
                                              *generic.getDpsInputOperand(n));
                                        }) &&
                      stepc::holdsOneValue(*out);
  return product;
}

struct BlockMatmulsPass : stepc::impl::BlockMatmulsBase<BlockMatmulsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, Product>> products;
    getOperation().walk([&](linalg::GenericOp generic) {
      if (std::optional<Product> product = matchProduct(generic))
        products.emplace_back(generic, *product);
    });
    for (auto &[generic, product] : products)
      rewrite(generic, product);
  }

  /// A new buffer [count / width][depth][width] holding `factor`'s first
  /// `count` rows (L, dim `across` the row) or cols (R, the col): element
  /// (a, k) at [a / width][k][a % width], so that each panel of `width`
  /// is contiguous per k and the k loop streams it. A generic over the
  /// factor's own (a, k) fills it with the factor's ops, its roundings and
  /// scalings done once per element, not once per product.
  Value pack(OpBuilder &b, linalg::GenericOp generic, Value factor,
             unsigned across, unsigned k, int64_t width, Value count,
             Value depth) {
    Location loc = generic.getLoc();
    Block &body = *generic.getBody();
    SmallVector<BlockArgument> arguments;
    SmallVector<Operation *> ops;
    if (auto argument = dyn_cast<BlockArgument>(factor))
      arguments.push_back(argument);
    else
      ops = stepc::opsNeededBy(body, factor, {}, &arguments);

    Value panels = arith::DivUIOp::create(
        b, loc, count, arith::ConstantIndexOp::create(b, loc, width));
    Value buffer = memref::AllocOp::create(
        b, loc,
        MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, width},
                        b.getF32Type()),
        ValueRange{panels, depth}, b.getI64IntegerAttr(64));
    // Loops over the factor's own (across, k), each element written to its
    // place in the panels: LLVM keeps a plain loop nest. The inner loop
    // runs along the inputs' rows: a factor read as (k, across), such as
    // a right factor read in place, would otherwise be read down its
    // columns, one cache line per element.
    bool kInner = llvm::all_of(arguments, [&](BlockArgument argument) {
      AffineMap map = generic.getMatchingIndexingMap(
          generic.getMatchingOpOperand(argument));
      return map.getNumResults() == 0 || plainDimsOf(map).back() == k;
    });
    AffineExpr along = b.getAffineDimExpr(kInner ? 0 : 1),
               step = b.getAffineDimExpr(kInner ? 1 : 0);
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (BlockArgument argument : arguments) {
      OpOperand *operand = generic.getMatchingOpOperand(argument);
      // Only the whole panels: a view of the input's first `count`.
      SmallVector<AffineExpr> results;
      SmallVector<OpFoldResult> offsets, sizes, strides;
      for (unsigned dim :
           plainDimsOf(generic.getMatchingIndexingMap(operand))) {
        results.push_back(dim == k ? step : along);
        offsets.push_back(b.getIndexAttr(0));
        sizes.push_back(dim == k ? depth : count);
        strides.push_back(b.getIndexAttr(1));
      }
      inputs.push_back(results.empty()
                           ? operand->get()
                           : memref::SubViewOp::create(b, loc, operand->get(),
                                                       offsets, sizes, strides)
                                 .getResult());
      maps.push_back(AffineMap::get(2, 0, results, b.getContext()));
    }
    maps.push_back(AffineMap::get(
        2, 0, {along.floorDiv(width), step, along % width}, b.getContext()));
    linalg::GenericOp::create(
        b, loc, inputs, ValueRange{buffer}, maps,
        SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
        [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          IRMapping mapping = stepc::cloneSlice(
              nested, ops, arguments, args.take_front(arguments.size()));
          linalg::YieldOp::create(nested, nestedLoc,
                                  mapping.lookupOrDefault(factor));
        });
    return buffer;
  }

  /// The private function `(L panels, R panels, out, upper, cost, begin,
  /// end)` that adds the products of the whole blocks in col panels
  /// [begin, end) to `out`, or with `upper` only those of the blocks that
  /// reach the diagonal or above it, one per module and pair of fastmath
  /// flags: LLVM then compiles the blocked loops once, however many
  /// products call them. IEEE multiplies and adds commute bit for bit, so
  /// the operands' order in the generic does not matter. Col panels write
  /// disjoint cols, so the function is a parallel range
  /// (stepc-parallelize-ranges): `cost` is a panel's multiply-adds.
  func::FuncOp blocksFunction(Type lhsType, Type rhsType, Type outType,
                              arith::FastMathFlags multiplyFlags,
                              arith::FastMathFlags addFlags) {
    ModuleOp module = getOperation();
    std::string name = "stepc_product_blocks";
    if (multiplyFlags != arith::FastMathFlags::none ||
        addFlags != arith::FastMathFlags::none)
      name += "_" + arith::stringifyFastMathFlags(multiplyFlags) + "_" +
              arith::stringifyFastMathFlags(addFlags);
    for (char &c : name)
      if (!llvm::isAlnum(c))
        c = '_';
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;

    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Location loc = module.getLoc();
    auto function = func::FuncOp::create(
        b, loc, name,
        b.getFunctionType({lhsType, rhsType, outType, b.getI1Type(),
                           b.getIndexType(), b.getIndexType(),
                           b.getIndexType()},
                          TypeRange{}));
    function.setPrivate();
    // Called, not inlined: one copy of the loops is the point.
    function->setAttr("passthrough",
                      b.getArrayAttr({b.getStringAttr("noinline")}));
    function->setAttr(stepc::kParallelRangesAttrName, b.getUnitAttr());
    b.setInsertionPointToStart(function.addEntryBlock());
    Value lhs = function.getArgument(0), rhs = function.getArgument(1),
          out = function.getArgument(2), upper = function.getArgument(3),
          firstPanel = function.getArgument(5),
          endPanel = function.getArgument(6);
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value blockedRows = arith::MulIOp::create(
              b, loc, memref::DimOp::create(b, loc, lhs, 0), index(kBlockRows)),
          firstCol =
              arith::MulIOp::create(b, loc, firstPanel, index(kBlockCols)),
          endCol = arith::MulIOp::create(b, loc, endPanel, index(kBlockCols)),
          depth = memref::DimOp::create(b, loc, lhs, 1);
    auto multiplyAdd = [&](Value l, Value r, Value sum) -> Value {
      Value p = arith::MulFOp::create(b, loc, l, r, multiplyFlags);
      return arith::AddFOp::create(b, loc, p, sum, addFlags);
    };

    // Panels of cols outside, so that one stays in cache while every
    // panel of rows streams past it.
    auto vectorType = VectorType::get({kVectorLanes}, b.getF32Type());
    auto colLoop =
        scf::ForOp::create(b, loc, firstCol, endCol, index(kBlockCols));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(colLoop.getBody());
      Value col0 = colLoop.getInductionVar();
      Value colPanel = arith::DivUIOp::create(b, loc, col0, index(kBlockCols));
      // Blocks of rows that start at or above the panel's last col.
      Value diagonalRows = arith::MinUIOp::create(
          b, loc, blockedRows,
          arith::AddIOp::create(b, loc, col0, index(kBlockCols)));
      Value rowEnd =
          arith::SelectOp::create(b, loc, upper, diagonalRows, blockedRows);
      auto rowLoop =
          scf::ForOp::create(b, loc, index(0), rowEnd, index(kBlockRows));
      b.setInsertionPointToStart(rowLoop.getBody());
      Value row0 = rowLoop.getInductionVar();
      Value rowPanel = arith::DivUIOp::create(b, loc, row0, index(kBlockRows));
      SmallVector<Value> rowOf, colOf;
      for (int64_t r = 0; r < kBlockRows; ++r)
        rowOf.push_back(arith::AddIOp::create(b, loc, row0, index(r)));
      for (int64_t v = 0; v < kBlockVectors; ++v)
        colOf.push_back(
            arith::AddIOp::create(b, loc, col0, index(v * kVectorLanes)));
      SmallVector<Value> sums;
      for (int64_t r = 0; r < kBlockRows; ++r)
        for (int64_t v = 0; v < kBlockVectors; ++v)
          sums.push_back(vector::LoadOp::create(
              b, loc, vectorType, out, ValueRange{rowOf[r], colOf[v]}));
      auto kLoop = scf::ForOp::create(b, loc, index(0), depth, index(1), sums);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(kLoop.getBody());
        Value k = kLoop.getInductionVar();
        SmallVector<Value> rhsVectors, next;
        for (int64_t v = 0; v < kBlockVectors; ++v)
          rhsVectors.push_back(vector::LoadOp::create(
              b, loc, vectorType, rhs,
              ValueRange{colPanel, k, index(v * kVectorLanes)}));
        for (int64_t r = 0; r < kBlockRows; ++r) {
          Value element = memref::LoadOp::create(
              b, loc, lhs, ValueRange{rowPanel, k, index(r)});
          Value broadcast =
              vector::BroadcastOp::create(b, loc, vectorType, element);
          for (int64_t v = 0; v < kBlockVectors; ++v)
            next.push_back(
                multiplyAdd(broadcast, rhsVectors[v],
                            kLoop.getRegionIterArgs()[r * kBlockVectors + v]));
        }
        scf::YieldOp::create(b, loc, next);
      }
      for (int64_t r = 0; r < kBlockRows; ++r)
        for (int64_t v = 0; v < kBlockVectors; ++v)
          vector::StoreOp::create(b, loc,
                                  kLoop.getResult(r * kBlockVectors + v), out,
                                  ValueRange{rowOf[r], colOf[v]});
    }
    func::ReturnOp::create(b, loc);
    return function;
  }

  void rewrite(linalg::GenericOp generic, Product product) {
    OpBuilder b(generic);
    Location loc = generic.getLoc();
    SmallVector<Range> ranges =
        cast<linalg::LinalgOp>(generic.getOperation()).createLoopRanges(b, loc);
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    auto sizeOf = [&](unsigned dim) {
      return getValueOrCreateConstantIndexOp(b, loc, ranges[dim].size);
    };
    Value rows = sizeOf(product.i), depth = sizeOf(product.k),
          cols = sizeOf(product.j);
    auto wholeOf = [&](Value size, int64_t multiple) -> Value {
      return arith::SubIOp::create(
          b, loc, size, arith::RemUIOp::create(b, loc, size, index(multiple)));
    };
    Value blockedRows = wholeOf(rows, kBlockRows),
          blockedCols = wholeOf(cols, kBlockCols);
    Value lhs = pack(b, generic, product.lhs, product.i, product.k, kBlockRows,
                     blockedRows, depth);
    Value rhs = pack(b, generic, product.rhs, product.j, product.k, kBlockCols,
                     blockedCols, depth);
    Value out = generic.getDpsInitOperand(0)->get();

    // The blocks, in the module's function for this multiply and add.
    auto strided = MemRefType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic}, b.getF32Type(),
        StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic,
                               {ShapedType::kDynamic, 1}));
    func::FuncOp blocks = blocksFunction(lhs.getType(), rhs.getType(), strided,
                                         product.multiply.getFastmath(),
                                         product.accumulate.getFastmath());
    Value panelCost = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, blockedRows, depth),
        index(kBlockCols));
    func::CallOp::create(
        b, loc, blocks,
        ValueRange{
            lhs, rhs, memref::CastOp::create(b, loc, strided, out),
            arith::ConstantIntOp::create(b, loc, product.symmetric, 1),
            panelCost, index(0),
            arith::DivUIOp::create(b, loc, blockedCols, index(kBlockCols))});

    // The rows and cols outside whole blocks: the generic itself over
    // views of its operands, which the loops lowering computes as before.
    auto remainder = [&](Value rowStart, Value rowCount, Value colStart,
                         Value colCount) {
      SmallVector<Value> views;
      for (OpOperand &operand : generic->getOpOperands()) {
        if (generic.getMatchingIndexingMap(&operand).getNumResults() == 0) {
          views.push_back(operand.get());
          continue;
        }
        SmallVector<OpFoldResult> offsets, sizes, strides;
        for (unsigned dim :
             plainDimsOf(generic.getMatchingIndexingMap(&operand))) {
          bool isRow = dim == product.i, isCol = dim == product.j;
          offsets.push_back(isRow ? rowStart : isCol ? colStart : index(0));
          sizes.push_back(isRow ? rowCount : isCol ? colCount : depth);
        }
        strides.assign(offsets.size(), b.getIndexAttr(1));
        views.push_back(memref::SubViewOp::create(b, loc, operand.get(),
                                                  offsets, sizes, strides));
      }
      Operation *copy = b.clone(*generic);
      copy->setOperands(views);
    };
    remainder(blockedRows, arith::SubIOp::create(b, loc, rows, blockedRows),
              index(0), cols);
    remainder(index(0), blockedRows, blockedCols,
              arith::SubIOp::create(b, loc, cols, blockedCols));
    // Every element on and above the diagonal is computed now; those below
    // take their mirror images' bits (rows = cols: the factors mirror each
    // other).
    if (product.symmetric) {
      Value zero = index(0), one = index(1);
      scf::ForOp::create(
          b, loc, one, rows, one, ValueRange{},
          [&](OpBuilder &nb, Location l, Value row, ValueRange) {
            scf::ForOp::create(
                nb, l, zero, row, one, ValueRange{},
                [&](OpBuilder &ib, Location il, Value col, ValueRange) {
                  Value mirrored =
                      memref::LoadOp::create(ib, il, out, ValueRange{col, row});
                  memref::StoreOp::create(ib, il, mirrored, out,
                                          ValueRange{row, col});
                  scf::YieldOp::create(ib, il);
                });
            scf::YieldOp::create(nb, l);
          });
    }
    generic.erase();
  }
};
} // namespace
