//===- WorkerPool.cpp - threads kept across steps -------------------------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/WorkerPool.h"

#include <pthread.h>
#include <system_error>

using namespace stepc::rt;

WorkerPool &WorkerPool::shared() {
  static WorkerPool *pool = [] {
    auto *created = new WorkerPool;
    // A child of fork() has only the forking thread: the pool's mutex may
    // have been held by another, and its threads are gone.
    pthread_atfork([] { WorkerPool::shared().mutex_.lock(); },
                   [] { WorkerPool::shared().mutex_.unlock(); },
                   [] {
                     WorkerPool &pool = WorkerPool::shared();
                     pool.mutex_.unlock();
                     pool.forgetThreadsAfterFork();
                   });
    return created;
  }();
  return *pool;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &thread : threads_)
    thread.join();
}

bool WorkerPool::submit(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  jobs_.push_back(std::move(job));
  // Each queued job has a thread of its own coming: a waiting one, or one
  // started here.
  if (waiting_ >= jobs_.size()) {
    wake_.notify_one();
    return true;
  }
  try {
    threads_.emplace_back([this] { serve(); });
  } catch (const std::system_error &) {
    // Busy threads reach the job once their own jobs are done; with none,
    // nobody would.
    if (threads_.empty()) {
      jobs_.pop_back();
      return false;
    }
  }
  return true;
}

size_t WorkerPool::threadCount() {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_.size();
}

size_t WorkerPool::waitingCount() {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

void WorkerPool::forgetThreadsAfterFork() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Joining or destroying a std::thread of the parent would fail: leak
  // them (their handles only).
  new std::vector<std::thread>(std::move(threads_));
  threads_.clear();
  jobs_.clear();
  waiting_ = 0;
}

void WorkerPool::serve() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++waiting_;
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    --waiting_;
    if (jobs_.empty())
      return; // stopping, nothing left
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void JobLatch::countDown() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (--left_ == 0)
    done_.notify_all();
}

void JobLatch::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return left_ == 0; });
}
