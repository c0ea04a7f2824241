//===- StepDialect.h - step dialect declaration -----------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_DIALECT_STEP_IR_STEPDIALECT_H
#define STEPC_DIALECT_STEP_IR_STEPDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Dialect.h"

#include "stepc/Dialect/Step/IR/StepOpsDialect.h.inc"

#endif // STEPC_DIALECT_STEP_IR_STEPDIALECT_H
