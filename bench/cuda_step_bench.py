"""One optimizer step on the GPU: stepc's kernels against PyTorch, in one run.

    PYTHONPATH=DIR/python python3 cuda_step_bench.py DIR/artifacts

(bench/cuda-bench prepares DIR and runs this.) For each parameter set:
the device's copy bandwidth (a large device-to-device copy, bytes read plus
written), then AdamW fp32 through stepc.torch.Optimizer (one kernel launch
per step) and torch.optim.AdamW(fused=True) on the same tensors. Achieved
bandwidth counts what AdamW must move: read param, grad, m, v and write
param, m, v (28 bytes per element). Times are medians of CUDA-event timings
after warm-up steps. Muon and MuonMD are measured once their matrix groups
have CUDA kernels; until then the script says so.
"""

import statistics
import sys

import torch

import stepc
import stepc.torch

WARMUP, REPEATS = 5, 30


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
        start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def copy_bandwidth(num_bytes):
    src = torch.empty(num_bytes // 4, device="cuda")
    dst = torch.empty_like(src)
    ms = timed(lambda: dst.copy_(src))
    return 2 * src.numel() * 4 / (ms * 1e-3)


def make_params(shapes, seed=0):
    generator = torch.Generator(device="cuda").manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(
            0.02 * torch.randn(shape, device="cuda", generator=generator))
        p.grad = torch.randn(shape, device="cuda", generator=generator)
        params.append(p)
    return params


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
    bw = 28 * numel / (ours_ms * 1e-3)
    print(f"| AdamW fp32, {name} ({numel / 1e6:.1f}M in {len(shapes)} tensors) "
          f"| {ours_ms:.3f} ms | {theirs_ms:.3f} ms | "
          f"{theirs_ms / ours_ms:.2f}x | {bw / 1e12:.2f} TB/s = "
          f"{bw / copy_bw:.2f} of copy | {runner.launch_count / steps:.0f} | "
          f"{diff:.1e} |")
    del opt, ref, ours, theirs
    torch.cuda.empty_cache()


def main():
    artifacts = sys.argv[1]
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
    for spec in ("muon", "muon_md"):
        artifact = stepc.load(f"{artifacts}/{spec}.stepc")
        if not artifact.has_code("hidden", "cuda"):
            print(f"\n{spec}: skipped, its hidden (Newton–Schulz) group has "
                  "no CUDA kernel yet")


if __name__ == "__main__":
    main()
