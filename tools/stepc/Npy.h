//===- Npy.h - NumPy .npy files for stepc run -------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TOOLS_STEPC_NPY_H
#define STEPC_TOOLS_STEPC_NPY_H

#include <cstdint>
#include <string>
#include <vector>

namespace stepc {

/// An f32 array read from or written to a .npy file (row-major).
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// Reads a little-endian float32 or float64 C-order array; float64 is
/// rounded to f32. Returns false and sets `error` (naming the file).
bool readNpy(const std::string &path, NpyArray &array, std::string &error);

/// Writes `array` as float32.
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

} // namespace stepc

#endif // STEPC_TOOLS_STEPC_NPY_H
