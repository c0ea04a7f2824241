//===- Manifest.cpp - what an artifact says about its groups ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/Manifest.h"

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
  return dtype == "f32" || kernel.empty() ? kernel : kernel + "_" + dtype;
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
