//===- Manifest.h - what an artifact says about its groups ------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Plain data, no MLIR: the compiler fills it from a spec, the runtime reads
// it from an artifact, and both bind tensors with it.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_MANIFEST_H
#define STEPC_RT_MANIFEST_H

#include <cstdint>
#include <string>
#include <vector>

namespace stepc::rt {

enum class Role { Param, Grad, State, Hyper, Input, Count };

/// How a state's shape follows from its parameter's (m x n, or n flattened).
enum class Layout {
  Full,       ///< the parameter's shape
  PerRow,     ///< m x 1
  PerCol,     ///< 1 x n
  PerTensor,  ///< one value
  LongAxis,   ///< max(m, n)
  RowsSquare, ///< m x m (ARO's rotation)
  ColsSquare, ///< n x n
};

enum class StateInit { Zeros, Ones, Constant, ParamNorm, Identity };

struct Argument {
  Role role = Role::Param;
  std::string name;
  Layout layout = Layout::Full;   ///< states
  StateInit init = StateInit::Zeros; ///< states
  double initValue = 0.0;         ///< states with StateInit::Constant
  std::string storage = "f32";    ///< states: f32 or bf16
  bool hasDefault = false;        ///< hypers
  double defaultValue = 0.0;      ///< hypers
};

/// One phase of a group's global sums (docs/Design/GroupWide.md): `entry`
/// computes each tensor's contribution to every key in `keys`.
struct SumPhase {
  /// Symbol of the void(void**) entry: the group's arguments, the totals of
  /// the earlier phases (f32), then one f32 out-pointer per key.
  std::string entry;
  std::vector<std::string> keys;
};

struct Group {
  std::string name;
  /// Matrix groups see rank-2 tensors; the others see every tensor flattened.
  bool matrix = false;
  /// Every element is updated from the same element of every input (no
  /// reduction, no matmul, only full-layout states): a tensor may then be
  /// split into chunks stepped in parallel.
  bool elementwise = false;
  std::vector<std::string> paramDtypes;
  /// Symbol of the void(void**) entry point.
  std::string entry;
  /// Symbol of the group's CUDA kernel for f32 parameters (others append
  /// "_<dtype>"); empty when the artifact has no CUDA code.
  std::string kernel;
  /// Whether `kernel` is a phased kernel: kernel(tensors, numTensors,
  /// control, scratch, barrier), the tensors stepped one after the other,
  /// each by the whole grid with grid barriers between its phases (needs a
  /// cooperative launch). Otherwise it is element-wise (CudaLaunch).
  bool kernelPhased = false;
  /// A phased kernel's scratch bytes per tensor, as a postfix program over
  /// the param's rows and cols (evaluateSizeProgram): the largest over the
  /// group's dtypes.
  std::string kernelScratch;
  /// What stepping one tensor costs in a phased kernel, the compiler's
  /// estimate as a postfix program over the param's rows and cols
  /// (evaluateSizeProgram): the runtime deals the tensors to sub-grids by
  /// it (docs/Design/SubGrids.md, "Balancing the sub-grids").
  std::string kernelWork;
  /// f32 partial sums per grid thread that a phased kernel keeps at the
  /// start of its scratch.
  int kernelPartials = 0;
  /// Whether a phased kernel steps consecutive same-shape tensors
  /// together, up to the cap the runtime writes after the schedule
  /// (docs/Design/Batching.md).
  bool kernelBatches = false;
  /// Bytes of dynamic shared memory per block that a phased kernel's
  /// launch gives it (tensor-core stages over the 48 KiB a kernel may
  /// declare statically); 0 for none.
  int kernelSharedBytes = 0;
  /// For a group with global sums: its slot in `kernel`, per entry of
  /// `paramDtypes`. Such a kernel is its optimizer's: it steps the groups
  /// that sum, each dtype in a slot of its own, and a launch fills the
  /// slots of the groups stepped together, which then share the totals:
  /// kernel(slot 0's tensors, numTensors, control, scratch, slot 1's ...,
  /// barrier). Empty for a kernel of one group (a single slot).
  std::vector<int> kernelSlots;
  /// How many slots `kernel` has (1 without kernelSlots).
  int kernelNumSlots = 1;
  /// In calling order: param, grad, states, hypers, inputs, count.
  std::vector<Argument> args;
  /// Global sums, phase 1 first. The main entry then takes every total,
  /// in this order, after the arguments.
  std::vector<SumPhase> sumPhases;

  /// Indices into `args` of the arguments with `role`.
  std::vector<size_t> indicesOf(Role role) const;
  /// Whether parameters may be stored as `dtype` ("f32", "bf16", "f16").
  bool takesDtype(const std::string &dtype) const;
  /// The entry for parameters stored as `dtype`: `entry` for f32; for the
  /// others the compiler inserts "_<dtype>" before "_packed".
  std::string entryFor(const std::string &dtype) const {
    return entryFor(entry, dtype);
  }
  /// `entry` (an f32 entry symbol) for parameters stored as `dtype`.
  static std::string entryFor(const std::string &entry,
                              const std::string &dtype);
  /// Every global-sum key, in the order the main entry takes the totals.
  std::vector<std::string> sumKeys() const;
  /// The CUDA kernel for parameters stored as `dtype`.
  std::string kernelFor(const std::string &dtype) const;
  /// The slot of `dtype` in its kernel (0 for a kernel of one group).
  int kernelSlotFor(const std::string &dtype) const;
};

/// The i64 words of a kernel's step control block (docs/Design/
/// GpuKernels.md, "Step control"; the compiler's StepControlWord): the last
/// step's count, which the kernel advances unless found-inf skips the step;
/// the finished-blocks ticket (0 between launches); the addresses of the
/// grad scale and of found-inf (f32, 0 for none); then one f32 address per
/// hyper and input, in argument order.
enum StepControlWord : size_t {
  kControlCount = 0,
  kControlTicket = 1,
  kControlGradScale = 2,
  kControlFoundInf = 3,
  kControlFirstScalar = 4,
};

/// How the CUDA kernels of an artifact are launched
/// (docs/Design/GpuKernels.md). Every kernel is `kernel(tensors, items,
/// numItems, control)`:
///  - tensors: per bound tensor, one device pointer per param, grad and
///    state argument (in argument order), then its element count (i64);
///  - items: (tensor, begin, end) as i64, begin a multiple of vectorWidth;
///    the kernel's blocks walk them in a grid-stride loop;
///  - numItems: i32;
///  - control: the group's step control block (StepControlWord).
struct CudaLaunch {
  /// Bumped when the layout above changes; the runtime checks it.
  static constexpr int kAbi = 6;
  int abi = kAbi;
  /// Threads per block the kernels were tuned for.
  int blockSize = 256;
  /// Elements per vector access: item boundaries and the alignment every
  /// buffer must have (vectorWidth elements of its dtype).
  int vectorWidth = 4;
  /// Architectures with a cubin in the artifact ("sm_80"); the PTX serves
  /// the others.
  std::vector<std::string> archs;
  /// With a phase timeline (stepc compile --cuda-phase-timeline;
  /// docs/Design/PhaseTimeline.md): the releases each region of a phased
  /// kernel's barrier buffer keeps, and the name of each barrier call site
  /// (site k at k - 1). 0 and empty without one.
  int timelineCapacity = 0;
  std::vector<std::string> timelineSites;
};

/// The largest phase timeline a manifest may ask for.
constexpr int kMaxTimelineCapacity = 1 << 20;
/// Where a phase timeline's regions start in a phased kernel's barrier
/// buffer: after the launch's gridDim + 1 barrier words, rounded up to a
/// multiple of this many u32 (the compiler's kPhaseTimelineAlignWords).
/// Region r is then [count, start, capacity (site, time) pairs], times in
/// units of kTimelineNanoseconds of %globaltimer, modulo 2^32.
constexpr int64_t kTimelineAlignWords = 64;
constexpr int64_t kTimelineNanoseconds = 32;

/// Bytes every buffer in a phased kernel's scratch is aligned to.
constexpr int64_t kScratchAlignment = 256;

/// The most shared memory a block may have on any GPU stepc targets
/// (sm_90's 227 KiB); each device says its own limit.
constexpr int kMaxKernelSharedBytes = 227 * 1024;

/// Evaluates one of a phased kernel's size programs (its scratch bytes,
/// Group::kernelScratch, or its work, Group::kernelWork) for a param of
/// `rows` x `cols` (a vector: its length and 1). Tokens, separated by
/// spaces: an integer, `rows`, `cols` (pushed), `add`, `mul`, `max` (pop
/// two, push one), `ifgt`, `ifge` (pop a b then otherwise, push a > b,
/// resp. a >= b, ? then : otherwise), `align` (round the top up to
/// kScratchAlignment). False with `error` when the program is malformed
/// or overflows.
bool evaluateSizeProgram(const std::string &program, int64_t rows, int64_t cols,
                         int64_t &value, std::string &error);

struct Manifest {
  std::string optimizer;
  std::string stepcVersion;
  std::vector<Group> groups;
  /// Present when the artifact carries CUDA code.
  bool hasCuda = false;
  CudaLaunch cuda;

  /// The group called `name`, or null.
  const Group *findGroup(const std::string &name) const;
};

const char *toString(Role role);
const char *toString(Layout layout);
const char *toString(StateInit init);

/// The inverses of toString: false (and `out` untouched) for unknown text.
bool parseRole(const std::string &text, Role &out);
bool parseLayout(const std::string &text, Layout &out);
bool parseStateInit(const std::string &text, StateInit &out);

} // namespace stepc::rt

#endif // STEPC_RT_MANIFEST_H
