//===- MarkDistinctBuffers.cpp - noalias pointers of distinct buffers ----===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A sweep outlined from a step (stepc-outline-row-ranges) receives its
// buffers as parameters, and LLVM no longer knows what it knew of them in
// the step: that each came from its own allocation. Without that, a load
// of a row's scale cannot move out of a loop that stores column sums.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace stepc {
#define GEN_PASS_DEF_MARKDISTINCTBUFFERS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
struct MarkDistinctBuffersPass
    : stepc::impl::MarkDistinctBuffersBase<MarkDistinctBuffersPass> {
  void runOnOperation() override {
    for (auto function : getOperation().getOps<LLVM::LLVMFuncOp>()) {
      if (!function->hasAttr(stepc::kDistinctBuffersAttrName))
        continue;
      for (auto [index, type] :
           llvm::enumerate(function.getFunctionType().getParams()))
        if (isa<LLVM::LLVMPointerType>(type))
          function.setArgAttr(index, LLVM::LLVMDialect::getNoAliasAttrName(),
                              UnitAttr::get(&getContext()));
    }
  }
};
} // namespace
