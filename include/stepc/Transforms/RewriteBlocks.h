//===- RewriteBlocks.h - rewrite each block until done ----------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_REWRITEBLOCKS_H
#define STEPC_TRANSFORMS_REWRITEBLOCKS_H

#include "mlir/IR/PatternMatch.h"

namespace stepc {

/// Calls `rewriteOne` on every block under `root` until it returns false,
/// one block at a time. Blocks are collected first (nested before their
/// parents), so a rewrite may erase ops whose blocks were already done.
inline void rewriteEachBlock(
    mlir::Operation *root,
    llvm::function_ref<bool(mlir::Block &, mlir::RewriterBase &)> rewriteOne) {
  mlir::IRRewriter rewriter(root->getContext());
  llvm::SmallVector<mlir::Block *> blocks;
  root->walk([&](mlir::Block *block) { blocks.push_back(block); });
  for (mlir::Block *block : blocks)
    while (rewriteOne(*block, rewriter)) {
    }
}

} // namespace stepc

#endif // STEPC_TRANSFORMS_REWRITEBLOCKS_H
