//===- ParallelRanges.cpp - products and sweeps on free threads -----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/ParallelRanges.h"

#include "stepc-rt/WorkerPool.h"

#include <algorithm>
#include <memory>

using namespace stepc::rt;

namespace {
thread_local CoreBudget *currentBudget = nullptr;
} // namespace

int CoreBudget::claim(int most) {
  int idle = idle_.load();
  while (idle > 0) {
    int taken = std::min(idle, most);
    if (idle_.compare_exchange_weak(idle, idle - taken))
      return taken;
  }
  return 0;
}

CoreBudget *CoreBudget::current() { return currentBudget; }

CoreBudget::Use::Use(CoreBudget &budget) : previous_(currentBudget) {
  currentBudget = &budget;
}

CoreBudget::Use::~Use() { currentBudget = previous_; }

void ParallelRanges::run(int64_t begin, int64_t end, int64_t cost,
                         RangeTask task, void *env) {
  int64_t count = end - begin;
  CoreBudget *budget = CoreBudget::current();
  int helpers = 0;
  // The total cost, without overflow: split only when it is worth a thread.
  if (budget && count > 1 && cost > 0 &&
      count >= (kMinSplitCost + cost - 1) / cost)
    helpers = budget->claim(int(std::min<int64_t>(count - 1, 1 << 20)));
  if (helpers == 0) {
    inline_.fetch_add(1);
    task(env, begin, end);
    return;
  }
  split_.fetch_add(1);
  // One index at a time: indices may differ in cost (a symmetric
  // product's panels grow towards the diagonal, a sweep's last block of
  // rows may be short). A helper that starts after the last index was
  // taken finds none and leaves: the caller waits for the indices, not for
  // the helpers, and they share the range's state with it.
  struct Range {
    Range(int64_t begin, int64_t end, RangeTask task, void *env)
        : next(begin), end(end), task(task), env(env), done(end - begin) {}
    std::atomic<int64_t> next;
    int64_t end;
    RangeTask task;
    void *env;
    JobLatch done; ///< counts the indices down
  };
  auto range = std::make_shared<Range>(begin, end, task, env);
  auto work = [](Range &r) {
    for (int64_t i = r.next++; i < r.end; i = r.next++) {
      r.task(r.env, i, i + 1);
      r.done.countDown();
    }
  };
  WorkerPool &pool = WorkerPool::shared();
  for (int t = 0; t < helpers; ++t)
    if (!pool.submit([range, work] { work(*range); }))
      break; // no thread to be had: the others (or this one) do the rest
  work(*range);
  range->done.wait();
  budget->give(helpers);
}

ParallelStats ParallelRanges::stats() const {
  ParallelStats stats;
  stats.splitRanges = split_.load();
  stats.inlineRanges = inline_.load();
  return stats;
}

void ParallelRanges::install(ParallelRangesTable &table) {
  table.context = this;
  table.run = [](void *context, int64_t begin, int64_t end, int64_t cost,
                 RangeTask task, void *env) {
    static_cast<ParallelRanges *>(context)->run(begin, end, cost, task, env);
  };
}
