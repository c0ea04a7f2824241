//===- CudaExecutor.cpp - an artifact's CUDA kernels, launched -*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/CudaExecutor.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <sstream>

using namespace stepc::rt;

namespace {
Status noCudaCode(const Artifact &artifact, const std::string &why,
                  const std::string &flags = "--target=cuda") {
  return Status::error(StatusCode::NoDevice, artifact.origin + ": " + why +
                                                 ": compile the spec with " +
                                                 flags);
}

CudaDriver::CUdeviceptr deviceAddress(const void *pointer) {
  return CudaDriver::CUdeviceptr(reinterpret_cast<uintptr_t>(pointer));
}

std::string hex(const void *address) {
  std::ostringstream os;
  os << address;
  return os.str();
}
} // namespace

bool stepc::rt::parseDeviceName(const std::string &text, bool &isCuda,
                                int &ordinal) {
  isCuda = text != "cpu";
  ordinal = 0;
  if (text == "cpu" || text == "cuda")
    return true;
  if (text.rfind("cuda:", 0) != 0 || text.size() == 5 || text.size() > 9)
    return false;
  for (char c : text.substr(5))
    if (c < '0' || c > '9')
      return false;
  ordinal = std::stoi(text.substr(5));
  return true;
}

//===----------------------------------------------------------------------===//
// CudaModule
//===----------------------------------------------------------------------===//

Status CudaModule::load(const Artifact &artifact, int ordinal,
                        std::shared_ptr<CudaModule> &out) {
  if (!artifact.manifest.hasCuda)
    return noCudaCode(artifact, "the artifact has no CUDA code");
  if (artifact.manifest.cuda.abi != CudaLaunch::kAbi)
    return Status::error(
        StatusCode::VersionMismatch,
        artifact.origin + ": its CUDA kernels use calling convention " +
            std::to_string(artifact.manifest.cuda.abi) + ", this runtime " +
            std::to_string(CudaLaunch::kAbi));
  const CudaDriver *driver = nullptr;
  if (Status s = CudaDriver::get(driver); !s.ok())
    return s;
  int count = 0;
  if (Status s = driver->deviceCount(count); !s.ok())
    return s;
  if (ordinal < 0 || ordinal >= count)
    return Status::error(StatusCode::NoDevice,
                         "no device cuda:" + std::to_string(ordinal) +
                             " (this machine has " + std::to_string(count) +
                             ")");
  std::shared_ptr<CudaModule> module(new CudaModule());
  module->driver_ = driver;
  module->ordinal_ = ordinal;
  const CudaDriver &d = *driver;
  if (Status s =
          d.check(d.cuDeviceGet(&module->device_, ordinal), "cuDeviceGet");
      !s.ok())
    return s;
  auto attribute = [&](int which, int &value) {
    return d.check(d.cuDeviceGetAttribute(&value, which, module->device_),
                   "cuDeviceGetAttribute");
  };
  int major = 0, minor = 0;
  for (auto [which, value] :
       {std::pair{CudaDriver::kAttributeComputeCapabilityMajor, &major},
        std::pair{CudaDriver::kAttributeComputeCapabilityMinor, &minor},
        std::pair{CudaDriver::kAttributeMultiprocessorCount,
                  &module->multiprocessors_},
        std::pair{CudaDriver::kAttributeMaxSharedMemoryPerBlockOptin,
                  &module->sharedOptin_}})
    if (Status s = attribute(which, *value); !s.ok())
      return s;
  std::string arch = "sm_" + std::to_string(major * 10 + minor);
  if (major < 8)
    return Status::error(StatusCode::NoDevice,
                         "cuda:" + std::to_string(ordinal) + " is " + arch +
                             "; stepc's kernels need sm_80 or newer");

  std::string image;
  if (d.hostEmulator) {
    const ArtifactSection *host = artifact.findSection(kCudaHostSectionName);
    if (!host)
      return noCudaCode(artifact,
                        "the CUDA driver is stepc's host emulator, and the "
                        "artifact has no host code for it",
                        "--target=cuda --cuda-host-emulation");
    image = host->bytes;
    module->codeSource_ = "host emulation";
  } else if (const ArtifactSection *code =
                 artifact.findCudaCode(arch, module->codeSource_)) {
    image = code->bytes; // cuModuleLoadData wants PTX NUL-terminated
  } else {
    return noCudaCode(artifact, "the artifact has neither a cubin for " + arch +
                                    " nor PTX");
  }
  if (Status s = d.check(
          d.cuDevicePrimaryCtxRetain(&module->context_, module->device_),
          "cuDevicePrimaryCtxRetain");
      !s.ok())
    return s;
  if (Status s = module->activate(); !s.ok())
    return s;
  if (Status s = d.check(d.cuModuleLoadData(&module->module_, image.c_str()),
                         "loading the " + module->codeSource_);
      !s.ok())
    return s;
  out = std::move(module);
  return Status::success();
}

CudaModule::~CudaModule() {
  if (!driver_ || !context_)
    return;
  if (module_ && activate().ok())
    driver_->cuModuleUnload(module_);
  driver_->cuDevicePrimaryCtxRelease(device_);
}

Status CudaModule::activate() const {
  return driver_->check(driver_->cuCtxSetCurrent(context_), "cuCtxSetCurrent");
}

Status CudaModule::function(const std::string &symbol,
                            CudaDriver::CUfunction &out) const {
  if (Status s = activate(); !s.ok())
    return s;
  return driver_->check(
      driver_->cuModuleGetFunction(&out, module_, symbol.c_str()),
      "looking up kernel " + symbol);
}

//===----------------------------------------------------------------------===//
// The work table
//===----------------------------------------------------------------------===//

CudaWorkTable stepc::rt::buildCudaWorkTable(const DeviceStep &step,
                                            int64_t tileElements) {
  CudaWorkTable table;
  for (size_t t = 0; t < step.buffers.size(); ++t) {
    for (void *buffer : step.buffers[t])
      table.tensors.push_back(int64_t(reinterpret_cast<uintptr_t>(buffer)));
    int64_t n = step.numElements[t];
    table.tensors.push_back(n);
    for (int64_t begin = 0; begin < n; begin += tileElements)
      table.items.insert(
          table.items.end(),
          {int64_t(t), begin, std::min(n, begin + tileElements)});
  }
  return table;
}

Status stepc::rt::buildCudaPhasedTable(
    const DeviceStep &step, const std::string &scratchProgram,
    const std::string &workProgram, int partials, int numTotals,
    int64_t gridThreads, int subgrids, int batchCap,
    std::vector<int64_t> &tensors, int64_t &scratchBytes) {
  tensors.clear();
  int64_t largest = 0;
  std::vector<int64_t> costs;
  for (size_t t = 0; t < step.buffers.size(); ++t) {
    for (void *buffer : step.buffers[t])
      tensors.push_back(int64_t(reinterpret_cast<uintptr_t>(buffer)));
    const std::vector<int64_t> &shape = step.shapes[t];
    int64_t rows = shape.empty() ? 1 : shape[0];
    int64_t cols = shape.size() < 2 ? 1 : shape[1];
    tensors.insert(tensors.end(), {rows, cols});
    int64_t bytes = 0, cost = 0;
    std::string error;
    if (!evaluateSizeProgram(scratchProgram, rows, cols, bytes, error) ||
        !evaluateSizeProgram(workProgram, rows, cols, cost, error))
      return Status::error(StatusCode::InvalidArgument,
                           "tensor #" + std::to_string(t) + ": " + error);
    largest = std::max(largest, bytes);
    costs.push_back(cost);
  }
  subgrids = std::max(subgrids, 1);
  auto aligned = [](int64_t bytes) {
    return (bytes + kScratchAlignment - 1) / kScratchAlignment *
           kScratchAlignment;
  };
  if (batchCap <= 0)
    batchCap = chooseCudaBatchCap(aligned(largest), subgrids);
  std::vector<int64_t> schedule = scheduleCudaSubgrids(costs, subgrids);
  if (batchCap > 1) {
    // A batch is a run of consecutive positions of one shape.
    auto shapeOf = [&](int64_t t) -> const std::vector<int64_t> & {
      return step.shapes[size_t(t)];
    };
    auto positions = schedule.begin() + subgrids + 1;
    // No batch is longer than a sub-grid's longest run of one shape: the
    // cap need not be either, and the scratch grows with it.
    int64_t longestRun = 1;
    for (int s = 0; s < subgrids; ++s) {
      auto first = positions + schedule[size_t(s)];
      auto last = positions + schedule[size_t(s) + 1];
      // By shape, then table order (how the schedule lists them).
      std::sort(first, last, [&](int64_t a, int64_t b) {
        return shapeOf(a) != shapeOf(b) ? shapeOf(a) < shapeOf(b) : a < b;
      });
      for (auto run = first; run != last;) {
        auto end = std::find_if(
            run, last, [&](int64_t t) { return shapeOf(t) != shapeOf(*run); });
        longestRun = std::max<int64_t>(longestRun, end - run);
        run = end;
      }
    }
    batchCap = int(std::min<int64_t>(batchCap, longestRun));
  }
  tensors.insert(tensors.end(), schedule.begin(), schedule.end());
  tensors.push_back(batchCap);
  int64_t numTensors = int64_t(step.buffers.size());
  scratchBytes =
      aligned(8 * int64_t(numTotals)) +
      aligned(4 * int64_t(numTotals) * numTensors) +
      int64_t(batchCap) * aligned(gridThreads * 4 * std::max(partials, 1)) +
      int64_t(subgrids) * batchCap * aligned(largest);
  return Status::success();
}

int stepc::rt::chooseCudaBatchCap(int64_t memberBytes, int subgrids) {
  int64_t region = std::max<int64_t>(memberBytes, 1) * std::max(subgrids, 1);
  return int(
      std::clamp<int64_t>(kCudaBatchScratchBytes / region, 1, kMaxCudaBatch));
}

int stepc::rt::forcedCudaBatchCap() {
  const char *text = std::getenv("STEPC_CUDA_BATCH");
  return text ? std::clamp(std::atoi(text), 0, 1 << 16) : 0;
}

std::vector<int64_t>
stepc::rt::scheduleCudaSubgrids(const std::vector<int64_t> &costs,
                                int subgrids) {
  subgrids = std::max(subgrids, 1);
  std::vector<size_t> longestFirst(costs.size());
  std::iota(longestFirst.begin(), longestFirst.end(), size_t(0));
  std::sort(longestFirst.begin(), longestFirst.end(), [&](size_t a, size_t b) {
    return costs[a] != costs[b] ? costs[a] > costs[b] : a < b;
  });
  std::vector<int64_t> load(static_cast<size_t>(subgrids), 0);
  std::vector<std::vector<int64_t>> dealt(static_cast<size_t>(subgrids));
  for (size_t t : longestFirst) {
    size_t least =
        size_t(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] += costs[t];
    dealt[least].push_back(int64_t(t));
  }
  std::vector<int64_t> schedule;
  int64_t start = 0;
  for (const std::vector<int64_t> &tensors : dealt) {
    schedule.push_back(start);
    start += int64_t(tensors.size());
  }
  schedule.push_back(start);
  for (std::vector<int64_t> &tensors : dealt) {
    std::sort(tensors.begin(), tensors.end());
    schedule.insert(schedule.end(), tensors.begin(), tensors.end());
  }
  return schedule;
}

Status stepc::rt::cudaWorkProgram(const std::string &kernelWork,
                                  std::string &program) {
  const char *deal = std::getenv("STEPC_CUDA_SCHEDULE");
  std::string how = deal ? deal : "cost";
  if (how == "cost") {
    program = kernelWork;
    return Status::success();
  }
  // Equal costs deal the tensors round robin, in table order.
  if (how == "round-robin") {
    program = "1";
    return Status::success();
  }
  return Status::error(StatusCode::InvalidArgument,
                       "STEPC_CUDA_SCHEDULE=" + how +
                           ": expected cost or round-robin");
}

int stepc::rt::forcedCudaSubgrids() {
  const char *text = std::getenv("STEPC_CUDA_SUBGRIDS");
  return text ? std::max(std::atoi(text), 0) : 0;
}

int stepc::rt::chooseCudaSubgrids(int forced, int maxBlocks, int blocksPerSM,
                                  const std::vector<int64_t> &slotTensors) {
  int subgrids = forced;
  if (subgrids == 0) {
    // Measured on an H100 (SubGrids.md): with two blocks per SM, Muon's 48
    // matrices on 2 sub-grids took 0.86-0.88 of the time on 1, 4 sub-grids
    // less gain; with one block per SM every split was slower. A slot of
    // one tensor would leave the other sub-grid idle.
    int64_t fewest = 0;
    for (int64_t count : slotTensors)
      if (count > 0)
        fewest = fewest == 0 ? count : std::min(fewest, count);
    subgrids = blocksPerSM >= 2 && fewest >= 2 ? 2 : 1;
  }
  return std::clamp(subgrids, 1, std::max(maxBlocks, 1));
}

//===----------------------------------------------------------------------===//
// CudaExecutor
//===----------------------------------------------------------------------===//

/// Where a phase timeline's regions start in the barrier buffer of a
/// launch of `blocks` blocks, in u32 words, and each region's words.
static size_t timelineRegionsAt(int blocks) {
  return size_t((int64_t(blocks) + kTimelineAlignWords) / kTimelineAlignWords *
                kTimelineAlignWords);
}
static size_t timelineRegionWords(int capacity) {
  return 2 + 2 * size_t(capacity);
}

Status CudaExecutor::supports(const Artifact &artifact, const Group &group) {
  if (!artifact.manifest.hasCuda)
    return noCudaCode(artifact, "the artifact has no CUDA code");
  if (group.kernel.empty())
    return Status::error(StatusCode::NoDevice,
                         artifact.origin + ": group '" + group.name +
                             "' has no CUDA kernel (docs/Design/"
                             "GpuKernels.md)");
  return Status::success();
}

Status CudaExecutor::create(const Artifact &artifact, int ordinal,
                            const Group &group, const std::string &paramDtype,
                            std::shared_ptr<CudaModule> &module,
                            std::unique_ptr<CudaExecutor> &out) {
  if (Status s = supports(artifact, group); !s.ok())
    return s;
  if (!module)
    if (Status s = CudaModule::load(artifact, ordinal, module); !s.ok())
      return s;
  const CudaLaunch &launch = artifact.manifest.cuda;
  std::unique_ptr<CudaExecutor> executor(new CudaExecutor());
  executor->symbol_ = group.kernelFor(paramDtype);
  if (Status s = module->function(executor->symbol_, executor->function_);
      !s.ok())
    return s;
  const CudaDriver &d = module->driver();
  // Matmul stages over 48 KiB are dynamic shared memory: the function has
  // to be allowed them before the occupancy query and the launch.
  executor->sharedBytes_ = group.kernelSharedBytes;
  if (executor->sharedBytes_ > module->sharedMemoryPerBlockOptin())
    return Status::error(
        StatusCode::NoDevice,
        artifact.origin + ": kernel " + executor->symbol_ + " needs " +
            std::to_string(executor->sharedBytes_) +
            " bytes of shared memory per block; cuda:" +
            std::to_string(ordinal) + " gives at most " +
            std::to_string(module->sharedMemoryPerBlockOptin()) +
            " (compile with fewer --cuda-matmul-stages)");
  if (executor->sharedBytes_ > 0)
    if (Status s =
            d.check(d.cuFuncSetAttribute(
                        executor->function_,
                        CudaDriver::kFunctionAttributeMaxDynamicSharedBytes,
                        executor->sharedBytes_),
                    "cuFuncSetAttribute");
        !s.ok())
      return s;
  int blocksPerSM = 0;
  if (Status s = d.check(d.cuOccupancyMaxActiveBlocksPerMultiprocessor(
                             &blocksPerSM, executor->function_,
                             launch.blockSize, size_t(executor->sharedBytes_)),
                         "cuOccupancyMaxActiveBlocksPerMultiprocessor");
      !s.ok())
    return s;
  executor->blockSize_ = launch.blockSize;
  executor->phased_ = group.kernelPhased;
  executor->scratchProgram_ = group.kernelScratch;
  executor->partials_ = group.kernelPartials;
  executor->batches_ = group.kernelBatches;
  executor->numTotals_ = int(group.sumKeys().size());
  executor->slot_ = group.kernelSlotFor(paramDtype);
  executor->numSlots_ = group.kernelNumSlots;
  executor->blocksPerSM_ = std::max(1, blocksPerSM);
  executor->maxBlocks_ =
      executor->blocksPerSM_ * std::max(1, module->multiprocessorCount());
  executor->vectorWidth_ = launch.vectorWidth;
  executor->timelineCapacity_ = launch.timelineCapacity;
  executor->timelineSites_ = launch.timelineSites;
  if (const char *path = std::getenv("STEPC_CUDA_TIMELINE"))
    executor->timelinePath_ = path;
  int64_t paramBytes = paramDtype == "f32" ? 4 : 2;
  executor->elementBytes_ = {paramBytes, paramBytes};
  for (size_t index : group.indicesOf(Role::State))
    executor->elementBytes_.push_back(group.args[index].storage == "bf16" ? 2
                                                                          : 4);
  executor->module_ = module;
  executor->numScalars_ =
      group.indicesOf(Role::Hyper).size() + group.indicesOf(Role::Input).size();
  if (Status s = executor->createControl(); !s.ok())
    return s;
  if (executor->phased_) {
    executor->forcedSubgrids_ = forcedCudaSubgrids();
    executor->forcedBatchCap_ = forcedCudaBatchCap();
    if (Status s = cudaWorkProgram(group.kernelWork, executor->workProgram_);
        !s.ok())
      return s;
    // Zeroed once; every grid barrier leaves its word ready for the next,
    // whatever its block count, so each launch may split the grid anew: a
    // word for the grid and one for each sub-grid it can have.
    // With a phase timeline, a region per word after them.
    size_t words = size_t(executor->maxBlocks_) + 1;
    if (executor->timelineCapacity_)
      words = timelineRegionsAt(executor->maxBlocks_) +
              words * timelineRegionWords(executor->timelineCapacity_);
    std::vector<uint32_t> zeros(words, 0);
    size_t bytes = zeros.size() * sizeof(uint32_t);
    if (Status s = d.check(d.cuMemAlloc(&executor->barrier_, bytes),
                           "allocating the grid barriers");
        !s.ok())
      return s;
    if (Status s =
            d.check(d.cuMemcpyHtoD(executor->barrier_, zeros.data(), bytes),
                    "zeroing the grid barriers");
        !s.ok())
      return s;
  }
  out = std::move(executor);
  return Status::success();
}

CudaExecutor::~CudaExecutor() {
  if (!module_ || !module_->activate().ok())
    return;
  const CudaDriver &d = module_->driver();
  d.cuStreamSynchronize(stream_);
  for (CudaDriver::CUdeviceptr buffer :
       {tensors_, items_, scalars_, control_, scratch_, barrier_})
    if (buffer)
      d.cuMemFree(buffer);
}

std::string CudaExecutor::name() const {
  return "cuda:" + std::to_string(module_->ordinal());
}

Status CudaExecutor::allocate(size_t bytes, void *&buffer) {
  if (Status s = module_->activate(); !s.ok())
    return s;
  CudaDriver::CUdeviceptr address = 0;
  const CudaDriver &d = module_->driver();
  if (Status s = d.check(d.cuMemAlloc(&address, std::max<size_t>(bytes, 1)),
                         "allocating " + std::to_string(bytes) + " bytes on " +
                             name());
      !s.ok())
    return s;
  buffer = reinterpret_cast<void *>(address);
  return Status::success();
}

void CudaExecutor::release(void *buffer) {
  if (buffer && module_->activate().ok())
    module_->driver().cuMemFree(deviceAddress(buffer));
}

Status CudaExecutor::drain() {
  if (Status s = module_->activate(); !s.ok())
    return s;
  const CudaDriver &d = module_->driver();
  return d.check(d.cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

Status CudaExecutor::copyToHost(void *host, const void *device, size_t bytes) {
  if (Status s = drain(); !s.ok())
    return s;
  const CudaDriver &d = module_->driver();
  return d.check(d.cuMemcpyDtoH(host, deviceAddress(device), bytes),
                 "copying from " + name());
}

Status CudaExecutor::copyToDevice(void *device, const void *host,
                                  size_t bytes) {
  if (Status s = drain(); !s.ok())
    return s;
  const CudaDriver &d = module_->driver();
  return d.check(d.cuMemcpyHtoD(deviceAddress(device), host, bytes),
                 "copying to " + name());
}

Status CudaExecutor::reserve(CudaDriver::CUdeviceptr &buffer, size_t &capacity,
                             size_t bytes) {
  if (bytes <= capacity)
    return Status::success();
  // A queued step may still read the old buffer.
  if (Status s = drain(); !s.ok())
    return s;
  const CudaDriver &d = module_->driver();
  if (buffer)
    d.cuMemFree(buffer);
  buffer = 0;
  capacity = 0;
  if (Status s = d.check(d.cuMemAlloc(&buffer, bytes),
                         "allocating the work table on " + name());
      !s.ok())
    return s;
  capacity = bytes;
  return Status::success();
}

Status CudaExecutor::updateTable(const DeviceStep &step) {
  // The table derives from the buffer addresses and sizes only: unchanged
  // ones (the usual step) need no work on the host.
  if (step.buffers == tableBuffers_ && step.numElements == tableSizes_)
    return Status::success();
  for (size_t t = 0; t < step.buffers.size(); ++t)
    for (size_t b = 0; b < step.buffers[t].size(); ++b) {
      int64_t alignment = vectorWidth_ * elementBytes_[b];
      auto address = reinterpret_cast<uintptr_t>(step.buffers[t][b]);
      if (address % uintptr_t(alignment) != 0)
        return Status::error(
            StatusCode::InvalidArgument,
            std::string(b == 0   ? "param"
                        : b == 1 ? "grad"
                                 : "a state") +
                " of tensor #" + std::to_string(t) + " (" +
                hex(step.buffers[t][b]) + ") is not " +
                std::to_string(alignment) +
                "-byte aligned, which the CUDA kernels' vector accesses "
                "need");
    }
  CudaWorkTable table = buildCudaWorkTable(step, kCudaTileElements);
  if (table.numItems() > size_t(INT32_MAX))
    return Status::error(StatusCode::InvalidArgument,
                         "too many work items for one launch: " +
                             std::to_string(table.numItems()));
  const CudaDriver &d = module_->driver();
  size_t tensorBytes = table.tensors.size() * sizeof(int64_t);
  size_t itemBytes = table.items.size() * sizeof(int64_t);
  if (Status s = reserve(tensors_, tensorsCapacity_, tensorBytes); !s.ok())
    return s;
  if (Status s = reserve(items_, itemsCapacity_, itemBytes); !s.ok())
    return s;
  // Ordered after the steps already queued, which read the old table. The
  // copies read pageable host memory that the driver stages before
  // returning, so `table` may go away afterwards.
  if (Status s = d.check(d.cuMemcpyHtoDAsync(tensors_, table.tensors.data(),
                                             tensorBytes, stream_),
                         "uploading the tensor table");
      !s.ok())
    return s;
  if (Status s = d.check(
          d.cuMemcpyHtoDAsync(items_, table.items.data(), itemBytes, stream_),
          "uploading the work items");
      !s.ok())
    return s;
  tableBuffers_ = step.buffers;
  tableSizes_ = step.numElements;
  numItems_ = int32_t(table.numItems());
  return Status::success();
}

Status CudaExecutor::createControl() {
  const CudaDriver &d = module_->driver();
  size_t scalarBytes = std::max<size_t>(numScalars_, 1) * sizeof(float);
  if (Status s = d.check(d.cuMemAlloc(&scalars_, scalarBytes),
                         "allocating the hypers on " + name());
      !s.ok())
    return s;
  DeviceStep hostValues;
  hostValues.scalarAddresses.assign(numScalars_, nullptr);
  uploadedControl_ = addressWords(hostValues);
  // The count and the ticket start at 0.
  std::vector<int64_t> words(kControlGradScale, 0);
  words.insert(words.end(), uploadedControl_.begin(), uploadedControl_.end());
  if (Status s =
          d.check(d.cuMemAlloc(&control_, words.size() * sizeof(int64_t)),
                  "allocating the step control block on " + name());
      !s.ok())
    return s;
  return d.check(
      d.cuMemcpyHtoD(control_, words.data(), words.size() * sizeof(int64_t)),
      "initializing the step control block on " + name());
}

Status CudaExecutor::uploadControl(const DeviceStep &step) {
  if (step.scalars.size() != numScalars_ ||
      step.scalarAddresses.size() != numScalars_)
    return Status::error(StatusCode::InvalidArgument,
                         "a step of " + symbol_ + " takes " +
                             std::to_string(numScalars_) + " scalars, not " +
                             std::to_string(step.scalars.size()));
  const CudaDriver &d = module_->driver();
  // The count and the ticket are the kernel's. Copies only of what
  // changed: a step like the last one issues none, so a CUDA graph can
  // capture it.
  std::vector<int64_t> words = addressWords(step);
  bool hostValues = std::count(step.scalarAddresses.begin(),
                               step.scalarAddresses.end(), nullptr) != 0;
  if (words != uploadedControl_) {
    uploadedControl_ = words;
    if (Status s = d.check(
            d.cuMemcpyHtoDAsync(control_ + kControlGradScale * sizeof(int64_t),
                                uploadedControl_.data(),
                                words.size() * sizeof(int64_t), stream_),
            "uploading the step control block");
        !s.ok())
      return s;
  }
  if (!hostValues || step.scalars == uploadedScalars_)
    return Status::success();
  uploadedScalars_ = step.scalars;
  return d.check(d.cuMemcpyHtoDAsync(scalars_, uploadedScalars_.data(),
                                     numScalars_ * sizeof(float), stream_),
                 "uploading the hypers");
}

std::vector<int64_t> CudaExecutor::addressWords(const DeviceStep &step) const {
  auto word = [](const void *address) {
    return int64_t(reinterpret_cast<uintptr_t>(address));
  };
  std::vector<int64_t> words = {word(step.gradScale), word(step.foundInf)};
  for (size_t k = 0; k < numScalars_; ++k) {
    const void *address = step.scalarAddresses[k];
    words.push_back(address ? word(address)
                            : int64_t(scalars_ + k * sizeof(float)));
  }
  return words;
}

Status CudaExecutor::readCount(double &count) {
  int64_t word = 0;
  if (Status s =
          copyToHost(&word, reinterpret_cast<void *>(control_), sizeof word);
      !s.ok())
    return s;
  count = double(word);
  return Status::success();
}

Status CudaExecutor::writeCount(double count) {
  auto word = int64_t(count);
  return copyToDevice(reinterpret_cast<void *>(control_), &word, sizeof word);
}

Status CudaExecutor::preparePhased(const DeviceStep &step, int32_t subgrids,
                                   SlotArgs &out) {
  if (Status s = module_->activate(); !s.ok())
    return s;
  const CudaDriver &d = module_->driver();
  // The table, its schedule and the scratch bytes follow from the
  // bindings and the sub-grid count alone: evaluated when one changes,
  // not every step.
  if (step.buffers != tableBuffers_ || step.shapes != tableShapes_ ||
      subgrids != tableSubgrids_) {
    int64_t gridThreads = int64_t(maxBlocks_) * blockSize_;
    std::vector<int64_t> table;
    if (Status s = buildCudaPhasedTable(
            step, scratchProgram_, workProgram_, partials_, numTotals_,
            gridThreads, subgrids, batches_ ? forcedBatchCap_ : 1, table,
            tableScratchBytes_);
        !s.ok())
      return s;
    size_t tableBytes = std::max<size_t>(table.size(), 1) * sizeof(int64_t);
    if (Status s = reserve(tensors_, tensorsCapacity_, tableBytes); !s.ok())
      return s;
    if (Status s = d.check(
            d.cuMemcpyHtoDAsync(tensors_, table.data(), tableBytes, stream_),
            "uploading the tensor table");
        !s.ok())
      return s;
    tableBuffers_ = step.buffers;
    tableShapes_ = step.shapes;
    tableSubgrids_ = subgrids;
  }
  if (Status s =
          reserve(scratch_, scratchCapacity_, size_t(tableScratchBytes_));
      !s.ok())
    return s;
  if (Status s = uploadControl(step); !s.ok())
    return s;
  out = {tensors_, int32_t(step.buffers.size()), control_, scratch_};
  return Status::success();
}

/// One cooperative launch of the whole co-resident grid: the kernel's grid
/// barriers need every block running at once, which a cooperative launch
/// guarantees or refuses (rather than hanging).
Status CudaExecutor::launchPhased(std::vector<SlotArgs> &slots,
                                  int32_t subgrids) {
  const CudaDriver &d = module_->driver();
  // Sub-grids of equal block counts (the kernel divides the grid by them).
  unsigned grid = unsigned(maxBlocks_ / subgrids * subgrids);
  std::vector<void *> params;
  for (SlotArgs &slot : slots)
    params.insert(params.end(), {&slot.tensors, &slot.numTensors, &slot.control,
                                 &slot.scratch});
  params.insert(params.end(), {&barrier_, &subgrids});
  if (Status s = d.check(d.cuLaunchCooperativeKernel(
                             function_, grid, 1, 1, unsigned(blockSize_), 1, 1,
                             unsigned(sharedBytes_), stream_, params.data()),
                         "launching " + symbol_ + " (cooperative, " +
                             std::to_string(grid) + " blocks)");
      !s.ok())
    return s;
  ++launches_;
  if (!timelinePath_.empty())
    return writeTimeline(grid, subgrids);
  return Status::success();
}

Status CudaExecutor::writeTimeline(unsigned grid, int32_t subgrids) {
  std::string line = "{\"kernel\": \"" + symbol_ +
                     "\", \"launch\": " + std::to_string(launches_);
  if (!timelineCapacity_) {
    // Said once per kernel, so that an empty file is never a puzzle.
    if (launches_ != 1)
      return Status::success();
    line += ", \"no_timeline\": \"compiled without --cuda-phase-timeline\"}";
  } else {
    std::vector<uint32_t> regions(
        size_t(subgrids + 1) * size_t(timelineRegionWords(timelineCapacity_)));
    const char *at = reinterpret_cast<const char *>(barrier_) +
                     timelineRegionsAt(int(grid)) * sizeof(uint32_t);
    if (Status s =
            copyToHost(regions.data(), at, regions.size() * sizeof(uint32_t));
        !s.ok())
      return s;
    line += ", \"blocks\": " + std::to_string(grid) +
            ", \"subgrids\": " + std::to_string(subgrids) +
            ", \"ns_per_tick\": " + std::to_string(kTimelineNanoseconds) +
            ", \"sites\": [";
    for (size_t k = 0; k < timelineSites_.size(); ++k) {
      line += k ? ", \"" : "\"";
      for (char c : timelineSites_[k]) {
        if (c == '"' || c == '\\')
          line += '\\';
        line += c;
      }
      line += "\"";
    }
    // Region 0 holds the whole grid's barriers, region 1 + s sub-grid s's:
    // [count, start, (site, time) pairs], times in ticks modulo 2^32, here
    // in ns since block 0 started (a sub-grid may start a little before).
    line += "], \"regions\": [";
    size_t regionWords = timelineRegionWords(timelineCapacity_);
    auto sinceStart = [&](uint32_t ticks) {
      return std::to_string(int64_t(int32_t(ticks - regions[1])) *
                            kTimelineNanoseconds);
    };
    for (int32_t r = 0; r <= subgrids; ++r) {
      const uint32_t *region = regions.data() + size_t(r) * regionWords;
      uint32_t count = region[0];
      uint32_t kept = std::min<uint32_t>(count, uint32_t(timelineCapacity_));
      line += std::string(r ? ", " : "") +
              "{\"released\": " + std::to_string(count) +
              ", \"start\": " + sinceStart(region[1]) + ", \"marks\": [";
      for (uint32_t i = 0; i < kept; ++i)
        line += std::string(i ? ", " : "") + "[" +
                std::to_string(region[2 + 2 * i]) + ", " +
                sinceStart(region[3 + 2 * i]) + "]";
      line += "]}";
    }
    line += "]}";
  }
  std::FILE *file = std::fopen(timelinePath_.c_str(), "a");
  bool written = file && std::fputs((line + "\n").c_str(), file) >= 0;
  if (file && std::fclose(file) != 0)
    written = false;
  if (!written)
    return Status::error(StatusCode::InvalidArgument,
                         "STEPC_CUDA_TIMELINE: cannot append to " +
                             timelinePath_);
  return Status::success();
}

Status CudaExecutor::checkJoint(const DeviceExecutor &other) const {
  auto *peer = dynamic_cast<const CudaExecutor *>(&other);
  auto refuse = [](const std::string &why) {
    return Status::error(StatusCode::InvalidArgument, why);
  };
  if (!peer)
    return refuse("one steps on " + name() + ", the other on " + other.name());
  if (peer->module_ != module_)
    return refuse("they come from different artifacts or devices");
  if (!phased_ || peer->symbol_ != symbol_ || numSlots_ < 2)
    return refuse("their kernels differ (" + symbol_ + ", " + peer->symbol_ +
                  "); only groups of one optimizer that sum share one");
  if (peer->slot_ == slot_)
    return refuse("both take slot " + std::to_string(slot_) + " of " + symbol_ +
                  " (the same group and dtype)");
  if (peer->stream_ != stream_)
    return refuse("they are queued on different streams");
  return Status::success();
}

Status CudaExecutor::stepJoint(const std::vector<DeviceExecutor *> &executors,
                               const std::vector<DeviceStep> &steps) {
  if (executors.size() != steps.size() || executors.empty() ||
      executors.front() != this)
    return Status::error(StatusCode::InvalidArgument,
                         "a joint step takes one step per executor, this "
                         "executor's first");
  if (!phased_ && executors.size() == 1)
    return step(steps.front());
  std::vector<CudaExecutor *> members;
  for (size_t m = 0; m < executors.size(); ++m) {
    for (size_t earlier = 0; earlier < m; ++earlier)
      if (Status s = executors[earlier]->checkJoint(*executors[m]); !s.ok())
        return s;
    members.push_back(static_cast<CudaExecutor *>(executors[m]));
  }
  // One count for the launch, chosen by this executor (the first), which
  // every member sizes its scratch for.
  std::vector<int64_t> slotTensors;
  for (const DeviceStep &step : steps)
    slotTensors.push_back(int64_t(step.buffers.size()));
  int32_t subgrids = chooseCudaSubgrids(forcedSubgrids_, maxBlocks_,
                                        blocksPerSM_, slotTensors);
  std::vector<SlotArgs> slots(static_cast<size_t>(numSlots_));
  for (size_t m = 0; m < members.size(); ++m)
    if (Status s = members[m]->preparePhased(steps[m], subgrids,
                                             slots[size_t(members[m]->slot_)]);
        !s.ok())
      return s;
  if (Status s = module_->activate(); !s.ok())
    return s;
  if (Status s = launchPhased(slots, subgrids); !s.ok())
    return s;
  for (CudaExecutor *member : members)
    if (member != this)
      ++member->launches_;
  return Status::success();
}

Status CudaExecutor::readTotals(std::vector<double> &totals) {
  totals.assign(size_t(numTotals_), 0.0);
  if (numTotals_ == 0)
    return Status::success();
  if (!scratch_)
    return Status::error(StatusCode::NotBound, "no step has run on " + name());
  return copyToHost(totals.data(), reinterpret_cast<void *>(scratch_),
                    totals.size() * sizeof(double));
}

Status CudaExecutor::step(const DeviceStep &step) {
  if (Status s = module_->activate(); !s.ok())
    return s;
  if (phased_)
    return stepJoint({this}, {step});
  if (Status s = updateTable(step); !s.ok())
    return s;
  const CudaDriver &d = module_->driver();
  if (Status s = uploadControl(step); !s.ok())
    return s;
  int32_t numItems = numItems_;
  unsigned grid = unsigned(std::min<int64_t>(maxBlocks_, numItems));
  void *params[] = {&tensors_, &items_, &numItems, &control_};
  if (Status s =
          d.check(d.cuLaunchKernel(function_, grid, 1, 1, unsigned(blockSize_),
                                   1, 1, 0, stream_, params, nullptr),
                  "launching " + symbol_);
      !s.ok())
    return s;
  ++launches_;
  return Status::success();
}
