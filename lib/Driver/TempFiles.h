//===- TempFiles.h - temporary files of one compilation --------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_LIB_DRIVER_TEMPFILES_H
#define STEPC_LIB_DRIVER_TEMPFILES_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"

#include <string>

namespace stepc {
/// Removes the temporary files of one compilation when it ends.
struct TempFiles {
  llvm::SmallVector<std::string> paths;
  ~TempFiles() {
    for (const std::string &path : paths)
      llvm::sys::fs::remove(path);
  }
  std::string create(llvm::StringRef suffix, std::string &error) {
    llvm::SmallString<128> path;
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("stepc", suffix, path)) {
      error = "cannot create a temporary file: " + ec.message();
      return "";
    }
    paths.push_back(path.str().str());
    return paths.back();
  }
};

} // namespace stepc

#endif // STEPC_LIB_DRIVER_TEMPFILES_H
