"""One optimizer step on the GPU: stepc's kernels against PyTorch, in one run.

    PYTHONPATH=DIR/python python3 cuda_step_bench.py DIR/artifacts
    PYTHONPATH=build/python python3 cuda_step_bench.py --smoke ARTIFACTS

(bench/cuda-bench prepares DIR and runs the first.) On the GPU: the
device's copy bandwidth (a large device-to-device copy, bytes read plus
written); AdamW fp32 through stepc.torch.Optimizer (one kernel launch per
group per step) and torch.optim.AdamW(fused=True) on the same tensors, on
GPT-2 small's parameters and on a 1.1B set (achieved bandwidth counts
what AdamW must move: read param, grad, m, v and write param, m, v, 28
bytes per element); Muon on GPT-2 small's 48 hidden matrices against
torch.optim.Muon (or, in a torch without it, the eager reference below);
Muon again with the phased kernel's grid split into 1, 2 and 4
sub-grids (STEPC_CUDA_SUBGRIDS; without it the runtime chooses,
docs/Design/SubGrids.md), as compiled also with the tensors dealt round
robin (STEPC_CUDA_SCHEDULE) instead of by cost and with batches of same-shape
tensors capped (STEPC_CUDA_BATCH, docs/Design/Batching.md), for each
variant bench/cuda-bench compiles (MUON_VARIANTS: register cap, matmul
stages, matmul tiles); MuonMD's hidden group, as compiled and
uncapped, against stepc's Muon on the same matrices; every other spec's
hidden group, as compiled (on the sub-grids the runtime chooses), dealt
round robin, on 1 sub-grid and uncapped (HIDDEN_SPECS); then the
runtime's Muon step alone on single shapes, per variant, with
Newton–Schulz's rate. Times are medians after warm-up steps (CUDA
events on the GPU).

`--smoke` runs the same code on the CPU with small shapes and few steps,
from artifacts with CPU code: a test (test/Tools/bench-smoke.test) that
keeps the bench from rotting and checks that stepc's Muon and the baseline
it is timed against compute the same step.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import torch

import stepc
import stepc.torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import phase_timeline  # noqa: E402

WARMUP, REPEATS = 5, 30
DEVICE = "cuda"
# Sub-grid counts the Muon bench sweeps (1: every tensor on the whole grid).
SUBGRID_SWEEP = (1, 2, 4)
# Batch caps (STEPC_CUDA_BATCH) the Muon bench also times the default
# kernel at; 1 steps one tensor at a time through the batched kernel.
BATCH_SWEEP = (1, 2, 4)
# Muon's kernel as compiled by default (four matmul stages, capped at 128
# registers: two blocks per SM), and as bench/cuda-bench also compiles it:
# uncapped, with two matmul stages, with 128 × 128 matmul tiles (twice
# the flops per staged byte, two stages), with every tile in the checked k
# loop (no whole-tile loop), with 8 stages and with 4 stages of 128 × 128
# tiles (80 KiB of dynamic shared memory each), capped at 80 and 64
# registers
# (three and four blocks per SM, with spills), and without the grid
# barriers' timeout (docs/Design/GpuKernels.md, "Barriers").
MUON_VARIANTS = (("muon", "as compiled"),
                 ("muon_uncapped", "uncapped"),
                 ("muon_2_stages", "2 matmul stages"),
                 ("muon_128_tiles", "128 x 128 matmul tiles"),
                 ("muon_checked_tiles", "every tile checked"),
                 ("muon_8_stages", "8 matmul stages"),
                 ("muon_128_tiles_4_stages", "128 x 128 tiles, 4 stages"),
                 ("muon_80_regs", "capped at 80 registers"),
                 ("muon_64_regs", "capped at 64 registers"),
                 ("muon_no_timeout", "no grid-barrier timeout"),
                 ("muon_unfused_updates", "update a phase of its own"),
                 ("muon_unbatched", "one tensor at a time"),
                 ("muon_scalar", "one element per access"),
                 ("muon_wgmma", "wgmma (sm_90a)"),
                 ("muon_wgmma_uncapped", "wgmma (sm_90a), uncapped"),
                 ("muon_timeline", "recording its phase timeline"))


def runs_here(variant):
    """Whether this GPU runs `variant`'s kernels: the wgmma ones are for
    sm_90a (docs/Design/Wgmma.md), an sm_90 alone."""
    import torch
    return "wgmma" not in variant or torch.cuda.get_device_capability() == (9, 0)


def code_of(optimizer):
    """Which code of its artifact `optimizer`'s last step ran
    (stepc_group_code): on an H100 the wgmma variants must say "sm_90a
    cubin", the others "sm_90 cubin"."""
    return ", ".join(sorted({group.code for group in optimizer._last_step}))


def gpt2_small():
    """GPT-2 small's parameters: 148 tensors, 124.4M values."""
    d, vocab, context, layers = 768, 50257, 1024, 12
    shapes = [(vocab, d), (context, d)]
    for _ in range(layers):
        shapes += [(d,), (d,), (d, 3 * d), (3 * d,), (d, d), (d,), (d,), (d,),
                   (d, 4 * d), (4 * d,), (4 * d, d), (d,)]
    return shapes + [(d,), (d,)]


def one_billion():
    """A 1.1B-parameter decoder: d = 2048, 20 layers."""
    d, vocab, layers = 2048, 50257, 20
    shapes = [(vocab, d)]
    for _ in range(layers):
        shapes += [(d,), (d, 3 * d), (d, d), (d,), (d, 4 * d), (4 * d, d)]
    return shapes + [(d,)]


def timed(fn):
    """Median milliseconds of fn() over REPEATS, after WARMUP calls."""
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(REPEATS):
        if DEVICE != "cuda":
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
            continue
        start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def host_ms(fn):
    """Median milliseconds of host time in one fn() call, each call
    starting with the device idle: what the caller waits before fn()
    returns, the Python before the launch included."""
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(REPEATS):
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    return statistics.median(times)


def copy_bandwidth(num_bytes):
    src = torch.empty(num_bytes // 4, device="cuda")
    dst = torch.empty_like(src)
    ms = timed(lambda: dst.copy_(src))
    return 2 * src.numel() * 4 / (ms * 1e-3)


def make_params(shapes, seed=0):
    generator = torch.Generator(device=DEVICE).manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(
            0.02 * torch.randn(shape, device=DEVICE, generator=generator))
        p.grad = torch.randn(shape, device=DEVICE, generator=generator)
        params.append(p)
    return params


def gpt2_small_hidden():
    """GPT-2 small's 48 hidden matrices (attention in/out, MLP in/out)."""
    d, layers = 768, 12
    return [(d, 3 * d), (d, d), (d, 4 * d), (4 * d, d)] * layers


class EagerMuon:
    """Muon as it ships in eager PyTorch (KellerJordan/Muon, the same math
    as examples/specs/muon.mlir): EMA momentum with Nesterov, five
    Newton–Schulz steps in bf16 on the wide orientation, the shape-scaled
    update. The baseline where torch has no torch.optim.Muon."""

    def __init__(self, params, lr, beta=0.95):
        self.params, self.lr, self.beta = list(params), lr, beta
        self.momenta = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self):
        a, b, c = 3.4445, -4.7750, 2.0315
        for p, m in zip(self.params, self.momenta):
            m.lerp_(p.grad, 1 - self.beta)
            u = p.grad.lerp(m, self.beta)
            x = u / (u.norm() + 1e-7)
            x = x.bfloat16()
            tall = x.size(0) > x.size(1)
            if tall:
                x = x.mT
            for _ in range(5):
                gram = x @ x.mT
                x = a * x + (b * gram + c * gram @ gram) @ x
            if tall:
                x = x.mT
            scale = max(1.0, p.size(0) / p.size(1)) ** 0.5
            p.add_(x.float(), alpha=-self.lr * scale)


def muon_baseline(params, lr):
    """torch.optim.Muon with the spec's hypers where torch has it."""
    if hasattr(torch.optim, "Muon"):
        return "torch.optim.Muon", torch.optim.Muon(
            params, lr=lr, weight_decay=0.0, momentum=0.95, nesterov=True,
            ns_steps=5, eps=1e-7)
    return "eager Muon (KellerJordan/Muon)", EagerMuon(params, lr)


def relative_update_difference(ours, theirs, start):
    """|Δours − Δtheirs| / |Δtheirs| over all tensors."""
    num = sum(((a - s) - (b - s)).float().pow(2).sum().item()
              for a, b, s in zip(ours, theirs, start))
    den = sum((b - s).float().pow(2).sum().item()
              for b, s in zip(theirs, start))
    return (num / max(den, 1e-30)) ** 0.5


def bench_adamw(name, shapes, artifacts, copy_bw):
    numel = sum(torch.Size(s).numel() for s in shapes)
    ours = make_params(shapes)
    theirs = make_params(shapes)
    opt = stepc.torch.Optimizer(ours, f"{artifacts}/adamw.stepc", lr=1e-3,
                                wd=1e-2)
    ref = torch.optim.AdamW(theirs, lr=1e-3, weight_decay=1e-2, fused=True)
    ours_ms = timed(opt.step)
    theirs_ms = timed(ref.step)
    (runner,) = opt._runners.values()
    steps = WARMUP + REPEATS
    # The same number of steps on the same start: the results must agree.
    diff = max((a - b).abs().max().item() for a, b in zip(ours, theirs))
    # The runtime's step alone: the kernel without stepc.torch's Python.
    runtime_ms = timed(runner.step)
    steps += WARMUP + REPEATS
    ours_host, theirs_host, runtime_host = (
        host_ms(opt.step), host_ms(ref.step), host_ms(runner.step))
    steps += 2 * (WARMUP + REPEATS)
    bw = 28 * numel / (ours_ms * 1e-3)
    print(f"| AdamW fp32, {name} ({numel / 1e6:.1f}M in {len(shapes)} tensors) "
          f"| {ours_ms:.3f} ms | {theirs_ms:.3f} ms | "
          f"{theirs_ms / ours_ms:.2f}x | {bw / 1e12:.2f} TB/s = "
          f"{bw / copy_bw:.2f} of copy | {runner.launch_count / steps:.0f} | "
          f"{diff:.1e} |")
    print(f"| ... the runtime's step alone | {runtime_ms:.3f} ms | | "
          f"{theirs_ms / runtime_ms:.2f}x | "
          f"{28 * numel / (runtime_ms * 1e-3) / copy_bw:.2f} of copy | | |")
    print(f"| ... host time of one step() call | {ours_host:.3f} ms "
          f"(the runtime's: {runtime_host:.3f} ms) | {theirs_host:.3f} ms | "
          f"{theirs_host / ours_host:.2f}x | | | |")
    del opt, ref, ours, theirs
    torch.cuda.empty_cache()


def bench_adamw_host(artifacts):
    """stepc.torch's host time per step against torch.optim.AdamW's on
    GPT-2 small's 148 tensors shrunk to 16 values each: the Python around
    the kernels, which the GPU run adds to every step."""
    shapes = [(4, 4) if len(shape) == 2 else (16,) for shape in gpt2_small()]
    ours, theirs = make_params(shapes), make_params(shapes)
    opt = stepc.torch.Optimizer(ours, f"{artifacts}/adamw.stepc", lr=1e-3,
                                wd=1e-2, num_threads=1)
    ref = torch.optim.AdamW(theirs, lr=1e-3, weight_decay=1e-2)
    ours_ms, theirs_ms = host_ms(opt.step), host_ms(ref.step)
    (runner,) = opt._runners.values()
    print(f"| AdamW host time, {len(shapes)} tensors of 16 values | "
          f"{ours_ms:.3f} ms (the runtime's step: "
          f"{host_ms(runner.step):.3f} ms) | torch.optim.AdamW: "
          f"{theirs_ms:.3f} ms | {theirs_ms / ours_ms:.2f}x | | |")


def bench_muon(name, shapes, artifacts):
    """stepc's Muon against the PyTorch baseline, then MuonMD against
    stepc's Muon, on the same matrices."""
    numel = sum(torch.Size(s).numel() for s in shapes)
    ours, theirs = make_params(shapes), make_params(shapes)
    start = [p.detach().clone() for p in ours]
    opt = stepc.torch.Optimizer(ours, f"{artifacts}/muon.stepc",
                                group="hidden", lr=0.02, wd=0.0)
    baseline, ref = muon_baseline(theirs, lr=0.02)
    # One step each from the same start: the updates must agree (bf16
    # Newton–Schulz both; stepc normalizes in f32 before rounding).
    opt.step()
    ref.step()
    diff = relative_update_difference(ours, theirs, start)
    ours_ms = timed(opt.step)
    theirs_ms = timed(ref.step)
    launches = sum(r.launch_count for r in opt._runners.values())
    steps = 1 + WARMUP + REPEATS
    runtime_ms = timed(lambda: [r.step() for r in opt._runners.values()])
    print(f"| Muon, {name} ({len(shapes)} matrices, {numel / 1e6:.1f}M) "
          f"| {ours_ms:.3f} ms | {baseline}: {theirs_ms:.3f} ms | "
          f"{theirs_ms / ours_ms:.2f}x | {launches / steps:.0f} | "
          f"{diff:.1e} |")
    print(f"| ... the runtime's step alone | {runtime_ms:.3f} ms | | "
          f"{theirs_ms / runtime_ms:.2f}x | | |")
    # Each variant of the kernel (bench/cuda-bench compiles them), with its
    # grid in sub-grids that step tensors side by side
    # (docs/Design/SubGrids.md). The runtime reads STEPC_CUDA_SUBGRIDS when
    # it binds a group, so each count gets an optimizer of its own.
    for variant, what in MUON_VARIANTS:
        path = f"{artifacts}/{variant}.stepc"
        if not os.path.exists(path) or not runs_here(variant):
            continue
        # The kernel as compiled also on tensors dealt round robin, the
        # split before the runtime dealt them by cost (SubGrids.md,
        # "Balancing the sub-grids").
        schedules = ("cost", "round-robin") if variant == "muon" else ("cost",)
        for subgrids in SUBGRID_SWEEP:
            for schedule in schedules if subgrids > 1 else ("cost",):
                os.environ["STEPC_CUDA_SUBGRIDS"] = str(subgrids)
                os.environ["STEPC_CUDA_SCHEDULE"] = schedule
                swept = stepc.torch.Optimizer(make_params(shapes), path,
                                              group="hidden", lr=0.02, wd=0.0)
                swept_ms = timed(swept.step)
                dealt = ", round robin" if schedule == "round-robin" else ""
                print(f"| ... {what} [{code_of(swept)}], on {subgrids} "
                      f"sub-grids{dealt} | "
                      f"{swept_ms:.3f} ms | | {theirs_ms / swept_ms:.2f}x "
                      f"| | |")
        os.environ.pop("STEPC_CUDA_SUBGRIDS", None)
        os.environ.pop("STEPC_CUDA_SCHEDULE", None)
    # The kernel as compiled with smaller batches of same-shape tensors
    # (docs/Design/Batching.md; the runtime reads STEPC_CUDA_BATCH when it
    # binds a group).
    for cap in BATCH_SWEEP:
        os.environ["STEPC_CUDA_BATCH"] = str(cap)
        capped = stepc.torch.Optimizer(make_params(shapes),
                                       f"{artifacts}/muon.stepc",
                                       group="hidden", lr=0.02, wd=0.0)
        capped_ms = timed(capped.step)
        print(f"| ... as compiled, batches of at most {cap} | "
              f"{capped_ms:.3f} ms | | {theirs_ms / capped_ms:.2f}x | | |")
    os.environ.pop("STEPC_CUDA_BATCH", None)
    for variant, what in (("muon_md", "as compiled"),
                          ("muon_md_uncapped", "uncapped"),
                          ("muon_md_wgmma", "wgmma (sm_90a)")):
        path = f"{artifacts}/{variant}.stepc"
        if not os.path.exists(path) or not runs_here(variant):
            continue
        md = stepc.torch.Optimizer(make_params(shapes), path, group="hidden")
        md_ms = timed(md.step)
        print(f"| MuonMD, {name}, {what} [{code_of(md)}] | {md_ms:.3f} ms "
              f"| stepc Muon: "
              f"{ours_ms:.3f} ms | {ours_ms / md_ms:.2f}x (MuonMD/Muon "
              f"{md_ms / ours_ms:.2f}) | | |")
    return diff


def bench_phase_timeline(name, shapes, artifacts):
    """Where Muon's step goes on `shapes`, phase by phase, from the kernel
    compiled with --cuda-phase-timeline (docs/Design/PhaseTimeline.md): the
    last of a few steps, each phase charged to the barrier that ends it."""
    path = f"{artifacts}/muon_timeline.stepc"
    if not os.path.exists(path):
        return
    log = f"{artifacts}/muon_timeline.jsonl"
    if os.path.exists(log):
        os.remove(log)
    os.environ["STEPC_CUDA_TIMELINE"] = log
    opt = stepc.torch.Optimizer(make_params(shapes), path, group="hidden",
                                lr=0.02, wd=0.0)
    os.environ.pop("STEPC_CUDA_TIMELINE")
    for _ in range(1 + WARMUP):
        opt.step()
    with open(log) as file:
        launches = [json.loads(line) for line in file]
    print(f"Muon's phases, {name}:")
    print("\n".join(phase_timeline.table(launches[-1])))


# Specs with a phased "hidden" group besides Muon's and MuonMD's
# (bench/cuda-bench compiles each as is). Each is timed in a process of
# its own, given HIDDEN_GROUP_SECONDS: on an H100 (2026-11-23) a spec
# timed after seven others in one process (ARO's group in one run,
# SinkGD's in the next) did not finish within minutes, though SinkGD's
# 48-matrix step takes 15 ms in a fresh process. Cause not found yet.
HIDDEN_SPECS = ("normuon", "hyperball", "muonmax", "muonmax_momo",
                "muonadam_momo", "muon_polar_express", "moonlight_muon",
                "sinkgd", "reg", "aro")
HIDDEN_GROUP_SECONDS = 120


def time_hidden_group(name, shapes, artifacts, spec):
    """One spec's hidden group on `shapes`: as compiled (capped at 128
    registers where it has a tensor-core matmul) on the sub-grids the
    runtime chooses, the same with the tensors dealt round robin instead
    of by cost, as compiled on 1 sub-grid, and, where bench/cuda-bench
    compiled them, uncapped, one tensor at a time (no batches of
    same-shape tensors, docs/Design/Batching.md) and one element per
    access (no vectors in element-wise ops): one table row."""
    runs = ((f"{artifacts}/{spec}.stepc", {}),
            (f"{artifacts}/{spec}.stepc",
             {"STEPC_CUDA_SCHEDULE": "round-robin"}),
            (f"{artifacts}/{spec}.stepc", {"STEPC_CUDA_SUBGRIDS": "1"}),
            (f"{artifacts}/{spec}_uncapped.stepc", {}),
            (f"{artifacts}/{spec}_unbatched.stepc", {}),
            (f"{artifacts}/{spec}_scalar.stepc", {}))
    times = []
    for path, settings in runs:
        if not os.path.exists(path):
            times.append(None)
            continue
        # The runtime reads its settings when it binds a group.
        os.environ.update(settings)
        opt = stepc.torch.Optimizer(make_params(shapes), path, group="hidden")
        for key in settings:
            os.environ.pop(key)
        # The Momo specs take the loss as an input.
        inputs = {"loss": 1.0} if "momo" in spec else {}
        times.append(timed(lambda: opt.step(**inputs)))
    chosen, round_robin, single, *optional = times
    cells = [f"{chosen:.3f} ms", f"{round_robin:.3f} ms", f"{single:.3f} ms"]
    cells += [f"{t:.3f} ms" if t else "" for t in optional]
    cells += [f"{chosen / round_robin:.2f}", f"{chosen / single:.2f}"]
    cells += [f"{chosen / t:.2f}" if t else "" for t in optional]
    print(f"| {spec}, {name} | {' | '.join(cells)} |")


def bench_hidden_groups(name, artifacts, smoke):
    """time_hidden_group for each of HIDDEN_SPECS compiled in `artifacts`,
    each in a child process (this script with --hidden-group)."""
    print("| spec | as compiled | tensors dealt round robin | on 1 sub-grid "
          "| uncapped | one tensor at a time | one element per access | as "
          "compiled / round robin | as compiled / on 1 sub-grid | as "
          "compiled / uncapped | as compiled / one tensor at a time | as "
          "compiled / one element per access |\n|---|---|---|---|---|---|"
          "---|---|---|---|---|---|", flush=True)
    for spec in HIDDEN_SPECS:
        if not os.path.exists(f"{artifacts}/{spec}.stepc"):
            continue
        command = [sys.executable, os.path.abspath(__file__),
                   *(["--smoke"] if smoke else []), "--hidden-group", spec,
                   artifacts]
        try:
            child = subprocess.run(command, capture_output=True, text=True,
                                   timeout=HIDDEN_GROUP_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"| {spec}, {name} | did not finish in "
                  f"{HIDDEN_GROUP_SECONDS} s | | | | |", flush=True)
            continue
        if child.returncode != 0:
            error = (child.stderr.strip().splitlines() or ["?"])[-1]
            print(f"| {spec}, {name} | not timed: {error} | | | | |",
                  flush=True)
        else:
            print(child.stdout, end="", flush=True)


def ns_tflops(shapes, ms):
    """Newton–Schulz's rate counted as torch computes it: five iterations
    of two m²n products and one m³ (m the smaller side)."""
    flops = 0
    for rows, cols in shapes:
        m, n = min(rows, cols), max(rows, cols)
        flops += 5 * (2 * 2 * m * m * n + 2 * m ** 3)
    return flops / (ms * 1e-3) / 1e12


def bench_muon_shapes(artifacts):
    """The runtime's Muon step alone on one shape at a time, for each
    kernel variant, against torch.optim.Muon on the same matrices."""
    print("| matrices | variant | stepc step | NS rate | baseline | "
          "speed-up |\n|---|---|---|---|---|---|")
    for count, shape in ((1, (768, 768)), (12, (768, 768)),
                         (1, (768, 3072)), (12, (768, 3072)),
                         (1, (2048, 2048))):
        shapes = [shape] * count
        baseline, ref = muon_baseline(make_params(shapes), lr=0.02)
        theirs_ms = timed(ref.step)
        for variant, what in MUON_VARIANTS:
            path = f"{artifacts}/{variant}.stepc"
            if not os.path.exists(path) or not runs_here(variant):
                continue
            opt = stepc.torch.Optimizer(make_params(shapes), path,
                                        group="hidden", lr=0.02, wd=0.0)
            opt.step()
            ms = timed(lambda: [r.step() for r in opt._runners.values()])
            print(f"| {count} × {shape[0]} × {shape[1]} | {what} | "
                  f"{ms:.3f} ms | {ns_tflops(shapes, ms):.1f} TFLOP/s | "
                  f"{theirs_ms:.3f} ms | {theirs_ms / ms:.2f}x |")


def main():
    global DEVICE, WARMUP, REPEATS
    args = sys.argv[1:]
    smoke = args[:1] == ["--smoke"]
    if smoke:
        args = args[1:]
        DEVICE, WARMUP, REPEATS = "cpu", 1, 2
    small, gpt2 = [(16, 48), (48, 16)], gpt2_small_hidden()
    if args[:1] == ["--hidden-group"] and len(args) == 3:
        name, shapes = ("small", small) if smoke else ("GPT-2 small hidden",
                                                       gpt2)
        time_hidden_group(name, shapes, args[2], args[1])
        return 0
    if len(args) != 1:
        print(__doc__)
        return 2
    artifacts = args[0]
    header = ("| step | stepc | baseline | speed-up | launches per step | "
              "difference |\n|---|---|---|---|---|---|")
    if smoke:
        print(f"smoke run on the CPU; torch {torch.__version__}")
        print(header)
        bench_adamw_host(artifacts)
        diff = bench_muon("small", [(16, 48), (48, 16), (32, 32)], artifacts)
        bench_hidden_groups("small", artifacts, smoke=True)
        # Both run Newton–Schulz in bf16, the baseline every intermediate
        # too (stepc accumulates in f32): test/GPU's bf16 tolerance.
        ok = diff < 0.1
        print(f"{'ok' if ok else 'FAIL'}: Muon's update within 0.1 of the "
              f"baseline's ({diff:.1e})")
        return 0 if ok else 1
    props = torch.cuda.get_device_properties(0)
    copy_bw = copy_bandwidth(1 << 30)
    print(f"device: {props.name}, {props.multi_processor_count} SMs; "
          f"torch {torch.__version__}")
    print(f"copy bandwidth (1 GiB device-to-device, read + written): "
          f"{copy_bw / 1e12:.2f} TB/s\n")
    print("| step | stepc | torch fused | speed-up | stepc bandwidth | "
          "launches per step | max abs diff vs torch |")
    print("|---|---|---|---|---|---|---|")
    bench_adamw("GPT-2 small", gpt2_small(), artifacts, copy_bw)
    bench_adamw("1B", one_billion(), artifacts, copy_bw)
    print()
    print(header)
    bench_muon("GPT-2 small hidden", gpt2_small_hidden(), artifacts)
    print()
    bench_phase_timeline("GPT-2 small hidden", gpt2_small_hidden(), artifacts)
    print()
    bench_hidden_groups("GPT-2 small hidden", artifacts, smoke=False)
    print()
    bench_muon_shapes(artifacts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
