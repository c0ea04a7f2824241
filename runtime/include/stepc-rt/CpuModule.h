//===- CpuModule.h - an artifact's CPU code, loaded -------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The "cpu.so" section of an artifact is an ordinary shared object; the
// platform's loader maps it from an anonymous memory file, so loading an
// artifact writes nothing to disk.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_CPUMODULE_H
#define STEPC_RT_CPUMODULE_H

#include "stepc-rt/Artifact.h"
#include "stepc-rt/GroupRunner.h"
#include "stepc-rt/ParallelRanges.h"
#include "stepc-rt/ScratchPool.h"

#include <memory>
#include <string>
#include <vector>

namespace stepc::rt {

class CpuModule {
public:
  /// Where the shared object is put for dlopen.
  enum class LoadMethod {
    Auto,     ///< a memfd, or a temporary file where that fails
    Memfd,    ///< an anonymous memory file only
    TempFile, ///< a file in $TMPDIR (or /tmp), unlinked once loaded
  };

  /// Loads the artifact's "cpu.so" section. NoDevice if it has none.
  static Status load(const Artifact &artifact, std::unique_ptr<CpuModule> &out,
                     LoadMethod method = LoadMethod::Auto);

  /// The packed entry of `group`, or null with `status` set.
  PackedEntry lookup(const Group &group, Status &status);
  /// The entry of `group` for parameters stored as `dtype`.
  PackedEntry lookup(const Group &group, const std::string &dtype,
                     Status &status);
  /// The entries of `group`'s sum phases for `dtype` (none when it has no
  /// global sums).
  Status lookupSumEntries(const Group &group, const std::string &dtype,
                          std::vector<PackedEntry> &entries);

  /// How the code was loaded: LoadMethod::Memfd or LoadMethod::TempFile.
  LoadMethod method() const { return method_; }

  /// The buffers the code's steps allocate, kept for the next step (code
  /// compiled before the pool existed calls malloc and free: all zero).
  ScratchStats scratchStats() const { return scratch_.stats(); }
  /// Gives the kept buffers back to the C library; the next step
  /// allocates afresh.
  void trimScratch() { scratch_.trim(); }
  /// How the code's parallel ranges ran: split among a runner's free
  /// threads or on their caller alone (code compiled before parallel
  /// ranges existed: all zero).
  ParallelStats parallelStats() const { return ranges_.stats(); }

  ~CpuModule();
  CpuModule(const CpuModule &) = delete;
  CpuModule &operator=(const CpuModule &) = delete;

private:
  CpuModule() = default;
  /// Symbol `name` of `group`'s code, or null with `status` set.
  PackedEntry symbol(const Group &group, const std::string &name,
                     Status &status);

  void *handle_ = nullptr;
  /// The memfd stays open while the library is loaded: glibc recognizes an
  /// already loaded library by its path, and a closed descriptor's number
  /// (hence its /proc/self/fd path) would be reused by the next module.
  int fd_ = -1;
  LoadMethod method_ = LoadMethod::Memfd;
  std::string origin_;
  /// Outlive the code (the destructor unloads it first).
  ScratchPool scratch_;
  ParallelRanges ranges_;
};

} // namespace stepc::rt

#endif // STEPC_RT_CPUMODULE_H
