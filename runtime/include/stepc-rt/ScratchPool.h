//===- ScratchPool.h - a CPU step's buffers, kept for the next --*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A CPU step allocates its temporaries (transposes, products, the panels of
// blocked products) and frees them before it returns; the next step asks
// for the same sizes again. Freed to the C library, large blocks went back
// to the kernel and every step paid the page faults of touching them anew.
// The pool keeps freed blocks of 64 KiB or more by size class and gives
// each request the smallest kept block that fits (at most twice its size),
// so a loaded artifact holds about one step's scratch between steps
// (docs/Design/CpuPipeline.md, "Scratch buffers kept across steps").
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_SCRATCHPOOL_H
#define STEPC_RT_SCRATCHPOOL_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace stepc::rt {

/// The table an artifact's CPU code exports as `stepc_scratch_allocator`
/// (the compiler's stepc-route-scratch-allocations pass): while `allocate`
/// is null the code calls malloc and free.
struct ScratchAllocatorTable {
  void *(*allocate)(void *context, uint64_t bytes);
  void (*release)(void *context, void *block);
  void *context;
};
inline constexpr char kScratchAllocatorSymbol[] = "stepc_scratch_allocator";

/// Counts blocks of at least 64 KiB; smaller ones go straight to the C
/// library, whose heap keeps them mapped.
struct ScratchStats {
  uint64_t freshAllocations = 0;  ///< blocks taken from the C library
  uint64_t reusedAllocations = 0; ///< requests served by a kept block
  uint64_t heldBytes = 0;         ///< in kept blocks, not in use
};

/// Thread-safe: threads stepping tensors in parallel share it.
class ScratchPool {
public:
  ScratchPool() = default;
  ~ScratchPool();
  ScratchPool(const ScratchPool &) = delete;
  ScratchPool &operator=(const ScratchPool &) = delete;

  /// A block of at least `bytes`, 16-byte aligned; null when out of memory.
  void *allocate(uint64_t bytes);
  /// Keeps `block` (from allocate) for a later request of its size class
  /// or up to half of it.
  void release(void *block);
  /// Returns every kept block to the C library.
  void trim();
  ScratchStats stats() const;

  /// Points `table` at this pool.
  void install(ScratchAllocatorTable &table);

private:
  mutable std::mutex mutex_;
  /// By size class; no empty lists.
  std::map<uint64_t, std::vector<void *>> kept_;
  ScratchStats stats_;
};

} // namespace stepc::rt

#endif // STEPC_RT_SCRATCHPOOL_H
