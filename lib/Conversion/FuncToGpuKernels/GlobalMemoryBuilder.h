//===- GlobalMemoryBuilder.h - kernel table access helpers ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The i64 arithmetic and global-memory loads both kernel builders use to
// read their tables (tensor records, the step control block) through
// !llvm.ptr<1>, and what both do with the step control block: scalars, the
// count, the grad scale and found-inf (docs/Design/GpuKernels.md).
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_GLOBALMEMORYBUILDER_H
#define STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_GLOBALMEMORYBUILDER_H

#include "stepc/Conversion/FuncToGpuKernels.h"
#include "stepc/Conversion/StepToFunc.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace stepc::detail {

class GlobalMemoryBuilder {
protected:
  GlobalMemoryBuilder(mlir::OpBuilder &builder, mlir::Location loc)
      : b(builder), loc(loc), ctx(builder.getContext()),
        globalPtr(mlir::LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1)),
        i64(builder.getI64Type()) {}

  mlir::Value constantI64(int64_t value) {
    return mlir::arith::ConstantOp::create(b, loc, i64,
                                           b.getI64IntegerAttr(value));
  }
  mlir::Value toI64(mlir::Value index) {
    return mlir::arith::IndexCastUIOp::create(b, loc, i64, index);
  }
  mlir::Value mul64(mlir::Value lhs, mlir::Value rhs) {
    return mlir::arith::MulIOp::create(b, loc, lhs, rhs);
  }
  /// `base` + `index` elements of `element`, in global memory.
  mlir::Value gep(mlir::Type element, mlir::Value base, mlir::Value index) {
    return mlir::LLVM::GEPOp::create(b, loc, globalPtr, element, base,
                                     mlir::ValueRange{index});
  }
  mlir::Value load(mlir::Type type, mlir::Value address) {
    return mlir::LLVM::LoadOp::create(b, loc, type, address);
  }

  //===--------------------------------------------------------------===//
  // The step control block
  //===--------------------------------------------------------------===//

  mlir::Value controlWord(mlir::Value control, int64_t word) {
    return gep(i64, control, constantI64(word));
  }

  /// Maps each of `scalarArgs` (argument indices of `func`, in order) to
  /// its value in this step: the count word + 1 for the count, else the
  /// f32 at the next scalar address.
  void mapScalars(mlir::func::FuncOp func, llvm::ArrayRef<unsigned> scalarArgs,
                  mlir::Value control, mlir::IRMapping &map) {
    int64_t scalar = 0;
    for (unsigned argIndex : scalarArgs) {
      mlir::BlockArgument arg = func.getArgument(argIndex);
      if (func.getArgAttr(argIndex, stepc::kCountArgAttrName)) {
        map.map(arg, mlir::arith::SIToFPOp::create(b, loc, arg.getType(),
                                                   nextCount(control)));
        continue;
      }
      mlir::Value address =
          load(globalPtr, controlWord(control, kControlFirstScalar + scalar++));
      map.map(arg, load(arg.getType(), address));
    }
  }

  /// The count this step runs with: the last step's, plus one.
  mlir::Value nextCount(mlir::Value control) {
    return mlir::arith::AddIOp::create(
        b, loc, load(i64, controlWord(control, kControlCount)), constantI64(1));
  }

  /// Whether the caller's found-inf is set (nonzero): the step is skipped.
  mlir::Value isSkipped(mlir::Value control) {
    return loadOptional(
        control, kControlFoundInf, b.getI1Type(),
        [&](mlir::Value foundInf) -> mlir::Value {
          return mlir::arith::CmpFOp::create(
              b, loc, mlir::arith::CmpFPredicate::UNE, foundInf, zeroF32());
        },
        b.getBoolAttr(false));
  }

  /// The caller's grad scale, or 1 (dividing by which is exact).
  mlir::Value loadGradScale(mlir::Value control) {
    return loadOptional(
        control, kControlGradScale, b.getF32Type(),
        [](mlir::Value scale) { return scale; }, b.getF32FloatAttr(1.0f));
  }

  /// `grad` divided by `scale` in f32, rounded back to its own type for
  /// the body, which gets the f32 quotient instead wherever it widens the
  /// grad to f32 (widenUnscaledGrads).
  mlir::Value unscale(mlir::Value grad, mlir::Value scale) {
    mlir::Type type = grad.getType(), f32 = b.getF32Type();
    if (type == f32)
      return mlir::arith::DivFOp::create(b, loc, grad, scale);
    mlir::Value wide = mlir::arith::ExtFOp::create(b, loc, f32, grad);
    mlir::Value unscaled = mlir::arith::DivFOp::create(b, loc, wide, scale);
    auto narrowed = mlir::arith::TruncFOp::create(b, loc, type, unscaled);
    unscaledGrads.push_back(narrowed);
    return narrowed;
  }

  /// Replaces every `extf` to f32 of an unscaled narrow grad by the f32
  /// quotient itself. A grad stored scaled is small once unscaled: an f16
  /// one below 6e-5 would lose bits rounded back to f16, and below 3e-8
  /// become 0, which is why the scale is there (torch refuses to unscale
  /// f16 gradients for that reason). Call once the kernel is built.
  void widenUnscaledGrads() {
    for (mlir::arith::TruncFOp narrowed : unscaledGrads) {
      for (mlir::Operation *user :
           llvm::make_early_inc_range(narrowed->getUsers())) {
        auto widened = llvm::dyn_cast<mlir::arith::ExtFOp>(user);
        if (widened && widened.getType() == narrowed.getIn().getType()) {
          widened.replaceAllUsesWith(narrowed.getIn());
          widened.erase();
        }
      }
      if (narrowed->use_empty())
        narrowed->erase();
    }
    unscaledGrads.clear();
  }

  /// `use(*address)` when the control block's `word` holds an address,
  /// else `absent`.
  mlir::Value loadOptional(mlir::Value control, int64_t word,
                           mlir::Type resultType,
                           llvm::function_ref<mlir::Value(mlir::Value)> use,
                           mlir::TypedAttr absent) {
    mlir::Value address = load(globalPtr, controlWord(control, word));
    mlir::Value null = mlir::LLVM::ZeroOp::create(b, loc, globalPtr);
    mlir::Value given = mlir::LLVM::ICmpOp::create(
        b, loc, mlir::LLVM::ICmpPredicate::ne, address, null);
    auto branch = mlir::scf::IfOp::create(b, loc, resultType, given,
                                          /*withElseRegion=*/true);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(branch.thenBlock());
    mlir::scf::YieldOp::create(b, loc, use(load(b.getF32Type(), address)));
    b.setInsertionPointToStart(branch.elseBlock());
    mlir::scf::YieldOp::create(
        b, loc, mlir::arith::ConstantOp::create(b, loc, absent).getResult());
    return branch.getResult(0);
  }

  mlir::Value zeroF32() {
    return mlir::arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::MLIRContext *ctx;
  mlir::Type globalPtr, i64;
  /// The narrowed grads unscale() made since the last widenUnscaledGrads().
  llvm::SmallVector<mlir::arith::TruncFOp> unscaledGrads;
};

} // namespace stepc::detail

#endif // STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_GLOBALMEMORYBUILDER_H
