//===- CpuModule.cpp - an artifact's CPU code, loaded ----------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/CpuModule.h"

#include "Io.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace stepc::rt;

namespace {
/// Linux 6.3 can seal memfds against execution by default (the
/// vm.memfd_noexec sysctl); asking for an executable one opts out. Older
/// kernels reject the flag, and their memfds are executable anyway.
constexpr unsigned kMfdExec = 0x0010U;


std::string lastDlError() {
  const char *message = ::dlerror();
  return message ? message : "unknown dlopen error";
}

/// dlopens `bytes` from a memfd; on success `fd` must stay open.
bool loadFromMemfd(const std::string &bytes, void *&handle, int &fd,
                   std::string &error) {
  fd = ::memfd_create("stepc-cpu.so", MFD_CLOEXEC | kMfdExec);
  if (fd < 0 && errno == EINVAL)
    fd = ::memfd_create("stepc-cpu.so", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create failed: ") + std::strerror(errno);
    return false;
  }
  if (!writeAll(fd, bytes)) {
    error = std::string("writing the memfd failed: ") + std::strerror(errno);
    ::close(fd);
    fd = -1;
    return false;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    error = lastDlError();
    ::close(fd);
    fd = -1;
    return false;
  }
  return true;
}

bool loadFromTempFile(const std::string &bytes, void *&handle,
                      std::string &error) {
  const char *directory = std::getenv("TMPDIR");
  std::string path = std::string(directory && *directory ? directory : "/tmp") +
                     "/stepc-cpu-XXXXXX";
  int fd = ::mkstemp(&path[0]);
  if (fd < 0) {
    error = "cannot create a temporary file in " +
            path.substr(0, path.rfind('/')) + ": " + std::strerror(errno);
    return false;
  }
  bool written = writeAll(fd, bytes);
  int writeError = errno;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    error = "cannot write " + path + ": " + std::strerror(writeError);
    return false;
  }
  handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  // The mapping keeps the code alive; the name is not needed any more.
  ::unlink(path.c_str());
  if (!handle) {
    error = lastDlError();
    return false;
  }
  return true;
}
} // namespace

Status CpuModule::load(const Artifact &artifact,
                       std::unique_ptr<CpuModule> &out, LoadMethod method) {
  const std::string &origin =
      artifact.origin.empty() ? std::string("the artifact") : artifact.origin;
  const ArtifactSection *section = artifact.findSection(kCpuSectionName);
  if (!section)
    return Status::error(StatusCode::NoDevice,
                         origin + " holds no CPU code; compile it with "
                                  "--target=cpu");
  std::unique_ptr<CpuModule> module(new CpuModule());
  module->origin_ = origin;
  std::string memfdError, fileError;
  if (method != LoadMethod::TempFile &&
      loadFromMemfd(section->bytes, module->handle_, module->fd_, memfdError)) {
    module->method_ = LoadMethod::Memfd;
  } else if (method != LoadMethod::Memfd &&
             loadFromTempFile(section->bytes, module->handle_, fileError)) {
    module->method_ = LoadMethod::TempFile;
  } else {
    std::string reason;
    if (!memfdError.empty())
      reason = "from a memfd: " + memfdError;
    if (!fileError.empty())
      reason += (reason.empty() ? "" : "; ") +
                std::string("from a temporary file: ") + fileError;
    return Status::error(StatusCode::FormatError,
                         origin + ": cannot load its CPU code (" + reason +
                             ")");
  }
  if (auto *table = static_cast<ScratchAllocatorTable *>(
          ::dlsym(module->handle_, kScratchAllocatorSymbol)))
    module->scratch_.install(*table);
  if (auto *table = static_cast<ParallelRangesTable *>(
          ::dlsym(module->handle_, kParallelRangesSymbol)))
    module->ranges_.install(*table);
  out = std::move(module);
  return Status::success();
}

PackedEntry CpuModule::lookup(const Group &group, Status &status) {
  return lookup(group, "f32", status);
}

PackedEntry CpuModule::lookup(const Group &group, const std::string &dtype,
                              Status &status) {
  if (!group.takesDtype(dtype)) {
    std::string known;
    for (const std::string &d : group.paramDtypes)
      known += (known.empty() ? "" : ", ") + d;
    status = Status::error(StatusCode::DtypeMismatch,
                           "group '" + group.name + "' does not take " +
                               dtype + " parameters (it takes " + known + ")");
    return nullptr;
  }
  return symbol(group, group.entryFor(dtype), status);
}

Status CpuModule::lookupSumEntries(const Group &group, const std::string &dtype,
                                   std::vector<PackedEntry> &entries) {
  entries.clear();
  for (const SumPhase &phase : group.sumPhases) {
    Status status;
    PackedEntry entry = symbol(group, Group::entryFor(phase.entry, dtype), status);
    if (!entry)
      return status;
    entries.push_back(entry);
  }
  return Status::success();
}

PackedEntry CpuModule::symbol(const Group &group, const std::string &name,
                              Status &status) {
  ::dlerror();
  void *symbol = ::dlsym(handle_, name.c_str());
  if (!symbol) {
    status = Status::error(StatusCode::FormatError,
                           origin_ + ": its CPU code has no entry '" + name +
                               "' for group '" + group.name + "' (" +
                               lastDlError() + ")");
    return nullptr;
  }
  status = Status::success();
  return reinterpret_cast<PackedEntry>(symbol);
}

CpuModule::~CpuModule() {
  if (handle_)
    ::dlclose(handle_);
  if (fd_ >= 0)
    ::close(fd_);
}
