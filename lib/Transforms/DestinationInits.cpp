//===- DestinationInits.cpp - compute results in their buffers -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
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
      auto producer = dyn_cast<DestinationStyleOpInterface>(result.getOwner());
      Value view = viewOf.lookup(store.getDest());
      if (!producer || !view)
        return;
      OpOperand *init = producer.getTiedOpOperand(result);
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
  }
};
} // namespace
