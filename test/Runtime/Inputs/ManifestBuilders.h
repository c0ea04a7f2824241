//===- ManifestBuilders.h - manifest arguments for runtime tests -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_TEST_MANIFESTBUILDERS_H
#define STEPC_RT_TEST_MANIFESTBUILDERS_H

#include "stepc-rt/Manifest.h"

#include <string>

namespace testing {

inline stepc::rt::Argument arg(stepc::rt::Role role, const std::string &name) {
  stepc::rt::Argument a;
  a.role = role;
  a.name = name;
  return a;
}

inline stepc::rt::Argument state(const std::string &name,
                                 stepc::rt::Layout layout,
                                 stepc::rt::StateInit init, double value = 0.0,
                                 const char *storage = "f32") {
  stepc::rt::Argument a = arg(stepc::rt::Role::State, name);
  a.layout = layout;
  a.init = init;
  a.initValue = value;
  a.storage = storage;
  return a;
}

inline stepc::rt::Argument hyper(const std::string &name, bool hasDefault,
                                 double value = 0.0) {
  stepc::rt::Argument a = arg(stepc::rt::Role::Hyper, name);
  a.hasDefault = hasDefault;
  a.defaultValue = value;
  return a;
}

} // namespace testing

#endif // STEPC_RT_TEST_MANIFESTBUILDERS_H
