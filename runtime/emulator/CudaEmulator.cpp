//===- CudaEmulator.cpp - the CUDA driver API on the host ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// libstepc-cuda-emulator.so: the part of the CUDA driver API that stepc's
// runtime uses, run on the host, so that CI (which has no GPU) checks the
// GPU kernels' numbers. Point STEPC_CUDA_DRIVER at it. Device memory is
// host memory; a module is an artifact's `cuda.host.so` section (the
// kernels after stepc-gpu-kernels-to-host); a launch runs every GPU thread
// as a fiber, switching at grid barriers. docs/Design/GpuEmulation.md says
// what it checks and what it cannot.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <dlfcn.h>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <tuple>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

namespace {

// cuda.h's values, declared here so that no toolkit header is needed.
using CUresult = int;
constexpr CUresult kSuccess = 0;
constexpr CUresult kInvalidValue = 1;
constexpr CUresult kOutOfMemory = 2;
constexpr CUresult kInvalidDevice = 101;
constexpr CUresult kInvalidImage = 200;
constexpr CUresult kInvalidHandle = 400;
constexpr CUresult kNotFound = 500;
constexpr CUresult kIllegalAddress = 700;
constexpr CUresult kLaunchFailed = 719;
constexpr CUresult kCooperativeLaunchTooLarge = 720;

constexpr int kAttributeMultiprocessorCount = 16;
constexpr int kAttributeComputeCapabilityMajor = 75;
constexpr int kAttributeComputeCapabilityMinor = 76;
constexpr int kAttributeMaxSharedMemoryPerBlockOptin = 97;
constexpr int kFunctionAttributeMaxDynamicSharedBytes = 8;
/// The dynamic shared memory a launch may give without the function's
/// attribute raised, as on every GPU.
constexpr int kDefaultDynamicSharedBytes = 48 * 1024;

/// The positive integer in environment variable `name`, else `fallback`.
int positiveFromEnvironment(const char *name, int fallback) {
  const char *text = std::getenv(name);
  int value = text ? std::atoi(text) : 0;
  return value > 0 ? value : fallback;
}

/// An sm_80 with 3 multiprocessors, one block each: a grid of 3 blocks,
/// so that grid-stride loops, partial sums and barriers span blocks.
/// STEPC_CUDA_EMULATOR_SMS sets another count: a grid nearer a real GPU's
/// (an H100 has 132 SMs) finds bugs that depend on the grid's size, at the
/// cost of a fiber per thread.
int multiprocessors() {
  static const int count =
      positiveFromEnvironment("STEPC_CUDA_EMULATOR_SMS", 3);
  return count;
}
/// Blocks per multiprocessor the occupancy query reports: 1 unless
/// STEPC_CUDA_EMULATOR_BLOCKS_PER_SM says otherwise (the runtime splits a
/// grid of two or more per SM into sub-grids, as on an H100).
int blocksPerMultiprocessor() {
  static const int count =
      positiveFromEnvironment("STEPC_CUDA_EMULATOR_BLOCKS_PER_SM", 1);
  return count;
}
/// The most shared memory per block a function may opt in to (device
/// attribute 97): sm_80's 163 KiB unless STEPC_CUDA_EMULATOR_SHARED_OPTIN
/// says otherwise, so that a device with less can be tried.
int sharedMemoryOptin() {
  static const int bytes =
      positiveFromEnvironment("STEPC_CUDA_EMULATOR_SHARED_OPTIN", 163 * 1024);
  return bytes;
}
/// Bytes after every allocation that must still hold kCanary after a launch.
constexpr size_t kCanaryBytes = 256;
constexpr unsigned char kCanary = 0xA5;
/// New memory reads as NaN (0xFF bytes), as nothing promises it is zero.
constexpr unsigned char kUninitialized = 0xFF;
constexpr size_t kFiberStackBytes = 512 * 1024;

/// A kernel after stepc-gpu-kernels-to-host.
using KernelEntry = void (*)(void **params, int64_t block, int64_t thread,
                             int64_t blockDim, int64_t gridDim);
using BarrierFunction = void (*)(void *word, uint32_t firstBlock,
                                 uint32_t blocks);
using BlockBarrierFunction = void (*)();
using MmaFunction = void (*)(uint32_t *fragments);
using WgmmaFunction = void (*)(uint32_t *words);
using LdMatrixFunction = void (*)(uint32_t *words);
using CopyAsyncFunction = void (*)(uint32_t *words);
using CopyAsyncCommitFunction = void (*)();
using CopyAsyncWaitFunction = void (*)(uint32_t groupsInFlight);
using FenceProxyAsyncFunction = void (*)();
using WgmmaCommitFunction = void (*)();
using WgmmaWaitFunction = void (*)(uint32_t groupsInFlight);
using ShuffleFunction = void (*)(uint32_t *words);
using SharedMemoryFunction = void (*)(uint64_t *words);
using GlobalTimerFunction = void (*)(uint64_t *words);

struct Function {
  KernelEntry entry = nullptr;
  std::string name;
  /// cuFuncSetAttribute's MAX_DYNAMIC_SHARED_SIZE_BYTES.
  int maxDynamicSharedBytes = kDefaultDynamicSharedBytes;
};

struct Module {
  void *handle = nullptr;
  int fd = -1;
  /// The handles cuModuleGetFunction gave, one per kernel, freed with the
  /// module (as the driver's are).
  std::map<std::string, std::unique_ptr<Function>> functions;
};

std::recursive_mutex apiMutex;
std::map<uintptr_t, size_t> allocations; // address -> bytes
std::string lastDetail;
CUresult lastDetailCode = kSuccess;
uint64_t launchCounter = 0;
/// Host-to-device copies so far: a step that can be captured in a CUDA
/// graph makes none.
uint64_t hostCopyCounter = 0;
/// The grid barriers thread 0 of the last launch passed, and the first
/// thread of each of its sub-grids.
uint64_t lastLaunchBarriers = 0;
std::vector<uint64_t> lastLaunchSubgridBarriers;
/// The warp-wide mma.sync the last launch executed.
uint64_t lastLaunchMmas = 0;
/// The warpgroup-wide wgmma.mma_async the last launch executed.
uint64_t lastLaunchWgmmas = 0;
/// The shared-memory wavefronts the last launch's cp.async writes took as
/// the emulator models them (CopyWrites), and the fewest they could take.
uint64_t lastLaunchCopyWavefronts = 0, lastLaunchCopyPhases = 0;
/// The last launch's blocks over the fewest that met at one of its grid
/// barriers: its sub-grid count (1 without barriers).
uint64_t lastLaunchSubgrids = 0;
int contextTag = 0;

CUresult fail(CUresult code, std::string detail) {
  lastDetail = std::move(detail);
  lastDetailCode = code;
  return code;
}

std::string hex(uintptr_t address) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", (unsigned long long)address);
  return text;
}

/// Whether [address, address + bytes) lies in one allocation.
bool inAllocation(uintptr_t address, size_t bytes) {
  auto it = allocations.upper_bound(address);
  if (it == allocations.begin())
    return false;
  --it;
  return address >= it->first && address + bytes <= it->first + it->second;
}

CUresult checkRange(uintptr_t address, size_t bytes, const char *what) {
  if (inAllocation(address, bytes))
    return kSuccess;
  return fail(kInvalidValue, std::string(what) + ": " + std::to_string(bytes) +
                                 " bytes at " + hex(address) +
                                 " are not inside one cuMemAlloc allocation");
}

/// The first allocation whose canary a launch overwrote, as a message.
std::string brokenCanary() {
  for (auto [address, bytes] : allocations) {
    const auto *tail = reinterpret_cast<const unsigned char *>(address + bytes);
    for (size_t i = 0; i < kCanaryBytes; ++i)
      if (tail[i] != kCanary)
        return "wrote past the end of the " + std::to_string(bytes) +
               "-byte allocation at " + hex(address) + " (at byte " +
               std::to_string(bytes + i) + ")";
  }
  return "";
}

/// The size of an ELF image: lld puts the section headers last.
size_t elfSize(const unsigned char *image) {
  uint64_t sectionHeaders = 0;
  uint16_t entrySize = 0, entries = 0;
  std::memcpy(&sectionHeaders, image + 0x28, sizeof sectionHeaders);
  std::memcpy(&entrySize, image + 0x3A, sizeof entrySize);
  std::memcpy(&entries, image + 0x3C, sizeof entries);
  return size_t(sectionHeaders) + size_t(entrySize) * entries;
}

//===----------------------------------------------------------------------===//
// Fibers
//===----------------------------------------------------------------------===//

/// What a suspended fiber waits for.
enum class Wait { Nothing, Grid, Block, Warp };

/// The instructions every lane of a warp must reach together.
enum class WarpOp { Mma, LdMatrix, LdMatrixTrans, Shuffle, Wgmma, Count };
const char *const kWarpOpNames[] = {"mma.sync", "ldmatrix", "ldmatrix.trans",
                                    "shfl.sync", "wgmma.mma_async"};

struct Fiber {
  ucontext_t context;
  int64_t block = 0, thread = 0;
  int barriers = 0, blockBarriers = 0;
  /// The grid barrier it waits at: the word, and the blocks that meet there.
  void *barrierWord = nullptr;
  int64_t barrierBlocks = 0;
  /// Per WarpOp, how many this lane has reached; and the one it waits at.
  int warpOps[int(WarpOp::Count)] = {};
  WarpOp warpOp = WarpOp::Mma;
  Wait waiting = Wait::Nothing;
  bool done = false;
  /// Its cp.async copies that have not landed, oldest first: where each
  /// goes in its block's shared memory, and the bytes read when it was
  /// issued. The first committedGroups[0] of them are its oldest committed
  /// group, and so on; those after every committed group are uncommitted.
  std::deque<std::pair<unsigned char *, std::array<unsigned char, 16>>>
      pendingCopies;
  std::deque<size_t> committedGroups;
  /// The fence.proxy.async it has run: a copy that landed before the
  /// last of them is visible to wgmma, which reads through the async
  /// proxy.
  int64_t proxyFences = 0;
  /// The chunks of its block's shared memory (by index) that its
  /// warpgroup's wgmma read since its last wgmma.commit_group, and in each
  /// committed group not yet waited for, oldest first: a wgmma reads its
  /// factors until wgmma.wait_group retires its group.
  std::vector<uint32_t> uncommittedWgmmaReads;
  std::deque<std::vector<uint32_t>> wgmmaGroups;
  /// Its cp.async in the epoch `copyEpoch`: the n-th of them is its lane
  /// of its warp's n-th cp.async instruction there (CopyWrites).
  int64_t copyEpoch = -1, copiesInEpoch = 0;
};

constexpr int64_t kWarpSize = 32;

/// What the race checks know of 16 bytes of a block's shared memory, the
/// unit of cp.async and of an ldmatrix row. An epoch is the block barriers
/// (grid barriers included) a thread has passed: threads of a block in
/// the same epoch run unordered on a GPU.
struct SharedChunk {
  /// The epoch of its last ldmatrix reads, and the warps (bit per warp)
  /// that read it then.
  int64_t readEpoch = -1;
  uint64_t readWarps = 0;
  /// From which epoch its last cp.async is visible to the block: the one
  /// after the copying thread's wait, through a barrier; none while the
  /// copy is in flight.
  int64_t visibleEpoch = 0;
  int64_t copyingThread = -1;
  /// The copying thread's proxyFences when its last cp.async landed
  /// (-1: none landed): the copy is visible to wgmma once that thread has
  /// run more.
  int64_t landedAtFences = -1;
  /// Threads whose wgmma reads it and who have not waited for that wgmma
  /// (wgmma.wait_group): a write before then races with the read.
  int64_t wgmmaReadsInFlight = 0;
};
constexpr int64_t kNeverVisible = INT64_MAX;

/// One warp at a warp-wide instruction: the lanes' operands, gathered
/// until the last lane arrives, which computes every lane's result.
struct WarpExchange {
  WarpOp op = WarpOp::Mma;
  int arrived = 0;
  /// mma.sync: fragments A, B, C in and D out.
  uint32_t a[kWarpSize][4], b[kWarpSize][2];
  float c[kWarpSize][4], d[kWarpSize][4];
  /// ldmatrix.x4: each lane's row address in, its 4 registers out.
  const uint32_t *rowAddress[kWarpSize];
  uint32_t matrixWords[kWarpSize][4];
  /// shfl.sync.bfly: each lane's value and lane mask in, its result out.
  uint32_t value[kWarpSize], laneMask[kWarpSize], shuffled[kWarpSize];
  std::vector<Fiber *> waiting;
};

constexpr int64_t kWarpgroupSize = 128;
/// The widest wgmma: m64n256k16, 128 accumulators per thread.
constexpr int64_t kWgmmaMaxN = 256;

/// One warpgroup at a wgmma.mma_async: its descriptors and form (the same
/// for every thread), each thread's accumulators in and out.
struct WarpgroupExchange {
  WarpOp op = WarpOp::Wgmma;
  int arrived = 0;
  uint64_t descriptorA = 0, descriptorB = 0;
  uint32_t form = 0;
  /// The first thread whose operands differ from the first to arrive.
  int64_t disagreeing = -1;
  float accumulators[kWarpgroupSize][kWgmmaMaxN / 2];
  /// The chunks of shared memory the wgmma read, each once.
  std::vector<uint32_t> chunksRead;
  std::vector<Fiber *> waiting;
};

/// Stacks, kept between launches; each has a guard page below it.
std::vector<char *> stacks;

char *stackFor(size_t index) {
  long page = ::sysconf(_SC_PAGESIZE);
  while (stacks.size() <= index) {
    size_t bytes = kFiberStackBytes + size_t(page);
    void *memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED)
      return nullptr;
    ::mprotect(memory, size_t(page), PROT_NONE);
    stacks.push_back(static_cast<char *>(memory) + page);
  }
  return stacks[index];
}

/// One warp-wide cp.async instruction's writes into shared memory, for
/// the bank-conflict model: a 16-byte access is served a quarter warp (a
/// phase of 8 lanes) at a time, 128 bytes per wavefront, one more for
/// every further lane of the phase that writes the same 16 of the 128
/// bytes' banks (bytes / 16 modulo 8). The lanes are matched by their
/// count of cp.async since the last barrier, which holds for the lanes
/// of a loop that every lane runs alike (whole tiles).
struct CopyWrites {
  /// Per phase, per group of 4 banks: the lanes that write there.
  uint8_t lanes[kWarpSize / 8][8] = {};
  int arrived = 0;

  /// The wavefronts the writes take, and the fewest they could.
  std::pair<uint64_t, uint64_t> wavefronts() const {
    uint64_t taken = 0, fewest = 0;
    for (const auto &phase : lanes) {
      uint8_t most = *std::max_element(std::begin(phase), std::end(phase));
      taken += most;
      fewest += most ? 1 : 0;
    }
    return {taken, fewest};
  }
};

struct Launch {
  ucontext_t scheduler;
  std::vector<Fiber> fibers;
  Fiber *running = nullptr;
  const Function *function = nullptr;
  void **params = nullptr;
  int64_t blockDim = 0, gridDim = 0;
  bool cooperative = false;
  std::string error;
  uint64_t mmas = 0;
  /// The fewest blocks that met at one grid barrier.
  int64_t fewestBarrierBlocks = 0;
  /// By warp (block × warps per block + warp in block).
  std::map<int64_t, WarpExchange> warps;
  /// By warpgroup, likewise.
  std::map<int64_t, WarpgroupExchange> warpgroups;
  uint64_t wgmmas = 0;
  /// The cp.async instructions whose lanes have not all arrived, by
  /// (warp of the grid, epoch, instruction), and the wavefronts of those
  /// that have.
  std::map<std::tuple<int64_t, int64_t, int64_t>, CopyWrites> copyWrites;
  uint64_t copyWavefronts = 0, copyPhases = 0;
  /// By block: its shared memory, for this launch only (as on a GPU).
  std::map<int64_t, std::vector<std::max_align_t>> shared;
  /// By block: its shared memory's race-check state, 16 bytes a chunk.
  std::map<int64_t, std::vector<SharedChunk>> sharedChunks;
  size_t sharedBytes = 0;
  /// What the launch gave as dynamic shared memory.
  size_t dynamicSharedBytes = 0;
};

Launch *currentLaunch = nullptr;

std::string where(const Fiber &fiber);

void runFiber() {
  Launch &launch = *currentLaunch;
  Fiber &fiber = *launch.running;
  launch.function->entry(launch.params, fiber.block, fiber.thread,
                         launch.blockDim, launch.gridDim);
  fiber.done = true;
  if (!fiber.pendingCopies.empty() && launch.error.empty())
    launch.error = "kernel " + launch.function->name + ": " + where(fiber) +
                   " returned without waiting for its cp.async copies";
  if ((!fiber.uncommittedWgmmaReads.empty() || !fiber.wgmmaGroups.empty()) &&
      launch.error.empty())
    launch.error = "kernel " + launch.function->name + ": " + where(fiber) +
                   " returned without waiting for its wgmma.mma_async";
  // Returning resumes uc_link: the scheduler.
}

/// What @stepc_emulator_grid_barrier points to: suspends the fiber until
/// every thread of the `blocks` blocks that meet at `word` (the grid's or
/// a sub-grid's) has arrived.
void gridBarrier(void *word, uint32_t, uint32_t blocks) {
  Launch &launch = *currentLaunch;
  Fiber &fiber = *launch.running;
  ++fiber.barriers;
  fiber.barrierWord = word;
  fiber.barrierBlocks = blocks;
  fiber.waiting = Wait::Grid;
  if (launch.fewestBarrierBlocks == 0 || blocks < launch.fewestBarrierBlocks)
    launch.fewestBarrierBlocks = blocks;
  if (!launch.cooperative && launch.error.empty())
    launch.error = "kernel " + launch.function->name +
                   " waits at a grid barrier in a launch that is not "
                   "cooperative (it may deadlock on a GPU)";
  ::swapcontext(&fiber.context, &launch.scheduler);
}

/// What @stepc_emulator_block_barrier points to (__syncthreads()):
/// suspends the fiber until the other threads of its block have arrived.
void blockBarrier() {
  Launch &launch = *currentLaunch;
  Fiber &fiber = *launch.running;
  ++fiber.blockBarriers;
  fiber.waiting = Wait::Block;
  ::swapcontext(&fiber.context, &launch.scheduler);
}

/// What @stepc_emulator_shared_memory points to: `words[0]` holds the
/// bytes of shared memory the kernel declares (0: dynamic shared memory,
/// the launch's) and gets the address of the running thread's block's. A
/// block's memory starts as 0xFF bytes (a NaN in every f32 and bf16), so
/// that a read before the block wrote it shows.
void sharedMemory(uint64_t *words) {
  Launch &launch = *currentLaunch;
  Fiber &fiber = *launch.running;
  size_t bytes = words[0] ? size_t(words[0]) : launch.dynamicSharedBytes;
  if (bytes == 0) {
    if (launch.error.empty())
      launch.error = "kernel " + launch.function->name +
                     " uses dynamic shared memory and its launch gives none";
    // The launch fails; until its threads return they write into as much
    // as a block may have, not past the block's memory.
    bytes = size_t(sharedMemoryOptin());
  }
  if (launch.sharedBytes == 0)
    launch.sharedBytes = bytes;
  if (bytes != launch.sharedBytes && launch.error.empty())
    launch.error = "kernel " + launch.function->name + " asks for " +
                   std::to_string(bytes) + " bytes of shared memory after " +
                   std::to_string(launch.sharedBytes);
  std::vector<std::max_align_t> &memory = launch.shared[fiber.block];
  if (memory.empty()) {
    size_t slots = (launch.sharedBytes + sizeof(std::max_align_t) - 1) /
                   sizeof(std::max_align_t);
    memory.resize(std::max<size_t>(slots, 1));
    std::memset(memory.data(), 0xFF, memory.size() * sizeof(std::max_align_t));
    launch.sharedChunks[fiber.block].resize(
        memory.size() * sizeof(std::max_align_t) / 16 + 1);
  }
  words[0] = reinterpret_cast<uintptr_t>(memory.data());
}

float fromBf16(uint32_t bits) {
  uint32_t widened = bits << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

/// D = C + A·B for the whole warp, from the fragment layout of
/// mma.m16n8k16 with .bf16 A (row) and B (col) and .f32 C/D in the PTX
/// ISA: groupID g = lane / 4, threadID_in_group t = lane % 4; A's register
/// q holds row g + 8·(q % 2), cols 2t + 8·(q / 2) and the next (the first
/// in the low half); B's register q rows 2t + 8·q and the next, col g;
/// C's and D's element r row g + 8·(r / 2), col 2t + r % 2. Sums in f32,
/// k ascending (a tensor core adds in an order of its own).
void multiply(WarpExchange &warp) {
  float a[16][16], b[16][8], c[16][8];
  for (int64_t lane = 0; lane < kWarpSize; ++lane) {
    int64_t g = lane / 4, t = lane % 4;
    for (int64_t q = 0; q < 4; ++q) {
      int64_t row = g + 8 * (q % 2), col = 2 * t + 8 * (q / 2);
      a[row][col] = fromBf16(warp.a[lane][q] & 0xFFFF);
      a[row][col + 1] = fromBf16(warp.a[lane][q] >> 16);
    }
    for (int64_t q = 0; q < 2; ++q) {
      int64_t k = 2 * t + 8 * q;
      b[k][g] = fromBf16(warp.b[lane][q] & 0xFFFF);
      b[k + 1][g] = fromBf16(warp.b[lane][q] >> 16);
    }
    for (int64_t r = 0; r < 4; ++r)
      c[g + 8 * (r / 2)][2 * t + r % 2] = warp.c[lane][r];
  }
  for (int64_t lane = 0; lane < kWarpSize; ++lane) {
    int64_t g = lane / 4, t = lane % 4;
    for (int64_t r = 0; r < 4; ++r) {
      int64_t row = g + 8 * (r / 2), col = 2 * t + r % 2;
      float sum = c[row][col];
      for (int64_t k = 0; k < 16; ++k)
        sum += a[row][k] * b[k][col];
      warp.d[lane][r] = sum;
    }
  }
}

/// Brings the running lane to its group's `op`: the group is `size`
/// threads (a warp, or a warpgroup of four), kept in `groups` by its index
/// in the launch. `deposit(group, lane)` leaves the lane's operands; the
/// last lane to arrive runs `complete(group)` and releases the others,
/// which wait until then. The results stay in the group until every lane
/// has read them: the next exchange needs all of them to arrive again.
/// Lanes at different instructions are divergence, which run() reports.
template <typename Exchange, typename Deposit, typename Complete>
std::pair<Exchange *, int64_t> meetGroup(std::map<int64_t, Exchange> &groups,
                                         int64_t size, WarpOp op,
                                         Deposit deposit, Complete complete) {
  Launch &launch = *currentLaunch;
  Fiber &fiber = *launch.running;
  ++fiber.warpOps[int(op)];
  fiber.warpOp = op;
  const char *unit = size == kWarpSize ? "warp" : "warpgroup";
  if (launch.blockDim % size != 0 && launch.error.empty())
    launch.error = "kernel " + launch.function->name + " runs " +
                   kWarpOpNames[int(op)] + " in blocks of " +
                   std::to_string(launch.blockDim) + " threads, not whole " +
                   unit + "s";
  int64_t lane = fiber.thread % size;
  Exchange &group =
      groups[fiber.block * (launch.blockDim / size) + fiber.thread / size];
  if (group.arrived == 0)
    group.op = op;
  else if (group.op != op && launch.error.empty())
    launch.error = std::string(unit) + " divergence in kernel " +
                   launch.function->name + ": thread " +
                   std::to_string(fiber.thread) + " of block " +
                   std::to_string(fiber.block) + " reaches " +
                   kWarpOpNames[int(op)] + " while lanes of its " + unit +
                   " wait at " + kWarpOpNames[int(group.op)];
  deposit(group, lane);
  if (++group.arrived < size) {
    group.waiting.push_back(&fiber);
    fiber.waiting = Wait::Warp;
    ::swapcontext(&fiber.context, &launch.scheduler);
  } else {
    complete(group);
    group.arrived = 0;
    for (Fiber *lanes : group.waiting)
      lanes->waiting = Wait::Nothing;
    group.waiting.clear();
  }
  return {&group, lane};
}

template <typename Deposit, typename Complete>
std::pair<WarpExchange *, int64_t> meetWarp(WarpOp op, Deposit deposit,
                                            Complete complete) {
  return meetGroup(currentLaunch->warps, kWarpSize, op, deposit, complete);
}

/// What @stepc_emulator_mma_bf16 points to (mma.sync m16n8k16 bf16 →
/// f32): `fragments` holds the lane's A (4 words), B (2), C (4) and gets
/// its D (4).
void mmaBf16(uint32_t *fragments) {
  auto [warp, lane] = meetWarp(
      WarpOp::Mma,
      [&](WarpExchange &warp, int64_t lane) {
        std::memcpy(warp.a[lane], fragments, sizeof warp.a[lane]);
        std::memcpy(warp.b[lane], fragments + 4, sizeof warp.b[lane]);
        std::memcpy(warp.c[lane], fragments + 6, sizeof warp.c[lane]);
      },
      [](WarpExchange &warp) {
        multiply(warp);
        ++currentLaunch->mmas;
      });
  std::memcpy(fragments + 10, warp->d[lane], sizeof warp->d[lane]);
}

/// What @stepc_emulator_shuffle_xor points to (shfl.sync.bfly.b32 with
/// every lane in the mask): `words` holds the lane's value and lane mask
/// and gets the value of lane `lane ^ mask`.
void shuffleXor(uint32_t *words) {
  auto [warp, lane] = meetWarp(
      WarpOp::Shuffle,
      [&](WarpExchange &warp, int64_t lane) {
        warp.value[lane] = words[0];
        warp.laneMask[lane] = words[1];
      },
      [](WarpExchange &warp) {
        for (int64_t lane = 0; lane < kWarpSize; ++lane)
          warp.shuffled[lane] =
              warp.value[(lane ^ warp.laneMask[lane]) % kWarpSize];
      });
  words[2] = warp->shuffled[lane];
}

std::string where(const Fiber &fiber) {
  return "thread " + std::to_string(fiber.thread) + " of block " +
         std::to_string(fiber.block);
}

int64_t epochOf(const Fiber &fiber) {
  return fiber.blockBarriers + fiber.barriers;
}

/// The race-check state of the 16 bytes at `address` (16-byte aligned, in
/// `fiber`'s block's shared memory), and their offset there.
std::pair<SharedChunk *, size_t> sharedChunk(const Fiber &fiber,
                                             const void *address) {
  Launch &launch = *currentLaunch;
  auto offset =
      size_t(reinterpret_cast<uintptr_t>(address) -
             reinterpret_cast<uintptr_t>(launch.shared[fiber.block].data()));
  return {&launch.sharedChunks[fiber.block][offset / 16], offset};
}

/// A data race between the warps of a block on shared memory, as a GPU may
/// order them: an ldmatrix row that a cp.async of another thread may not
/// have written yet (no block barrier after that thread's wait), or a
/// cp.async over a row that another warp read in the same epoch (it may
/// land before that warp's read). The emulator runs a block's warps one
/// after another between barriers, so without these checks a missing
/// barrier could give the right bits here.
/// `readers` are the reading warps (bit per warp), the fiber's own if 0.
void checkSharedRead(const Fiber &fiber, const void *row,
                     uint64_t readers = 0) {
  Launch &launch = *currentLaunch;
  auto [chunk, offset] = sharedChunk(fiber, row);
  int64_t epoch = epochOf(fiber), warp = fiber.thread / kWarpSize;
  if (!readers)
    readers = uint64_t(1) << (warp % 64);
  // The copying thread sees its own copy once its wait has landed it.
  bool ownLanded = chunk->copyingThread == fiber.thread &&
                   chunk->visibleEpoch != kNeverVisible;
  if (chunk->visibleEpoch > epoch && !ownLanded && launch.error.empty())
    launch.error = "kernel " + launch.function->name + ": " +
                   kWarpOpNames[int(fiber.warpOp)] + " of " + where(fiber) +
                   " reads shared memory at byte " + std::to_string(offset) +
                   ", which a cp.async of thread " +
                   std::to_string(chunk->copyingThread) +
                   " may not have written yet (no wait and block barrier "
                   "since)";
  if (chunk->readEpoch != epoch) {
    chunk->readEpoch = epoch;
    chunk->readWarps = 0;
  }
  chunk->readWarps |= readers;
}

void checkSharedCopy(const Fiber &fiber, const void *destination) {
  Launch &launch = *currentLaunch;
  auto [chunk, offset] = sharedChunk(fiber, destination);
  int64_t epoch = epochOf(fiber), warp = fiber.thread / kWarpSize;
  uint64_t others = chunk->readWarps & ~(uint64_t(1) << (warp % 64));
  if (chunk->wgmmaReadsInFlight > 0 && launch.error.empty())
    launch.error = "kernel " + launch.function->name + ": cp.async of " +
                   where(fiber) + " writes shared memory at byte " +
                   std::to_string(offset) +
                   ", which a wgmma.mma_async still reads (its warpgroup "
                   "has not waited for it with wgmma.wait_group)";
  if (chunk->readEpoch == epoch && others && launch.error.empty())
    launch.error = "kernel " + launch.function->name + ": cp.async of " +
                   where(fiber) + " writes shared memory at byte " +
                   std::to_string(offset) + ", which warp " +
                   std::to_string(__builtin_ctzll(others)) +
                   " read since the last block barrier";
  chunk->visibleEpoch = kNeverVisible;
  chunk->copyingThread = fiber.thread;
}

/// What @stepc_emulator_ldmatrix_x4 points to (ldmatrix.sync.aligned.m8n8
/// .x4.shared.b16): `words` holds the lane's row address (words 0 and 1)
/// and gets its 4 registers (words 2 to 5). From the PTX ISA: lanes 8j to
/// 8j + 7 give the addresses of rows 0 to 7 of matrix j, 16 bytes each and
/// 16-byte aligned; lane l receives in register j the 32 bits at row l / 4,
/// bytes 4 · (l % 4) of matrix j. With `transposed` (ldmatrix...trans,
/// what @stepc_emulator_ldmatrix_x4_trans points to) it receives the
/// 16-bit elements at rows 2 (l % 4) and 2 (l % 4) + 1, col l / 4 instead,
/// the first in the low half. A row outside the block's shared memory or
/// not aligned is an error.
void ldMatrixX4(uint32_t *words, bool transposed) {
  Launch &launch = *currentLaunch;
  const Fiber &fiber = *launch.running;
  const uint32_t *row;
  std::memcpy(&row, words, sizeof row);
  const std::vector<std::max_align_t> &shared = launch.shared[fiber.block];
  auto begin = reinterpret_cast<uintptr_t>(shared.data());
  auto at = reinterpret_cast<uintptr_t>(row);
  if ((shared.empty() || at < begin || at + 16 > begin + launch.sharedBytes ||
       at % 16 != 0) &&
      launch.error.empty())
    launch.error = "kernel " + launch.function->name + ": ldmatrix row " +
                   "address of " + where(fiber) +
                   " is not a 16-byte aligned row of its block's shared "
                   "memory";
  if (launch.error.empty())
    checkSharedRead(fiber, row);
  auto [warp, lane] = meetWarp(
      transposed ? WarpOp::LdMatrixTrans : WarpOp::LdMatrix,
      [&](WarpExchange &warp, int64_t lane) {
        warp.rowAddress[lane] = launch.error.empty() ? row : nullptr;
      },
      [transposed](WarpExchange &warp) {
        // Element (r, c) of matrix j: 16 bits, c of row r's 8.
        auto element = [&](int64_t j, int64_t r, int64_t c) -> uint32_t {
          auto source =
              reinterpret_cast<const uint16_t *>(warp.rowAddress[8 * j + r]);
          return source ? source[c] : 0;
        };
        for (int64_t lane = 0; lane < kWarpSize; ++lane)
          for (int64_t j = 0; j < 4; ++j) {
            int64_t r = lane / 4, c = 2 * (lane % 4);
            warp.matrixWords[lane][j] =
                transposed ? element(j, c, r) | element(j, c + 1, r) << 16
                           : element(j, r, c) | element(j, r, c + 1) << 16;
          }
      });
  std::memcpy(words + 2, warp->matrixWords[lane], 4 * sizeof(uint32_t));
}

/// The byte of element (row, k) of a 64 × 16 or 16 × N factor that
/// `descriptor` describes, from the start of `shared` (a block's memory of
/// `bytes`), or -1 past it. The PTX ISA's matrix descriptor: start address
/// in bits 0-13, the leading dimension's byte offset (LBO) in bits 16-29,
/// the stride dimension's (SBO) in bits 32-45, each in 16-byte units; the
/// layout type in bits 62-63 (0: no swizzle, the one modelled here). The
/// factor is core matrices of 8 × 8 elements, 8 rows of 16 bytes. With
/// `majorK` (no transpose) a core matrix's rows run along the 8 rows or
/// cols of the M or N dim (`outer`) and hold 8 consecutive k; the core
/// matrices of k / 8 = 0 and 1 are LBO apart and those of neighbouring
/// eights of `outer` SBO apart. Transposed (M- or N-major) a core
/// matrix's rows run along k and hold 8 consecutive `outer`, with the
/// same LBO and SBO. The address is 18 bits of the shared window, so its
/// offset is taken modulo 2^18 from the block's base (a block's shared
/// memory is under 256 KiB).
int64_t wgmmaByte(uint64_t descriptor, bool majorK, int64_t outer, int64_t k,
                  const void *shared) {
  auto field = [&](int shift) {
    return int64_t((descriptor >> shift) & 0x3FFF) << 4;
  };
  int64_t base = int64_t(reinterpret_cast<uintptr_t>(shared) & 0x3FFFF);
  int64_t start = (field(0) - base) & 0x3FFFF;
  int64_t lbo = field(16), sbo = field(32);
  int64_t inner =
      majorK ? (outer % 8) * 16 + (k % 8) * 2 : (k % 8) * 16 + (outer % 8) * 2;
  return start + (outer / 8) * sbo + (k / 8) * lbo + inner;
}

/// The warps of `fiber`'s warpgroup, a bit per warp of its block as the
/// race checks' readWarps count them.
uint64_t warpgroupWarps(const Fiber &fiber) {
  return uint64_t(0xF) << ((fiber.thread / kWarpgroupSize) * 4 % 64);
}

/// What @stepc_emulator_wgmma_bf16 points to
/// (wgmma.mma_async.sync.aligned.m64nNk16.f32.bf16.bf16 with both factors
/// in shared memory): `words` holds the thread's descriptors of A (words
/// 0-1) and B (2-3), the form (word 4: N in bits 0-9, A transposed in bit
/// 16, B in bit 17, bit 18 set to add to the accumulators rather than
/// overwrite them: scale-d) and its N/2 f32 accumulators (from word 5),
/// which it gets back. Thread t of the warpgroup holds in accumulator i
/// the element at row 16 (t / 32) + (t % 32) / 4 + 8 ((i / 2) % 2), col
/// 2 (t % 4) + i % 2 + 8 (i / 4) (PTX ISA, "Register Fragments"; CUTLASS's
/// CLayout_64xN). The product sums k ascending in f32 after the
/// accumulator, as mma.sync does here, and reads the factors when the last
/// thread arrives: the kernel's wgmma.wait_group, which a GPU needs before
/// the accumulators are read, is not modelled.
void wgmmaBf16(uint32_t *words) {
  Launch &launch = *currentLaunch;
  const Fiber &fiber = *launch.running;
  uint64_t descriptorA, descriptorB;
  std::memcpy(&descriptorA, words, sizeof descriptorA);
  std::memcpy(&descriptorB, words + 2, sizeof descriptorB);
  uint32_t form = words[4];
  int64_t n = form & 0x3FF;
  if ((n % 8 != 0 || n == 0 || n > kWgmmaMaxN) && launch.error.empty())
    launch.error = "kernel " + launch.function->name + ": wgmma of " +
                   where(fiber) + " has N = " + std::to_string(n) +
                   " (a multiple of 8 up to 256)";
  if (!launch.error.empty())
    n = 0;
  auto [group, lane] = meetGroup(
      launch.warpgroups, kWarpgroupSize, WarpOp::Wgmma,
      [&](WarpgroupExchange &group, int64_t lane) {
        if (group.arrived == 0) {
          group.descriptorA = descriptorA;
          group.descriptorB = descriptorB;
          group.form = form;
          group.disagreeing = -1;
        } else if (group.disagreeing < 0 &&
                   (descriptorA != group.descriptorA ||
                    descriptorB != group.descriptorB || form != group.form)) {
          group.disagreeing = fiber.thread;
        }
        std::memcpy(group.accumulators[lane], words + 5,
                    sizeof(float) * size_t(n / 2));
      },
      [&](WarpgroupExchange &group) {
        group.chunksRead.clear();
        if (!launch.error.empty())
          return;
        if (group.disagreeing >= 0) {
          launch.error =
              "kernel " + launch.function->name + ": wgmma of " + where(fiber) +
              " has other descriptors or form "
              "than thread " +
              std::to_string(group.disagreeing) + " of its warpgroup";
          return;
        }
        if ((group.descriptorA | group.descriptorB) >> 62) {
          launch.error = "kernel " + launch.function->name + ": wgmma of " +
                         where(fiber) +
                         " reads a swizzled layout, which the "
                         "emulator does not model";
          return;
        }
        const std::vector<std::max_align_t> &shared =
            launch.shared[fiber.block];
        const auto *bytes = reinterpret_cast<const unsigned char *>(
            shared.empty() ? nullptr : shared.data());
        // The warpgroup's warps read the factors.
        uint64_t readers = warpgroupWarps(fiber);
        bool majorKA = !(group.form >> 16 & 1),
             majorKB = !(group.form >> 17 & 1);
        auto element = [&](uint64_t descriptor, bool majorK, int64_t outer,
                           int64_t k) -> float {
          int64_t at = wgmmaByte(descriptor, majorK, outer, k, bytes);
          if (!bytes || at < 0 || at + 2 > int64_t(launch.sharedBytes)) {
            if (launch.error.empty())
              launch.error = "kernel " + launch.function->name + ": wgmma of " +
                             where(fiber) +
                             " reads past its block's shared memory (byte " +
                             std::to_string(at) + ")";
            return 0;
          }
          checkSharedRead(fiber, bytes + at / 16 * 16, readers);
          group.chunksRead.push_back(uint32_t(at / 16));
          const SharedChunk &chunk =
              launch.sharedChunks[fiber.block][size_t(at) / 16];
          if (chunk.landedAtFences >= 0 &&
              launch.fibers[size_t(fiber.block * launch.blockDim +
                                   chunk.copyingThread)]
                      .proxyFences <= chunk.landedAtFences &&
              launch.error.empty())
            launch.error = "kernel " + launch.function->name + ": wgmma of " +
                           where(fiber) + " reads shared memory at byte " +
                           std::to_string(at / 16 * 16) +
                           ", which a cp.async of thread " +
                           std::to_string(chunk.copyingThread) +
                           " wrote without a fence.proxy.async since";
          uint16_t bits;
          std::memcpy(&bits, bytes + at, sizeof bits);
          return fromBf16(bits);
        };
        // The warpgroup's N (every thread's, as checked above).
        const int64_t n = group.form & 0x3FF;
        std::vector<float> a(64 * 16), b(16 * size_t(n));
        for (int64_t row = 0; row < 64; ++row)
          for (int64_t k = 0; k < 16; ++k)
            a[row * 16 + k] = element(group.descriptorA, majorKA, row, k);
        for (int64_t k = 0; k < 16; ++k)
          for (int64_t col = 0; col < n; ++col)
            b[k * n + col] = element(group.descriptorB, majorKB, col, k);
        bool accumulate = group.form >> 18 & 1;
        for (int64_t t = 0; t < kWarpgroupSize; ++t)
          for (int64_t i = 0; i < n / 2; ++i) {
            int64_t row = 16 * (t / 32) + (t % 32) / 4 + 8 * ((i / 2) % 2);
            int64_t col = 2 * (t % 4) + i % 2 + 8 * (i / 4);
            float sum = accumulate ? group.accumulators[t][i] : 0.0f;
            for (int64_t k = 0; k < 16; ++k)
              sum += a[row * 16 + k] * b[k * n + col];
            group.accumulators[t][i] = sum;
          }
        std::sort(group.chunksRead.begin(), group.chunksRead.end());
        group.chunksRead.erase(
            std::unique(group.chunksRead.begin(), group.chunksRead.end()),
            group.chunksRead.end());
        ++launch.wgmmas;
      });
  std::memcpy(words + 5, group->accumulators[lane],
              sizeof(float) * size_t(n / 2));
  // The factors stay in use until the thread waits for this wgmma.
  Fiber &reader = *launch.running;
  std::vector<SharedChunk> &chunks = launch.sharedChunks[reader.block];
  for (uint32_t chunk : group->chunksRead) {
    ++chunks[chunk].wgmmaReadsInFlight;
    reader.uncommittedWgmmaReads.push_back(chunk);
  }
}

/// What @stepc_emulator_wgmma_commit points to (wgmma.commit_group): the
/// thread's wgmma since its last commit become its newest group.
void wgmmaCommit() {
  Fiber &fiber = *currentLaunch->running;
  fiber.wgmmaGroups.push_back(std::move(fiber.uncommittedWgmmaReads));
  fiber.uncommittedWgmmaReads.clear();
}

/// What @stepc_emulator_wgmma_wait points to (wgmma.wait_group N): the
/// thread's committed groups but the newest `groupsInFlight` complete, and
/// their factors are free once every thread of the warpgroup has waited;
/// from then on they count as read by the warpgroup in this epoch, as an
/// ldmatrix's rows do.
void wgmmaWait(uint32_t groupsInFlight) {
  Launch &launch = *currentLaunch;
  Fiber &fiber = *launch.running;
  std::vector<SharedChunk> &chunks = launch.sharedChunks[fiber.block];
  int64_t epoch = epochOf(fiber);
  uint64_t readers = warpgroupWarps(fiber);
  while (fiber.wgmmaGroups.size() > groupsInFlight) {
    for (uint32_t index : fiber.wgmmaGroups.front()) {
      SharedChunk &chunk = chunks[index];
      if (--chunk.wgmmaReadsInFlight > 0)
        continue;
      if (chunk.readEpoch != epoch) {
        chunk.readEpoch = epoch;
        chunk.readWarps = 0;
      }
      chunk.readWarps |= readers;
    }
    fiber.wgmmaGroups.pop_front();
  }
}

/// Adds a cp.async of `fiber` to `offset` of its block's shared memory to
/// its warp's instruction (CopyWrites).
void countCopyWavefronts(Fiber &fiber, uintptr_t offset) {
  Launch &launch = *currentLaunch;
  int64_t epoch = epochOf(fiber);
  if (fiber.copyEpoch != epoch) {
    fiber.copyEpoch = epoch;
    fiber.copiesInEpoch = 0;
  }
  int64_t warp = (fiber.block * launch.blockDim + fiber.thread) / kWarpSize;
  auto key = std::make_tuple(warp, epoch, fiber.copiesInEpoch++);
  CopyWrites &writes = launch.copyWrites[key];
  int64_t lane = fiber.thread % kWarpSize;
  ++writes.lanes[lane / 8][offset / 16 % 8];
  int64_t lanesOfWarp = std::min<int64_t>(
      kWarpSize, launch.blockDim - fiber.thread / kWarpSize * kWarpSize);
  if (++writes.arrived == lanesOfWarp) {
    auto [taken, fewest] = writes.wavefronts();
    launch.copyWavefronts += taken;
    launch.copyPhases += fewest;
    launch.copyWrites.erase(key);
  }
}

/// What @stepc_emulator_cp_async points to (cp.async.cg.shared.global of
/// 16 bytes): `words` holds the lane's destination (words 0 and 1) and
/// source (words 2 and 3). The source is read now; the destination is
/// written only when a wait of the thread covers the copy's group
/// (cpAsyncWait), as late as a GPU may write it, so a read that does not
/// wait for it sees the old bytes. A
/// destination outside the block's shared memory or either address not
/// 16-byte aligned is an error.
void cpAsync(uint32_t *words) {
  Launch &launch = *currentLaunch;
  Fiber &fiber = *launch.running;
  unsigned char *destination;
  const unsigned char *source;
  std::memcpy(&destination, words, sizeof destination);
  std::memcpy(&source, words + 2, sizeof source);
  const std::vector<std::max_align_t> &shared = launch.shared[fiber.block];
  auto begin = reinterpret_cast<uintptr_t>(shared.data());
  auto at = reinterpret_cast<uintptr_t>(destination);
  if (shared.empty() || at < begin || at + 16 > begin + launch.sharedBytes ||
      at % 16 != 0 || reinterpret_cast<uintptr_t>(source) % 16 != 0) {
    if (launch.error.empty())
      launch.error = "kernel " + launch.function->name + ": cp.async of " +
                     where(fiber) +
                     " is not 16 aligned bytes into its block's shared "
                     "memory";
    return;
  }
  checkSharedCopy(fiber, destination);
  countCopyWavefronts(fiber, at - begin);
  auto &copy = fiber.pendingCopies.emplace_back();
  copy.first = destination;
  std::memcpy(copy.second.data(), source, 16);
}

/// What @stepc_emulator_cp_async_commit points to
/// (cp.async.commit_group): the thread's uncommitted copies, maybe none,
/// become its newest group.
void cpAsyncCommit() {
  Fiber &fiber = *currentLaunch->running;
  size_t committed = 0;
  for (size_t group : fiber.committedGroups)
    committed += group;
  fiber.committedGroups.push_back(fiber.pendingCopies.size() - committed);
}

/// What @stepc_emulator_cp_async_wait points to (cp.async.wait_group N):
/// the thread's committed groups but the newest `groupsInFlight` land;
/// uncommitted copies do not.
void cpAsyncWait(uint32_t groupsInFlight) {
  Fiber &fiber = *currentLaunch->running;
  while (fiber.committedGroups.size() > groupsInFlight) {
    for (size_t i = 0; i < fiber.committedGroups.front(); ++i) {
      auto &[destination, bytes] = fiber.pendingCopies.front();
      std::memcpy(destination, bytes.data(), bytes.size());
      SharedChunk *chunk = sharedChunk(fiber, destination).first;
      if (chunk->copyingThread == fiber.thread) {
        chunk->visibleEpoch = epochOf(fiber) + 1;
        chunk->landedAtFences = fiber.proxyFences;
      }
      fiber.pendingCopies.pop_front();
    }
    fiber.committedGroups.pop_front();
  }
}

/// What @stepc_emulator_fence_proxy_async points to
/// (fence.proxy.async.shared::cta): the thread's landed copies become
/// visible to wgmma.
void fenceProxyAsync() { ++currentLaunch->running->proxyFences; }

/// Runs the launch to its end; its error, or "".
std::string run(Launch &launch) {
  size_t count = launch.fibers.size();
  for (size_t i = 0; i < count; ++i) {
    Fiber &fiber = launch.fibers[i];
    char *stack = stackFor(i);
    if (!stack)
      return "cannot map a fiber stack: " + std::string(std::strerror(errno));
    ::getcontext(&fiber.context);
    fiber.context.uc_stack.ss_sp = stack;
    fiber.context.uc_stack.ss_size = kFiberStackBytes;
    fiber.context.uc_link = &launch.scheduler;
    ::makecontext(&fiber.context, runFiber, 0);
  }
  // Threads run in order in one epoch and in reverse in the next (and the
  // first order alternates between launches): a read of another thread's
  // write of the same epoch, a missing barrier, then sees stale data.
  bool reverse = launchCounter++ % 2 == 1;
  for (;; reverse = !reverse) {
    // Until every fiber waits at a barrier or has returned; the lanes of a
    // warp go on once its last lane reaches their mma.sync.
    for (bool ran = true; ran;) {
      ran = false;
      for (size_t k = 0; k < count; ++k) {
        Fiber &fiber = launch.fibers[reverse ? count - 1 - k : k];
        if (fiber.done || fiber.waiting != Wait::Nothing)
          continue;
        ran = true;
        launch.running = &fiber;
        ::swapcontext(&launch.scheduler, &fiber.context);
      }
    }
    const Fiber *finished = nullptr, *atGrid = nullptr;
    std::map<int64_t, const Fiber *> finishedInBlock, atGridInBlock;
    std::map<int64_t, std::vector<Fiber *>> atBlockBarrier;
    std::map<void *, std::vector<Fiber *>> atWord;
    for (Fiber &fiber : launch.fibers) {
      if (fiber.done) {
        finished = &fiber;
        finishedInBlock[fiber.block] = &fiber;
      } else if (fiber.waiting == Wait::Warp) {
        // A block of part-warps or lanes at different instructions is the
        // cause, when it is one.
        if (!launch.error.empty())
          return launch.error;
        const char *op = kWarpOpNames[int(fiber.warpOp)];
        return std::string(op) + " divergence in kernel " +
               launch.function->name + ": " + where(fiber) + " waits at its " +
               op + " #" + std::to_string(fiber.warpOps[int(fiber.warpOp)]) +
               " for lanes of its " +
               (fiber.warpOp == WarpOp::Wgmma ? "warpgroup" : "warp") +
               " that do not arrive (a GPU would hang or compute garbage)";
      } else if (fiber.waiting == Wait::Grid) {
        atGrid = &fiber;
        atGridInBlock[fiber.block] = &fiber;
        atWord[fiber.barrierWord].push_back(&fiber);
      } else {
        atBlockBarrier[fiber.block].push_back(&fiber);
      }
    }
    if (!atGrid && atBlockBarrier.empty())
      return launch.error;
    // A block whose threads all wait at __syncthreads() goes on, whatever
    // the other blocks wait at.
    for (auto &[block, waiting] : atBlockBarrier) {
      const Fiber &fiber = *waiting.front();
      if (auto it = finishedInBlock.find(block); it != finishedInBlock.end())
        return "block barrier divergence in kernel " + launch.function->name +
               ": " + where(*it->second) + " returned while " + where(fiber) +
               " waits at block barrier #" +
               std::to_string(fiber.blockBarriers) + " (a GPU would hang)";
      if (auto it = atGridInBlock.find(block); it != atGridInBlock.end())
        return "block barrier divergence in kernel " + launch.function->name +
               ": " + where(*it->second) + " waits at a grid barrier while " +
               where(fiber) + " waits at block barrier #" +
               std::to_string(fiber.blockBarriers) + " (a GPU would hang)";
      for (Fiber *thread : waiting)
        thread->waiting = Wait::Nothing;
    }
    if (!atBlockBarrier.empty())
      continue;
    // The barriers (a word each) every thread of their blocks has reached
    // go on.
    bool released = false;
    for (auto &[word, waiting] : atWord) {
      int64_t expected = waiting.front()->barrierBlocks * launch.blockDim;
      for (const Fiber *fiber : waiting)
        if (fiber->barrierBlocks != waiting.front()->barrierBlocks)
          return "kernel " + launch.function->name + ": " + where(*fiber) +
                 " and " + where(*waiting.front()) +
                 " wait at one grid barrier for different block counts";
      if (int64_t(waiting.size()) != expected)
        continue;
      for (Fiber *fiber : waiting)
        fiber->waiting = Wait::Nothing;
      released = true;
    }
    if (released)
      continue;
    if (finished)
      return "barrier divergence in kernel " + launch.function->name + ": " +
             where(*finished) + " returned after " +
             std::to_string(finished->barriers) + " grid barriers while " +
             where(*atGrid) + " waits at barrier #" +
             std::to_string(atGrid->barriers) + " (a GPU would hang)";
    return "barrier divergence in kernel " + launch.function->name + ": " +
           where(*atGrid) + " waits at barrier #" +
           std::to_string(atGrid->barriers) +
           " for threads that wait at another (a GPU would hang)";
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// The driver API
//===----------------------------------------------------------------------===//

extern "C" {

/// The runtime recognizes the emulator by this symbol
/// (rt::CudaDriver::kEmulatorSymbol).
__attribute__((visibility("default"))) int stepc_cuda_emulator = 1;

#define STEPC_API __attribute__((visibility("default")))

/// Kernel launches so far, whoever made them: tests count the launches of
/// a step with it.
STEPC_API uint64_t stepc_cuda_emulator_launches() { return launchCounter; }

/// Host-to-device copies so far (cuMemcpyHtoD and cuMemcpyHtoDAsync).
STEPC_API uint64_t stepc_cuda_emulator_host_copies() { return hostCopyCounter; }

/// Grid barriers thread 0 passed in the last launch: the kernels' cost in
/// grid-wide synchronization, which tests keep from growing unnoticed.
STEPC_API uint64_t stepc_cuda_emulator_last_barriers() {
  return lastLaunchBarriers;
}

/// Grid barriers the first thread of sub-grid `subgrid` passed in the
/// last launch (0 past its sub-grids): how many tensors the sub-grid
/// stepped shows in them.
STEPC_API uint64_t stepc_cuda_emulator_last_subgrid_barriers(uint64_t subgrid) {
  return subgrid < lastLaunchSubgridBarriers.size()
             ? lastLaunchSubgridBarriers[subgrid]
             : 0;
}

/// The warp-wide mma.sync (m16n8k16) the last launch executed: the
/// tensor-core work of its matmuls, which tests pin like the barriers.
STEPC_API uint64_t stepc_cuda_emulator_last_mmas() { return lastLaunchMmas; }

/// The warpgroup-wide wgmma.mma_async (m64nNk16) the last launch executed.
STEPC_API uint64_t stepc_cuda_emulator_last_wgmmas() {
  return lastLaunchWgmmas;
}

/// The shared-memory wavefronts the last launch's cp.async writes took, as
/// the emulator models bank conflicts (a quarter warp's 16-byte writes
/// per wavefront, one more per further lane on the same banks), and the
/// fewest they could take: the staging layouts' cost in shared-memory
/// bandwidth, which a GPU's profiler reports and the emulator can pin.
STEPC_API uint64_t stepc_cuda_emulator_last_copy_wavefronts() {
  return lastLaunchCopyWavefronts;
}
STEPC_API uint64_t stepc_cuda_emulator_last_copy_phases() {
  return lastLaunchCopyPhases;
}

/// The sub-grids the last launch's grid barriers were split into: tests of
/// the runtime's choice read it.
STEPC_API uint64_t stepc_cuda_emulator_last_subgrids() {
  return lastLaunchSubgrids;
}

STEPC_API CUresult cuInit(unsigned) { return kSuccess; }

STEPC_API CUresult cuGetErrorString(CUresult code, const char **text) {
  static std::string message;
  const char *base = "unknown error";
  switch (code) {
  case kSuccess:
    base = "no error";
    break;
  case kInvalidValue:
    base = "invalid argument";
    break;
  case kOutOfMemory:
    base = "out of memory";
    break;
  case kInvalidDevice:
    base = "invalid device ordinal";
    break;
  case kInvalidImage:
    base = "device kernel image is invalid";
    break;
  case kInvalidHandle:
    base = "invalid resource handle";
    break;
  case kNotFound:
    base = "named symbol not found";
    break;
  case kIllegalAddress:
    base = "an illegal memory access was encountered";
    break;
  case kLaunchFailed:
    base = "unspecified launch failure";
    break;
  case kCooperativeLaunchTooLarge:
    base = "too many blocks in cooperative launch";
    break;
  default:
    break;
  }
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  message = base;
  if (code == lastDetailCode && !lastDetail.empty())
    message += " (stepc-cuda-emulator: " + lastDetail + ")";
  *text = message.c_str();
  return kSuccess;
}

STEPC_API CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return kSuccess;
}

STEPC_API CUresult cuDeviceGet(int *device, int ordinal) {
  if (ordinal != 0)
    return kInvalidDevice;
  *device = 0;
  return kSuccess;
}

STEPC_API CUresult cuDeviceGetName(char *name, int length, int) {
  std::snprintf(name, size_t(length), "%s", "stepc host CUDA emulator");
  return kSuccess;
}

STEPC_API CUresult cuDeviceGetAttribute(int *value, int attribute, int) {
  switch (attribute) {
  case kAttributeMultiprocessorCount:
    *value = multiprocessors();
    break;
  case kAttributeComputeCapabilityMajor:
    *value = 8;
    break;
  case kAttributeComputeCapabilityMinor:
    *value = 0;
    break;
  case kAttributeMaxSharedMemoryPerBlockOptin:
    *value = sharedMemoryOptin();
    break;
  default:
    return fail(kInvalidValue, "device attribute " + std::to_string(attribute) +
                                   " is not emulated");
  }
  return kSuccess;
}

STEPC_API CUresult cuDevicePrimaryCtxRetain(void **context, int) {
  *context = &contextTag;
  return kSuccess;
}

STEPC_API CUresult cuDevicePrimaryCtxRelease_v2(int) { return kSuccess; }
STEPC_API CUresult cuCtxSetCurrent(void *) { return kSuccess; }
/// Launches and copies finish before they return.
STEPC_API CUresult cuCtxSynchronize() { return kSuccess; }
STEPC_API CUresult cuStreamSynchronize(void *) { return kSuccess; }

STEPC_API CUresult cuModuleLoadData(Module **out, const void *image) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  const auto *bytes = static_cast<const unsigned char *>(image);
  if (!bytes || std::memcmp(bytes,
                            "\x7f"
                            "ELF\x02",
                            5) != 0)
    return fail(kInvalidImage,
                "the image is not host code (a cubin or PTX?): the emulator "
                "runs an artifact's cuda.host.so section");
  auto module = std::make_unique<Module>();
  module->fd = ::memfd_create("stepc-emulated-kernels.so", MFD_CLOEXEC);
  if (module->fd < 0)
    return fail(kInvalidImage,
                std::string("memfd_create failed: ") + std::strerror(errno));
  size_t size = elfSize(bytes);
  for (size_t written = 0; written < size;) {
    ssize_t n = ::write(module->fd, bytes + written, size - written);
    if (n <= 0) {
      ::close(module->fd);
      return fail(kInvalidImage, "writing the memfd failed");
    }
    written += size_t(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(module->fd);
  module->handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!module->handle) {
    const char *reason = ::dlerror();
    ::close(module->fd);
    return fail(kInvalidImage,
                std::string("dlopen: ") + (reason ? reason : "unknown"));
  }
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_grid_barrier"))
    *static_cast<BarrierFunction *>(slot) = gridBarrier;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_block_barrier"))
    *static_cast<BlockBarrierFunction *>(slot) = blockBarrier;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_mma_bf16"))
    *static_cast<MmaFunction *>(slot) = mmaBf16;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_wgmma_bf16"))
    *static_cast<WgmmaFunction *>(slot) = wgmmaBf16;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_fence_proxy_async"))
    *static_cast<FenceProxyAsyncFunction *>(slot) = fenceProxyAsync;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_wgmma_commit"))
    *static_cast<WgmmaCommitFunction *>(slot) = wgmmaCommit;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_wgmma_wait"))
    *static_cast<WgmmaWaitFunction *>(slot) = wgmmaWait;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_ldmatrix_x4"))
    *static_cast<LdMatrixFunction *>(slot) = [](uint32_t *words) {
      ldMatrixX4(words, /*transposed=*/false);
    };
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_ldmatrix_x4_trans"))
    *static_cast<LdMatrixFunction *>(slot) = [](uint32_t *words) {
      ldMatrixX4(words, /*transposed=*/true);
    };
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_cp_async"))
    *static_cast<CopyAsyncFunction *>(slot) = cpAsync;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_cp_async_commit"))
    *static_cast<CopyAsyncCommitFunction *>(slot) = cpAsyncCommit;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_cp_async_wait"))
    *static_cast<CopyAsyncWaitFunction *>(slot) = cpAsyncWait;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_shuffle_xor"))
    *static_cast<ShuffleFunction *>(slot) = shuffleXor;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_shared_memory"))
    *static_cast<SharedMemoryFunction *>(slot) = sharedMemory;
  if (void *slot = ::dlsym(module->handle, "stepc_emulator_globaltimer"))
    *static_cast<GlobalTimerFunction *>(slot) = [](uint64_t *words) {
      timespec now;
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      words[0] = uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
    };
  *out = module.release();
  return kSuccess;
}

STEPC_API CUresult cuModuleUnload(Module *module) {
  if (!module)
    return kInvalidHandle;
  ::dlclose(module->handle);
  ::close(module->fd);
  delete module;
  return kSuccess;
}

STEPC_API CUresult cuModuleGetFunction(Function **out, Module *module,
                                       const char *name) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  if (!module)
    return kInvalidHandle;
  std::unique_ptr<Function> &function = module->functions[name];
  if (!function) {
    void *entry = ::dlsym(module->handle, name);
    if (!entry) {
      module->functions.erase(name);
      return fail(kNotFound, std::string("no kernel ") + name);
    }
    function.reset(new Function{reinterpret_cast<KernelEntry>(entry), name});
  }
  *out = function.get();
  return kSuccess;
}

STEPC_API CUresult cuFuncSetAttribute(Function *function, int attribute,
                                      int value) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  if (!function)
    return kInvalidHandle;
  if (attribute != kFunctionAttributeMaxDynamicSharedBytes)
    return fail(kInvalidValue, "function attribute " +
                                   std::to_string(attribute) +
                                   " is not emulated");
  if (value < 0 || value > sharedMemoryOptin())
    return fail(kInvalidValue, "cuFuncSetAttribute: " + std::to_string(value) +
                                   " bytes of dynamic shared memory for " +
                                   function->name + ", over the device's " +
                                   std::to_string(sharedMemoryOptin()));
  function->maxDynamicSharedBytes = value;
  return kSuccess;
}

STEPC_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks,
                                                               Function *, int,
                                                               size_t) {
  *blocks = blocksPerMultiprocessor();
  return kSuccess;
}

STEPC_API CUresult cuMemAlloc_v2(unsigned long long *address, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  if (bytes == 0)
    return fail(kInvalidValue, "cuMemAlloc of 0 bytes");
  size_t total = (bytes + kCanaryBytes + 255) / 256 * 256;
  void *memory = std::aligned_alloc(256, total);
  if (!memory)
    return kOutOfMemory;
  std::memset(memory, kUninitialized, bytes);
  std::memset(static_cast<char *>(memory) + bytes, kCanary, kCanaryBytes);
  allocations[reinterpret_cast<uintptr_t>(memory)] = bytes;
  *address = reinterpret_cast<uintptr_t>(memory);
  return kSuccess;
}

STEPC_API CUresult cuMemFree_v2(unsigned long long address) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  auto it = allocations.find(uintptr_t(address));
  if (it == allocations.end())
    return fail(kInvalidValue, "cuMemFree of " + hex(uintptr_t(address)) +
                                   ", which is not the start of an allocation");
  allocations.erase(it);
  std::free(reinterpret_cast<void *>(uintptr_t(address)));
  return kSuccess;
}

STEPC_API CUresult cuMemcpyHtoD_v2(unsigned long long device, const void *host,
                                   size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  if (CUresult r = checkRange(uintptr_t(device), bytes, "cuMemcpyHtoD"))
    return r;
  ++hostCopyCounter;
  std::memcpy(reinterpret_cast<void *>(uintptr_t(device)), host, bytes);
  return kSuccess;
}

STEPC_API CUresult cuMemcpyHtoDAsync_v2(unsigned long long device,
                                        const void *host, size_t bytes,
                                        void *) {
  return cuMemcpyHtoD_v2(device, host, bytes);
}

STEPC_API CUresult cuMemcpyDtoH_v2(void *host, unsigned long long device,
                                   size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  if (CUresult r = checkRange(uintptr_t(device), bytes, "cuMemcpyDtoH"))
    return r;
  std::memcpy(host, reinterpret_cast<const void *>(uintptr_t(device)), bytes);
  return kSuccess;
}

static CUresult launchKernel(Function *function, unsigned gridX, unsigned gridY,
                             unsigned gridZ, unsigned blockX, unsigned blockY,
                             unsigned blockZ, unsigned sharedBytes,
                             void **params, bool cooperative) {
  std::lock_guard<std::recursive_mutex> lock(apiMutex);
  if (!function)
    return kInvalidHandle;
  if (sharedBytes > unsigned(function->maxDynamicSharedBytes))
    return fail(kInvalidValue,
                "launch of " + function->name + " with " +
                    std::to_string(sharedBytes) +
                    " bytes of dynamic shared memory; its function allows " +
                    std::to_string(function->maxDynamicSharedBytes) +
                    " (cuFuncSetAttribute raises it)");
  if (gridX == 0 || blockX == 0 || gridY != 1 || gridZ != 1 || blockY != 1 ||
      blockZ != 1)
    return fail(kInvalidValue, "launch of " + function->name +
                                   ": the emulator runs 1-D, non-empty grids");
  if (cooperative &&
      gridX > unsigned(multiprocessors() * blocksPerMultiprocessor()))
    return fail(
        kCooperativeLaunchTooLarge,
        "cooperative launch of " + function->name + " with " +
            std::to_string(gridX) + " blocks; at most " +
            std::to_string(multiprocessors() * blocksPerMultiprocessor()) +
            " are co-resident");
  Launch launch;
  launch.function = function;
  launch.params = params;
  launch.blockDim = blockX;
  launch.gridDim = gridX;
  launch.cooperative = cooperative;
  launch.dynamicSharedBytes = sharedBytes;
  launch.fibers.resize(size_t(gridX) * blockX);
  for (size_t i = 0; i < launch.fibers.size(); ++i) {
    launch.fibers[i].block = int64_t(i / blockX);
    launch.fibers[i].thread = int64_t(i % blockX);
  }
  currentLaunch = &launch;
  std::string error = run(launch);
  currentLaunch = nullptr;
  lastLaunchBarriers = uint64_t(launch.fibers.front().barriers);
  lastLaunchMmas = launch.mmas;
  lastLaunchWgmmas = launch.wgmmas;
  // An instruction that some lanes skipped counts the lanes that ran it.
  for (const auto &[key, writes] : launch.copyWrites) {
    auto [taken, fewest] = writes.wavefronts();
    launch.copyWavefronts += taken;
    launch.copyPhases += fewest;
  }
  lastLaunchCopyWavefronts = launch.copyWavefronts;
  lastLaunchCopyPhases = launch.copyPhases;
  lastLaunchSubgrids =
      launch.fewestBarrierBlocks
          ? uint64_t(launch.gridDim / launch.fewestBarrierBlocks)
          : 1;
  lastLaunchSubgridBarriers.clear();
  for (uint64_t s = 0; s < lastLaunchSubgrids; ++s)
    lastLaunchSubgridBarriers.push_back(uint64_t(
        launch.fibers[size_t(s * (gridX / lastLaunchSubgrids)) * blockX]
            .barriers));
  if (!error.empty())
    return fail(kLaunchFailed, error);
  std::string overflow = brokenCanary();
  if (!overflow.empty())
    return fail(kIllegalAddress, "kernel " + function->name + " " + overflow);
  return kSuccess;
}

STEPC_API CUresult cuLaunchKernel(Function *function, unsigned gridX,
                                  unsigned gridY, unsigned gridZ,
                                  unsigned blockX, unsigned blockY,
                                  unsigned blockZ, unsigned sharedBytes, void *,
                                  void **params, void **) {
  return launchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                      sharedBytes, params, /*cooperative=*/false);
}

STEPC_API CUresult cuLaunchCooperativeKernel(Function *function, unsigned gridX,
                                             unsigned gridY, unsigned gridZ,
                                             unsigned blockX, unsigned blockY,
                                             unsigned blockZ,
                                             unsigned sharedBytes, void *,
                                             void **params) {
  return launchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                      sharedBytes, params, /*cooperative=*/true);
}

} // extern "C"
