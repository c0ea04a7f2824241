//===- stepc-opt.cpp - stepc's opt-style driver -----------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Parses, verifies and transforms step specs with any registered pass; the
// tool lit tests are written against.
//
//===----------------------------------------------------------------------===//

#include "stepc/Conversion/Passes.h"
#include "stepc/Dialect/Step/IR/StepDialect.h"
#include "stepc/Pipelines/Pipelines.h"
#include "stepc/Transforms/Passes.h"
#include "stepc/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  stepc::registerStepcConversionPasses();
  stepc::registerStepcPipelines();
  stepc::registerStepcTransformsPasses();

  mlir::DialectRegistry registry;
  registry.insert<stepc::step::StepDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates GPU modules to LLVM IR, then PTX.
  mlir::registerAllToLLVMIRTranslations(registry);

  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "stepc version " << STEPC_VERSION << "\n";
  });
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "stepc optimizer-step compiler driver\n", registry));
}
