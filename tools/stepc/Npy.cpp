//===- Npy.cpp - NumPy .npy files for stepc run ----------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The .npy format: magic "\x93NUMPY", version, header length, a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, data.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

using namespace stepc;

static bool fail(std::string &error, const std::string &path,
                 const std::string &what) {
  error = path + ": " + what;
  return false;
}

/// The text after `'key':` in the header dict, up to the next comma or brace
/// at nesting depth zero.
static bool headerField(const std::string &header, const std::string &key,
                        std::string &value) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return false;
  at = header.find(':', at);
  if (at == std::string::npos)
    return false;
  size_t end = ++at;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(')
      ++depth;
    else if (c == ')')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      break;
  }
  value = header.substr(at, end - at);
  value.erase(0, value.find_first_not_of(" "));
  value.erase(value.find_last_not_of(" ") + 1);
  return true;
}

bool stepc::readNpy(const std::string &path, NpyArray &array,
                    std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(error, path, "cannot open the file");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return fail(error, path, "not a .npy file (bad magic)");
  uint32_t headerLength = 0;
  if (magic[6] == 1) {
    unsigned char len[2];
    if (!in.read(reinterpret_cast<char *>(len), 2))
      return fail(error, path, "truncated header");
    headerLength = len[0] | (len[1] << 8);
  } else if (magic[6] == 2 || magic[6] == 3) {
    unsigned char len[4];
    if (!in.read(reinterpret_cast<char *>(len), 4))
      return fail(error, path, "truncated header");
    headerLength = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t(len[3]) << 24);
  } else {
    return fail(error, path, "unsupported .npy version");
  }
  std::string header(headerLength, '\0');
  if (!in.read(header.data(), headerLength))
    return fail(error, path, "truncated header");

  std::string descr, fortran, shapeText;
  if (!headerField(header, "descr", descr) ||
      !headerField(header, "fortran_order", fortran) ||
      !headerField(header, "shape", shapeText))
    return fail(error, path, "malformed header");
  bool isF32 = descr == "'<f4'", isF64 = descr == "'<f8'";
  if (!isF32 && !isF64)
    return fail(error, path,
                "dtype " + descr + " is not supported; stepc run reads "
                "float32 ('<f4') or float64 ('<f8')");
  if (fortran != "False")
    return fail(error, path, "Fortran-order arrays are not supported");

  array.shape.clear();
  std::string dims = shapeText.substr(1, shapeText.size() - 2);
  std::stringstream ss(dims);
  std::string item;
  int64_t count = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos)
      continue;
    int64_t d = std::stoll(item);
    if (d < 0)
      return fail(error, path, "negative dimension");
    array.shape.push_back(d);
    count *= d;
  }
  array.data.resize(count);
  if (isF32) {
    if (!in.read(reinterpret_cast<char *>(array.data.data()), count * 4))
      return fail(error, path, "truncated data: expected " +
                                   std::to_string(count) + " float32 values");
  } else {
    std::vector<double> wide(count);
    if (!in.read(reinterpret_cast<char *>(wide.data()), count * 8))
      return fail(error, path, "truncated data: expected " +
                                   std::to_string(count) + " float64 values");
    for (int64_t i = 0; i < count; ++i)
      array.data[i] = float(wide[i]);
  }
  return true;
}

bool stepc::writeNpy(const std::string &path, const NpyArray &array,
                     std::string &error) {
  std::ostringstream dict;
  dict << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i)
    dict << array.shape[i] << (array.shape.size() == 1 || i + 1 < array.shape.size() ? "," : "")
         << (i + 1 < array.shape.size() ? " " : "");
  dict << "), }";
  std::string header = dict.str();
  // Pad with spaces so the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return fail(error, path, "cannot create the file");
  uint16_t length = uint16_t(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.put(char(length & 0xff));
  out.put(char(length >> 8));
  out.write(header.data(), header.size());
  out.write(reinterpret_cast<const char *>(array.data.data()),
            array.data.size() * sizeof(float));
  if (!out)
    return fail(error, path, "write failed");
  return true;
}
