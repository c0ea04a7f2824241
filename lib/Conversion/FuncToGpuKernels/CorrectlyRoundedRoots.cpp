//===- CorrectlyRoundedRoots.cpp - sqrt.rn for GPU kernels -----*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/FuncToGpuKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace stepc {
#define GEN_PASS_DEF_USECORRECTLYROUNDEDROOTS
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {

/// NVVM lowers math.sqrt to sqrt.approx.f32 (and marks llvm.sqrt illegal);
/// the CPU path and the fp64 reference need the correctly rounded root.
struct UseCorrectlyRoundedRootsPass
    : stepc::impl::UseCorrectlyRoundedRootsBase<UseCorrectlyRoundedRootsPass> {
  void runOnOperation() override {
    getOperation()->walk([](Operation *op) {
      if (!isa<math::SqrtOp, math::RsqrtOp>(op))
        return;
      Value operand = op->getOperand(0);
      Type type = operand.getType();
      if (!type.isF32() && !type.isF64())
        return;
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value root = LLVM::CallIntrinsicOp::create(
                       b, loc, type,
                       b.getStringAttr(type.isF32() ? "llvm.nvvm.sqrt.rn.f"
                                                    : "llvm.nvvm.sqrt.rn.d"),
                       ValueRange{operand})
                       .getResult(0);
      if (isa<math::RsqrtOp>(op))
        root = arith::DivFOp::create(
            b, loc,
            arith::ConstantOp::create(b, loc, b.getFloatAttr(type, 1.0)), root);
      op->getResult(0).replaceAllUsesWith(root);
      op->erase();
    });
  }
};

} // namespace
