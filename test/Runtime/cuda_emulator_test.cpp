//===- cuda_emulator_test.cpp - the host CUDA emulator's own checks -------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// libstepc-cuda-emulator.so through the runtime's CudaDriver, on the
// hand-written kernels of Inputs/emulated_kernels.c: a barrier orders
// threads across blocks; mma.sync computes a warp's product from the PTX
// fragment layout; ldmatrix hands out rows as the PTX ISA lays them out;
// a cp.async copy lands at the thread's wait; shfl.sync exchanges lanes'
// values; dynamic shared memory is what the launch gives, over 48 KiB once
// the function allows it; a missing barrier, a race between warps on
// shared memory (cp.async and ldmatrix), a misaligned ldmatrix row or
// cp.async, a cp.async not waited for, barrier divergence, mma.sync or
// shfl.sync divergence, a write past an allocation, a barrier outside a
// cooperative launch, too large a cooperative grid and bad copies are errors
// (or wrong numbers) rather than passing silently. Arguments: the emulator and
// the kernels' library.
//
//===----------------------------------------------------------------------===//

#include "Inputs/Check.h"
#include "stepc-rt/CudaDriver.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <sstream>
#include <vector>

using namespace stepc::rt;

namespace {
using Ptr = CudaDriver::CUdeviceptr;
constexpr unsigned kBlocks = 3, kThreads = 4, kCount = kBlocks * kThreads;

struct Buffers {
  Ptr in = 0, out = 0, barrier = 0;
  void *params[3] = {&in, &out, &barrier};
};

Status launch(const CudaDriver &d, CudaDriver::CUfunction f, Buffers &b,
              bool cooperative = true, unsigned blocks = kBlocks) {
  CudaDriver::CUresult r =
      cooperative ? d.cuLaunchCooperativeKernel(f, blocks, 1, 1, kThreads, 1, 1,
                                                0, nullptr, b.params)
                  : d.cuLaunchKernel(f, blocks, 1, 1, kThreads, 1, 1, 0,
                                     nullptr, b.params, nullptr);
  return d.check(r, "launch");
}

/// in[] = -1, then a launch of `f`; out[] afterwards.
std::vector<float> rotateOnce(const CudaDriver &d, CudaDriver::CUfunction f,
                              Buffers &b) {
  std::vector<float> values(kCount, -1.0f);
  CHECK_OK(d.check(d.cuMemcpyHtoD(b.in, values.data(), sizeof(float) * kCount),
                   "reset"));
  CHECK_OK(launch(d, f, b));
  CHECK_OK(d.check(d.cuMemcpyDtoH(values.data(), b.out, sizeof(float) * kCount),
                   "read"));
  return values;
}

bool isRotation(const std::vector<float> &values) {
  for (unsigned i = 0; i < kCount; ++i)
    if (values[i] != float((i + 1) % kCount))
      return false;
  return true;
}
} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::printf("usage: %s EMULATOR.so KERNELS.so\n", argv[0]);
    return 2;
  }
  ::setenv("STEPC_CUDA_DRIVER", argv[1], 1);
  const CudaDriver *driver = nullptr;
  if (!CHECK_OK(CudaDriver::get(driver)))
    return check::summary();
  const CudaDriver &d = *driver;
  CHECK(d.hostEmulator);

  std::ifstream file(argv[2], std::ios::binary);
  std::stringstream image;
  image << file.rdbuf();
  CudaDriver::CUmodule module = nullptr;
  CHECK_OK(d.check(d.cuModuleLoadData(&module, image.str().data()), "load"));
  CudaDriver::CUmodule ptxModule = nullptr;
  CHECK_STATUS(
      d.check(d.cuModuleLoadData(&ptxModule, ".version 8.0\n"), "load PTX"),
      NoDevice, "not host code");

  auto function = [&](const char *name) {
    CudaDriver::CUfunction f = nullptr;
    CHECK_OK(d.check(d.cuModuleGetFunction(&f, module, name), name));
    return f;
  };
  // Kernel `name` on `blocks` blocks of `threads`, not cooperative.
  auto launchPlain = [&](const char *name, unsigned blocks, unsigned threads,
                         Buffers &buffers, const char *what) {
    return d.check(d.cuLaunchKernel(function(name), blocks, 1, 1, threads, 1, 1,
                                    0, nullptr, buffers.params, nullptr),
                   what);
  };
  CudaDriver::CUfunction rotate = function("rotate");
  CudaDriver::CUfunction unordered = function("rotate_without_barrier");
  CudaDriver::CUfunction diverge = function("diverge");
  CudaDriver::CUfunction overflow = function("overflow");
  CudaDriver::CUfunction missing = nullptr;
  CHECK_STATUS(
      d.check(d.cuModuleGetFunction(&missing, module, "missing"), "missing"),
      NoDevice, "no kernel missing");

  Buffers b;
  size_t bytes = sizeof(float) * kCount;
  CHECK_OK(d.check(d.cuMemAlloc(&b.in, bytes), "alloc"));
  CHECK_OK(d.check(d.cuMemAlloc(&b.out, bytes), "alloc"));
  // The grid's barrier word and two sub-grids'.
  CHECK_OK(d.check(d.cuMemAlloc(&b.barrier, 12), "alloc"));

  // Both thread orders (they alternate between launches).
  CHECK(isRotation(rotateOnce(d, rotate, b)));
  CHECK(isRotation(rotateOnce(d, rotate, b)));
  // Without the barrier, a thread reads an element not yet written: -1.
  bool wrong = false;
  for (int order = 0; order < 2; ++order)
    wrong |= !isRotation(rotateOnce(d, unordered, b));
  CHECK(wrong);

  // mma.sync: two warps of one block, against the product summed here
  // (small integers: every sum is exact).
  CudaDriver::CUfunction mma = function("mma_tile");
  CudaDriver::CUfunction mmaDiverge = function("mma_diverge");
  std::vector<float> factors(16 * 16 + 16 * 8);
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      factors[i * 16 + k] = float((i + 2 * k) % 5 - 2);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      factors[256 + k * 8 + j] = float((3 * k + j) % 7 - 3);
  Buffers m;
  CHECK_OK(
      d.check(d.cuMemAlloc(&m.in, sizeof(float) * factors.size()), "alloc"));
  CHECK_OK(d.check(d.cuMemAlloc(&m.out, sizeof(float) * 256), "alloc"));
  CHECK_OK(d.check(
      d.cuMemcpyHtoD(m.in, factors.data(), sizeof(float) * factors.size()),
      "upload"));
  CHECK_OK(d.check(
      d.cuLaunchKernel(mma, 1, 1, 1, 64, 1, 1, 0, nullptr, m.params, nullptr),
      "mma launch"));
  std::vector<float> product(256);
  CHECK_OK(d.check(d.cuMemcpyDtoH(product.data(), m.out, sizeof(float) * 256),
                   "read"));
  int wrongElements = 0;
  for (int warp = 0; warp < 2; ++warp)
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) {
        float sum = float(warp);
        for (int k = 0; k < 16; ++k)
          sum += factors[i * 16 + k] * factors[256 + k * 8 + j];
        wrongElements += product[warp * 128 + i * 8 + j] != sum;
      }
  CHECK(wrongElements == 0);
  CHECK_STATUS(d.check(d.cuLaunchKernel(mmaDiverge, 1, 1, 1, 32, 1, 1, 0,
                                        nullptr, m.params, nullptr),
                       "mma divergence"),
               NoDevice, "mma.sync divergence in kernel mma_diverge: thread");
  CHECK_STATUS(d.check(d.cuLaunchKernel(mma, 1, 1, 1, 48, 1, 1, 0, nullptr,
                                        m.params, nullptr),
                       "mma in part of a warp"),
               NoDevice, "runs mma.sync in blocks of 48 threads");
  for (Ptr buffer : {m.in, m.out})
    CHECK_OK(d.check(d.cuMemFree(buffer), "free"));

  // wgmma.mma_async: two warpgroups of one block, factors in shared memory
  // in K-major and in M/N-major core matrices, against the product summed
  // here (small integers: every sum is exact).
  {
    std::vector<float> wgFactors(64 * 16 + 16 * 64);
    for (int i = 0; i < 64; ++i)
      for (int k = 0; k < 16; ++k)
        wgFactors[i * 16 + k] = float((i + 3 * k) % 7 - 3);
    for (int k = 0; k < 16; ++k)
      for (int j = 0; j < 64; ++j)
        wgFactors[1024 + k * 64 + j] = float((5 * k + j) % 9 - 4);
    Buffers w;
    CHECK_OK(d.check(d.cuMemAlloc(&w.in, sizeof(float) * wgFactors.size()),
                     "alloc"));
    CHECK_OK(d.check(d.cuMemAlloc(&w.out, sizeof(float) * 64 * 64), "alloc"));
    CHECK_OK(d.check(d.cuMemcpyHtoD(w.in, wgFactors.data(),
                                    sizeof(float) * wgFactors.size()),
                     "upload"));
    // The emulator counts them: two per warpgroup.
    void *emulator = ::dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
    auto lastWgmmas = reinterpret_cast<uint64_t (*)()>(
        emulator ? ::dlsym(emulator, "stepc_cuda_emulator_last_wgmmas")
                 : nullptr);
    CHECK(lastWgmmas);
    for (const char *kernel : {"wgmma_k_major", "wgmma_mn_major"}) {
      CHECK_OK(launchPlain(kernel, 1, 256, w, kernel));
      CHECK(lastWgmmas && lastWgmmas() == 4);
      std::vector<float> twice(64 * 64);
      CHECK_OK(d.check(
          d.cuMemcpyDtoH(twice.data(), w.out, sizeof(float) * twice.size()),
          "read"));
      int wrongElements = 0;
      for (int i = 0; i < 64; ++i)
        for (int j = 0; j < 64; ++j) {
          float sum = 0;
          for (int k = 0; k < 16; ++k)
            sum += wgFactors[i * 16 + k] * wgFactors[1024 + k * 64 + j];
          wrongElements += twice[i * 64 + j] != 2 * sum;
        }
      CHECK(wrongElements == 0);
    }
    CHECK_STATUS(launchPlain("wgmma_swizzled", 1, 256, w, "swizzled"), NoDevice,
                 "kernel wgmma_swizzled: wgmma of thread 127 of "
                 "block 0 reads a swizzled layout, which the "
                 "emulator does not model");
    CHECK_STATUS(launchPlain("wgmma_past_shared", 1, 256, w, "past"), NoDevice,
                 "reads past its block's shared memory (byte 4096)");
    CHECK_STATUS(launchPlain("wgmma_disagree", 1, 256, w, "disagree"), NoDevice,
                 "has other descriptors or form than thread 3 of "
                 "its warpgroup");
    // A cp.async's bytes reach wgmma (the async proxy) only through
    // fence.proxy.async after the copy landed.
    CHECK_STATUS(launchPlain("wgmma_copy_unfenced", 1, 256, w, "unfenced"),
                 NoDevice,
                 "reads shared memory at byte 0, which a cp.async of thread "
                 "0 wrote without a fence.proxy.async since");
    CHECK_OK(launchPlain("wgmma_copy_fenced", 1, 256, w, "fenced"));
    // A wgmma reads its factors until its warpgroup waits for it: a copy
    // over them before then races with it, even across a block barrier.
    CHECK_STATUS(launchPlain("wgmma_copy_in_flight", 1, 256, w, "in flight"),
                 NoDevice,
                 "kernel wgmma_copy_in_flight: cp.async of thread 0 of block "
                 "0 writes shared memory at byte 0, which a wgmma.mma_async "
                 "still reads (its warpgroup has not waited for it with "
                 "wgmma.wait_group)");
    CHECK_OK(launchPlain("wgmma_copy_after_wait", 1, 256, w, "after wait"));
    CHECK_STATUS(launchPlain("wgmma_unwaited", 1, 256, w, "unwaited"), NoDevice,
                 "returned without waiting for its wgmma.mma_async");
    CHECK_STATUS(launchPlain("wgmma_k_major", 1, 64, w, "part warpgroup"),
                 NoDevice,
                 "runs wgmma.mma_async in blocks of 64 threads, not whole "
                 "warpgroups");
    for (Ptr buffer : {w.in, w.out})
      CHECK_OK(d.check(d.cuMemFree(buffer), "free"));
  }

  // ldmatrix.x4: two blocks of two warps, against the PTX ISA's fragment
  // layout: lane l holds, in register j, elements (l / 4, 2 (l % 4)) and
  // the next of matrix j, the first in the low half.
  {
    Buffers x;
    constexpr int kWords = 2 * 64 * 4;
    CHECK_OK(d.check(d.cuMemAlloc(&x.out, sizeof(float) * kWords), "alloc"));
    // Registers that differ from `expected(lane, j)` (a pair's first
    // element; the second is `next` further) after a launch of `kernel`.
    auto wrongRegisters = [&](const char *kernel, uint32_t next,
                              auto expected) {
      CHECK_OK(launchPlain(kernel, 2, 64, x, kernel));
      std::vector<uint32_t> registers(kWords);
      CHECK_OK(d.check(
          d.cuMemcpyDtoH(registers.data(), x.out, sizeof(float) * kWords),
          "read"));
      int wrong = 0;
      for (int warp = 0; warp < 4; ++warp)
        for (int lane = 0; lane < 32; ++lane)
          for (int j = 0; j < 4; ++j) {
            uint32_t low = expected(lane, j);
            wrong += registers[4 * (32 * warp + lane) + j] !=
                     (low | (low + next) << 16);
          }
      return wrong;
    };
    CHECK(wrongRegisters("ldmatrix_tile", 1, [](int lane, int j) {
            return uint32_t(64 * j + 8 * (lane / 4) + 2 * (lane % 4));
          }) == 0);
    // .trans: lane l holds, in register j, elements (2 (l % 4), l / 4) and
    // (2 (l % 4) + 1, l / 4) of matrix j.
    CHECK(wrongRegisters("ldmatrix_trans_tile", 8, [](int lane, int j) {
            return uint32_t(64 * j + 8 * 2 * (lane % 4) + lane / 4);
          }) == 0);
    CHECK_STATUS(
        launchPlain("ldmatrix_misaligned", 1, 32, x, "misaligned ldmatrix"),
        NoDevice,
        "kernel ldmatrix_misaligned: ldmatrix row address of thread "
        "3 of block 0 is not a 16-byte aligned row of its block's "
        "shared memory");
    CHECK_OK(d.check(d.cuMemFree(x.out), "free"));
  }

  // cp.async: two blocks of 64 threads; a copy lands at the thread's wait,
  // not before, and one not waited for or misaligned is an error.
  {
    Buffers c;
    constexpr int kThreadsHere = 2 * 64;
    std::vector<float> values(4 * kThreadsHere);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = float(i);
    CHECK_OK(
        d.check(d.cuMemAlloc(&c.in, sizeof(float) * values.size()), "alloc"));
    CHECK_OK(d.check(d.cuMemAlloc(&c.out, sizeof(float) * 3 * kThreadsHere),
                     "alloc"));
    CHECK_OK(d.check(
        d.cuMemcpyHtoD(c.in, values.data(), sizeof(float) * values.size()),
        "write"));
    // The bank-conflict model's counters (CopyWrites in the emulator).
    void *emulator = ::dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
    auto counter = [&](const char *name) {
      auto function = reinterpret_cast<uint64_t (*)()>(
          emulator ? ::dlsym(emulator, name) : nullptr);
      return function ? function() : ~uint64_t(0);
    };
    CHECK_OK(launchPlain("cp_async_copy", 2, 64, c, "cp.async launch"));
    // Each lane writes the 16 bytes after its neighbour's: each phase of 8
    // lanes fills 128 bytes once, one wavefront (2 blocks of 2 warps of 4
    // phases).
    CHECK(counter("stepc_cuda_emulator_last_copy_wavefronts") == 16);
    CHECK(counter("stepc_cuda_emulator_last_copy_phases") == 16);
    std::vector<float> seen(3 * kThreadsHere);
    CHECK_OK(
        d.check(d.cuMemcpyDtoH(seen.data(), c.out, sizeof(float) * seen.size()),
                "read"));
    int early = 0, wrong = 0;
    for (int t = 0; t < kThreadsHere; ++t) {
      early += !std::isnan(seen[3 * t]);
      wrong += seen[3 * t + 1] != float(4 * t) ||
               seen[3 * t + 2] != float(4 * t + 3);
    }
    CHECK(early == 0);
    CHECK(wrong == 0);
    // Two groups per thread: wait_group 1 lands the first only.
    CHECK_OK(launchPlain("cp_async_groups", 1, 64, c, "cp.async groups"));
    // Lanes 32 bytes apart: lanes 0 and 4 of a phase write the same banks,
    // so each of its 2 instructions' 8 phases takes 2 wavefronts.
    CHECK(counter("stepc_cuda_emulator_last_copy_wavefronts") == 32);
    CHECK(counter("stepc_cuda_emulator_last_copy_phases") == 16);
    CHECK_OK(d.check(d.cuMemcpyDtoH(seen.data(), c.out, sizeof(float) * 4 * 64),
                     "read"));
    int firstLate = 0, secondEarly = 0, bothWrong = 0;
    for (int t = 0; t < 64; ++t) {
      firstLate += seen[4 * t] != float(8 * t);
      secondEarly += !std::isnan(seen[4 * t + 1]);
      bothWrong += seen[4 * t + 2] != float(8 * t) ||
                   seen[4 * t + 3] != float(8 * t + 4);
    }
    CHECK(firstLate == 0);
    CHECK(secondEarly == 0);
    CHECK(bothWrong == 0);
    CHECK_STATUS(
        launchPlain("cp_async_unwaited", 1, 64, c, "unwaited cp.async"),
        NoDevice,
        // Whichever thread returns first.
        "returned without waiting for its cp.async copies");
    CHECK_STATUS(
        launchPlain("cp_async_misaligned", 1, 64, c, "misaligned cp.async"),
        NoDevice,
        "kernel cp_async_misaligned: cp.async of thread 1 of block 0 is not "
        "16 aligned bytes into its block's shared memory");
    for (Ptr buffer : {c.in, c.out})
      CHECK_OK(d.check(d.cuMemFree(buffer), "free"));
  }

  // Races between a block's warps on shared memory (cp.async and
  // ldmatrix), as a GPU may order them: each is an error, while the same
  // kernel with its barriers reads the other warp's rows.
  {
    constexpr int kRowThreads = 128; // two blocks of two warps
    Buffers r;
    std::vector<float> values(4 * kRowThreads + 4 * 64);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = float(i);
    CHECK_OK(
        d.check(d.cuMemAlloc(&r.in, sizeof(float) * values.size()), "alloc"));
    CHECK_OK(d.check(d.cuMemAlloc(&r.out, sizeof(float) * 4 * kRowThreads),
                     "alloc"));
    CHECK_OK(d.check(
        d.cuMemcpyHtoD(r.in, values.data(), sizeof(float) * values.size()),
        "write"));
    CHECK_OK(launchPlain("shared_rows", 2, 64, r, "shared rows"));
    std::vector<float> seen(4 * kRowThreads);
    CHECK_OK(
        d.check(d.cuMemcpyDtoH(seen.data(), r.out, sizeof(float) * seen.size()),
                "read"));
    int wrongRows = 0;
    for (int t = 0; t < kRowThreads; ++t) {
      int block = t / 64, warp = t % 64 / 32, lane = t % 32;
      for (int j = 0; j < 4; ++j) {
        // Register j: row lane / 4 of matrix j, given by lane 8 j + row of
        // the warp, which reads the row the other warp's thread copied.
        int copier = block * 64 + (warp ^ 1) * 32 + 8 * j + lane / 4;
        wrongRows += seen[4 * t + j] != values[4 * copier + lane % 4];
      }
    }
    CHECK(wrongRows == 0);
    // Which side of a race is reported depends on the order the emulator
    // runs the warps in, which alternates between launches: the copy over
    // rows the other warp read ("... which warp W read since the last
    // block barrier") or the read of rows the other warp's copy may not
    // have written ("... may not have written yet").
    for (const char *race : {"shared_rows_read_race", "shared_rows_copy_race"})
      for (int order = 0; order < 2; ++order) {
        std::string message = launchPlain(race, 2, 64, r, "race").message;
        bool named = message.find(std::string("kernel ") + race + ": ") !=
                     std::string::npos;
        bool copyOverRead = message.find("read since the last block barrier") !=
                            std::string::npos;
        bool readBeforeCopy =
            message.find("may not have written yet (no wait and block "
                         "barrier since)") != std::string::npos;
        CHECK(named && (copyOverRead || readBeforeCopy));
      }
    for (Ptr buffer : {r.in, r.out})
      CHECK_OK(d.check(d.cuMemFree(buffer), "free"));
  }

  // Dynamic shared memory: as much as the launch gives, over 48 KiB only
  // once the function allows it, and never over the device's limit.
  {
    CudaDriver::CUfunction dynamic = function("dynamic_shared_reverse");
    Buffers s;
    std::vector<float> values(64);
    for (int i = 0; i < 64; ++i)
      values[i] = float(3 * i + 1);
    CHECK_OK(d.check(d.cuMemAlloc(&s.in, sizeof(float) * 64), "alloc"));
    CHECK_OK(d.check(d.cuMemAlloc(&s.out, sizeof(float) * 64), "alloc"));
    CHECK_OK(d.check(d.cuMemcpyHtoD(s.in, values.data(), sizeof(float) * 64),
                     "write"));
    auto launchWith = [&](unsigned bytes) {
      return d.check(d.cuLaunchKernel(dynamic, 1, 1, 1, 64, 1, 1, bytes,
                                      nullptr, s.params, nullptr),
                     "dynamic launch");
    };
    CHECK_OK(launchWith(256));
    std::vector<float> reversed(64);
    CHECK_OK(d.check(d.cuMemcpyDtoH(reversed.data(), s.out, sizeof(float) * 64),
                     "read"));
    int wrongFloats = 0;
    for (int t = 0; t < 64; ++t)
      wrongFloats += reversed[t] != values[63 - t];
    CHECK(wrongFloats == 0);
    CHECK_STATUS(launchWith(0), NoDevice,
                 "kernel dynamic_shared_reverse uses dynamic shared memory and "
                 "its launch gives none");
    CHECK_STATUS(launchWith(80 * 1024), NoDevice,
                 "launch of dynamic_shared_reverse with 81920 bytes of dynamic "
                 "shared memory; its function allows 49152 (cuFuncSetAttribute "
                 "raises it)");
    int optin = 0;
    CHECK_OK(d.check(
        d.cuDeviceGetAttribute(
            &optin, CudaDriver::kAttributeMaxSharedMemoryPerBlockOptin, 0),
        "opt-in limit"));
    CHECK(optin == 163 * 1024);
    CHECK_STATUS(
        d.check(d.cuFuncSetAttribute(
                    dynamic,
                    CudaDriver::kFunctionAttributeMaxDynamicSharedBytes,
                    optin + 1),
                "over the limit"),
        NoDevice,
        "bytes of dynamic shared memory for dynamic_shared_reverse, "
        "over the device's 166912");
    CHECK_OK(d.check(d.cuFuncSetAttribute(
                         dynamic,
                         CudaDriver::kFunctionAttributeMaxDynamicSharedBytes,
                         80 * 1024),
                     "raise the limit"));
    CHECK_OK(launchWith(80 * 1024));
    for (Ptr buffer : {s.in, s.out})
      CHECK_OK(d.check(d.cuMemFree(buffer), "free"));
  }

  // shfl.sync.bfly: two blocks of two warps, against sums taken here.
  CudaDriver::CUfunction shuffleSum = function("shuffle_sum");
  CudaDriver::CUfunction shuffleDiverge = function("shuffle_diverge");
  constexpr int kLanes = 128;
  std::vector<float> lanes(kLanes);
  for (int i = 0; i < kLanes; ++i)
    lanes[i] = float((7 * i) % 11);
  Buffers s;
  CHECK_OK(d.check(d.cuMemAlloc(&s.in, sizeof(float) * kLanes), "alloc"));
  CHECK_OK(d.check(d.cuMemAlloc(&s.out, sizeof(float) * 2 * kLanes), "alloc"));
  CHECK_OK(d.check(d.cuMemcpyHtoD(s.in, lanes.data(), sizeof(float) * kLanes),
                   "upload"));
  CHECK_OK(d.check(d.cuLaunchKernel(shuffleSum, 2, 1, 1, 64, 1, 1, 0, nullptr,
                                    s.params, nullptr),
                   "shuffle launch"));
  std::vector<float> shuffled(2 * kLanes);
  CHECK_OK(d.check(
      d.cuMemcpyDtoH(shuffled.data(), s.out, sizeof(float) * 2 * kLanes),
      "read"));
  int wrongLanes = 0;
  for (int i = 0; i < kLanes; ++i) {
    float warpSum = 0;
    for (int j = i / 32 * 32; j < i / 32 * 32 + 32; ++j)
      warpSum += lanes[j];
    wrongLanes += shuffled[i] != lanes[i ^ 1];
    wrongLanes += shuffled[kLanes + i] != warpSum;
  }
  CHECK(wrongLanes == 0);
  CHECK_STATUS(d.check(d.cuLaunchKernel(shuffleDiverge, 1, 1, 1, 32, 1, 1, 0,
                                        nullptr, s.params, nullptr),
                       "shuffle divergence"),
               NoDevice,
               "warp divergence in kernel shuffle_diverge: thread 7 of block "
               "0 reaches mma.sync while lanes of its warp wait at shfl.sync");
  CHECK_STATUS(d.check(d.cuLaunchKernel(shuffleSum, 1, 1, 1, 48, 1, 1, 0,
                                        nullptr, s.params, nullptr),
                       "shuffle in part of a warp"),
               NoDevice, "runs shfl.sync in blocks of 48 threads");
  for (Ptr buffer : {s.in, s.out})
    CHECK_OK(d.check(d.cuMemFree(buffer), "free"));

  // Sub-grids: blocks meet at their own barrier word, the grid at word 0.
  CudaDriver::CUfunction subgridRotate = function("subgrid_rotate");
  for (int order = 0; order < 2; ++order) {
    std::vector<float> rotated = rotateOnce(d, subgridRotate, b);
    int wrongRotated = 0;
    for (unsigned i = 0; i < kCount; ++i) {
      unsigned first = i < 2 * kThreads ? 0 : 2 * kThreads;
      unsigned n = i < 2 * kThreads ? 2 * kThreads : kThreads;
      wrongRotated += rotated[i] != float(first + (i - first + 1) % n);
    }
    CHECK(wrongRotated == 0);
  }
  CHECK_STATUS(launch(d, function("subgrid_diverge"), b), NoDevice,
               "barrier divergence in kernel subgrid_diverge: thread");

  // Shared memory: one per block, ordered by the block barrier, which a
  // block passes while another block waits at the grid barrier.
  CudaDriver::CUfunction sharedReverse = function("shared_reverse");
  std::vector<float> values(kCount);
  for (unsigned i = 0; i < kCount; ++i)
    values[i] = float(i);
  CHECK_OK(d.check(d.cuMemcpyHtoD(b.in, values.data(), sizeof(float) * kCount),
                   "upload"));
  for (int order = 0; order < 2; ++order) {
    std::vector<float> reversed(kCount, -1.0f);
    CHECK_OK(
        d.check(d.cuMemcpyHtoD(b.out, reversed.data(), sizeof(float) * kCount),
                "reset"));
    CHECK_OK(launch(d, sharedReverse, b));
    CHECK_OK(
        d.check(d.cuMemcpyDtoH(reversed.data(), b.out, sizeof(float) * kCount),
                "read"));
    int wrongReversed = 0;
    for (unsigned i = 0; i < 2 * kThreads; ++i)
      wrongReversed += reversed[i] != float(i / kThreads * kThreads + kThreads -
                                            1 - i % kThreads);
    CHECK(wrongReversed == 0);
  }
  // Shared memory starts as NaN, so that a read before a write shows.
  std::vector<uint32_t> unwritten(kCount);
  CHECK_OK(launch(d, function("shared_unwritten"), b));
  CHECK_OK(d.check(
      d.cuMemcpyDtoH(unwritten.data(), b.out, sizeof(float) * kCount), "read"));
  CHECK(unwritten[0] == 0xFFFFFFFFu && unwritten[kCount - 1] == 0xFFFFFFFFu);
  CHECK_STATUS(launch(d, function("block_diverge"), b), NoDevice,
               "block barrier divergence in kernel block_diverge: thread 0 "
               "of block 1 waits at a grid barrier while thread");

  CHECK_STATUS(launch(d, rotate, b, /*cooperative=*/false), NoDevice,
               "waits at a grid barrier in a launch that is not cooperative");
  CHECK_STATUS(launch(d, diverge, b), NoDevice,
               "barrier divergence in kernel diverge: thread 0 of block 1 "
               "returned after 0 grid barriers while thread");
  CHECK_STATUS(launch(d, rotate, b, /*cooperative=*/true, kBlocks + 1),
               NoDevice, "at most 3 are co-resident");
  CHECK_STATUS(launch(d, overflow, b), NoDevice,
               "kernel overflow wrote past the end of the 48-byte allocation");

  float value = 0;
  CHECK_STATUS(
      d.check(d.cuMemcpyDtoH(&value, b.in + bytes, sizeof value), "copy"),
      NoDevice, "not inside one cuMemAlloc allocation");
  CHECK_STATUS(d.check(d.cuMemFree(b.in + 4), "free"), NoDevice,
               "not the start of an allocation");
  for (Ptr buffer : {b.in, b.out, b.barrier})
    CHECK_OK(d.check(d.cuMemFree(buffer), "free"));
  CHECK_OK(d.check(d.cuModuleUnload(module), "unload"));
  return check::summary();
}
