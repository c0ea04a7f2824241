//===- CpuCodegen.cpp - spec to a native shared object ---------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Everything in process: the CPU pipeline, translation to LLVM IR, LLVM's
// O3 pipeline, object emission with a TargetMachine, and lld (linked as a
// library) turning the object into the shared object an artifact carries.
//
//===----------------------------------------------------------------------===//

#include "TempFiles.h"

#include "stepc/Driver/Driver.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "lld/Common/Driver.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

LLD_HAS_DRIVER(elf)

using namespace mlir;
using namespace stepc;

std::unique_ptr<llvm::TargetMachine>
stepc::createCpuTargetMachine(const CpuTarget &target, std::string &error) {
  std::string triple = llvm::sys::getDefaultTargetTriple();
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), error);
  if (!llvmTarget)
    return nullptr;
  std::unique_ptr<llvm::TargetMachine> machine(llvmTarget->createTargetMachine(
      llvm::Triple(triple), target.cpu, target.features, llvm::TargetOptions(),
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    error = "no target machine for " + triple + " / " + target.cpu;
  return machine;
}

FailureOr<std::string> stepc::compileCpuSharedObject(ModuleOp spec,
                                                     const CpuTarget &target,
                                                     std::string &error) {
  FailureOr<OwningOpRef<ModuleOp>> lowered = lowerForNativeCodegen(spec, error);
  if (failed(lowered))
    return failure();
  return emitSharedObject(**lowered, target, error);
}

FailureOr<std::string> stepc::emitSharedObject(ModuleOp lowered,
                                               const CpuTarget &target,
                                               std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::unique_ptr<llvm::TargetMachine> machine =
      createCpuTargetMachine(target, error);
  if (!machine)
    return failure();
  std::string triple = machine->getTargetTriple().str();

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> module =
      translateModuleToLLVMIR(lowered, llvmContext);
  if (!module) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  module->setTargetTriple(llvm::Triple(triple));
  module->setDataLayout(machine->createDataLayout());
  // Loops are not vectorized in MLIR yet, so LLVM's O3 pipeline does it.
  if (llvm::Error err =
          makeOptimizingTransformer(3, 0, machine.get())(module.get())) {
    error = llvm::toString(std::move(err));
    return failure();
  }

  TempFiles temps;
  std::string objectPath = temps.create("o", error);
  std::string sharedPath = temps.create("so", error);
  if (objectPath.empty() || sharedPath.empty())
    return failure();
  {
    std::error_code ec;
    llvm::raw_fd_ostream object(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec) {
      error = objectPath + ": " + ec.message();
      return failure();
    }
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, object, nullptr,
                                     llvm::CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return failure();
    }
    codegen.run(*module);
  }

  // The object calls libm (powf, expf, ...): name it as a dependency so a
  // host that loads the runtime privately still resolves those calls.
  std::string linkLog;
  llvm::raw_string_ostream linkErrors(linkLog);
  const char *args[] = {"ld.lld", "-shared", "--build-id=none", "-O2",
                        "-o", sharedPath.c_str(), objectPath.c_str(),
                        "-L/lib/x86_64-linux-gnu", "-L/usr/lib/x86_64-linux-gnu",
                        "--as-needed", "-l:libm.so.6"};
  lld::Result linked = lld::lldMain(args, llvm::nulls(), linkErrors,
                                    {{lld::Gnu, &lld::elf::link}});
  if (linked.retCode != 0) {
    error = "linking the shared object failed: " + linkLog;
    return failure();
  }
  auto buffer = llvm::MemoryBuffer::getFile(sharedPath);
  if (!buffer) {
    error = sharedPath + ": " + buffer.getError().message();
    return failure();
  }
  return (*buffer)->getBuffer().str();
}
