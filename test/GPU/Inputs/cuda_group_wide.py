"""Groups with global sums (step.global_sum) on a CUDA device against the
fp64 references of test/Numerics/group_wide.py.

    cuda_group_wide.py compile STEPC SPEC_DIR OUT_DIR [--host-emulation]
    cuda_group_wide.py run OUT_DIR

The kernel of such a group runs its sum phases itself, one launch per step:
AdamW with global clipping over three tensors (two of five steps clip), and
its `grad_sq` totals read back from the device; MuonMax's hidden group (the
nuclear-norm total, stale and fresh, Newton–Schulz in f32) and its Adam
group. A group with sums steps alone on a device: `step_groups` with
another group says so. `run` needs the stepc Python package (PYTHONPATH),
NumPy and a CUDA driver (STEPC_CUDA_DRIVER may name the host emulator,
docs/Design/GpuEmulation.md).
"""

import pathlib
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "Numerics"))
from cuda_presets import Driver  # noqa: E402
import reference  # noqa: E402

STEPS = 5
F32_NS = ("mode(clamp) :", "mode(clamp) compute(f32) :")
FRESH = ('step.global_sum "nuclear" %n :',
         'step.global_sum "nuclear" %fresh :')
# Artifact name: (example spec, edits).
SPECS = {"adamw_clip": ("adamw_clip", []),
         "muonmax_stale": ("muonmax", [F32_NS]),
         "muonmax_fresh": ("muonmax", [F32_NS, FRESH])}


def compile_all(stepc, spec_dir, out, flags):
    out.mkdir(parents=True, exist_ok=True)
    for name, (example, edits) in SPECS.items():
        text = (spec_dir / f"{example}.mlir").read_text()
        for old, new in edits:
            assert old in text, f"{name}: edit {old!r} matches nothing"
            text = text.replace(old, new)
        spec = out / f"{name}.mlir"
        spec.write_text(text)
        subprocess.run([stepc, "compile", str(spec), "--target=cuda", *flags,
                        "-o", str(out / f"{name}.stepc")], check=True)


def tensors(rng, shapes, std):
    params = [(rng.standard_normal(s) * 0.02).astype(np.float32)
              for s in shapes]
    grads = [[(rng.standard_normal(s) * std).astype(np.float32)
              for s in shapes] for _ in range(STEPS)]
    return params, grads


class OnDevice:
    """A group on cuda:0 with its tensors uploaded."""

    def __init__(self, driver, artifact, name, params):
        self.driver = driver
        self.group = artifact.group(name, "f32", device="cuda:0")
        self.params = [driver.upload(p) for p in params]
        self.grads = [driver.upload(np.zeros_like(p)) for p in params]
        self.like = params
        self.group.bind_addresses(self.params, self.grads,
                                  [p.shape for p in params])
        self.group.init_state()

    def set_grads(self, grads):
        for address, grad in zip(self.grads, grads):
            self.driver.copy_in(address, grad)

    def read_params(self):
        return [self.driver.download(a, p).astype(np.float64)
                for a, p in zip(self.params, self.like)]


def rel(actual, expected):
    return np.linalg.norm(actual - expected) / max(np.linalg.norm(expected),
                                                   1e-30)


def run_all(out):
    import stepc
    driver = Driver()
    failures = []

    def check(ok, what):
        print(("ok: " if ok else "FAIL: ") + what)
        if not ok:
            failures.append(what)

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
    # matrices), so each group stepping alone is the optimizer's step.
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
            hidden.group.step()
            adam.group.step()
            ref.step(mat_grads[t], vec_grads[t])
        got = hidden.read_params() + adam.read_params()
        errors = [rel(g - p0, w - p0) for g, w, p0 in
                  zip(got, ref.W + ref.P, mats + vecs)]
        check(max(errors) < 1e-4, f"muonmax ({variant} nuclear norms) update: "
              f"worst relative error {max(errors):.2g}")
        if variant == "stale":
            try:
                stepc.runtime.step_groups([hidden.group, adam.group])
                check(False, "step_groups with a device group with sums")
            except Exception as error:  # noqa: BLE001
                check("steps alone for now" in str(error),
                      f"step_groups refused: {error}")
        driver.free_all()
    print(f"{len(failures)} failures")
    return 1 if failures else 0


def main():
    if sys.argv[1:2] == ["compile"] and len(sys.argv) in (5, 6):
        flags = ["--cuda-host-emulation"] if sys.argv[5:] == [
            "--host-emulation"] else []
        compile_all(sys.argv[2], pathlib.Path(sys.argv[3]),
                    pathlib.Path(sys.argv[4]), flags)
        return 0
    if sys.argv[1:2] == ["run"] and len(sys.argv) == 3:
        return run_all(pathlib.Path(sys.argv[2]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
