//===- ParallelRanges.cpp - products and sweeps on free threads -----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/ParallelRanges.h"

#include <algorithm>
#include <system_error>
#include <thread>
#include <vector>

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
  // rows may be short).
  std::atomic<int64_t> next{begin};
  auto work = [&] {
    for (int64_t i = next++; i < end; i = next++)
      task(env, i, i + 1);
  };
  std::vector<std::thread> threads;
  threads.reserve(helpers);
  for (int t = 0; t < helpers; ++t) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error &) {
      // No thread to be had: the others (or this one alone) do the rest.
      break;
    }
  }
  work();
  for (std::thread &thread : threads)
    thread.join();
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
