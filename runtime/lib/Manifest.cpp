//===- Manifest.cpp - what an artifact says about its groups ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/Manifest.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

using namespace stepc::rt;

std::vector<size_t> Group::indicesOf(Role role) const {
  std::vector<size_t> indices;
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].role == role)
      indices.push_back(i);
  return indices;
}

bool Group::takesDtype(const std::string &dtype) const {
  for (const std::string &d : paramDtypes)
    if (d == dtype)
      return true;
  return false;
}

std::vector<std::string> Group::sumKeys() const {
  std::vector<std::string> keys;
  for (const SumPhase &phase : sumPhases)
    keys.insert(keys.end(), phase.keys.begin(), phase.keys.end());
  return keys;
}

std::string Group::entryFor(const std::string &entry,
                            const std::string &dtype) {
  const std::string suffix = "_packed";
  if (dtype == "f32" || entry.size() < suffix.size() ||
      entry.compare(entry.size() - suffix.size(), suffix.size(), suffix) != 0)
    return entry;
  return entry.substr(0, entry.size() - suffix.size()) + "_" + dtype + suffix;
}

std::string Group::kernelFor(const std::string &dtype) const {
  if (dtype == "f32" || kernel.empty() || !kernelSlots.empty())
    return kernel;
  return kernel + "_" + dtype;
}

int Group::kernelSlotFor(const std::string &dtype) const {
  for (size_t d = 0; d < paramDtypes.size() && d < kernelSlots.size(); ++d)
    if (paramDtypes[d] == dtype)
      return kernelSlots[d];
  return 0;
}

const Group *Manifest::findGroup(const std::string &name) const {
  for (const Group &group : groups)
    if (group.name == name)
      return &group;
  return nullptr;
}

const char *stepc::rt::toString(Role role) {
  switch (role) {
  case Role::Param:
    return "param";
  case Role::Grad:
    return "grad";
  case Role::State:
    return "state";
  case Role::Hyper:
    return "hyper";
  case Role::Input:
    return "input";
  case Role::Count:
    return "count";
  }
  return "?";
}

const char *stepc::rt::toString(Layout layout) {
  switch (layout) {
  case Layout::Full:
    return "full";
  case Layout::PerRow:
    return "per_row";
  case Layout::PerCol:
    return "per_col";
  case Layout::PerTensor:
    return "per_tensor";
  case Layout::LongAxis:
    return "long_axis";
  case Layout::RowsSquare:
    return "rows_square";
  case Layout::ColsSquare:
    return "cols_square";
  }
  return "?";
}

const char *stepc::rt::toString(StateInit init) {
  switch (init) {
  case StateInit::Zeros:
    return "zeros";
  case StateInit::Ones:
    return "ones";
  case StateInit::Constant:
    return "constant";
  case StateInit::ParamNorm:
    return "param_norm";
  case StateInit::Identity:
    return "identity";
  }
  return "?";
}

// Going through toString keeps one spelling per value: a new enumerator only
// needs its case there and its last value named here.
template <typename Enum>
static bool parseEnum(const std::string &text, Enum last, Enum &out) {
  for (int i = 0; i <= int(last); ++i)
    if (text == toString(Enum(i))) {
      out = Enum(i);
      return true;
    }
  return false;
}

bool stepc::rt::parseRole(const std::string &text, Role &out) {
  return parseEnum(text, Role::Count, out);
}

bool stepc::rt::parseLayout(const std::string &text, Layout &out) {
  return parseEnum(text, Layout::ColsSquare, out);
}

bool stepc::rt::parseStateInit(const std::string &text, StateInit &out) {
  return parseEnum(text, StateInit::Identity, out);
}

bool stepc::rt::evaluateSizeProgram(const std::string &program, int64_t rows,
                                    int64_t cols, int64_t &value,
                                    std::string &error) {
  std::vector<int64_t> stack;
  std::istringstream tokens(program);
  std::string token;
  auto fail = [&](const std::string &why) {
    error = "size program '" + program + "': " + why;
    return false;
  };
  constexpr int64_t limit = int64_t(1) << 52;
  while (tokens >> token) {
    if (token == "rows" || token == "cols") {
      stack.push_back(token == "rows" ? rows : cols);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(token[0]))) {
      char *end = nullptr;
      errno = 0;
      long long value = std::strtoll(token.c_str(), &end, 10);
      if (*end || errno || value > limit)
        return fail("bad number '" + token + "'");
      stack.push_back(value);
      continue;
    }
    if (token == "align") {
      if (stack.empty())
        return fail("align needs an operand");
      stack.back() = (stack.back() + kScratchAlignment - 1) /
                     kScratchAlignment * kScratchAlignment;
      continue;
    }
    if (token == "ifgt" || token == "ifge") {
      // a b then otherwise: a > b (a >= b) ? then : otherwise.
      if (stack.size() < 4)
        return fail(token + " needs four operands");
      int64_t otherwise = stack.back();
      stack.pop_back();
      int64_t then = stack.back();
      stack.pop_back();
      int64_t b = stack.back();
      stack.pop_back();
      int64_t &a = stack.back();
      a = (token == "ifgt" ? a > b : a >= b) ? then : otherwise;
      continue;
    }
    if (token != "add" && token != "mul" && token != "max")
      return fail("unknown token '" + token + "'");
    if (stack.size() < 2)
      return fail(token + " needs two operands");
    int64_t rhs = stack.back();
    stack.pop_back();
    int64_t &lhs = stack.back();
    if (token == "add")
      lhs += rhs;
    else if (token == "max")
      lhs = std::max(lhs, rhs);
    else if (rhs != 0 && lhs > limit / rhs)
      return fail("overflows for a " + std::to_string(rows) + "x" +
                  std::to_string(cols) + " param");
    else
      lhs *= rhs;
    if (lhs > limit)
      return fail("overflows for a " + std::to_string(rows) + "x" +
                  std::to_string(cols) + " param");
  }
  if (stack.size() != 1)
    return fail("leaves " + std::to_string(stack.size()) +
                " values instead of one");
  value = stack.back();
  return true;
}
