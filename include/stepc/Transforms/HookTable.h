//===- HookTable.h - tables of runtime hooks in CPU code --------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The CPU code exports zero-initialized tables of pointers that the runtime
// fills when it loads the code (the scratch allocator, the parallel
// ranges), and calls through them when they are set. Both passes that
// write such calls build the table and load its fields here.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_HOOKTABLE_H
#define STEPC_TRANSFORMS_HOOKTABLE_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace stepc {

/// The module's exported global `name`, a struct of `numFields` pointers,
/// all null until the runtime sets them; created at the module's start if
/// it does not exist yet.
mlir::LLVM::GlobalOp getOrCreateHookTable(mlir::ModuleOp module,
                                          mlir::OpBuilder &b,
                                          llvm::StringRef name,
                                          unsigned numFields);

/// Loads pointer field `field` of `table`.
mlir::Value loadHookField(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::LLVM::GlobalOp table, int32_t field);

} // namespace stepc

#endif // STEPC_TRANSFORMS_HOOKTABLE_H
