"""Groups with global sums (step.global_sum) on a CUDA device against the
fp64 references of test/Numerics/group_wide.py.

    cuda_group_wide.py compile STEPC SPEC_DIR OUT_DIR [--host-emulation]
    cuda_group_wide.py run OUT_DIR

The groups of an optimizer that sum share one kernel, which runs the sum
phases itself; the groups stepped together (`step_groups`) are one launch
and share the totals:
AdamW with global clipping over three tensors (two of five steps clip), and
its `grad_sq` totals read back from the device; MuonMax's hidden group (the
nuclear-norm total, stale and fresh, Newton–Schulz in f32) with its Adam
group, which does not sum; MuonMax-Momo and MuonAdam-Momo, whose two groups
share every total, in one launch per step, also with the matrices in bf16
(against the CPU code); and the steps that cannot share a launch. `run`
needs the stepc Python package (PYTHONPATH), NumPy and a CUDA driver
(STEPC_CUDA_DRIVER may name the host emulator, docs/Design/GpuEmulation.md).
"""

import ctypes
import os
import pathlib
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "Numerics"))
from cuda_presets import Driver, from_storage, to_storage  # noqa: E402
import reference  # noqa: E402

STEPS = 5
F32_NS = ("mode(clamp) :", "mode(clamp) compute(f32) :")
FRESH = ('step.global_sum "nuclear" %n :',
         'step.global_sum "nuclear" %fresh :')
MUON_F32_NS = ("eps(1.0e-7) :", "eps(1.0e-7) compute(f32) :")
MAX_NORM = 2.0
# Artifact name: (example spec, edits, compile flags).
SPECS = {"adamw_clip": ("adamw_clip", [], []),
         "muonmax_stale": ("muonmax", [F32_NS], []),
         "muonmax_fresh": ("muonmax", [F32_NS, FRESH], []),
         "muonmax_momo": ("muonmax_momo", [F32_NS], []),
         "muonadam_momo": ("muonadam_momo", [F32_NS], []),
         "muon_clip": ("muon", [MUON_F32_NS],
                       [f"--clip-grad-norm={MAX_NORM}"])}
# test/Numerics/group_wide.py's: Momo's truncation decides every step.
LOSSES = [3.1, 3.0, 2.95, 2.97, 2.9]
MOMO_LR, MOMO_GRAD_STD = 0.05, 0.01


def compile_all(stepc, spec_dir, out, flags, specs=SPECS):
    """Compiles each artifact of `specs` (name: example spec, its edits,
    its own flags) for CUDA and the CPU into OUT/NAME.stepc."""
    out.mkdir(parents=True, exist_ok=True)
    for name, (example, edits, spec_flags) in specs.items():
        text = (spec_dir / f"{example}.mlir").read_text()
        for old, new in edits:
            assert old in text, f"{name}: edit {old!r} matches nothing"
            text = text.replace(old, new)
        spec = out / f"{name}.mlir"
        spec.write_text(text)
        subprocess.run([stepc, "compile", str(spec), "--target=cuda,cpu",
                        *flags, *spec_flags,
                        "-o", str(out / f"{name}.stepc")], check=True)


def tensors(rng, shapes, std):
    params = [(rng.standard_normal(s) * 0.02).astype(np.float32)
              for s in shapes]
    grads = [[(rng.standard_normal(s) * std).astype(np.float32)
              for s in shapes] for _ in range(STEPS)]
    return params, grads


class OnDevice:
    """A group on cuda:0 with its tensors uploaded."""

    def __init__(self, driver, artifact, name, params, dtype="f32"):
        self.driver, self.dtype = driver, dtype
        self.group = artifact.group(name, dtype, device="cuda:0")
        self.params = [driver.upload(to_storage(p, dtype)) for p in params]
        self.grads = [driver.upload(to_storage(np.zeros_like(p), dtype))
                      for p in params]
        self.like = [to_storage(p, dtype) for p in params]
        self.group.bind_addresses(self.params, self.grads,
                                  [p.shape for p in params])
        self.group.init_state()

    def set_grads(self, grads):
        for address, grad in zip(self.grads, grads):
            self.driver.copy_in(address, to_storage(grad, self.dtype))

    def read_params(self):
        return [from_storage(self.driver.download(a, p), self.dtype)
                for a, p in zip(self.params, self.like)]


class OnHost:
    """The same group on the CPU, from the same artifact."""

    def __init__(self, artifact, name, params, dtype="f32"):
        self.dtype = dtype
        self.group = artifact.group(name, dtype)
        # Copies: the step writes them in place.
        self.params = [to_storage(p, dtype).copy() for p in params]
        self.grads = [to_storage(np.zeros_like(p), dtype) for p in params]
        self.group.bind(self.params, self.grads)
        self.group.init_state()

    def set_grads(self, grads):
        for buffer, grad in zip(self.grads, grads):
            buffer[...] = to_storage(grad, self.dtype)

    def read_params(self):
        return [from_storage(p, self.dtype) for p in self.params]


def emulator_counter(driver, name):
    """stepc_cuda_emulator_NAME() when the driver is stepc's emulator (which
    exports its counters), else None."""
    counter = getattr(driver.lib, f"stepc_cuda_emulator_{name}", None)
    if counter is None:
        return None
    counter.restype = ctypes.c_uint64
    return counter()


def emulator_and_checks(counter, what):
    """(driver, Checks()) when the CUDA driver is stepc's emulator, which
    exports the counter `counter` of `what`; else None, after saying so."""
    driver = Driver()
    if emulator_counter(driver, counter) is None:
        print(f"the driver is not stepc's emulator, which counts {what}")
        return None
    return driver, Checks()


def emulated_launches(driver):
    """Launches so far when the driver is stepc's emulator, else None."""
    return emulator_counter(driver, "launches")


def rel(actual, expected):
    return np.linalg.norm(actual - expected) / max(np.linalg.norm(expected),
                                                   1e-30)


class Checks:
    """check(ok, what) prints "ok: what" or "FAIL: what"; summary() prints
    the failure count and returns the exit status."""

    def __init__(self):
        self.failures = []

    def __call__(self, ok, what):
        print(("ok: " if ok else "FAIL: ") + what)
        if not ok:
            self.failures.append(what)

    def summary(self):
        print(f"{len(self.failures)} failures")
        return 1 if self.failures else 0


def run_all(out):
    import stepc
    driver = Driver()
    check = Checks()

    # AdamW with clipping: the whole group's gradient norm, every step.
    rng = np.random.default_rng(1)
    params, grads = tensors(rng, [(40,), (7, 3), (16, 4)], 0.3)
    for t in (1, 3):
        grads[t] = [g * 8 for g in grads[t]]
    expected, totals = reference.clip_adamw(params, grads, STEPS)
    clip = OnDevice(driver, stepc.load(str(out / "adamw_clip.stepc")), "all",
                    params)
    worst_total = 0.0
    for t in range(STEPS):
        clip.set_grads(grads[t])
        clip.group.step()
        worst_total = max(worst_total, abs(clip.group.total("grad_sq") -
                                           totals[t]) / totals[t])
    check(worst_total < 1e-5,
          f"adamw_clip grad_sq totals: worst relative error {worst_total:.2g}")
    errors = [rel(got - p0, want - p0) for got, want, p0 in
              zip(clip.read_params(), expected, params)]
    check(max(errors) < 1e-4,
          f"adamw_clip update: worst relative error {max(errors):.2g}")
    check(clip.group.launch_count == STEPS,
          f"adamw_clip: {clip.group.launch_count} launches for {STEPS} steps")
    driver.free_all()

    # MuonMax: only the hidden group sums (the nuclear norms of its
    # matrices); the Adam group steps in a launch of its own.
    for variant in ("stale", "fresh"):
        rng = np.random.default_rng(2)
        mats, mat_grads = tensors(rng, [(32, 48), (64, 16), (24, 24)], 1.0)
        vecs, vec_grads = tensors(rng, [(40,), (7,), (16,)], 1.0)
        artifact = stepc.load(str(out / f"muonmax_{variant}.stepc"))
        hidden = OnDevice(driver, artifact, "hidden", mats)
        adam = OnDevice(driver, artifact, "adam", vecs)
        ref = reference.MuonMaxMomo(mats, vecs, momo=False,
                                    stale=variant == "stale")
        for t in range(STEPS):
            hidden.set_grads(mat_grads[t])
            adam.set_grads(vec_grads[t])
            stepc.runtime.step_groups([hidden.group, adam.group])
            ref.step(mat_grads[t], vec_grads[t])
        got = hidden.read_params() + adam.read_params()
        errors = [rel(g - p0, w - p0) for g, w, p0 in
                  zip(got, ref.W + ref.P, mats + vecs)]
        check(max(errors) < 1e-4, f"muonmax ({variant} nuclear norms) update: "
              f"worst relative error {max(errors):.2g}")
        driver.free_all()

    # Momo: both groups sum every key, in one launch per step.
    for name in ("muonmax_momo", "muonadam_momo"):
        rng = np.random.default_rng(2)
        mats, mat_grads = tensors(rng, [(32, 48), (64, 16), (24, 24)],
                                  MOMO_GRAD_STD)
        vecs, vec_grads = tensors(rng, [(40,), (7,), (16,)], MOMO_GRAD_STD)
        artifact = stepc.load(str(out / f"{name}.stepc"))
        hidden = OnDevice(driver, artifact, "hidden", mats)
        adam = OnDevice(driver, artifact, "adam", vecs)
        for group in (hidden.group, adam.group):
            group.set_hyper("lr", MOMO_LR)
        ref = reference.MuonMaxMomo(mats, vecs, lr=MOMO_LR,
                                    muonadam=name == "muonadam_momo")
        before = emulated_launches(driver)
        for t in range(STEPS):
            hidden.set_grads(mat_grads[t])
            adam.set_grads(vec_grads[t])
            for group in (hidden.group, adam.group):
                group.set_input("loss", LOSSES[t])
            stepc.runtime.step_groups([hidden.group, adam.group])
            ref.step(mat_grads[t], vec_grads[t], LOSSES[t])
        launches = emulated_launches(driver)
        got = hidden.read_params() + adam.read_params()
        errors = [rel(g - p0, w - p0) for g, w, p0 in
                  zip(got, ref.W + ref.P, mats + vecs)]
        check(max(errors) < 1e-4, f"{name} update: worst relative error "
              f"{max(errors):.2g}")
        shared = [(key, hidden.group.total(key), adam.group.total(key))
                  for key in ("loss_wg", "loss_wd", "nuclear", "adam_dual")]
        check(all(a == b != 0 for _, a, b in shared),
              f"{name}: both groups read the same totals {shared}")
        counts = (hidden.group.launch_count, adam.group.launch_count)
        if launches is not None:
            counts += (launches - before,)
        check(all(c == STEPS for c in counts),
              f"{name}: {STEPS} steps, launches per group and in all: "
              f"{counts}")
        driver.free_all()

    # Whole-model clipping (stepc compile --clip-grad-norm): one norm over
    # Muon's matrices and AdamW's vectors, in one launch per step, against
    # the fp64 presets' steps on the clipped gradients.
    rng = np.random.default_rng(7)
    mats, mat_grads = tensors(rng, [(32, 48), (24, 24)], 0.3)
    vecs, vec_grads = tensors(rng, [(40,), (16,)], 0.3)
    artifact = stepc.load(str(out / "muon_clip.stepc"))
    presets = {(p.spec, p.group): p for p in reference.PRESETS}
    refs = [presets["muon", "hidden"], presets["muon", "adamw"]]
    groups = [OnDevice(driver, artifact, "hidden", mats),
              OnDevice(driver, artifact, "adamw", vecs)]
    for g, preset in zip(groups, refs):
        for name, value in preset.hyper.items():
            g.group.set_hyper(name, value)
    want = [np.asarray(p, np.float64) for p in mats + vecs]
    owner = [refs[0]] * len(mats) + [refs[1]] * len(vecs)
    states = [preset.init(p) for preset, p in zip(owner, want)]
    worst_total = 0.0
    before = emulated_launches(driver)
    for t in range(STEPS):
        groups[0].set_grads(mat_grads[t])
        groups[1].set_grads(vec_grads[t])
        stepc.runtime.step_groups([g.group for g in groups])
        grads = [np.asarray(x, np.float64) for x in mat_grads[t] + vec_grads[t]]
        total = sum((x * x).sum() for x in grads)
        worst_total = max(worst_total,
                          abs(groups[1].group.total("grad_sq") - total) / total)
        coef = min(1.0, MAX_NORM / (np.sqrt(total) + 1e-6))
        want = [preset.step(p, coef * g, s, preset.hyper, t + 1)
                for preset, p, g, s in zip(owner, want, grads, states)]
    launches = emulated_launches(driver)
    got = groups[0].read_params() + groups[1].read_params()
    errors = [rel(g - p0, w - p0) for g, w, p0 in zip(got, want, mats + vecs)]
    check(worst_total < 1e-5 and max(errors) < 1e-4,
          f"muon with --clip-grad-norm: worst relative error {max(errors):.2g}"
          f", of the norm {worst_total:.2g}")
    if launches is not None:
        check(launches - before == STEPS,
              f"muon with --clip-grad-norm: {launches - before} launches for "
              f"{STEPS} steps")
    driver.free_all()

    # The matrices in bf16, the others in f32: two slots of one kernel,
    # against the same step on the CPU.
    rng = np.random.default_rng(4)
    mats, mat_grads = tensors(rng, [(32, 48), (24, 24)], MOMO_GRAD_STD)
    vecs, vec_grads = tensors(rng, [(40,), (16,)], MOMO_GRAD_STD)
    artifact = stepc.load(str(out / "muonmax_momo.stepc"))
    device = [OnDevice(driver, artifact, "hidden", mats, "bf16"),
              OnDevice(driver, artifact, "adam", vecs)]
    host = [OnHost(artifact, "hidden", mats, "bf16"),
            OnHost(artifact, "adam", vecs)]
    for groups in (device, host):
        for t in range(STEPS):
            groups[0].set_grads(mat_grads[t])
            groups[1].set_grads(vec_grads[t])
            for g in groups:
                g.group.set_hyper("lr", MOMO_LR)
                g.group.set_input("loss", LOSSES[t])
            stepc.runtime.step_groups([g.group for g in groups])
    p0 = [from_storage(to_storage(m, "bf16"), "bf16") for m in mats] + vecs
    got = device[0].read_params() + device[1].read_params()
    want = host[0].read_params() + host[1].read_params()
    errors = [rel(g - p, w - p) for g, w, p in zip(got, want, p0)]
    check(max(errors) < 2e-2, "muonmax_momo, bf16 matrices and f32 others: "
          f"worst relative error to the CPU {max(errors):.2g}")
    driver.free_all()

    # Steps that cannot share a launch: nothing runs, and the error says
    # why.
    mats, _ = tensors(np.random.default_rng(5), [(8, 8)], 1.0)
    vecs, _ = tensors(np.random.default_rng(6), [(8,)], 1.0)
    momo = stepc.load(str(out / "muonmax_momo.stepc"))
    other = stepc.load(str(out / "muonmax_momo.stepc"))
    cases = {
        "a group summing on the host":
            ([OnDevice(driver, momo, "hidden", mats),
              OnHost(momo, "adam", vecs)], "on the host"),
        "the same group and dtype twice":
            ([OnDevice(driver, momo, "hidden", mats),
              OnDevice(driver, momo, "hidden", mats)], "both take slot 0"),
        "two artifacts":
            ([OnDevice(driver, momo, "hidden", mats),
              OnDevice(driver, other, "adam", vecs)],
             "different artifacts or devices"),
    }
    def refused(label, groups, reason):
        """step_groups on `groups` fails with `reason` and launches
        nothing; `label` names the case."""
        for g in groups:
            g.group.set_input("loss", 1.0)
        try:
            stepc.runtime.step_groups([g.group for g in groups])
            check(False, label)
        except Exception as error:  # noqa: BLE001
            check(reason in str(error) and
                  all(g.group.launch_count == 0 for g in groups
                      if isinstance(g, OnDevice)),
                  f"{label} refused: {error}")

    for what, (groups, reason) in cases.items():
        refused(f"step_groups with {what}", groups, reason)
    # Two streams: the handle is only compared (nothing launches), then
    # put back to the default stream.
    pair = [OnDevice(driver, momo, "hidden", mats),
            OnDevice(driver, momo, "adam", vecs)]
    pair[1].group.set_stream(0x5EED)
    refused("step_groups on two streams", pair, "queued on different streams")
    pair[1].group.set_stream(0)
    # Groups bound under different STEPC_CUDA_SUBGRIDS (read when a group
    # is bound): each launch splits its grid anew, on the count of the
    # group that leads it, and every member sizes its scratch for that.
    saved = os.environ.get("STEPC_CUDA_SUBGRIDS")
    pair = []
    for forced, name in (("1", "hidden"), ("2", "adam")):
        os.environ["STEPC_CUDA_SUBGRIDS"] = forced
        pair.append(OnDevice(driver, momo, name, mats if name == "hidden"
                             else vecs))
    if saved is None:
        del os.environ["STEPC_CUDA_SUBGRIDS"]
    else:
        os.environ["STEPC_CUDA_SUBGRIDS"] = saved
    for order in (pair, pair[::-1]):
        for g in pair:
            g.group.set_input("loss", 1.0)
        stepc.runtime.step_groups([g.group for g in order])
        subgrids = emulator_counter(driver, "last_subgrids")
        leader = 1 if order is pair else 2
        check(subgrids in (None, leader) and
              [g.group.launch_count for g in pair] ==
              ([1, 1] if order is pair else [2, 2]),
              f"groups bound for 1 and 2 sub-grids step together, led by "
              f"the one bound for {leader}")
    driver.free_all()
    return check.summary()


def main(doc=__doc__, compile_specs=SPECS, run=run_all):
    """`compile STEPC SPEC_DIR OUT_DIR [--host-emulation]` or `run OUT_DIR`."""
    if sys.argv[1:2] == ["compile"] and len(sys.argv) in (5, 6):
        flags = ["--cuda-host-emulation"] if sys.argv[5:] == [
            "--host-emulation"] else []
        compile_all(sys.argv[2], pathlib.Path(sys.argv[3]),
                    pathlib.Path(sys.argv[4]), flags, compile_specs)
        return 0
    if sys.argv[1:2] == ["run"] and len(sys.argv) == 3:
        return run(pathlib.Path(sys.argv[2]))
    print(doc)
    return 2


if __name__ == "__main__":
    sys.exit(main())
