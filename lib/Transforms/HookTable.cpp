//===- HookTable.cpp - tables of runtime hooks in CPU code ----------------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/HookTable.h"

using namespace mlir;

LLVM::GlobalOp stepc::getOrCreateHookTable(ModuleOp module, OpBuilder &b,
                                           StringRef name, unsigned numFields) {
  if (auto existing = module.lookupSymbol<LLVM::GlobalOp>(name))
    return existing;
  Location loc = module.getLoc();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  auto tableType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(numFields, ptr));
  auto table =
      LLVM::GlobalOp::create(b, loc, tableType, /*isConstant=*/false,
                             LLVM::Linkage::External, name, Attribute());
  Block *init = b.createBlock(&table.getInitializerRegion());
  b.setInsertionPointToStart(init);
  LLVM::ReturnOp::create(b, loc,
                         ValueRange{LLVM::ZeroOp::create(b, loc, tableType)});
  return table;
}

Value stepc::loadHookField(OpBuilder &b, Location loc, LLVM::GlobalOp table,
                           int32_t field) {
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value base = LLVM::AddressOfOp::create(b, loc, table);
  Value address = LLVM::GEPOp::create(b, loc, ptr, table.getGlobalType(), base,
                                      ArrayRef<LLVM::GEPArg>{0, field});
  return LLVM::LoadOp::create(b, loc, ptr, address);
}
