//===- bf16_group_test.cpp - a bf16 group through the C++ API ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Runs SGD-Nesterov from a real artifact on bf16 parameters through
// stepc::Group::create(artifact, name, "bf16") and checks one step against
// the formula, computed here in double and rounded to bf16; f16 is refused
// by a group compiled without it.
//
//   stepc-rt-bf16-test ARTIFACT_OF_sgd_nesterov NO_F16_ARTIFACT
//
//===----------------------------------------------------------------------===//

#include "Inputs/Check.h"
#include "stepc/runtime.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

static uint16_t toBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  return uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

static float fromBf16(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  stepc::Artifact artifact;
  CHECK(artifact.load(argv[1]));
  stepc::Group group;
  CHECK(group.create(artifact, "all", "bf16"));
  std::vector<uint16_t> w(6), g(6);
  for (int i = 0; i < 6; ++i) {
    w[i] = toBf16(0.5f + 0.25f * i);
    g[i] = toBf16(1.0f - 0.375f * i);
  }
  std::vector<uint16_t> w0 = w;
  CHECK(group.bind({{reinterpret_cast<float *>(w.data()), {2, 3}}},
                   {{reinterpret_cast<float *>(g.data()), {2, 3}}}));
  CHECK(group.initState());
  CHECK(group.setHyper("lr", 0.125));
  CHECK(group.setHyper("wd", 0.0));
  CHECK(group.step());
  // First step: b = g, update = g + 0.9 b = 1.9 g.
  for (int i = 0; i < 6; ++i) {
    double expected = double(fromBf16(w0[i])) - 0.125 * 1.9 * fromBf16(g[i]);
    CHECK(w[i] == toBf16(float(expected)));
  }
  std::vector<int64_t> shape;
  CHECK(group.stateShape(0, "b", shape) && shape == std::vector<int64_t>({2, 3}));
  CHECK(group.stateData(0, "b")[5] == fromBf16(g[5]));

  stepc::Artifact f32Only;
  CHECK(f32Only.load(argv[2]));
  stepc::Group half;
  CHECK(!half.create(f32Only, "all", "f16"));
  CHECK(half.error().find("does not take f16 parameters") != std::string::npos);
  return check::summary();
}
