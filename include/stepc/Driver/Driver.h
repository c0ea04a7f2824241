//===- Driver.h - what the stepc tool is built from -------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The library behind `stepc`: read a spec's manifest, lower a spec, and
// JIT-compile it for `stepc run`. Each piece is usable from tests too.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_DRIVER_DRIVER_H
#define STEPC_DRIVER_DRIVER_H

#include "stepc-rt/GroupRunner.h"
#include "stepc-rt/Manifest.h"
#include "stepc/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace stepc {

/// Registers what parsing and lowering a spec needs.
void registerDriverDialects(::mlir::DialectRegistry &registry);

/// The manifest of every group in `module` (a verified spec).
rt::Manifest buildManifest(::mlir::ModuleOp module);

/// Lowers a clone of `spec` to the LLVM dialect for the CPU.
::mlir::FailureOr<::mlir::OwningOpRef<::mlir::ModuleOp>>
lowerForCpu(::mlir::ModuleOp spec);

/// lowerForCpu, with a message on failure, and the native target ready for
/// code generation (JIT or object file).
::mlir::FailureOr<::mlir::OwningOpRef<::mlir::ModuleOp>>
lowerForNativeCodegen(::mlir::ModuleOp spec, std::string &error);

/// The machine CPU code is compiled for. x86-64-v3 (AVX2, FMA) runs on every
/// x86 server of the last decade; AVX-512 does not help memory-bound steps
/// (shared/TOOLCHAIN.md §7).
struct CpuTarget {
  std::string cpu = "x86-64-v3";
  std::string features;
};

/// The LLVM target machine for `target` on this host's triple (position
/// independent), or null with `error` set. Artifacts and the JIT both use
/// it, so they vectorize alike and give the same bits.
std::unique_ptr<llvm::TargetMachine>
createCpuTargetMachine(const CpuTarget &target, std::string &error);

/// Compiles `spec` for the CPU in process into a shared object's bytes.
::mlir::FailureOr<std::string> compileCpuSharedObject(::mlir::ModuleOp spec,
                                                      const CpuTarget &target,
                                                      std::string &error);

/// Translates `lowered` (the LLVM dialect) to LLVM IR, optimizes it at O3
/// and links it into a shared object's bytes for `target`.
::mlir::FailureOr<std::string> emitSharedObject(::mlir::ModuleOp lowered,
                                                const CpuTarget &target,
                                                std::string &error);

/// Lowers a clone of `spec` to one gpu.func per group and dtype in
/// `gpu.module @stepc_kernels` (buildGpuKernelsPipeline; groups without a
/// kernel yet are left out with a warning).
::mlir::FailureOr<::mlir::OwningOpRef<::mlir::ModuleOp>>
lowerForCudaKernels(::mlir::ModuleOp spec, std::string &error,
                    const GpuKernelOptions &options = {});

/// What the runtime needs to launch a phased kernel
/// (stepc-form-phased-gpu-kernels).
struct PhasedKernelLayout {
  /// Scratch bytes per tensor, as rt::evaluateSizeProgram's postfix program.
  std::string scratch;
  /// What stepping one tensor costs, the same kind of program.
  std::string work;
  int partials = 0;
  /// Whether it steps consecutive same-shape tensors together
  /// (docs/Design/Batching.md).
  bool batches = false;
  /// Dynamic shared memory per block its launch gives it (0: none).
  int sharedBytes = 0;
  /// For a group function with global sums: its optimizer's kernel, its
  /// slot there and how many slots that kernel has. Empty `kernel`: the
  /// function's own kernel, of one slot.
  std::string kernel;
  int slot = 0, slots = 1;
};

/// The layout of each phased kernel of `kernels` (lowerForCudaKernels'
/// output), by symbol.
std::map<std::string, PhasedKernelLayout>
phasedKernelLayouts(::mlir::ModuleOp kernels);

/// Lowers `kernels` (lowerForCudaKernels' output with `options`) in place
/// to PTX and returns it.
::mlir::FailureOr<std::string> emitPtx(::mlir::ModuleOp kernels,
                                       std::string &error,
                                       const GpuKernelOptions &options = {});

/// The PTX of every group's kernels of `spec`.
::mlir::FailureOr<std::string> compilePtx(::mlir::ModuleOp spec,
                                          std::string &error,
                                          const GpuKernelOptions &options = {});

/// Lowers `kernels` (lowerForCudaKernels' output) in place to host code for
/// the CUDA emulator and returns its shared object's bytes
/// (docs/Design/GpuEmulation.md).
::mlir::FailureOr<std::string> emitHostEmulation(::mlir::ModuleOp kernels,
                                                 std::string &error);

/// The GPUs CUDA code is assembled for; the PTX in the artifact serves the
/// others (the driver JIT-compiles it).
struct CudaTarget {
  std::vector<std::string> archs = {"sm_80", "sm_90"};
  /// Also compile the kernels for the host CUDA emulator.
  bool hostEmulation = false;
  GpuKernelOptions kernels;
};

/// Whether `arch` names an architecture stepc can target ("sm_80", "sm_90a").
bool isCudaArch(::llvm::StringRef arch);

struct CudaCode {
  std::string ptx;
  /// (architecture, cubin), in the order of CudaTarget::archs.
  std::vector<std::pair<std::string, std::string>> cubins;
  /// Phased kernels, by symbol (the others are element-wise).
  std::map<std::string, PhasedKernelLayout> phased;
  /// The kernels for the host CUDA emulator, when the target asks for them.
  std::string hostEmulation;
  /// The phase timeline's sites (GpuKernelOptions::phaseTimeline), site k
  /// at k - 1; empty without one.
  std::vector<std::string> timelineSites;
};

/// Compiles `spec` to PTX and assembles a cubin per architecture with the
/// toolkit's ptxas (cudaToolkitPath()).
::mlir::FailureOr<CudaCode> compileCuda(::mlir::ModuleOp spec,
                                        const CudaTarget &target,
                                        std::string &error);

/// Adds to `manifest` (of the same spec) how its CUDA kernels are launched
/// and which groups have one in `code` (compileCuda's).
void describeCudaLaunch(rt::Manifest &manifest, const CudaTarget &target,
                        const CudaCode &code);

/// A spec compiled in process; entries stay valid while it lives.
class JitModule {
public:
  static ::mlir::FailureOr<std::unique_ptr<JitModule>>
  create(::mlir::ModuleOp spec, std::string &error);
  ~JitModule();

  /// The packed entry of `group` for parameters stored as `dtype`, or null
  /// with `error` set.
  rt::PackedEntry lookup(const rt::Group &group, const std::string &dtype,
                         std::string &error);
  /// The entries of `group`'s sum phases for `dtype`.
  ::mlir::LogicalResult lookupSumEntries(const rt::Group &group,
                                         const std::string &dtype,
                                         std::vector<rt::PackedEntry> &entries,
                                         std::string &error);

private:
  JitModule() = default;
  std::unique_ptr<::mlir::ExecutionEngine> engine;
};

} // namespace stepc

#endif // STEPC_DRIVER_DRIVER_H
