//===- mlp_trainer.cpp - train a small MLP through the runtime --*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A two-layer MLP learns a fixed random teacher network on synthetic data;
// every parameter update is one `step` of a compiled stepc artifact. The
// matrices go to one group (Muon's "hidden") and the biases to another
// (the auxiliary AdamW), as trainers route parameters by hand today.
//
//   stepc-mlp-trainer ARTIFACT --matrix-group G --other-group G
//       [--steps N] [--lr-matrix X] [--lr-other X] [--every K]
//       [--expect-drop F]
//
// Only the runtime is linked (runtime/include/stepc/runtime.hpp): no MLIR.
//
//===----------------------------------------------------------------------===//

#include "stepc/runtime.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kInputs = 16, kHidden = 64, kOutputs = 4, kSamples = 512;
constexpr int kTeacherHidden = 32;

/// Row-major m x n matrix.
struct Matrix {
  int rows = 0, cols = 0;
  std::vector<float> data;
  Matrix() = default;
  Matrix(int r, int c) : rows(r), cols(c), data(size_t(r) * c, 0.0f) {}
  float &at(int r, int c) { return data[size_t(r) * cols + c]; }
  float at(int r, int c) const { return data[size_t(r) * cols + c]; }
};

Matrix randomMatrix(int rows, int cols, float scale, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, scale);
  Matrix m(rows, cols);
  for (float &x : m.data)
    x = normal(rng);
  return m;
}

struct Model {
  Matrix w1, w2;           // kHidden x kInputs, kOutputs x kHidden
  std::vector<float> b1, b2;
};

struct Grads {
  Matrix w1, w2;
  std::vector<float> b1, b2;
};

/// Mean squared error over the data set; fills the gradients.
float lossAndGrads(const Model &model, const Matrix &x, const Matrix &y,
                   Grads &grads) {
  // Zero in place: the runtime holds pointers to these buffers.
  if (grads.w1.data.empty()) {
    grads.w1 = Matrix(kHidden, kInputs);
    grads.w2 = Matrix(kOutputs, kHidden);
    grads.b1.resize(kHidden);
    grads.b2.resize(kOutputs);
  }
  std::fill(grads.w1.data.begin(), grads.w1.data.end(), 0.0f);
  std::fill(grads.w2.data.begin(), grads.w2.data.end(), 0.0f);
  std::fill(grads.b1.begin(), grads.b1.end(), 0.0f);
  std::fill(grads.b2.begin(), grads.b2.end(), 0.0f);
  double loss = 0.0;
  float scale = 1.0f / (kSamples * kOutputs);
  std::vector<float> h(kHidden), dh(kHidden);
  for (int s = 0; s < kSamples; ++s) {
    for (int j = 0; j < kHidden; ++j) {
      float z = model.b1[j];
      for (int i = 0; i < kInputs; ++i)
        z += model.w1.at(j, i) * x.at(s, i);
      h[j] = std::tanh(z);
    }
    std::fill(dh.begin(), dh.end(), 0.0f);
    for (int o = 0; o < kOutputs; ++o) {
      float out = model.b2[o];
      for (int j = 0; j < kHidden; ++j)
        out += model.w2.at(o, j) * h[j];
      float err = out - y.at(s, o);
      loss += 0.5 * err * err;
      float d = err * scale;
      grads.b2[o] += d;
      for (int j = 0; j < kHidden; ++j) {
        grads.w2.at(o, j) += d * h[j];
        dh[j] += d * model.w2.at(o, j);
      }
    }
    for (int j = 0; j < kHidden; ++j) {
      float dz = dh[j] * (1.0f - h[j] * h[j]);
      grads.b1[j] += dz;
      for (int i = 0; i < kInputs; ++i)
        grads.w1.at(j, i) += dz * x.at(s, i);
    }
  }
  return float(loss * scale);
}

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "stepc-mlp-trainer: error: %s\n", message.c_str());
  std::exit(1);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    die("usage: stepc-mlp-trainer ARTIFACT --matrix-group G --other-group G "
        "[--steps N] [--lr-matrix X] [--lr-other X] [--every K] "
        "[--expect-drop F]");
  std::string artifactPath = argv[1], matrixGroup, otherGroup;
  int steps = 200, every = 20;
  double lrMatrix = -1, lrOther = -1, expectDrop = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--matrix-group")
      matrixGroup = value;
    else if (flag == "--other-group")
      otherGroup = value;
    else if (flag == "--steps")
      steps = std::atoi(value.c_str());
    else if (flag == "--every")
      every = std::atoi(value.c_str());
    else if (flag == "--lr-matrix")
      lrMatrix = std::atof(value.c_str());
    else if (flag == "--lr-other")
      lrOther = std::atof(value.c_str());
    else if (flag == "--expect-drop")
      expectDrop = std::atof(value.c_str());
    else
      die("unknown flag " + flag);
  }
  if (matrixGroup.empty() || otherGroup.empty())
    die("name the groups with --matrix-group and --other-group");

  // Data: a fixed teacher y = B tanh(A x) + noise.
  std::mt19937 rng(1234);
  Matrix x = randomMatrix(kSamples, kInputs, 1.0f, rng);
  Matrix a = randomMatrix(kTeacherHidden, kInputs, 0.5f, rng);
  Matrix b = randomMatrix(kOutputs, kTeacherHidden, 0.5f, rng);
  Matrix y(kSamples, kOutputs);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  for (int s = 0; s < kSamples; ++s)
    for (int o = 0; o < kOutputs; ++o) {
      float out = 0;
      for (int j = 0; j < kTeacherHidden; ++j) {
        float z = 0;
        for (int i = 0; i < kInputs; ++i)
          z += a.at(j, i) * x.at(s, i);
        out += b.at(o, j) * std::tanh(z);
      }
      y.at(s, o) = out + noise(rng);
    }

  Model model;
  model.w1 = randomMatrix(kHidden, kInputs, 1.0f / std::sqrt(float(kInputs)), rng);
  model.w2 = randomMatrix(kOutputs, kHidden, 1.0f / std::sqrt(float(kHidden)), rng);
  model.b1.assign(kHidden, 0.0f);
  model.b2.assign(kOutputs, 0.0f);
  Grads grads;
  float firstLoss = lossAndGrads(model, x, y, grads);

  stepc::Artifact artifact;
  if (!artifact.load(artifactPath))
    die(artifact.error());
  stepc::Group matrices, others;
  if (!matrices.create(artifact, matrixGroup))
    die(matrices.error());
  bool shared = matrixGroup == otherGroup;
  stepc::Group &biases = shared ? matrices : others;
  if (!shared && !others.create(artifact, otherGroup))
    die(others.error());

  // The groups read the gradients where lossAndGrads writes them.
  using Tensor = stepc::Tensor;
  std::vector<Tensor> matrixParams = {
      {model.w1.data.data(), {kHidden, kInputs}},
      {model.w2.data.data(), {kOutputs, kHidden}}};
  std::vector<Tensor> matrixGrads = {
      {grads.w1.data.data(), {kHidden, kInputs}},
      {grads.w2.data.data(), {kOutputs, kHidden}}};
  std::vector<Tensor> biasParams = {{model.b1.data(), {kHidden}},
                                    {model.b2.data(), {kOutputs}}};
  std::vector<Tensor> biasGrads = {{grads.b1.data(), {kHidden}},
                                   {grads.b2.data(), {kOutputs}}};
  if (shared) {
    matrixParams.insert(matrixParams.end(), biasParams.begin(), biasParams.end());
    matrixGrads.insert(matrixGrads.end(), biasGrads.begin(), biasGrads.end());
  }
  if (!matrices.bind(matrixParams, matrixGrads) || !matrices.initState())
    die(matrices.error());
  if (!shared && (!others.bind(biasParams, biasGrads) || !others.initState()))
    die(others.error());
  if (lrMatrix > 0 && !matrices.setHyper("lr", lrMatrix))
    die(matrices.error());
  if (!shared && lrOther > 0 && !others.setHyper("lr", lrOther))
    die(others.error());

  std::printf("step %4d  loss %.6f\n", 0, firstLoss);
  float loss = firstLoss;
  for (int step = 1; step <= steps; ++step) {
    if (!matrices.step())
      die(matrices.error());
    if (!shared && !biases.step())
      die(biases.error());
    loss = lossAndGrads(model, x, y, grads);
    if (!std::isfinite(loss))
      die("the loss is not finite at step " + std::to_string(step));
    if (step % every == 0 || step == steps)
      std::printf("step %4d  loss %.6f\n", step, loss);
  }
  if (expectDrop > 0 && !(loss <= expectDrop * firstLoss))
    die("the loss went from " + std::to_string(firstLoss) + " to " +
        std::to_string(loss) + ", not below " + std::to_string(expectDrop) +
        " of its start");
  return 0;
}
