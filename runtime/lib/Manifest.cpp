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
  }
  return "?";
}
