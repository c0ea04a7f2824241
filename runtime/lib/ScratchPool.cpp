//===- ScratchPool.cpp - a CPU step's buffers, kept for the next ----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/ScratchPool.h"

#include <cstdlib>

using namespace stepc::rt;

namespace {
/// Each block starts with its size, so that release needs only the
/// pointer; 16 bytes keep the caller's part 16-byte aligned.
constexpr uint64_t kHeaderBytes = 16;

/// Smaller blocks come from the C library's heap, which keeps them mapped
/// anyway (and loops allocate vectors of many sizes, which the pool would
/// each keep).
constexpr uint64_t kSmallestKept = uint64_t(64) << 10;

uint64_t &sizeOf(void *block) {
  return *reinterpret_cast<uint64_t *>(static_cast<char *>(block) -
                                       kHeaderBytes);
}

/// `bytes` rounded up to one of 8 steps per power of two, so that sizes
/// that differ a little (a tensor's transposes, the panels of blocked
/// products) share kept blocks; at most 1/8 is wasted.
uint64_t sizeClassOf(uint64_t bytes) {
  if (bytes < kSmallestKept)
    return bytes;
  uint64_t step = (uint64_t(1) << (63 - __builtin_clzll(bytes))) / 8;
  return (bytes + step - 1) / step * step;
}
} // namespace

ScratchPool::~ScratchPool() { trim(); }

void *ScratchPool::allocate(uint64_t bytes) {
  uint64_t size = sizeClassOf(bytes);
  if (size >= kSmallestKept) {
    std::lock_guard<std::mutex> lock(mutex_);
    // The smallest kept block that fits, if it is at most twice the size:
    // tensors of several shapes then share blocks instead of each keeping
    // its own, and a block too large is not tied up by a small request.
    auto found = kept_.lower_bound(size);
    if (found != kept_.end() && found->first / 2 <= size) {
      void *block = found->second.back();
      found->second.pop_back();
      stats_.heldBytes -= found->first;
      if (found->second.empty())
        kept_.erase(found);
      ++stats_.reusedAllocations;
      return block;
    }
    ++stats_.freshAllocations;
  }
  if (size > UINT64_MAX - kHeaderBytes)
    return nullptr;
  auto *raw = static_cast<char *>(std::malloc(size + kHeaderBytes));
  if (!raw)
    return nullptr;
  void *block = raw + kHeaderBytes;
  sizeOf(block) = size;
  return block;
}

void ScratchPool::release(void *block) {
  if (!block)
    return;
  uint64_t size = sizeOf(block);
  if (size < kSmallestKept) {
    std::free(static_cast<char *>(block) - kHeaderBytes);
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  kept_[size].push_back(block);
  stats_.heldBytes += size;
}

void ScratchPool::trim() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto &[bytes, blocks] : kept_)
    for (void *block : blocks)
      std::free(static_cast<char *>(block) - kHeaderBytes);
  kept_.clear();
  stats_.heldBytes = 0;
}

ScratchStats ScratchPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void ScratchPool::install(ScratchAllocatorTable &table) {
  table.context = this;
  table.release = [](void *context, void *block) {
    static_cast<ScratchPool *>(context)->release(block);
  };
  table.allocate = [](void *context, uint64_t bytes) {
    return static_cast<ScratchPool *>(context)->allocate(bytes);
  };
}
