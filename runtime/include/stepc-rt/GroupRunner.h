//===- GroupRunner.h - step the tensors bound to one group ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Binds parameters and gradients to a group, owns or adopts their state,
// holds the runtime scalars and calls the group's compiled entry once per
// tensor. Every failure returns a Status whose message names the tensor or
// field and what was expected.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_GROUPRUNNER_H
#define STEPC_RT_GROUPRUNNER_H

#include "stepc-rt/Manifest.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stepc::rt {

enum class StatusCode {
  Ok = 0,
  InvalidArgument, ///< a bad call: unknown name, wrong count
  ShapeMismatch,
  DtypeMismatch,
  NotBound,
  IoError,          ///< a file could not be read or written
  FormatError,      ///< an artifact or manifest is malformed
  VersionMismatch,  ///< an artifact from another format or stepc version
  ChecksumMismatch, ///< an artifact's bytes were corrupted
  NoDevice,         ///< the artifact has no code for the requested target
};

struct Status {
  StatusCode code = StatusCode::Ok;
  std::string message;
  bool ok() const { return code == StatusCode::Ok; }
  static Status success() { return {}; }
  static Status error(StatusCode code, std::string message) {
    return {code, std::move(message)};
  }
};

/// A caller-owned tensor: contiguous, row-major. Parameters and gradients
/// hold the runner's parameter dtype (f32, or bf16/f16 bits).
struct TensorRef {
  float *data = nullptr;
  std::vector<int64_t> shape;
};

/// The compiled group: `entry(args)` with args[i] pointing at argument i.
using PackedEntry = void (*)(void **);

/// What a step hands a device: per bound tensor its param, grad and state
/// buffers (device addresses, in argument order) and its element count, and
/// the scalars. The device keeps the count itself.
struct DeviceStep {
  std::vector<std::vector<void *>> buffers;
  std::vector<int64_t> numElements;
  /// Each tensor's shape as the group's function sees it.
  std::vector<std::vector<int64_t>> shapes;
  /// The hypers, then the inputs, in argument order, as f32.
  std::vector<float> scalars;
  /// Per scalar, the device address of an f32 the kernel reads it from when
  /// the step runs, or null for the value in `scalars`.
  std::vector<const void *> scalarAddresses;
  /// Device addresses of the grad scale and of found-inf (f32), or null
  /// (docs/Design/GpuKernels.md, "Step control").
  const void *gradScale = nullptr, *foundInf = nullptr;
};

/// Memory and steps on a device other than the host (CudaExecutor): a
/// runner made with one takes device addresses for every tensor and keeps
/// the states it owns there.
class DeviceExecutor {
public:
  virtual ~DeviceExecutor() = default;
  virtual Status allocate(size_t bytes, void *&buffer) = 0;
  virtual void release(void *buffer) = 0;
  /// Copies wait for the work queued before them (the steps).
  virtual Status copyToHost(void *host, const void *device, size_t bytes) = 0;
  virtual Status copyToDevice(void *device, const void *host,
                              size_t bytes) = 0;
  /// Queues one step of every tensor; it may still run when this returns.
  /// The step advances the device's count, unless found-inf skips it.
  virtual Status step(const DeviceStep &step) = 0;
  /// The count of the last step taken on the device, after the queued
  /// steps; and setting it (e.g. to resume from a checkpoint).
  virtual Status readCount(double &count) = 0;
  virtual Status writeCount(double count) = 0;
  /// The totals of the group's global sums in the last step (in the order
  /// of Group::sumKeys), after it finished: a device that runs sum phases
  /// keeps them (docs/Design/GroupWide.md).
  virtual Status readTotals(std::vector<double> &totals) {
    return Status::error(StatusCode::NoDevice,
                         name() + " does not run global sums");
  }
  /// Ok if this executor's step and `other`'s can be one launch (one
  /// kernel with a slot for each: groups with global sums on a GPU, which
  /// then share the totals; docs/Design/GroupWide.md), else why not.
  virtual Status checkJoint(const DeviceExecutor &other) const {
    return Status::error(StatusCode::InvalidArgument,
                         name() + " steps each group in a launch of its own");
  }
  /// Queues one step of each of `executors` (this one first, the others
  /// checked by checkJoint) with the step of the same index, in one launch.
  virtual Status stepJoint(const std::vector<DeviceExecutor *> &executors,
                           const std::vector<DeviceStep> &steps) {
    if (executors.size() == 1 && steps.size() == 1)
      return step(steps.front());
    return checkJoint(*this);
  }
  /// Kernel launches so far that stepped this executor's group (a joint
  /// launch counts for each group in it).
  virtual uint64_t launchCount() const = 0;
  /// "cuda:0": for messages.
  virtual std::string name() const = 0;
};

class GroupRunner;

/// Steps every runner once, as one optimizer step: first each phase of
/// global sums over the tensors of all of them (a key's total adds every
/// runner's contributions), then every update. Runners on a device whose
/// groups sum share one launch (DeviceExecutor::stepJoint). Checks
/// everything before anything runs, so a failed step changes nothing.
Status stepTogether(const std::vector<GroupRunner *> &runners);

class GroupRunner {
public:
  /// `entry` must be the group's entry for `paramDtype` (Group::entryFor).
  GroupRunner(Group group, PackedEntry entry, std::string paramDtype = "f32");
  /// A runner whose tensors live on `device`: bind, adoptState and
  /// stateData take and give device addresses.
  GroupRunner(Group group, std::unique_ptr<DeviceExecutor> device,
              std::string paramDtype = "f32");
  ~GroupRunner();
  GroupRunner(GroupRunner &&) = default;

  /// The device the tensors live on, or null for host memory.
  DeviceExecutor *device() const { return device_.get(); }
  /// Kernel launches so far on a device (0 on the host).
  uint64_t launchCount() const { return device_ ? device_->launchCount() : 0; }

  const Group &group() const { return group_; }

  /// Binds N parameters and their gradients (same count, same shapes). A
  /// matrix group needs rank-2 tensors; other groups take any rank.
  Status bind(const std::vector<TensorRef> &params,
              const std::vector<TensorRef> &grads);
  /// Points tensor `index`'s gradient somewhere else (same shape).
  Status setGrad(size_t index, const TensorRef &grad);
  /// Sets every state of every bound tensor to its initial value: states the
  /// runner owns are allocated, adopted buffers are overwritten. To resume
  /// from a checkpoint, adopt the restored buffers and skip initState.
  Status initState();
  /// Makes state `name` of tensor `index` live in the caller's `data` (which
  /// must hold `numElements` values of the state's storage dtype, f32 or
  /// bf16 bits, and outlive the binding) instead of a buffer the runner
  /// owns, so a trainer can checkpoint it. The contents are used as they
  /// are; bind() drops every adoption.
  Status adoptState(size_t index, const std::string &name, float *data,
                    size_t numElements);
  /// Number of values state `name` of tensor `index` holds, and its shape.
  Status stateShape(size_t index, const std::string &name,
                    std::vector<int64_t> &shape) const;
  /// The buffer state `name` of tensor `index` lives in (the runner's own
  /// after initState, or the adopted one), or null if it has neither. It
  /// holds the state's storage dtype: f32, or bf16 bits for `store(bf16)`.
  float *stateData(size_t index, const std::string &name);
  /// Copies the state's `numValues` values out as f32 (widening bf16), or
  /// in from f32 (rounding to bf16 where stored so): a checkpoint format
  /// that does not depend on the storage dtype.
  Status readState(size_t index, const std::string &name, float *values,
                   size_t numValues) {
    return copyState(index, name, values, nullptr, numValues);
  }
  Status writeState(size_t index, const std::string &name,
                    const float *values, size_t numValues) {
    return copyState(index, name, nullptr, values, numValues);
  }
  /// Number of tensors bound.
  size_t numBound() const { return bindings_.size(); }

  Status setHyper(const std::string &name, double value);
  /// The value hyper `name` has for the next step (the last set, else the
  /// default); `isSet` is false when there is neither.
  Status hyper(const std::string &name, double &value, bool &isSet) const;
  /// The step count of the last step taken; the next step is count()+1.
  /// On a device the count lives there (a step skipped for found-inf does
  /// not advance it): reading it waits for the queued steps.
  Status count(double &value) const;
  Status setCount(double count);

  /// On a device: hyper or input `name` is read, when each step runs, from
  /// the f32 at device address `address` (null: from the host value again),
  /// so that a captured CUDA graph follows the caller's changes to it. An
  /// input read from the device needs no setInput before each step.
  Status setScalarAddress(const std::string &name, const float *address);
  /// On a device, for mixed precision: gradients are divided by the f32 at
  /// `gradScale`, and a step runs only while the f32 at `foundInf` is 0
  /// (device addresses; null: none).
  Status setGradScaling(const float *gradScale, const float *foundInf);

  /// Sets input `name` (e.g. the loss) for the next step only: every step
  /// consumes the inputs, and one that was not set is an error.
  Status setInput(const std::string &name, double value);

  /// The entries of the group's sum phases (Group::sumPhases) for the
  /// runner's param dtype; a group with global sums needs them on the host.
  Status setSumEntries(std::vector<PackedEntry> entries);
  /// The total of global sum `key` in the last step taken.
  Status total(const std::string &key, double &value) const;

  /// Takes one step on every bound tensor; global sums total this group's
  /// tensors only (stepTogether sums over several groups).
  Status step();

  /// Threads a step may use. Tensors are stepped in parallel, and the
  /// tensors of an element-wise group in chunks of kChunkElements.
  Status setNumThreads(int numThreads);
  int numThreads() const { return numThreads_; }
  static constexpr int64_t kChunkElements = int64_t(1) << 20;

private:
  struct Binding {
    TensorRef param, grad;
    std::vector<int64_t> viewShape; ///< rank 1 or 2, as the group sees it
    /// Per state: where it lives (null until initialized or adopted), the
    /// runner's storage when not adopted, and the shape the entry sees.
    std::vector<float *> stateBuffers;
    std::vector<std::shared_ptr<void>> ownedStates;
    std::vector<std::vector<int64_t>> stateShapes;
  };
  /// Reads into `out` when it is given, else writes from `in`.
  Status copyState(size_t index, const std::string &name, float *out,
                   const float *in, size_t numValues);
  /// The index of argument `name` among those with `role` (hypers,
  /// inputs), or an error listing them.
  Status argumentSlot(Role role, const std::string &name, size_t &slot) const;
  Status checkedStateSlot(size_t index, const std::string &name,
                          int &slot) const;
  Status checkedView(const TensorRef &tensor, const std::string &what,
                     std::vector<int64_t> &view) const;
  std::vector<int64_t> stateShapeFor(const Argument &state,
                                     const std::vector<int64_t> &view) const;
  /// A zeroed buffer of `bytes` on the host or the device.
  Status allocateState(size_t bytes, std::shared_ptr<void> &out);
  /// Copies between runner memory (host or device) and the host.
  Status readBytes(void *host, const void *buffer, size_t bytes) const;
  Status writeBytes(void *buffer, const void *host, size_t bytes) const;
  /// What the device steps: the bound buffers and the scalars.
  DeviceStep deviceStep() const;
  /// An error unless the runner's tensors live on a device.
  Status checkOnDevice(const std::string &what) const;
  /// Whether the runner's kernel runs global sums on its device.
  bool sumsOnDevice() const { return device_ && !group_.sumPhases.empty(); }
  /// Everything a step needs is there: bindings, states, hypers, inputs.
  Status checkReady() const;
  /// The hypers, inputs and, on the host, the count (a device keeps its
  /// own), in argument order.
  std::vector<float> scalarArgs() const;
  /// Runs `run(0)` .. `run(numItems - 1)` on up to numThreads_ threads.
  void forEach(size_t numItems, const std::function<void(size_t)> &run) const;
  /// Calls `entry` on elements [offset, offset + length) of tensor
  /// `binding` with `scalars`, then `numOuts` f32 out-pointers from `outs`.
  void callEntry(PackedEntry entry, size_t binding, int64_t offset,
                 int64_t length, std::vector<float> scalars, float *outs,
                 size_t numOuts) const;
  /// Sums every tensor's contributions to the keys of sum phase `phase`
  /// (0-based); `scalars` ends with the earlier phases' totals.
  void runSumPhase(size_t phase, std::vector<float> scalars,
                   std::vector<double> &sums) const;
  /// The update of every tensor; `scalars` ends with every total.
  Status runMain(std::vector<float> scalars);
  friend Status stepTogether(const std::vector<GroupRunner *> &runners);

  /// Before bindings_, so that device states are freed while it lives.
  std::unique_ptr<DeviceExecutor> device_;
  Group group_;
  PackedEntry entry_;
  std::vector<Binding> bindings_;
  std::vector<double> hypers_; ///< one per hyper argument, in order
  std::vector<bool> hyperSet_;
  std::vector<double> inputs_; ///< one per input argument, in order
  std::vector<bool> inputSet_;
  /// On a device: per hyper and per input, where the kernel reads it, or
  /// null for the host value.
  std::vector<const void *> hyperAddresses_, inputAddresses_;
  const void *gradScale_ = nullptr, *foundInf_ = nullptr;
  std::vector<PackedEntry> sumEntries_;
  /// Each key's total in the last step; on a device, read from it when
  /// first asked for (deviceTotalsPending_).
  mutable std::vector<std::pair<std::string, double>> totals_;
  mutable bool deviceTotalsPending_ = false;
  double count_ = 0.0;
  int numThreads_ = 1;
  std::string paramDtype_;
  int64_t paramBytes_ = 4; ///< bytes per parameter and gradient element
  std::vector<int64_t> stateBytes_; ///< bytes per element of each state
};

} // namespace stepc::rt

#endif // STEPC_RT_GROUPRUNNER_H
