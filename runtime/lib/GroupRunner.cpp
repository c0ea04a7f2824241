//===- GroupRunner.cpp - step the tensors bound to one group ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/GroupRunner.h"

#include <algorithm>
#include <cmath>
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

MemRefDescriptor describe(float *data, const std::vector<int64_t> &shape) {
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

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << (shape.size() == 1 ? ",)" : ")");
  return os.str();
}
} // namespace

GroupRunner::GroupRunner(Group group, PackedEntry entry)
    : group_(std::move(group)), entry_(entry) {
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
}

Status GroupRunner::checkedView(const TensorRef &tensor, const std::string &what,
                                std::vector<int64_t> &view) const {
  if (!tensor.data)
    return Status::error(StatusCode::InvalidArgument, what + " has no data");
  for (int64_t d : tensor.shape)
    if (d <= 0)
      return Status::error(StatusCode::ShapeMismatch,
                           what + " has shape " + shapeToString(tensor.shape) +
                               "; every dimension must be positive");
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
  }
  bindings_ = std::move(bindings);
  stateReady_ = false;
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
  }
  return view;
}

Status GroupRunner::initState() {
  if (bindings_.empty())
    return Status::error(StatusCode::NotBound, "bind tensors before initState");
  for (Binding &b : bindings_) {
    b.states.clear();
    b.stateShapes.clear();
    for (size_t index : group_.indicesOf(Role::State)) {
      const Argument &state = group_.args[index];
      std::vector<int64_t> shape = stateShapeFor(state, b.viewShape);
      double value = 0.0;
      switch (state.init) {
      case StateInit::Zeros:
        break;
      case StateInit::Ones:
        value = 1.0;
        break;
      case StateInit::Constant:
        value = state.initValue;
        break;
      case StateInit::ParamNorm: {
        double sum = 0.0;
        for (int64_t i = 0, n = numElements(b.viewShape); i < n; ++i)
          sum += double(b.param.data[i]) * b.param.data[i];
        value = std::sqrt(sum);
        break;
      }
      }
      b.states.emplace_back(numElements(shape), float(value));
      b.stateShapes.push_back(shape);
    }
  }
  stateReady_ = true;
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

Status GroupRunner::stateShape(size_t index, const std::string &name,
                               std::vector<int64_t> &shape) const {
  int slot = stateSlot(group_, name);
  if (slot < 0)
    return Status::error(StatusCode::InvalidArgument,
                         "group '" + group_.name + "' has no state '" + name +
                             "'");
  if (index >= bindings_.size())
    return Status::error(StatusCode::InvalidArgument,
                         "no tensor #" + std::to_string(index) + " is bound");
  const Argument &state = group_.args[group_.indicesOf(Role::State)[slot]];
  // A state shaped like its parameter is reported in the caller's shape,
  // even where the group sees the tensor flattened.
  shape = state.layout == Layout::Full
              ? bindings_[index].param.shape
              : stateShapeFor(state, bindings_[index].viewShape);
  return Status::success();
}

float *GroupRunner::stateData(size_t index, const std::string &name) {
  int slot = stateSlot(group_, name);
  if (slot < 0 || index >= bindings_.size() || !stateReady_)
    return nullptr;
  return bindings_[index].states[slot].data();
}

Status GroupRunner::setHyper(const std::string &name, double value) {
  size_t h = 0;
  for (const Argument &arg : group_.args) {
    if (arg.role != Role::Hyper)
      continue;
    if (arg.name == name) {
      hypers_[h] = value;
      hyperSet_[h] = true;
      return Status::success();
    }
    ++h;
  }
  std::string known;
  for (const Argument &arg : group_.args)
    if (arg.role == Role::Hyper)
      known += (known.empty() ? "" : ", ") + arg.name;
  return Status::error(StatusCode::InvalidArgument,
                       "group '" + group_.name + "' has no hyper '" + name +
                           "' (it has: " + (known.empty() ? "none" : known) +
                           ")");
}

Status GroupRunner::step() {
  if (bindings_.empty())
    return Status::error(StatusCode::NotBound, "no tensors are bound");
  if (!stateReady_)
    return Status::error(StatusCode::NotBound,
                         "state is not initialized: call initState");
  size_t h = 0;
  for (const Argument &arg : group_.args)
    if (arg.role == Role::Hyper && !hyperSet_[h++])
      return Status::error(StatusCode::NotBound,
                           "hyper '" + arg.name +
                               "' has no default and was not set");
  count_ += 1.0;
  float count = float(count_);
  std::vector<float> hyperValues(hypers_.begin(), hypers_.end());
  for (Binding &b : bindings_) {
    std::vector<MemRefDescriptor> descriptors;
    descriptors.reserve(2 + b.states.size());
    descriptors.push_back(describe(b.param.data, b.viewShape));
    descriptors.push_back(describe(b.grad.data, b.viewShape));
    for (size_t s = 0; s < b.states.size(); ++s)
      descriptors.push_back(describe(b.states[s].data(), b.stateShapes[s]));
    // The C interface takes each memref as a pointer to its descriptor.
    std::vector<MemRefDescriptor *> descriptorPointers;
    for (MemRefDescriptor &desc : descriptors)
      descriptorPointers.push_back(&desc);
    std::vector<void *> args;
    for (MemRefDescriptor *&pointer : descriptorPointers)
      args.push_back(&pointer);
    for (float &value : hyperValues)
      args.push_back(&value);
    if (!group_.indicesOf(Role::Count).empty())
      args.push_back(&count);
    entry_(args.data());
  }
  return Status::success();
}
