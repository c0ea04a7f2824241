//===- WorkerPool.h - threads kept across steps -----------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A runner's extra threads and the threads that join a parallel range were
// started for each step and each range: about 50 to 60 µs apiece on this
// project's VM, where handing a job to a waiting thread takes about 13 µs
// (docs/Design/CpuPipeline.md, "Threads kept across steps"). The pool keeps
// the threads it starts and grows when every one is busy, so a job never
// waits for another job to finish: a caller may wait for the jobs it
// submitted.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_WORKERPOOL_H
#define STEPC_RT_WORKERPOOL_H

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stepc::rt {

class WorkerPool {
public:
  /// The process's pool, which keeps its threads until the process ends.
  static WorkerPool &shared();

  WorkerPool() = default;
  WorkerPool(const WorkerPool &) = delete;
  WorkerPool &operator=(const WorkerPool &) = delete;
  /// Waits for the jobs to finish and joins the threads.
  ~WorkerPool();

  /// Runs `job` on a thread of the pool: a waiting one, or one started for
  /// it. False when no thread could take it (none could be started): the
  /// caller then does the job's work itself.
  bool submit(std::function<void()> job);

  /// Threads started so far, and those of them waiting for a job.
  size_t threadCount();
  size_t waitingCount();

  /// After fork(), in the child: the parent's threads are not there. Drops
  /// them and their jobs without joining; the next job starts a thread.
  void forgetThreadsAfterFork();

private:
  void serve();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t waiting_ = 0; ///< threads waiting for a job
  bool stopping_ = false;
};

/// Counts down the jobs a caller submitted, and lets it wait for them.
class JobLatch {
public:
  explicit JobLatch(size_t count) : left_(count) {}
  void countDown();
  void wait();

private:
  std::mutex mutex_;
  std::condition_variable done_;
  size_t left_;
};

} // namespace stepc::rt

#endif // STEPC_RT_WORKERPOOL_H
