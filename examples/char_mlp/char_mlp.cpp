//===- char_mlp.cpp - a character-level MLP trained through stepc -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Learns to predict the next character of a bundled text from the 8 before
// it (Bengio et al. 2003, as in makemore): embedding -> tanh hidden layer ->
// softmax. Every parameter update is one `step` of a compiled stepc
// artifact. The two weight matrices go to the spec's matrix group (Muon's
// "hidden") and the embedding and biases to its other group (the auxiliary
// AdamW), the routing trainers do by hand today; a one-group spec (AdamW)
// takes everything.
//
//   stepc-char-mlp ARTIFACT [--corpus FILE] [--steps N] [--every K]
//       [--lr-matrix X] [--lr-other X] [--matrix-group G] [--other-group G]
//       [--csv FILE] [--expect-below LOSS]
//
// It links only the runtime (stepc/runtime.hpp), found through
// find_package(stepc) when built on its own.
//
//===----------------------------------------------------------------------===//

#include "stepc/runtime.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#ifndef STEPC_CHAR_MLP_CORPUS
#define STEPC_CHAR_MLP_CORPUS "corpus.txt"
#endif

namespace {

constexpr int kContext = 8, kEmbed = 12, kHidden = 128, kBatch = 128;
constexpr int kInput = kContext * kEmbed;

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "stepc-char-mlp: error: %s\n", message.c_str());
  std::exit(1);
}

/// The corpus as indices into its sorted alphabet.
struct Corpus {
  std::string alphabet;
  std::vector<int> tokens;
  int vocab() const { return int(alphabet.size()); }
};

Corpus readCorpus(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die("cannot read the corpus " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string chars = text.str();
  if (chars.size() < size_t(kContext) + 2)
    die("the corpus " + path + " is too short");
  Corpus corpus;
  corpus.alphabet = chars;
  std::sort(corpus.alphabet.begin(), corpus.alphabet.end());
  corpus.alphabet.erase(
      std::unique(corpus.alphabet.begin(), corpus.alphabet.end()),
      corpus.alphabet.end());
  for (char c : chars)
    corpus.tokens.push_back(int(corpus.alphabet.find(c)));
  return corpus;
}

/// Parameters and their gradients, each a contiguous row-major buffer the
/// runtime steps in place.
struct Tensors {
  std::vector<float> embed, w1, b1, w2, b2; // V x E, H x I, H, V x H, V
};

float dot(const float *a, const float *b, int n) {
  float sum = 0.0f;
  for (int i = 0; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

void axpy(float alpha, const float *x, float *y, int n) {
  for (int i = 0; i < n; ++i)
    y[i] += alpha * x[i];
}

/// Mean cross-entropy of predicting tokens[p + kContext] for each window
/// start p; accumulates gradients into `grads` when it is given.
double forwardBackward(const Tensors &model, const Corpus &corpus,
                       const std::vector<int> &starts, Tensors *grads) {
  const int vocab = corpus.vocab();
  const float scale = 1.0f / float(starts.size());
  std::vector<float> x(kInput), h(kHidden), logits(vocab), dh(kHidden),
      dx(kInput);
  double loss = 0.0;
  for (int start : starts) {
    for (int c = 0; c < kContext; ++c)
      std::copy_n(&model.embed[size_t(corpus.tokens[start + c]) * kEmbed],
                  kEmbed, &x[c * kEmbed]);
    for (int j = 0; j < kHidden; ++j)
      h[j] = std::tanh(model.b1[j] + dot(&model.w1[size_t(j) * kInput],
                                         x.data(), kInput));
    float maxLogit = -INFINITY;
    for (int v = 0; v < vocab; ++v) {
      logits[v] = model.b2[v] + dot(&model.w2[size_t(v) * kHidden], h.data(),
                                    kHidden);
      maxLogit = std::max(maxLogit, logits[v]);
    }
    double total = 0.0;
    for (int v = 0; v < vocab; ++v)
      total += std::exp(double(logits[v] - maxLogit));
    int target = corpus.tokens[start + kContext];
    loss += std::log(total) - double(logits[target] - maxLogit);
    if (!grads)
      continue;
    std::fill(dh.begin(), dh.end(), 0.0f);
    for (int v = 0; v < vocab; ++v) {
      float p = float(std::exp(double(logits[v] - maxLogit)) / total);
      float dlogit = (p - (v == target ? 1.0f : 0.0f)) * scale;
      grads->b2[v] += dlogit;
      axpy(dlogit, h.data(), &grads->w2[size_t(v) * kHidden], kHidden);
      axpy(dlogit, &model.w2[size_t(v) * kHidden], dh.data(), kHidden);
    }
    std::fill(dx.begin(), dx.end(), 0.0f);
    for (int j = 0; j < kHidden; ++j) {
      float dz = dh[j] * (1.0f - h[j] * h[j]);
      grads->b1[j] += dz;
      axpy(dz, x.data(), &grads->w1[size_t(j) * kInput], kInput);
      axpy(dz, &model.w1[size_t(j) * kInput], dx.data(), kInput);
    }
    for (int c = 0; c < kContext; ++c)
      axpy(1.0f, &dx[c * kEmbed],
           &grads->embed[size_t(corpus.tokens[start + c]) * kEmbed], kEmbed);
  }
  return loss / double(starts.size());
}

void zero(Tensors &t) {
  for (std::vector<float> *v : {&t.embed, &t.w1, &t.b1, &t.w2, &t.b2})
    std::fill(v->begin(), v->end(), 0.0f);
}

struct Options {
  std::string artifact, corpus = STEPC_CHAR_MLP_CORPUS, csv;
  std::string matrixGroup, otherGroup;
  int steps = 300, every = 25;
  double lrMatrix = -1, lrOther = -1, expectBelow = -1;
};

Options parse(int argc, char **argv) {
  const char *usage =
      "usage: stepc-char-mlp ARTIFACT [--corpus FILE] [--steps N] "
      "[--every K] [--lr-matrix X] [--lr-other X] [--matrix-group G] "
      "[--other-group G] [--csv FILE] [--expect-below LOSS]";
  if (argc < 2 || argv[1][0] == '-')
    die(usage);
  Options o;
  o.artifact = argv[1];
  for (int i = 2; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc)
      die(flag + " needs a value; " + usage);
    std::string value = argv[i + 1];
    if (flag == "--corpus")
      o.corpus = value;
    else if (flag == "--csv")
      o.csv = value;
    else if (flag == "--matrix-group")
      o.matrixGroup = value;
    else if (flag == "--other-group")
      o.otherGroup = value;
    else if (flag == "--steps")
      o.steps = std::atoi(value.c_str());
    else if (flag == "--every")
      o.every = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--lr-matrix")
      o.lrMatrix = std::atof(value.c_str());
    else if (flag == "--lr-other")
      o.lrOther = std::atof(value.c_str());
    else if (flag == "--expect-below")
      o.expectBelow = std::atof(value.c_str());
    else
      die("unknown flag " + flag + "; " + usage);
  }
  return o;
}

/// One group takes everything; otherwise "hidden" (or --matrix-group)
/// takes the matrices and the one other group (or --other-group) the rest.
void routeGroups(const stepc::Artifact &artifact, Options &o) {
  std::vector<std::string> names;
  for (size_t i = 0; i < artifact.numGroups(); ++i)
    names.push_back(artifact.groupName(i));
  if (names.size() == 1) {
    if (o.matrixGroup.empty())
      o.matrixGroup = names[0];
    if (o.otherGroup.empty())
      o.otherGroup = names[0];
    return;
  }
  if (o.matrixGroup.empty())
    o.matrixGroup = "hidden";
  std::string known;
  for (const std::string &name : names)
    known += (known.empty() ? "" : ", ") + name;
  for (const std::string *group : {&o.matrixGroup, &o.otherGroup})
    if (!group->empty() &&
        std::find(names.begin(), names.end(), *group) == names.end())
      die("the spec has no group '" + *group + "' (it has: " + known + ")");
  if (o.otherGroup.empty()) {
    std::vector<std::string> rest;
    for (const std::string &name : names)
      if (name != o.matrixGroup)
        rest.push_back(name);
    if (rest.size() != 1)
      die("the spec has " + std::to_string(names.size()) +
          " groups: name them with --matrix-group and --other-group");
    o.otherGroup = rest[0];
  }
}

} // namespace

int main(int argc, char **argv) {
  Options options = parse(argc, argv);
  Corpus corpus = readCorpus(options.corpus);
  const int vocab = corpus.vocab();

  std::mt19937 rng(1234);
  auto init = [&](size_t count, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> v(count);
    for (float &x : v)
      x = normal(rng);
    return v;
  };
  Tensors model;
  model.embed = init(size_t(vocab) * kEmbed, 1.0f);
  model.w1 = init(size_t(kHidden) * kInput, 1.0f / std::sqrt(float(kInput)));
  model.b1.assign(kHidden, 0.0f);
  model.w2 = init(size_t(vocab) * kHidden, 1.0f / std::sqrt(float(kHidden)));
  model.b2.assign(vocab, 0.0f);
  Tensors grads{std::vector<float>(model.embed.size()),
                std::vector<float>(model.w1.size()),
                std::vector<float>(model.b1.size()),
                std::vector<float>(model.w2.size()),
                std::vector<float>(model.b2.size())};

  stepc::Artifact artifact;
  if (!artifact.load(options.artifact))
    die(artifact.error());
  routeGroups(artifact, options);
  stepc::Group matrices, others;
  if (!matrices.create(artifact, options.matrixGroup))
    die(matrices.error());
  const bool shared = options.matrixGroup == options.otherGroup;
  if (!shared && !others.create(artifact, options.otherGroup))
    die(others.error());

  using Tensor = stepc::Tensor;
  auto tensor = [](std::vector<float> &v, std::vector<int64_t> shape) {
    return Tensor{v.data(), std::move(shape)};
  };
  std::vector<Tensor> matrixParams = {tensor(model.w1, {kHidden, kInput}),
                                      tensor(model.w2, {vocab, kHidden})};
  std::vector<Tensor> matrixGrads = {tensor(grads.w1, {kHidden, kInput}),
                                     tensor(grads.w2, {vocab, kHidden})};
  std::vector<Tensor> otherParams = {tensor(model.embed, {vocab, kEmbed}),
                                     tensor(model.b1, {kHidden}),
                                     tensor(model.b2, {vocab})};
  std::vector<Tensor> otherGrads = {tensor(grads.embed, {vocab, kEmbed}),
                                    tensor(grads.b1, {kHidden}),
                                    tensor(grads.b2, {vocab})};
  if (shared) {
    matrixParams.insert(matrixParams.end(), otherParams.begin(),
                        otherParams.end());
    matrixGrads.insert(matrixGrads.end(), otherGrads.begin(),
                       otherGrads.end());
  }
  if (!matrices.bind(matrixParams, matrixGrads) || !matrices.initState())
    die(matrices.error());
  if (!shared && (!others.bind(otherParams, otherGrads) || !others.initState()))
    die(others.error());
  if (options.lrMatrix > 0 && !matrices.setHyper("lr", options.lrMatrix))
    die(matrices.error());
  if (!shared && options.lrOther > 0 && !others.setHyper("lr", options.lrOther))
    die(others.error());

  // Presets with global sums (MuonMax, clipping) step both groups in one
  // call so that each sum spans the whole model; Momo's also need the loss
  // of the batch as an input.
  std::vector<stepc::Group *> stepped = {&matrices};
  if (!shared)
    stepped.push_back(&others);
  bool together = false;
  for (stepc::Group *group : stepped) {
    together |= !group->sumKeys().empty();
    for (const std::string &input : group->inputNames())
      if (input != "loss")
        die("the spec's input '" + input +
            "' is not one this trainer provides (it provides 'loss')");
  }

  // The loss curve is the loss over every window of the corpus; the
  // batches are the same for every optimizer (fixed seed).
  std::vector<int> everyWindow(corpus.tokens.size() - kContext);
  for (size_t i = 0; i < everyWindow.size(); ++i)
    everyWindow[i] = int(i);
  std::FILE *csv = nullptr;
  if (!options.csv.empty()) {
    csv = std::fopen(options.csv.c_str(), "w");
    if (!csv)
      die("cannot write " + options.csv);
    std::fprintf(csv, "step,loss\n");
  }
  auto report = [&](int step) {
    double loss = forwardBackward(model, corpus, everyWindow, nullptr);
    if (!std::isfinite(loss))
      die("the loss is not finite at step " + std::to_string(step));
    std::printf("step %4d  loss %.4f\n", step, loss);
    if (csv)
      std::fprintf(csv, "%d,%.6f\n", step, loss);
    return loss;
  };

  std::printf("%zu characters, alphabet of %d; groups: %s (matrices), %s "
              "(embedding, biases)\n",
              corpus.tokens.size(), vocab, options.matrixGroup.c_str(),
              options.otherGroup.c_str());
  double loss = report(0);
  std::uniform_int_distribution<int> pick(0, int(everyWindow.size()) - 1);
  std::vector<int> batch(kBatch);
  for (int step = 1; step <= options.steps; ++step) {
    for (int &start : batch)
      start = pick(rng);
    zero(grads);
    double batchLoss = forwardBackward(model, corpus, batch, &grads);
    for (stepc::Group *group : stepped)
      if (!group->inputNames().empty() && !group->setInput("loss", batchLoss))
        die(group->error());
    if (together) {
      std::string error;
      if (!stepc::stepGroups(stepped, error))
        die(error);
    } else {
      for (stepc::Group *group : stepped)
        if (!group->step())
          die(group->error());
    }
    if (step % options.every == 0 || step == options.steps)
      loss = report(step);
  }
  if (csv)
    std::fclose(csv);
  if (options.expectBelow > 0 && !(loss < options.expectBelow))
    die("the loss ended at " + std::to_string(loss) + ", not below " +
        std::to_string(options.expectBelow));
  return 0;
}
