//===- StepOps.h - step dialect operations ----------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_DIALECT_STEP_IR_STEPOPS_H
#define STEPC_DIALECT_STEP_IR_STEPOPS_H

#include "stepc/Dialect/Step/IR/StepDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <array>

#include "stepc/Dialect/Step/IR/StepEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "stepc/Dialect/Step/IR/StepAttrs.h.inc"

#define GET_OP_CLASSES
#include "stepc/Dialect/Step/IR/StepOps.h.inc"

namespace stepc::step {

/// How a per-tensor value lines up with a full tensor: the same shape, one
/// value per row (`?x1`), per column (`1x?`), or one per tensor (rank 0 or a
/// bare f32).
enum class Layout { Full, PerRow, PerCol, PerTensor, Other };

/// The layout of a value of `type` relative to a tensor of type `full`.
Layout classifyLayout(::mlir::Type type, ::mlir::RankedTensorType full);

} // namespace stepc::step

#endif // STEPC_DIALECT_STEP_IR_STEPOPS_H
