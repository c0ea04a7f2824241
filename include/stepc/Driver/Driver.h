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

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"

#include <memory>

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

/// Compiles `spec` for the CPU in process into a shared object's bytes.
::mlir::FailureOr<std::string> compileCpuSharedObject(::mlir::ModuleOp spec,
                                                      const CpuTarget &target,
                                                      std::string &error);

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

private:
  JitModule() = default;
  std::unique_ptr<::mlir::ExecutionEngine> engine;
};

} // namespace stepc

#endif // STEPC_DRIVER_DRIVER_H
