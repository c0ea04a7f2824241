//===- capi_e2e_test.cpp - load real code and step through the C API ------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Usage: capi_e2e_test FAKE_ENTRIES_SO [ARTIFACT_OUT]
//
// Wraps a shared object built from Inputs/fake_entries.c in an artifact (as
// `stepc compile` would wrap its own), then loads it with CpuModule, the C
// API and the C++ header. With ARTIFACT_OUT it also leaves the artifact
// there for capi_test.c to step from C.
//
//===----------------------------------------------------------------------===//

#include "Inputs/Check.h"
#include "Inputs/ManifestBuilders.h"
#include "stepc-rt/Artifact.h"
#include "stepc-rt/CpuModule.h"
#include "stepc/runtime.h"
#include "stepc/runtime.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace stepc::rt;
using testing::arg;
using testing::hyper;
using testing::state;

namespace {

Manifest fakeManifest() {
  Manifest m;
  m.optimizer = "fake";
  m.stepcVersion = runtimeVersion();
  Group all;
  all.name = "all";
  all.paramDtypes = {"f32"};
  all.entry = "fake_sgd_all";
  Argument buf = arg(Role::State, "buf");
  Argument lr = arg(Role::Hyper, "lr");
  Argument momentum = arg(Role::Hyper, "momentum");
  momentum.hasDefault = true;
  momentum.defaultValue = 0.5;
  all.args = {arg(Role::Param, "w"), arg(Role::Grad, "g"), buf, lr, momentum,
              arg(Role::Count, "t")};
  Group rows;
  rows.name = "rows";
  rows.matrix = true;
  rows.paramDtypes = {"f32"};
  rows.entry = "fake_rows";
  Argument r = arg(Role::State, "r");
  r.layout = Layout::PerRow;
  r.init = StateInit::Ones;
  rows.args = {arg(Role::Param, "w"), arg(Role::Grad, "g"), r};
  Group ghost = rows;
  ghost.name = "ghost";
  ghost.entry = "no_such_entry";
  m.groups = {all, rows, ghost};
  return m;
}

/// The reference for group "all": one step on w and buf.
void sgdReference(std::vector<float> &w, std::vector<float> &buf,
                  const std::vector<float> &g, float lr, float momentum,
                  float count) {
  for (size_t i = 0; i < w.size(); ++i) {
    buf[i] = momentum * buf[i] + g[i];
    w[i] -= lr * buf[i];
  }
  w[0] += count / 1000.0f;
}

#define CHECK_C(expr, code, text)                                              \
  do {                                                                         \
    stepc_status status_ = (expr);                                             \
    std::string error_ = stepc_last_error();                                   \
    check::that(status_ == (code) && error_.find(text) != std::string::npos,   \
                std::string(#expr) + ": got " + std::to_string(status_) +      \
                    " \"" + error_ + "\"",                                     \
                __LINE__);                                                     \
  } while (false)
#define CHECK_C_OK(expr) CHECK_C(expr, STEPC_OK, "")

void testCpuModule(const Artifact &artifact) {
  for (CpuModule::LoadMethod method :
       {CpuModule::LoadMethod::Auto, CpuModule::LoadMethod::Memfd,
        CpuModule::LoadMethod::TempFile}) {
    std::unique_ptr<CpuModule> module;
    CHECK_OK(CpuModule::load(artifact, module, method));
    if (!module)
      continue;
    CHECK(method == CpuModule::LoadMethod::Auto || module->method() == method);
    Status status;
    CHECK(module->lookup(artifact.manifest.groups[0], status) != nullptr);
    CHECK_OK(status);
    CHECK(module->lookup(artifact.manifest.groups[2], status) == nullptr);
    CHECK_STATUS(status, FormatError,
                 "fake.stepc: its CPU code has no entry 'no_such_entry' for "
                 "group 'ghost' (");
  }
  // Each load is its own copy of the code, even from the same bytes, and a
  // load after an unload gets fresh code, not a stale handle.
  std::unique_ptr<CpuModule> first, second, third;
  Status status;
  CHECK_OK(CpuModule::load(artifact, first));
  CHECK_OK(CpuModule::load(artifact, second));
  PackedEntry a = first->lookup(artifact.manifest.groups[0], status);
  PackedEntry b = second->lookup(artifact.manifest.groups[0], status);
  CHECK(a && b && a != b);
  first.reset();
  CHECK_OK(CpuModule::load(artifact, third));
  PackedEntry c = third->lookup(artifact.manifest.groups[0], status);
  CHECK(c && c != b);
  std::vector<float> w = {1, 2}, g = {1, 1}, buf = {0, 0};
  float lr = 0.5f, momentum = 0.5f, count = 1.0f;
  struct {
    float *allocated, *aligned;
    int64_t offset, size, stride;
  } dw = {w.data(), w.data(), 0, 2, 1}, dg = {g.data(), g.data(), 0, 2, 1},
    db = {buf.data(), buf.data(), 0, 2, 1};
  void *pw = &dw, *pg = &dg, *pb = &db;
  void *args[] = {&pw, &pg, &pb, &lr, &momentum, &count};
  c(args);
  CHECK(std::fabs(w[0] - 0.501f) < 1e-6f && w[1] == 1.5f && buf[1] == 1.0f);

  Artifact noCpu = artifact;
  noCpu.sections.clear();
  noCpu.sections.push_back({"cuda.sm_90.cubin", "..."});
  std::unique_ptr<CpuModule> module;
  CHECK_STATUS_EXACT(CpuModule::load(noCpu, module), NoDevice,
                     "fake.stepc holds no CPU code; compile it with "
                     "--target=cpu");
  CHECK(!module);
  Artifact garbage = artifact;
  garbage.sections = {{"cpu.so", "this is not an ELF file"}};
  CHECK_STATUS(CpuModule::load(garbage, module), FormatError,
               "fake.stepc: cannot load its CPU code (from a memfd: ");
  CHECK_STATUS(CpuModule::load(garbage, module), FormatError,
               "; from a temporary file: ");
  CHECK(!module);
}

void testCApi(const std::string &path) {
  stepc_artifact *artifact = nullptr;
  CHECK_C_OK(stepc_artifact_load(path.c_str(), &artifact));
  if (!artifact)
    return;
  size_t n = 0;
  CHECK_C_OK(stepc_artifact_num_groups(artifact, &n));
  CHECK(n == 3);
  const char *name = nullptr;
  CHECK_C_OK(stepc_artifact_group_name(artifact, 1, &name));
  CHECK(name && std::string(name) == "rows");
  CHECK_C(stepc_artifact_group_name(artifact, 3, &name),
          STEPC_ERR_INVALID_ARGUMENT,
          "stepc_artifact_group_name: index 3 is out of range: the artifact "
          "has 3 groups");
  CHECK_C(stepc_cuda_device_count(nullptr), STEPC_ERR_INVALID_ARGUMENT,
          "stepc_cuda_device_count: count is null");
  CHECK_C_OK(stepc_artifact_optimizer_name(artifact, &name));
  CHECK(name && std::string(name) == "fake");
  CHECK_C(stepc_artifact_optimizer_name(nullptr, &name),
          STEPC_ERR_INVALID_ARGUMENT, "artifact is null");

  stepc_group *group = nullptr;
  CHECK_C(stepc_group_create(artifact, "adam", &group),
          STEPC_ERR_INVALID_ARGUMENT,
          "has no group 'adam' (it has: all, rows, ghost)");
  CHECK(group == nullptr);
  CHECK_C(stepc_group_create(artifact, "ghost", &group), STEPC_ERR_FORMAT,
          "its CPU code has no entry 'no_such_entry' for group 'ghost'");
  CHECK_C_OK(stepc_group_create(artifact, "all", &group));
  if (!group)
    return;
  CHECK(std::string(stepc_last_error()).empty());

  size_t count = 0;
  const char *stateName = nullptr, *hyperName = nullptr;
  CHECK_C_OK(stepc_group_num_states(group, &count));
  CHECK(count == 1);
  CHECK_C_OK(stepc_group_state_name(group, 0, &stateName));
  CHECK(stateName && std::string(stateName) == "buf");
  CHECK_C(stepc_group_state_name(group, 1, &stateName),
          STEPC_ERR_INVALID_ARGUMENT,
          "index 1 is out of range: the group "
          "has 1 states");
  CHECK_C_OK(stepc_group_num_hypers(group, &count));
  CHECK(count == 2);
  CHECK_C_OK(stepc_group_hyper_name(group, 1, &hyperName));
  CHECK(hyperName && std::string(hyperName) == "momentum");
  int matrices = -1;
  CHECK_C_OK(stepc_group_accepts_matrices(group, &matrices));
  CHECK(matrices == 0);
  CHECK_C_OK(stepc_group_num_inputs(group, &count));
  CHECK(count == 0);
  CHECK_C_OK(stepc_group_num_sums(group, &count));
  CHECK(count == 0);
  CHECK_C(stepc_group_sum_name(group, 0, &hyperName),
          STEPC_ERR_INVALID_ARGUMENT,
          "index 0 is out of range: the group has 0 sums");

  // Two tensors: a 2 x 3 and a 4; the group sees them flattened.
  std::vector<float> w0 = {1, 2, 3, 4, 5, 6}, g0 = {1, -1, 2, -2, 3, -3};
  std::vector<float> w1 = {0.5f, 0.25f, 0, -1}, g1 = {4, 3, 2, 1};
  float *params[] = {w0.data(), w1.data()};
  float *grads[] = {g0.data(), g1.data()};
  int64_t shape0[] = {2, 3}, shape1[] = {4};
  const int64_t *shapes[] = {shape0, shape1};
  size_t ranks[] = {2, 1};
  CHECK_C(stepc_group_step(group), STEPC_ERR_NOT_BOUND, "no tensors are bound");
  CHECK_C(stepc_group_bind(group, 0, params, grads, shapes, ranks),
          STEPC_ERR_INVALID_ARGUMENT, "at least one parameter");
  const int64_t *nullShape[] = {nullptr, shape1};
  CHECK_C(stepc_group_bind(group, 2, params, grads, nullShape, ranks),
          STEPC_ERR_INVALID_ARGUMENT,
          "stepc_group_bind: shapes[0] is null but ranks[0] is 2");
  int64_t zero[] = {2, 0};
  const int64_t *zeroShapes[] = {zero, shape1};
  CHECK_C(stepc_group_bind(group, 2, params, grads, zeroShapes, ranks),
          STEPC_ERR_SHAPE_MISMATCH, "param #0 has shape (2, 0)");
  CHECK_C_OK(stepc_group_bind(group, 2, params, grads, shapes, ranks));
  CHECK_C(stepc_group_step(group), STEPC_ERR_NOT_BOUND,
          "state 'buf' of tensor #0 is not initialized");
  CHECK_C_OK(stepc_group_init_state(group));
  CHECK_C(stepc_group_step(group), STEPC_ERR_NOT_BOUND,
          "hyper 'lr' has no default and was not set");
  CHECK_C(stepc_group_set_hyper(group, "beta", 1.0), STEPC_ERR_INVALID_ARGUMENT,
          "group 'all' has no hyper 'beta' (it has: lr, momentum)");
  double value = -1.0;
  int isSet = -1;
  CHECK_C_OK(stepc_group_hyper(group, "lr", &value, &isSet));
  CHECK(isSet == 0 && value == 0.0);
  CHECK_C_OK(stepc_group_hyper(group, "momentum", &value, &isSet));
  CHECK(isSet == 1 && value == 0.5);
  CHECK_C(stepc_group_hyper(group, "beta", &value, &isSet),
          STEPC_ERR_INVALID_ARGUMENT, "group 'all' has no hyper 'beta'");
  CHECK_C(stepc_group_hyper(group, "lr", nullptr, &isSet),
          STEPC_ERR_INVALID_ARGUMENT, "value is null");
  CHECK_C_OK(stepc_group_set_hyper(group, "lr", 0.25));
  CHECK_C_OK(stepc_group_hyper(group, "lr", &value, &isSet));
  CHECK(isSet == 1 && value == 0.25);

  // Tensor 1's state lives in the test's buffer.
  std::vector<float> buf1(4, 0.0f);
  CHECK_C(stepc_group_adopt_state(group, 1, "buf", buf1.data(), 6),
          STEPC_ERR_SHAPE_MISMATCH,
          "state 'buf' of tensor #1 holds 4 values (shape (4,)) but the "
          "adopted buffer has 6");
  CHECK_C(stepc_group_adopt_state(group, 2, "buf", buf1.data(), 4),
          STEPC_ERR_INVALID_ARGUMENT, "no tensor #2 is bound");
  CHECK_C(stepc_group_adopt_state(group, 1, "m", buf1.data(), 4),
          STEPC_ERR_INVALID_ARGUMENT, "group 'all' has no state 'm'");
  CHECK_C_OK(stepc_group_adopt_state(group, 1, "buf", buf1.data(), 4));

  int64_t stateShape[4] = {0, 0, 0, 0};
  size_t rank = 0;
  CHECK_C_OK(stepc_group_state_shape(group, 0, "buf", nullptr, &rank));
  CHECK(rank == 2);
  rank = 1;
  CHECK_C(stepc_group_state_shape(group, 0, "buf", stateShape, &rank),
          STEPC_ERR_INVALID_ARGUMENT,
          "state 'buf' has rank 2 but the shape buffer holds 1");
  rank = 4;
  CHECK_C_OK(stepc_group_state_shape(group, 0, "buf", stateShape, &rank));
  CHECK(rank == 2 && stateShape[0] == 2 && stateShape[1] == 3);
  float *data = nullptr;
  CHECK_C_OK(stepc_group_state_data(group, 1, "buf", &data));
  CHECK(data == buf1.data());
  CHECK_C_OK(stepc_group_state_data(group, 0, "buf", &data));
  CHECK(data != nullptr);

  // Three steps against the reference; step 2 points tensor 0 elsewhere.
  std::vector<float> r0 = w0, r1 = w1, rb0(6, 0.0f), rb1(4, 0.0f);
  std::vector<float> other = {1, 1, 1, 1, 1, 1};
  CHECK_C_OK(stepc_group_set_count(group, 10.0));
  for (int step = 0; step < 3; ++step) {
    const std::vector<float> &grad0 = step == 1 ? other : g0;
    if (step == 1)
      CHECK_C_OK(stepc_group_set_grad(group, 0, other.data()));
    if (step == 2)
      CHECK_C_OK(stepc_group_set_grad(group, 0, g0.data()));
    CHECK_C_OK(stepc_group_step(group));
    sgdReference(r0, rb0, grad0, 0.25f, 0.5f, float(11 + step));
    sgdReference(r1, rb1, g1, 0.25f, 0.5f, float(11 + step));
  }
  CHECK(w0 == r0 && w1 == r1 && buf1 == rb1);
  CHECK_C_OK(stepc_group_state_data(group, 0, "buf", &data));
  CHECK(data && std::vector<float>(data, data + 6) == rb0);
  double stepCount = 0;
  CHECK_C_OK(stepc_group_count(group, &stepCount));
  CHECK(stepCount == 13.0);
  CHECK_C(stepc_group_set_grad(group, 2, g0.data()), STEPC_ERR_INVALID_ARGUMENT,
          "index 2 is out of range: 2 tensors are bound");
  // A rebind drops adoptions: the state must be set up again.
  CHECK_C_OK(stepc_group_bind(group, 1, params, grads, shapes, ranks));
  CHECK_C(stepc_group_state_data(group, 0, "buf", &data), STEPC_ERR_NOT_BOUND,
          "state 'buf' of tensor #0 has no buffer yet");

  // A matrix group wants rank 2.
  stepc_group *rows = nullptr;
  CHECK_C_OK(stepc_group_create(artifact, "rows", &rows));
  CHECK_C(stepc_group_bind(rows, 2, params, grads, shapes, ranks),
          STEPC_ERR_SHAPE_MISMATCH,
          "param #1 has shape (4,) but group 'rows' accepts matrices");
  CHECK_C_OK(stepc_group_bind(rows, 1, params, grads, shapes, ranks));
  CHECK_C_OK(stepc_group_init_state(rows));
  rank = 4;
  CHECK_C_OK(stepc_group_state_shape(rows, 0, "r", stateShape, &rank));
  CHECK(rank == 2 && stateShape[0] == 2 && stateShape[1] == 1);

  // Groups outlive their artifact: the code stays loaded.
  stepc_artifact_free(artifact);
  std::vector<float> before = w0;
  CHECK_C_OK(stepc_group_step(rows));
  CHECK(w0 != before);
  CHECK_C_OK(stepc_group_state_data(rows, 0, "r", &data));
  CHECK(data && data[0] == 1.0f + (g0[0] + g0[1] + g0[2]));
  stepc_group_free(rows);
  stepc_group_free(group);
}

void testCppApi(const std::string &path) {
  stepc::Artifact missing;
  CHECK(!missing.load(path + ".missing"));
  CHECK(missing.status() == STEPC_ERR_IO);
  CHECK(missing.error() == path + ".missing: cannot open: No such file or "
                                  "directory");
  CHECK(missing.numGroups() == 0);
  CHECK(missing.status() == STEPC_ERR_INVALID_ARGUMENT);

  stepc::Artifact artifact;
  CHECK(artifact.load(path));
  CHECK(artifact && artifact.error().empty());
  CHECK(artifact.numGroups() == 3);
  CHECK(artifact.optimizerName() == "fake");
  CHECK(artifact.groupName(0) == "all");
  CHECK(artifact.groupName(9).empty() && !artifact.error().empty());

  stepc::Group group;
  CHECK(!group.create(artifact, "nope"));
  CHECK(group.error().find("has no group 'nope'") != std::string::npos);
  CHECK(group.create(artifact, "all"));
  CHECK((group.stateNames() == std::vector<std::string>{"buf"}));
  CHECK((group.hyperNames() == std::vector<std::string>{"lr", "momentum"}));

  std::vector<float> w = {1, 2, 3, 4}, g = {1, 1, 1, 1}, buf(4, 9.0f);
  CHECK(!group.bind({{w.data(), {2, 2}}}, {}));
  CHECK(group.status() == STEPC_ERR_INVALID_ARGUMENT);
  CHECK(group.error() == "1 params but 0 grads: bind one gradient per "
                         "parameter");
  CHECK(!group.bind({{w.data(), {2, 2}}}, {{g.data(), {4}}}));
  CHECK(group.status() == STEPC_ERR_SHAPE_MISMATCH);
  CHECK(group.bind({{w.data(), {2, 2}}}, {{g.data(), {2, 2}}}));
  CHECK(group.adoptState(0, "buf", buf.data(), buf.size()));
  std::vector<int64_t> shape;
  CHECK(group.stateShape(0, "buf", shape));
  CHECK((shape == std::vector<int64_t>{2, 2}));
  CHECK(!group.stateShape(0, "m", shape));
  CHECK(group.stateData(0, "buf") == buf.data());
  CHECK(!group.step());
  CHECK(group.error().find("hyper 'lr'") != std::string::npos);
  double lr = 0.0;
  CHECK(!group.hyper("lr", lr) && group.status() == STEPC_ERR_NOT_BOUND);
  CHECK(group.setHyper("lr", 1.0) && group.setHyper("momentum", 0.0));
  CHECK(group.hyper("lr", lr) && lr == 1.0);
  CHECK(group.setCount(0.0));
  CHECK(group.step());
  CHECK(group.count() == 1.0);
  CHECK(w[0] == 0.001f && w[3] == 3.0f && buf[0] == 1.0f);

  // Devices: this artifact has CPU code only.
  CHECK(group.device() == "cpu" && group.launchCount() == 0);
  CHECK(group.code() == "x86-64 shared object");
  CHECK(!group.setStream(nullptr));
  CHECK(group.error().find("streams are for groups created on a CUDA "
                           "device") != std::string::npos);
  stepc::Group onCpu, onGpu;
  CHECK(onCpu.createOn(artifact, "all", "f32", "cpu"));
  CHECK(onCpu.device() == "cpu");
  CHECK(!onGpu.createOn(artifact, "all", "f32", "cuda:0"));
  CHECK(onGpu.status() == STEPC_ERR_NO_DEVICE &&
        onGpu.error().find("the artifact has no CUDA code") !=
            std::string::npos);
  CHECK(!onGpu.createOn(artifact, "all", "f32", "tpu"));
  CHECK(onGpu.error() == "stepc_group_create_on: unknown device 'tpu' "
                         "(expected cpu, cuda or cuda:N)");
  CHECK(stepc_artifact_has_code(artifact.get(), "all", "cpu") == STEPC_OK);
  CHECK(stepc_artifact_has_code(artifact.get(), "all", "cuda") ==
        STEPC_ERR_NO_DEVICE);
  CHECK(stepc_artifact_has_code(artifact.get(), "nope", "cpu") ==
        STEPC_ERR_INVALID_ARGUMENT);
  // Code without the scratch table (fake_entries.c has none) allocates
  // with malloc: nothing kept, and trimming is a no-op.
  stepc_scratch_stats scratch = artifact.scratchStats();
  CHECK(artifact.status() == STEPC_OK && scratch.fresh_allocations == 0 &&
        scratch.reused_allocations == 0 && scratch.held_bytes == 0);
  CHECK(artifact.trimScratch());
  // Nor the parallel-ranges table: nothing counted.
  stepc_parallel_stats parallel = artifact.parallelStats();
  CHECK(artifact.status() == STEPC_OK && parallel.split_ranges == 0 &&
        parallel.inline_ranges == 0);

  // Moves keep the handle and the last error; the source becomes empty.
  stepc::Group moved = std::move(group);
  CHECK(!group && moved);
  CHECK(!group.step() && group.status() == STEPC_ERR_INVALID_ARGUMENT);
  CHECK(moved.step());
  stepc::Artifact movedArtifact;
  movedArtifact = std::move(artifact);
  CHECK(!artifact && movedArtifact && movedArtifact.numGroups() == 3);
}
} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FAKE_ENTRIES_SO [ARTIFACT_OUT]\n", argv[0]);
    return 2;
  }
  std::ifstream file(argv[1], std::ios::binary);
  std::stringstream code;
  code << file.rdbuf();
  if (!file || code.str().empty()) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  Artifact artifact;
  artifact.stepcVersion = runtimeVersion();
  artifact.manifest = fakeManifest();
  artifact.sections = {{kCpuSectionName, code.str()}};
  artifact.origin = "fake.stepc";
  testCpuModule(artifact);

  std::string path;
  char directory[] = "/tmp/stepc-capi-test-XXXXXX";
  bool temporary = argc < 3;
  if (temporary) {
    if (!::mkdtemp(directory))
      return 2;
    path = std::string(directory) + "/fake.stepc";
  } else {
    path = argv[2];
  }
  CHECK_OK(writeArtifactFile(path, artifact));
  testCApi(path);
  testCppApi(path);
  if (temporary) {
    ::unlink(path.c_str());
    ::rmdir(directory);
  }
  return check::summary();
}
