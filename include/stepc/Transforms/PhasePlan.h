//===- PhasePlan.h - phases of a group function ----------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Which linalg ops of a group function can run in the same phase of tiles
// that each own a block of the param's rows, and which need a barrier first.
// See docs/Design/Phases.md.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_PHASEPLAN_H
#define STEPC_TRANSFORMS_PHASEPLAN_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir {
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace stepc {

/// What a tensor dimension indexes, by provenance from the param. `Unknown`
/// (e.g. a tensor.empty's dimensions) takes the tag of whatever it meets.
enum class AxisTag : uint8_t { Unknown, Other, One, Cols, Rows };

/// How a linalg op relates to the row-owning tiles.
enum class PhaseClass : uint8_t {
  RowLocal,   ///< a parallel loop over the rows: each tile computes its rows
  Accumulate, ///< reduces over the rows: complete after its phase
  Replicated, ///< no loop over the rows: every tile computes its own copy
};
llvm::StringRef stringifyPhaseClass(PhaseClass kind);

struct OpPhase {
  unsigned phase = 0;
  PhaseClass kind = PhaseClass::Replicated;
  /// The loop over the tile's rows (RowLocal and Accumulate ops).
  std::optional<unsigned> tileLoop;
};

class PhasePlan {
public:
  explicit PhasePlan(mlir::func::FuncOp func);

  /// The plan of a linalg op of the function, or null.
  const OpPhase *lookup(mlir::Operation *op) const;
  unsigned numPhases() const { return numPhases_; }

private:
  struct ValueInfo {
    /// One per dimension, or none where nothing is known (e.g. the result
    /// of tensor.empty).
    llvm::SmallVector<AxisTag> tags;
    unsigned phase = 0;
    bool accumulated = false; ///< complete only after `phase`
  };
  void visit(mlir::Block &block);
  void visitLinalg(mlir::Operation *op);
  void visitOther(mlir::Operation *op);
  ValueInfo infoOf(mlir::Value value) const;
  /// The first phase in which `value` can be read; `aligned` when the reader
  /// sees only the rows of its own tile.
  unsigned readyPhase(const ValueInfo &info, bool aligned) const;

  llvm::DenseMap<mlir::Value, ValueInfo> values_;
  llvm::DenseMap<mlir::Operation *, OpPhase> ops_;
  unsigned numPhases_ = 1;
};

} // namespace stepc

#endif // STEPC_TRANSFORMS_PHASEPLAN_H
