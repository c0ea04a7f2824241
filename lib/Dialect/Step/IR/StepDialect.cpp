//===- StepDialect.cpp - step dialect registration -------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Dialect/Step/IR/StepDialect.h"
#include "stepc/Dialect/Step/IR/StepOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace stepc::step;

#include "stepc/Dialect/Step/IR/StepOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "stepc/Dialect/Step/IR/StepAttrs.cpp.inc"

void StepDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "stepc/Dialect/Step/IR/StepOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "stepc/Dialect/Step/IR/StepAttrs.cpp.inc"
      >();
}
