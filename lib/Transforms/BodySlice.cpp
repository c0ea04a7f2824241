//===- BodySlice.cpp - the ops a value of a body depends on -----*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc/Transforms/BodySlice.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

SmallVector<Operation *>
stepc::opsNeededBy(Block &body, ValueRange roots, Value leaf,
                   SmallVectorImpl<BlockArgument> *arguments) {
  DenseSet<Value> needed(roots.begin(), roots.end());
  SmallVector<Operation *> ops;
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    if (llvm::none_of(op.getResults(),
                      [&](Value r) { return needed.contains(r); }))
      continue;
    ops.push_back(&op);
    if (!leaf || leaf.getDefiningOp() != &op)
      needed.insert(op.operand_begin(), op.operand_end());
  }
  if (arguments)
    for (BlockArgument arg : body.getArguments())
      if (needed.contains(arg))
        arguments->push_back(arg);
  std::reverse(ops.begin(), ops.end());
  return ops;
}

IRMapping stepc::cloneSlice(OpBuilder &b, ArrayRef<Operation *> ops,
                            ArrayRef<BlockArgument> arguments,
                            ValueRange values) {
  IRMapping mapping;
  for (auto [argument, value] : llvm::zip_equal(arguments, values))
    mapping.map(argument, value);
  for (Operation *op : ops)
    b.clone(*op, mapping);
  return mapping;
}
