//===- LLVMPackedEntries.cpp - uniform entry points ------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/LLVMPackedEntries.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace stepc {
#define GEN_PASS_DEF_ADDPACKEDENTRIES
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;

static constexpr StringLiteral kCInterfacePrefix = "_mlir_ciface_";

/// void <name>_packed(void **args) { _mlir_ciface_<name>(*args[0], ...); }
static void addPackedEntry(ModuleOp module, LLVM::LLVMFuncOp target) {
  StringRef name = target.getName().drop_front(kCInterfacePrefix.size());
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  Location loc = target.getLoc();
  MLIRContext *ctx = module.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto voidType = LLVM::LLVMVoidType::get(ctx);
  auto entry = LLVM::LLVMFuncOp::create(
      builder, loc, (name + stepc::kPackedEntrySuffix).str(),
      LLVM::LLVMFunctionType::get(voidType, {ptrType}));
  Block *block = entry.addEntryBlock(builder);
  builder.setInsertionPointToStart(block);
  Value args = block->getArgument(0);
  SmallVector<Value> callArgs;
  for (auto [index, type] :
       llvm::enumerate(target.getFunctionType().getParams())) {
    Value slot = LLVM::GEPOp::create(
        builder, loc, ptrType, ptrType, args,
        ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index)});
    Value argPointer = LLVM::LoadOp::create(builder, loc, ptrType, slot);
    callArgs.push_back(LLVM::LoadOp::create(builder, loc, type, argPointer));
  }
  LLVM::CallOp::create(builder, loc, target, callArgs);
  LLVM::ReturnOp::create(builder, loc, ValueRange{});
}

namespace {
struct AddPackedEntriesPass
    : stepc::impl::AddPackedEntriesBase<AddPackedEntriesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<LLVM::LLVMFuncOp> targets;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (func.getName().starts_with(kCInterfacePrefix) && !func.isExternal())
        targets.push_back(func);
    for (LLVM::LLVMFuncOp target : targets)
      addPackedEntry(module, target);
  }
};
} // namespace
