//===- Passes.td - stepc conversion passes -----------------*- tablegen -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_CONVERSION_PASSES_TD
#define STEPC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertStepToLinalg : Pass<"convert-step-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Decompose step compute ops into linalg on tensors";
  let description = [{
    Rewrites every step compute op inside `step.group`s into
    `linalg.generic` ops on f32 tensors (element-wise maps, reductions and
    matmul contractions), plus `tensor`, `arith`, `math` and `scf` ops. The
    group, its signature and its `step.return` stay; afterwards the body holds
    no step compute op. Per-row (`?x1`), per-column (`1x?`) and per-tensor
    values are broadcast through collapsed shapes and projected indexing
    maps. The semantics are the fp64 formulas of docs/Dialects/Step/StepOps.md
    evaluated in f32.

    `step.qr` is classical Gram–Schmidt with reorthogonalization, one column
    at a time (mat-vecs on the columns built so far), or with
    `qr-panel-rows=b` in panels of b columns: each panel is projected onto
    the columns before it by matrix products, twice with a Gram–Schmidt of
    the panel after each (docs/Design/Aro.md, "Panels on the CPU").
  }];
  let options = [
    Option<"qrPanelRows", "qr-panel-rows", "unsigned", /*default=*/"0",
           "Columns per panel of step.qr (0: one column at a time)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvertStepToFunc : Pass<"convert-step-to-func", "::mlir::ModuleOp"> {
  let summary = "Turn each step.group into a destination-passing func.func";
  let description = [{
    Replaces every `step.optimizer` by one `func.func` per group and
    parameter dtype, named `stepc_<optimizer>_<group>` (f32) or
    `stepc_<optimizer>_<group>_<dtype>` (bf16, f16: the param and grad
    buffers hold that dtype, the body computes on f32 copies and the new
    param is rounded to nearest even), with the C interface. The function takes one
    memref per param, grad and state and one f32 per hyper and count, in the
    group's argument order, and returns nothing: the new param and the new
    states are written into their own buffers
    (`bufferization.materialize_in_destination`), which is the in-place
    update a trainer wants and lets one-shot bufferization reuse the buffers.
    Run it after `convert-step-to-linalg`; the group body moves over as it is.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def AddPackedEntries : Pass<"stepc-add-packed-entries", "::mlir::ModuleOp"> {
  let summary = "Add a void(void**) entry next to every C-interface function";
  let description = [{
    For every `llvm.func @_mlir_ciface_<name>` adds
    `llvm.func @<name>_packed(%args: !llvm.ptr)`: `args[i]` points to the i-th
    argument (a memref descriptor pointer or an f32), exactly the packing
    MLIR's ExecutionEngine uses. The runtime and the JIT harness call every
    group through this one signature, whatever its number of tensors and
    scalars.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def FormGpuKernels : Pass<"stepc-form-gpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Turn each element-wise group function into one GPU kernel";
  let description = [{
    Replaces every group function (`convert-step-to-func` output after
    fusion: scalar work on the hypers, then one element-wise
    `linalg.generic` whose results are written into the param and state
    buffers) by a `gpu.func` kernel in `gpu.module @stepc_kernels`, and
    marks the module `gpu.container_module`. The kernel steps any number of
    tensors in one launch (docs/Design/GpuKernels.md):

      kernel(%tensors, %items : !llvm.ptr<1>, %num_items : i32,
             %scalars : !llvm.ptr<1>)

    `tensors` holds per tensor one pointer per buffer argument of the
    function (param, grad, states, in order) and its element count (i64);
    `items` holds (tensor, begin, end) as three i64 per tile, with `begin`
    a multiple of 4; `scalars` the f32 hypers and count in argument order.
    Block b takes items b, b + gridDim.x, ...; each thread loads and stores
    4 elements at once (128-bit for f32; buffers 16-byte aligned) and the
    tile's last `(end - begin) % 4` elements one at a time.

    A group that is not element-wise (reductions, matmuls) is an error for
    now: its phases need the grid barrier of a later slice. With
    `skip-unsupported` such a group's function is dropped with a warning
    instead, so the other groups of a spec still get kernels (what
    `stepc compile --target=cuda` does).
  }];
  let options = [
    Option<"skipUnsupported", "skip-unsupported", "bool", /*default=*/"false",
           "Drop the functions of groups that are not element-wise (with a "
           "warning) instead of failing">,
    Option<"leaveOthers", "leave-others", "bool", /*default=*/"false",
           "Leave the functions of groups that are not element-wise, and "
           "of groups with global sums, in place without a diagnostic, for "
           "stepc-form-phased-gpu-kernels">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def FormPhasedGpuKernels
    : Pass<"stepc-form-phased-gpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Turn each bufferized group function into one grid-wide "
                "GPU kernel with barrier-separated phases";
  let description = [{
    Takes the group functions left after `stepc-form-gpu-kernels
    {leave-others}`, bufferized (linalg on memrefs, `scf`, `memref`
    allocs, views and copies, as one-shot bufferization leaves them), and
    replaces each by a `gpu.func` in `gpu.module @stepc_kernels`:

      kernel(%tensors : !llvm.ptr<1>, %num_tensors : i32,
             %scalars : !llvm.ptr<1>, %scratch : !llvm.ptr<1>,
             %barrier : !llvm.ptr<1>)

    `tensors` holds per tensor one pointer per buffer argument (param,
    grad, states, in order), then the param's rows and cols (i64; a
    vector's length and 1); `scalars` the f32 hypers and count; `scratch`
    the kernel's working memory; `barrier` one zeroed u32.

    The tensors are stepped one after the other. Within a tensor, scalar
    work runs on every thread (it is uniform), each `linalg.generic` and
    `memref.copy` is spread over all threads of the grid (grid-stride over
    its parallel loops; reduction loops run per point; a reduction with no
    parallel loop is split into per-thread partials combined in thread
    order), a store outside them runs on thread 0, and `scf.for`/`scf.if`
    around such work become uniform control flow. A call of
    `@stepc_grid_barrier` (the cooperative-groups scheme) follows every
    write phase, and precedes a write when threads may still be reading.

    Allocs get fixed places in `scratch`, after the partials: their sizes
    are bounded by the param's dims, and the module attribute
    `stepc.phased_kernels` gives per kernel the postfix program of its
    scratch bytes per tensor (over `rows`, `cols`; ops `add`, `mul`, `max`,
    `align`) and its partials per thread, for the runtime.

    A group with global sums (`stepc.sum_phases`) gets one kernel for all
    of its functions: each sum phase's function runs over every tensor,
    writing each tensor's contributions to scratch; after a barrier every
    thread adds them in f64 in tensor order (the CPU runtime's order) and
    thread 0 leaves the f64 totals at the start of scratch for the
    runtime; the main function then runs with the totals rounded to f32.
    Scratch then starts with the totals and the contributions (sized by
    the runtime from the tensor count and the group's keys).

    A generic that is a bf16 contraction (`out + L·R`, L and R exact in
    bf16, as Newton–Schulz's matmuls are) runs on tensor cores: blocks walk
    64 × 64 output tiles (128 × 128 with `matmul-tile=128`), stage L's and
    R's k-slices in shared memory as bf16 (four k-steps of 32 in flight by
    default, up to eight with `matmul-stages`, beyond 48 KiB in dynamic
    shared memory; one `gpu.barrier` per k-step) and compute them with
    `nvvm.mma.sync` m16n8k16 bf16 → f32, a 32 × 16 part per warp (64 × 32)
    (`tensor-cores=false` keeps the scalar path). Tiles wholly inside
    contiguous, aligned matrices take a k loop without per-copy checks
    (`matmul-whole-tiles`).

    A function the kernel cannot run (an unknown op, a buffer carried
    across loop iterations, a size not bounded by the param's dims) is an
    error, or with `skip-unsupported` dropped with a warning.
  }];
  let options = [
    Option<"skipUnsupported", "skip-unsupported", "bool", /*default=*/"false",
           "Drop functions the kernel cannot run (with a warning) instead of "
           "failing">,
    Option<"maxRegisters", "max-registers", "int", /*default=*/"0",
           "Cap each phased kernel at this many registers per thread "
           "(nvvm.maxnreg, PTX .maxnreg; 0: 128 for kernels with a 64 x 64 "
           "tensor-core matmul, none for the others; 255 lifts the cap)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Run bf16 contractions (Newton–Schulz's matmuls) as nvvm.mma.sync "
           "loops over block tiles staged in shared memory">,
    Option<"matmulTile", "matmul-tile", "int64_t", /*default=*/"64",
           "The side of those block tiles: 64 (a 32 × 16 part per warp) or "
           "128 (64 × 32)">,
    Option<"matmulStages", "matmul-stages", "int64_t", /*default=*/"0",
           "The k-steps those loops stage in shared memory at once, 2 to 8 "
           "(0: the most that fit the 48 KiB a kernel may declare, 4 with "
           "64 × 64 tiles, 2 with 128 × 128; more are dynamic shared "
           "memory, recorded as the kernel's dynamic_shared_bytes)">,
    Option<"barrierTimeout", "barrier-timeout", "int64_t", /*default=*/"60",
           "Seconds a block waits at a grid barrier before it traps, which "
           "fails the launch instead of hanging the GPU (0: it waits "
           "forever)">,
    Option<"matmulWholeTiles", "matmul-whole-tiles", "bool",
           /*default=*/"true",
           "Give the tiles that lie wholly inside their matrices, which are "
           "contiguous and aligned, a k loop that copies without checks "
           "(false: every tile checks each copy)">,
    Option<"matmulWgmma", "matmul-wgmma", "bool", /*default=*/"false",
           "Compute those products with wgmma.mma_async out of core-matrix "
           "stages (sm_90a only, 64 x 64 tiles; docs/Design/Wgmma.md) "
           "instead of mma.sync">,
    Option<"fuseIterateUpdates", "fuse-iterate-updates", "bool",
           /*default=*/"true",
           "Give a loop iterate that a product reads and the loop's last op "
           "rewrites in place a second buffer, so that the update becomes "
           "the product's epilogue (Newton–Schulz's a·X + P·X; false keeps "
           "it a phase of its own)">,
    Option<"batchSameShapes", "batch-same-shapes", "bool",
           /*default=*/"true",
           "Step the consecutive same-shape tensors of a sub-grid together, "
           "each op over all of them in one phase (docs/Design/Batching.md; "
           "false steps one tensor at a time)">,
    Option<"vectorElementwise", "vector-elementwise", "bool",
           /*default=*/"true",
           "Give the element-wise ops 16-byte vector loads and stores where "
           "the sizes and buffers allow (false: one element per access)">,
    Option<"phaseTimeline", "phase-timeline", "bool", /*default=*/"false",
           "Record when each grid barrier releases, by call site, for the "
           "runtime's phase timeline (docs/Design/PhaseTimeline.md)">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def UseCorrectlyRoundedRoots
    : Pass<"stepc-use-correctly-rounded-roots", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Give GPU kernels the correctly rounded square root";
  let description = [{
    Rewrites f32/f64 `math.sqrt` and `math.rsqrt` into the
    `llvm.nvvm.sqrt.rn` intrinsic (PTX `sqrt.rn`). NVVM's default lowering
    is `sqrt.approx.f32`, which differs from the CPU path and the fp64
    reference by more than their tolerances. It runs just before the NVVM
    lowering, so that the host emulation (`stepc-gpu-kernels-to-host`)
    keeps `math.sqrt`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

def GpuKernelsToHost : Pass<"stepc-gpu-kernels-to-host", "::mlir::ModuleOp"> {
  let summary = "Turn the kernel module's gpu.funcs into host functions the "
                "CUDA emulator runs";
  let description = [{
    Moves every kernel of `gpu.module @stepc_kernels` to the host module as

      func.func @KERNEL(%params : !llvm.ptr, %block : index, %thread : index,
                        %block_dim : index, %grid_dim : index)

    where `params` is what `cuLaunchKernel` receives (one pointer per kernel
    argument). The x dimension of `gpu.block_id`, `gpu.thread_id`,
    `gpu.block_dim` and `gpu.grid_dim` becomes the matching argument; y and
    z are 0 (ids) or 1 (sizes). The grid barrier's body becomes an indirect
    call through the exported pointer global `@stepc_emulator_grid_barrier`,
    which the emulator sets when it loads the code. memref globals move
    along. Any other GPU op (shuffles, block barriers, shared memory) is an
    error: the emulator does not model them (docs/Design/GpuEmulation.md).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

#endif // STEPC_CONVERSION_PASSES_TD
