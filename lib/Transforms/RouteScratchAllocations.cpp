//===- RouteScratchAllocations.cpp - allocations through a hook -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A CPU step allocates its temporary buffers (transposes, products, the
// panels of blocked products) and frees them before it returns. Through
// malloc, glibc gives large freed blocks back to the kernel, so every step
// paid the page faults of first touching them again: 11 to 17% of a
// Muon or ARO step on this project's VM (docs/Design/CpuPipeline.md,
// "Scratch buffers kept across steps"). The allocations now go through a
// table the artifact exports and the runtime fills with a pool that keeps
// freed blocks for the next step; code that nobody gives a pool (the JIT,
// the host CUDA emulator) keeps calling malloc and free.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/HookTable.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace stepc {
#define GEN_PASS_DEF_ROUTESCRATCHALLOCATIONS
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
/// The exported table; runtime/include/stepc-rt/ScratchPool.h declares the
/// same layout (`ScratchAllocatorTable`) and name.
constexpr const char kTableName[] = "stepc_scratch_allocator";
enum TableField : int32_t { kAllocate = 0, kRelease = 1, kContext = 2 };

/// Gives the declared `function` a body: if the table's field `hookField`
/// is null, call `fallback` with the function's arguments, else call the
/// hook with the table's context followed by them.
void defineThroughHook(LLVM::LLVMFuncOp function, LLVM::GlobalOp table,
                       TableField hookField, LLVM::LLVMFuncOp fallback) {
  OpBuilder b(function.getContext());
  Location loc = function.getLoc();
  LLVM::LLVMFunctionType type = function.getFunctionType();
  function.setLinkage(LLVM::Linkage::Internal);
  Block *entry = function.addEntryBlock(b);
  Block *viaHook = function.addBlock();
  Block *viaLibc = function.addBlock();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  bool returnsValue = !isa<LLVM::LLVMVoidType>(type.getReturnType());
  auto finish = [&](Operation *call) {
    if (returnsValue)
      LLVM::ReturnOp::create(b, loc, call->getResults());
    else
      LLVM::ReturnOp::create(b, loc, ValueRange{});
  };

  b.setInsertionPointToStart(entry);
  Value hook = stepc::loadHookField(b, loc, table, hookField);
  Value null = LLVM::ZeroOp::create(b, loc, ptr);
  Value unset =
      LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, hook, null);
  LLVM::CondBrOp::create(b, loc, unset, viaLibc, viaHook);

  b.setInsertionPointToStart(viaLibc);
  finish(LLVM::CallOp::create(b, loc, fallback, entry->getArguments()));

  b.setInsertionPointToStart(viaHook);
  SmallVector<Type> hookParams = {ptr};
  llvm::append_range(hookParams, type.getParams());
  auto hookType = LLVM::LLVMFunctionType::get(type.getReturnType(), hookParams);
  SmallVector<Value> operands = {hook,
                                 stepc::loadHookField(b, loc, table, kContext)};
  llvm::append_range(operands, entry->getArguments());
  finish(LLVM::CallOp::create(b, loc, hookType, operands));
}

struct RouteScratchAllocationsPass
    : stepc::impl::RouteScratchAllocationsBase<RouteScratchAllocationsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto allocate =
        module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_memref_to_llvm_alloc");
    auto release =
        module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_memref_to_llvm_free");
    if (auto aligned = module.lookupSymbol<LLVM::LLVMFuncOp>(
            "_mlir_memref_to_llvm_aligned_alloc")) {
      aligned.emitError("aligned allocations are not routed through the "
                        "scratch pool; lower memref.alloc without "
                        "use-aligned-alloc");
      return signalPassFailure();
    }
    if ((!allocate || !allocate.isExternal()) &&
        (!release || !release.isExternal()))
      return;
    OpBuilder b(&getContext());
    LLVM::GlobalOp table =
        stepc::getOrCreateHookTable(module, b, kTableName, 3);
    b.setInsertionPointToEnd(module.getBody());
    if (allocate && allocate.isExternal()) {
      FailureOr<LLVM::LLVMFuncOp> malloc =
          LLVM::lookupOrCreateMallocFn(b, module, b.getI64Type());
      if (failed(malloc))
        return signalPassFailure();
      defineThroughHook(allocate, table, kAllocate, *malloc);
      // What LLVM knows of malloc by name: a fresh block aliases nothing,
      // so loops over it need no runtime alias checks. Inlined, the
      // function's result would be a phi without that fact.
      allocate.setResultAttr(0, LLVM::LLVMDialect::getNoAliasAttrName(),
                             b.getUnitAttr());
      allocate.setNoInline(true);
    }
    if (release && release.isExternal()) {
      FailureOr<LLVM::LLVMFuncOp> free = LLVM::lookupOrCreateFreeFn(b, module);
      if (failed(free))
        return signalPassFailure();
      defineThroughHook(release, table, kRelease, *free);
    }
  }
};
} // namespace
