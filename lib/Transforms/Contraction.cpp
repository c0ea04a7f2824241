//===- Contraction.cpp - matrix products on buffers -------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Contraction.h"

#include "stepc/Transforms/BodySlice.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace {
/// How deep two factors of a contraction's body are compared op by op
/// (`extf(truncf(x))` is 2).
constexpr int kMaxMirrorDepth = 16;

/// The loop dims (a bit each) the inputs that `root`, a value of
/// `generic`'s body, reads are indexed by, or nullopt when it reads an
/// output.
std::optional<unsigned> readDims(linalg::GenericOp generic, Value root) {
  unsigned mask = 0;
  for (BlockArgument arg : stepc::argumentsReadBy(generic, root)) {
    if (arg.getArgNumber() >= generic.getNumDpsInputs())
      return std::nullopt;
    AffineMap map = generic.getMatchingIndexingMap(
        generic.getDpsInputOperand(arg.getArgNumber()));
    for (unsigned d = 0; d < map.getNumDims(); ++d)
      if (map.isFunctionOfDim(d))
        mask |= 1u << d;
  }
  return mask;
}

bool mirrors(linalg::GenericOp generic, Value lhs, Value rhs, unsigned rowDim,
             unsigned colDim, llvm::function_ref<bool(unsigned)> symmetricInput,
             int depth) {
  Block &body = generic.getRegion().front();
  auto lhsArg = dyn_cast<BlockArgument>(lhs),
       rhsArg = dyn_cast<BlockArgument>(rhs);
  bool lhsInBody = lhsArg ? lhsArg.getOwner() == &body
                          : lhs.getDefiningOp()->getBlock() == &body;
  bool rhsInBody = rhsArg ? rhsArg.getOwner() == &body
                          : rhs.getDefiningOp()->getBlock() == &body;
  if (!lhsInBody || !rhsInBody)
    return !lhsInBody && !rhsInBody && lhs == rhs;
  if (lhsArg || rhsArg) {
    if (!lhsArg || !rhsArg ||
        lhsArg.getArgNumber() >= generic.getNumDpsInputs() ||
        rhsArg.getArgNumber() >= generic.getNumDpsInputs())
      return false;
    OpOperand *lhsInput = generic.getDpsInputOperand(lhsArg.getArgNumber());
    OpOperand *rhsInput = generic.getDpsInputOperand(rhsArg.getArgNumber());
    AffineMap lhsMap = generic.getMatchingIndexingMap(lhsInput);
    SmallVector<AffineExpr> swapped;
    for (unsigned d = 0; d < lhsMap.getNumDims(); ++d)
      swapped.push_back(getAffineDimExpr(d == rowDim   ? colDim
                                         : d == colDim ? rowDim
                                                       : d,
                                         generic.getContext()));
    AffineMap mirrored = lhsMap.replaceDimsAndSymbols(
        swapped, {}, lhsMap.getNumDims(), lhsMap.getNumSymbols());
    AffineMap rhsMap = generic.getMatchingIndexingMap(rhsInput);
    if (lhsInput->get() != rhsInput->get())
      return false;
    if (mirrored == rhsMap)
      return true;
    return mirrored.getNumResults() == 2 &&
           symmetricInput(lhsArg.getArgNumber()) &&
           mirrored.getSubMap({1, 0}) == rhsMap;
  }
  Operation *lhsOp = lhs.getDefiningOp(), *rhsOp = rhs.getDefiningOp();
  if (depth > kMaxMirrorDepth || lhsOp->getName() != rhsOp->getName() ||
      lhsOp->getAttrDictionary() != rhsOp->getAttrDictionary() ||
      lhsOp->getNumOperands() != rhsOp->getNumOperands() ||
      lhsOp->getResultTypes() != rhsOp->getResultTypes() ||
      cast<OpResult>(lhs).getResultNumber() !=
          cast<OpResult>(rhs).getResultNumber())
    return false;
  return llvm::all_of(
      llvm::zip(lhsOp->getOperands(), rhsOp->getOperands()), [&](auto pair) {
        return mirrors(generic, std::get<0>(pair), std::get<1>(pair), rowDim,
                       colDim, symmetricInput, depth + 1);
      });
}

bool writes(Operation *op, Value buffer) {
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    return copy.getTarget() == buffer;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return llvm::is_contained(linalgOp.getDpsInits(), buffer);
  return false;
}

bool uniformBefore(Value buffer, Operation *reader, int depth) {
  Operation *writer = depth > stepc::kMaxTracedWrites
                          ? nullptr
                          : stepc::lastWriteBefore(buffer, reader);
  if (!writer)
    return false;
  if (isa<linalg::FillOp>(writer))
    return true;
  if (auto copy = dyn_cast<memref::CopyOp>(writer))
    return uniformBefore(copy.getSource(), copy, depth + 1);
  auto generic = cast<linalg::GenericOp>(writer);
  for (auto [position, init] : llvm::enumerate(generic.getDpsInitsMutable()))
    if (init.get() == buffer &&
        (!generic.getMatchingIndexingMap(&init).isPermutation() ||
         !stepc::uniformYield(generic, position)))
      return false;
  return true;
}

bool symmetricBefore(Value buffer, Operation *reader, int depth) {
  Operation *writer = depth > stepc::kMaxTracedWrites
                          ? nullptr
                          : stepc::lastWriteBefore(buffer, reader);
  if (isa_and_nonnull<linalg::FillOp>(writer))
    return true;
  auto generic = dyn_cast_or_null<linalg::GenericOp>(writer);
  if (!generic || generic.getNumDpsInits() != 1 ||
      generic.getDpsInits()[0] != buffer)
    return false;
  if (generic.getNumLoops() == 2 && generic.getNumParallelLoops() == 2 &&
      !generic.hasIndexSemantics()) {
    bool readsMatrices = false;
    for (OpOperand &operand : generic->getOpOperands()) {
      if (!isa<MemRefType>(operand.get().getType()))
        continue;
      if (!generic.getMatchingIndexingMap(&operand).isIdentity())
        return false;
      if (generic.isDpsInit(&operand))
        continue;
      if (!symmetricBefore(operand.get(), generic, depth + 1))
        return false;
      readsMatrices = true;
    }
    return readsMatrices;
  }
  std::optional<stepc::Contraction> product = stepc::matchContraction(generic);
  return product &&
         stepc::isMirrored(generic, *product,
                           [&](unsigned n) {
                             return symmetricBefore(
                                 generic.getDpsInputOperand(n)->get(), generic,
                                 depth + 1);
                           }) &&
         uniformBefore(buffer, generic, 0);
}
} // namespace

SmallVector<BlockArgument> stepc::argumentsReadBy(linalg::GenericOp generic,
                                                  Value root) {
  Block &body = generic.getRegion().front();
  SmallVector<BlockArgument> arguments;
  if (auto argument = dyn_cast<BlockArgument>(root)) {
    if (argument.getOwner() == &body)
      arguments.push_back(argument);
  } else if (root.getParentBlock() == &body) {
    stepc::opsNeededBy(body, root, {}, &arguments);
  }
  return arguments;
}

std::optional<stepc::Contraction>
stepc::matchContraction(linalg::GenericOp generic) {
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
  return Contraction{parallel[lhsSide],
                     reduction[0],
                     parallel[rhsSide],
                     mul.getLhs(),
                     mul.getRhs(),
                     mul,
                     add};
}

bool stepc::isMirrored(linalg::GenericOp generic, const Contraction &product,
                       llvm::function_ref<bool(unsigned)> symmetricInput) {
  return mirrors(generic, product.lhs, product.rhs, product.rowDim,
                 product.colDim, symmetricInput, 0);
}

Operation *stepc::lastWriteBefore(Value buffer, Operation *reader) {
  if (!buffer.getDefiningOp<memref::AllocOp>())
    return nullptr;
  for (Operation *user : buffer.getUsers())
    if (!isa<linalg::GenericOp, linalg::FillOp, memref::CopyOp, memref::LoadOp,
             memref::DimOp, memref::DeallocOp>(user))
      return nullptr;
  for (Operation *op = reader->getPrevNode(); op; op = op->getPrevNode()) {
    bool nestedWrite = false;
    op->walk([&](Operation *nested) {
      if (nested != op && writes(nested, buffer))
        nestedWrite = true;
    });
    if (nestedWrite)
      return nullptr;
    if (writes(op, buffer))
      return op;
  }
  return nullptr;
}

Value stepc::uniformYield(linalg::GenericOp generic, unsigned position) {
  Block &body = generic.getRegion().front();
  Value yielded = body.getTerminator()->getOperand(position);
  auto arg = dyn_cast<BlockArgument>(yielded);
  if (!arg)
    return yielded.getParentRegion() != &generic.getRegion() ? yielded
                                                             : Value();
  if (arg.getOwner() != &body ||
      arg.getArgNumber() >= generic.getNumDpsInputs())
    return {};
  OpOperand *input = generic.getDpsInputOperand(arg.getArgNumber());
  return generic.getMatchingIndexingMap(input).getNumResults() == 0
             ? input->get()
             : Value();
}

bool stepc::holdsOneValue(OpOperand &operand) {
  return uniformBefore(operand.get(), operand.getOwner(), 0);
}

bool stepc::holdsSymmetricValues(OpOperand &input) {
  return symmetricBefore(input.get(), input.getOwner(), 0);
}
