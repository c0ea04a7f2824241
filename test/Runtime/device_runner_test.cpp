//===- device_runner_test.cpp - GroupRunner on a device, no GPU -----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A GroupRunner made with a DeviceExecutor must reach tensors and states only
// through the executor. FakeDevice hands out addresses in an unmapped range
// (0x7000'0000'0000 + offset), so a runner that dereferenced one would
// crash the test; its "kernel" is SGD with momentum written from the
// DeviceStep contract (GroupRunner.h). Also checked: the CUDA work table
// (every element in exactly one item, items aligned, records laid out as
// rt::CudaLaunch says).
//
//===----------------------------------------------------------------------===//

#include "Inputs/Check.h"
#include "Inputs/ManifestBuilders.h"
#include "stepc-rt/CudaExecutor.h"
#include "stepc-rt/GroupRunner.h"
#include "stepc-rt/HalfFloat.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

using namespace stepc::rt;
using testing::arg;
using testing::hyper;
using testing::state;

namespace {
constexpr uintptr_t kDeviceBase = uintptr_t(0x700000000000ULL);

/// What outlives a FakeDevice, for checks after its runner is gone.
struct DeviceLog {
  int allocations = 0, releases = 0;
  std::vector<std::vector<float>> scalarsSeen;
  DeviceStep lastStep;
};

class FakeDevice final : public DeviceExecutor {
public:
  explicit FakeDevice(std::shared_ptr<DeviceLog> log) : log_(std::move(log)) {}

  /// Host storage of device address `address`, or null if not allocated.
  char *host(const void *address) {
    auto at = reinterpret_cast<uintptr_t>(address);
    auto it = buffers_.upper_bound(at);
    if (it == buffers_.begin())
      return nullptr;
    --it;
    if (at >= it->first + it->second.size())
      return nullptr;
    return it->second.data() + (at - it->first);
  }
  /// Puts `values` in a new device buffer; its address.
  float *upload(const std::vector<float> &values) {
    void *buffer = nullptr;
    allocate(values.size() * 4, buffer);
    copyToDevice(buffer, values.data(), values.size() * 4);
    return static_cast<float *>(buffer);
  }
  std::vector<float> download(const void *address, size_t n) {
    std::vector<float> values(n);
    copyToHost(values.data(), address, n * 4);
    return values;
  }
  bool failNextStep = false;

  Status allocate(size_t bytes, void *&buffer) override {
    uintptr_t address = kDeviceBase + next_;
    next_ += (bytes + 255) / 256 * 256 + 256;
    buffers_[address].assign(bytes, '\xAB'); // not zeroed, as cuMemAlloc
    buffer = reinterpret_cast<void *>(address);
    ++log_->allocations;
    return Status::success();
  }
  void release(void *buffer) override {
    if (buffers_.erase(reinterpret_cast<uintptr_t>(buffer)))
      ++log_->releases;
  }
  Status copyToHost(void *hostOut, const void *device, size_t bytes) override {
    char *from = host(device);
    if (!from || !host(static_cast<const char *>(device) + bytes - 1))
      return Status::error(StatusCode::InvalidArgument, "bad device read");
    std::memcpy(hostOut, from, bytes);
    return Status::success();
  }
  Status copyToDevice(void *device, const void *hostIn, size_t bytes) override {
    char *to = host(device);
    if (!to || !host(static_cast<char *>(device) + bytes - 1))
      return Status::error(StatusCode::InvalidArgument, "bad device write");
    std::memcpy(to, hostIn, bytes);
    return Status::success();
  }
  /// SGD with momentum: buf = mu*buf + g; w -= lr*buf (lr, mu = scalars 0,
  /// 1); the device advances its count.
  Status step(const DeviceStep &step) override {
    if (failNextStep) {
      failNextStep = false;
      return Status::error(StatusCode::NoDevice, "the fake device failed");
    }
    log_->scalarsSeen.push_back(step.scalars);
    log_->lastStep = step;
    float lr = step.scalars.at(0), mu = step.scalars.at(1);
    for (size_t t = 0; t < step.buffers.size(); ++t) {
      auto *w = reinterpret_cast<float *>(host(step.buffers[t].at(0)));
      auto *g = reinterpret_cast<float *>(host(step.buffers[t].at(1)));
      auto *buf = reinterpret_cast<float *>(host(step.buffers[t].at(2)));
      if (!w || !g || !buf)
        return Status::error(StatusCode::InvalidArgument, "not device memory");
      for (int64_t i = 0; i < step.numElements[t]; ++i) {
        buf[i] = mu * buf[i] + g[i];
        w[i] -= lr * buf[i];
      }
    }
    ++launches_;
    ++count_;
    return Status::success();
  }
  Status readCount(double &count) override {
    count = double(count_);
    return Status::success();
  }
  Status writeCount(double count) override {
    count_ = int64_t(count);
    return Status::success();
  }
  uint64_t launchCount() const override { return launches_; }
  std::string name() const override { return "fake:0"; }

private:
  std::shared_ptr<DeviceLog> log_;
  std::map<uintptr_t, std::vector<char>> buffers_;
  uintptr_t next_ = 0;
  uint64_t launches_ = 0;
  int64_t count_ = 0;
};

double countOf(const GroupRunner &runner) {
  double count = -1.0;
  CHECK_OK(runner.count(count));
  return count;
}

Group momentumGroup() {
  Group group;
  group.name = "all";
  group.paramDtypes = {"f32"};
  group.args = {arg(Role::Param, "w"),
                arg(Role::Grad, "g"),
                state("buf", Layout::Full, StateInit::Zeros),
                state("norm", Layout::PerTensor, StateInit::ParamNorm),
                state("half", Layout::Full, StateInit::Constant, 0.5, "bf16"),
                hyper("lr", false),
                hyper("mu", true, 0.9),
                arg(Role::Count, "t")};
  return group;
}

void testStepsOnDevice() {
  auto log = std::make_shared<DeviceLog>();
  auto owned = std::make_unique<FakeDevice>(log);
  FakeDevice *device = owned.get();
  {
    GroupRunner runner(momentumGroup(), std::move(owned));
    CHECK(runner.device() == device);
    std::vector<float> w0 = {1, 2, 3, 4, 5, 6}, g = {0.5, -1, 2, 0, 1, -3};
    std::vector<float> v0 = {3, 4}, h = {1, 1};
    float *w = device->upload(w0), *gd = device->upload(g);
    float *v = device->upload(v0), *hd = device->upload(h);
    CHECK_OK(runner.bind({{w, {2, 3}}, {v, {2}}}, {{gd, {2, 3}}, {hd, {2}}}));
    int before = log->allocations;
    CHECK_OK(runner.initState());
    CHECK(log->allocations == before + 6); // 3 states x 2 tensors, on device

    // Initial values, read back through the device.
    std::vector<float> values(6);
    CHECK_OK(runner.readState(0, "buf", values.data(), 6));
    CHECK((values == std::vector<float>(6, 0.0f)));
    float norm = 0;
    CHECK_OK(runner.readState(1, "norm", &norm, 1));
    CHECK(norm == 5.0f); // ||(3, 4)||, read from the device param
    CHECK_OK(runner.readState(0, "half", values.data(), 6));
    CHECK((values == std::vector<float>(6, 0.5f)));
    // bf16 storage: values are rounded on the way in.
    std::vector<float> third(6, 1.0f / 3.0f);
    CHECK_OK(runner.writeState(0, "half", third.data(), 6));
    CHECK_OK(runner.readState(0, "half", values.data(), 6));
    CHECK(values[0] == fromBf16Bits(toBf16Bits(1.0f / 3.0f)));

    CHECK_STATUS(runner.step(), NotBound, "hyper 'lr' has no default");
    CHECK(countOf(runner) == 0.0);
    CHECK_OK(runner.setHyper("lr", 0.1));
    CHECK_OK(runner.step());
    CHECK_OK(runner.step());
    CHECK(runner.launchCount() == 2);
    // The hypers; the count is the device's.
    CHECK(log->scalarsSeen.size() == 2 &&
          (log->scalarsSeen[1] == std::vector<float>{0.1f, 0.9f}));
    CHECK(countOf(runner) == 2.0);
    // The host reference: two steps of SGD with momentum.
    std::vector<float> expected = w0, buf(6, 0.0f);
    for (int s = 0; s < 2; ++s)
      for (size_t i = 0; i < 6; ++i) {
        buf[i] = 0.9f * buf[i] + g[i];
        expected[i] -= 0.1f * buf[i];
      }
    CHECK(device->download(w, 6) == expected);
    CHECK_OK(runner.readState(0, "buf", values.data(), 6));
    CHECK(values == buf);

    // A failed step is not counted.
    device->failNextStep = true;
    CHECK_STATUS(runner.step(), NoDevice, "the fake device failed");
    CHECK(countOf(runner) == 2.0);

    // Scalars from device memory and the mixed-precision addresses reach
    // the device as they were given; null goes back to the host value.
    float *lrOnDevice = device->upload({0.25f});
    float *scale = device->upload({1024.0f}), *inf = device->upload({0.0f});
    CHECK_OK(runner.setScalarAddress("lr", lrOnDevice));
    CHECK_OK(runner.setGradScaling(scale, inf));
    CHECK_STATUS(runner.setScalarAddress("t", lrOnDevice), InvalidArgument,
                 "group 'all' has no hyper or input 't' (it has: lr, mu)");
    CHECK_OK(runner.setCount(7.0));
    CHECK_OK(runner.step());
    CHECK(countOf(runner) == 8.0);
    CHECK((log->lastStep.scalarAddresses ==
           std::vector<const void *>{lrOnDevice, nullptr}));
    CHECK(log->lastStep.gradScale == scale && log->lastStep.foundInf == inf);
    CHECK_OK(runner.setScalarAddress("lr", nullptr));
    CHECK_OK(runner.setGradScaling(nullptr, nullptr));
    CHECK_OK(runner.step());
    CHECK((log->lastStep.scalarAddresses ==
           std::vector<const void *>{nullptr, nullptr}));
    CHECK(!log->lastStep.gradScale && !log->lastStep.foundInf);

    // Adopted state is a device address too; the runner's copy is freed.
    float *adopted = device->upload(std::vector<float>(6, 1.0f));
    int releases = log->releases;
    CHECK_OK(runner.adoptState(0, "buf", adopted, 6));
    CHECK(log->releases == releases + 1);
    CHECK(runner.stateData(0, "buf") == adopted);
    CHECK_OK(runner.step());
    std::vector<float> adoptedNow = device->download(adopted, 6);
    CHECK(adoptedNow[0] == 0.9f * 1.0f + g[0]);
  }
  // The runner freed every state it owned (the test's uploads remain).
  CHECK(log->allocations - log->releases == 4 + 1 + 3);
}

void testWorkTable() {
  DeviceStep step;
  int64_t sizes[] = {1, 2 * kCudaTileElements + 5, 40000, 4};
  int fake = 0;
  for (int64_t n : sizes) {
    std::vector<void *> buffers;
    for (int b = 0; b < 3; ++b)
      buffers.push_back(reinterpret_cast<void *>(uintptr_t(++fake) << 8));
    step.buffers.push_back(buffers);
    step.numElements.push_back(n);
  }
  CudaWorkTable table = buildCudaWorkTable(step, kCudaTileElements);
  // Records: 3 addresses then numel, per tensor.
  CHECK(table.tensors.size() == 4 * 4);
  CHECK(table.tensors[4] == int64_t(4 << 8) && table.tensors[7] == sizes[1]);
  std::vector<std::vector<int>> covered;
  for (int64_t n : sizes)
    covered.emplace_back(size_t(n), 0);
  bool aligned = true, bounded = true;
  for (size_t i = 0; i < table.numItems(); ++i) {
    int64_t t = table.items[3 * i], begin = table.items[3 * i + 1],
            end = table.items[3 * i + 2];
    aligned = aligned && begin % 4 == 0;
    bounded = bounded && begin < end && end - begin <= kCudaTileElements;
    for (int64_t e = begin; e < end; ++e)
      ++covered[size_t(t)][size_t(e)];
  }
  CHECK(aligned);
  CHECK(bounded);
  bool once = true;
  for (const std::vector<int> &tensor : covered)
    for (int c : tensor)
      once = once && c == 1;
  CHECK(once);
  CHECK(table.numItems() == 1 + 3 + 3 + 1);
}

void testScratchPrograms() {
  int64_t bytes = 0;
  std::string error;
  // A muon-like plan: rows x cols f32, then max(rows, cols)^2 f32, each
  // 256-byte aligned; hand-computed for 3 x 100.
  CHECK(
      evaluateSizeProgram("0 4 rows mul cols mul align add 4 rows cols max mul "
                          "rows cols max mul align add",
                          3, 100, bytes, error));
  CHECK(bytes == 1280 + 40192);
  CHECK(evaluateSizeProgram("0", 7, 9, bytes, error) && bytes == 0);
  CHECK(evaluateSizeProgram("5 align", 1, 1, bytes, error) && bytes == 256);
  // The dims of a matrix transposed when it is tall: cols x rows if
  // rows > cols, else rows x cols; its Gram min(rows, cols)^2 (the
  // comparison at equality differs between ifgt and ifge).
  const char *gram = "4 rows cols cols rows ifgt mul rows cols cols rows "
                     "ifgt mul";
  CHECK(evaluateSizeProgram(gram, 300, 20, bytes, error) &&
        bytes == 4 * 20 * 20);
  CHECK(evaluateSizeProgram(gram, 20, 300, bytes, error) &&
        bytes == 4 * 20 * 20);
  CHECK(evaluateSizeProgram("rows cols 1 2 ifgt", 4, 4, bytes, error) &&
        bytes == 2);
  CHECK(evaluateSizeProgram("rows cols 1 2 ifge", 4, 4, bytes, error) &&
        bytes == 1);
  struct Bad {
    const char *program, *why;
  } bad[] = {{"rows add", "add needs two operands"},
             {"rows cols", "leaves 2 values instead of one"},
             {"", "leaves 0 values instead of one"},
             {"rows sub", "unknown token 'sub'"},
             {"-4", "unknown token '-4'"},
             {"4x", "bad number '4x'"},
             {"align", "align needs an operand"},
             {"rows cols 1 ifgt", "ifgt needs four operands"},
             {"rows rows mul rows mul rows mul", "overflows"}};
  for (const Bad &b : bad) {
    error.clear();
    CHECK(!evaluateSizeProgram(b.program, int64_t(1) << 20, 1, bytes, error));
    CHECK(error.find(b.why) != std::string::npos);
  }
}

void testPhasedTable() {
  DeviceStep step;
  step.buffers = {
      {reinterpret_cast<void *>(0x1000), reinterpret_cast<void *>(0x2000)},
      {reinterpret_cast<void *>(0x3000), reinterpret_cast<void *>(0x4000)}};
  step.shapes = {{64, 32}, {10}};
  std::vector<int64_t> words;
  int64_t scratch = 0;
  // 4 bytes per element of the param: the 64 x 32 tensor is the largest.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul align",
                                "rows cols mul", 2, 0, 1000, 1, 1, words,
                                scratch));
  // The records, then one sub-grid's schedule: positions [0, 2), tensors
  // 0 and 1.
  std::vector<int64_t> expected = {0x1000, 0x2000, 64, 32, 0x3000, 0x4000, 10,
                                   1,      0,      2,  0,  1,      1};
  CHECK(words == expected);
  // 1000 threads x 2 partials x 4 bytes, aligned, then 64 * 32 * 4.
  CHECK(scratch == 8192 + 8192);
  // With 40 totals: 40 f64 (320 bytes) and 2 tensors x 40 f32 (320) first,
  // each aligned to 256.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul align",
                                "rows cols mul", 2, 40, 1000, 1, 1, words,
                                scratch));
  CHECK(scratch == 512 + 512 + 8192 + 8192);
  // With 3 sub-grids: a region of the largest tensor's buffers for each,
  // and the schedule deals the larger tensor to sub-grid 0, the other to
  // sub-grid 1, none to sub-grid 2.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul align",
                                "rows cols mul", 2, 0, 1000, 3, 1, words,
                                scratch));
  CHECK(scratch == 8192 + 3 * 8192);
  CHECK(std::vector<int64_t>(words.begin() + 8, words.end()) ==
        std::vector<int64_t>({0, 1, 2, 2, 0, 1, 1}));
  // Costed the other way round (1 for the matrix, 1000 for the vector),
  // the vector goes first; costed the same, table order decides.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul align",
                                "rows 50 1 1000 ifgt", 2, 0, 1000, 3, 1, words,
                                scratch));
  CHECK(std::vector<int64_t>(words.begin() + 8, words.end()) ==
        std::vector<int64_t>({0, 1, 2, 2, 1, 0, 1}));
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul align",
                                "100 rows max cols 0 mul add", 2, 0, 1000, 3, 1,
                                words, scratch));
  CHECK(std::vector<int64_t>(words.begin() + 8, words.end()) ==
        std::vector<int64_t>({0, 1, 2, 2, 0, 1, 1}));
  CHECK_STATUS(buildCudaPhasedTable(step, "rows add", "1", 0, 0, 1, 1, 1, words,
                                    scratch),
               InvalidArgument,
               "tensor #0: size program 'rows add': add needs two operands");
  CHECK_STATUS(buildCudaPhasedTable(step, "0", "cols 1 ifgt", 0, 0, 1, 1, 1,
                                    words, scratch),
               InvalidArgument,
               "tensor #0: size program 'cols 1 ifgt': ifgt needs four "
               "operands");
}

/// The table of a kernel that batches (docs/Design/Batching.md): each
/// sub-grid's tensors by shape, the cap at the end, and the partials and
/// buffers once per member.
void testBatchedPhasedTable() {
  DeviceStep step;
  for (int t = 0; t < 4; ++t)
    step.buffers.push_back({reinterpret_cast<void *>(0x1000 * (t + 1))});
  step.shapes = {{16, 4}, {8, 4}, {16, 4}, {8, 4}};
  std::vector<int64_t> words;
  int64_t scratch = 0;
  // Equal costs: one sub-grid steps the 8 x 4 tensors (1 and 3), then the
  // 16 x 4 ones (0 and 2); 256 bytes of buffers per member. A cap of 3
  // becomes 2, the longest run of one shape.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul", "1", 1, 0, 1000, 1,
                                3, words, scratch));
  CHECK(std::vector<int64_t>(words.begin() + 12, words.end()) ==
        std::vector<int64_t>({0, 4, 1, 3, 0, 2, 2}));
  CHECK(scratch == 2 * 4096 + 2 * 256);
  // Two sub-grids: equal costs deal round robin, each a shape here.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul", "1", 1, 0, 1000, 2,
                                2, words, scratch));
  CHECK(std::vector<int64_t>(words.begin() + 12, words.end()) ==
        std::vector<int64_t>({0, 2, 4, 0, 2, 1, 3, 2}));
  CHECK(scratch == 2 * 4096 + 2 * 2 * 256);
  // Three sub-grids leave no run longer than 1.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul", "1", 1, 0, 1000, 3,
                                4, words, scratch));
  CHECK(words.back() == 1);
  CHECK(scratch == 4096 + 3 * 256);
  // Cap 1: table order, as a kernel that does not batch reads it.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul", "1", 1, 0, 1000, 1,
                                1, words, scratch));
  CHECK(std::vector<int64_t>(words.begin() + 12, words.end()) ==
        std::vector<int64_t>({0, 4, 0, 1, 2, 3, 1}));
  // 0: chooseCudaBatchCap's (16 members of 256 bytes), then the longest
  // run.
  CHECK_OK(buildCudaPhasedTable(step, "4 rows mul cols mul", "1", 1, 0, 1000, 1,
                                0, words, scratch));
  CHECK(words.back() == 2);
  CHECK(chooseCudaBatchCap(256, 1) == kMaxCudaBatch);
  CHECK(chooseCudaBatchCap(int64_t(1) << 26, 2) == 8);
  CHECK(chooseCudaBatchCap(int64_t(1) << 29, 2) == 1);
  CHECK(chooseCudaBatchCap(int64_t(1) << 31, 1) == 1);
}

/// The largest sub-grid cost of `schedule` (scheduleCudaSubgrids' form)
/// over `costs`, after checking that it deals every tensor once, each
/// sub-grid's in table order.
int64_t makespanOf(const std::vector<int64_t> &schedule,
                   const std::vector<int64_t> &costs, int subgrids) {
  size_t n = costs.size(), s = size_t(subgrids);
  CHECK(schedule.size() == s + 1 + n && schedule[0] == 0 &&
        schedule[s] == int64_t(n));
  std::vector<int64_t> order(schedule.begin() + s + 1, schedule.end());
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t t = 0; t < n; ++t)
    CHECK(sorted[t] == int64_t(t));
  int64_t makespan = 0;
  for (size_t g = 0; g < s; ++g) {
    CHECK(schedule[g] <= schedule[g + 1]);
    int64_t load = 0;
    for (int64_t p = schedule[g]; p < schedule[g + 1]; ++p) {
      load += costs[size_t(order[size_t(p)])];
      if (p > schedule[g])
        CHECK(order[size_t(p - 1)] < order[size_t(p)]);
    }
    makespan = std::max(makespan, load);
  }
  return makespan;
}

/// The smallest largest-sub-grid cost over every way of dealing `costs`,
/// by trying them all.
int64_t bestMakespan(const std::vector<int64_t> &costs, int subgrids) {
  std::vector<int64_t> load(size_t(subgrids), 0);
  int64_t best = INT64_MAX;
  std::function<void(size_t)> deal = [&](size_t t) {
    if (t == costs.size()) {
      best = std::min(best, *std::max_element(load.begin(), load.end()));
      return;
    }
    for (int64_t &l : load) {
      l += costs[t];
      deal(t + 1);
      l -= costs[t];
    }
  };
  deal(0);
  return best;
}

void testSubgridSchedule() {
  // GPT-2 small's hidden matrices, costed as Muon's kernel is (the Gram
  // and P·X, 2 m^2 n, and A^2, m^3, with m the smaller side): round robin
  // gave sub-grid 0 of 2 the 768 x 2304 and 768 x 3072 ones, 1.15 times
  // the mean; dealt longest first, each sub-grid gets the mean exactly.
  std::vector<int64_t> costs;
  int64_t total = 0;
  for (int layer = 0; layer < 12; ++layer)
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{768, 2304},
                              {768, 768},
                              {768, 3072},
                              {3072, 768}}) {
      int64_t m = std::min(rows, cols), n = std::max(rows, cols);
      costs.push_back(2 * m * m * n + m * m * m);
      total += costs.back();
    }
  for (int subgrids : {2, 4})
    CHECK(makespanOf(scheduleCudaSubgrids(costs, subgrids), costs, subgrids) ==
          total / subgrids);
  // Exactly: longest first, ties to the lower index.
  CHECK(scheduleCudaSubgrids({5, 9, 5, 1}, 2) ==
        std::vector<int64_t>({0, 2, 4, 1, 3, 0, 2}));
  CHECK(scheduleCudaSubgrids({3, 3, 3}, 1) ==
        std::vector<int64_t>({0, 3, 0, 1, 2}));
  CHECK(scheduleCudaSubgrids({}, 2) == std::vector<int64_t>({0, 0, 0}));
  // Equal costs deal round robin: STEPC_CUDA_SCHEDULE=round-robin.
  CHECK(scheduleCudaSubgrids({1, 1, 1, 1, 1}, 2) ==
        std::vector<int64_t>({0, 3, 5, 0, 2, 4, 1, 3}));
  std::string program;
  ::unsetenv("STEPC_CUDA_SCHEDULE");
  CHECK_OK(cudaWorkProgram("rows cols mul", program));
  CHECK(program == "rows cols mul");
  ::setenv("STEPC_CUDA_SCHEDULE", "round-robin", 1);
  CHECK_OK(cudaWorkProgram("rows cols mul", program));
  CHECK(program == "1");
  ::setenv("STEPC_CUDA_SCHEDULE", "fastest", 1);
  CHECK_STATUS(cudaWorkProgram("rows cols mul", program), InvalidArgument,
               "STEPC_CUDA_SCHEDULE=fastest: expected cost or round-robin");
  ::unsetenv("STEPC_CUDA_SCHEDULE");
  // Within 4/3 of the best split (Graham's bound for longest first), over
  // small made-up cases checked against every split.
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return int64_t((state >> 33) % 100 + 1);
  };
  for (int trial = 0; trial < 60; ++trial) {
    int subgrids = 2 + trial % 3;
    std::vector<int64_t> made(size_t(3 + trial % 6));
    for (int64_t &cost : made)
      cost = next();
    int64_t dealt =
        makespanOf(scheduleCudaSubgrids(made, subgrids), made, subgrids);
    int64_t best = bestMakespan(made, subgrids);
    check::that(3 * dealt <= 4 * best,
                "trial " + std::to_string(trial) + ": " +
                    std::to_string(dealt) + " vs best " + std::to_string(best),
                __LINE__);
  }
}

void testSubgridChoice() {
  // 264 blocks (an H100 at two per SM): two sub-grids when every slot
  // with tensors has two or more; an empty slot does not count.
  CHECK(chooseCudaSubgrids(0, 264, 2, {48}) == 2);
  CHECK(chooseCudaSubgrids(0, 264, 2, {48, 0, 2}) == 2);
  CHECK(chooseCudaSubgrids(0, 264, 2, {48, 1}) == 1);
  CHECK(chooseCudaSubgrids(0, 264, 2, {1}) == 1);
  CHECK(chooseCudaSubgrids(0, 264, 2, {0}) == 1);
  // One block per SM: measured slower on every split.
  CHECK(chooseCudaSubgrids(0, 132, 1, {48}) == 1);
  // STEPC_CUDA_SUBGRIDS wins, up to the grid's blocks.
  CHECK(chooseCudaSubgrids(4, 132, 1, {1}) == 4);
  CHECK(chooseCudaSubgrids(500, 132, 1, {48}) == 132);
  CHECK(chooseCudaSubgrids(0, 1, 2, {48}) == 1);
}

void testLaunchFailureHint() {
  CudaDriver driver;
  driver.cuGetErrorString = [](int code, const char **text) {
    *text = code == CudaDriver::kErrorLaunchFailed
                ? "unspecified launch failure"
                : "an illegal memory access was encountered";
    return CudaDriver::kSuccess;
  };
  std::string failed =
      driver.check(CudaDriver::kErrorLaunchFailed, "x").message;
  CHECK(failed.find("x failed: unspecified launch failure (CUDA error 719); "
                    "if a stepc kernel was running") == 0);
  CHECK(failed.find("--cuda-barrier-timeout") != std::string::npos);
  // Other errors, and the emulator (which names the divergence), get none.
  CHECK(driver.check(700, "x").message.find("barrier") == std::string::npos);
  driver.hostEmulator = true;
  CHECK(driver.check(CudaDriver::kErrorLaunchFailed, "x")
            .message.find("barrier") == std::string::npos);
}

void testDeviceNames() {
  bool isCuda = false;
  int ordinal = -1;
  CHECK(parseDeviceName("cpu", isCuda, ordinal) && !isCuda);
  CHECK(parseDeviceName("cuda", isCuda, ordinal) && isCuda && ordinal == 0);
  CHECK(parseDeviceName("cuda:3", isCuda, ordinal) && isCuda && ordinal == 3);
  for (const char *bad :
       {"", "gpu", "cuda:", "cuda:x", "cuda:-1", "CUDA", "cuda:99999999"})
    check::that(!parseDeviceName(bad, isCuda, ordinal),
                std::string("rejects '") + bad + "'", __LINE__);
}
} // namespace

int main() {
  testStepsOnDevice();
  testWorkTable();
  testScratchPrograms();
  testPhasedTable();
  testBatchedPhasedTable();
  testSubgridSchedule();
  testSubgridChoice();
  testLaunchFailureHint();
  testDeviceNames();
  return check::summary();
}
