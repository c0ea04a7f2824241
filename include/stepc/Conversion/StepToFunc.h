//===- StepToFunc.h - step groups to functions ------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_STEPTOFUNC_H
#define STEPC_CONVERSION_STEPTOFUNC_H

#include "stepc/Dialect/Step/IR/StepOps.h"

#include "mlir/IR/Types.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir {
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace func {
class FuncDialect;
} // namespace func
} // namespace mlir

namespace stepc {

#define GEN_PASS_DECL_CONVERTSTEPTOFUNC
#include "stepc/Conversion/Passes.h.inc"

/// The symbol of the function a group becomes for parameters stored as
/// `paramDtype`: stepc_<optimizer>_<group> for f32 (or no dtype),
/// stepc_<optimizer>_<group>_<dtype> otherwise (e.g. _bf16).
std::string getGroupFunctionName(::llvm::StringRef optimizer,
                                 ::llvm::StringRef group,
                                 ::mlir::Type paramDtype = {});

/// The function that computes each tensor's contributions to the global
/// sums of `phase` (1-based): <group function name> with the group renamed
/// <group>_sums<phase>, e.g. stepc_clip_all_sums1_bf16.
std::string getSumPhaseFunctionName(::llvm::StringRef optimizer,
                                    ::llvm::StringRef group, unsigned phase,
                                    ::mlir::Type paramDtype = {});

/// The group's `step.global_sum` ops by phase (index 0 is phase 1), each
/// phase in body order: the order their totals are passed in.
::llvm::SmallVector<::llvm::SmallVector<step::GlobalSumOp>>
getSumsByPhase(step::GroupOp group);

/// On a group function: how many phases of global sums run before it. On a
/// sum-phase function: which phase it computes.
inline constexpr const char *kSumPhasesAttrName = "stepc.sum_phases";
inline constexpr const char *kSumPhaseAttrName = "stepc.sum_phase";
/// On a group function with sums: how many totals its last arguments are,
/// the key of each (an array of strings, in argument order), and its
/// optimizer's name: groups of one optimizer share a key's total.
inline constexpr const char *kNumTotalsAttrName = "stepc.num_totals";
inline constexpr const char *kSumKeysAttrName = "stepc.sum_keys";
inline constexpr const char *kOptimizerAttrName = "stepc.optimizer";

/// On a group function's arguments: the gradient and the step count.
inline constexpr const char *kGradArgAttrName = "stepc.grad";
inline constexpr const char *kCountArgAttrName = "stepc.count";

} // namespace stepc

#endif // STEPC_CONVERSION_STEPTOFUNC_H
