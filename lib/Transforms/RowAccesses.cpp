//===- RowAccesses.cpp - which rows a loop over rows touches --------------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/RowAccesses.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

/// Whether a reshape's leading reassociation group keeps dim 0 of the
/// collapsed shape as dim 0 of the expanded one: `[0]`, or `[0, 1]` where
/// dim 1 of the expanded type has size 1 (a `?x1` view of a vector).
static bool keepsLeadingDim(ArrayRef<ReassociationIndices> groups,
                            MemRefType expanded) {
  if (groups.empty())
    return false;
  ArrayRef<int64_t> first = groups.front();
  return first.size() == 1 ||
         (first.size() == 2 && expanded.getDimSize(first[1]) == 1);
}

Value stepc::rowBufferOf(Value memref, bool &keepsRows) {
  keepsRows = true;
  while (true) {
    if (isa<BlockArgument>(memref))
      return memref;
    Operation *def = memref.getDefiningOp();
    if (isa_and_nonnull<memref::AllocOp, memref::AllocaOp>(def))
      return memref;
    if (auto expand = dyn_cast_or_null<memref::ExpandShapeOp>(def)) {
      keepsRows &= keepsLeadingDim(expand.getReassociationIndices(),
                                   expand.getResultType());
      memref = expand.getSrc();
    } else if (auto collapse = dyn_cast_or_null<memref::CollapseShapeOp>(def)) {
      keepsRows &= keepsLeadingDim(collapse.getReassociationIndices(),
                                   collapse.getSrcType());
      memref = collapse.getSrc();
    } else {
      return nullptr;
    }
  }
}

std::optional<SmallVector<stepc::RowAccess>>
stepc::rowAccessesOf(scf::ForOp loop) {
  SmallVector<RowAccess> accesses;
  Value row = loop.getInductionVar();
  auto record = [&](Value memref, ValueRange indices, bool write) {
    bool keepsRows;
    Value buffer = rowBufferOf(memref, keepsRows);
    if (!buffer)
      return false;
    bool atLoopRow = keepsRows && !indices.empty() && indices[0] == row;
    accesses.push_back({buffer, write, atLoopRow});
    return true;
  };
  WalkResult result = loop.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      return record(load.getMemRef(), load.getIndices(), false)
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    if (auto store = dyn_cast<memref::StoreOp>(op))
      return record(store.getMemRef(), store.getIndices(), true)
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() ||
        isMemoryEffectFree(op))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  if (result.wasInterrupted())
    return std::nullopt;
  return accesses;
}
