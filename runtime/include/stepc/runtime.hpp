//===- stepc/runtime.hpp - C++ over the stepc runtime's C API ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Owning, move-only handles over stepc/runtime.h. Nothing throws: methods
// return false (or a null/empty value) on failure and keep the message in
// the object, so it survives later calls on other objects or threads.
//
//   stepc::Artifact artifact;
//   stepc::Group group;
//   if (!artifact.load("adamw.stepc") || !group.create(artifact, "all"))
//     die(artifact.error() + group.error());
//
// Header-only on purpose: it depends on nothing but the C ABI, so a trainer
// built with another compiler or standard library can use it.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_RUNTIME_HPP
#define STEPC_RT_RUNTIME_HPP

#include "stepc/runtime.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stepc {

/// The last failure of one handle.
class ErrorState {
public:
  /// The message of the last failed call on this object, or "".
  const std::string &error() const { return error_; }
  /// The code of the last call on this object.
  stepc_status status() const { return status_; }

protected:
  bool record(stepc_status status) const {
    status_ = status;
    error_ = status == STEPC_OK ? std::string() : stepc_last_error();
    return status == STEPC_OK;
  }
  bool fail(stepc_status status, std::string message) const {
    status_ = status;
    error_ = std::move(message);
    return false;
  }
  void moveErrorFrom(ErrorState &other) {
    error_ = std::move(other.error_);
    status_ = other.status_;
    other.error_.clear();
    other.status_ = STEPC_OK;
  }

private:
  mutable std::string error_;
  mutable stepc_status status_ = STEPC_OK;
};

class Artifact : public ErrorState {
public:
  Artifact() = default;
  Artifact(Artifact &&other) noexcept : handle_(other.handle_) {
    other.handle_ = nullptr;
    moveErrorFrom(other);
  }
  Artifact &operator=(Artifact &&other) noexcept {
    if (this != &other) {
      stepc_artifact_free(handle_);
      handle_ = other.handle_;
      other.handle_ = nullptr;
      moveErrorFrom(other);
    }
    return *this;
  }
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;
  ~Artifact() { stepc_artifact_free(handle_); }

  /// Replaces whatever this held with the artifact at `path`.
  bool load(const std::string &path) {
    stepc_artifact_free(handle_);
    handle_ = nullptr;
    return record(stepc_artifact_load(path.c_str(), &handle_));
  }

  explicit operator bool() const { return handle_ != nullptr; }
  stepc_artifact *get() const { return handle_; }

  /// 0 when nothing is loaded.
  size_t numGroups() const {
    size_t n = 0;
    record(stepc_artifact_num_groups(handle_, &n));
    return n;
  }
  /// "" when out of range.
  std::string groupName(size_t index) const {
    const char *name = nullptr;
    return record(stepc_artifact_group_name(handle_, index, &name))
               ? std::string(name)
               : std::string();
  }

  /// The spec's optimizer name; "" when nothing is loaded.
  std::string optimizerName() const {
    const char *name = nullptr;
    return record(stepc_artifact_optimizer_name(handle_, &name))
               ? std::string(name)
               : std::string();
  }

  /// The CPU steps' kept temporary buffers (all zero when nothing is
  /// loaded or no group has run on the CPU).
  stepc_scratch_stats scratchStats() const {
    stepc_scratch_stats stats = {0, 0, 0};
    record(stepc_artifact_scratch_stats(handle_, &stats));
    return stats;
  }
  /// Gives the kept buffers back to the C library.
  bool trimScratch() { return record(stepc_artifact_trim_scratch(handle_)); }
  /// How the CPU steps' parallel ranges ran: split among idle threads or
  /// on one thread.
  stepc_parallel_stats parallelStats() const {
    stepc_parallel_stats stats = {0, 0};
    record(stepc_artifact_parallel_stats(handle_, &stats));
    return stats;
  }

private:
  stepc_artifact *handle_ = nullptr;
};

/// A caller-owned contiguous row-major f32 tensor.
struct Tensor {
  float *data = nullptr;
  std::vector<int64_t> shape;
};

class Group : public ErrorState {
public:
  Group() = default;
  Group(Group &&other) noexcept : handle_(other.handle_) {
    other.handle_ = nullptr;
    moveErrorFrom(other);
  }
  Group &operator=(Group &&other) noexcept {
    if (this != &other) {
      stepc_group_free(handle_);
      handle_ = other.handle_;
      other.handle_ = nullptr;
      moveErrorFrom(other);
    }
    return *this;
  }
  Group(const Group &) = delete;
  Group &operator=(const Group &) = delete;
  ~Group() { stepc_group_free(handle_); }

  /// A new instance of group `name`; it stays valid after `artifact` dies.
  /// `paramDtype`: "f32", "bf16" or "f16" (Tensor::data then points to the
  /// 16-bit values).
  bool create(const Artifact &artifact, const std::string &name,
              const std::string &paramDtype) {
    stepc_group_free(handle_);
    handle_ = nullptr;
    return record(stepc_group_create_typed(artifact.get(), name.c_str(),
                                           paramDtype.c_str(), &handle_));
  }
  bool create(const Artifact &artifact, const std::string &name) {
    stepc_group_free(handle_);
    handle_ = nullptr;
    return record(stepc_group_create(artifact.get(), name.c_str(), &handle_));
  }
  /// The same on `device`: "cpu", "cuda" or "cuda:N" (then every tensor
  /// pointer is a device address; see stepc_group_create_on).
  bool createOn(const Artifact &artifact, const std::string &name,
                const std::string &paramDtype, const std::string &device) {
    stepc_group_free(handle_);
    handle_ = nullptr;
    return record(stepc_group_create_on(artifact.get(), name.c_str(),
                                        paramDtype.c_str(), device.c_str(),
                                        &handle_));
  }
  /// "cpu" or "cuda:N"; empty when there is no group.
  std::string device() const {
    const char *name = nullptr;
    return record(stepc_group_device(handle_, &name)) ? name : "";
  }
  /// Which of the artifact's code the group runs ("sm_90a cubin";
  /// stepc_group_code); empty when there is no group.
  std::string code() const {
    const char *text = nullptr;
    return record(stepc_group_code(handle_, &text)) ? text : "";
  }
  /// The CUstream a CUDA group's steps are queued on.
  bool setStream(void *stream) {
    return record(stepc_group_set_stream(handle_, stream));
  }
  /// A CUDA group's hyper or input `name` read from the f32 at device
  /// address `value` when each step runs (null: the host value again).
  bool setScalarDevice(const std::string &name, const float *value) {
    return record(stepc_group_set_scalar_device(handle_, name.c_str(), value));
  }
  /// A CUDA group's grad scale and found-inf (device addresses, or null).
  bool setGradScaling(const float *gradScale, const float *foundInf) {
    return record(stepc_group_set_grad_scaling(handle_, gradScale, foundInf));
  }
  /// Kernel launches so far (one per step on a GPU).
  uint64_t launchCount() const {
    uint64_t count = 0;
    record(stepc_group_launch_count(handle_, &count));
    return count;
  }

  explicit operator bool() const { return handle_ != nullptr; }
  stepc_group *get() const { return handle_; }

  std::vector<std::string> stateNames() const {
    return names(stepc_group_num_states, stepc_group_state_name);
  }
  std::vector<std::string> hyperNames() const {
    return names(stepc_group_num_hypers, stepc_group_hyper_name);
  }
  /// Per-step inputs (e.g. "loss"): set each before every step.
  std::vector<std::string> inputNames() const {
    return names(stepc_group_num_inputs, stepc_group_input_name);
  }
  /// Keys of the global sums: if any, step the group together with the
  /// groups that share them (stepGroups).
  std::vector<std::string> sumKeys() const {
    return names(stepc_group_num_sums, stepc_group_sum_name);
  }

  bool bind(const std::vector<Tensor> &params,
            const std::vector<Tensor> &grads) {
    if (params.size() != grads.size())
      return fail(STEPC_ERR_INVALID_ARGUMENT,
                  std::to_string(params.size()) + " params but " +
                      std::to_string(grads.size()) +
                      " grads: bind one gradient per parameter");
    for (size_t i = 0; i < params.size(); ++i)
      if (grads[i].shape != params[i].shape)
        return fail(STEPC_ERR_SHAPE_MISMATCH,
                    "grad #" + std::to_string(i) +
                        " does not have the shape of its param");
    std::vector<float *> paramData, gradData;
    std::vector<const int64_t *> shapes;
    std::vector<size_t> ranks;
    for (size_t i = 0; i < params.size(); ++i) {
      paramData.push_back(params[i].data);
      gradData.push_back(grads[i].data);
      shapes.push_back(params[i].shape.data());
      ranks.push_back(params[i].shape.size());
    }
    return record(stepc_group_bind(handle_, params.size(), paramData.data(),
                                   gradData.data(), shapes.data(),
                                   ranks.data()));
  }
  bool setGrad(size_t index, float *grad) {
    return record(stepc_group_set_grad(handle_, index, grad));
  }

  bool initState() { return record(stepc_group_init_state(handle_)); }
  bool adoptState(size_t index, const std::string &name, float *data,
                  size_t numElements) {
    return record(stepc_group_adopt_state(handle_, index, name.c_str(), data,
                                          numElements));
  }
  bool stateShape(size_t index, const std::string &name,
                  std::vector<int64_t> &shape) const {
    size_t rank = 0;
    if (!record(stepc_group_state_shape(handle_, index, name.c_str(), nullptr,
                                        &rank)))
      return false;
    shape.assign(rank, 0);
    return record(stepc_group_state_shape(handle_, index, name.c_str(),
                                          shape.data(), &rank));
  }
  /// Null on failure.
  float *stateData(size_t index, const std::string &name) {
    float *data = nullptr;
    record(stepc_group_state_data(handle_, index, name.c_str(), &data));
    return data;
  }

  /// "f32" or "bf16"; empty on failure.
  std::string stateDtype(const std::string &name) const {
    const char *dtype = nullptr;
    if (!record(stepc_group_state_dtype(handle_, name.c_str(), &dtype)))
      return {};
    return dtype;
  }
  /// The state's values as f32, whatever its storage dtype.
  bool readState(size_t index, const std::string &name,
                 std::vector<float> &values) {
    std::vector<int64_t> shape;
    if (!stateShape(index, name, shape))
      return false;
    size_t count = 1;
    for (int64_t d : shape)
      count *= size_t(d);
    values.resize(count);
    return record(stepc_group_read_state(handle_, index, name.c_str(),
                                         values.data(), count));
  }
  bool writeState(size_t index, const std::string &name,
                  const std::vector<float> &values) {
    return record(stepc_group_write_state(handle_, index, name.c_str(),
                                          values.data(), values.size()));
  }

  bool setHyper(const std::string &name, double value) {
    return record(stepc_group_set_hyper(handle_, name.c_str(), value));
  }
  /// The value hyper `name` has for the next step (the last set, else the
  /// spec's default); false if it is unknown or has neither.
  bool hyper(const std::string &name, double &value) const {
    int isSet = 0;
    if (!record(stepc_group_hyper(handle_, name.c_str(), &value, &isSet)))
      return false;
    if (!isSet)
      return fail(STEPC_ERR_NOT_BOUND,
                  "hyper '" + name + "' has no default and was not set");
    return true;
  }
  bool setCount(double count) {
    return record(stepc_group_set_count(handle_, count));
  }
  bool setNumThreads(int numThreads) {
    return record(stepc_group_set_num_threads(handle_, numThreads));
  }
  /// 0 when there is no group.
  double count() const {
    double count = 0.0;
    record(stepc_group_count(handle_, &count));
    return count;
  }

  bool step() { return record(stepc_group_step(handle_)); }

  /// Sets input `name` (e.g. the loss) for the next step only.
  bool setInput(const std::string &name, double value) {
    return record(stepc_group_set_input(handle_, name.c_str(), value));
  }
  /// The total of global sum `key` in the last step; 0 on an error.
  double total(const std::string &key) const {
    double value = 0.0;
    record(stepc_group_total(handle_, key.c_str(), &value));
    return value;
  }

private:
  using CountFn = stepc_status (*)(const stepc_group *, size_t *);
  using NameFn = stepc_status (*)(const stepc_group *, size_t, const char **);
  std::vector<std::string> names(CountFn countFn, NameFn nameFn) const {
    std::vector<std::string> result;
    size_t n = 0;
    if (!record(countFn(handle_, &n)))
      return result;
    for (size_t i = 0; i < n; ++i) {
      const char *name = nullptr;
      if (!record(nameFn(handle_, i, &name)))
        return {};
      result.push_back(name);
    }
    return result;
  }

  stepc_group *handle_ = nullptr;
};

/// One optimizer step of several groups together (stepc_step_groups); on
/// failure `error` says why and no group has stepped.
inline bool stepGroups(const std::vector<Group *> &groups,
                       std::string &error) {
  std::vector<stepc_group *> handles;
  for (Group *group : groups)
    handles.push_back(group ? group->get() : nullptr);
  if (stepc_step_groups(handles.data(), handles.size()) == STEPC_OK)
    return true;
  error = stepc_last_error();
  return false;
}

} // namespace stepc

#endif // STEPC_RT_RUNTIME_HPP
