//===- ParallelizeRanges.cpp - parallel ranges through a hook --*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The runtime's threads split a group's step by tensor, so one large
// matrix kept one core busy while the others idled: CPU Muon on a 768²
// matrix ran at one core's peak (docs/Design/CpuPipeline.md, "Threads
// inside a product"). Functions marked stepc.parallel_ranges compute
// independent indices of a range; their calls now go through a table the
// artifact exports, which the runtime fills with a function that shares
// the range among its free threads. Code that nobody gives the table (the
// JIT, the host CUDA emulator) calls the function as before.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/HookTable.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace stepc {
#define GEN_PASS_DEF_PARALLELIZERANGES
#include "stepc/Transforms/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {
/// The exported table; runtime/include/stepc-rt/ParallelRanges.h declares
/// the same layout (`ParallelRangesTable`) and name.
constexpr const char kTableName[] = "stepc_parallel_ranges";
enum TableField : int32_t { kRun = 0, kContext = 1 };

/// The address of field `field` of an `envType` at `env`.
Value fieldAddress(OpBuilder &b, Location loc, LLVM::LLVMStructType envType,
                   Value env, unsigned field) {
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  return LLVM::GEPOp::create(
      b, loc, ptr, envType, env,
      ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(field)});
}

struct ParallelizeRangesPass
    : stepc::impl::ParallelizeRangesBase<ParallelizeRangesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<LLVM::LLVMFuncOp> ranges;
    for (auto function : module.getOps<LLVM::LLVMFuncOp>())
      if (function->hasAttr(stepc::kParallelRangesAttrName))
        ranges.push_back(function);
    if (ranges.empty())
      return;
    OpBuilder b(&getContext());
    LLVM::GlobalOp table =
        stepc::getOrCreateHookTable(module, b, kTableName, 2);
    // The calls made so far, in one walk (a walk per range cost a sixth of
    // MuonMax-Momo's MLIR time): the dispatch and the task call the range
    // itself.
    llvm::StringMap<SmallVector<LLVM::CallOp>> callsOf;
    for (LLVM::LLVMFuncOp range : ranges)
      callsOf.try_emplace(range.getName());
    module.walk([&](LLVM::CallOp call) {
      if (std::optional<StringRef> callee = call.getCallee())
        if (auto it = callsOf.find(*callee); it != callsOf.end())
          it->second.push_back(call);
    });
    for (LLVM::LLVMFuncOp range : ranges) {
      if (failed(checkSignature(range)))
        return signalPassFailure();
      LLVM::LLVMFuncOp dispatch = createDispatch(range, table, b);
      for (LLVM::CallOp call : callsOf[range.getName()])
        call.setCallee(dispatch.getName());
    }
  }

  LogicalResult checkSignature(LLVM::LLVMFuncOp range) {
    LLVM::LLVMFunctionType type = range.getFunctionType();
    ArrayRef<Type> params = type.getParams();
    auto i64 = IntegerType::get(range.getContext(), 64);
    if (!isa<LLVM::LLVMVoidType>(type.getReturnType()) || type.isVarArg() ||
        params.size() < 3 ||
        llvm::any_of(params.take_back(3), [&](Type t) { return t != i64; }))
      return range.emitError("a function marked ")
             << stepc::kParallelRangesAttrName
             << " must return nothing and end with (cost, begin, end) "
                "parameters of type i64";
    if (range.isExternal())
      return range.emitError("a function marked ")
             << stepc::kParallelRangesAttrName << " must have a body";
    return success();
  }

  /// `<range>_task(env, begin, end)`: calls `range` with the operands `env`
  /// holds, then [begin, end).
  LLVM::LLVMFuncOp createTask(LLVM::LLVMFuncOp range,
                              LLVM::LLVMStructType envType, OpBuilder &b) {
    Location loc = range.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(b.getContext());
    auto i64 = b.getI64Type();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointAfter(range);
    auto task = LLVM::LLVMFuncOp::create(
        b, loc, (range.getName() + "_task").str(),
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(b.getContext()),
                                    {ptr, i64, i64}),
        LLVM::Linkage::Internal);
    Block *entry = task.addEntryBlock(b);
    b.setInsertionPointToStart(entry);
    SmallVector<Value> operands;
    for (auto [field, fieldType] : llvm::enumerate(envType.getBody()))
      operands.push_back(LLVM::LoadOp::create(
          b, loc, fieldType,
          fieldAddress(b, loc, envType, entry->getArgument(0), field)));
    operands.push_back(entry->getArgument(1));
    operands.push_back(entry->getArgument(2));
    LLVM::CallOp::create(b, loc, range, operands);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return task;
  }

  /// `<range>_dispatch`, with `range`'s signature: while the table's `run`
  /// is null, calls `range`; else stores every operand but the range's
  /// bounds in a stack frame and hands it, with the task and the bounds,
  /// to `run`.
  LLVM::LLVMFuncOp createDispatch(LLVM::LLVMFuncOp range, LLVM::GlobalOp table,
                                  OpBuilder &b) {
    Location loc = range.getLoc();
    MLIRContext *context = b.getContext();
    auto ptr = LLVM::LLVMPointerType::get(context);
    auto i64 = b.getI64Type();
    auto voidType = LLVM::LLVMVoidType::get(context);
    ArrayRef<Type> params = range.getFunctionType().getParams();
    auto envType =
        LLVM::LLVMStructType::getLiteral(context, params.drop_back(2));
    LLVM::LLVMFuncOp task = createTask(range, envType, b);

    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointAfter(task);
    auto dispatch = LLVM::LLVMFuncOp::create(
        b, loc, (range.getName() + "_dispatch").str(), range.getFunctionType(),
        LLVM::Linkage::Internal);
    Block *entry = dispatch.addEntryBlock(b);
    Block *direct = dispatch.addBlock();
    Block *viaHook = dispatch.addBlock();
    ValueRange args = entry->getArguments();

    // In the entry block: a static frame, also once inlined into a loop.
    b.setInsertionPointToStart(entry);
    Value env = LLVM::AllocaOp::create(
        b, loc, ptr, envType,
        LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1)));
    Value run = stepc::loadHookField(b, loc, table, kRun);
    Value unset = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, run,
                                       LLVM::ZeroOp::create(b, loc, ptr));
    LLVM::CondBrOp::create(b, loc, unset, direct, viaHook);

    b.setInsertionPointToStart(direct);
    LLVM::CallOp::create(b, loc, range, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});

    b.setInsertionPointToStart(viaHook);
    for (unsigned field = 0; field < envType.getBody().size(); ++field)
      LLVM::StoreOp::create(b, loc, args[field],
                            fieldAddress(b, loc, envType, env, field));
    size_t n = args.size();
    Value cost = args[n - 3], begin = args[n - 2], end = args[n - 1];
    auto runType =
        LLVM::LLVMFunctionType::get(voidType, {ptr, i64, i64, i64, ptr, ptr});
    LLVM::CallOp::create(
        b, loc, runType,
        ValueRange{run, stepc::loadHookField(b, loc, table, kContext), begin,
                   end, cost, LLVM::AddressOfOp::create(b, loc, task), env});
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return dispatch;
  }
};
} // namespace
