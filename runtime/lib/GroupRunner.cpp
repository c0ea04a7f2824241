//===- GroupRunner.cpp - step the tensors bound to one group ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/GroupRunner.h"
#include "stepc-rt/ParallelRanges.h"
#include "stepc-rt/WorkerPool.h"

#include "stepc-rt/HalfFloat.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>

using namespace stepc::rt;

namespace {
/// MLIR's memref descriptor for ranks 0 to 2: sizes, then strides.
struct MemRefDescriptor {
  void *allocated = nullptr;
  void *aligned = nullptr;
  int64_t offset = 0;
  int64_t sizesAndStrides[4] = {0, 0, 0, 0};
};

MemRefDescriptor describe(void *data, const std::vector<int64_t> &shape) {
  MemRefDescriptor desc;
  desc.allocated = desc.aligned = data;
  size_t rank = shape.size();
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    desc.sizesAndStrides[i] = shape[i];
    desc.sizesAndStrides[rank + i] = stride;
    stride *= shape[i];
  }
  return desc;
}

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Element `i` of a parameter stored as f32 (4 bytes) or bf16/f16 bits.
double decodeParam(const void *data, int64_t i, int64_t bytes, bool isF16) {
  if (bytes == 4)
    return static_cast<const float *>(data)[i];
  uint16_t bits = static_cast<const uint16_t *>(data)[i];
  return isF16 ? fromF16Bits(bits) : fromBf16Bits(bits);
}

/// Bytes per element of a state stored as `storage`.
int64_t storageBytes(const std::string &storage) {
  return storage == "bf16" ? 2 : 4;
}

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << (shape.size() == 1 ? ",)" : ")");
  return os.str();
}
} // namespace

GroupRunner::GroupRunner(Group group, PackedEntry entry, std::string paramDtype)
    : group_(std::move(group)), entry_(entry),
      paramDtype_(std::move(paramDtype)),
      paramBytes_(paramDtype_ == "f32" ? 4 : 2) {
  size_t numHypers = group_.indicesOf(Role::Hyper).size();
  hypers_.assign(numHypers, 0.0);
  hyperSet_.assign(numHypers, false);
  size_t h = 0;
  for (const Argument &arg : group_.args)
    if (arg.role == Role::Hyper) {
      hypers_[h] = arg.defaultValue;
      hyperSet_[h] = arg.hasDefault;
      ++h;
    }
  for (size_t index : group_.indicesOf(Role::State))
    stateBytes_.push_back(storageBytes(group_.args[index].storage));
  size_t numInputs = group_.indicesOf(Role::Input).size();
  inputs_.assign(numInputs, 0.0);
  inputSet_.assign(numInputs, false);
  hyperAddresses_.assign(numHypers, nullptr);
  inputAddresses_.assign(numInputs, nullptr);
}

GroupRunner::GroupRunner(Group group, std::unique_ptr<DeviceExecutor> device,
                         std::string paramDtype)
    : GroupRunner(std::move(group), PackedEntry(nullptr),
                  std::move(paramDtype)) {
  device_ = std::move(device);
}

GroupRunner::~GroupRunner() = default;

Status GroupRunner::allocateState(size_t bytes, std::shared_ptr<void> &out) {
  if (!device_) {
    // Whole floats, so a bf16 state is 4-byte aligned too.
    out.reset(new float[(bytes + 3) / 4](),
              [](void *p) { delete[] static_cast<float *>(p); });
    return Status::success();
  }
  void *buffer = nullptr;
  if (Status s = device_->allocate(bytes, buffer); !s.ok())
    return s;
  DeviceExecutor *device = device_.get();
  out.reset(buffer, [device](void *p) { device->release(p); });
  return Status::success();
}

Status GroupRunner::readBytes(void *host, const void *buffer,
                              size_t bytes) const {
  if (device_)
    return device_->copyToHost(host, buffer, bytes);
  std::memcpy(host, buffer, bytes);
  return Status::success();
}

Status GroupRunner::writeBytes(void *buffer, const void *host,
                               size_t bytes) const {
  if (device_)
    return device_->copyToDevice(buffer, host, bytes);
  std::memcpy(buffer, host, bytes);
  return Status::success();
}

Status GroupRunner::checkedView(const TensorRef &tensor, const std::string &what,
                                std::vector<int64_t> &view) const {
  if (!tensor.data)
    return Status::error(StatusCode::InvalidArgument, what + " has no data");
  int64_t count = 1;
  for (int64_t d : tensor.shape) {
    if (d <= 0)
      return Status::error(StatusCode::ShapeMismatch,
                           what + " has shape " + shapeToString(tensor.shape) +
                               "; every dimension must be positive");
    // Element counts feed byte sizes and strides; a product that overflows
    // would make the entry stream out of bounds.
    if (count > INT64_MAX / int64_t(sizeof(float)) / d)
      return Status::error(StatusCode::ShapeMismatch,
                           what + " has shape " + shapeToString(tensor.shape) +
                               "; it has too many elements to address");
    count *= d;
  }
  if (!group_.matrix) {
    view = {numElements(tensor.shape)};
    return Status::success();
  }
  if (tensor.shape.size() != 2)
    return Status::error(
        StatusCode::ShapeMismatch,
        what + " has shape " + shapeToString(tensor.shape) + " but group '" +
            group_.name + "' accepts matrices: pass a rank-2 tensor");
  view = tensor.shape;
  return Status::success();
}

Status GroupRunner::bind(const std::vector<TensorRef> &params,
                         const std::vector<TensorRef> &grads) {
  if (params.size() != grads.size())
    return Status::error(StatusCode::InvalidArgument,
                         std::to_string(params.size()) + " params but " +
                             std::to_string(grads.size()) +
                             " grads: bind one gradient per parameter");
  if (params.empty())
    return Status::error(StatusCode::InvalidArgument,
                         "bind needs at least one parameter");
  if (!group_.takesDtype(paramDtype_))
    return Status::error(StatusCode::DtypeMismatch,
                         "group '" + group_.name + "' does not take " +
                             paramDtype_ + " parameters");
  std::vector<Binding> bindings(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    std::string index = std::to_string(i);
    Binding &b = bindings[i];
    if (Status s = checkedView(params[i], "param #" + index, b.viewShape);
        !s.ok())
      return s;
    if (grads[i].shape != params[i].shape)
      return Status::error(StatusCode::ShapeMismatch,
                           "grad #" + index + " has shape " +
                               shapeToString(grads[i].shape) +
                               " but its param has shape " +
                               shapeToString(params[i].shape));
    if (!grads[i].data)
      return Status::error(StatusCode::InvalidArgument,
                           "grad #" + index + " has no data");
    b.param = params[i];
    b.grad = grads[i];
    for (size_t index : group_.indicesOf(Role::State))
      b.stateShapes.push_back(stateShapeFor(group_.args[index], b.viewShape));
    b.stateBuffers.assign(b.stateShapes.size(), nullptr);
    b.ownedStates.resize(b.stateShapes.size());
  }
  bindings_ = std::move(bindings);
  return Status::success();
}

Status GroupRunner::setGrad(size_t index, const TensorRef &grad) {
  if (index >= bindings_.size())
    return Status::error(StatusCode::InvalidArgument,
                         "no tensor #" + std::to_string(index) + " is bound");
  if (grad.shape != bindings_[index].param.shape || !grad.data)
    return Status::error(StatusCode::ShapeMismatch,
                         "grad #" + std::to_string(index) + " has shape " +
                             shapeToString(grad.shape) + ", expected " +
                             shapeToString(bindings_[index].param.shape));
  bindings_[index].grad = grad;
  return Status::success();
}

std::vector<int64_t>
GroupRunner::stateShapeFor(const Argument &state,
                           const std::vector<int64_t> &view) const {
  // The per-row, per-column and long-axis layouts only exist for matrix
  // groups; a flattened view has no second axis to read.
  if (view.size() < 2 && state.layout != Layout::PerTensor)
    return view;
  switch (state.layout) {
  case Layout::Full:
    return view;
  case Layout::PerRow:
    return {view[0], 1};
  case Layout::PerCol:
    return {1, view[1]};
  case Layout::PerTensor:
    return {};
  case Layout::LongAxis:
    return {std::max(view[0], view[1])};
  case Layout::RowsSquare:
    return {view[0], view[0]};
  case Layout::ColsSquare:
    return {view[1], view[1]};
  }
  return view;
}

Status GroupRunner::initState() {
  if (bindings_.empty())
    return Status::error(StatusCode::NotBound, "bind tensors before initState");
  std::vector<size_t> stateIndices = group_.indicesOf(Role::State);
  for (Binding &b : bindings_) {
    for (size_t slot = 0; slot < stateIndices.size(); ++slot) {
      const Argument &state = group_.args[stateIndices[slot]];
      double value = 0.0;
      switch (state.init) {
      case StateInit::Zeros:
      case StateInit::Identity: // zeros, then the diagonal below
        break;
      case StateInit::Ones:
        value = 1.0;
        break;
      case StateInit::Constant:
        value = state.initValue;
        break;
      case StateInit::ParamNorm: {
        int64_t n = numElements(b.viewShape);
        std::vector<char> host(size_t(n * paramBytes_));
        if (Status s = readBytes(host.data(), b.param.data, host.size());
            !s.ok())
          return s;
        double sum = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          double x = decodeParam(host.data(), i, paramBytes_,
                                 paramDtype_ == "f16");
          sum += x * x;
        }
        value = std::sqrt(sum);
        break;
      }
      }
      size_t size = size_t(numElements(b.stateShapes[slot]));
      size_t bytes = size * size_t(storageBytes(state.storage));
      bool adopted = b.stateBuffers[slot] &&
                     b.stateBuffers[slot] != b.ownedStates[slot].get();
      if (!adopted) {
        if (Status s = allocateState(bytes, b.ownedStates[slot]); !s.ok())
          return s;
        b.stateBuffers[slot] = static_cast<float *>(b.ownedStates[slot].get());
      }
      std::vector<char> fill(bytes);
      if (state.storage == "bf16") {
        auto *bits = reinterpret_cast<uint16_t *>(fill.data());
        std::fill(bits, bits + size, toBf16Bits(float(value)));
      } else {
        auto *values = reinterpret_cast<float *>(fill.data());
        std::fill(values, values + size, float(value));
      }
      if (state.init == StateInit::Identity) {
        // A square state: side x side, row-major.
        size_t side = size_t(b.stateShapes[slot].at(0));
        size_t elementBytes = size_t(storageBytes(state.storage));
        for (size_t i = 0; i < side; ++i) {
          char *element = fill.data() + (i * side + i) * elementBytes;
          if (state.storage == "bf16") {
            uint16_t one = toBf16Bits(1.0f);
            std::memcpy(element, &one, sizeof(one));
          } else {
            float one = 1.0f;
            std::memcpy(element, &one, sizeof(one));
          }
        }
      }
      if (Status s = writeBytes(b.stateBuffers[slot], fill.data(), bytes);
          !s.ok())
        return s;
    }
  }
  return Status::success();
}

static int stateSlot(const Group &group, const std::string &name) {
  int slot = 0;
  for (const Argument &arg : group.args) {
    if (arg.role != Role::State)
      continue;
    if (arg.name == name)
      return slot;
    ++slot;
  }
  return -1;
}

Status GroupRunner::checkedStateSlot(size_t index, const std::string &name,
                                     int &slot) const {
  slot = stateSlot(group_, name);
  if (slot < 0)
    return Status::error(StatusCode::InvalidArgument,
                         "group '" + group_.name + "' has no state '" + name +
                             "'");
  if (index >= bindings_.size())
    return Status::error(StatusCode::InvalidArgument,
                         "no tensor #" + std::to_string(index) + " is bound");
  return Status::success();
}

Status GroupRunner::stateShape(size_t index, const std::string &name,
                               std::vector<int64_t> &shape) const {
  int slot;
  if (Status s = checkedStateSlot(index, name, slot); !s.ok())
    return s;
  const Argument &state = group_.args[group_.indicesOf(Role::State)[slot]];
  // A state shaped like its parameter is reported in the caller's shape,
  // even where the group sees the tensor flattened.
  shape = state.layout == Layout::Full ? bindings_[index].param.shape
                                       : bindings_[index].stateShapes[slot];
  return Status::success();
}

Status GroupRunner::adoptState(size_t index, const std::string &name,
                               float *data, size_t numElementsGiven) {
  int slot;
  if (Status s = checkedStateSlot(index, name, slot); !s.ok())
    return s;
  std::string what = "state '" + name + "' of tensor #" + std::to_string(index);
  if (!data)
    return Status::error(StatusCode::InvalidArgument,
                         what + ": the adopted buffer is null");
  Binding &b = bindings_[index];
  std::vector<int64_t> shape;
  if (Status s = stateShape(index, name, shape); !s.ok())
    return s;
  size_t expected = size_t(numElements(b.stateShapes[slot]));
  if (numElementsGiven != expected)
    return Status::error(StatusCode::ShapeMismatch,
                         what + " holds " + std::to_string(expected) +
                             " values (shape " + shapeToString(shape) +
                             ") but the adopted buffer has " +
                             std::to_string(numElementsGiven));
  b.stateBuffers[slot] = data;
  // The runner's copy is dead once adopted; release it.
  b.ownedStates[slot].reset();
  return Status::success();
}

Status GroupRunner::copyState(size_t index, const std::string &name,
                              float *out, const float *in, size_t numValues) {
  int slot;
  if (Status s = checkedStateSlot(index, name, slot); !s.ok())
    return s;
  std::string what = "state '" + name + "' of tensor #" + std::to_string(index);
  Binding &b = bindings_[index];
  size_t size = size_t(numElements(b.stateShapes[slot]));
  if (numValues != size)
    return Status::error(StatusCode::ShapeMismatch,
                         what + " holds " + std::to_string(size) +
                             " values but the buffer has " +
                             std::to_string(numValues));
  if (!out && !in)
    return Status::error(StatusCode::InvalidArgument,
                         what + ": the buffer is null");
  if (!b.stateBuffers[slot])
    return Status::error(StatusCode::NotBound,
                         what + " is not initialized: call initState or "
                                "adopt a buffer");
  const Argument &state = group_.args[group_.indicesOf(Role::State)[slot]];
  float *buffer = b.stateBuffers[slot];
  if (state.storage != "bf16") {
    if (out)
      return readBytes(out, buffer, size * sizeof(float));
    return writeBytes(buffer, in, size * sizeof(float));
  }
  std::vector<uint16_t> bits(size);
  if (out) {
    if (Status s = readBytes(bits.data(), buffer, size * 2); !s.ok())
      return s;
    for (size_t i = 0; i < size; ++i)
      out[i] = fromBf16Bits(bits[i]);
    return Status::success();
  }
  for (size_t i = 0; i < size; ++i)
    bits[i] = toBf16Bits(in[i]);
  return writeBytes(buffer, bits.data(), size * 2);
}

float *GroupRunner::stateData(size_t index, const std::string &name) {
  int slot = stateSlot(group_, name);
  if (slot < 0 || index >= bindings_.size())
    return nullptr;
  return bindings_[index].stateBuffers[slot];
}

Status GroupRunner::argumentSlot(Role role, const std::string &name,
                                 size_t &slot) const {
  size_t index = 0;
  std::string known;
  for (const Argument &arg : group_.args) {
    if (arg.role != role)
      continue;
    if (arg.name == name) {
      slot = index;
      return Status::success();
    }
    known += (known.empty() ? "" : ", ") + arg.name;
    ++index;
  }
  return Status::error(StatusCode::InvalidArgument,
                       "group '" + group_.name + "' has no " + toString(role) +
                           " '" + name + "' (it has: " +
                           (known.empty() ? "none" : known) + ")");
}

Status GroupRunner::setHyper(const std::string &name, double value) {
  size_t slot = 0;
  if (Status s = argumentSlot(Role::Hyper, name, slot); !s.ok())
    return s;
  hypers_[slot] = value;
  hyperSet_[slot] = true;
  return Status::success();
}

Status GroupRunner::hyper(const std::string &name, double &value,
                          bool &isSet) const {
  size_t slot = 0;
  if (Status s = argumentSlot(Role::Hyper, name, slot); !s.ok())
    return s;
  isSet = hyperSet_[slot];
  value = isSet ? hypers_[slot] : 0.0;
  return Status::success();
}

Status GroupRunner::setNumThreads(int numThreads) {
  if (numThreads < 1)
    return Status::error(StatusCode::InvalidArgument,
                         "the thread count must be at least 1, got " +
                             std::to_string(numThreads));
  numThreads_ = numThreads;
  return Status::success();
}

Status GroupRunner::setInput(const std::string &name, double value) {
  size_t slot = 0;
  if (Status s = argumentSlot(Role::Input, name, slot); !s.ok())
    return s;
  inputs_[slot] = value;
  inputSet_[slot] = true;
  return Status::success();
}

Status GroupRunner::checkOnDevice(const std::string &what) const {
  if (device_)
    return Status::success();
  return Status::error(StatusCode::InvalidArgument,
                       what + " needs a group on a CUDA device; group '" +
                           group_.name + "' steps on the host");
}

Status GroupRunner::setScalarAddress(const std::string &name,
                                     const float *address) {
  if (Status s = checkOnDevice("reading a scalar from device memory"); !s.ok())
    return s;
  size_t slot = 0;
  if (argumentSlot(Role::Hyper, name, slot).ok()) {
    hyperAddresses_[slot] = address;
    return Status::success();
  }
  if (argumentSlot(Role::Input, name, slot).ok()) {
    inputAddresses_[slot] = address;
    return Status::success();
  }
  std::string known;
  for (const Argument &arg : group_.args)
    if (arg.role == Role::Hyper || arg.role == Role::Input)
      known += (known.empty() ? "" : ", ") + arg.name;
  return Status::error(
      StatusCode::InvalidArgument,
      "group '" + group_.name + "' has no hyper or input '" + name +
          "' (it has: " + (known.empty() ? "none" : known) + ")");
}

Status GroupRunner::setGradScaling(const float *gradScale,
                                   const float *foundInf) {
  if (Status s = checkOnDevice("gradient scaling"); !s.ok())
    return s;
  gradScale_ = gradScale;
  foundInf_ = foundInf;
  return Status::success();
}

Status GroupRunner::count(double &value) const {
  if (device_)
    return device_->readCount(value);
  value = count_;
  return Status::success();
}

Status GroupRunner::setCount(double count) {
  if (!(count >= 0.0) || count != std::floor(count) || count > 0x1p53) {
    std::ostringstream text;
    text << count;
    return Status::error(StatusCode::InvalidArgument,
                         "a step count is a whole number from 0 to 2^53, "
                         "not " +
                             text.str());
  }
  if (device_)
    return device_->writeCount(count);
  count_ = count;
  return Status::success();
}

Status GroupRunner::total(const std::string &key, double &value) const {
  if (deviceTotalsPending_) {
    std::vector<double> values;
    if (Status s = device_->readTotals(values); !s.ok())
      return s;
    std::vector<std::string> keys = group_.sumKeys();
    totals_.clear();
    for (size_t k = 0; k < keys.size() && k < values.size(); ++k)
      totals_.emplace_back(keys[k], values[k]);
    deviceTotalsPending_ = false;
  }
  for (const auto &[name, total] : totals_)
    if (name == key) {
      value = total;
      return Status::success();
    }
  std::vector<std::string> keys = group_.sumKeys();
  if (std::find(keys.begin(), keys.end(), key) != keys.end())
    return Status::error(StatusCode::NotBound,
                         "no step has totalled '" + key + "' yet");
  std::string known;
  for (const std::string &k : keys)
    known += (known.empty() ? "" : ", ") + k;
  return Status::error(StatusCode::InvalidArgument,
                       "group '" + group_.name + "' sums no key '" + key +
                           "' (it sums: " + (known.empty() ? "none" : known) +
                           ")");
}

Status GroupRunner::setSumEntries(std::vector<PackedEntry> entries) {
  if (entries.size() != group_.sumPhases.size())
    return Status::error(StatusCode::InvalidArgument,
                         "group '" + group_.name + "' has " +
                             std::to_string(group_.sumPhases.size()) +
                             " sum phases, got " +
                             std::to_string(entries.size()) + " entries");
  sumEntries_ = std::move(entries);
  return Status::success();
}

Status GroupRunner::checkReady() const {
  if (bindings_.empty())
    return Status::error(StatusCode::NotBound, "no tensors are bound");
  std::vector<size_t> stateIndices = group_.indicesOf(Role::State);
  for (size_t i = 0; i < bindings_.size(); ++i)
    for (size_t slot = 0; slot < stateIndices.size(); ++slot)
      if (!bindings_[i].stateBuffers[slot])
        return Status::error(
            StatusCode::NotBound,
            "state '" + group_.args[stateIndices[slot]].name + "' of tensor #" +
                std::to_string(i) +
                " is not initialized: call initState or adopt a buffer");
  size_t h = 0, in = 0;
  for (const Argument &arg : group_.args) {
    if (arg.role == Role::Hyper && !hyperSet_[h++])
      return Status::error(StatusCode::NotBound,
                           "hyper '" + arg.name +
                               "' has no default and was not set");
    if (arg.role == Role::Input && !inputSet_[in] && !inputAddresses_[in++])
      return Status::error(StatusCode::NotBound,
                           "input '" + arg.name + "' of group '" +
                               group_.name +
                               "' was not set for this step (every step "
                               "consumes its inputs: set it before each one)");
  }
  if (!device_ && sumEntries_.size() != group_.sumPhases.size())
    return Status::error(StatusCode::FormatError,
                         "group '" + group_.name +
                             "' has global sums but no entries for them");
  return Status::success();
}

std::vector<float> GroupRunner::scalarArgs() const {
  std::vector<float> scalars;
  size_t h = 0, in = 0;
  for (const Argument &arg : group_.args) {
    if (arg.role == Role::Hyper)
      scalars.push_back(float(hypers_[h++]));
    else if (arg.role == Role::Input)
      scalars.push_back(float(inputs_[in++]));
    else if (arg.role == Role::Count && !device_)
      scalars.push_back(float(count_));
  }
  return scalars;
}

void GroupRunner::forEach(size_t numItems,
                          const std::function<void(size_t)> &run) const {
  size_t numWorkers =
      std::max<size_t>(std::min<size_t>(numThreads_, numItems), 1);
  // The threads the items leave idle, and each worker once the items run
  // out, join the items' matrix products (ParallelRanges.h).
  CoreBudget budget(numThreads_ - int(numWorkers));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    CoreBudget::Use use(budget);
    for (size_t i = next++; i < numItems; i = next++)
      run(i);
    budget.give(1);
  };
  if (numWorkers == 1) {
    worker();
    return;
  }
  // The pool's threads (WorkerPool.h); the workers use this frame, so it
  // waits for every one of them.
  JobLatch workers(numWorkers - 1);
  WorkerPool &pool = WorkerPool::shared();
  for (size_t t = 1; t < numWorkers; ++t)
    if (!pool.submit([&] {
          worker();
          workers.countDown();
        }))
      workers.countDown(); // this thread's worker takes its items
  worker();
  workers.wait();
}

void GroupRunner::callEntry(PackedEntry entry, size_t binding, int64_t offset,
                            int64_t length, std::vector<float> scalars,
                            float *outs, size_t numOuts) const {
  const Binding &b = bindings_[binding];
  bool whole = offset == 0 && length == numElements(b.viewShape);
  // A chunk starts `offset` elements in: count bytes, as params and grads
  // may be 2-byte types.
  auto view = [&](void *data, int64_t bytes,
                  const std::vector<int64_t> &shape) {
    return whole ? describe(data, shape)
                 : describe(static_cast<char *>(data) + offset * bytes,
                            {length});
  };
  std::vector<MemRefDescriptor> descriptors;
  descriptors.reserve(2 + b.stateBuffers.size() + numOuts);
  descriptors.push_back(view(b.param.data, paramBytes_, b.viewShape));
  descriptors.push_back(view(b.grad.data, paramBytes_, b.viewShape));
  for (size_t s = 0; s < b.stateBuffers.size(); ++s)
    descriptors.push_back(
        view(b.stateBuffers[s],
             stateBytes_[s],
             b.stateShapes[s]));
  size_t firstOut = descriptors.size();
  for (size_t k = 0; k < numOuts; ++k)
    descriptors.push_back(describe(outs + k, {}));
  // The C interface takes each memref as a pointer to its descriptor.
  std::vector<MemRefDescriptor *> pointers;
  for (MemRefDescriptor &desc : descriptors)
    pointers.push_back(&desc);
  std::vector<void *> args;
  for (size_t i = 0; i < firstOut; ++i)
    args.push_back(&pointers[i]);
  for (float &value : scalars)
    args.push_back(&value);
  for (size_t k = 0; k < numOuts; ++k)
    args.push_back(&pointers[firstOut + k]);
  entry(args.data());
}

void GroupRunner::runSumPhase(size_t phase, std::vector<float> scalars,
                              std::vector<double> &sums) const {
  size_t numKeys = group_.sumPhases[phase].keys.size();
  std::vector<float> contributions(bindings_.size() * numKeys, 0.0f);
  // Whole tensors: a contribution may be any function of its tensor.
  forEach(bindings_.size(), [&](size_t i) {
    callEntry(sumEntries_[phase], i, 0, numElements(bindings_[i].viewShape),
              scalars, &contributions[i * numKeys], numKeys);
  });
  // In binding order, in f64: the same total for any thread count.
  sums.assign(numKeys, 0.0);
  for (size_t i = 0; i < bindings_.size(); ++i)
    for (size_t k = 0; k < numKeys; ++k)
      sums[k] += contributions[i * numKeys + k];
}

Status GroupRunner::runMain(std::vector<float> scalars) {
  if (device_)
    return device_->step(deviceStep());
  // Work items: one per tensor, or chunks of element-wise tensors when
  // several threads share the step (each element depends on its own inputs
  // only, so any split is exact).
  struct Item {
    size_t binding;
    int64_t offset, length; ///< elements of a flattened element-wise view
  };
  std::vector<Item> items;
  bool split = numThreads_ > 1 && group_.elementwise;
  for (size_t i = 0; i < bindings_.size(); ++i) {
    int64_t n = numElements(bindings_[i].viewShape);
    int64_t chunk = split ? kChunkElements : n;
    for (int64_t offset = 0; offset < n; offset += chunk)
      items.push_back({i, offset, std::min(chunk, n - offset)});
  }
  forEach(items.size(), [&](size_t i) {
    callEntry(entry_, items[i].binding, items[i].offset, items[i].length,
              scalars, nullptr, 0);
  });
  return Status::success();
}

Status GroupRunner::step() { return stepTogether({this}); }

Status stepc::rt::stepTogether(const std::vector<GroupRunner *> &runners) {
  if (runners.empty())
    return Status::error(StatusCode::InvalidArgument, "no groups to step");
  // Each key is totalled in one phase, whichever group sums it.
  std::map<std::string, std::pair<size_t, std::string>> phaseOfKey;
  size_t numPhases = 0;
  for (size_t r = 0; r < runners.size(); ++r) {
    GroupRunner *runner = runners[r];
    if (!runner)
      return Status::error(StatusCode::InvalidArgument,
                           "group #" + std::to_string(r) + " is null");
    if (std::find(runners.begin(), runners.begin() + r, runner) !=
        runners.begin() + r)
      return Status::error(StatusCode::InvalidArgument,
                           "group '" + runner->group_.name +
                               "' is listed twice; a step updates it once");
    if (Status s = runner->checkReady(); !s.ok())
      return s;
    const std::vector<SumPhase> &phases = runner->group_.sumPhases;
    numPhases = std::max(numPhases, phases.size());
    for (size_t p = 0; p < phases.size(); ++p)
      for (const std::string &key : phases[p].keys) {
        auto [it, inserted] =
            phaseOfKey.try_emplace(key, p, runner->group_.name);
        if (!inserted && it->second.first != p)
          return Status::error(
              StatusCode::InvalidArgument,
              "key '" + key + "' is totalled in phase " +
                  std::to_string(p + 1) + " by group '" +
                  runner->group_.name + "' but in phase " +
                  std::to_string(it->second.first + 1) + " by group '" +
                  it->second.second + "'; they cannot step together");
      }
  }

  // The groups that sum on a device share a kernel's launch, and with it
  // the totals; they cannot share them with groups summing on the host.
  std::vector<GroupRunner *> joint;
  const GroupRunner *hostSummer = nullptr;
  for (GroupRunner *runner : runners) {
    if (runner->sumsOnDevice())
      joint.push_back(runner);
    else if (!runner->group_.sumPhases.empty())
      hostSummer = runner;
  }
  if (!joint.empty() && hostSummer)
    return Status::error(
        StatusCode::InvalidArgument,
        "group '" + joint.front()->group_.name + "' sums on " +
            joint.front()->device_->name() + " and group '" +
            hostSummer->group_.name +
            "' on the host: groups stepped together total their sums on one "
            "device");
  for (size_t j = 1; j < joint.size(); ++j)
    for (size_t i = 0; i < j; ++i)
      if (Status s = joint[i]->device_->checkJoint(*joint[j]->device_); !s.ok())
        return Status::error(s.code,
                             "groups '" + joint[i]->group_.name + "' and '" +
                                 joint[j]->group_.name +
                                 "' cannot share a launch: " + s.message);

  // A device advances its own count.
  for (GroupRunner *runner : runners)
    if (!runner->device_)
      runner->count_ += 1.0;
  std::map<std::string, double> totals;
  for (size_t p = 0; p < numPhases; ++p) {
    std::map<std::string, double> phaseTotals;
    for (GroupRunner *runner : runners) {
      const Group &group = runner->group_;
      if (p >= group.sumPhases.size() || runner->device_)
        continue;
      std::vector<float> scalars = runner->scalarArgs();
      for (size_t q = 0; q < p; ++q)
        for (const std::string &key : group.sumPhases[q].keys)
          scalars.push_back(float(totals[key]));
      std::vector<double> sums;
      runner->runSumPhase(p, std::move(scalars), sums);
      for (size_t k = 0; k < sums.size(); ++k)
        phaseTotals[group.sumPhases[p].keys[k]] += sums[k];
    }
    totals.insert(phaseTotals.begin(), phaseTotals.end());
  }

  // A failed step takes back the counts of the groups it did not update.
  std::vector<bool> stepped(runners.size(), false);
  auto fail = [&](Status s) {
    for (size_t r = 0; r < runners.size(); ++r)
      if (!stepped[r] && !runners[r]->device_)
        runners[r]->count_ -= 1.0;
    return s;
  };
  for (size_t r = 0; r < runners.size(); ++r) {
    GroupRunner *runner = runners[r];
    if (stepped[r])
      continue;
    runner->totals_.clear();
    if (runner->sumsOnDevice()) {
      // One launch for them all; total(key) reads the kernel's totals.
      std::vector<DeviceExecutor *> executors;
      std::vector<DeviceStep> steps;
      for (GroupRunner *member : joint) {
        executors.push_back(member->device_.get());
        steps.push_back(member->deviceStep());
      }
      if (Status s = executors.front()->stepJoint(executors, steps); !s.ok())
        return fail(s);
      for (GroupRunner *member : joint) {
        member->totals_.clear();
        member->deviceTotalsPending_ = true;
        stepped[std::find(runners.begin(), runners.end(), member) -
                runners.begin()] = true;
      }
      continue;
    }
    std::vector<float> scalars = runner->scalarArgs();
    runner->deviceTotalsPending_ = false;
    for (const std::string &key : runner->group_.sumKeys()) {
      scalars.push_back(float(totals[key]));
      runner->totals_.emplace_back(key, totals[key]);
    }
    if (Status s = runner->runMain(std::move(scalars)); !s.ok())
      return fail(s);
    stepped[r] = true;
  }
  for (GroupRunner *runner : runners)
    runner->inputSet_.assign(runner->inputSet_.size(), false);
  return Status::success();
}

DeviceStep GroupRunner::deviceStep() const {
  DeviceStep step;
  step.scalars = scalarArgs();
  step.scalarAddresses = hyperAddresses_;
  step.scalarAddresses.insert(step.scalarAddresses.end(),
                              inputAddresses_.begin(), inputAddresses_.end());
  step.gradScale = gradScale_;
  step.foundInf = foundInf_;
  for (const Binding &b : bindings_) {
    std::vector<void *> buffers = {b.param.data, b.grad.data};
    buffers.insert(buffers.end(), b.stateBuffers.begin(),
                   b.stateBuffers.end());
    step.buffers.push_back(std::move(buffers));
    step.numElements.push_back(numElements(b.viewShape));
    step.shapes.push_back(b.viewShape);
  }
  return step;
}
