//===- CApi.cpp - the stepc runtime's C API ---------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A thin layer over Artifact, CpuModule and GroupRunner: it checks every
// pointer and index a C caller hands in (a bad one is an error code, never a
// crash) and turns Status into a code plus the thread's last message.
//
//===----------------------------------------------------------------------===//

#include "stepc/runtime.h"

#include "stepc-rt/Artifact.h"
#include "stepc-rt/CpuModule.h"
#include "stepc-rt/CudaDriver.h"
#include "stepc-rt/CudaExecutor.h"
#include "stepc-rt/GroupRunner.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace stepc::rt;

#define STEPC_SAME_CODE(CODE, C_CODE)                                          \
  static_assert(int(StatusCode::CODE) == C_CODE,                               \
                "StatusCode::" #CODE " and " #C_CODE " differ")
STEPC_SAME_CODE(Ok, STEPC_OK);
STEPC_SAME_CODE(InvalidArgument, STEPC_ERR_INVALID_ARGUMENT);
STEPC_SAME_CODE(ShapeMismatch, STEPC_ERR_SHAPE_MISMATCH);
STEPC_SAME_CODE(DtypeMismatch, STEPC_ERR_DTYPE_MISMATCH);
STEPC_SAME_CODE(NotBound, STEPC_ERR_NOT_BOUND);
STEPC_SAME_CODE(IoError, STEPC_ERR_IO);
STEPC_SAME_CODE(FormatError, STEPC_ERR_FORMAT);
STEPC_SAME_CODE(VersionMismatch, STEPC_ERR_VERSION_MISMATCH);
STEPC_SAME_CODE(ChecksumMismatch, STEPC_ERR_CHECKSUM_MISMATCH);
STEPC_SAME_CODE(NoDevice, STEPC_ERR_NO_DEVICE);
#undef STEPC_SAME_CODE

namespace {
/// Shared by the artifact handle and every group made from it, so freeing
/// the artifact first does not unload code a group still calls.
struct LoadedArtifact {
  Artifact artifact;
  std::mutex mutex; ///< guards `module` and `cudaModules`
  std::unique_ptr<CpuModule> module;
  /// Per device ordinal, loaded on first use.
  std::map<int, std::shared_ptr<CudaModule>> cudaModules;
};

thread_local std::string lastError;

stepc_status report(const Status &status) {
  lastError = status.message;
  return stepc_status(status.code);
}

stepc_status invalid(const char *function, const std::string &message) {
  lastError = std::string(function) + ": " + message;
  return STEPC_ERR_INVALID_ARGUMENT;
}

stepc_status ok() {
  lastError.clear();
  return STEPC_OK;
}

std::vector<std::string> namesOf(const Group &group, Role role) {
  std::vector<std::string> names;
  for (size_t index : group.indicesOf(role))
    names.push_back(group.args[index].name);
  return names;
}
} // namespace

struct stepc_artifact {
  std::shared_ptr<LoadedArtifact> loaded;
};

struct stepc_group {
  stepc_group(std::shared_ptr<LoadedArtifact> loaded, GroupRunner runner,
              CudaExecutor *cuda = nullptr)
      : loaded(std::move(loaded)), runner(std::move(runner)), cuda(cuda),
        stateNames(namesOf(this->runner.group(), Role::State)),
        hyperNames(namesOf(this->runner.group(), Role::Hyper)),
        inputNames(namesOf(this->runner.group(), Role::Input)),
        sumKeys(this->runner.group().sumKeys()) {}

  std::shared_ptr<LoadedArtifact> loaded;
  GroupRunner runner;
  /// The runner's device when it steps on a GPU, else null.
  CudaExecutor *cuda;
  std::vector<std::string> stateNames, hyperNames, inputNames, sumKeys;
  /// The bound parameters' shapes, which setGrad needs again.
  std::vector<std::vector<int64_t>> shapes;
};

// Checks shared by every function; each returns from the caller on failure.
#define STEPC_CHECK_NOT_NULL(POINTER)                                          \
  do {                                                                         \
    if (!(POINTER))                                                            \
      return invalid(__func__, #POINTER " is null");                           \
  } while (false)

const char *stepc_last_error(void) { return lastError.c_str(); }

const char *stepc_runtime_version(void) { return runtimeVersion(); }

stepc_status stepc_cuda_device_count(int *count) {
  STEPC_CHECK_NOT_NULL(count);
  *count = 0;
  const CudaDriver *driver = nullptr;
  if (Status s = CudaDriver::get(driver); !s.ok())
    return report(s);
  return report(driver->deviceCount(*count));
}

//===----------------------------------------------------------------------===//
// Artifacts
//===----------------------------------------------------------------------===//

stepc_status stepc_artifact_load(const char *path, stepc_artifact **out) {
  STEPC_CHECK_NOT_NULL(out);
  *out = nullptr;
  STEPC_CHECK_NOT_NULL(path);
  auto loaded = std::make_shared<LoadedArtifact>();
  if (Status s = readArtifactFile(path, loaded->artifact); !s.ok())
    return report(s);
  *out = new stepc_artifact{std::move(loaded)};
  return ok();
}

void stepc_artifact_free(stepc_artifact *artifact) { delete artifact; }

stepc_status stepc_artifact_num_groups(const stepc_artifact *artifact,
                                       size_t *out) {
  STEPC_CHECK_NOT_NULL(artifact);
  STEPC_CHECK_NOT_NULL(out);
  *out = artifact->loaded->artifact.manifest.groups.size();
  return ok();
}

stepc_status stepc_artifact_group_name(const stepc_artifact *artifact,
                                       size_t index, const char **name) {
  STEPC_CHECK_NOT_NULL(artifact);
  STEPC_CHECK_NOT_NULL(name);
  const std::vector<Group> &groups = artifact->loaded->artifact.manifest.groups;
  if (index >= groups.size())
    return invalid(__func__, "index " + std::to_string(index) +
                                 " is out of range: the artifact has " +
                                 std::to_string(groups.size()) + " groups");
  *name = groups[index].name.c_str();
  return ok();
}

stepc_status stepc_artifact_optimizer_name(const stepc_artifact *artifact,
                                           const char **name) {
  STEPC_CHECK_NOT_NULL(artifact);
  STEPC_CHECK_NOT_NULL(name);
  *name = artifact->loaded->artifact.manifest.optimizer.c_str();
  return ok();
}

//===----------------------------------------------------------------------===//
// Groups
//===----------------------------------------------------------------------===//

stepc_status stepc_artifact_has_code(const stepc_artifact *artifact,
                                     const char *name, const char *device) {
  STEPC_CHECK_NOT_NULL(artifact);
  STEPC_CHECK_NOT_NULL(name);
  STEPC_CHECK_NOT_NULL(device);
  bool isCuda = false;
  int ordinal = 0;
  if (!parseDeviceName(device, isCuda, ordinal))
    return invalid(__func__, std::string("unknown device '") + device +
                                 "' (expected cpu, cuda or cuda:N)");
  const Artifact &loaded = artifact->loaded->artifact;
  const Group *group = loaded.manifest.findGroup(name);
  if (!group)
    return invalid(__func__, loaded.origin + " has no group '" + name + "'");
  if (isCuda)
    return report(CudaExecutor::supports(loaded, *group));
  if (!loaded.findSection(kCpuSectionName))
    return report(Status::error(StatusCode::NoDevice,
                                loaded.origin + " holds no CPU code; compile "
                                                "it with --target=cpu"));
  return ok();
}

stepc_status stepc_artifact_scratch_stats(const stepc_artifact *artifact,
                                          stepc_scratch_stats *out) {
  STEPC_CHECK_NOT_NULL(artifact);
  STEPC_CHECK_NOT_NULL(out);
  LoadedArtifact &loaded = *artifact->loaded;
  std::lock_guard<std::mutex> lock(loaded.mutex);
  ScratchStats stats;
  if (loaded.module)
    stats = loaded.module->scratchStats();
  *out = {stats.freshAllocations, stats.reusedAllocations, stats.heldBytes};
  return ok();
}

stepc_status stepc_artifact_parallel_stats(const stepc_artifact *artifact,
                                           stepc_parallel_stats *out) {
  STEPC_CHECK_NOT_NULL(artifact);
  STEPC_CHECK_NOT_NULL(out);
  LoadedArtifact &loaded = *artifact->loaded;
  std::lock_guard<std::mutex> lock(loaded.mutex);
  ParallelStats stats;
  if (loaded.module)
    stats = loaded.module->parallelStats();
  *out = {stats.splitRanges, stats.inlineRanges};
  return ok();
}

stepc_status stepc_artifact_trim_scratch(stepc_artifact *artifact) {
  STEPC_CHECK_NOT_NULL(artifact);
  LoadedArtifact &loaded = *artifact->loaded;
  std::lock_guard<std::mutex> lock(loaded.mutex);
  if (loaded.module)
    loaded.module->trimScratch();
  return ok();
}

/// Every create call; messages name the one the caller made.
static stepc_status createGroup(const char *function, stepc_artifact *artifact,
                                const char *name, const char *param_dtype,
                                const char *device, stepc_group **out) {
  if (!out)
    return invalid(function, "out is null");
  *out = nullptr;
  if (!artifact)
    return invalid(function, "artifact is null");
  if (!name)
    return invalid(function, "name is null");
  if (!param_dtype)
    return invalid(function, "param_dtype is null");
  if (!device)
    return invalid(function, "device is null");
  bool isCuda = false;
  int ordinal = 0;
  if (!parseDeviceName(device, isCuda, ordinal))
    return invalid(function, std::string("unknown device '") + device +
                                 "' (expected cpu, cuda or cuda:N)");
  LoadedArtifact &loaded = *artifact->loaded;
  const Group *group = loaded.artifact.manifest.findGroup(name);
  if (!group) {
    std::string known;
    for (const Group &g : loaded.artifact.manifest.groups)
      known += (known.empty() ? "" : ", ") + g.name;
    return invalid(function,
                   loaded.artifact.origin + " has no group '" + name +
                       "' (it has: " + (known.empty() ? "none" : known) + ")");
  }
  if (!group->takesDtype(param_dtype))
    return report(Status::error(StatusCode::DtypeMismatch,
                                "group '" + group->name + "' does not take " +
                                    param_dtype + " parameters"));
  std::lock_guard<std::mutex> lock(loaded.mutex);
  if (isCuda) {
    std::unique_ptr<CudaExecutor> executor;
    if (Status s =
            CudaExecutor::create(loaded.artifact, ordinal, *group, param_dtype,
                                 loaded.cudaModules[ordinal], executor);
        !s.ok())
      return report(s);
    CudaExecutor *cuda = executor.get();
    *out = new stepc_group(
        artifact->loaded, GroupRunner(*group, std::move(executor), param_dtype),
        cuda);
    return ok();
  }
  if (!loaded.module)
    if (Status s = CpuModule::load(loaded.artifact, loaded.module); !s.ok())
      return report(s);
  Status status;
  PackedEntry entry = loaded.module->lookup(*group, param_dtype, status);
  if (!entry)
    return report(status);
  std::vector<PackedEntry> sumEntries;
  if (Status s = loaded.module->lookupSumEntries(*group, param_dtype,
                                                 sumEntries);
      !s.ok())
    return report(s);
  GroupRunner runner(*group, entry, param_dtype);
  if (Status s = runner.setSumEntries(std::move(sumEntries)); !s.ok())
    return report(s);
  *out = new stepc_group(artifact->loaded, std::move(runner));
  return ok();
}

stepc_status stepc_group_create(stepc_artifact *artifact, const char *name,
                                stepc_group **out) {
  return createGroup(__func__, artifact, name, "f32", "cpu", out);
}

stepc_status stepc_group_create_typed(stepc_artifact *artifact,
                                      const char *name, const char *param_dtype,
                                      stepc_group **out) {
  return createGroup(__func__, artifact, name, param_dtype, "cpu", out);
}

stepc_status stepc_group_create_on(stepc_artifact *artifact, const char *name,
                                   const char *param_dtype, const char *device,
                                   stepc_group **out) {
  return createGroup(__func__, artifact, name, param_dtype, device, out);
}

stepc_status stepc_group_device(const stepc_group *group, const char **out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  thread_local std::string name;
  name = group->runner.device() ? group->runner.device()->name() : "cpu";
  *out = name.c_str();
  return ok();
}

stepc_status stepc_group_code(const stepc_group *group, const char **out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  thread_local std::string code;
  code = group->cuda ? group->cuda->codeSource() : "x86-64 shared object";
  *out = code.c_str();
  return ok();
}

stepc_status stepc_group_set_stream(stepc_group *group, void *stream) {
  STEPC_CHECK_NOT_NULL(group);
  if (!group->cuda)
    return report(Status::error(
        StatusCode::InvalidArgument,
        "stepc_group_set_stream: the group steps on the CPU; streams are "
        "for groups created on a CUDA device"));
  group->cuda->setStream(stream);
  return ok();
}

stepc_status stepc_group_launch_count(const stepc_group *group, uint64_t *out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  *out = group->runner.launchCount();
  return ok();
}

stepc_status stepc_group_accepts_matrices(const stepc_group *group,
                                          int *out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  *out = group->runner.group().matrix ? 1 : 0;
  return ok();
}

void stepc_group_free(stepc_group *group) { delete group; }

static stepc_status nameAt(const char *function,
                           const std::vector<std::string> &names,
                           const char *what, size_t index, const char **out) {
  if (index >= names.size())
    return invalid(function, "index " + std::to_string(index) +
                                 " is out of range: the group has " +
                                 std::to_string(names.size()) + " " + what);
  *out = names[index].c_str();
  return ok();
}

stepc_status stepc_group_num_states(const stepc_group *group, size_t *out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  *out = group->stateNames.size();
  return ok();
}

stepc_status stepc_group_state_name(const stepc_group *group, size_t index,
                                    const char **name) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  return nameAt(__func__, group->stateNames, "states", index, name);
}

stepc_status stepc_group_num_hypers(const stepc_group *group, size_t *out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  *out = group->hyperNames.size();
  return ok();
}

stepc_status stepc_group_hyper_name(const stepc_group *group, size_t index,
                                    const char **name) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  return nameAt(__func__, group->hyperNames, "hypers", index, name);
}

stepc_status stepc_group_num_inputs(const stepc_group *group, size_t *out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  *out = group->inputNames.size();
  return ok();
}

stepc_status stepc_group_input_name(const stepc_group *group, size_t index,
                                    const char **name) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  return nameAt(__func__, group->inputNames, "inputs", index, name);
}

stepc_status stepc_group_num_sums(const stepc_group *group, size_t *out) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(out);
  *out = group->sumKeys.size();
  return ok();
}

stepc_status stepc_group_sum_name(const stepc_group *group, size_t index,
                                  const char **name) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  return nameAt(__func__, group->sumKeys, "sums", index, name);
}

stepc_status stepc_group_bind(stepc_group *group, size_t n,
                              float *const *params, float *const *grads,
                              const int64_t *const *shapes,
                              const size_t *ranks) {
  STEPC_CHECK_NOT_NULL(group);
  if (n == 0)
    return invalid(__func__, "bind needs at least one parameter (n is 0)");
  STEPC_CHECK_NOT_NULL(params);
  STEPC_CHECK_NOT_NULL(grads);
  STEPC_CHECK_NOT_NULL(shapes);
  STEPC_CHECK_NOT_NULL(ranks);
  std::vector<TensorRef> paramRefs(n), gradRefs(n);
  std::vector<std::vector<int64_t>> boundShapes(n);
  for (size_t i = 0; i < n; ++i) {
    if (!params[i])
      return invalid(__func__, "params[" + std::to_string(i) + "] is null");
    if (!grads[i])
      return invalid(__func__, "grads[" + std::to_string(i) + "] is null");
    if (ranks[i] > 0 && !shapes[i])
      return invalid(__func__, "shapes[" + std::to_string(i) +
                                   "] is null but ranks[" + std::to_string(i) +
                                   "] is " + std::to_string(ranks[i]));
    boundShapes[i].assign(shapes[i], shapes[i] + ranks[i]);
    paramRefs[i] = {params[i], boundShapes[i]};
    gradRefs[i] = {grads[i], boundShapes[i]};
  }
  if (Status s = group->runner.bind(paramRefs, gradRefs); !s.ok())
    return report(s);
  group->shapes = std::move(boundShapes);
  return ok();
}

stepc_status stepc_group_set_grad(stepc_group *group, size_t index,
                                  float *grad) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(grad);
  if (index >= group->shapes.size())
    return invalid(__func__, "index " + std::to_string(index) +
                                 " is out of range: " +
                                 std::to_string(group->shapes.size()) +
                                 " tensors are bound");
  return report(group->runner.setGrad(index, {grad, group->shapes[index]}));
}

stepc_status stepc_group_init_state(stepc_group *group) {
  STEPC_CHECK_NOT_NULL(group);
  return report(group->runner.initState());
}

stepc_status stepc_group_adopt_state(stepc_group *group, size_t index,
                                     const char *state_name, float *data,
                                     size_t num_elements) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(state_name);
  STEPC_CHECK_NOT_NULL(data);
  return report(
      group->runner.adoptState(index, state_name, data, num_elements));
}

stepc_status stepc_group_state_shape(const stepc_group *group, size_t index,
                                     const char *state_name, int64_t *shape,
                                     size_t *rank) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(state_name);
  STEPC_CHECK_NOT_NULL(rank);
  std::vector<int64_t> result;
  if (Status s = group->runner.stateShape(index, state_name, result); !s.ok())
    return report(s);
  size_t capacity = *rank;
  *rank = result.size();
  if (!shape)
    return ok();
  if (capacity < result.size())
    return invalid(__func__, "state '" + std::string(state_name) +
                                 "' has rank " + std::to_string(result.size()) +
                                 " but the shape buffer holds " +
                                 std::to_string(capacity));
  for (size_t i = 0; i < result.size(); ++i)
    shape[i] = result[i];
  return ok();
}

stepc_status stepc_group_state_data(stepc_group *group, size_t index,
                                    const char *state_name, float **data) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(state_name);
  STEPC_CHECK_NOT_NULL(data);
  *data = nullptr;
  // stateShape names an unknown state or index precisely.
  std::vector<int64_t> shape;
  if (Status s = group->runner.stateShape(index, state_name, shape); !s.ok())
    return report(s);
  *data = group->runner.stateData(index, state_name);
  if (!*data) {
    lastError = "state '" + std::string(state_name) + "' of tensor #" +
                std::to_string(index) +
                " has no buffer yet: call stepc_group_init_state or "
                "stepc_group_adopt_state";
    return STEPC_ERR_NOT_BOUND;
  }
  return ok();
}

stepc_status stepc_group_state_dtype(const stepc_group *group,
                                     const char *state_name,
                                     const char **dtype) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(state_name);
  STEPC_CHECK_NOT_NULL(dtype);
  for (const Argument &arg : group->runner.group().args)
    if (arg.role == Role::State && arg.name == state_name) {
      *dtype = arg.storage.c_str();
      return ok();
    }
  return invalid(__func__, "group '" + group->runner.group().name +
                               "' has no state '" + state_name + "'");
}

stepc_status stepc_group_read_state(stepc_group *group, size_t index,
                                    const char *state_name, float *values,
                                    size_t num_values) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(state_name);
  STEPC_CHECK_NOT_NULL(values);
  return report(group->runner.readState(index, state_name, values, num_values));
}

stepc_status stepc_group_write_state(stepc_group *group, size_t index,
                                     const char *state_name,
                                     const float *values, size_t num_values) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(state_name);
  STEPC_CHECK_NOT_NULL(values);
  return report(
      group->runner.writeState(index, state_name, values, num_values));
}

stepc_status stepc_group_set_hyper(stepc_group *group, const char *name,
                                   double value) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  return report(group->runner.setHyper(name, value));
}

stepc_status stepc_group_hyper(const stepc_group *group, const char *name,
                               double *value, int *is_set) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  STEPC_CHECK_NOT_NULL(value);
  STEPC_CHECK_NOT_NULL(is_set);
  bool set = false;
  if (Status s = group->runner.hyper(name, *value, set); !s.ok())
    return report(s);
  *is_set = set ? 1 : 0;
  return ok();
}

stepc_status stepc_group_set_count(stepc_group *group, double count) {
  STEPC_CHECK_NOT_NULL(group);
  return report(group->runner.setCount(count));
}

stepc_status stepc_group_count(const stepc_group *group, double *count) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(count);
  return report(group->runner.count(*count));
}

stepc_status stepc_group_set_num_threads(stepc_group *group, int num_threads) {
  STEPC_CHECK_NOT_NULL(group);
  return report(group->runner.setNumThreads(num_threads));
}

stepc_status stepc_group_step(stepc_group *group) {
  STEPC_CHECK_NOT_NULL(group);
  return report(group->runner.step());
}

stepc_status stepc_group_set_input(stepc_group *group, const char *name,
                                   double value) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  return report(group->runner.setInput(name, value));
}

stepc_status stepc_group_set_scalar_device(stepc_group *group, const char *name,
                                           const float *value) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(name);
  return report(group->runner.setScalarAddress(name, value));
}

stepc_status stepc_group_set_grad_scaling(stepc_group *group,
                                          const float *grad_scale,
                                          const float *found_inf) {
  STEPC_CHECK_NOT_NULL(group);
  return report(group->runner.setGradScaling(grad_scale, found_inf));
}

stepc_status stepc_step_groups(stepc_group *const *groups,
                               size_t num_groups) {
  STEPC_CHECK_NOT_NULL(groups);
  if (num_groups == 0)
    return invalid(__func__, "no groups to step");
  std::vector<GroupRunner *> runners;
  for (size_t i = 0; i < num_groups; ++i) {
    if (!groups[i])
      return invalid(__func__, "groups[" + std::to_string(i) + "] is null");
    runners.push_back(&groups[i]->runner);
  }
  return report(stepTogether(runners));
}

stepc_status stepc_group_total(const stepc_group *group, const char *key,
                               double *value) {
  STEPC_CHECK_NOT_NULL(group);
  STEPC_CHECK_NOT_NULL(key);
  STEPC_CHECK_NOT_NULL(value);
  return report(group->runner.total(key, *value));
}
