//===- runner_test.cpp - GroupRunner against hand-written entries ---------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The entries here are written from the ABI (docs/Design/CpuPipeline.md §3:
// args[i] points at argument i; a memref argument is a pointer to a pointer
// to {allocated, aligned, offset, sizes[rank], strides[rank]}; scalars are
// f32), not from GroupRunner's code, so they check the packing as well as
// the binding rules.
//
//===----------------------------------------------------------------------===//

#include "Inputs/Check.h"
#include "Inputs/ManifestBuilders.h"
#include "stepc-rt/GroupRunner.h"
#include "stepc-rt/ParallelRanges.h"
#include "stepc-rt/ScratchPool.h"
#include "stepc-rt/WorkerPool.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace stepc::rt;
using testing::arg;
using testing::hyper;
using testing::state;

namespace {
double countOf(const GroupRunner &runner) {
  double count = -1.0;
  CHECK_OK(runner.count(count));
  return count;
}

template <int Rank> struct MemRef {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};
template <> struct MemRef<0> {
  float *allocated;
  float *aligned;
  int64_t offset;
};

template <int Rank> MemRef<Rank> &memref(void **args, int index) {
  return **static_cast<MemRef<Rank> **>(args[index]);
}
float scalar(void **args, int index) {
  return *static_cast<float *>(args[index]);
}

/// w -= lr * g over a flattened tensor.
void sgdFlat(void **args) {
  MemRef<1> &w = memref<1>(args, 0);
  MemRef<1> &g = memref<1>(args, 1);
  float lr = scalar(args, 2);
  for (int64_t i = 0; i < w.sizes[0]; ++i)
    w.aligned[w.offset + i * w.strides[0]] -=
        lr * g.aligned[g.offset + i * g.strides[0]];
}

/// What the layouts entry saw on its last call.
struct Seen {
  int calls = 0;
  int64_t paramSizes[2], paramStrides[2];
  int64_t stateSizes[5][2], stateStrides[5][2];
  int stateRanks[5];
  float lr = 0, count = 0;
};
Seen seen;

/// param, grad, states full / per_row / per_col / per_tensor / long_axis,
/// hyper lr, count. Adds count to every state element and lr * g to w.
void layouts(void **args) {
  ++seen.calls;
  MemRef<2> &w = memref<2>(args, 0);
  MemRef<2> &g = memref<2>(args, 1);
  for (int d = 0; d < 2; ++d) {
    seen.paramSizes[d] = w.sizes[d];
    seen.paramStrides[d] = w.strides[d];
  }
  seen.lr = scalar(args, 7);
  seen.count = scalar(args, 8);
  for (int64_t i = 0; i < w.sizes[0]; ++i)
    for (int64_t j = 0; j < w.sizes[1]; ++j)
      w.aligned[i * w.strides[0] + j * w.strides[1]] +=
          seen.lr * g.aligned[i * g.strides[0] + j * g.strides[1]];
  auto bump = [&](float *data, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      data[i] += seen.count;
  };
  for (int s = 0; s < 3; ++s) {
    MemRef<2> &state = memref<2>(args, 2 + s);
    seen.stateRanks[s] = 2;
    for (int d = 0; d < 2; ++d) {
      seen.stateSizes[s][d] = state.sizes[d];
      seen.stateStrides[s][d] = state.strides[d];
    }
    bump(state.aligned, state.sizes[0] * state.sizes[1]);
  }
  seen.stateRanks[3] = 0;
  bump(memref<0>(args, 5).aligned, 1);
  MemRef<1> &longAxis = memref<1>(args, 6);
  seen.stateRanks[4] = 1;
  seen.stateSizes[4][0] = longAxis.sizes[0];
  seen.stateStrides[4][0] = longAxis.strides[0];
  bump(longAxis.aligned, longAxis.sizes[0]);
}




Group sgdGroup(bool matrix) {
  Group group;
  group.name = matrix ? "matrices" : "all";
  group.matrix = matrix;
  group.paramDtypes = {"f32"};
  group.entry = "sgd";
  group.args = {arg(Role::Param, "w"), arg(Role::Grad, "g"),
                hyper("lr", false)};
  return group;
}

Group layoutsGroup() {
  Group group;
  group.name = "layouts";
  group.matrix = true;
  group.paramDtypes = {"f32"};
  group.entry = "layouts";
  group.args = {arg(Role::Param, "w"),
                arg(Role::Grad, "g"),
                state("full", Layout::Full, StateInit::Zeros),
                state("row", Layout::PerRow, StateInit::Ones),
                state("col", Layout::PerCol, StateInit::Constant, 2.5),
                state("norm", Layout::PerTensor, StateInit::ParamNorm),
                state("long", Layout::LongAxis, StateInit::Constant, -1.0),
                hyper("lr", true, 0.5),
                arg(Role::Count, "t")};
  return group;
}

void testBindErrors() {
  GroupRunner runner(sgdGroup(false), sgdFlat);
  std::vector<float> a(6, 1.0f), b(6, 1.0f), c(6, 1.0f);
  CHECK_STATUS(runner.step(), NotBound, "no tensors are bound");
  CHECK_STATUS(runner.initState(), NotBound, "bind tensors before initState");
  CHECK_STATUS(
      runner.bind({{a.data(), {6}}, {b.data(), {6}}}, {{c.data(), {6}}}),
      InvalidArgument, "2 params but 1 grads");
  CHECK_STATUS(runner.bind({}, {}), InvalidArgument, "at least one parameter");
  CHECK_STATUS(runner.bind({{a.data(), {2, 3}}}, {{b.data(), {3, 2}}}),
               ShapeMismatch,
               "grad #0 has shape (3, 2) but its param has shape (2, 3)");
  CHECK_STATUS(runner.bind({{a.data(), {6}}, {b.data(), {0, 3}}},
                           {{c.data(), {6}}, {c.data(), {0, 3}}}),
               ShapeMismatch, "param #1 has shape (0, 3)");
  CHECK_STATUS(runner.bind({{nullptr, {6}}}, {{b.data(), {6}}}),
               InvalidArgument, "param #0 has no data");
  CHECK_STATUS(runner.bind({{a.data(), {6}}}, {{nullptr, {6}}}),
               InvalidArgument, "grad #0 has no data");
  int64_t huge = int64_t(1) << 40;
  CHECK_STATUS(
      runner.bind({{a.data(), {huge, huge}}}, {{b.data(), {huge, huge}}}),
      ShapeMismatch, "too many elements");
  // A failed bind leaves nothing bound.
  CHECK(runner.numBound() == 0);

  GroupRunner matrix(sgdGroup(true), sgdFlat);
  CHECK_STATUS(matrix.bind({{a.data(), {6}}}, {{b.data(), {6}}}), ShapeMismatch,
               "param #0 has shape (6,) but group 'matrices' accepts "
               "matrices: pass a rank-2 tensor");
  CHECK_STATUS(matrix.bind({{a.data(), {1, 2, 3}}}, {{b.data(), {1, 2, 3}}}),
               ShapeMismatch, "pass a rank-2 tensor");
  CHECK_OK(matrix.bind({{a.data(), {2, 3}}}, {{b.data(), {2, 3}}}));

  // A runner for a storage dtype the group was not compiled for.
  GroupRunner half(sgdGroup(false), sgdFlat, "f16");
  CHECK_STATUS(half.bind({{a.data(), {6}}}, {{b.data(), {6}}}), DtypeMismatch,
               "group 'all' does not take f16 parameters");
  CHECK_STATUS(runner.setNumThreads(0), InvalidArgument,
               "the thread count must be at least 1, got 0");
}

void testSgd() {
  GroupRunner runner(sgdGroup(false), sgdFlat);
  std::vector<float> w = {1, 2, 3, 4, 5, 6, 7, 8}, g(8, 2.0f), g2(8, -1.0f);
  std::vector<float> v = {1, 1}, h = {4, 8};
  CHECK_OK(runner.bind({{w.data(), {2, 2, 2}}, {v.data(), {2}}},
                       {{g.data(), {2, 2, 2}}, {h.data(), {2}}}));
  CHECK(runner.numBound() == 2);
  CHECK_OK(runner.initState());
  CHECK_STATUS(runner.step(), NotBound, "hyper 'lr' has no default");
  CHECK_STATUS(runner.setHyper("learning_rate", 0.1), InvalidArgument,
               "group 'all' has no hyper 'learning_rate' (it has: lr)");
  CHECK_OK(runner.setHyper("lr", 0.5));
  CHECK(countOf(runner) == 0.0);
  CHECK_OK(runner.step());
  CHECK(countOf(runner) == 1.0);
  CHECK(w[0] == 0.0f && w[7] == 7.0f);
  CHECK(v[0] == -1.0f && v[1] == -3.0f);
  CHECK_STATUS(runner.setGrad(0, {g2.data(), {8}}), ShapeMismatch,
               "grad #0 has shape (8,), expected (2, 2, 2)");
  CHECK_STATUS(runner.setGrad(2, {g2.data(), {2, 2, 2}}), InvalidArgument,
               "no tensor #2 is bound");
  CHECK_OK(runner.setGrad(0, {g2.data(), {2, 2, 2}}));
  CHECK_OK(runner.step());
  CHECK(w[0] == 0.5f && w[7] == 7.5f);
  CHECK(countOf(runner) == 2.0);
  CHECK_STATUS(runner.setCount(-1.0), InvalidArgument,
               "a step count is a whole number from 0 to 2^53, not -1");
  CHECK_STATUS(runner.setCount(1.5), InvalidArgument, "not 1.5");
  // Device memory and mixed precision are for groups on a CUDA device.
  float onDevice = 0.0f;
  CHECK_STATUS(runner.setScalarAddress("lr", &onDevice), InvalidArgument,
               "reading a scalar from device memory needs a group on a CUDA "
               "device; group 'all' steps on the host");
  CHECK_STATUS(runner.setGradScaling(&onDevice, nullptr), InvalidArgument,
               "gradient scaling needs a group on a CUDA device");
}

void testLayouts() {
  GroupRunner runner(layoutsGroup(), layouts);
  // 3 x 5: every layout has a different shape.
  std::vector<float> w(15, 0.0f), g(15, 1.0f);
  w[0] = 3.0f;
  w[14] = 4.0f;
  CHECK_OK(runner.bind({{w.data(), {3, 5}}}, {{g.data(), {3, 5}}}));
  struct Expected {
    const char *name;
    std::vector<int64_t> shape;
    float initial;
  } expected[] = {{"full", {3, 5}, 0.0f},
                  {"row", {3, 1}, 1.0f},
                  {"col", {1, 5}, 2.5f},
                  {"norm", {}, 5.0f},
                  {"long", {5}, -1.0f}};
  for (const Expected &e : expected) {
    std::vector<int64_t> shape;
    CHECK_OK(runner.stateShape(0, e.name, shape));
    CHECK(shape == e.shape);
  }
  std::vector<int64_t> shape;
  CHECK_STATUS(runner.stateShape(0, "m", shape), InvalidArgument,
               "group 'layouts' has no state 'm'");
  CHECK_STATUS(runner.stateShape(1, "full", shape), InvalidArgument,
               "no tensor #1 is bound");
  CHECK(runner.stateData(0, "full") == nullptr);
  CHECK_STATUS(runner.step(), NotBound,
               "state 'full' of tensor #0 is not initialized");

  CHECK_OK(runner.initState());
  for (const Expected &e : expected) {
    float *data = runner.stateData(0, e.name);
    int64_t n = 1;
    for (int64_t d : e.shape)
      n *= d;
    bool all = data != nullptr;
    for (int64_t i = 0; all && i < n; ++i)
      all = data[i] == e.initial;
    check::that(all, std::string("state ") + e.name + " starts at its init",
                __LINE__);
  }
  CHECK_OK(runner.setCount(9.0));
  CHECK_OK(runner.step());
  CHECK(seen.calls == 1);
  CHECK(seen.lr == 0.5f); // the default
  CHECK(seen.count == 10.0f);
  CHECK(seen.paramSizes[0] == 3 && seen.paramSizes[1] == 5);
  CHECK(seen.paramStrides[0] == 5 && seen.paramStrides[1] == 1);
  CHECK(seen.stateSizes[0][0] == 3 && seen.stateSizes[0][1] == 5);
  CHECK(seen.stateStrides[0][0] == 5 && seen.stateStrides[0][1] == 1);
  CHECK(seen.stateSizes[1][0] == 3 && seen.stateSizes[1][1] == 1);
  CHECK(seen.stateStrides[1][0] == 1 && seen.stateStrides[1][1] == 1);
  CHECK(seen.stateSizes[2][0] == 1 && seen.stateSizes[2][1] == 5);
  CHECK(seen.stateStrides[2][0] == 5 && seen.stateStrides[2][1] == 1);
  CHECK(seen.stateSizes[4][0] == 5 && seen.stateStrides[4][0] == 1);
  CHECK(w[0] == 3.5f && w[1] == 0.5f);
  CHECK(runner.stateData(0, "norm")[0] == 15.0f);
  CHECK(runner.stateData(0, "long")[4] == 9.0f);
}

void testAdoptState() {
  GroupRunner runner(layoutsGroup(), layouts);
  std::vector<float> w(6, 1.0f), g(6, 0.0f);
  CHECK_STATUS(runner.adoptState(0, "full", w.data(), 6), InvalidArgument,
               "no tensor #0 is bound");
  CHECK_OK(runner.bind({{w.data(), {2, 3}}}, {{g.data(), {2, 3}}}));
  std::vector<float> full(6, 7.0f), row(2, 7.0f), col(3, 7.0f), norm(1, 7.0f),
      longAxis(3, 7.0f);
  CHECK_STATUS(runner.adoptState(0, "full", full.data(), 5), ShapeMismatch,
               "state 'full' of tensor #0 holds 6 values (shape (2, 3)) but "
               "the adopted buffer has 5");
  CHECK_STATUS(runner.adoptState(0, "row", row.data(), 3), ShapeMismatch,
               "state 'row' of tensor #0 holds 2 values (shape (2, 1))");
  CHECK_STATUS(runner.adoptState(0, "norm", norm.data(), 0), ShapeMismatch,
               "holds 1 values (shape ())");
  CHECK_STATUS(runner.adoptState(0, "nope", full.data(), 6), InvalidArgument,
               "group 'layouts' has no state 'nope'");
  CHECK_STATUS(runner.adoptState(3, "full", full.data(), 6), InvalidArgument,
               "no tensor #3 is bound");
  CHECK_STATUS(runner.adoptState(0, "full", nullptr, 6), InvalidArgument,
               "the adopted buffer is null");

  // Only some states adopted: the rest have no buffer yet.
  CHECK_OK(runner.adoptState(0, "full", full.data(), 6));
  CHECK_STATUS(runner.step(), NotBound, "state 'row' of tensor #0");
  CHECK_OK(runner.adoptState(0, "row", row.data(), 2));
  CHECK_OK(runner.adoptState(0, "col", col.data(), 3));
  CHECK_OK(runner.adoptState(0, "norm", norm.data(), 1));
  CHECK_OK(runner.adoptState(0, "long", longAxis.data(), 3));
  CHECK(runner.stateData(0, "full") == full.data());
  // Resuming: the adopted contents are used as they are.
  CHECK_OK(runner.step());
  CHECK(full[0] == 8.0f && full[5] == 8.0f && row[1] == 8.0f &&
        col[2] == 8.0f && norm[0] == 8.0f && longAxis[2] == 8.0f);
  // initState resets adopted buffers in place and keeps them adopted.
  CHECK_OK(runner.initState());
  CHECK(full[3] == 0.0f && row[0] == 1.0f && col[1] == 2.5f &&
        std::fabs(norm[0] - std::sqrt(6.0f)) < 1e-6f && longAxis[0] == -1.0f);
  CHECK(runner.stateData(0, "row") == row.data());
  CHECK_OK(runner.step());
  CHECK(full[3] == 2.0f && row[0] == 3.0f);

  // Adopting after initState replaces the runner's own buffer.
  GroupRunner second(layoutsGroup(), layouts);
  CHECK_OK(second.bind({{w.data(), {2, 3}}}, {{g.data(), {2, 3}}}));
  CHECK_OK(second.initState());
  std::vector<float> mine(6, 100.0f);
  CHECK_OK(second.adoptState(0, "full", mine.data(), 6));
  CHECK(second.stateData(0, "full") == mine.data());
  CHECK(second.stateData(0, "row") != row.data());
  second.setCount(0.0);
  CHECK_OK(second.step());
  CHECK(mine[0] == 101.0f && second.stateData(0, "row")[0] == 2.0f);
  // A new bind drops every adoption and every state.
  CHECK_OK(second.bind({{w.data(), {2, 3}}}, {{g.data(), {2, 3}}}));
  CHECK(second.stateData(0, "full") == nullptr);
  CHECK_STATUS(second.step(), NotBound, "not initialized");
  CHECK(mine[0] == 101.0f);
}

void testFlatStates() {
  // A group of flattened tensors: full state shaped like the caller's
  // tensor, per-tensor a scalar.
  Group group = sgdGroup(false);
  group.args.insert(group.args.begin() + 2,
                    state("m", Layout::Full, StateInit::Zeros));
  group.args.insert(group.args.begin() + 3,
                    state("s", Layout::PerTensor, StateInit::Ones));
  GroupRunner runner(group, [](void **) {});
  std::vector<float> w(24, 1.0f), g(24, 1.0f);
  CHECK_OK(runner.bind({{w.data(), {2, 3, 4}}}, {{g.data(), {2, 3, 4}}}));
  std::vector<int64_t> shape;
  CHECK_OK(runner.stateShape(0, "m", shape));
  CHECK((shape == std::vector<int64_t>{2, 3, 4}));
  CHECK_OK(runner.stateShape(0, "s", shape));
  CHECK(shape.empty());
  std::vector<float> m(24);
  CHECK_STATUS(runner.adoptState(0, "m", m.data(), 23), ShapeMismatch,
               "holds 24 values (shape (2, 3, 4))");
  CHECK_OK(runner.adoptState(0, "m", m.data(), 24));
}
} // namespace

/// The pool behind the CPU code's temporaries (ScratchPool.h): blocks of
/// 64 KiB or more are kept and reused by requests of their size class or
/// up to half of it; smaller ones go straight back to the C library.
void testScratchPool() {
  ScratchPool pool;
  constexpr uint64_t kib = 1024;
  void *small = pool.allocate(1000);
  CHECK(small && reinterpret_cast<uintptr_t>(small) % 16 == 0);
  pool.release(small);
  ScratchStats stats = pool.stats();
  CHECK(stats.freshAllocations == 0 && stats.heldBytes == 0);

  void *a = pool.allocate(100 * kib);
  void *b = pool.allocate(100 * kib);
  CHECK(a && b && a != b && reinterpret_cast<uintptr_t>(a) % 16 == 0);
  static_cast<char *>(a)[100 * kib - 1] = 1; // the whole size is usable
  pool.release(a);
  pool.release(b);
  stats = pool.stats();
  // 100 KiB rounds up to a multiple of 64 KiB / 8.
  CHECK(stats.freshAllocations == 2 && stats.heldBytes == 2 * 104 * kib);
  // The same class, then the smallest size kept (at least half of 104
  // KiB): both served by the kept blocks.
  void *c = pool.allocate(100 * kib - 7);
  void *d = pool.allocate(64 * kib);
  CHECK((c == a || c == b) && (d == a || d == b) && c != d);
  stats = pool.stats();
  CHECK(stats.reusedAllocations == 2 && stats.heldBytes == 0);
  pool.release(c);
  pool.release(d);

  // 300 KiB (class 320 KiB) is larger than every kept block; 140 KiB
  // (class 144 KiB) is less than half of it.
  void *e = pool.allocate(300 * kib);
  pool.release(e);
  void *f = pool.allocate(140 * kib);
  stats = pool.stats();
  CHECK(f != e && stats.freshAllocations == 4 && stats.reusedAllocations == 2 &&
        stats.heldBytes == (2 * 104 + 320) * kib);
  pool.release(f);
  pool.trim();
  stats = pool.stats();
  CHECK(stats.heldBytes == 0 && stats.freshAllocations == 4);

  // The table the CPU code calls through.
  ScratchAllocatorTable table = {nullptr, nullptr, nullptr};
  pool.install(table);
  void *g = table.allocate(table.context, 100 * kib);
  CHECK(g && pool.stats().freshAllocations == 5);
  table.release(table.context, g);
  CHECK(table.allocate(table.context, 100 * kib) == g);
  table.release(table.context, g); // freed by the pool's destructor
  CHECK(pool.stats().heldBytes == 104 * kib);
}

/// Waits until every thread of `pool` waits for a job.
void untilIdle(WorkerPool &pool) {
  while (pool.waitingCount() != pool.threadCount())
    std::this_thread::yield();
}

void testWorkerPool() {
  {
    WorkerPool pool;
    std::atomic<int> ran{0};
    JobLatch all(64);
    for (int i = 0; i < 64; ++i)
      CHECK(pool.submit([&] {
        ++ran;
        all.countDown();
      }));
    all.wait();
    CHECK(ran == 64 && pool.threadCount() >= 1 && pool.threadCount() <= 64);

    // A waiting thread takes the next job: no thread is started for it.
    untilIdle(pool);
    size_t threads = pool.threadCount();
    for (int round = 0; round < 20; ++round) {
      JobLatch one(1);
      CHECK(pool.submit([&] { one.countDown(); }));
      one.wait();
      untilIdle(pool);
    }
    CHECK(pool.threadCount() == threads);

    // Jobs that wait for jobs they submit (a runner's workers whose
    // products split): the pool grows instead of deadlocking.
    std::atomic<int> inner{0};
    JobLatch outer(8);
    for (int i = 0; i < 8; ++i)
      CHECK(pool.submit([&] {
        JobLatch mine(4);
        for (int j = 0; j < 4; ++j)
          CHECK(pool.submit([&] {
            ++inner;
            mine.countDown();
          }));
        mine.wait();
        outer.countDown();
      }));
    outer.wait();
    CHECK(inner == 32);
  } // joins the threads

  // A child of fork() has none of the shared pool's threads: its jobs
  // start new ones.
  {
    JobLatch parent(1);
    CHECK(WorkerPool::shared().submit([&] { parent.countDown(); }));
    parent.wait();
    pid_t child = fork();
    if (child == 0) {
      alarm(20); // a hang fails the test instead of stalling it
      JobLatch mine(1);
      bool submitted = WorkerPool::shared().submit([&] { mine.countDown(); });
      mine.wait();
      _exit(submitted ? 0 : 1);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child &&
          WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  // A split range computes each index once, on the caller and the
  // budget's idle thread.
  {
    ParallelRanges ranges;
    CoreBudget budget(1);
    CoreBudget::Use use(budget);
    std::vector<std::atomic<int>> hits(200);
    auto task = [](void *env, int64_t begin, int64_t end) {
      auto &counts = *static_cast<std::vector<std::atomic<int>> *>(env);
      for (int64_t i = begin; i < end; ++i)
        ++counts[i];
    };
    ranges.run(0, 200, ParallelRanges::kMinSplitCost, task, &hits);
    bool once = true;
    for (std::atomic<int> &count : hits)
      once = once && count == 1;
    CHECK(once && ranges.stats().splitRanges == 1);
    // The helper was given back: the next range splits too.
    ranges.run(0, 200, ParallelRanges::kMinSplitCost, task, &hits);
    CHECK(ranges.stats().splitRanges == 2 && hits[199] == 2);
  }
}

int main() {
  testWorkerPool();
  testScratchPool();
  testBindErrors();
  testSgd();
  testLayouts();
  testAdoptState();
  testFlatStates();
  return check::summary();
}
