//===- DestinationInits.cpp - compute results in their buffers -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

namespace stepc {
#define GEN_PASS_DEF_DESTINATIONINITS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
struct DestinationInitsPass
    : stepc::impl::DestinationInitsBase<DestinationInitsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // The one tensor view of each destination buffer.
    DenseMap<Value, Value> viewOf;
    func.walk([&](bufferization::ToTensorOp view) {
      viewOf.try_emplace(view.getBuffer(), view.getResult());
    });
    func.walk([&](bufferization::MaterializeInDestinationOp store) {
      auto result = dyn_cast<OpResult>(store.getSource());
      if (!result)
        return;
      Operation *producer = result.getOwner();
      Value view = viewOf.lookup(store.getDest());
      if (!view)
        return;
      // A linalg op's init, or the initial value of a tiled loop's result.
      OpOperand *init = nullptr;
      if (auto dps = dyn_cast<DestinationStyleOpInterface>(producer))
        init = dps.getTiedOpOperand(result);
      else if (auto loop = dyn_cast<scf::ForOp>(producer))
        init = &loop.getInitArgsMutable()[result.getResultNumber()];
      if (!init || !init->get().getDefiningOp<tensor::EmptyOp>() ||
          init->get().getType() != view.getType())
        return;
      // The view must exist where the producer runs.
      if (auto viewOp = view.getDefiningOp();
          viewOp && !viewOp->isBeforeInBlock(producer) &&
          viewOp->getBlock() == producer->getBlock())
        return;
      init->set(view);
    });
    // A slice inserted into a tensor (a row of a matrix built in a loop) is
    // computed in that slice of the tensor, so that bufferization writes the
    // row in place instead of copying it through a strided view.
    func.walk([&](tensor::InsertSliceOp insert) {
      auto result = dyn_cast<OpResult>(insert.getSource());
      auto producer =
          result ? dyn_cast<DestinationStyleOpInterface>(result.getOwner())
                 : nullptr;
      if (!producer || !result.hasOneUse() ||
          producer->getBlock() != insert->getBlock())
        return;
      OpOperand *init = producer.getTiedOpOperand(result);
      if (!init || !init->get().getDefiningOp<tensor::EmptyOp>())
        return;
      // The destination and the slice's position must exist where the
      // producer runs.
      auto availableAt = [&](Value value) {
        Operation *def = value.getDefiningOp();
        return !def || def->getBlock() != producer->getBlock() ||
               def->isBeforeInBlock(producer);
      };
      if (!availableAt(insert.getDest()) ||
          !llvm::all_of(insert.getOffsets(), availableAt) ||
          !llvm::all_of(insert.getSizes(), availableAt) ||
          !llvm::all_of(insert.getStrides(), availableAt))
        return;
      OpBuilder builder(producer);
      Value slice = tensor::ExtractSliceOp::create(
          builder, insert.getLoc(), insert.getSourceType(), insert.getDest(),
          insert.getMixedOffsets(), insert.getMixedSizes(),
          insert.getMixedStrides());
      init->set(slice);
    });
  }
};
} // namespace
