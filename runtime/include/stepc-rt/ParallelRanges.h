//===- ParallelRanges.h - products and sweeps on free threads ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A GroupRunner's threads split a step by tensor, so one large matrix kept
// one core busy. The compiled code's matrix products (independent col
// panels) and sweeps over rows (blocks of rows, each with its own partial
// sums) are parallel ranges that it hands to a table the runtime fills
// (the compiler's stepc-parallelize-ranges pass): the threads the runner's
// items leave free, and those whose items have run out, join the ranges
// (docs/Design/CpuPipeline.md, "Threads inside a product" and "Sweeps on
// free threads"). Each index is computed by one thread as it would be by
// one alone: the same bits for any thread count.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_PARALLELRANGES_H
#define STEPC_RT_PARALLELRANGES_H

#include <atomic>
#include <cstdint>

namespace stepc::rt {

/// Computes indices [begin, end) of a range with the operands at `env`.
using RangeTask = void (*)(void *env, int64_t begin, int64_t end);

/// The table an artifact's CPU code exports as `stepc_parallel_ranges`:
/// while `run` is null the code computes each range itself.
struct ParallelRangesTable {
  void (*run)(void *context, int64_t begin, int64_t end, int64_t cost,
              RangeTask task, void *env);
  void *context;
};
inline constexpr char kParallelRangesSymbol[] = "stepc_parallel_ranges";

/// Threads a runner may lend to parallel ranges: those its items do not
/// use. A runner's worker sets itself as the budget of its thread for the
/// scope of a Use.
class CoreBudget {
public:
  explicit CoreBudget(int idle) : idle_(idle) {}
  CoreBudget(const CoreBudget &) = delete;
  CoreBudget &operator=(const CoreBudget &) = delete;

  /// Takes up to `most` idle threads; returns how many it took.
  int claim(int most);
  void give(int count) { idle_.fetch_add(count); }

  /// The budget of the calling thread's runner, or null outside one.
  static CoreBudget *current();

  class Use {
  public:
    explicit Use(CoreBudget &budget);
    ~Use();
    Use(const Use &) = delete;
    Use &operator=(const Use &) = delete;

  private:
    CoreBudget *previous_;
  };

private:
  std::atomic<int> idle_;
};

struct ParallelStats {
  uint64_t splitRanges = 0;  ///< ranges shared with other threads
  uint64_t inlineRanges = 0; ///< ranges run by the calling thread alone
};

/// What a loaded module's table points at. Thread-safe.
class ParallelRanges {
public:
  /// Below this many multiply-adds (about 200 µs of one core at the blocks'
  /// 41 G multiply-adds per second) a range runs on its caller. Chosen when
  /// a helper was a thread started for it (about 55 µs on this project's
  /// VM, docs/Design/CpuPipeline.md, "Threads inside a product"). With
  /// pool threads (about 26 µs a round trip, WorkerPool.h), 2²² and 2²¹
  /// split more ranges and were no faster ("Threads kept across steps").
  static constexpr int64_t kMinSplitCost = int64_t(1) << 23;

  /// Runs task(env, i, i + 1) for every i in [begin, end), on the calling
  /// thread and the pool threads (WorkerPool.h) it claims from its budget.
  void run(int64_t begin, int64_t end, int64_t cost, RangeTask task, void *env);
  ParallelStats stats() const;
  /// Points `table` at this object.
  void install(ParallelRangesTable &table);

private:
  std::atomic<uint64_t> split_{0}, inline_{0};
};

} // namespace stepc::rt

#endif // STEPC_RT_PARALLELRANGES_H
