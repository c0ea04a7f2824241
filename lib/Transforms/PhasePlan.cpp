//===- PhasePlan.cpp - phases of a group function --------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/PhasePlan.h"

#include "stepc/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;
using namespace stepc;

StringRef stepc::stringifyPhaseClass(PhaseClass kind) {
  switch (kind) {
  case PhaseClass::RowLocal:
    return "row_local";
  case PhaseClass::Accumulate:
    return "accumulate";
  case PhaseClass::Replicated:
    return "replicated";
  }
  return "";
}

/// The tag of a loop or dimension seen through several operands: a unit
/// dimension says nothing, disagreeing ones make it unknown.
static AxisTag mergeTags(AxisTag a, AxisTag b) {
  if (a == b || b == AxisTag::Unknown || b == AxisTag::One)
    return a == AxisTag::Unknown ? b : a;
  if (a == AxisTag::Unknown || a == AxisTag::One)
    return b;
  return AxisTag::Other;
}

PhasePlan::PhasePlan(func::FuncOp func) {
  // Arguments: tags from the dimensions convert-step-to-func recorded.
  for (BlockArgument arg : func.getArguments()) {
    auto shaped = dyn_cast<ShapedType>(arg.getType());
    auto dims = func.getArgAttrOfType<DenseI64ArrayAttr>(arg.getArgNumber(),
                                                         kParamDimsAttrName);
    if (!shaped || !dims)
      continue;
    ValueInfo info;
    for (auto [i, dim] : llvm::enumerate(dims.asArrayRef()))
      info.tags.push_back(dim == 0   ? AxisTag::Rows
                          : dim == 1 ? AxisTag::Cols
                          : shaped.getDimSize(i) == 1 ? AxisTag::One
                                                      : AxisTag::Other);
    values_[arg] = info;
  }
  if (!func.isExternal())
    visit(func.getBody().front());
}

const OpPhase *PhasePlan::lookup(Operation *op) const {
  auto it = ops_.find(op);
  return it == ops_.end() ? nullptr : &it->second;
}

PhasePlan::ValueInfo PhasePlan::infoOf(Value value) const {
  // Values the walk did not see (shapes, constants, block arguments) are
  // ready from the start and say nothing about their dimensions.
  auto it = values_.find(value);
  return it == values_.end() ? ValueInfo() : it->second;
}

unsigned PhasePlan::readyPhase(const ValueInfo &info, bool aligned) const {
  return info.phase + (info.accumulated || !aligned ? 1 : 0);
}

void PhasePlan::visit(Block &block) {
  for (Operation &op : block) {
    if (isa<linalg::LinalgOp>(op))
      visitLinalg(&op);
    else
      visitOther(&op);
  }
}

void PhasePlan::visitLinalg(Operation *op) {
  auto linalgOp = cast<linalg::LinalgOp>(op);
  unsigned numLoops = linalgOp.getNumLoops();
  SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
  SmallVector<utils::IteratorType> iterators =
      linalgOp.getIteratorTypesArray();

  // Loop tags, from every operand whose dimensions are known.
  SmallVector<std::optional<AxisTag>> loopTags(numLoops);
  for (OpOperand &operand : op->getOpOperands()) {
    ValueInfo info = infoOf(operand.get());
    AffineMap map = maps[operand.getOperandNumber()];
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim || i >= info.tags.size())
        continue;
      std::optional<AxisTag> &tag = loopTags[dim.getPosition()];
      tag = tag ? mergeTags(*tag, info.tags[i]) : info.tags[i];
    }
  }
  auto isRows = [&](unsigned loop) { return loopTags[loop] == AxisTag::Rows; };

  OpPhase plan;
  // The tile loop: a parallel loop over the rows, preferably the one that
  // indexes the first result's rows.
  AffineMap firstInit = maps[linalgOp.getNumDpsInputs()];
  for (unsigned loop = 0; loop < numLoops; ++loop) {
    if (!isRows(loop) || iterators[loop] != utils::IteratorType::parallel)
      continue;
    bool indexesResultRows =
        firstInit.getNumResults() > 0 &&
        firstInit.getResult(0) == getAffineDimExpr(loop, op->getContext());
    if (!plan.tileLoop || indexesResultRows)
      plan.tileLoop = loop;
    if (indexesResultRows)
      break;
  }
  if (plan.tileLoop) {
    plan.kind = PhaseClass::RowLocal;
  } else {
    for (unsigned loop = 0; loop < numLoops && !plan.tileLoop; ++loop)
      if (isRows(loop))
        plan.tileLoop = loop;
    plan.kind =
        plan.tileLoop ? PhaseClass::Accumulate : PhaseClass::Replicated;
  }

  // A tile may read, in its phase, the rows it produced itself; anything
  // else waits for the barrier.
  auto aligned = [&](const ValueInfo &info, AffineMap map) {
    for (auto [i, tag] : llvm::enumerate(info.tags)) {
      if (tag != AxisTag::Rows)
        continue;
      if (!plan.tileLoop || i >= map.getNumResults() ||
          map.getResult(i) !=
              getAffineDimExpr(*plan.tileLoop, op->getContext()))
        return false;
    }
    return true;
  };
  for (OpOperand &operand : op->getOpOperands()) {
    ValueInfo info = infoOf(operand.get());
    plan.phase = std::max(
        plan.phase,
        readyPhase(info, aligned(info, maps[operand.getOperandNumber()])));
  }
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  for (Value value : captured)
    plan.phase = std::max(plan.phase, readyPhase(infoOf(value), true));
  ops_[op] = plan;
  numPhases_ = std::max(numPhases_, plan.phase + 1);

  for (OpResult result : op->getResults()) {
    ValueInfo info;
    info.phase = plan.phase;
    info.accumulated = plan.kind == PhaseClass::Accumulate;
    AffineMap map = maps[linalgOp.getNumDpsInputs() + result.getResultNumber()];
    for (AffineExpr expr : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(expr))
        info.tags.push_back(
            loopTags[dim.getPosition()].value_or(AxisTag::Unknown));
      else
        info.tags.push_back(AxisTag::One);
    }
    values_[result] = info;
  }
}

void PhasePlan::visitOther(Operation *op) {
  for (Region &region : op->getRegions())
    for (Block &block : region)
      visit(block);

  // Shapes and allocations are known before any phase.
  if (isa<tensor::EmptyOp>(op) ||
      llvm::all_of(op->getResultTypes(),
                   [](Type type) { return type.isIndex(); }))
    return;

  if (isa<bufferization::ToTensorOp, tensor::CastOp>(op)) {
    values_[op->getResult(0)] = infoOf(op->getOperand(0));
    return;
  }
  // Reshapes keep the phase; their tags follow the reassociation (none
  // where the source has none).
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    ValueInfo source = infoOf(collapse.getSrc()), info = source;
    info.tags.clear();
    for (const ReassociationIndices &group :
         collapse.getReassociationIndices()) {
      if (source.tags.empty())
        break;
      AxisTag tag = AxisTag::Unknown;
      for (int64_t dim : group)
        tag = mergeTags(tag, source.tags[dim]);
      info.tags.push_back(tag);
    }
    values_[collapse.getResult()] = info;
    return;
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    ValueInfo source = infoOf(expand.getSrc()), info = source;
    info.tags.clear();
    ArrayRef<int64_t> shape = expand.getResultType().getShape();
    for (auto [i, group] :
         llvm::enumerate(expand.getReassociationIndices())) {
      if (source.tags.empty())
        break;
      unsigned nonUnit = llvm::count_if(
          group, [&](int64_t dim) { return shape[dim] != 1; });
      for (int64_t dim : group)
        info.tags.push_back(shape[dim] == 1 ? AxisTag::One
                            : nonUnit == 1  ? source.tags[i]
                                            : AxisTag::Other);
    }
    values_[expand.getResult()] = info;
    return;
  }
  if (auto choice = dyn_cast<scf::IfOp>(op)) {
    for (OpResult result : choice->getResults()) {
      ValueInfo info;
      bool first = true;
      for (Region *region : {&choice.getThenRegion(), &choice.getElseRegion()}) {
        if (region->empty())
          continue;
        Value yielded = region->front().getTerminator()->getOperand(
            result.getResultNumber());
        ValueInfo branch = infoOf(yielded);
        if (first) {
          info = branch;
          first = false;
          continue;
        }
        if (info.tags.size() != branch.tags.size())
          info.tags.clear();
        for (auto [tag, other] : llvm::zip(info.tags, branch.tags))
          tag = mergeTags(tag, other);
        info.phase = std::max(info.phase, branch.phase);
        info.accumulated |= branch.accumulated;
      }
      values_[result] = info;
    }
    return;
  }
  // Scalars and anything else: computed by every tile from what it reads.
  unsigned phase = 0;
  for (Value operand : op->getOperands())
    phase = std::max(phase, readyPhase(infoOf(operand), true));
  for (OpResult result : op->getResults()) {
    ValueInfo info;
    info.phase = phase;
    values_[result] = info;
  }
}
