//===- stepc.cpp - the stepc driver -----------------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
//   stepc compile SPEC [--target=cpu,cuda] [--cuda-arch=sm_80,sm_90]
//                 [--cuda-host-emulation]
//                 -o OUT.stepc                          an artifact
//   stepc compile SPEC --emit=step|linalg|llvm|cpu-so|ptx [-o OUT]
//   stepc inspect SPEC|ARTIFACT
//   stepc run SPEC|ARTIFACT --group NAME --param p.npy --grad g.npy [...]
//             [--state DIR] [--hyper lr=1e-3 ...] [--input loss=2.5 ...]
//             [--steps N]
//             [--device cpu|cuda[:N]] --out DIR
//
// A thin main over the driver library (include/stepc/Driver/Driver.h).
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include "stepc-rt/Artifact.h"
#include "stepc-rt/CpuModule.h"
#include "stepc-rt/CudaExecutor.h"
#include "stepc-rt/HalfFloat.h"
#include "stepc/Driver/Driver.h"
#include "stepc/Pipelines/Pipelines.h"
#include "stepc/Transforms/Passes.h"
#include "stepc/Version.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

using namespace mlir;
using namespace stepc;
namespace cl = llvm::cl;

static cl::SubCommand compileCommand("compile", "Compile a spec");
static cl::SubCommand inspectCommand("inspect", "Print a spec's manifest");
static cl::SubCommand runCommand("run", "Run steps of a group on .npy tensors");

static cl::opt<std::string> compileInput(cl::Positional, cl::desc("<spec>"),
                                         cl::Required, cl::sub(compileCommand));
static cl::opt<std::string> inspectInput(cl::Positional, cl::desc("<spec>"),
                                         cl::Required, cl::sub(inspectCommand));
static cl::opt<std::string> runInput(cl::Positional, cl::desc("<spec>"),
                                     cl::Required, cl::sub(runCommand));

enum class Emit { Artifact, Step, Linalg, LLVM, SharedObject, Ptx };
static cl::opt<Emit> emitStage(
    "emit", cl::desc("Stage to print"), cl::sub(compileCommand),
    cl::values(
        clEnumValN(Emit::Artifact, "artifact",
                   "the artifact: manifest and code (default)"),
        clEnumValN(Emit::Step, "step", "the verified, canonical spec"),
        clEnumValN(Emit::Linalg, "linalg", "one linalg function per group"),
        clEnumValN(Emit::LLVM, "llvm", "LLVM IR for the CPU"),
        clEnumValN(Emit::SharedObject, "cpu-so",
                   "the CPU shared object an artifact carries"),
        clEnumValN(Emit::Ptx, "ptx", "the PTX of the groups' CUDA kernels")),
    cl::init(Emit::Artifact));
enum class Target { Cpu, Cuda };
static cl::list<Target> compileTargets(
    "target", cl::desc("Code in the artifact (default: cpu)"),
    cl::sub(compileCommand), cl::CommaSeparated,
    cl::values(clEnumValN(Target::Cpu, "cpu", "x86-64-v3 native code"),
               clEnumValN(Target::Cuda, "cuda",
                          "PTX, and a cubin per --cuda-arch")));
static cl::list<std::string>
    cudaArchs("cuda-arch",
              cl::desc("GPU architectures to assemble cubins for (default: "
                       "sm_80,sm_90; with --cuda-matmul-wgmma, sm_80,sm_90a). "
                       "A GPU runs the cubin of its arch with an \"a\" "
                       "appended, else its arch's, else the PTX"),
              cl::sub(compileCommand), cl::CommaSeparated);
static cl::opt<bool> cudaHostEmulation(
    "cuda-host-emulation",
    cl::desc("Also compile the CUDA kernels for the host CUDA emulator, which "
             "checks them without a GPU (docs/Design/GpuEmulation.md)"),
    cl::sub(compileCommand));
static cl::opt<int> cudaMaxRegisters(
    "cuda-max-registers",
    cl::desc("Cap the phased CUDA kernels at this many registers per thread "
             "(PTX .maxnreg; 128 fits two blocks of 256 threads per SM; "
             "default: 128 for kernels with a tensor-core matmul on 64 x 64 "
             "tiles, none for the others; 255 lifts the cap)"),
    cl::init(0), cl::sub(compileCommand));
static cl::opt<int64_t> cudaMatmulTile(
    "cuda-matmul-tile",
    cl::desc("The side of the block tiles the tensor-core matmuls "
             "(Newton–Schulz's) compute: 64 (default) or 128"),
    cl::init(64), cl::sub(compileCommand));
static cl::opt<int64_t> cudaMatmulStages(
    "cuda-matmul-stages",
    cl::desc("The k-steps of 32 the tensor-core matmuls stage in shared "
             "memory at once, 2 to 8 (default: the most that fit the 48 KiB "
             "a kernel may declare, 4 with 64 x 64 tiles, 2 with 128 x 128; "
             "more are dynamic shared memory, which the launch gives)"),
    cl::init(0), cl::sub(compileCommand));
static cl::opt<int64_t> cudaBarrierTimeout(
    "cuda-barrier-timeout",
    cl::desc("Seconds a block of a phased CUDA kernel waits at a grid "
             "barrier before it traps, which fails the launch instead of "
             "hanging the GPU (default 60; 0: it waits forever)"),
    cl::init(stepc::kGridBarrierTimeoutSeconds), cl::sub(compileCommand));
static cl::opt<bool> cudaMatmulWholeTiles(
    "cuda-matmul-whole-tiles",
    cl::desc("Give the tensor-core matmuls' tiles that lie wholly inside "
             "contiguous, aligned matrices a k loop that copies without "
             "checks (default true; false checks every copy, for comparison)"),
    cl::init(true), cl::sub(compileCommand));
static cl::opt<bool> cudaMatmulWgmma(
    "cuda-matmul-wgmma",
    cl::desc("Compute the tensor-core matmuls with wgmma.mma_async "
             "(docs/Design/Wgmma.md) in the cubin for sm_90a (H100, H200), "
             "64 x 64 tiles; the other targets and the PTX keep mma.sync, "
             "and the default targets become sm_80 and sm_90a (default "
             "false: mma.sync everywhere)"),
    cl::init(false), cl::sub(compileCommand));
static cl::opt<bool> cudaFuseIterateUpdates(
    "cuda-fuse-iterate-updates",
    cl::desc("Give Newton–Schulz's bf16 iterate a second buffer, so that its "
             "update a·X + P·X is P·X's epilogue instead of a phase of its "
             "own (default true; false for comparison)"),
    cl::init(true), cl::sub(compileCommand));
static cl::opt<bool> cudaBatchSameShapes(
    "cuda-batch-same-shapes",
    cl::desc("Step a sub-grid's consecutive same-shape tensors together, "
             "each op over all of them in one phase (default true; false "
             "steps one tensor at a time, for comparison)"),
    cl::init(true), cl::sub(compileCommand));
static cl::opt<bool> cudaVectorElementwise(
    "cuda-vector-elementwise",
    cl::desc("Give the phased CUDA kernels' element-wise ops 16-byte vector "
             "loads and stores where the sizes and buffers allow (default "
             "true; false loads one element at a time, for comparison)"),
    cl::init(true), cl::sub(compileCommand));
static cl::opt<bool> cudaPhaseTimeline(
    "cuda-phase-timeline",
    cl::desc("Make the phased CUDA kernels record when each grid barrier "
             "releases, which the runtime writes to the file "
             "STEPC_CUDA_TIMELINE names (docs/Design/PhaseTimeline.md)"),
    cl::init(false), cl::sub(compileCommand));
static cl::opt<double> clipGradNorm(
    "clip-grad-norm",
    cl::desc("Clip the global gradient norm before every group's step: each "
             "group gains the hyper max_grad_norm, with this default "
             "(the pass stepc-clip-grad-norm)"),
    cl::value_desc("max norm"), cl::sub(compileCommand));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::init("-"), cl::sub(compileCommand));

static cl::opt<std::string> groupName("group", cl::desc("Group to run"),
                                      cl::sub(runCommand));
static cl::list<std::string> paramFiles("param", cl::desc("Parameter .npy"),
                                        cl::sub(runCommand));
static cl::list<std::string>
    gradFiles("grad",
              cl::desc("Gradient .npy; a leading extra dimension gives one "
                       "gradient per step"),
              cl::sub(runCommand));
static cl::opt<std::string>
    stateDir("state",
             cl::desc("Directory with initial states <name>.<i>.npy, f32 "
                      "also for bf16-stored states (default: the spec's "
                      "initial values)"),
             cl::sub(runCommand));
static cl::list<std::string> hyperValues("hyper", cl::desc("name=value"),
                                         cl::sub(runCommand));
static cl::list<std::string>
    inputValues("input",
                cl::desc("name=value, set before every step (e.g. loss=2.5)"),
                cl::sub(runCommand));
static cl::opt<int> numSteps("steps",
                             cl::desc("Steps to take (default: the gradients' "
                                      "leading dimension, or 1)"),
                             cl::init(0), cl::sub(runCommand));
static cl::opt<double>
    startCount("start-count", cl::desc("Steps already taken (for resuming)"),
               cl::init(0.0), cl::sub(runCommand));
static cl::opt<std::string> outDir("out", cl::desc("Output directory"),
                                   cl::sub(runCommand));
static cl::opt<int> numThreads("threads", cl::desc("Threads per step"),
                               cl::init(1), cl::sub(runCommand));
static cl::opt<std::string> runDevice(
    "device",
    cl::desc("Where to step: cpu (default), or cuda / cuda:N for the CUDA "
             "kernels (of an artifact compiled with --target=cuda, or of the "
             "spec compiled in process)"),
    cl::init("cpu"), cl::sub(runCommand));
static cl::opt<std::string> paramDtype(
    "dtype",
    cl::desc("Store params and grads as f32, bf16 or f16 (the .npy files "
             "stay float32; values are rounded to nearest even)"),
    cl::init("f32"), cl::sub(runCommand));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "stepc: error: " << message << "\n";
  return 1;
}

/// Parses and verifies a spec; diagnostics go to stderr.
static OwningOpRef<ModuleOp> loadSpec(const std::string &path,
                                      MLIRContext &context) {
  std::string error;
  auto file = openInputFile(path, &error);
  if (!file) {
    fail(error);
    return {};
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

/// Writes `bytes` to `path` ("-" for stdout).
static int writeOutput(const std::string &path, StringRef bytes) {
  std::string error;
  auto output = openOutputFile(path, &error);
  if (!output)
    return fail(error);
  output->os() << bytes;
  output->keep();
  return 0;
}

/// The artifact of `module` with code for the chosen targets.
static LogicalResult buildArtifact(ModuleOp module, bool forCpu, bool forCuda,
                                   const CudaTarget &cudaTarget,
                                   rt::Artifact &artifact, std::string &error) {
  artifact.stepcVersion = STEPC_VERSION;
  artifact.manifest = buildManifest(module);
  if (forCpu) {
    FailureOr<std::string> code =
        compileCpuSharedObject(module, CpuTarget(), error);
    if (failed(code))
      return failure();
    artifact.sections.push_back({rt::kCpuSectionName, std::move(*code)});
  }
  if (forCuda) {
    FailureOr<CudaCode> code = compileCuda(module, cudaTarget, error);
    if (failed(code))
      return failure();
    describeCudaLaunch(artifact.manifest, cudaTarget, *code);
    artifact.sections.push_back({rt::kCudaPtxSectionName, code->ptx});
    for (auto &[arch, cubin] : code->cubins)
      artifact.sections.push_back(
          {rt::cudaCubinSectionName(arch), std::move(cubin)});
    if (cudaTarget.hostEmulation)
      artifact.sections.push_back(
          {rt::kCudaHostSectionName, std::move(code->hostEmulation)});
  }
  return success();
}

static int writeArtifact(ModuleOp module, const std::string &outputPath,
                         bool forCpu, bool forCuda,
                         const CudaTarget &cudaTarget) {
  if (outputPath == "-")
    return fail("an artifact is binary: name the file with -o OUT.stepc");
  std::string error;
  rt::Artifact artifact;
  if (failed(
          buildArtifact(module, forCpu, forCuda, cudaTarget, artifact, error)))
    return fail(error);
  rt::Status status = rt::writeArtifactFile(outputPath, artifact);
  return status.ok() ? 0 : fail(status.message);
}

static int runCompile(MLIRContext &context) {
  // lld (linked in process) resets every cl::opt when it runs; keep ours.
  std::string outputPath = outputFile;
  Emit stage = emitStage;
  bool forCpu = compileTargets.empty(), forCuda = false;
  for (Target target : compileTargets)
    (target == Target::Cpu ? forCpu : forCuda) = true;
  CudaTarget cudaTarget;
  if (!cudaArchs.empty())
    cudaTarget.archs.assign(cudaArchs.begin(), cudaArchs.end());
  else if (cudaMatmulWgmma)
    cudaTarget.archs = {"sm_80", kWgmmaArch};
  if (!cudaArchs.empty() && !forCuda)
    return fail("--cuda-arch needs --target=cuda");
  cudaTarget.hostEmulation = cudaHostEmulation;
  // By name: the options are alike in type, so an order slip would compile.
  GpuKernelOptions &kernels = cudaTarget.kernels;
  kernels.maxRegisters = cudaMaxRegisters;
  kernels.matmulTile = cudaMatmulTile;
  kernels.matmulStages = cudaMatmulStages;
  kernels.barrierTimeout = cudaBarrierTimeout;
  kernels.matmulWholeTiles = cudaMatmulWholeTiles;
  kernels.phaseTimeline = cudaPhaseTimeline;
  kernels.fuseIterateUpdates = cudaFuseIterateUpdates;
  kernels.batchSameShapes = cudaBatchSameShapes;
  kernels.vectorElementwise = cudaVectorElementwise;
  kernels.matmulWgmma = cudaMatmulWgmma;
  if (cudaTarget.hostEmulation && !forCuda)
    return fail("--cuda-host-emulation needs --target=cuda");
  for (const cl::Option *kernelOption :
       std::initializer_list<const cl::Option *>{
           &cudaMaxRegisters, &cudaMatmulTile, &cudaMatmulStages,
           &cudaBarrierTimeout, &cudaMatmulWholeTiles, &cudaPhaseTimeline,
           &cudaFuseIterateUpdates, &cudaBatchSameShapes,
           &cudaVectorElementwise, &cudaMatmulWgmma})
    if (kernelOption->getNumOccurrences() != 0 && !forCuda &&
        stage != Emit::Ptx)
      return fail("--" + kernelOption->ArgStr.str() +
                  " needs --target=cuda or --emit=ptx");
  bool clip = clipGradNorm.getNumOccurrences() != 0;
  double maxGradNorm = clipGradNorm;
  if (clip && !(maxGradNorm > 0 && maxGradNorm <= 3.4e38))
    return fail("--clip-grad-norm needs a positive finite f32, got " +
                std::to_string(maxGradNorm));

  OwningOpRef<ModuleOp> module = loadSpec(compileInput, context);
  if (!module)
    return 1;
  if (clip) {
    PassManager pm(&context);
    pm.addPass(stepc::createClipGradNorm({maxGradNorm}));
    if (failed(pm.run(*module)))
      return 1;
  }
  std::string error;
  if (stage == Emit::Artifact)
    return writeArtifact(*module, outputPath, forCpu, forCuda, cudaTarget);
  if (stage == Emit::SharedObject) {
    FailureOr<std::string> code =
        compileCpuSharedObject(*module, CpuTarget(), error);
    if (failed(code))
      return fail(error);
    return writeOutput(outputPath, *code);
  }
  if (stage == Emit::Ptx) {
    FailureOr<std::string> ptx = compilePtx(*module, error, cudaTarget.kernels);
    if (failed(ptx))
      return fail(error);
    return writeOutput(outputPath, *ptx);
  }
  PassManager pm(&context);
  if (stage == Emit::Step)
    pm.addPass(createCanonicalizerPass());
  else if (stage == Emit::Linalg)
    buildStepToLinalgPipeline(pm, cpuStepToLinalgChoices());
  else
    buildCpuPipeline(pm);
  if (failed(pm.run(*module)))
    return 1;

  auto output = openOutputFile(outputPath, &error);
  if (!output)
    return fail(error);
  if (stage == Emit::LLVM) {
    llvm::LLVMContext llvmContext;
    auto llvmModule = translateModuleToLLVMIR(*module, llvmContext);
    if (!llvmModule)
      return fail("translation to LLVM IR failed");
    llvmModule->print(output->os(), nullptr);
  } else {
    module->print(output->os());
  }
  output->keep();
  return 0;
}

/// Whether `path` starts with the artifact magic.
static bool isArtifact(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  return in.read(magic, 8) && std::memcmp(magic, rt::kArtifactMagic, 8) == 0;
}

static int runInspect(MLIRContext &context) {
  rt::Manifest manifest;
  if (isArtifact(inspectInput)) {
    rt::Artifact artifact;
    if (rt::Status status = rt::readArtifactFile(inspectInput, artifact);
        !status.ok())
      return fail(status.message);
    manifest = artifact.manifest;
    llvm::outs() << "artifact " << inspectInput << ": sections";
    for (const rt::ArtifactSection &section : artifact.sections)
      llvm::outs() << " " << section.name << " (" << section.bytes.size()
                   << " bytes)";
    llvm::outs() << "\n";
  } else {
    OwningOpRef<ModuleOp> module = loadSpec(inspectInput, context);
    if (!module)
      return 1;
    manifest = buildManifest(*module);
  }
  llvm::outs() << "optimizer " << manifest.optimizer << " (stepc "
               << manifest.stepcVersion << ")\n";
  if (manifest.hasCuda) {
    llvm::outs() << "cuda: abi " << manifest.cuda.abi << ", "
                 << manifest.cuda.blockSize << " threads per block, "
                 << manifest.cuda.vectorWidth << "-wide vectors, cubins for";
    for (const std::string &arch : manifest.cuda.archs)
      llvm::outs() << " " << arch;
    llvm::outs() << "\n";
    if (manifest.cuda.timelineCapacity) {
      llvm::outs() << "phase timeline: " << manifest.cuda.timelineCapacity
                   << " releases per region, sites:\n";
      for (auto [k, site] : llvm::enumerate(manifest.cuda.timelineSites))
        llvm::outs() << "  " << k + 1 << ": " << site << "\n";
    }
  }
  for (const rt::Group &group : manifest.groups) {
    llvm::outs() << "group " << group.name << ": "
                 << (group.matrix ? "matrices" : "tensors of any rank")
                 << (group.elementwise ? " (element-wise)" : "") << ", dtypes";
    for (const std::string &dtype : group.paramDtypes)
      llvm::outs() << " " << dtype;
    llvm::outs() << ", entry " << group.entry;
    if (!group.kernel.empty()) {
      llvm::outs() << ", kernel " << group.kernel
                   << (group.kernelPhased ? " (phased" : "");
      if (!group.kernelSlots.empty()) {
        llvm::outs() << ", slots";
        for (int slot : group.kernelSlots)
          llvm::outs() << " " << slot;
        llvm::outs() << " of " << group.kernelNumSlots;
      }
      if (group.kernelBatches)
        llvm::outs() << ", same-shape tensors in batches";
      if (group.kernelSharedBytes)
        llvm::outs() << ", " << group.kernelSharedBytes
                     << " bytes of dynamic shared memory per block";
      llvm::outs() << (group.kernelPhased ? ")" : "");
    }
    llvm::outs() << "\n";
    if (group.kernelPhased)
      llvm::outs() << "  kernel scratch bytes per tensor: "
                   << group.kernelScratch
                   << "\n  kernel work per tensor: " << group.kernelWork
                   << "\n";
    for (const rt::Argument &arg : group.args) {
      llvm::outs() << "  " << rt::toString(arg.role) << " " << arg.name;
      if (arg.role == rt::Role::State) {
        llvm::outs() << ": " << rt::toString(arg.layout) << ", "
                     << rt::toString(arg.init);
        if (arg.init == rt::StateInit::Constant)
          llvm::outs() << "(" << arg.initValue << ")";
        llvm::outs() << ", stored as " << arg.storage;
      }
      if (arg.role == rt::Role::Hyper) {
        if (arg.hasDefault)
          llvm::outs() << " = " << arg.defaultValue;
        else
          llvm::outs() << " (required)";
      }
      if (arg.role == rt::Role::Input)
        llvm::outs() << " (set before every step)";
      llvm::outs() << "\n";
    }
    for (size_t p = 0; p < group.sumPhases.size(); ++p) {
      llvm::outs() << "  sum phase " << p + 1 << ":";
      for (const std::string &key : group.sumPhases[p].keys)
        llvm::outs() << " " << key;
      llvm::outs() << ", entry " << group.sumPhases[p].entry << "\n";
    }
  }
  return 0;
}

/// f32 values as bf16 or f16 bits, rounded to nearest even.
static std::vector<uint16_t> toHalfBits(const std::vector<float> &values,
                                        const std::string &dtype) {
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == "f16") {
      _Float16 half = static_cast<_Float16>(values[i]);
      std::memcpy(&bits[i], &half, 2);
      continue;
    }
    bits[i] = rt::toBf16Bits(values[i]);
  }
  return bits;
}

static std::vector<float> fromHalfBits(const std::vector<uint16_t> &bits,
                                       const std::string &dtype) {
  std::vector<float> values(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    if (dtype == "f16") {
      _Float16 half;
      std::memcpy(&half, &bits[i], 2);
      values[i] = static_cast<float>(half);
      continue;
    }
    values[i] = rt::fromBf16Bits(bits[i]);
  }
  return values;
}

static std::string stateFileName(const std::string &dir,
                                 const std::string &state, size_t index) {
  return dir + "/" + state + "." + std::to_string(index) + ".npy";
}

static int runRun(MLIRContext &context) {
  // lld (linked in process, for the host CUDA emulator's code) resets every
  // cl::opt when it runs: the options as values, shadowing the globals.
  const std::string runInput = ::runInput, runDevice = ::runDevice,
                    groupName = ::groupName, stateDir = ::stateDir,
                    outDir = ::outDir, paramDtype = ::paramDtype;
  const std::vector<std::string> paramFiles(::paramFiles.begin(),
                                            ::paramFiles.end()),
      gradFiles(::gradFiles.begin(), ::gradFiles.end()),
      hyperValues(::hyperValues.begin(), ::hyperValues.end()),
      inputValues(::inputValues.begin(), ::inputValues.end());
  const int numSteps = ::numSteps, numThreads = ::numThreads;
  const double startCount = ::startCount;
  bool onCuda = false;
  int ordinal = 0;
  if (!rt::parseDeviceName(runDevice, onCuda, ordinal))
    return fail("--device " + runDevice + ": expected cpu, cuda or cuda:N");
  // The code: an artifact's, or the spec compiled in process (for CUDA,
  // into an artifact in memory).
  rt::Manifest manifest;
  rt::Artifact artifact;
  std::unique_ptr<rt::CpuModule> cpuModule;
  OwningOpRef<ModuleOp> module;
  std::string error;
  bool fromArtifact = isArtifact(runInput);
  if (fromArtifact) {
    if (rt::Status status = rt::readArtifactFile(runInput, artifact);
        !status.ok())
      return fail(status.message);
    manifest = artifact.manifest;
  } else {
    module = loadSpec(runInput, context);
    if (!module)
      return 1;
    manifest = buildManifest(*module);
    if (onCuda) {
      // On the host CUDA emulator, the kernels' host form is what runs.
      CudaTarget target;
      const rt::CudaDriver *driver = nullptr;
      target.hostEmulation =
          rt::CudaDriver::get(driver).ok() && driver->hostEmulator;
      if (failed(buildArtifact(*module, /*forCpu=*/false, /*forCuda=*/true,
                               target, artifact, error)))
        return fail(error);
      artifact.origin = runInput;
      manifest = artifact.manifest;
    }
  }
  if (manifest.groups.empty())
    return fail("the spec has no group");
  const rt::Group *group = nullptr;
  if (groupName.empty()) {
    if (manifest.groups.size() > 1)
      return fail("the spec has " + llvm::Twine(manifest.groups.size()) +
                  " groups: choose one with --group");
    group = &manifest.groups.front();
  } else if (!(group = manifest.findGroup(groupName))) {
    return fail("the spec has no group '" + groupName + "'");
  }
  if (paramFiles.empty())
    return fail("give at least one --param file");
  if (paramFiles.size() != gradFiles.size())
    return fail(llvm::Twine(paramFiles.size()) + " --param files but " +
                llvm::Twine(gradFiles.size()) +
                " --grad files: give one gradient per parameter");
  if (outDir.empty())
    return fail("give an output directory with --out");

  // Tensors: gradients may carry one slice per step.
  size_t n = paramFiles.size();
  std::vector<NpyArray> params(n), grads(n);
  int steps = numSteps;
  for (size_t i = 0; i < n; ++i) {
    if (!readNpy(paramFiles[i], params[i], error) ||
        !readNpy(gradFiles[i], grads[i], error))
      return fail(error);
    size_t rank = params[i].shape.size();
    bool perStep = grads[i].shape.size() == rank + 1;
    std::vector<int64_t> gradShape = grads[i].shape;
    if (perStep)
      gradShape.erase(gradShape.begin());
    if (gradShape != params[i].shape)
      return fail(gradFiles[i] + ": its shape does not match " + paramFiles[i] +
                  " (nor does it add a leading step dimension)");
    int available = perStep ? int(grads[i].shape[0]) : 1;
    if (steps == 0)
      steps = available;
    if (perStep && steps > available)
      return fail(gradFiles[i] + " holds " + llvm::Twine(available) +
                  " gradients but " + llvm::Twine(steps) + " steps were asked");
  }

  std::unique_ptr<JitModule> jit;
  rt::PackedEntry entry = nullptr;
  std::vector<rt::PackedEntry> sumEntries;
  std::unique_ptr<rt::CudaExecutor> cuda;
  if (onCuda) {
    std::shared_ptr<rt::CudaModule> cudaModule;
    if (rt::Status status = rt::CudaExecutor::create(
            artifact, ordinal, *group, paramDtype, cudaModule, cuda);
        !status.ok())
      return fail(status.message);
  } else if (fromArtifact) {
    if (rt::Status status = rt::CpuModule::load(artifact, cpuModule);
        !status.ok())
      return fail(status.message);
    rt::Status status;
    entry = cpuModule->lookup(*group, paramDtype, status);
    if (!entry)
      return fail(status.message);
    if (rt::Status s =
            cpuModule->lookupSumEntries(*group, paramDtype, sumEntries);
        !s.ok())
      return fail(s.message);
  } else {
    auto compiled = JitModule::create(*module, error);
    if (failed(compiled))
      return fail(error);
    jit = std::move(*compiled);
    entry = jit->lookup(*group, paramDtype, error);
    if (!entry || failed(jit->lookupSumEntries(*group, paramDtype, sumEntries,
                                               error)))
      return fail(error);
  }

  // 16-bit params and grads live in their own buffers of bits.
  bool narrow = paramDtype != "f32";
  if (narrow && paramDtype != "bf16" && paramDtype != "f16")
    return fail("--dtype " + paramDtype + ": expected f32, bf16 or f16");
  std::vector<std::vector<uint16_t>> narrowParams(n), narrowGrads(n);
  for (size_t i = 0; narrow && i < n; ++i) {
    narrowParams[i] = toHalfBits(params[i].data, paramDtype);
    narrowGrads[i] = toHalfBits(grads[i].data, paramDtype);
  }
  auto dataOf = [&](std::vector<float> &wide, std::vector<uint16_t> &bits,
                    size_t offset) -> float * {
    return narrow ? reinterpret_cast<float *>(bits.data() + offset)
                  : wide.data() + offset;
  };

  auto check = [&](const rt::Status &status) {
    if (!status.ok())
      fail(status.message);
    return status.ok();
  };
  rt::CudaExecutor *device = cuda.get();
  rt::GroupRunner runner =
      device ? rt::GroupRunner(*group, std::move(cuda), paramDtype)
             : rt::GroupRunner(*group, entry, paramDtype);
  if (!device && !check(runner.setSumEntries(std::move(sumEntries))))
    return 1;
  // On a GPU, params and grads get device copies; per-step gradients are
  // copied into the same buffer before each step.
  size_t elementBytes = narrow ? 2 : 4;
  std::vector<std::shared_ptr<void>> deviceBuffers;
  auto onDevice = [&](const void *host, size_t bytes) -> float * {
    void *buffer = nullptr;
    if (!check(device->allocate(bytes, buffer)))
      return nullptr;
    deviceBuffers.emplace_back(buffer,
                               [device](void *p) { device->release(p); });
    if (!check(device->copyToDevice(buffer, host, bytes)))
      return nullptr;
    return static_cast<float *>(buffer);
  };
  std::vector<rt::TensorRef> paramRefs, gradRefs;
  for (size_t i = 0; i < n; ++i) {
    float *param = dataOf(params[i].data, narrowParams[i], 0);
    float *grad = dataOf(grads[i].data, narrowGrads[i], 0);
    if (device) {
      size_t bytes = params[i].data.size() * elementBytes;
      if (!(param = onDevice(param, bytes)) || !(grad = onDevice(grad, bytes)))
        return 1;
    }
    paramRefs.push_back({param, params[i].shape});
    gradRefs.push_back({grad, params[i].shape});
  }
  if (!check(runner.bind(paramRefs, gradRefs)) || !check(runner.initState()))
    return 1;
  std::vector<std::string> stateNames;
  for (const rt::Argument &arg : group->args)
    if (arg.role == rt::Role::State)
      stateNames.push_back(arg.name);
  if (!stateDir.empty()) {
    for (size_t i = 0; i < n; ++i)
      for (const std::string &name : stateNames) {
        NpyArray state;
        std::string path = stateFileName(stateDir, name, i);
        if (!readNpy(path, state, error))
          return fail(error);
        std::vector<int64_t> shape;
        if (!check(runner.stateShape(i, name, shape)))
          return 1;
        if (state.shape != shape)
          return fail(path + " does not have the shape state '" + name +
                      "' of tensor #" + llvm::Twine(i) + " needs");
        if (!check(runner.writeState(i, name, state.data.data(),
                                     state.data.size())))
          return 1;
      }
  }
  for (const std::string &assignment : hyperValues) {
    auto [name, text] = llvm::StringRef(assignment).split('=');
    double value;
    if (text.empty() || text.getAsDouble(value))
      return fail("--hyper " + assignment + ": expected name=number");
    if (!check(runner.setHyper(name.str(), value)))
      return 1;
  }
  std::vector<std::pair<std::string, double>> inputs;
  for (const std::string &assignment : inputValues) {
    auto [name, text] = llvm::StringRef(assignment).split('=');
    double value;
    if (text.empty() || text.getAsDouble(value))
      return fail("--input " + assignment + ": expected name=number");
    inputs.emplace_back(name.str(), value);
  }
  if (!check(runner.setCount(startCount)) ||
      !check(runner.setNumThreads(numThreads)))
    return 1;

  for (int s = 0; s < steps; ++s) {
    for (size_t i = 0; i < n; ++i) {
      if (grads[i].shape.size() == params[i].shape.size())
        continue;
      size_t sliceSize = params[i].data.size();
      rt::TensorRef slice{dataOf(grads[i].data, narrowGrads[i], s * sliceSize),
                          params[i].shape};
      if (device) {
        if (!check(device->copyToDevice(gradRefs[i].data, slice.data,
                                        sliceSize * elementBytes)))
          return 1;
      } else if (!check(runner.setGrad(i, slice))) {
        return 1;
      }
    }
    for (auto [name, value] : inputs)
      if (!check(runner.setInput(name, value)))
        return 1;
    if (!check(runner.step()))
      return 1;
  }
  // The totals of the last step: the global norms a trainer would log.
  for (const std::string &key : group->sumKeys()) {
    double total = 0.0;
    if (steps > 0 && check(runner.total(key, total)))
      llvm::outs() << "total " << key << " = "
                   << llvm::format("%.9g", total) << "\n";
  }
  if (device) {
    for (size_t i = 0; i < n; ++i)
      if (!check(device->copyToHost(dataOf(params[i].data, narrowParams[i], 0),
                                    paramRefs[i].data,
                                    params[i].data.size() * elementBytes)))
        return 1;
    llvm::outs() << device->name() << " (" << device->codeSource()
                 << "): " << steps << " steps, " << runner.launchCount()
                 << " kernel launches\n";
  }

  if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
    return fail(outDir + ": " + ec.message());
  for (size_t i = 0; i < n; ++i) {
    if (narrow)
      params[i].data = fromHalfBits(narrowParams[i], paramDtype);
    if (!writeNpy(outDir + "/param." + std::to_string(i) + ".npy", params[i],
                  error))
      return fail(error);
    for (const std::string &name : stateNames) {
      NpyArray state;
      if (!check(runner.stateShape(i, name, state.shape)))
        return 1;
      int64_t count = 1;
      for (int64_t d : state.shape)
        count *= d;
      state.data.resize(size_t(count));
      if (!check(runner.readState(i, name, state.data.data(), size_t(count))))
        return 1;
      if (!writeNpy(stateFileName(outDir, name, i), state, error))
        return fail(error);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "stepc version " << STEPC_VERSION << "\n";
  });
  // `stepc --help` lists the subcommands, not the hundreds of options that
  // linking LLVM's and MLIR's libraries registers at the top level (hidden
  // from the listing, still accepted).
  static cl::OptionCategory topLevelCategory("stepc");
  cl::HideUnrelatedOptions(topLevelCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "stepc: the optimizer-step compiler\n");

  DialectRegistry registry;
  registerDriverDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics name the spec line; a dump of the op would bury it.
  context.printOpOnDiagnostic(false);
  // Passes' warnings too (the context's default prints errors only), e.g.
  // the groups --target=cuda makes no kernel for.
  ScopedDiagnosticHandler printDiagnostics(&context, [](Diagnostic &diag) {
    auto print = [](Diagnostic &d) {
      const char *kind =
          d.getSeverity() == DiagnosticSeverity::Error     ? "error"
          : d.getSeverity() == DiagnosticSeverity::Warning ? "warning"
          : d.getSeverity() == DiagnosticSeverity::Note    ? "note"
                                                           : "remark";
      llvm::errs() << d.getLocation() << ": " << kind << ": " << d << "\n";
    };
    print(diag);
    for (Diagnostic &note : diag.getNotes())
      print(note);
    return success();
  });

  if (compileCommand)
    return runCompile(context);
  if (inspectCommand)
    return runInspect(context);
  if (runCommand)
    return runRun(context);
  return fail("choose a command: compile, inspect or run (see --help)");
}
