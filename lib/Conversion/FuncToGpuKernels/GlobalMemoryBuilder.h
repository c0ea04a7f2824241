//===- GlobalMemoryBuilder.h - kernel table access helpers ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The i64 arithmetic and global-memory loads both kernel builders use to
// read their tables (tensor records, scalars) through !llvm.ptr<1>.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_GLOBALMEMORYBUILDER_H
#define STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_GLOBALMEMORYBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

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

  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::MLIRContext *ctx;
  mlir::Type globalPtr, i64;
};

} // namespace stepc::detail

#endif // STEPC_LIB_CONVERSION_FUNCTOGPUKERNELS_GLOBALMEMORYBUILDER_H
