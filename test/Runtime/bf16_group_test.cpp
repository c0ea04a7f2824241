//===- bf16_group_test.cpp - a bf16 group through the C++ API ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Runs SGD-Nesterov from a real artifact on bf16 parameters through
// stepc::Group::create(artifact, name, "bf16") and checks one step against
// the formula, computed here in double and rounded to bf16; f16 is refused
// by a group compiled without it. Then a state stored as bf16
// (Inputs/bf16-state.mlir): its buffer holds bf16 bits, read/writeState
// convert, a step computes in f32 and rounds only what it stores.
//
//   stepc-rt-bf16-test ARTIFACT_OF_sgd_nesterov NO_F16_ARTIFACT \
//                      ARTIFACT_OF_bf16-state
//
//===----------------------------------------------------------------------===//

#include "Inputs/Check.h"
#include "stepc/runtime.hpp"

#include <cmath>
#include <cstdio>
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

static void checkBf16State(const char *path) {
  stepc::Artifact artifact;
  CHECK(artifact.load(path));
  stepc::Group group;
  CHECK(group.create(artifact, "all"));
  CHECK(group.stateDtype("b") == "bf16");
  CHECK(group.stateDtype("nope").empty());
  CHECK(group.error().find("has no state 'nope'") != std::string::npos);
  std::vector<float> w = {1.0f, 2.0f, 3.0f, 4.0f};
  std::vector<float> g = {0.25f, -0.5f, 1.0f, 2.0f};
  CHECK(group.bind({{w.data(), {4}}}, {{g.data(), {4}}}));
  CHECK(group.initState());
  // The initial 0.3 is stored as its nearest bf16.
  const float init = fromBf16(toBf16(0.3f));
  auto *bits = reinterpret_cast<const uint16_t *>(group.stateData(0, "b"));
  CHECK(bits && bits[0] == toBf16(0.3f) && bits[3] == toBf16(0.3f));
  std::vector<float> values;
  CHECK(group.readState(0, "b", values) && values.size() == 4 &&
        values[2] == init);

  // b1 = 0.5·b + g in f32 (exact here); the param sees b1 unrounded.
  CHECK(group.step());
  bits = reinterpret_cast<const uint16_t *>(group.stateData(0, "b"));
  for (int i = 0; i < 4; ++i) {
    float b1 = 0.5f * init + g[i];
    CHECK(w[i] == float(i + 1) - b1);
    CHECK(bits[i] == toBf16(b1));
  }

  // Writing rounds to nearest even; reading widens exactly.
  CHECK(group.writeState(0, "b", {0.1f, 0.2f, -0.3f, 1e-3f}));
  CHECK(group.readState(0, "b", values));
  CHECK(values[0] == fromBf16(toBf16(0.1f)) &&
        values[3] == fromBf16(toBf16(1e-3f)));
  CHECK(!group.writeState(0, "b", {1.0f}));
  CHECK(group.error().find("holds 4 values but the buffer has 1") !=
        std::string::npos);

  // An adopted buffer holds bf16 bits: 4 values of 2 bytes.
  std::vector<uint16_t> adopted(4, toBf16(2.0f));
  CHECK(group.adoptState(0, "b", reinterpret_cast<float *>(adopted.data()),
                         adopted.size()));
  std::vector<float> before = w;
  CHECK(group.step());
  for (int i = 0; i < 4; ++i) {
    float b1 = 0.5f * 2.0f + g[i];
    CHECK(w[i] == before[i] - b1);
    CHECK(adopted[i] == toBf16(b1));
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: stepc-rt-bf16-test SGD_NESTEROV NO_F16 "
                         "BF16_STATE (artifacts)\n");
    return 2;
  }
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

  checkBf16State(argv[3]);
  return check::summary();
}
