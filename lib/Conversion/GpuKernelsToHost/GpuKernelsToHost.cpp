//===- GpuKernelsToHost.cpp - GPU kernels as host functions ----*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The host CUDA emulator (docs/Design/GpuEmulation.md) runs each GPU thread
// of a launch as a fiber calling the kernel's host form with its ids. The
// kernel body is kept as it is, so what the emulator checks is the kernel
// formation itself; only the ids, the return and the barriers change.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/GpuKernelsToHost.h"
#include "stepc/Conversion/FuncToGpuKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"

namespace stepc {
#define GEN_PASS_DEF_GPUKERNELSTOHOST
#include "stepc/Conversion/Passes.h.inc"
} // namespace stepc

using namespace mlir;

namespace {

/// The arguments of a kernel's host form after `params`.
enum HostArgument { kParams, kBlock, kThread, kBlockDim, kGridDim };

/// Whether `mma` is the one tensor-core form the emulator models (the one
/// FormPhasedGpuKernels emits): m16n8k16, bf16 A (row) and B (col), f32
/// accumulators.
bool isEmulatedMma(NVVM::MmaOp mma) {
  NVVM::MMAShapeAttr shape = mma.getShape();
  auto i32 = IntegerType::get(mma.getContext(), 32);
  auto f32 = Float32Type::get(mma.getContext());
  auto all = [](ValueRange values, Type type, size_t count) {
    return values.size() == count &&
           llvm::all_of(values, [&](Value v) { return v.getType() == type; });
  };
  return shape.getM() == 16 && shape.getN() == 8 && shape.getK() == 16 &&
         mma.getLayoutA() == NVVM::MMALayout::row &&
         mma.getLayoutB() == NVVM::MMALayout::col &&
         mma.getMultiplicandAPtxType() == NVVM::MMATypes::bf16 &&
         mma.getMultiplicandBPtxType() == NVVM::MMATypes::bf16 &&
         all(mma.getOperandA(), i32, 4) && all(mma.getOperandB(), i32, 2) &&
         all(mma.getOperandC(), f32, 4);
}

/// Whether `mma` is a wgmma form the emulator models (the one
/// FormPhasedGpuKernels emits with matmul-wgmma): m64nNk16, bf16 factors
/// unscaled, f32 accumulators, not saturated.
bool isEmulatedWgmma(NVVM::WgmmaMmaAsyncOp mma) {
  NVVM::MMAShapeAttr shape = mma.getShape();
  auto accumulators = dyn_cast<LLVM::LLVMStructType>(mma.getType());
  auto f32 = Float32Type::get(mma.getContext());
  return shape.getM() == 64 && shape.getK() == 16 && shape.getN() % 8 == 0 &&
         shape.getN() <= 256 && mma.getTypeA() == NVVM::WGMMATypes::bf16 &&
         mma.getTypeB() == NVVM::WGMMATypes::bf16 &&
         mma.getTypeD() == NVVM::WGMMATypes::f32 &&
         mma.getScaleA() == NVVM::WGMMAScaleIn::one &&
         mma.getScaleB() == NVVM::WGMMAScaleIn::one && !mma.getSatfinite() &&
         accumulators &&
         int64_t(accumulators.getBody().size()) == shape.getN() / 2 &&
         llvm::all_of(accumulators.getBody(), [&](Type t) { return t == f32; });
}

/// Whether `op` orders wgmma against other work: wgmma's fence, which the
/// emulator (computing a wgmma when its warpgroup arrives) needs not
/// model, and its commit and wait, which say how long a wgmma reads its
/// factors.
bool isWgmmaOrdering(Operation *op) {
  return isa<NVVM::WgmmaFenceAlignedOp, NVVM::WgmmaGroupSyncAlignedOp,
             NVVM::WgmmaWaitGroupSyncOp>(op);
}

/// Whether `fence` is the proxy fence the emulator models: shared memory's
/// writes made visible to the async proxy, which wgmma reads through.
bool isEmulatedProxyFence(NVVM::FenceProxyOp fence) {
  return fence.getKind() == NVVM::ProxyKind::async_shared;
}

/// Whether `load` is an ldmatrix the emulator models (the ones
/// FormPhasedGpuKernels emits for mma fragments): four 8x8 matrices of
/// 16-bit values from shared memory, transposed (layout col) or not.
bool isEmulatedLdMatrix(NVVM::LdMatrixOp load) {
  auto i32 = IntegerType::get(load.getContext(), 32);
  auto result = dyn_cast<LLVM::LLVMStructType>(load.getType());
  return load.getNum() == 4 && load.getShape().getM() == 8 &&
         load.getShape().getN() == 8 &&
         load.getEltType() == NVVM::LdStMatrixEltType::B16 && result &&
         result.getBody().size() == 4 &&
         llvm::all_of(result.getBody(), [&](Type t) { return t == i32; }) &&
         load.getPtr().getType().getAddressSpace() ==
             stepc::kSharedAddressSpace;
}

/// Whether `copy` is the one cp.async the emulator models (the one
/// FormPhasedGpuKernels emits to stage bf16 rows): 16 bytes from global
/// into shared memory, all of them read.
bool isEmulatedCopyAsync(NVVM::CpAsyncOp copy) {
  return copy.getSize() == 16 && !copy.getCpSize();
}

/// Whether `shuffle` is the one shuffle the emulator models (the one
/// FormPhasedGpuKernels emits for warp reductions): a butterfly of a 32-bit
/// value over the whole warp.
bool isEmulatedShuffle(gpu::ShuffleOp shuffle) {
  std::optional<int64_t> width = getConstantIntValue(shuffle.getWidth());
  return shuffle.getMode() == gpu::ShuffleMode::XOR && width == 32 &&
         shuffle.getValue().getType().getIntOrFloatBitWidth() == 32;
}

/// Whether `inlineAsm` is the opaque thread index (kOpaqueThreadIdAsm).
bool isOpaqueThreadId(LLVM::InlineAsmOp inlineAsm) {
  return inlineAsm.getAsmString() == stepc::kOpaqueThreadIdAsm &&
         inlineAsm.getNumOperands() == 0 && inlineAsm.getNumResults() == 1 &&
         inlineAsm.getResult(0).getType().isInteger(32);
}

/// Whether `global` is the block's shared memory of the tensor-core loops.
bool isSharedTiles(LLVM::GlobalOp global) {
  return global.getSymName() == stepc::kSharedTilesName &&
         global.getAddrSpace() == stepc::kSharedAddressSpace;
}

/// Whether the emulator models `op`: the kernel structure and the x
/// dimension of the ids. The grid barrier's own body (NVVM) is replaced, so
/// it is not looked at.
LogicalResult checkEmulated(Operation *op) {
  Dialect *dialect = op->getDialect();
  if (!dialect)
    return success();
  if (auto mma = dyn_cast<NVVM::MmaOp>(op); mma && isEmulatedMma(mma))
    return success();
  if (auto mma = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op);
      (mma && isEmulatedWgmma(mma)) || isWgmmaOrdering(op))
    return success();
  if (auto fence = dyn_cast<NVVM::FenceProxyOp>(op);
      fence && isEmulatedProxyFence(fence))
    return success();
  if (auto load = dyn_cast<NVVM::LdMatrixOp>(op);
      load && isEmulatedLdMatrix(load))
    return success();
  if (auto copy = dyn_cast<NVVM::CpAsyncOp>(op);
      copy && isEmulatedCopyAsync(copy))
    return success();
  if (isa<NVVM::CpAsyncCommitGroupOp, NVVM::CpAsyncWaitGroupOp,
          NVVM::GlobalTimerOp>(op))
    return success();
  if (auto inlineAsm = dyn_cast<LLVM::InlineAsmOp>(op);
      inlineAsm && isOpaqueThreadId(inlineAsm))
    return success();
  if (isa<LLVM::InlineAsmOp>(op))
    return op->emitOpError("is not modelled by the host CUDA emulator "
                           "(docs/Design/GpuEmulation.md)");
  if (isa<NVVM::NVVMDialect>(dialect))
    return op->emitOpError("is not modelled by the host CUDA emulator "
                           "(docs/Design/GpuEmulation.md)");
  if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op);
      shuffle && isEmulatedShuffle(shuffle))
    return success();
  if (!isa<gpu::GPUDialect>(dialect) ||
      isa<gpu::GPUModuleOp, gpu::GPUFuncOp, gpu::ReturnOp, gpu::ThreadIdOp,
          gpu::BlockIdOp, gpu::BlockDimOp, gpu::GridDimOp, gpu::BarrierOp>(op))
    return success();
  return op->emitOpError("is not modelled by the host CUDA emulator "
                         "(docs/Design/GpuEmulation.md)");
}

/// llvm.func @NAME(args) calls through the pointer the emulator stores in
/// the exported global @SLOT (a global pointer argument becomes a host
/// one, other arguments pass as they are): the kernel library then needs
/// no symbol from the emulator, which the runtime loads privately.
LLVM::LLVMFuncOp buildHostHook(ModuleOp module, Location loc, OpBuilder &b,
                               StringRef slotName, StringRef name,
                               ArrayRef<Type> argTypes) {
  MLIRContext *ctx = b.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto voidType = LLVM::LLVMVoidType::get(ctx);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto slot = LLVM::GlobalOp::create(b, loc, ptr, /*isConstant=*/false,
                                     LLVM::Linkage::External, slotName,
                                     Attribute(), /*alignment=*/8);
  b.setInsertionPointToStart(b.createBlock(&slot.getInitializerRegion()));
  LLVM::ReturnOp::create(b, loc, LLVM::ZeroOp::create(b, loc, ptr).getResult());

  b.setInsertionPointAfter(slot);
  auto hook = LLVM::LLVMFuncOp::create(
      b, loc, name, LLVM::LLVMFunctionType::get(voidType, argTypes));
  hook.setLinkage(LLVM::Linkage::Internal);
  b.setInsertionPointToStart(hook.addEntryBlock(b));
  Value callee = LLVM::LoadOp::create(b, loc, ptr,
                                      LLVM::AddressOfOp::create(b, loc, slot));
  SmallVector<Value> operands = {callee};
  SmallVector<Type> hostTypes;
  for (BlockArgument arg : hook.getArguments()) {
    bool pointer = isa<LLVM::LLVMPointerType>(arg.getType());
    operands.push_back(
        !pointer || arg.getType() == ptr
            ? Value(arg)
            : LLVM::AddrSpaceCastOp::create(b, loc, ptr, arg).getResult());
    hostTypes.push_back(pointer ? Type(ptr) : arg.getType());
  }
  LLVM::CallOp::create(b, loc, LLVM::LLVMFunctionType::get(voidType, hostTypes),
                       operands);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return hook;
}

/// i32 words in one stack slot of a host kernel, through which a hook call
/// hands the lane's operands to the emulator and gets its results back (a
/// fiber is one lane, and it makes one such call at a time).
struct HookWords {
  Value base;

  HookWords(OpBuilder &b, func::FuncOp host, int64_t count,
            unsigned alignment) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&host.getBody().front());
    Value words =
        LLVM::ConstantOp::create(b, host.getLoc(), b.getI64Type(), count);
    base = LLVM::AllocaOp::create(b, host.getLoc(),
                                  LLVM::LLVMPointerType::get(b.getContext()),
                                  b.getI32Type(), words, alignment);
  }

  Value word(OpBuilder &b, Location loc, int32_t k) const {
    return LLVM::GEPOp::create(b, loc, base.getType(), b.getI32Type(), base,
                               ArrayRef<LLVM::GEPArg>{k});
  }

  /// A value of `structType` whose members are read from the words from
  /// `first` on, one word each (what the emulator wrote back).
  Value readStruct(OpBuilder &b, Location loc, Type structType,
                   int32_t first) const {
    auto members = cast<LLVM::LLVMStructType>(structType).getBody();
    Value result = LLVM::PoisonOp::create(b, loc, structType);
    for (auto [i, member] : llvm::enumerate(members))
      result = LLVM::InsertValueOp::create(
          b, loc, result,
          LLVM::LoadOp::create(b, loc, member,
                               word(b, loc, first + static_cast<int32_t>(i))),
          i);
    return result;
  }
};

/// Each `nvvm.mma.sync` of `host` as a call of `mmaHook` on the lane's
/// fragments.
void convertMmas(func::FuncOp host, LLVM::LLVMFuncOp mmaHook) {
  SmallVector<NVVM::MmaOp> mmas;
  host.walk([&](NVVM::MmaOp mma) { mmas.push_back(mma); });
  if (mmas.empty())
    return;
  OpBuilder b(host.getContext());
  Location loc = host.getLoc();
  HookWords fragments(b, host, stepc::kEmulatorMmaWords, 16);
  for (NVVM::MmaOp mma : mmas) {
    b.setInsertionPoint(mma);
    int32_t k = 0;
    for (Value operand : mma.getOperands())
      LLVM::StoreOp::create(b, loc, operand, fragments.word(b, loc, k++));
    LLVM::CallOp::create(b, loc, mmaHook, ValueRange{fragments.base});
    mma.replaceAllUsesWith(fragments.readStruct(b, loc, mma.getType(), k));
    mma.erase();
  }
}

/// The emulator's hooks the kernels call (buildHostHook); null where no
/// kernel needs one.
struct EmulatorHooks {
  LLVM::LLVMFuncOp blockBarrier, mma, wgmma, wgmmaCommit, wgmmaWait,
      fenceProxyAsync, ldMatrix, ldMatrixTrans, copyAsync, copyAsyncCommit,
      copyAsyncWait, shuffle, sharedMemory, globalTimer;
};

/// Each `nvvm.wgmma.mma_async` of `host` as a call of `wgmmaHook` on the
/// thread's descriptors, form and accumulators, each proxy fence as a call
/// of `fenceHook`, each wgmma commit as a call of `commitHook` and each
/// wait as one of `waitHook` on its groups left in flight; wgmma's fences
/// are dropped.
void convertWgmmas(func::FuncOp host, const EmulatorHooks &hooks) {
  SmallVector<NVVM::WgmmaMmaAsyncOp> mmas;
  SmallVector<Operation *> orderings;
  SmallVector<NVVM::FenceProxyOp> fences;
  host.walk([&](Operation *op) {
    if (auto mma = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op))
      mmas.push_back(mma);
    else if (auto fence = dyn_cast<NVVM::FenceProxyOp>(op))
      fences.push_back(fence);
    else if (isWgmmaOrdering(op))
      orderings.push_back(op);
  });
  OpBuilder b(host.getContext());
  Location loc = host.getLoc();
  for (Operation *op : orderings) {
    b.setInsertionPoint(op);
    if (isa<NVVM::WgmmaGroupSyncAlignedOp>(op))
      LLVM::CallOp::create(b, loc, hooks.wgmmaCommit, ValueRange{});
    if (auto wait = dyn_cast<NVVM::WgmmaWaitGroupSyncOp>(op))
      LLVM::CallOp::create(
          b, loc, hooks.wgmmaWait,
          ValueRange{LLVM::ConstantOp::create(b, loc, b.getI32Type(),
                                              int64_t(wait.getGroup()))});
    op->erase();
  }
  for (NVVM::FenceProxyOp fence : fences) {
    b.setInsertionPoint(fence);
    LLVM::CallOp::create(b, loc, hooks.fenceProxyAsync, ValueRange{});
    fence.erase();
  }
  if (mmas.empty())
    return;
  HookWords words(b, host, stepc::kEmulatorWgmmaWords, /*alignment=*/16);
  for (NVVM::WgmmaMmaAsyncOp mma : mmas) {
    b.setInsertionPoint(mma);
    LLVM::StoreOp::create(b, loc, mma.getDescriptorA(), words.word(b, loc, 0));
    LLVM::StoreOp::create(b, loc, mma.getDescriptorB(), words.word(b, loc, 2));
    uint32_t form = uint32_t(mma.getShape().getN()) |
                    uint32_t(mma.getLayoutA() == NVVM::MMALayout::col) << 16 |
                    uint32_t(mma.getLayoutB() == NVVM::MMALayout::row) << 17 |
                    uint32_t(mma.getScaleD() == NVVM::WGMMAScaleOut::one) << 18;
    LLVM::StoreOp::create(
        b, loc, LLVM::ConstantOp::create(b, loc, b.getI32Type(), int64_t(form)),
        words.word(b, loc, 4));
    auto type = cast<LLVM::LLVMStructType>(mma.getType());
    for (size_t i = 0; i < type.getBody().size(); ++i)
      LLVM::StoreOp::create(
          b, loc, LLVM::ExtractValueOp::create(b, loc, mma.getInouts(), i),
          words.word(b, loc, 5 + int32_t(i)));
    LLVM::CallOp::create(b, loc, hooks.wgmma, ValueRange{words.base});
    mma.replaceAllUsesWith(words.readStruct(b, loc, type, 5));
    mma.erase();
  }
}

/// Each `nvvm.ldmatrix` of `host` as a call of `ldMatrixHook` (with
/// layout col, transposed: `ldMatrixTransHook`) on the lane's row address
/// (a host pointer once the shared tiles are the block's copy).
void convertLdMatrices(func::FuncOp host, LLVM::LLVMFuncOp ldMatrixHook,
                       LLVM::LLVMFuncOp ldMatrixTransHook) {
  SmallVector<NVVM::LdMatrixOp> loads;
  host.walk([&](NVVM::LdMatrixOp load) { loads.push_back(load); });
  if (loads.empty())
    return;
  OpBuilder b(host.getContext());
  Location loc = host.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  HookWords words(b, host, stepc::kEmulatorLdMatrixWords, /*alignment=*/8);
  for (NVVM::LdMatrixOp load : loads) {
    b.setInsertionPoint(load);
    Value row = LLVM::AddrSpaceCastOp::create(b, loc, ptr, load.getPtr());
    LLVM::StoreOp::create(b, loc, row, words.word(b, loc, 0));
    LLVM::CallOp::create(b, loc,
                         load.getLayout() == NVVM::MMALayout::col
                             ? ldMatrixTransHook
                             : ldMatrixHook,
                         ValueRange{words.base});
    load.replaceAllUsesWith(words.readStruct(b, loc, load.getType(), 2));
    load.erase();
  }
}

/// Each `nvvm.cp.async.shared.global` of `host` as a call of `copyHook` on
/// the lane's destination and source (host pointers once the shared tiles
/// are the block's copy), each `nvvm.cp.async.commit.group` as a call of
/// `commitHook`, each `nvvm.cp.async.wait.group N` as a call of `waitHook`
/// on N: the emulator keeps each thread's groups.
void convertCopiesAsync(func::FuncOp host, LLVM::LLVMFuncOp copyHook,
                        LLVM::LLVMFuncOp commitHook,
                        LLVM::LLVMFuncOp waitHook) {
  SmallVector<Operation *> ops;
  host.walk([&](Operation *op) {
    if (isa<NVVM::CpAsyncOp, NVVM::CpAsyncCommitGroupOp,
            NVVM::CpAsyncWaitGroupOp>(op))
      ops.push_back(op);
  });
  if (ops.empty())
    return;
  OpBuilder b(host.getContext());
  Location loc = host.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  HookWords words(b, host, stepc::kEmulatorCopyAsyncWords, /*alignment=*/8);
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    if (auto copy = dyn_cast<NVVM::CpAsyncOp>(op)) {
      for (auto [word, pointer] :
           {std::pair(0, copy.getDst()), std::pair(2, copy.getSrc())})
        LLVM::StoreOp::create(
            b, loc, LLVM::AddrSpaceCastOp::create(b, loc, ptr, pointer),
            words.word(b, loc, word));
      LLVM::CallOp::create(b, loc, copyHook, ValueRange{words.base});
    } else if (isa<NVVM::CpAsyncCommitGroupOp>(op)) {
      LLVM::CallOp::create(b, loc, commitHook, ValueRange{});
    } else {
      Value groupsInFlight = LLVM::ConstantOp::create(
          b, loc, b.getI32Type(), cast<NVVM::CpAsyncWaitGroupOp>(op).getN());
      LLVM::CallOp::create(b, loc, waitHook, ValueRange{groupsInFlight});
    }
    op->erase();
  }
}

/// Each `nvvm.read.ptx.sreg.globaltimer` of `host` as a call of
/// `timerHook`, which leaves the host's clock in a stack word.
void convertGlobalTimers(func::FuncOp host, LLVM::LLVMFuncOp timerHook) {
  SmallVector<NVVM::GlobalTimerOp> timers;
  host.walk([&](NVVM::GlobalTimerOp timer) { timers.push_back(timer); });
  if (timers.empty())
    return;
  OpBuilder b(host.getContext());
  HookWords words(b, host, 2, /*alignment=*/8);
  for (NVVM::GlobalTimerOp timer : timers) {
    b.setInsertionPoint(timer);
    LLVM::CallOp::create(b, timer.getLoc(), timerHook, ValueRange{words.base});
    timer.getResult().replaceAllUsesWith(LLVM::LoadOp::create(
        b, timer.getLoc(), b.getI64Type(), words.base, /*alignment=*/8));
    timer.erase();
  }
}

/// Each `gpu.shuffle xor` of `host` as a call of `shuffleHook` on the
/// lane's value and lane mask; every lane is valid in a shuffle over the
/// whole warp.
void convertShuffles(func::FuncOp host, LLVM::LLVMFuncOp shuffleHook) {
  SmallVector<gpu::ShuffleOp> shuffles;
  host.walk([&](gpu::ShuffleOp shuffle) { shuffles.push_back(shuffle); });
  if (shuffles.empty())
    return;
  OpBuilder b(host.getContext());
  Location loc = host.getLoc();
  Type i32 = b.getI32Type();
  HookWords words(b, host, 3, 4);
  for (gpu::ShuffleOp shuffle : shuffles) {
    b.setInsertionPoint(shuffle);
    Type type = shuffle.getValue().getType();
    Value bits = shuffle.getValue();
    if (type != i32)
      bits = LLVM::BitcastOp::create(b, loc, i32, bits);
    LLVM::StoreOp::create(b, loc, bits, words.word(b, loc, 0));
    LLVM::StoreOp::create(b, loc, shuffle.getOffset(), words.word(b, loc, 1));
    LLVM::CallOp::create(b, loc, shuffleHook, ValueRange{words.base});
    Value result = LLVM::LoadOp::create(b, loc, i32, words.word(b, loc, 2));
    if (type != i32)
      result = LLVM::BitcastOp::create(b, loc, type, result);
    shuffle.getShuffleResult().replaceAllUsesWith(result);
    shuffle.getValid().replaceAllUsesWith(
        arith::ConstantOp::create(b, loc, b.getBoolAttr(true)).getResult());
    shuffle.erase();
  }
}

/// Each address of the shared tiles (`sharedTiles`) in `host` as the
/// address of the running thread's block's copy, which `sharedHook` asks
/// the emulator for.
void convertSharedMemory(func::FuncOp host, LLVM::GlobalOp sharedTiles,
                         LLVM::LLVMFuncOp sharedHook) {
  SmallVector<LLVM::AddressOfOp> addresses;
  host.walk([&](LLVM::AddressOfOp address) {
    if (address.getGlobalName() == stepc::kSharedTilesName)
      addresses.push_back(address);
  });
  if (addresses.empty())
    return;
  OpBuilder b(host.getContext());
  HookWords words(b, host, 2, /*alignment=*/8);
  auto array = cast<LLVM::LLVMArrayType>(sharedTiles.getGlobalType());
  int64_t bytes = array.getNumElements() *
                  (array.getElementType().getIntOrFloatBitWidth() / 8);
  for (LLVM::AddressOfOp address : addresses) {
    b.setInsertionPoint(address);
    Location loc = address.getLoc();
    Value word = words.word(b, loc, 0);
    LLVM::StoreOp::create(
        b, loc, LLVM::ConstantOp::create(b, loc, b.getI64Type(), bytes), word);
    LLVM::CallOp::create(b, loc, sharedHook, ValueRange{words.base});
    Value pointer = LLVM::LoadOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext()), word);
    address.replaceAllUsesWith(
        LLVM::AddrSpaceCastOp::create(b, loc, address.getType(), pointer)
            .getResult());
    address.erase();
  }
}

/// Whether an op of type `Op` (one that `holds`) is in `kernels`.
template <typename Op>
bool uses(
    gpu::GPUModuleOp kernels,
    llvm::function_ref<bool(Op)> holds = [](Op) { return true; }) {
  return kernels
      .walk([&](Op op) {
        return holds(op) ? WalkResult::interrupt() : WalkResult::advance();
      })
      .wasInterrupted();
}

/// func.func @KERNEL(%params, %block, %thread, %block_dim, %grid_dim): a
/// new entry block loads the kernel's arguments through `params` and
/// branches into the kernel's own body.
LogicalResult convertKernel(gpu::GPUFuncOp kernel, ModuleOp module,
                            OpBuilder &b, const EmulatorHooks &hooks,
                            LLVM::GlobalOp sharedTiles) {
  MLIRContext *ctx = b.getContext();
  Location loc = kernel.getLoc();
  if (!kernel.getWorkgroupAttributions().empty() ||
      !kernel.getPrivateAttributions().empty())
    return kernel.emitOpError("has workgroup or private attributions, which "
                              "the host CUDA emulator does not model");
  for (Type type : kernel.getArgumentTypes())
    if (!LLVM::isCompatibleType(type))
      return kernel.emitOpError("has an argument of type ")
             << type << ", which a launch cannot pass by pointer";

  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type index = b.getIndexType();
  auto type = FunctionType::get(ctx, {ptr, index, index, index, index}, {});
  b.setInsertionPointToEnd(module.getBody());
  auto host = func::FuncOp::create(b, loc, kernel.getName(), type);
  Region &body = host.getBody();
  body.takeBody(kernel.getBody());
  Block *kernelEntry = &body.front();
  SmallVector<Location> locs(type.getNumInputs(), loc);
  Block *entry = b.createBlock(&body, body.begin(), type.getInputs(), locs);
  SmallVector<Value> arguments;
  for (auto [position, argument] :
       llvm::enumerate(kernelEntry->getArguments())) {
    Value slot = LLVM::GEPOp::create(
        b, loc, ptr, ptr, entry->getArgument(kParams),
        ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(position)});
    Value pointer = LLVM::LoadOp::create(b, loc, ptr, slot);
    arguments.push_back(
        LLVM::LoadOp::create(b, loc, argument.getType(), pointer));
  }
  cf::BranchOp::create(b, loc, kernelEntry, arguments);

  // Ids and sizes of the x dimension from the arguments; launches are 1-D.
  auto dimension = [&](OpBuilder &at, gpu::Dimension dim, HostArgument x,
                       int64_t other) -> Value {
    if (dim == gpu::Dimension::x)
      return entry->getArgument(x);
    return arith::ConstantIndexOp::create(at, loc, other);
  };
  SmallVector<Operation *> replaced;
  host.walk([&](Operation *op) {
    OpBuilder at(op);
    Value value;
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      value = dimension(at, id.getDimension(), kThread, 0);
    else if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      value = dimension(at, id.getDimension(), kBlock, 0);
    else if (auto size = dyn_cast<gpu::BlockDimOp>(op))
      value = dimension(at, size.getDimension(), kBlockDim, 1);
    else if (auto size = dyn_cast<gpu::GridDimOp>(op))
      value = dimension(at, size.getDimension(), kGridDim, 1);
    else if (isa<gpu::ReturnOp>(op))
      func::ReturnOp::create(at, op->getLoc());
    else if (isa<gpu::BarrierOp>(op))
      LLVM::CallOp::create(at, op->getLoc(), hooks.blockBarrier, ValueRange{});
    else if (isa<LLVM::InlineAsmOp>(op)) // the opaque thread index alone
      value = arith::IndexCastUIOp::create(at, op->getLoc(), at.getI32Type(),
                                           entry->getArgument(kThread));
    else
      return;
    if (value)
      op->getResult(0).replaceAllUsesWith(value);
    replaced.push_back(op);
  });
  for (Operation *op : replaced)
    op->erase();
  convertMmas(host, hooks.mma);
  convertWgmmas(host, hooks);
  convertLdMatrices(host, hooks.ldMatrix, hooks.ldMatrixTrans);
  convertCopiesAsync(host, hooks.copyAsync, hooks.copyAsyncCommit,
                     hooks.copyAsyncWait);
  convertShuffles(host, hooks.shuffle);
  convertGlobalTimers(host, hooks.globalTimer);
  if (sharedTiles)
    convertSharedMemory(host, sharedTiles, hooks.sharedMemory);
  return success();
}

struct GpuKernelsToHostPass
    : stepc::impl::GpuKernelsToHostBase<GpuKernelsToHostPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    gpu::GPUModuleOp kernels;
    for (auto candidate : module.getOps<gpu::GPUModuleOp>())
      if (candidate.getName() == stepc::kGpuModuleName)
        kernels = candidate;
    if (!kernels)
      return;

    bool emulated = true;
    kernels.walk<WalkOrder::PreOrder>([&](Operation *op) {
      auto func = dyn_cast<LLVM::LLVMFuncOp>(op);
      if (func && func.getName() == stepc::kGridBarrierName)
        return WalkResult::skip();
      if (failed(checkEmulated(op)))
        emulated = false;
      return WalkResult::advance();
    });
    if (!emulated)
      return signalPassFailure();

    OpBuilder b(module.getContext());
    SymbolTable hostSymbols(module);
    SmallVector<gpu::GPUFuncOp> kernelFuncs;
    LLVM::GlobalOp sharedTiles;
    for (Operation &op : llvm::make_early_inc_range(*kernels.getBody())) {
      if (auto kernel = dyn_cast<gpu::GPUFuncOp>(op)) {
        if (!kernel.isKernel()) {
          kernel.emitOpError("is not a kernel; the host CUDA emulator runs "
                             "kernels only");
          return signalPassFailure();
        }
        kernelFuncs.push_back(kernel);
        continue;
      }
      // Each block has a copy of its own, which the emulator hands out.
      if (auto global = dyn_cast<LLVM::GlobalOp>(op);
          global && isSharedTiles(global)) {
        sharedTiles = global;
        continue;
      }
      auto func = dyn_cast<LLVM::LLVMFuncOp>(op);
      if (func && func.getName() == stepc::kGridBarrierName) {
        buildHostHook(module, func.getLoc(), b, stepc::kEmulatorGridBarrierName,
                      stepc::kGridBarrierName,
                      func.getFunctionType().getParams());
        continue;
      }
      // Constant tables the kernels read (memref.global): the host module
      // may hold the same one already, from the group function it came
      // from.
      if (auto symbol = dyn_cast<SymbolOpInterface>(op)) {
        Operation *existing = hostSymbols.lookup(symbol.getName());
        if (existing &&
            OperationEquivalence::isEquivalentTo(
                existing, &op, OperationEquivalence::exactValueMatch, nullptr,
                OperationEquivalence::IgnoreLocations))
          continue;
        if (existing) {
          op.emitOpError("has the name of a different host symbol");
          return signalPassFailure();
        }
      }
      op.moveBefore(module.getBody(), module.getBody()->end());
    }
    // A hook for each op of the kernels that the emulator runs, where one
    // is used: the op's operands go to the emulator through words on the
    // stack (a pointer to them), its results come back in them.
    auto ptr = LLVM::LLVMPointerType::get(module.getContext());
    auto hook = [&](bool used, StringRef slot, StringRef name,
                    ArrayRef<Type> argTypes) {
      return used ? buildHostHook(module, module.getLoc(), b, slot, name,
                                  argTypes)
                  : LLVM::LLVMFuncOp();
    };
    EmulatorHooks hooks;
    // __syncthreads() suspends the thread until its block arrives.
    hooks.blockBarrier =
        hook(uses<gpu::BarrierOp>(kernels), stepc::kEmulatorBlockBarrierName,
             "stepc_block_barrier", {});
    // mma.sync hands the lane's fragments to the emulator's warp.
    hooks.mma = hook(uses<NVVM::MmaOp>(kernels), stepc::kEmulatorMmaName,
                     "stepc_mma_bf16", {ptr});
    // wgmma: the thread's descriptors, form and accumulators, for its
    // warpgroup.
    hooks.wgmma = hook(uses<NVVM::WgmmaMmaAsyncOp>(kernels),
                       stepc::kEmulatorWgmmaName, "stepc_wgmma_bf16", {ptr});
    // Its commit and wait (the groups to leave in flight) say how long it
    // reads its factors.
    hooks.wgmmaCommit =
        hook(uses<NVVM::WgmmaGroupSyncAlignedOp>(kernels),
             stepc::kEmulatorWgmmaCommitName, "stepc_wgmma_commit", {});
    hooks.wgmmaWait = hook(uses<NVVM::WgmmaWaitGroupSyncOp>(kernels),
                           stepc::kEmulatorWgmmaWaitName, "stepc_wgmma_wait",
                           {b.getI32Type()});
    // Its proxy fence makes the thread's landed copies visible to wgmma.
    hooks.fenceProxyAsync = hook(uses<NVVM::FenceProxyOp>(kernels),
                                 stepc::kEmulatorFenceProxyAsyncName,
                                 "stepc_fence_proxy_async", {});
    // So does ldmatrix: the lane's row address; ldmatrix...trans alike,
    // through a hook of its own.
    auto usesLdMatrix = [&](NVVM::MMALayout layout) {
      return uses<NVVM::LdMatrixOp>(kernels, [&](NVVM::LdMatrixOp load) {
        return load.getLayout() == layout;
      });
    };
    hooks.ldMatrix =
        hook(usesLdMatrix(NVVM::MMALayout::row), stepc::kEmulatorLdMatrixName,
             "stepc_ldmatrix_x4", {ptr});
    hooks.ldMatrixTrans = hook(usesLdMatrix(NVVM::MMALayout::col),
                               stepc::kEmulatorLdMatrixTransName,
                               "stepc_ldmatrix_x4_trans", {ptr});
    // cp.async: the lane's destination and source; then its group's
    // commit and wait (the groups to leave in flight).
    hooks.copyAsync =
        hook(uses<NVVM::CpAsyncOp>(kernels), stepc::kEmulatorCopyAsyncName,
             "stepc_cp_async", {ptr});
    hooks.copyAsyncCommit =
        hook(uses<NVVM::CpAsyncCommitGroupOp>(kernels),
             stepc::kEmulatorCopyAsyncCommitName, "stepc_cp_async_commit", {});
    hooks.copyAsyncWait = hook(uses<NVVM::CpAsyncWaitGroupOp>(kernels),
                               stepc::kEmulatorCopyAsyncWaitName,
                               "stepc_cp_async_wait", {b.getI32Type()});
    // A warp shuffle: the lane's value and lane mask.
    hooks.shuffle =
        hook(uses<gpu::ShuffleOp>(kernels), stepc::kEmulatorShuffleName,
             "stepc_shuffle_xor", {ptr});
    // The shared memory: the bytes the kernel uses, then its block's.
    hooks.sharedMemory =
        hook(bool(sharedTiles), stepc::kEmulatorSharedMemoryName,
             "stepc_shared_memory", {ptr});
    // %globaltimer: the host's clock.
    hooks.globalTimer =
        hook(uses<NVVM::GlobalTimerOp>(kernels),
             stepc::kEmulatorGlobalTimerName, "stepc_globaltimer", {ptr});
    for (gpu::GPUFuncOp kernel : kernelFuncs)
      if (failed(convertKernel(kernel, module, b, hooks, sharedTiles)))
        return signalPassFailure();
    kernels.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
