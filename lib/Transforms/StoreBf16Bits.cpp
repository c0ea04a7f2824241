//===- StoreBf16Bits.cpp - store bf16 values as their bits ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The CPU lowering expands bf16 rounding into integer ops, so that no
// artifact needs compiler-rt's __truncsfbf2. LLVM's InstCombine still turns
// the expansion's last step into a `select` of bfloat values, and x86
// legalizes such a select by promoting it to float; when the result has
// more than one use (a symmetric product's rounded epilogue, stored at
// (i, j) and at (j, i) in the host emulation) the truncation back becomes
// a call to __truncsfbf2, which the emulator's dlopen cannot resolve.
// Storing the bits (i16) instead lets InstCombine select the bits.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/TypeUtilities.h"

namespace stepc {
#define GEN_PASS_DEF_STOREBF16BITS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
struct StoreBf16BitsPass : stepc::impl::StoreBf16BitsBase<StoreBf16BitsPass> {
  void runOnOperation() override {
    getOperation()->walk([](LLVM::StoreOp store) {
      Type type = store.getValue().getType();
      if (!getElementTypeOrSelf(type).isBF16())
        return;
      OpBuilder b(store);
      Type bits = b.getI16Type();
      if (auto vector = dyn_cast<VectorType>(type))
        bits = vector.clone(bits);
      Value value =
          LLVM::BitcastOp::create(b, store.getLoc(), bits, store.getValue());
      store.getValueMutable().assign(value);
    });
  }
};
} // namespace
