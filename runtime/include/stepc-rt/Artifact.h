//===- Artifact.h - the compiled optimizer as one file ----------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// An artifact is everything a trainer needs to step with a compiled spec:
// the manifest and the code for each target, in one checksummed file. All
// integers are little-endian:
//
//   8 bytes  magic "STEPCART"
//   u32      format version (kArtifactFormatVersion)
//   u32      length of the compiler's version string, then its bytes
//   u64      length of the manifest JSON, then its bytes
//   u32      number of sections; per section: u32 name length, the name,
//            u64 payload length, the payload
//   u64      FNV-1a 64-bit checksum of every byte before it
//
// Sections are named by target: "cpu.so" holds a shared object, "cuda.ptx"
// the CUDA kernels' PTX and "cuda.sm_XX.cubin" their code for one GPU
// architecture.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_ARTIFACT_H
#define STEPC_RT_ARTIFACT_H

#include "stepc-rt/GroupRunner.h"
#include "stepc-rt/Manifest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace stepc::rt {

constexpr uint32_t kArtifactFormatVersion = 1;
constexpr char kArtifactMagic[] = "STEPCART";
/// The section holding the x86-64 shared object of every group.
constexpr char kCpuSectionName[] = "cpu.so";
/// The PTX of every group's CUDA kernels, JIT-compiled by the driver on GPUs
/// with no cubin in the artifact.
constexpr char kCudaPtxSectionName[] = "cuda.ptx";
/// The section holding the cubin for `arch` ("sm_90" -> "cuda.sm_90.cubin").
inline std::string cudaCubinSectionName(const std::string &arch) {
  return "cuda." + arch + ".cubin";
}

/// The host form of every CUDA kernel, a shared object that only the host
/// CUDA emulator runs (stepc compile --cuda-host-emulation;
/// docs/Design/GpuEmulation.md).
constexpr char kCudaHostSectionName[] = "cuda.host.so";

/// The stepc version this runtime was built as; an artifact must come from
/// the same one.
const char *runtimeVersion();

struct ArtifactSection {
  std::string name;
  std::string bytes;
};

struct Artifact {
  std::string stepcVersion;
  Manifest manifest;
  std::vector<ArtifactSection> sections;
  /// Where the artifact was read from, for messages; not serialized.
  std::string origin;

  /// The section called `name`, or null.
  const ArtifactSection *findSection(const std::string &name) const;

  /// The CUDA code a device of `arch` ("sm_90") loads: the cubin for arch +
  /// "a" (its arch-specific form, as wgmma for sm_90a), else the cubin for
  /// `arch`, else the PTX, which the driver JIT-compiles; null when there is
  /// none. `source` says which ("sm_90a cubin", "PTX JIT-compiled for
  /// sm_100").
  const ArtifactSection *findCudaCode(const std::string &arch,
                                      std::string &source) const;
};

/// FNV-1a, 64 bits: catches truncation and bit rot, not tampering.
uint64_t fnv1a64(const void *data, size_t size);

/// The file's bytes. Section names must be unique.
std::string serializeArtifact(const Artifact &artifact);

/// Parses and checks `bytes`; `origin` (a path) starts every message. On
/// failure `out` is untouched.
Status parseArtifact(const std::string &bytes, const std::string &origin,
                     Artifact &out);

Status readArtifactFile(const std::string &path, Artifact &out);

/// Writes to a temporary file beside `path` and renames it over `path`, so a
/// reader never sees half an artifact.
Status writeArtifactFile(const std::string &path, const Artifact &artifact);

} // namespace stepc::rt

#endif // STEPC_RT_ARTIFACT_H
