//===- cpu_step_bench.cpp - CPU step throughput and compile time -*- C++
//-*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Measures, in one run on one thread (unless a case names two):
//   - STREAM triad (a = b + s*c on float32, 12 bytes per element) as the
//     bandwidth baseline;
//   - the group step of AdamW, Muon, MuonMD, SinkGD, REG, ARO and the
//     presets with group-wide sums (stepped alone), compiled ahead of time
//     exactly as `stepc compile` does (x86-64-v3 shared object), as bytes
//     that must move per second and as a ratio to the triad;
//   - the compile time of every example spec (spec text to shared object).
// Prints a Markdown table; docs/Performance.md records the results.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/CpuModule.h"
#include "stepc/Driver/Driver.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace stepc;
using Clock = std::chrono::steady_clock;

static double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Best-of-`reps` seconds of `body` after one warm-up run.
template <typename Fn> static double bestOf(int reps, Fn body) {
  body();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto start = Clock::now();
    body();
    best = std::min(best, secondsSince(start));
  }
  return best;
}

static std::vector<float> randomVector(size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = normal(rng);
  return v;
}

/// A compiled spec: the shared object an artifact would carry, loaded by
/// the runtime as an artifact's (so with its scratch pool).
struct LoadedSpec {
  rt::Artifact artifact;
  std::unique_ptr<rt::CpuModule> module;
  double compileSeconds = 0.0;
};

static bool loadSpec(const std::string &path, mlir::MLIRContext &context,
                     LoadedSpec &out) {
  auto start = Clock::now();
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
  if (!module)
    return false;
  std::string error;
  auto code = compileCpuSharedObject(*module, CpuTarget(), error);
  if (mlir::failed(code)) {
    llvm::errs() << path << ": " << error << "\n";
    return false;
  }
  out.compileSeconds = secondsSince(start);
  out.artifact.manifest = buildManifest(*module);
  out.artifact.origin = path;
  out.artifact.sections = {{rt::kCpuSectionName, std::move(*code)}};
  if (rt::Status status = rt::CpuModule::load(out.artifact, out.module);
      !status.ok()) {
    llvm::errs() << status.message << "\n";
    return false;
  }
  return true;
}

/// Seconds per step of `group` over tensors of `shapes`, and the bytes a
/// step must move (every param, grad and state read once, every param and
/// state written once).
static bool timeGroup(LoadedSpec &spec, const std::string &groupName,
                      const std::vector<std::vector<int64_t>> &shapes, int reps,
                      int threads, double &seconds, double &bytes) {
  const rt::Group *group = spec.artifact.manifest.findGroup(groupName);
  rt::Status status;
  rt::PackedEntry entry = spec.module->lookup(*group, status);
  std::vector<rt::PackedEntry> sumEntries;
  if (!entry || !spec.module->lookupSumEntries(*group, "f32", sumEntries).ok())
    return false;
  rt::GroupRunner runner(*group, entry);
  if (!runner.setSumEntries(sumEntries).ok())
    return false;
  std::vector<std::vector<float>> params, grads;
  std::vector<rt::TensorRef> paramRefs, gradRefs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    int64_t n = 1;
    for (int64_t d : shapes[i])
      n *= d;
    params.push_back(randomVector(n, 2 * i, 0.02f));
    grads.push_back(randomVector(n, 2 * i + 1, 1.0f));
  }
  for (size_t i = 0; i < shapes.size(); ++i) {
    paramRefs.push_back({params[i].data(), shapes[i]});
    gradRefs.push_back({grads[i].data(), shapes[i]});
  }
  if (!runner.bind(paramRefs, gradRefs).ok() || !runner.initState().ok() ||
      !runner.setNumThreads(threads).ok())
    return false;
  bytes = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    double elements = params[i].size();
    bytes += 4 * elements * 3; // param read + write, grad read
    for (const rt::Argument &arg : group->args) {
      if (arg.role != rt::Role::State)
        continue;
      std::vector<int64_t> shape;
      runner.stateShape(i, arg.name, shape);
      double count = 1;
      for (int64_t d : shape)
        count *= d;
      bytes += 4 * count * 2; // read + write
    }
  }
  // Per-step inputs (Momo's loss) are consumed by every step.
  std::vector<std::string> inputs;
  for (size_t index : group->indicesOf(rt::Role::Input))
    inputs.push_back(group->args[index].name);
  bool ok = true;
  seconds = bestOf(reps, [&] {
    for (const std::string &name : inputs)
      ok &= runner.setInput(name, 3.0).ok();
    ok &= runner.step().ok();
  });
  return ok;
}

int main(int argc, char **argv) {
  std::string specDir = argc > 1 ? argv[1] : "examples/specs";
  // An optional second argument keeps the presets whose name contains it
  // (and skips the compile-time table), for quick comparisons.
  std::string only = argc > 2 ? argv[2] : "";
  mlir::DialectRegistry registry;
  registerDriverDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();

  // STREAM triad on 3 x 256 MiB: larger than the last-level caches seen on
  // the project's machines (up to 260 MiB).
  size_t n = size_t(1) << 26;
  std::vector<float> a(n), b = randomVector(n, 1, 1), c = randomVector(n, 2, 1);
  const float s = 3.0f;
  double triadSeconds = bestOf(10, [&, s] {
    float *__restrict pa = a.data();
    const float *__restrict pb = b.data();
    const float *__restrict pc = c.data();
    for (size_t i = 0; i < n; ++i)
      pa[i] = pb[i] + s * pc[i];
    // Keep the stores: the result is otherwise dead.
    asm volatile("" : : "r"(pa) : "memory");
  });
  if (a[n / 2] != b[n / 2] + s * c[n / 2])
    return 1;
  double triad = 12.0 * n / triadSeconds / 1e9;
  printf("STREAM triad (float32, 3 x 256 MiB, 1 thread): %.1f GB/s "
         "(12 B/element; %.1f GB/s counting the write-allocate read)\n\n",
         triad, triad * 16.0 / 12.0);
  printf("Ratios below are to the one-thread triad.\n\n");

  struct Case {
    const char *spec, *group, *what;
    std::vector<std::vector<int64_t>> shapes;
    int reps;
    int threads = 1;
  };
  // One GPT-2-small layer's hidden matrices: qkv, out, fc, proj.
  std::vector<std::vector<int64_t>> layer = {
      {2304, 768}, {768, 768}, {3072, 768}, {768, 3072}};
  // A small model: per-step overheads (a thread handed each step's work)
  // show against 0.5M elements.
  std::vector<std::vector<int64_t>> small;
  for (int i = 0; i < 8; ++i) {
    small.push_back({256, 256});
    small.push_back({256});
  }
  std::vector<Case> cases = {
      {"adamw", "all", "one 64M-element tensor", {{int64_t(1) << 26}}, 5},
      {"adamw",
       "all",
       "one 64M-element tensor, 2 threads",
       {{int64_t(1) << 26}},
       5,
       2},
      {"adamw", "all", "one GPT-2-small layer (7.1M)", layer, 5},
      {"adamw", "all", "16 small tensors (0.5M)", small, 200},
      {"adamw", "all", "16 small tensors (0.5M), 2 threads", small, 200, 2},
      {"muon", "hidden", "768x768", {{768, 768}}, 2},
      // One matrix: the second thread joins its products' col panels.
      {"muon", "hidden", "768x768, 2 threads", {{768, 768}}, 2, 2},
      {"muon_md", "hidden", "768x768", {{768, 768}}, 2},
      // Row and column reductions without Newton–Schulz.
      {"sinkgd", "hidden", "4096x4096", {{4096, 4096}}, 3},
      // A gradient (256 MiB) that no cache of the project's machines holds:
      // each of SinkGD's alternations reads it from memory once.
      {"sinkgd", "hidden", "8192x8192", {{8192, 8192}}, 3},
      {"reg", "hidden", "4096x4096", {{4096, 4096}}, 3},
      {"reg", "hidden", "8192x8192", {{8192, 8192}}, 3},
      // One matrix: the second thread joins the sweeps whose rows are
      // independent (stepc-outline-row-ranges).
      {"sinkgd", "hidden", "8192x8192, 2 threads", {{8192, 8192}}, 3, 2},
      {"reg", "hidden", "4096x4096, 2 threads", {{4096, 4096}}, 3, 2},
      {"reg", "hidden", "8192x8192, 2 threads", {{8192, 8192}}, 3, 2},
      // Group-wide sums (a group stepped alone sums its own tensors): the
      // clipping pass, AdamP's per-row and per-matrix cosines, and the
      // MuonMax family's two phases.
      {"adamw_clip", "all", "one GPT-2-small layer (7.1M)", layer, 5},
      {"adamp", "matrices", "one GPT-2-small layer (7.1M)", layer, 5},
      {"muonmax", "hidden", "768x768", {{768, 768}}, 2},
      {"muonmax_momo", "hidden", "768x768", {{768, 768}}, 2},
      {"muonadam_momo", "hidden", "768x768", {{768, 768}}, 2},
      // Three m x m x n matmuls, one m x m x n with a transposed lhs and a
      // Gram-Schmidt QR of an m x m matrix.
      {"aro", "hidden", "768x768", {{768, 768}}, 2},
      {"aro", "hidden", "768x768, 2 threads", {{768, 768}}, 2, 2},
  };
  printf("| preset | tensors | ms/step | GB/s moved | / triad |\n");
  printf("|---|---|---|---|---|\n");
  for (Case &c : cases) {
    if (!only.empty() &&
        (std::string(c.spec) + "." + c.group).find(only) == std::string::npos)
      continue;
    LoadedSpec spec;
    if (!loadSpec(specDir + "/" + c.spec + ".mlir", context, spec))
      return 1;
    double seconds = 0, bytes = 0;
    if (!timeGroup(spec, c.group, c.shapes, c.reps, c.threads, seconds,
                   bytes)) {
      llvm::errs() << c.spec << "." << c.group << ": could not be stepped\n";
      return 1;
    }
    double rate = bytes / seconds / 1e9;
    printf("| %s.%s | %s | %.2f | %.1f | %.2f |\n", c.spec, c.group, c.what,
           1e3 * seconds, rate, rate / triad);
  }

  if (!only.empty())
    return 0;
  printf("\n| spec | compile time (s) |\n|---|---|\n");
  std::error_code ec;
  std::vector<std::string> specs;
  for (llvm::sys::fs::directory_iterator it(specDir, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::StringRef(it->path()).ends_with(".mlir"))
      specs.push_back(it->path());
  std::sort(specs.begin(), specs.end());
  for (const std::string &path : specs) {
    LoadedSpec spec;
    if (!loadSpec(path, context, spec))
      return 1;
    printf("| %s | %.2f |\n", llvm::sys::path::stem(path).str().c_str(),
           spec.compileSeconds);
  }
  return 0;
}
