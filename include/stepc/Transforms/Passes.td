//===- Passes.td - stepc transformation passes -------------*- tablegen -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_TRANSFORMS_PASSES_TD
#define STEPC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def BlockMatmuls : Pass<"stepc-block-matmuls", "::mlir::ModuleOp"> {
  let summary = "Compute matrix products in register blocks (CPU)";
  let description = [{
    Rewrites each linalg.generic on buffers whose body yields `out + L·R`
    (L from inputs indexed by the output's row and the reduced dim, R from
    inputs indexed by the reduced dim and the output's col, all f32) into
    loops over output blocks of 6 rows by 16 cols held in vector registers
    for the whole k loop. Each element still sums its products in
    ascending k, a rounded multiply then a rounded add, as the generic's
    own loops would: the same bits. A factor that is not an input read
    row-major (a transposed read, a bf16 rounding, Newton–Schulz's
    `b·A + c·A²`) is first computed into a row-major buffer by a generic
    of its own ops, once per element; the buffers are left to the
    deallocation pipeline that follows. The rows and cols outside whole
    blocks stay the generic, over views. The blocked loops are one private
    function per module, `stepc_product_blocks`, which every product calls
    with its panels: LLVM compiles them once. docs/Design/CpuPipeline.md,
    "Matrix products in register blocks".
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def ClipGradNorm : Pass<"stepc-clip-grad-norm", "::mlir::ModuleOp"> {
  let summary = "Clip the global gradient norm before every group's step";
  let description = [{
    Adds PyTorch's `clip_grad_norm_` as a prologue to every group of every
    optimizer (shared ALGORITHMS.md §8): each group gains a hyper
    `max_grad_norm` (default `max-norm`), sums its gradients' squares into
    the global sum "grad_sq", and every op of its body reads
    `G · min(1, max_grad_norm / (sqrt(total) + 1e-6))` instead of `G`.
    Groups stepped together (`stepc_step_groups`) share the norm, so it
    spans the whole model; `total("grad_sq")` is its square after the step.
    Sums the body already had now read the clipped gradient, and move one
    phase later if they read it. A group with a hyper of that name or a sum
    of that key is an error.
  }];
  let options = [
    Option<"maxNorm", "max-norm", "double", "1.0",
           "the default of the max_grad_norm hyper">
  ];
}

def FuseElementwise : Pass<"stepc-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuse element-wise linalg ops, also producers with several uses";
  let description = [{
    Upstream `linalg-fuse-elementwise-ops` only fuses a producer with one use.
    An optimizer step is a chain whose intermediate values are also states
    (AdamW's new moments feed the update and are stored), so every such
    producer has two uses. This pass fuses element-wise producers into their
    element-wise consumers whatever their uses, then merges sibling
    element-wise ops over the same iteration space (neither using the other)
    into one op with all their results, sharing common inputs. With CSE
    afterwards, a phase becomes one loop that reads and writes each tensor
    once: AdamW is one loop over (p, g, m, v).

    With `materialize-stored`, an element-wise result that is also returned
    (a new state, stored anyway) and that reductions read, directly or
    through element-wise ops, is not recomputed inside each of them when
    reading it back costs fewer bytes than recomputing it from its inputs:
    it stays a loop of its own, whose result every consumer reads (REG's
    momentum, read by the row and column norms and by the RMS, computed
    once into its state buffer instead of three times from (G, M)).
  }];
  let options = [
    Option<"materializeStored", "materialize-stored", "bool",
           /*default=*/"false",
           "Compute a returned value that reductions read once, when reading "
           "it back is cheaper than recomputing it">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def LowerReductions : Pass<"stepc-lower-reductions", "::mlir::func::FuncOp"> {
  let summary = "Lower reductions to loops that carry their sums (CPU)";
  let description = [{
    `convert-linalg-to-loops` keeps a reduction's sum in memory: the inner
    loop loads and stores the result element each iteration, and LLVM
    promotes it to a register only when it can prove that no other store in
    the loop writes the same address. A loop nest computing a row sum and a
    column sum at once (stepc-merge-sibling-reductions) stores to both, and
    was measured 3.3× slower than two separate sweeps.

    This pass lowers each bufferized `linalg.generic` with reduction loops
    to `scf.for` loops itself. A result whose index stops changing at some
    loop (a row sum, from the inner loop on; a whole sum, from the first) is
    loaded before that loop, carried through it and the loops inside as an
    iteration argument, and stored after it. Results indexed by the
    innermost loop (a column sum) are loaded and stored in the body, as
    before. Ops with index semantics or maps other than projected
    permutations are left to `convert-linalg-to-loops`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def FuseRowLoops : Pass<"stepc-fuse-row-loops", "::mlir::func::FuncOp"> {
  let summary = "Run consecutive loops over the same rows as one loop (CPU)";
  let description = [{
    After lowering to loops, a row reduction, the element-wise update of
    the vector it feeds and a column reduction weighted by that vector
    (SinkGD's normalizations, folded into scale vectors) are three loops over
    the rows, and the two matrix sweeps each read the whole gradient from
    memory. Each iteration of the later loops only needs the same row of the
    earlier ones, so they can run as one loop: row i is summed, its scale
    updated and its columns accumulated while the row is still in L1.

    Two consecutive `scf.for` loops with the same bounds fuse when every
    buffer one writes and the other touches is indexed, in both, by the
    loop's own index in dim 0 (through `?x1` reshapes of vectors), and
    their bodies only load, store and compute. The ops between them (the
    next reduction's buffer, its zero fill, views) move above the first
    loop when they touch nothing it writes. Buffers are function arguments
    (distinct, as bufferization assumed) or allocations; anything else stops
    the fusion. Runs after `convert-linalg-to-loops`, so bufferization has
    already placed every result in place: fusing before it (as
    `stepc-tile-rows` does on tensors) made bufferization copy the param and
    the momentum (docs/Design/Phases.md).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def MergeSiblingReductions
    : Pass<"stepc-merge-sibling-reductions", "::mlir::func::FuncOp"> {
  let summary = "Compute reductions over the same loops in one sweep (CPU)";
  let description = [{
    After element-wise fusion every reduction is its own loop nest that reads
    its inputs once. Two reductions that read the same matrix and neither of
    which needs the other (REG's row and column norms of the momentum) would
    sweep it twice. This pass merges such reductions into one `linalg.generic`
    with the results of both: a loop is parallel where it is parallel in
    both, each result keeps its own map. Ops that only set up the second
    reduction (its `tensor.empty` and `linalg.fill`) move up with it.

    The same iteration space is known by a shared input read with the same
    map, a permutation of all loops. CPU only: the GPU kernels map row and
    column reductions to different thread layouts.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FuseTransposesIntoReductions
    : Pass<"stepc-fuse-transposes-into-reductions", "::mlir::func::FuncOp"> {
  let summary = "Read a reduction's transposed operand in place (GPU kernels)";
  let description = [{
    The CPU code wants a matmul's transposed right factor materialized, so
    that its inner loop streams rows (LinalgEmitter::matmul). A GPU kernel
    does not: its reductions read best along the reduced dim, which for
    Newton–Schulz's Gram `X·Xᵀ` is X's own rows. This pass generalizes
    the `linalg.transpose` ops that reductions read, and fuses element-wise
    producers (such a transpose, the rounding to bf16 before it) into the
    reductions that read them, when the fused read runs along one of the
    reduction's reduced dims, the last result of its map. The transposed
    copy and the rounded one then go away: two passes over the matrix and
    two grid barriers per Newton–Schulz iteration
    (docs/Design/GpuKernels.md, "Barriers").
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def MaterializeRoundedFactors
    : Pass<"stepc-materialize-rounded-factors", "::mlir::func::FuncOp"> {
  let summary = "Round a matrix product's factor once, into a bf16 tensor "
                "of its own (GPU kernels)";
  let description = [{
    A product `out + L·R` (a generic of two parallel loops and one
    reduction) whose factor L (or R) is `extf(truncf(x))`, with x computed
    from more than one tensor, computes x at every point of the product:
    Newton–Schulz's third product reads b·A + c·A² that way. On the GPU
    each block of output tiles that shares a row of L then reads both f32
    matrices again. This pass computes `truncf(x)` once, in an element-wise
    generic over the factor's two dims into a bf16 tensor, just before the
    product, and has the product read `extf` of it. The values are the
    same bits. The phased kernels compute that generic in the store of the
    product before it, where it reads that product's output.

    It also rounds a loop's iterate once per iteration: an f32 `scf.for`
    iter_arg that products in the loop read as rounded factors (the Gram
    and P·X read X), and that a pointwise generic in the loop yields (the
    update). That generic yields `truncf` of it as a second result, into
    a second iter_arg that the products read; the first value is rounded
    by the op that computes it, through `scf.if` branches.

    And a product's result that other products read as rounded factors
    (A = X·Xᵀ, which A² reads) is rounded once, right after the product,
    where the phased kernels compute the rounding in the product's stores
    (docs/Design/GpuKernels.md, "Factors rounded once").
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def FoldNormalizationChains
    : Pass<"stepc-fold-normalization-chains", "::mlir::ModuleOp"> {
  let summary = "Carry a chain of row and column normalizations as two "
                "scale vectors";
  let description = [{
    SinkGD's step alternates `normalize_rows` and `normalize_cols` five
    times. Each result is the input scaled, X = diag(r)·G·diag(c), so the
    chain needs G and the two vectors only: row i's 2-norm is
    r_i·sqrt(Σ_j G_ij² c_j²) and column j's c_j·sqrt(Σ_i r_i² G_ij²).
    Rewrites every chain of two or more such ops (p = 2, power 1, target
    `unit` or `sqrt_dim`, any ε mode; each result but the last used only
    by the next) into `step.reduce`s of G² weighted by the other vector,
    element-wise updates of r and c, and one final G·r·c. A row or column
    whose weighted sum is 0 is zero in every X; its factor stays as it
    was instead of growing by T/ε each time, which could overflow.
    The results equal the chain's in real arithmetic and differ in
    rounding. The lowered chain had recomputed each X from G through all
    the earlier factors, per element. docs/Design/CpuPipeline.md,
    "Normalization chains as scale vectors".
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
  ];
}

def OutlineRowRanges : Pass<"stepc-outline-row-ranges", "::mlir::ModuleOp"> {
  let summary = "Outline sweeps over independent rows as parallel ranges (CPU)";
  let description = [{
    A group with one large matrix swept its rows on one core however many
    threads the runner had. An `scf.for` whose body holds a loop over a
    row's elements, carries no values from one iteration to the next, and
    writes only its own row of every buffer it writes (reading other rows
    only of buffers it does not write; the same analysis as
    `stepc-fuse-row-loops`) becomes a call of a private function marked
    `stepc.parallel_ranges` over blocks of its rows: (what the body uses
    from outside, rows per block, cost, first block, end block). Constants,
    dims and reshapes are recomputed inside rather than passed. A block
    holds at least 2^14 elements; its cost counts 8 per element.
    `stepc-parallelize-ranges` then routes the call through the runtime's
    threads. Loops that accumulate across rows (column sums, whole sums)
    stay as they are. docs/Design/CpuPipeline.md, "Sweeps on free threads".
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def ParallelizeRanges : Pass<"stepc-parallelize-ranges", "::mlir::ModuleOp"> {
  let summary = "Let the runtime's threads share calls of parallel ranges (CPU)";
  let description = [{
    Runs on the LLVM dialect. Every call of a function marked
    `stepc.parallel_ranges` (last parameters cost, begin, end: i64) goes
    through the table the module exports as `stepc_parallel_ranges`,
    `{run, context}`: when the runtime has set `run`, the call becomes
    `run(context, begin, end, cost, task, env)`, where `env` holds the
    call's other operands on the stack and `task(env, b, e)` (one internal
    function per callee) calls the callee on [b, e); the runtime calls
    `task` on pieces of the range from as many threads as it has free.
    While `run` is null (the JIT, code nobody loads through the runtime)
    the call is made as before. The split cannot change a result: the
    attribute promises that indices are independent.
    docs/Design/CpuPipeline.md, "Threads inside a product".
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def RouteScratchAllocations
    : Pass<"stepc-route-scratch-allocations", "::mlir::ModuleOp"> {
  let summary = "Route the CPU code's buffer allocations through a hook the "
                "runtime sets";
  let description = [{
    Gives the generic allocation functions that `finalize-memref-to-llvm`
    declares with `use-generic-functions` (`_mlir_memref_to_llvm_alloc`,
    `_mlir_memref_to_llvm_free`) internal bodies that call through the
    exported global `stepc_scratch_allocator`, a struct
    `{ptr allocate(ptr context, i64 bytes), void release(ptr context, ptr),
    ptr context}`, and fall back to `malloc` and `free` while its
    `allocate` is null (the JIT, a runtime that does not set it). The
    runtime points it at a pool that keeps a step's buffers for the next
    step: freed to the C library, large buffers went back to the kernel and
    every step paid their page faults again. docs/Design/CpuPipeline.md,
    "Scratch buffers kept across steps".
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def MarkDistinctBuffers
    : Pass<"stepc-mark-distinct-buffers", "::mlir::ModuleOp"> {
  let summary = "Mark the pointer parameters of functions over distinct "
                "buffers noalias (LLVM dialect)";
  let description = [{
    `func-to-llvm` drops `llvm.noalias` from memref arguments, which it
    expands into descriptor fields. A function marked
    `stepc.distinct_buffers` (stepc-outline-row-ranges marks the sweeps it
    outlines when every buffer they receive is a function argument or an
    allocation, distinct as bufferization assumed) gets `llvm.noalias` on
    every pointer parameter, so that LLVM hoists loads of one buffer past
    stores to another, as it did while the loops were in the step itself.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def StoreBf16Bits : Pass<"stepc-store-bf16-bits"> {
  let summary = "Store bf16 values (LLVM dialect) as their i16 bits";
  let description = [{
    Rewrites each `llvm.store` of a bf16 value (or a vector of them) into a
    store of its bits, bitcast to i16. The CPU lowering expands bf16
    rounding into integer ops, but LLVM's InstCombine turns its last step
    into a `select` of bfloat values, which x86 promotes to float; with
    more than one use of the result, the truncation back becomes a call to
    compiler-rt's `__truncsfbf2`, which a loaded artifact or the host CUDA
    emulator cannot resolve. Stored as bits, the select stays on integers.
    Runs at the end of the CPU lowering.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def FillPerProduct
    : Pass<"stepc-fill-per-product", "::mlir::func::FuncOp"> {
  let summary = "Give each matrix product its own fill of its init (GPU kernels)";
  let description = [{
    CSE merges equal fills, so Newton–Schulz's Gram and A², two m × m
    products that both start from zero, share one `linalg.fill`.
    Bufferization then fills one buffer and copies it for the other. This
    pass gives each product (a generic of two parallel loops and one
    reduction) after the first that accumulates into a fill its own
    `tensor.empty` and `linalg.fill`, next to it. Each product
    then starts from a fill of its own, which the GPU's tensor-core
    matmuls take over (docs/Design/GpuKernels.md, "A fill before the
    matmul is left to it"): the fill, the copy and the loads of the
    output go away.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def UnifyShapes : Pass<"stepc-unify-shapes", "::mlir::func::FuncOp"> {
  let summary = "Read every tensor dimension from the param";
  let description = [{
    The runtime binds a param, its grad and its states with related shapes
    (the grad and full states equal the param's, a per-row state has its
    rows, a per-column state its columns); `convert-step-to-func` records
    these relations as `stepc.param_dims` argument attributes. This pass
    rewrites `memref.dim`/`tensor.dim` of such an argument into the matching
    dimension of the param, so that loops over the grad and the states are
    visibly the same loops and can be merged.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def SinkSelectOperands : Pass<"stepc-sink-select-operands", "::mlir::func::FuncOp"> {
  let summary = "Compute a scalar select's operands only when it takes them";
  let description = [{
    `arith.select %c, %a, %b` evaluates both `%a` and `%b`. Where the ops
    computing `%a` (or `%b`) are needed by nothing else and include a loop
    (a linalg op, an op with regions), this pass moves them into an `scf.if`
    on `%c` that yields the operand, so they run only on the branch that
    uses them. MuonMax's stale nuclear norm is the case in point:
    `select(t == 1, ⟨M, polar(M)⟩, last)` ran Newton–Schulz on every step to
    use it on the first; the phase-1 function now runs it once.

    Only selects of a scalar in the function's body are considered (inside
    a loop body a branch would block vectorization), and only ops without
    memory effects move.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def DestinationInits : Pass<"stepc-destination-inits", "::mlir::func::FuncOp"> {
  let summary = "Compute results that are stored into a buffer in that buffer";
  let description = [{
    Where a linalg op's result is written to a destination with
    `bufferization.materialize_in_destination` and the op's init is a
    `tensor.empty`, uses the destination's existing `bufferization.to_tensor`
    value as the init. One-shot bufferization then updates the parameter and
    state buffers in place where that is safe and copies where it is not.
    Upstream `eliminate-empty-tensors` creates a second `to_tensor` of the same
    buffer, which breaks the `restrict` contract and miscompiled AdamW (the
    numerics tests caught it).

    Likewise, a result inserted with `tensor.insert_slice` (a row of Qᵀ in
    `step.qr`'s loop) gets the matching `tensor.extract_slice` of the
    destination as its init, so that the row is written in place rather than
    copied through a strided view (a copy the artifact cannot link:
    `memrefCopy`).
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def PlanPhases : Pass<"stepc-plan-phases", "::mlir::func::FuncOp"> {
  let summary = "Annotate each linalg op with its phase between barriers";
  let description = [{
    Runs the phase analysis of docs/Design/Phases.md on a group function:
    tiles own blocks of the param's rows, a row reduction stays inside its
    tile, and a new phase starts only where an op reads a column or
    whole-tensor reduction, or reads rows another tile produced (a
    transpose, the right-hand side of a matmul). Writes `stepc.phase` and
    `stepc.phase_class` (`row_local`, `accumulate`, `replicated`) on every
    linalg op and `stepc.num_phases` on the function; changes nothing else.
  }];
}

def TileRows : Pass<"stepc-tile-rows", "::mlir::func::FuncOp"> {
  let summary = "Fuse each phase's row-local work into loops over row blocks";
  let description = [{
    For a matrix group, tiles every row-local `linalg.generic` whose result
    leaves its phase into blocks of `rows-per-tile` rows and fuses into that
    loop the row-local producers of the same phase (the phase plan of
    `stepc-plan-phases`). A row reduction and the element-wise work that
    reads it then run on the same rows while they are in cache, instead of
    as two sweeps over the matrix. Element-wise (rank-1) groups are left as
    they are: they are one loop already.
  }];
  let options = [
    Option<"rowsPerTile", "rows-per-tile", "int64_t", /*default=*/"8",
           "Rows of the param each loop iteration computes">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // STEPC_TRANSFORMS_PASSES_TD
