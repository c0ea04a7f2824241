"""The presets' CUDA kernels on a GPU against the fp64 reference.

    cuda_presets.py compile STEPC SPEC_DIR OUT_DIR [--host-emulation] [--part K/N]
    cuda_presets.py run OUT_DIR [--device cpu] [--part K/N]   # where the GPU is

`compile` writes every example spec as an artifact with CPU and CUDA code
(groups without a kernel yet get none, with the compiler's warning), with
Newton–Schulz in f32 as test/Numerics/presets.py checks it, and the
Newton–Schulz specs also as written (bf16 matmuls, which the kernels run
on tensor cores). `run`
needs only the stepc runtime and its Python package (PYTHONPATH), NumPy
and the CUDA driver, so a GPU machine without LLVM can run it on artifacts
carried there. Each group with a kernel runs 5 steps on the shapes and
dtypes of test/Numerics/presets.py, with the same reference and
tolerances; each run must take exactly one kernel launch per step.
`--device cpu` runs the same groups through the same harness on the CPU
code, in host memory: the check of the harness itself that CI can run.
With `compile --host-emulation` the artifacts also carry the kernels' host
form, and `run` with STEPC_CUDA_DRIVER set to libstepc-cuda-emulator.so
checks the kernels themselves without a GPU (docs/Design/GpuEmulation.md).
`--part K/N` (both commands) takes part K of N of the specs (spec_parts),
so that N processes share the emulated run, which takes one core.
"""

import ctypes
import os
import pathlib
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SPECS = HERE.parents[2] / "examples" / "specs"
sys.path.insert(0, str(HERE.parents[1] / "Numerics"))
import presets  # noqa: E402
import reference  # noqa: E402


def spec_parts(specs, parts):
    """The spec names split into `parts` lists of about equal emulated
    time: greedily, costliest first, onto the least-loaded part. A spec
    with Newton–Schulz runs it in f32 and in each bf16 variant that
    applies to it; on the emulator those dominate."""
    ns = {preset.spec for preset in reference.PRESETS if preset.ns}

    def cost(spec):
        if spec not in ns:
            return 1
        return 2 + sum(1 for _, _, _, only in BF16_NS_VARIANTS
                       if only is None or spec in only)
    loads, split = [0] * parts, [[] for _ in range(parts)]
    for spec in sorted(specs, key=lambda name: (-cost(name), name)):
        least = loads.index(min(loads))
        loads[least] += cost(spec)
        split[least].append(spec)
    return split


def parse_part(argument):
    """(K, N) from `--part K/N`, or None when it is not that."""
    k, _, n = argument.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        return None
    return int(k), int(n)


def part_of(part, specs):
    """The specs of part (K, N) (all for None)."""
    if part is None:
        return set(specs)
    k, n = part
    return set(spec_parts(specs, n)[k - 1])


def compile_all(stepc, spec_dir, out, extra_flags, part=None):
    out.mkdir(parents=True, exist_ok=True)
    chosen = part_of(part, [spec.stem for spec in spec_dir.glob("*.mlir")])
    for spec in sorted(spec_dir.glob("*.mlir")):
        if spec.stem not in chosen:
            continue
        # Newton–Schulz in f32, as test/Numerics/presets.py checks it at
        # the f32 tolerance.
        if presets.F32_NS[0][0] in spec.read_text():
            spec = presets.edited_spec(spec, out / "f32-ns", presets.F32_NS)
        proc = subprocess.run([stepc, "compile", str(spec), "--target=cpu,cuda",
                               *extra_flags,
                               "-o", str(out / f"{spec.stem}.stepc")],
                              capture_output=True, text=True, timeout=600)
        # A spec none of whose groups has a kernel yet (global sums) has
        # no CUDA artifact; its presets are tested on the CPU only.
        if "no group of the spec has a CUDA kernel yet" in proc.stderr:
            continue
        if proc.returncode != 0:
            raise RuntimeError(f"stepc compile {spec}:\n{proc.stderr}")
        # The spec as written too: its matmuls in bf16, on tensor cores,
        # in each variant of them.
        if spec.parent.name == "f32-ns":
            for _, flags, subdir, specs in BF16_NS_VARIANTS:
                if specs is not None and spec.stem not in specs:
                    continue
                bf16_ns = out / subdir
                bf16_ns.mkdir(exist_ok=True)
                proc = subprocess.run(
                    [stepc, "compile", str(spec_dir / spec.name),
                     "--target=cpu,cuda", *flags, *extra_flags,
                     "-o", str(bf16_ns / f"{spec.stem}.stepc")],
                    capture_output=True, text=True, timeout=600)
                if proc.returncode != 0:
                    raise RuntimeError(
                        f"stepc compile {spec.name}:\n{proc.stderr}")


class Driver:
    """Just enough of the CUDA driver API for device buffers."""

    def __init__(self):
        # The runtime's driver (libstepc-cuda-emulator.so, say), so that
        # both see the same device memory.
        self.lib = ctypes.CDLL(os.environ.get("STEPC_CUDA_DRIVER") or
                               "libcuda.so.1")
        self.check(self.lib.cuInit(0), "cuInit")
        device, context = ctypes.c_int(), ctypes.c_void_p()
        self.check(self.lib.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
        self.check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(context),
                                                     device), "retain")
        self.check(self.lib.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        self.buffers = []
        self.emulated = hasattr(self.lib, "stepc_cuda_emulator")
        major, minor = ctypes.c_int(), ctypes.c_int()
        for value, attribute in ((major, 75), (minor, 76)):
            self.check(self.lib.cuDeviceGetAttribute(ctypes.byref(value),
                                                     attribute, device),
                       "cuDeviceGetAttribute")
        self.arch = f"sm_{major.value}{minor.value}"

    @staticmethod
    def check(result, what):
        if result != 0:
            raise RuntimeError(f"{what} failed: CUDA error {result}")

    def upload(self, array):
        array = np.ascontiguousarray(array)
        address = ctypes.c_uint64()
        self.check(self.lib.cuMemAlloc_v2(ctypes.byref(address),
                                          ctypes.c_size_t(array.nbytes)),
                   "cuMemAlloc")
        self.buffers.append(address.value)
        self.copy_in(address.value, array)
        return address.value

    def copy_in(self, address, array):
        self.check(self.lib.cuMemcpyHtoD_v2(
            ctypes.c_uint64(address), array.ctypes.data_as(ctypes.c_void_p),
            ctypes.c_size_t(array.nbytes)), "cuMemcpyHtoD")

    def download(self, address, like):
        out = np.empty_like(like)
        self.check(self.lib.cuCtxSynchronize(), "cuCtxSynchronize")
        self.check(self.lib.cuMemcpyDtoH_v2(
            out.ctypes.data_as(ctypes.c_void_p), ctypes.c_uint64(address),
            ctypes.c_size_t(out.nbytes)), "cuMemcpyDtoH")
        return out

    def free_all(self):
        for address in self.buffers:
            self.lib.cuMemFree_v2(ctypes.c_uint64(address))
        self.buffers = []


class HostMemory:
    """Driver's interface over NumPy arrays, for --device cpu."""

    def __init__(self):
        self.buffers = {}

    def upload(self, array):
        array = np.array(array, copy=True)
        self.buffers[array.ctypes.data] = array
        return array.ctypes.data

    def copy_in(self, address, array):
        self.buffers[address][...] = array

    def download(self, address, like):
        return self.buffers[address].copy()

    def free_all(self):
        self.buffers = {}


def to_storage(values, dtype):
    """float32 values as the bits a param of `dtype` stores."""
    values = np.asarray(values, np.float32)
    if dtype == "f32":
        return values
    if dtype == "f16":
        return values.astype(np.float16).view(np.uint16)
    bits = values.view(np.uint32).astype(np.uint64)
    return (((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)).astype(np.uint16)


def from_storage(stored, dtype):
    if dtype == "f32":
        return stored.astype(np.float64)
    if dtype == "f16":
        return stored.view(np.float16).astype(np.float64)
    return (stored.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def inputs(preset, shape):
    """The param and gradients test/Numerics/presets.py steps `preset` with."""
    seed = sum(map(ord, preset.spec + preset.group)) * 1000 + shape[0] * 7 + shape[1]
    rng = np.random.default_rng(seed)
    param = (0.02 * rng.standard_normal(shape)).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32)
             for _ in range(presets.STEPS)]
    return param, grads


def step_group(driver, device, artifact, preset, shape, dtype):
    """The param and states after the steps, and the launches they took."""
    param, grads = inputs(preset, shape)
    group = artifact.group(preset.group, dtype, device=device)
    for name, value in preset.hyper.items():
        group.set_hyper(name, value)
    p_dev = driver.upload(to_storage(param, dtype))
    g_dev = driver.upload(to_storage(grads[0], dtype))
    group.bind_addresses([p_dev], [g_dev], [shape])
    group.init_state()
    for g in grads:
        driver.copy_in(g_dev, to_storage(g, dtype))
        group.step()
    got_p = from_storage(driver.download(p_dev, to_storage(param, dtype)), dtype)
    got_state = {name: group.read_state(0, name) for name in group.state_names}
    launches = group.launch_count
    driver.free_all()
    return got_p, got_state, launches


def reference_error(preset, shape, dtype, got_p, got_state):
    """The worst relative error of a run against the fp64 reference, and
    what it was in."""
    param, grads = inputs(preset, shape)
    ref_p, ref_state = presets.reference_run(
        preset, param.astype(np.float64), [g.astype(np.float64) for g in grads],
        dtype)
    p0 = presets.ROUNDING[dtype](param.astype(np.float64))
    errors = {"update": presets.relative_error(got_p - p0, ref_p - p0)}
    for key, value in ref_state.items():
        if key in preset.uncompared:
            continue
        errors[key] = presets.relative_error(
            got_state[key].reshape(np.shape(value)), value)
    worst = max(errors, key=errors.get)
    return errors[worst], worst


def run_one(driver, device, artifact, preset, shape, dtype):
    got_p, got_state, launches = step_group(driver, device, artifact, preset,
                                            shape, dtype)
    return (*reference_error(preset, shape, dtype, got_p, got_state), launches)


# The kernel's tensor-core matmuls against the CPU code's loops, both with
# bf16 inputs and f32 sums: only the order of the sums differs, and bf16
# rounding of the iterates carries that through Newton–Schulz's steps.
CPU_DIFFERENCE = 2e-2
# A Gram of 3 × 3 block tiles (130 = 2 · 64 + 2): a symmetric product
# computes only the tiles on and above the diagonal, and mirrors the others;
# the shapes of test/Numerics/presets.py all have Grams of one tile.
# (64, 64), (64, 256) and (256, 64) are whole 64 × 64 tiles with whole
# k-steps in every product, which take the k loop without checks
# (GpuKernels.md, "Whole tiles"); in (128, 200) A² and P·X have whole k-steps
# and P·X's last column of tiles is not whole, so both loops run in one
# product.
BF16_NS_SHAPES = presets.SHAPES + [(130, 200), (128, 200)]
# The variants of the tensor-core matmuls: a label, the stepc compile flags,
# where compile_all puts their artifacts, and the specs checked with them
# (None: all). The first is the default. With 128 × 128 tiles the
# 130 × 200 matrix's Gram is 2 × 2 tiles; with whole tiles off, every tile
# takes the checked k loop; with 8 stages the 80 KiB of stages are
# dynamic shared memory, which the runtime has to ask the launch for; with
# the update unfused, a·X + P·X is a phase of its own instead of P·X's
# epilogue writing the iterate's other bf16 buffer; with wgmma
# (docs/Design/Wgmma.md) each warpgroup's wgmma.mma_async reads the stages
# as core matrices (on a GPU, only an sm_90 runs it). None
# changes the order of an f32 addition on the emulator, so each must give
# the first's bits. Muon alone with those keeps the emulated run short;
# wgmma takes NorMuon and MuonMD too, for their epilogues.
BF16_NS_VARIANTS = [
    ("64 x 64 tiles", [], "bf16-ns", None),
    ("128 x 128 tiles", ["--cuda-matmul-tile=128"], "bf16-ns-128", {"muon"}),
    ("whole tiles off", ["--cuda-matmul-whole-tiles=false"], "bf16-ns-checked",
     {"muon"}),
    ("8 stages", ["--cuda-matmul-stages=8"], "bf16-ns-8-stages", {"muon"}),
    ("update unfused", ["--cuda-fuse-iterate-updates=false"],
     "bf16-ns-unfused", {"muon"}),
    ("wgmma", ["--cuda-matmul-wgmma"], "bf16-ns-wgmma",
     {"muon", "normuon", "muon_md"}),
]
# The variants whose own code runs on one GPU arch only: elsewhere their
# artifact runs the default's code (the wgmma form sits in the sm_90a
# cubin beside an mma.sync one), so they are skipped there. The emulator
# runs them all.
VARIANT_ARCHS = {"wgmma": "sm_90"}


def same_bits(first, second):
    """Whether two step_group results (param, state) hold the same bits."""
    def flat(result):
        p, state = result
        values = state.values() if isinstance(state, dict) else state
        return [np.asarray(p).tobytes(),
                *(np.asarray(v).tobytes() for v in values)]
    return flat(first) == flat(second)


def check_bf16_ns(driver, device, out, preset, label, launches_per_run):
    """The spec's own Newton–Schulz (bf16 matmuls, on tensor cores) against
    the fp64 reference at the bf16 bound of test/Numerics/presets.py, and
    against the same artifact's CPU code, in each variant of the matmuls.
    Each variant but the first also says in how many runs it gives the
    first's bits: none changes an f32 addition's order, so the emulator
    gives the same bits. Returns (failures, runs)."""
    failures = runs = 0
    first = None
    for variant, _, subdir, specs in BF16_NS_VARIANTS:
        if specs is not None and preset.spec not in specs:
            continue
        arch = VARIANT_ARCHS.get(variant)
        if arch and not getattr(driver, "emulated", True) and \
                driver.arch != arch:
            print(f"{label} (bf16 NS, {variant}): skipped, {arch} only "
                  f"(this GPU is {driver.arch})")
            continue
        bad, results = check_bf16_ns_variant(driver, device, out / subdir,
                                             preset, label, launches_per_run,
                                             variant, first)
        failures += bad
        runs += len(results)
        first = first or results
    return failures, runs


def check_bf16_ns_variant(driver, device, out, preset, label,
                          launches_per_run, variant, first):
    """check_bf16_ns with the matmuls' `variant`. Returns (failures, the
    results of its runs)."""
    import stepc
    artifact = stepc.load(str(out / f"{preset.spec}.stepc"))
    tolerance = presets.BF16_TOLERANCE.get(preset.spec,
                                           presets.TOLERANCE["bf16"])
    failures = 0
    worst = difference = 0.0
    shapes = [shape for shape in BF16_NS_SHAPES
              if not preset.wide_only or shape[0] <= shape[1]]
    results = []
    for shape in shapes:
        got_p, got_state, launches = step_group(driver, device, artifact,
                                                preset, shape, "f32")
        results.append((got_p, got_state))
        error, what = reference_error(preset, shape, "f32", got_p, got_state)
        cpu_p, _, _ = step_group(HostMemory(), "cpu", artifact, preset, shape,
                                 "f32")
        p0 = inputs(preset, shape)[0].astype(np.float64)
        apart = presets.relative_error(got_p - p0, cpu_p - p0)
        worst = error if error != error else max(worst, error)
        difference = apart if apart != apart else max(difference, apart)
        if (not error <= tolerance or not apart <= CPU_DIFFERENCE
                or launches != launches_per_run):
            failures += 1
            print(f"FAIL {label} (bf16 NS, {variant}) {shape}: "
                  f"relative error {error:.3g} in {what} (tolerance "
                  f"{tolerance:g}), {apart:.3g} from the CPU code (tolerance "
                  f"{CPU_DIFFERENCE:g}), {launches} launches for "
                  f"{presets.STEPS} steps")
    same = ""
    if first is not None:
        count = sum(map(same_bits, results, first))
        same = (f", the bits of {BF16_NS_VARIANTS[0][0]} in {count} of "
                f"{len(results)} runs")
    print(f"{label} (bf16 NS, {variant}): worst relative error "
          f"{worst:.3g}, {difference:.3g} from the CPU code{same}, "
          f"{launches_per_run // presets.STEPS} launches per step")
    return failures, results


def run_all(out, device, part=None):
    import stepc
    driver = Driver() if device != "cpu" else HostMemory()
    launches_per_run = presets.STEPS if device != "cpu" else 0
    failures = runs = 0
    skipped = []
    chosen = part_of(part, [spec.stem for spec in SPECS.glob("*.mlir")])
    for preset in reference.PRESETS:
        if preset.spec not in chosen:
            continue
        label = f"{preset.spec}.{preset.group}"
        path = out / f"{preset.spec}.stepc"
        if preset.edits:
            skipped.append(f"{label} [{preset.variant}]: skipped, a spec "
                           "variant (test/Numerics/presets.py runs it)")
            continue
        artifact = stepc.load(str(path))
        if not artifact.has_code(preset.group, "cuda"):
            skipped.append(f"{label}: skipped, no CUDA kernel yet")
            continue
        dtypes = ["f32", "bf16"] + (
            ["f16"] if "f16" in presets.group_dtypes(SPECS, preset) else [])
        worst = 0.0
        for dtype in dtypes:
            shapes = presets.SHAPES if dtype == "f32" else [(64, 64), (127, 33)]
            # Tall weights make some updates depend on rounding (ARO).
            shapes = [shape for shape in shapes
                      if not preset.wide_only or shape[0] <= shape[1]]
            for shape in shapes:
                error, what, launches = run_one(driver, device, artifact,
                                                preset, shape, dtype)
                runs += 1
                tolerance = (presets.TOLERANCE["f32"] if dtype == "f32" else
                             presets.TOLERANCE["16-bit params"])
                # A NaN error is the worst of all.
                if error != error or (worst == worst and error > worst):
                    worst = error
                if not error <= tolerance or launches != launches_per_run:
                    failures += 1
                    print(f"FAIL {label} {shape} {dtype}: relative error "
                          f"{error:.3g} in {what} (tolerance {tolerance:g}), "
                          f"{launches} launches for {presets.STEPS} steps")
        print(f"{label}: worst relative error {worst:.3g}, "
              f"{launches_per_run // presets.STEPS} launches per step")
        if preset.ns and device != "cpu":
            bad, count = check_bf16_ns(driver, device, out, preset, label,
                                       launches_per_run)
            failures += bad
            runs += count
    for line in skipped:
        print(line)
    print(f"{runs} runs on {device}, {failures} failures")
    return 1 if failures or runs == 0 else 0


def main():
    args = sys.argv[1:]
    part = None
    if args[-2:-1] == ["--part"]:
        part = parse_part(args[-1])
        if part is None:
            print(f"--part {args[-1]}: expected K/N with 1 <= K <= N",
                  file=sys.stderr)
            return 2
        args = args[:-2]
    if args[:1] == ["compile"] and len(args) in (4, 5):
        if args[4:] not in ([], ["--host-emulation"]):
            print(__doc__)
            return 2
        flags = ["--cuda-host-emulation"] if args[4:] else []
        compile_all(args[1], pathlib.Path(args[2]), pathlib.Path(args[3]),
                    flags, part)
        return 0
    if args[:1] == ["run"] and len(args) == 2:
        return run_all(pathlib.Path(args[1]), "cuda:0", part)
    if args[:1] == ["run"] and args[2:] == ["--device", "cpu"]:
        return run_all(pathlib.Path(args[1]), "cpu", part)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
