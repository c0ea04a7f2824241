//===- CudaExecutor.h - an artifact's CUDA kernels, launched ----*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// CudaModule loads an artifact's cubin for one GPU (or its PTX, which the
// driver JIT-compiles, on GPUs without a cubin); CudaExecutor runs one
// group's kernel from a GroupRunner: it keeps the work table on the device,
// rebuilt only when the bound buffers change, and queues each step as one
// launch on the caller's stream. The kernels' calling convention is
// rt::CudaLaunch's (Manifest.h).
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_CUDAEXECUTOR_H
#define STEPC_RT_CUDAEXECUTOR_H

#include "stepc-rt/Artifact.h"
#include "stepc-rt/CudaDriver.h"
#include "stepc-rt/GroupRunner.h"

#include <memory>
#include <string>
#include <vector>

namespace stepc::rt {

/// Parses a device name: "cpu", "cuda" (GPU 0) or "cuda:N". False for
/// anything else.
bool parseDeviceName(const std::string &text, bool &isCuda, int &ordinal);

/// The artifact's CUDA code on device `ordinal`, in its primary context.
class CudaModule {
public:
  static Status load(const Artifact &artifact, int ordinal,
                     std::shared_ptr<CudaModule> &out);
  ~CudaModule();

  const CudaDriver &driver() const { return *driver_; }
  /// Makes the module's context current on the calling thread.
  Status activate() const;
  /// The kernel called `symbol`.
  Status function(const std::string &symbol, CudaDriver::CUfunction &out) const;
  int ordinal() const { return ordinal_; }
  int multiprocessorCount() const { return multiprocessors_; }
  /// The most shared memory a block may opt in to on the device.
  int sharedMemoryPerBlockOptin() const { return sharedOptin_; }
  /// "sm_90 cubin", or "PTX JIT-compiled for sm_100".
  const std::string &codeSource() const { return codeSource_; }

private:
  CudaModule() = default;
  const CudaDriver *driver_ = nullptr;
  int ordinal_ = 0;
  CudaDriver::CUdevice device_ = 0;
  CudaDriver::CUcontext context_ = nullptr;
  CudaDriver::CUmodule module_ = nullptr;
  int multiprocessors_ = 0;
  int sharedOptin_ = 0;
  std::string codeSource_;
};

/// The tables a kernel walks (CudaLaunch in Manifest.h), as i64 words.
struct CudaWorkTable {
  std::vector<int64_t> tensors; ///< per tensor: buffer addresses, then numel
  std::vector<int64_t> items;   ///< (tensor, begin, end) per item
  size_t numItems() const { return items.size() / 3; }
};

/// Splits every tensor of `step` into items of `tileElements` (a multiple
/// of `vectorWidth`; the last item of a tensor may be shorter).
CudaWorkTable buildCudaWorkTable(const DeviceStep &step, int64_t tileElements);

/// The tensor table of a phased kernel (Group::kernelPhased): per tensor,
/// its buffer addresses, then the param's rows and cols (a vector: its
/// length and 1); then the schedule of `subgrids` sub-grids
/// (scheduleCudaSubgrids, each tensor's cost by `workProgram`). And the
/// scratch bytes the launch needs: the `numTotals` totals of the group's
/// global sums (f64), every tensor's contributions to them (f32), the
/// partials of `gridThreads` threads, then per sub-grid the largest
/// tensor's buffers, each part aligned to kScratchAlignment.
/// `scratchProgram`, `workProgram` and `partials` are the group's
/// (Group::kernelScratch, kernelWork, kernelPartials), `numTotals` its
/// Group::sumKeys().size().
///
/// A kernel that batches (Group::kernelBatches, docs/Design/Batching.md)
/// steps up to `batchCap` consecutive same-shape tensors of a sub-grid
/// together; 0 asks for chooseCudaBatchCap's. The table then orders each
/// sub-grid's tensors by shape (then index) and ends with the cap, lowered
/// to the longest run of one shape in a sub-grid; the partials and every
/// sub-grid's buffers are there once per member. For a
/// kernel that does not batch, pass 1: the table ends with 1, and keeps
/// each sub-grid's tensors in table order.
Status buildCudaPhasedTable(const DeviceStep &step,
                            const std::string &scratchProgram,
                            const std::string &workProgram, int partials,
                            int numTotals, int64_t gridThreads, int subgrids,
                            int batchCap, std::vector<int64_t> &tensors,
                            int64_t &scratchBytes);

/// The most tensors a batch takes when nobody says: up to kMaxCudaBatch,
/// as many as keep the batches' buffers, `subgrids` regions of `members`
/// × `memberBytes`, within kCudaBatchScratchBytes; at least 1.
int chooseCudaBatchCap(int64_t memberBytes, int subgrids);
constexpr int kMaxCudaBatch = 16;
constexpr int64_t kCudaBatchScratchBytes = int64_t(1) << 30;

/// STEPC_CUDA_BATCH, the batch cap a user forces (0: unset).
int forcedCudaBatchCap();

/// Which tensors each of `subgrids` sub-grids steps (docs/Design/
/// SubGrids.md, "Balancing the sub-grids"), given each tensor's cost:
/// longest first, each to the sub-grid with the least cost so far (ties:
/// the lower index, for costs and sub-grids alike); each sub-grid's
/// tensors in table order. As the kernel reads it: `subgrids` + 1 starts
/// (sub-grid s steps positions [start[s], start[s + 1])), then the tensor
/// index at each position.
std::vector<int64_t> scheduleCudaSubgrids(const std::vector<int64_t> &costs,
                                          int subgrids);

/// The cost program the runtime deals a phased kernel's tensors to
/// sub-grids by: the group's `kernelWork` (STEPC_CUDA_SCHEDULE unset or
/// "cost"), or one cost for every tensor ("round-robin", tensors s, s + S,
/// ... on sub-grid s, the split before costs, for comparison). An error
/// for any other value.
Status cudaWorkProgram(const std::string &kernelWork, std::string &program);

/// STEPC_CUDA_SUBGRIDS, the sub-grid count a user forces (0: unset).
int forcedCudaSubgrids();

/// The sub-grids one launch of a phased kernel splits its grid of
/// `maxBlocks` blocks into (docs/Design/SubGrids.md, "Choosing S"):
/// `forced` when not 0, else 2 when the kernel runs at least two blocks
/// per SM and every slot with tensors has two or more
/// (`slotTensors`: the tensor count of each slot), else 1; at most
/// `maxBlocks`.
int chooseCudaSubgrids(int forced, int maxBlocks, int blocksPerSM,
                       const std::vector<int64_t> &slotTensors);

/// Elements per work item: big enough that a block's loop amortizes the
/// item's table reads, small enough that ~150 tensors spread over all SMs.
constexpr int64_t kCudaTileElements = 16384;

class CudaExecutor final : public DeviceExecutor {
public:
  /// Ok if `artifact` has a CUDA kernel for `group`; checked before any
  /// driver call, so the reason does not depend on the machine.
  static Status supports(const Artifact &artifact, const Group &group);

  /// The kernel of `group` (of `artifact`) for `paramDtype` parameters on
  /// GPU `ordinal`: `supports`, then the artifact's module, loaded into
  /// `module` unless the caller already holds it there, then the kernel.
  static Status create(const Artifact &artifact, int ordinal,
                       const Group &group, const std::string &paramDtype,
                       std::shared_ptr<CudaModule> &module,
                       std::unique_ptr<CudaExecutor> &out);
  ~CudaExecutor() override;

  /// Steps are queued on `stream` (a CUstream; null: the default stream).
  void setStream(void *stream) {
    stream_ = static_cast<CudaDriver::CUstream>(stream);
  }

  Status allocate(size_t bytes, void *&buffer) override;
  void release(void *buffer) override;
  Status copyToHost(void *host, const void *device, size_t bytes) override;
  Status copyToDevice(void *device, const void *host, size_t bytes) override;
  Status step(const DeviceStep &step) override;
  Status readCount(double &count) override;
  Status writeCount(double count) override;
  /// Another group's executor of the same kernel (its optimizer's, for
  /// groups with global sums), module and stream, in another slot.
  Status checkJoint(const DeviceExecutor &other) const override;
  Status stepJoint(const std::vector<DeviceExecutor *> &executors,
                   const std::vector<DeviceStep> &steps) override;
  /// The totals the last step's kernel left at the start of its scratch.
  Status readTotals(std::vector<double> &totals) override;
  uint64_t launchCount() const override { return launches_; }
  std::string name() const override;
  /// Which code runs: "sm_90 cubin", or PTX JIT-compiled.
  const std::string &codeSource() const { return module_->codeSource(); }

private:
  CudaExecutor() = default;
  /// Makes the context current and waits for the steps queued so far.
  Status drain();
  /// Checks the buffers of `step` and uploads their work table, when they
  /// differ from the last step's.
  Status updateTable(const DeviceStep &step);
  /// A device buffer of at least `bytes`, grown (after the stream drains)
  /// when too small.
  Status reserve(CudaDriver::CUdeviceptr &buffer, size_t &capacity,
                 size_t bytes);

  /// A phased kernel's arguments for one slot (Group::kernelSlots): an
  /// empty slot is all zeros, which the kernel skips.
  struct SlotArgs {
    CudaDriver::CUdeviceptr tensors = 0;
    int32_t numTensors = 0;
    CudaDriver::CUdeviceptr control = 0, scratch = 0;
  };
  /// Uploads what `step` needs of the device (tensor table, scratch,
  /// step control) for this executor's slot, for a launch on `subgrids`
  /// sub-grids.
  Status preparePhased(const DeviceStep &step, int32_t subgrids, SlotArgs &out);
  /// One cooperative launch of the phased kernel with `slots` (one per
  /// slot of the kernel) on `subgrids` sub-grids.
  Status launchPhased(std::vector<SlotArgs> &slots, int32_t subgrids);
  /// The step control block (count 0) and the f32 block of host values it
  /// points into.
  Status createControl();
  /// The addresses and host values of `step` that differ from the last
  /// step's.
  Status uploadControl(const DeviceStep &step);
  /// The control words from kControlGradScale on, for `step`'s addresses:
  /// a scalar without one points into the runtime's f32 block.
  std::vector<int64_t> addressWords(const DeviceStep &step) const;

  std::shared_ptr<CudaModule> module_;
  bool phased_ = false;
  std::string scratchProgram_, workProgram_;
  int partials_ = 0;
  /// Dynamic shared memory per block (Group::kernelSharedBytes).
  int sharedBytes_ = 0;
  int numTotals_ = 0;
  /// This group's slot in the kernel, and how many slots it has.
  int slot_ = 0, numSlots_ = 1;
  CudaDriver::CUfunction function_ = nullptr;
  CudaDriver::CUstream stream_ = nullptr;
  std::string symbol_;
  int blockSize_ = 256;
  int blocksPerSM_ = 1, maxBlocks_ = 1;
  /// The sub-grid count STEPC_CUDA_SUBGRIDS forced when the group was
  /// bound (0: chosen per launch by chooseCudaSubgrids).
  int forcedSubgrids_ = 0;
  /// Whether the kernel steps same-shape tensors in batches, and the cap
  /// STEPC_CUDA_BATCH forces on them (0: chooseCudaBatchCap's).
  bool batches_ = false;
  int forcedBatchCap_ = 0;
  /// Bytes per element of each buffer of a tensor (param, grad, states):
  /// every buffer must be aligned to vectorWidth of them.
  std::vector<int64_t> elementBytes_;
  int vectorWidth_ = 4;

  /// What the table on the device was built from, and its item count.
  std::vector<std::vector<void *>> tableBuffers_;
  std::vector<int64_t> tableSizes_;
  std::vector<std::vector<int64_t>> tableShapes_;
  /// The sub-grids the phased table's schedule deals to (0: none yet),
  /// and the scratch bytes that table's launch needs.
  int32_t tableSubgrids_ = 0;
  int64_t tableScratchBytes_ = 0;
  int32_t numItems_ = 0;
  CudaDriver::CUdeviceptr tensors_ = 0, items_ = 0;
  size_t tensorsCapacity_ = 0, itemsCapacity_ = 0;
  /// The step control block (rt::StepControlWord), the host values of the
  /// scalars it points at, and what was last uploaded to them.
  size_t numScalars_ = 0;
  CudaDriver::CUdeviceptr control_ = 0, scalars_ = 0;
  std::vector<int64_t> uploadedControl_;
  std::vector<float> uploadedScalars_;
  /// A phased kernel's scratch and its grid barriers' words, the grid's
  /// then each sub-grid's (zeroed once: a barrier leaves its word ready
  /// for the next one).
  CudaDriver::CUdeviceptr scratch_ = 0, barrier_ = 0;
  size_t scratchCapacity_ = 0;
  uint64_t launches_ = 0;

  /// Appends the last launch's phase timeline (`grid` blocks, `subgrids`
  /// sub-grids) to timelinePath_ as one JSON line, after the stream
  /// drains (docs/Design/PhaseTimeline.md).
  Status writeTimeline(unsigned grid, int32_t subgrids);
  /// The kernel's phase timeline (CudaLaunch::timelineCapacity, 0: none),
  /// its sites, and the file STEPC_CUDA_TIMELINE names ("": not asked).
  int timelineCapacity_ = 0;
  std::vector<std::string> timelineSites_;
  std::string timelinePath_;
};

} // namespace stepc::rt

#endif // STEPC_RT_CUDAEXECUTOR_H
