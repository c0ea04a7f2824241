//===- Artifact.cpp - the compiled optimizer as one file -------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The reader trusts nothing before the checksum: every length is compared
// with the bytes that remain before anything is allocated, so a corrupted
// or hostile file costs at most its own size in memory.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/Artifact.h"

#include "Io.h"
#include "stepc-rt/ManifestJson.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#ifndef STEPC_RT_VERSION
#define STEPC_RT_VERSION "0.1.0"
#endif

using namespace stepc::rt;

const char *stepc::rt::runtimeVersion() { return STEPC_RT_VERSION; }

const ArtifactSection *Artifact::findSection(const std::string &name) const {
  for (const ArtifactSection &section : sections)
    if (section.name == name)
      return &section;
  return nullptr;
}

const ArtifactSection *Artifact::findCudaCode(const std::string &arch,
                                              std::string &source) const {
  // The arch-specific cubin first: a device of `arch` runs it, and it holds
  // what the compiler could only build for that arch (stepc compile
  // --cuda-matmul-wgmma).
  for (const std::string &cubinArch : {arch + "a", arch})
    if (const ArtifactSection *cubin =
            findSection(cudaCubinSectionName(cubinArch))) {
      source = cubinArch + " cubin";
      return cubin;
    }
  // The PTX targets the oldest arch stepc supports, so that it
  // JIT-compiles for every newer one.
  source = "PTX JIT-compiled for " + arch;
  return findSection(kCudaPtxSectionName);
}

uint64_t stepc::rt::fnv1a64(const void *data, size_t size) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

static void putU32(std::string &out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out += char((value >> (8 * i)) & 0xff);
}

static void putU64(std::string &out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out += char((value >> (8 * i)) & 0xff);
}

std::string stepc::rt::serializeArtifact(const Artifact &artifact) {
  std::string json = manifestToJson(artifact.manifest);
  size_t size =
      8 + 4 + 4 + artifact.stepcVersion.size() + 8 + json.size() + 4 + 8;
  for (const ArtifactSection &section : artifact.sections)
    size += 4 + section.name.size() + 8 + section.bytes.size();
  std::string out;
  out.reserve(size);
  out.append(kArtifactMagic, 8);
  putU32(out, kArtifactFormatVersion);
  putU32(out, uint32_t(artifact.stepcVersion.size()));
  out += artifact.stepcVersion;
  putU64(out, json.size());
  out += json;
  putU32(out, uint32_t(artifact.sections.size()));
  for (const ArtifactSection &section : artifact.sections) {
    putU32(out, uint32_t(section.name.size()));
    out += section.name;
    putU64(out, section.bytes.size());
    out += section.bytes;
  }
  putU64(out, fnv1a64(out.data(), out.size()));
  return out;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
/// A cursor over the file that refuses to read past its end.
class ByteReader {
public:
  ByteReader(const std::string &bytes, const std::string &origin)
      : bytes_(bytes), origin_(origin) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  Status u32(const std::string &what, uint32_t &out) {
    if (Status s = need(what, 4); !s.ok())
      return s;
    out = 0;
    for (int i = 0; i < 4; ++i)
      out |= uint32_t(byte(pos_ + i)) << (8 * i);
    pos_ += 4;
    return Status::success();
  }

  Status u64(const std::string &what, uint64_t &out) {
    if (Status s = need(what, 8); !s.ok())
      return s;
    out = 0;
    for (int i = 0; i < 8; ++i)
      out |= uint64_t(byte(pos_ + i)) << (8 * i);
    pos_ += 8;
    return Status::success();
  }

  Status bytes(const std::string &what, uint64_t length, std::string &out) {
    if (Status s = need(what, length); !s.ok())
      return s;
    out.assign(bytes_, pos_, size_t(length));
    pos_ += size_t(length);
    return Status::success();
  }

  Status need(const std::string &what, uint64_t length) const {
    if (length <= remaining())
      return Status::success();
    return Status::error(StatusCode::FormatError,
                         origin_ + ": truncated: " + what + " needs " +
                             std::to_string(length) + " bytes but " +
                             std::to_string(remaining()) + " remain");
  }

private:
  unsigned char byte(size_t i) const {
    return static_cast<unsigned char>(bytes_[i]);
  }

  const std::string &bytes_;
  const std::string &origin_;
  size_t pos_ = 0;
};

Status formatError(const std::string &origin, const std::string &message) {
  return Status::error(StatusCode::FormatError, origin + ": " + message);
}

Status checksumMismatch(const std::string &origin) {
  return Status::error(StatusCode::ChecksumMismatch,
                       origin + ": checksum mismatch: the file is corrupted");
}
} // namespace

Status stepc::rt::parseArtifact(const std::string &bytes,
                                const std::string &origin, Artifact &out) {
  if (bytes.empty())
    return formatError(origin, "not a stepc artifact (the file is empty)");
  size_t magicLength = sizeof(kArtifactMagic) - 1;
  // A file shorter than the magic but starting like it is truncated, not
  // foreign.
  size_t compared = std::min(magicLength, bytes.size());
  if (bytes.compare(0, compared, kArtifactMagic, compared) != 0)
    return formatError(origin, "not a stepc artifact (bad magic)");
  ByteReader reader(bytes, origin);
  std::string magic;
  if (Status s = reader.bytes("the magic", magicLength, magic); !s.ok())
    return s;

  // The version comes before anything whose layout it could change.
  uint32_t formatVersion;
  if (Status s = reader.u32("the format version", formatVersion); !s.ok())
    return s;
  if (formatVersion != kArtifactFormatVersion)
    return Status::error(StatusCode::VersionMismatch,
                         origin + ": artifact format version " +
                             std::to_string(formatVersion) +
                             ", but this runtime reads version " +
                             std::to_string(kArtifactFormatVersion));

  Artifact artifact;
  artifact.origin = origin;
  uint32_t versionLength;
  if (Status s = reader.u32("the stepc version's length", versionLength);
      !s.ok())
    return s;
  if (Status s = reader.bytes("the stepc version", versionLength,
                              artifact.stepcVersion);
      !s.ok())
    return s;
  uint64_t jsonLength;
  std::string json;
  if (Status s = reader.u64("the manifest's length", jsonLength); !s.ok())
    return s;
  if (Status s = reader.bytes("the manifest", jsonLength, json); !s.ok())
    return s;
  uint32_t numSections;
  if (Status s = reader.u32("the section count", numSections); !s.ok())
    return s;
  // Each section takes at least its two lengths; checking that first keeps a
  // corrupted count from reserving billions of entries.
  if (Status s = reader.need(std::to_string(numSections) + " sections",
                             uint64_t(numSections) * 12);
      !s.ok())
    return s;
  artifact.sections.reserve(numSections);
  for (uint32_t i = 0; i < numSections; ++i) {
    std::string which = "section #" + std::to_string(i);
    uint32_t nameLength;
    uint64_t payloadLength;
    ArtifactSection section;
    if (Status s = reader.u32(which + "'s name length", nameLength); !s.ok())
      return s;
    if (Status s = reader.bytes(which + "'s name", nameLength, section.name);
        !s.ok())
      return s;
    which += " (" + section.name + ")";
    if (Status s = reader.u64(which + "'s payload length", payloadLength);
        !s.ok())
      return s;
    if (Status s =
            reader.bytes(which + "'s payload", payloadLength, section.bytes);
        !s.ok())
      return s;
    artifact.sections.push_back(std::move(section));
  }

  size_t end = reader.position();
  uint64_t stored;
  if (Status s = reader.u64("the checksum", stored); !s.ok())
    return s;
  if (reader.remaining() != 0) {
    // Bytes after the checksum: either a length was corrupted (so the
    // checksum over the whole file fails) or something appended to a good
    // artifact.
    size_t tail = bytes.size() - 8;
    uint64_t trailing = 0;
    for (int i = 0; i < 8; ++i)
      trailing |= uint64_t(static_cast<unsigned char>(bytes[tail + i]))
                  << (8 * i);
    if (trailing != fnv1a64(bytes.data(), tail))
      return checksumMismatch(origin);
    return formatError(origin, std::to_string(reader.remaining()) +
                                   " unexpected bytes after the checksum");
  }
  if (stored != fnv1a64(bytes.data(), end))
    return checksumMismatch(origin);

  if (artifact.stepcVersion != runtimeVersion())
    return Status::error(StatusCode::VersionMismatch,
                         origin + ": compiled by stepc " +
                             artifact.stepcVersion +
                             ", but this runtime is stepc " + runtimeVersion() +
                             "; recompile the spec");
  std::string error;
  if (!manifestFromJson(json, artifact.manifest, error))
    return formatError(origin, "manifest: " + error);
  if (artifact.manifest.stepcVersion != artifact.stepcVersion)
    return formatError(
        origin, "the manifest says stepc " + artifact.manifest.stepcVersion +
                    " but the header says stepc " + artifact.stepcVersion);
  std::set<std::string> names;
  for (const ArtifactSection &section : artifact.sections) {
    if (section.name.empty())
      return formatError(origin, "a section has an empty name");
    if (!names.insert(section.name).second)
      return formatError(origin,
                         "two sections are named '" + section.name + "'");
  }
  out = std::move(artifact);
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

static Status ioError(const std::string &path, const std::string &doing,
                      int error) {
  return Status::error(StatusCode::IoError, path + ": cannot " + doing + ": " +
                                                std::strerror(error));
}

Status stepc::rt::readArtifactFile(const std::string &path, Artifact &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ioError(path, "open", errno);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return ioError(path, "stat", error);
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return Status::error(StatusCode::IoError,
                         path + ": is a directory, not an artifact file");
  }
  std::string bytes;
  if (S_ISREG(info.st_mode))
    bytes.reserve(size_t(info.st_size));
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return ioError(path, "read", error);
    }
    if (n == 0)
      break;
    bytes.append(buffer, size_t(n));
  }
  ::close(fd);
  return parseArtifact(bytes, path, out);
}


Status stepc::rt::writeArtifactFile(const std::string &path,
                                    const Artifact &artifact) {
  std::string bytes = serializeArtifact(artifact);
  std::string temporary;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    temporary = path + ".tmp" + std::to_string(::getpid()) + "." +
                std::to_string(attempt);
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                0666);
    if (fd < 0 && errno != EEXIST)
      return ioError(path, "write", errno);
  }
  if (fd < 0)
    return ioError(path, "write", EEXIST);
  errno = 0;
  if (!writeAll(fd, bytes)) {
    int error = errno ? errno : EIO;
    ::close(fd);
    ::unlink(temporary.c_str());
    return ioError(path, "write", error);
  }
  if (::close(fd) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    return ioError(path, "write", error);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    return ioError(path, "write", error);
  }
  return Status::success();
}
