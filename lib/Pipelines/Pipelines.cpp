//===- Pipelines.cpp - stepc's pass pipelines ------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Pipelines/Pipelines.h"

#include "stepc/Conversion/Passes.h"
#include "stepc/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"

#include <cstdlib>

using namespace mlir;

stepc::StepToLinalgChoices stepc::cpuStepToLinalgChoices() {
  StepToLinalgChoices choices;
  choices.materializeStored = true;
  choices.qrPanelRows = 96;
  return choices;
}

void stepc::buildStepToLinalgPipeline(OpPassManager &pm,
                                      const StepToLinalgChoices &choices) {
  ConvertStepToLinalgOptions lowering;
  lowering.qrPanelRows = choices.qrPanelRows;
  pm.addPass(createConvertStepToLinalg(lowering));
  pm.addPass(createConvertStepToFunc());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createUnifyShapes());
  pm.addPass(createCSEPass());
  FuseElementwiseOptions fuse;
  fuse.materializeStored = choices.materializeStored;
  pm.addNestedPass<func::FuncOp>(createFuseElementwise(fuse));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // After CSE, so that what a select's operand shares with the rest of the
  // function is one value and stays outside the branch.
  pm.addNestedPass<func::FuncOp>(createSinkSelectOperands());
}

void stepc::buildCpuTilePipeline(OpPassManager &pm) {
  // Per-row values become vectors (no expand/collapse around them), so that
  // tiling can fuse them along the rows.
  pm.addNestedPass<func::FuncOp>(createLinalgFoldUnitExtentDimsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createTileRows());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// One-shot bufferization of the group functions, their memref arguments
/// with the identity layout the callers pass.
static void addBufferize(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // Element-wise results land straight in the param and state buffers.
  pm.addNestedPass<func::FuncOp>(stepc::createDestinationInits());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
}

void stepc::buildCpuBufferizePipeline(OpPassManager &pm) {
  // A loop's buffers sized by what it carries (Newton–Schulz's iterate)
  // sized by the value it starts from instead, so that they can leave it.
  pm.addPass(createSCFForLoopCanonicalizationPass());
  addBufferize(pm);
  pm.addPass(createBlockMatmuls());
  // Each loop's buffers allocated once, before it: a fresh allocation per
  // iteration costs page faults as large as the work (docs/Performance.md).
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addNestedPass<func::FuncOp>(bufferization::createBufferLoopHoistingPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createLowerReductions());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  // Loops over the same rows get the same bounds: a view's dims read from
  // what it views, every dim from the param, then one value per dim.
  pm.addPass(memref::createResolveShapedTypeResultDimsPass());
  pm.addNestedPass<func::FuncOp>(createUnifyShapes());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createFuseRowLoops());
  // Then each remaining sweep whose rows are independent is a parallel
  // range the runtime's free threads can share.
  pm.addPass(createOutlineRowRanges());
}

void stepc::buildCpuToLLVMPipeline(OpPassManager &pm) {
  // bf16 rounding as integer ops: no __truncsfbf2 libcall that a loaded
  // artifact might not find, and it vectorizes.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // The phased GPU kernels' vector accesses, in the emulator's host code.
  pm.addPass(createConvertVectorToLLVMPass());
  // memref before scf: OpenMP regions fail to lower in the other order
  // (shared/TOOLCHAIN.md §7).
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createStoreBf16Bits());
  pm.addPass(createMarkDistinctBuffers());
  pm.addPass(createRouteScratchAllocations());
  pm.addPass(createParallelizeRanges());
  pm.addPass(createAddPackedEntries());
}

void stepc::buildCpuPipeline(OpPassManager &pm) {
  pm.addPass(createFoldNormalizationChains());
  // Not on the GPU yet: a kernel's phases would change, untimed there.
  buildStepToLinalgPipeline(pm, cpuStepToLinalgChoices());
  pm.addNestedPass<func::FuncOp>(createMergeSiblingReductions());
  pm.addPass(createCSEPass());
  // Not buildCpuTilePipeline: measured slower, see docs/Design/Phases.md.
  buildCpuBufferizePipeline(pm);
  buildCpuToLLVMPipeline(pm);
}

std::string stepc::cudaToolkitPath() {
  for (const char *variable : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *value = std::getenv(variable); value && *value)
      return value;
  return "/usr/local/cuda";
}

void stepc::buildGpuKernelsPipeline(OpPassManager &pm,
                                    bool skipUnsupportedGroups,
                                    const GpuKernelOptions &options) {
  pm.addPass(createFoldNormalizationChains());
  buildStepToLinalgPipeline(pm);
  FormGpuKernelsOptions kernels;
  kernels.skipUnsupported = skipUnsupportedGroups;
  kernels.leaveOthers = true;
  pm.addPass(createFormGpuKernels(kernels));
  pm.addNestedPass<func::FuncOp>(createFuseTransposesIntoReductions());
  pm.addNestedPass<func::FuncOp>(createFillPerProduct());
  pm.addNestedPass<func::FuncOp>(createMaterializeRoundedFactors());
  // The other groups bufferize as on the CPU (without deallocations: their
  // buffers become places in the kernel's scratch) and become phased
  // kernels.
  addBufferize(pm);
  pm.addPass(createLinalgGeneralizeNamedOpsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  FormPhasedGpuKernelsOptions phased;
  phased.skipUnsupported = skipUnsupportedGroups;
  phased.maxRegisters = options.maxRegisters;
  phased.matmulTile = options.matmulTile;
  phased.matmulStages = options.matmulStages;
  phased.barrierTimeout = options.barrierTimeout;
  phased.matmulWholeTiles = options.matmulWholeTiles;
  phased.phaseTimeline = options.phaseTimeline;
  phased.fuseIterateUpdates = options.fuseIterateUpdates;
  phased.batchSameShapes = options.batchSameShapes;
  phased.vectorElementwise = options.vectorElementwise;
  phased.matmulWgmma = options.matmulWgmma;
  pm.addPass(createFormPhasedGpuKernels(phased));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Makes NVPTX address shared (and local and const) memory with 32-bit
/// pointers, as nvcc does: the staged matmul's shared-memory offsets then
/// take one register each instead of two (Muon's hidden kernel: 180 → 140
/// registers on sm_90). The backend reads only its command-line option,
/// `-nvptx-short-ptr`, when it builds its data layout; one given on the
/// command line is left as given.
static void useShortNvptxPointers() {
  auto &options = llvm::cl::getRegisteredOptions();
  auto found = options.find("nvptx-short-ptr");
  if (found == options.end() || found->second->getNumOccurrences() != 0)
    return;
  found->second->addOccurrence(/*pos=*/0, found->first, "true");
}

const char *stepc::ptxChipFor(const GpuKernelOptions &options) {
  return options.matmulWgmma ? kWgmmaArch : "sm_80";
}

void stepc::buildGpuToNvvmPipeline(OpPassManager &pm, StringRef chip) {
  useShortNvptxPointers();
  GpuNVVMAttachTargetOptions target;
  target.chip = chip.str();
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &gpuModule = pm.nest<gpu::GPUModuleOp>();
  gpuModule.addPass(createUseCorrectlyRoundedRoots());
  // Views (expand/collapse_shape, subview) into plain descriptor
  // arithmetic, which the NVVM lowering knows.
  gpuModule.addPass(memref::createExpandStridedMetadataPass());
  gpuModule.addPass(createLowerAffinePass());
  gpuModule.addPass(createSCFToControlFlowPass());
  gpuModule.addPass(createConvertGpuOpsToNVVMOps());
  // LLVM has no intrinsic for wgmma.mma_async: it becomes inline PTX.
  if (chip == kWgmmaArch)
    gpuModule.addPass(createConvertNVVMToLLVMPass());
  gpuModule.addPass(createCanonicalizerPass());
  gpuModule.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  // libdevice (powf, expf, ...) is linked from the toolkit; without it the
  // PTX would keep unresolved __nv_* calls that only ptxas rejects.
  binary.toolkitPath = cudaToolkitPath();
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void stepc::buildGpuPipeline(OpPassManager &pm, bool skipUnsupportedGroups,
                             const GpuKernelOptions &options) {
  buildGpuKernelsPipeline(pm, skipUnsupportedGroups, options);
  buildGpuToNvvmPipeline(pm, ptxChipFor(options));
}

void stepc::buildGpuHostEmulationPipeline(OpPassManager &pm) {
  pm.addPass(createGpuKernelsToHost());
  pm.addPass(createCanonicalizerPass());
  buildCpuToLLVMPipeline(pm);
}

namespace {
/// GpuKernelOptions as stepc-opt's pipeline options.
struct GpuPipelineOptions : PassPipelineOptions<GpuPipelineOptions> {
  Option<int> maxRegisters{*this, "max-registers",
                           llvm::cl::desc("Cap the phased kernels at this "
                                          "many registers per thread (0: "
                                          "128 for those with a "
                                          "tensor-core matmul)"),
                           llvm::cl::init(0)};
  Option<int64_t> matmulTile{
      *this, "matmul-tile",
      llvm::cl::desc("The side of the tensor-core matmuls' block tiles: 64 "
                     "or 128"),
      llvm::cl::init(64)};
  Option<int64_t> matmulStages{
      *this, "matmul-stages",
      llvm::cl::desc("The k-steps those matmuls stage at once, 2 to 8 (0: "
                     "the most that fit statically)"),
      llvm::cl::init(0)};
  Option<int64_t> barrierTimeout{
      *this, "barrier-timeout",
      llvm::cl::desc("Seconds a block waits at a grid barrier before it "
                     "traps (0: forever)"),
      llvm::cl::init(stepc::kGridBarrierTimeoutSeconds)};
  Option<bool> matmulWholeTiles{
      *this, "matmul-whole-tiles",
      llvm::cl::desc("Give the matmuls' tiles that lie wholly inside "
                     "aligned matrices a k loop without checks"),
      llvm::cl::init(true)};
  Option<bool> phaseTimeline{
      *this, "phase-timeline",
      llvm::cl::desc("Record when each grid barrier releases, for the "
                     "runtime's phase timeline"),
      llvm::cl::init(false)};

  Option<bool> fuseIterateUpdates{
      *this, "fuse-iterate-updates",
      llvm::cl::desc("Give Newton–Schulz's bf16 iterate a second buffer so "
                     "that its update is P·X's epilogue"),
      llvm::cl::init(true)};

  Option<bool> batchSameShapes{
      *this, "batch-same-shapes",
      llvm::cl::desc("Step consecutive same-shape tensors together, each op "
                     "over all of them in one phase"),
      llvm::cl::init(true)};

  Option<bool> vectorElementwise{
      *this, "vector-elementwise",
      llvm::cl::desc("Give the element-wise ops 16-byte vector loads and "
                     "stores where the sizes and buffers allow"),
      llvm::cl::init(true)};

  Option<bool> matmulWgmma{
      *this, "matmul-wgmma",
      llvm::cl::desc("Compute the matmuls with wgmma.mma_async (sm_90a "
                     "only)"),
      llvm::cl::init(false)};

  stepc::GpuKernelOptions kernelOptions() const {
    stepc::GpuKernelOptions options;
    options.maxRegisters = maxRegisters;
    options.matmulTile = matmulTile;
    options.matmulStages = matmulStages;
    options.barrierTimeout = barrierTimeout;
    options.matmulWholeTiles = matmulWholeTiles;
    options.phaseTimeline = phaseTimeline;
    options.fuseIterateUpdates = fuseIterateUpdates;
    options.batchSameShapes = batchSameShapes;
    options.vectorElementwise = vectorElementwise;
    options.matmulWgmma = matmulWgmma;
    return options;
  }
};
} // namespace

void stepc::registerStepcPipelines() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "stepc-gpu-pipeline",
      "Lower a step spec to one GPU kernel per group (PTX)",
      [](OpPassManager &pm, const GpuPipelineOptions &options) {
        buildGpuPipeline(pm, /*skipUnsupportedGroups=*/false,
                         options.kernelOptions());
      });
  PassPipelineRegistration<GpuPipelineOptions>(
      "stepc-gpu-kernels",
      "Lower a step spec to one GPU kernel per group (gpu.func, before NVVM)",
      [](OpPassManager &pm, const GpuPipelineOptions &options) {
        buildGpuKernelsPipeline(pm, /*skipUnsupportedGroups=*/false,
                                options.kernelOptions());
      });
  PassPipelineRegistration<>(
      "stepc-gpu-host-emulation",
      "Lower stepc-gpu-kernels' output to the LLVM dialect for the host CUDA "
      "emulator",
      buildGpuHostEmulationPipeline);
  PassPipelineRegistration<>(
      "stepc-lower-to-linalg",
      "Lower a step spec to one linalg-on-tensors function per group",
      [](OpPassManager &pm) { buildStepToLinalgPipeline(pm); });
  PassPipelineRegistration<>(
      "stepc-cpu-tile",
      "Fuse each phase's row-local linalg work into loops over row blocks",
      buildCpuTilePipeline);
  PassPipelineRegistration<>("stepc-cpu-pipeline",
                             "Lower a step spec to the LLVM dialect for the CPU",
                             buildCpuPipeline);
}
