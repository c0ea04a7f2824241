//===- CudaCodegen.cpp - spec to PTX and cubins ----------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The GPU pipeline gives one PTX module holding every group's kernels;
// ptxas from the CUDA toolkit assembles it once per target architecture.
// ptxas runs as a process: the toolkit has no library form of it that a
// Debian LLVM build could link.
//
//===----------------------------------------------------------------------===//

#include "TempFiles.h"

#include "stepc/Conversion/FuncToGpuKernels.h"
#include "stepc/Conversion/LLVMPackedEntries.h"
#include "stepc/Driver/Driver.h"
#include "stepc/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace stepc;

// The phase timeline's layout, which the runtime reads (Manifest.h).
static_assert(kPhaseTimelineAlignWords == rt::kTimelineAlignWords &&
              (int64_t(1) << kPhaseTimelineShift) == rt::kTimelineNanoseconds);

/// Whether the kernels can be built with `options`, as stepc compile's
/// --cuda-* options say them.
static bool checkKernelOptions(const GpuKernelOptions &options,
                               std::string &error) {
  if (options.maxRegisters != 0 &&
      (options.maxRegisters < 24 || options.maxRegisters > 255)) {
    error = "--cuda-max-registers=" + std::to_string(options.maxRegisters) +
            " is outside what PTX's .maxnreg takes here (24 to 255)";
    return false;
  }
  error = checkMatmulOptions(options.matmulTile, options.matmulStages,
                             options.matmulWgmma, "--cuda-");
  if (error.empty())
    error = checkBarrierTimeout(options.barrierTimeout, "--cuda-");
  return error.empty();
}

FailureOr<OwningOpRef<ModuleOp>>
stepc::lowerForCudaKernels(ModuleOp spec, std::string &error,
                           const GpuKernelOptions &options) {
  if (!checkKernelOptions(options, error))
    return failure();
  OwningOpRef<ModuleOp> module(cast<ModuleOp>(spec->clone()));
  PassManager pm(spec.getContext());
  // Groups without a kernel yet get none (with a warning); the runtime says
  // so when one is created on a GPU.
  buildGpuKernelsPipeline(pm, /*skipUnsupportedGroups=*/true, options);
  if (failed(pm.run(*module))) {
    error = "lowering the spec for CUDA failed (see the diagnostics above)";
    return failure();
  }
  bool hasKernel = false;
  module->walk([&](gpu::GPUFuncOp) { hasKernel = true; });
  if (!hasKernel) {
    error = "no group of the spec has a CUDA kernel yet (see the warnings "
            "above)";
    return failure();
  }
  return module;
}

/// The toolkit file `parts` (under cudaToolkitPath()), or "" with `error`
/// saying it is missing.
static std::string toolkitFile(ArrayRef<StringRef> parts, StringRef what,
                               std::string &error) {
  SmallString<128> path(cudaToolkitPath());
  for (StringRef part : parts)
    llvm::sys::path::append(path, part);
  if (llvm::sys::fs::exists(path))
    return path.str().str();
  error = "no " + what.str() + " at " + path.str().str() +
          ": install the CUDA toolkit or set CUDA_ROOT to it";
  return "";
}

std::map<std::string, PhasedKernelLayout>
stepc::phasedKernelLayouts(ModuleOp kernels) {
  std::map<std::string, PhasedKernelLayout> phased;
  auto layouts = kernels->getAttrOfType<DictionaryAttr>(kPhasedKernelsAttrName);
  if (!layouts)
    return phased;
  for (NamedAttribute kernel : layouts) {
    auto fields = cast<DictionaryAttr>(kernel.getValue());
    PhasedKernelLayout &layout = phased[kernel.getName().str()];
    layout.scratch = cast<StringAttr>(fields.get("scratch")).str();
    layout.work = cast<StringAttr>(fields.get("work")).str();
    layout.partials = int(cast<IntegerAttr>(fields.get("partials")).getInt());
    layout.batches = fields.contains("batches");
    if (auto shared = fields.getAs<IntegerAttr>("dynamic_shared_bytes"))
      layout.sharedBytes = int(shared.getInt());
    if (auto shared = fields.getAs<StringAttr>("kernel")) {
      layout.kernel = shared.str();
      layout.slot = int(fields.getAs<IntegerAttr>("slot").getInt());
      layout.slots = int(fields.getAs<IntegerAttr>("slots").getInt());
    }
  }
  return phased;
}

FailureOr<std::string> stepc::emitPtx(ModuleOp kernels, std::string &error,
                                      const GpuKernelOptions &options) {
  // Without libdevice the PTX would keep unresolved __nv_* calls.
  if (toolkitFile({"nvvm", "libdevice", "libdevice.10.bc"}, "libdevice", error)
          .empty())
    return failure();
  PassManager pm(kernels.getContext());
  buildGpuToNvvmPipeline(pm, ptxChipFor(options));
  if (failed(pm.run(kernels))) {
    error = "lowering the kernels to PTX failed (see the diagnostics above)";
    return failure();
  }
  for (auto binary : kernels.getOps<gpu::BinaryOp>())
    for (Attribute object : binary.getObjects()) {
      std::string ptx = cast<gpu::ObjectAttr>(object).getObject().str();
      if (StringRef(ptx).contains(".entry "))
        return ptx;
    }
  error = "the NVVM lowering produced no PTX kernel";
  return failure();
}

FailureOr<std::string> stepc::compilePtx(ModuleOp spec, std::string &error,
                                         const GpuKernelOptions &options) {
  FailureOr<OwningOpRef<ModuleOp>> kernels =
      lowerForCudaKernels(spec, error, options);
  if (failed(kernels))
    return failure();
  return emitPtx(**kernels, error, options);
}

FailureOr<std::string> stepc::emitHostEmulation(ModuleOp kernels,
                                                std::string &error) {
  // The layouts are the runtime's business (the manifest), not the code's.
  kernels->removeAttr(kPhasedKernelsAttrName);
  PassManager pm(kernels.getContext());
  buildGpuHostEmulationPipeline(pm);
  if (failed(pm.run(kernels))) {
    error = "lowering the kernels for the host CUDA emulator failed (see the "
            "diagnostics above)";
    return failure();
  }
  return emitSharedObject(kernels, CpuTarget(), error);
}

bool stepc::isCudaArch(StringRef arch) {
  unsigned number = 0;
  return arch.consume_front("sm_") && !arch.consumeInteger(10, number) &&
         (arch.empty() || arch == "a") && number >= 80;
}

/// The functions ptxas's verbose report (`-v`) says spill, each with the
/// report's line of its stack frame and spills.
static SmallVector<std::pair<std::string, std::string>>
spillingFunctions(StringRef log) {
  llvm::Regex properties("Function properties for ([A-Za-z0-9_$.]+)");
  llvm::Regex spill("[1-9][0-9]* bytes spill (stores|loads)");
  SmallVector<std::pair<std::string, std::string>> spilling;
  std::string function;
  SmallVector<StringRef> lines, match;
  log.split(lines, '\n');
  for (StringRef line : lines) {
    if (properties.match(line, &match))
      function = match[1].str();
    else if (spill.match(line))
      spilling.emplace_back(function, line.trim().str());
  }
  return spilling;
}

/// The kernels capped at their default register count: those with a
/// tensor-core matmul, when no cap was asked for (GpuKernelOptions).
/// Their spills were measured to cost less than the second block per SM
/// gains (docs/Design/GpuKernels.md, "Registers").
static llvm::StringSet<> defaultCappedKernels(ModuleOp kernels,
                                              const GpuKernelOptions &options) {
  llvm::StringSet<> capped;
  if (options.maxRegisters == 0)
    kernels.walk([&](gpu::GPUFuncOp kernel) {
      if (kernel->hasAttr("nvvm.maxnreg"))
        capped.insert(kernel.getName());
    });
  return capped;
}

/// Whether two forms of the same kernels launch alike: the runtime reads one
/// manifest for every cubin of an artifact.
static bool sameLaunches(const std::map<std::string, PhasedKernelLayout> &a,
                         const std::map<std::string, PhasedKernelLayout> &b) {
  auto fields = [](const PhasedKernelLayout &layout) {
    return std::tie(layout.scratch, layout.work, layout.partials,
                    layout.batches, layout.sharedBytes, layout.kernel,
                    layout.slot, layout.slots);
  };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](auto &x, auto &y) {
           return x.first == y.first && fields(x.second) == fields(y.second);
         });
}

/// Writes `ptx` to a temporary file of `temps`; "" with `error` on failure.
static std::string writePtxFile(StringRef ptx, TempFiles &temps,
                                std::string &error) {
  std::string path = temps.create("ptx", error);
  if (path.empty())
    return "";
  std::error_code ec;
  llvm::raw_fd_ostream file(path, ec);
  if (ec) {
    error = path + ": " + ec.message();
    return "";
  }
  file << ptx;
  return path;
}

namespace {
/// One ptxas process, assembling a cubin for `arch` (startPtxas), whose
/// result finishPtxas collects: the archs' runs overlap, as each takes as
/// long as the kernels' lowering.
struct PtxasRun {
  std::string arch, cubinPath, logPath;
  llvm::sys::ProcessInfo process;
};
} // namespace

/// Starts ptxas on the PTX file `ptxPath` for `arch`.
static FailureOr<PtxasRun> startPtxas(StringRef ptxas, StringRef ptxPath,
                                      StringRef arch, TempFiles &temps,
                                      std::string &error) {
  PtxasRun run{
      arch.str(), temps.create("cubin", error), temps.create("log", error), {}};
  if (run.cubinPath.empty() || run.logPath.empty())
    return failure();
  std::string archFlag = "-arch=" + run.arch;
  StringRef args[] = {ptxas, "-O3",         archFlag, "-v",
                      "-o",  run.cubinPath, ptxPath};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(run.logPath),
                                          StringRef(run.logPath)};
  bool failedToStart = false;
  std::string message;
  run.process =
      llvm::sys::ExecuteNoWait(ptxas, args, std::nullopt, redirects,
                               /*MemoryLimit=*/0, &message, &failedToStart);
  if (failedToStart) {
    error = "cannot run " + ptxas.str() + ": " + message;
    return failure();
  }
  return run;
}

/// Waits for `run` and returns its cubin, warning of spills in the kernels
/// not in `defaultCapped`.
static FailureOr<std::string>
finishPtxas(const PtxasRun &run, const llvm::StringSet<> &defaultCapped,
            std::string &error) {
  std::string message;
  llvm::sys::ProcessInfo done =
      llvm::sys::Wait(run.process, /*SecondsToWait=*/std::nullopt, &message);
  auto log = llvm::MemoryBuffer::getFile(run.logPath);
  StringRef logText = log ? (*log)->getBuffer() : StringRef();
  std::string archFlag = "-arch=" + run.arch;
  if (done.ReturnCode != 0) {
    error = "ptxas " + archFlag + " failed" +
            (message.empty() ? "" : " (" + message + ")") + ": " +
            logText.trim().str();
    return failure();
  }
  // Spills are legal but put local memory on the hot path; say so, as
  // the element-wise kernels are meant to run at the bandwidth limit,
  // unless the default cap of a matmul kernel chose them.
  for (auto &[function, line] : spillingFunctions(logText))
    if (!defaultCapped.contains(function))
      llvm::errs() << "stepc: warning: ptxas " << archFlag << " spills "
                   << function << "'s registers to local memory (" << line
                   << ")\n";
  auto cubin = llvm::MemoryBuffer::getFile(run.cubinPath);
  if (!cubin) {
    error = run.cubinPath + ": " + cubin.getError().message();
    return failure();
  }
  return (*cubin)->getBuffer().str();
}

FailureOr<CudaCode> stepc::compileCuda(ModuleOp spec, const CudaTarget &target,
                                       std::string &error) {
  for (const std::string &arch : target.archs)
    if (!isCudaArch(arch)) {
      error = "unknown CUDA architecture '" + arch +
              "' (expected sm_80 or newer, as sm_XX)";
      return failure();
    }
  bool wgmma = target.kernels.matmulWgmma;
  if (wgmma && !llvm::is_contained(target.archs, kWgmmaArch)) {
    error = std::string("--cuda-matmul-wgmma needs ") + kWgmmaArch +
            " among the targets, the only one with wgmma (--cuda-arch=" +
            llvm::join(target.archs, ",") + "," + kWgmmaArch + ")";
    return failure();
  }
  std::string ptxas = toolkitFile({"bin", "ptxas"}, "ptxas", error);
  if (ptxas.empty())
    return failure();
  // Every target but sm_90a, and the PTX that newer GPUs JIT-compile, takes
  // the mma.sync form; sm_90a takes the wgmma form when asked for
  // (docs/Design/Wgmma.md, "Emission").
  GpuKernelOptions portableOptions = target.kernels;
  portableOptions.matmulWgmma = false;
  FailureOr<OwningOpRef<ModuleOp>> portable =
      lowerForCudaKernels(spec, error, portableOptions);
  if (failed(portable))
    return failure();
  CudaCode code;
  code.phased = phasedKernelLayouts(**portable);
  if (auto sites =
          (**portable)->getAttrOfType<ArrayAttr>(kPhaseTimelineSitesAttrName))
    for (auto site : sites.getAsValueRange<StringAttr>())
      code.timelineSites.push_back(site.str());
  OwningOpRef<ModuleOp> wgmmaKernels;
  if (wgmma) {
    FailureOr<OwningOpRef<ModuleOp>> lowered =
        lowerForCudaKernels(spec, error, target.kernels);
    if (failed(lowered))
      return failure();
    wgmmaKernels = std::move(*lowered);
    auto sites = (*wgmmaKernels)->getAttr(kPhaseTimelineSitesAttrName);
    if (!sameLaunches(code.phased, phasedKernelLayouts(*wgmmaKernels)) ||
        sites != (**portable)->getAttr(kPhaseTimelineSitesAttrName)) {
      error = "internal error: the wgmma and mma.sync kernels launch "
              "differently, and an artifact has one manifest for both";
      return failure();
    }
  }
  llvm::StringSet<> defaultCapped =
      defaultCappedKernels(**portable, target.kernels);
  if (target.hostEmulation) {
    // The emulator runs the form asked for, so that it checks wgmma's.
    ModuleOp emulated = wgmma ? *wgmmaKernels : **portable;
    OwningOpRef<ModuleOp> host(cast<ModuleOp>(emulated->clone()));
    FailureOr<std::string> object = emitHostEmulation(*host, error);
    if (failed(object))
      return failure();
    code.hostEmulation = std::move(*object);
  }
  FailureOr<std::string> ptx = emitPtx(**portable, error, portableOptions);
  if (failed(ptx))
    return failure();
  code.ptx = std::move(*ptx);
  TempFiles temps;
  std::string ptxPath = writePtxFile(code.ptx, temps, error);
  if (ptxPath.empty())
    return failure();
  std::string wgmmaPtxPath;
  if (wgmma) {
    FailureOr<std::string> wgmmaPtx =
        emitPtx(*wgmmaKernels, error, target.kernels);
    if (failed(wgmmaPtx))
      return failure();
    wgmmaPtxPath = writePtxFile(*wgmmaPtx, temps, error);
    if (wgmmaPtxPath.empty())
      return failure();
  }
  // Every arch's ptxas at once; each is waited for, even after a failure,
  // so that none outlives its temporary files.
  SmallVector<PtxasRun> runs;
  bool ok = true;
  for (const std::string &arch : target.archs) {
    FailureOr<PtxasRun> run =
        startPtxas(ptxas, wgmma && arch == kWgmmaArch ? wgmmaPtxPath : ptxPath,
                   arch, temps, error);
    if (failed(run)) {
      ok = false;
      break;
    }
    runs.push_back(std::move(*run));
  }
  for (const PtxasRun &run : runs) {
    std::string runError;
    FailureOr<std::string> cubin = finishPtxas(run, defaultCapped, runError);
    if (failed(cubin)) {
      if (ok)
        error = runError;
      ok = false;
      continue;
    }
    code.cubins.emplace_back(run.arch, std::move(*cubin));
  }
  if (!ok)
    return failure();
  return code;
}

void stepc::describeCudaLaunch(rt::Manifest &manifest, const CudaTarget &target,
                               const CudaCode &code) {
  StringRef ptx = code.ptx;
  manifest.hasCuda = true;
  manifest.cuda.blockSize = kGpuBlockSize;
  manifest.cuda.vectorWidth = int(kGpuVectorWidth);
  manifest.cuda.archs = target.archs;
  manifest.cuda.timelineSites = code.timelineSites;
  manifest.cuda.timelineCapacity =
      code.timelineSites.empty() ? 0 : int(kPhaseTimelineCapacity);
  for (rt::Group &group : manifest.groups) {
    // Each dtype's group function: the kernel of its own, or its slot in
    // its optimizer's kernel. A kernel of its own is named after the f32
    // entry (Group::kernelFor appends the dtype).
    std::string own = StringRef(group.entry)
                          .drop_back(StringRef(kPackedEntrySuffix).size())
                          .str();
    group.kernel = group.paramDtypes.empty() ? "" : own;
    for (const std::string &dtype : group.paramDtypes) {
      std::string function =
          StringRef(group.entryFor(dtype))
              .drop_back(StringRef(kPackedEntrySuffix).size())
              .str();
      auto it = code.phased.find(function);
      const PhasedKernelLayout *layout =
          it == code.phased.end() ? nullptr : &it->second;
      std::string kernel =
          layout && !layout->kernel.empty() ? layout->kernel : function;
      // The PTX names each kernel it defines in an entry directive.
      if (!ptx.contains(".entry " + kernel + "(")) {
        group.kernel.clear(); // every dtype has its kernel, or none
        break;
      }
      if (kernel != function)
        group.kernel = kernel;
      if (!layout)
        continue;
      // One scratch program for every dtype's kernel: the largest.
      group.kernelScratch = group.kernelPhased ? group.kernelScratch + " " +
                                                     layout->scratch + " max"
                                               : layout->scratch;
      // Every dtype's kernel runs the same ops, usually: one program then.
      group.kernelWork = !group.kernelPhased ? layout->work
                         : group.kernelWork == layout->work
                             ? group.kernelWork
                             : group.kernelWork + " " + layout->work + " max";
      group.kernelPartials = std::max(group.kernelPartials, layout->partials);
      // Batches when every dtype's kernel does: the runtime sizes one
      // scratch for them.
      group.kernelBatches =
          (!group.kernelPhased || group.kernelBatches) && layout->batches;
      group.kernelSharedBytes =
          std::max(group.kernelSharedBytes, layout->sharedBytes);
      group.kernelPhased = true;
      if (!layout->kernel.empty()) {
        group.kernelSlots.push_back(layout->slot);
        group.kernelNumSlots = layout->slots;
      }
    }
    if (group.kernel.empty()) {
      group.kernelPhased = false;
      group.kernelScratch.clear();
      group.kernelWork.clear();
      group.kernelPartials = 0;
      group.kernelBatches = false;
      group.kernelSharedBytes = 0;
      group.kernelSlots.clear();
      group.kernelNumSlots = 1;
    }
  }
}
