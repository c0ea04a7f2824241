"""The step control block on a CUDA device (docs/Design/GpuKernels.md,
"Step control"): scalars read from device memory, the count kept and
advanced on the device, gradients unscaled and steps skipped on found-inf,
and steps that issue no host-to-device copy (so a CUDA graph can capture
them).

    cuda_step_control.py compile STEPC SPEC_DIR OUT_DIR [--host-emulation]
    cuda_step_control.py run OUT_DIR

Each device run is compared with the same artifact's CPU code given what
the device should have computed from: the host values the device reads,
the gradients already unscaled (in f32, then rounded to the param dtype),
and the skipped steps left out. The CPU code itself is checked against
fp64 references by test/Numerics. `run` needs the stepc Python package
(PYTHONPATH), NumPy and a CUDA driver (STEPC_CUDA_DRIVER may name the host
emulator, which also counts the host-to-device copies).
"""

import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cuda_group_wide  # noqa: E402
from cuda_presets import Driver, from_storage, to_storage  # noqa: E402
from cuda_group_wide import (Checks, OnDevice, OnHost,  # noqa: E402
                             emulated_launches, emulator_counter, rel)

STEPS = 5
MUON_F32_NS = ("eps(1.0e-7) :", "eps(1.0e-7) compute(f32) :")
MOMO_F32_NS = ("mode(clamp) :", "mode(clamp) compute(f32) :")
# Artifact name: (example spec, edits, compile flags).
SPECS = {"adamw": ("adamw", [], []),
         "muon": ("muon", [MUON_F32_NS], []),
         "muonmax_momo": ("muonmax_momo", [MOMO_F32_NS], [])}
LOSSES = [3.1, 3.0, 2.95, 2.97, 2.9, 2.85]


def host_copies(driver):
    """Host-to-device copies so far when the driver is stepc's emulator."""
    return emulator_counter(driver, "host_copies")


def unscaled(grad, scale, dtype):
    """What the CPU code is given for `grad` stored scaled by `scale` as
    `dtype`: the stored value divided in f32, rounded back to the dtype
    (the kernel keeps the f32 quotient; with a power-of-2 scale and bf16
    the two are the same values)."""
    stored = from_storage(to_storage(np.float32(grad) * np.float32(scale),
                                     dtype), dtype)
    return from_storage(to_storage(stored / np.float32(scale), dtype), dtype)


def scaled(grad, scale):
    return (np.float32(grad) * np.float32(scale)).astype(np.float32)


def run_all(out):
    import stepc
    driver = Driver()
    check = Checks()

    def f32_on_device(value):
        return driver.upload(np.array([value], np.float32))

    rng = np.random.default_rng(7)
    shapes = [(40,), (7, 3), (16, 4)]
    params = [(rng.standard_normal(s) * 0.02).astype(np.float32)
              for s in shapes]
    grads = [[(rng.standard_normal(s) * 0.3).astype(np.float32)
              for s in shapes] for _ in range(STEPS + 2)]

    # AdamW: lr from device memory on a schedule, the grad scale from
    # device memory, one step skipped for found-inf.
    for dtype, scale in (("f32", 1000.0), ("bf16", 65536.0)):
        artifact = stepc.load(str(out / "adamw.stepc"))
        dev = OnDevice(driver, artifact, "all", params, dtype)
        cpu = OnHost(artifact, "all", params, dtype)
        lr_at, scale_at = f32_on_device(0.0), f32_on_device(scale)
        inf_at = f32_on_device(0.0)
        dev.group.set_scalar_device("lr", lr_at)
        dev.group.set_grad_scaling(scale_at, inf_at)
        launches = dev.group.launch_count
        for t in range(STEPS + 2):
            lr = 1e-2 * (1.0 - 0.1 * t)
            driver.copy_in(lr_at, np.array([lr], np.float32))
            skip = t == 2
            driver.copy_in(inf_at, np.array([1.0 if skip else 0.0],
                                            np.float32))
            dev.set_grads([scaled(g, scale) for g in grads[t]])
            if skip:
                before = dev.read_params()
                m_before = dev.group.read_state(0, "m")
            dev.group.step()
            if skip:
                same = all(np.array_equal(a, b) for a, b in
                           zip(dev.read_params(), before))
                same_m = np.array_equal(dev.group.read_state(0, "m"),
                                        m_before)
                check(same and same_m and dev.group.count == 2,
                      f"adamw {dtype}: a step with found-inf set changes no "
                      f"param, state or count (count {dev.group.count:g})")
                continue
            cpu.group.set_hyper("lr", lr)
            cpu.set_grads([unscaled(g, scale, dtype) for g in grads[t]])
            cpu.group.step()
        errors = [rel(d - p0, c - p0) for d, c, p0 in
                  zip(dev.read_params(), cpu.read_params(), params)]
        check(max(errors) < 1e-6,
              f"adamw {dtype}: device lr schedule, grad scale {scale:g}, one "
              f"skipped step: worst relative error {max(errors):.2g} "
              f"against the CPU on unscaled gradients")
        check(dev.group.count == STEPS + 1 and cpu.group.count == STEPS + 1,
              f"adamw {dtype}: the device count is {dev.group.count:g} after "
              f"{STEPS + 2} steps, one skipped")
        check(dev.group.launch_count - launches == STEPS + 2,
              f"adamw {dtype}: one launch per step, the skipped one too")
        driver.free_all()

    # f16 gradients too small for f16 once unscaled (the reason for the
    # scale): the kernel divides in f32 and keeps the quotient, so the step
    # is AdamW's on the exact unscaled values (the scale is a power of 2),
    # against an fp64 AdamW here. Rounded back to f16, most of them would
    # be 0 and the update mostly weight decay.
    scale = 65536.0
    tiny = [[(rng.standard_normal(s) * 2e-8).astype(np.float32)
             for s in shapes] for _ in range(STEPS)]
    dev = OnDevice(driver, stepc.load(str(out / "adamw.stepc")), "all",
                   params, "f16")
    scale_at, inf_at = f32_on_device(scale), f32_on_device(0.0)
    dev.group.set_grad_scaling(scale_at, inf_at)
    dev.group.set_hyper("lr", 1e-2)
    start = dev.read_params()
    ref = [p.copy() for p in start]
    m = [np.zeros_like(p) for p in start]
    v = [np.zeros_like(p) for p in start]
    for t in range(STEPS):
        stored = [to_storage(scaled(g, scale), "f16") for g in tiny[t]]
        for address, bits in zip(dev.grads, stored):
            driver.copy_in(address, bits)
        dev.group.step()
        c1, c2 = 1 - 0.9 ** (t + 1), 1 - 0.999 ** (t + 1)
        for k, bits in enumerate(stored):
            g = from_storage(bits, "f16") / scale
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            p = ref[k] * (1 - 1e-2 * 1e-2)
            p -= 1e-2 * (m[k] / c1) / (np.sqrt(v[k] / c2) + 1e-8)
            ref[k] = from_storage(to_storage(p, "f16"), "f16")
    errors = [rel(d - p0, r - p0) for d, r, p0 in
              zip(dev.read_params(), ref, start)]
    check(max(errors) < 1e-2,
          f"adamw f16: gradients of 2e-8 stored scaled by {scale:g}, "
          f"unscaled in f32: worst relative error {max(errors):.2g} against "
          f"an fp64 AdamW")
    driver.free_all()

    # Steps without host-to-device copies: a CUDA graph could capture them.
    artifact = stepc.load(str(out / "adamw.stepc"))
    dev = OnDevice(driver, artifact, "all", params)
    lr_at = f32_on_device(1e-3)
    dev.group.set_scalar_device("lr", lr_at)
    dev.set_grads(grads[0])
    dev.group.step()  # uploads the host values once
    if host_copies(driver) is not None:
        copies = host_copies(driver)
        for t in range(1, 4):
            driver.copy_in(lr_at, np.array([1e-3 / t], np.float32))
            before = host_copies(driver)
            dev.group.step()
            copies = host_copies(driver) - before
            if copies:
                break
        check(copies == 0, f"adamw: a step like the one before issues "
              f"{copies} host-to-device copies (lr from device memory)")
        dev.group.set_hyper("wd", 0.05)
        before = host_copies(driver)
        dev.group.step()
        check(host_copies(driver) - before == 1,
              "adamw: a changed host hyper is one upload")
        dev.group.count = 100
        check(dev.group.count == 100, "adamw: the count is set on the device")
    driver.free_all()

    # Muon's phased kernel: a skipped step leaves the matrices and the
    # count alone. Newton-Schulz normalizes its input, so the hidden group
    # hardly sees the grad scale; MuonMax-Momo's check below is the one
    # that fails when a phased kernel does not unscale.
    mats = [(rng.standard_normal(s) * 0.02).astype(np.float32)
            for s in [(32, 48), (64, 16)]]
    mat_grads = [[rng.standard_normal(m.shape).astype(np.float32)
                  for m in mats] for _ in range(STEPS)]
    artifact = stepc.load(str(out / "muon.stepc"))
    dev = OnDevice(driver, artifact, "hidden", mats)
    cpu = OnHost(artifact, "hidden", mats)
    scale_at, inf_at = f32_on_device(512.0), f32_on_device(0.0)
    dev.group.set_grad_scaling(scale_at, inf_at)
    for t in range(STEPS):
        skip = t == 1
        driver.copy_in(inf_at, np.array([1.0 if skip else 0.0], np.float32))
        dev.set_grads([scaled(g, 512.0) for g in mat_grads[t]])
        before = dev.read_params()
        dev.group.step()
        if skip:
            check(all(np.array_equal(a, b) for a, b in
                      zip(dev.read_params(), before)) and
                  dev.group.count == 1,
                  "muon: a step with found-inf set changes nothing")
            continue
        cpu.set_grads([unscaled(g, 512.0, "f32") for g in mat_grads[t]])
        cpu.group.step()
    errors = [rel(d - p0, c - p0) for d, c, p0 in
              zip(dev.read_params(), cpu.read_params(), mats)]
    check(max(errors) < 1e-5, f"muon: grad scale 512, one skipped step: "
          f"worst relative error {max(errors):.2g} against the CPU")
    driver.free_all()

    # MuonMax-Momo: two groups in one launch, the loss read from device
    # memory (no set_input before each step), one grad scale and one
    # found-inf for both; a skipped step adds nothing to the totals.
    vecs = [(rng.standard_normal(s) * 0.02).astype(np.float32)
            for s in [(40,), (7,)]]
    vec_grads = [[(rng.standard_normal(v.shape) * 0.01).astype(np.float32)
                  for v in vecs] for _ in range(STEPS + 1)]
    hid_grads = [[(g * 0.01).astype(np.float32) for g in step]
                 for step in mat_grads + mat_grads[:1]]
    artifact = stepc.load(str(out / "muonmax_momo.stepc"))
    devs = [OnDevice(driver, artifact, "hidden", mats),
            OnDevice(driver, artifact, "adam", vecs)]
    cpus = [OnHost(artifact, "hidden", mats), OnHost(artifact, "adam", vecs)]
    loss_at, scale_at = f32_on_device(0.0), f32_on_device(256.0)
    inf_at = f32_on_device(0.0)
    for group in [d.group for d in devs] + [c.group for c in cpus]:
        group.set_hyper("lr", 0.05)
    for d in devs:
        d.group.set_scalar_device("loss", loss_at)
        d.group.set_grad_scaling(scale_at, inf_at)
    launches = emulated_launches(driver)
    for t in range(STEPS + 1):
        skip = t == 3
        driver.copy_in(loss_at, np.array([LOSSES[t]], np.float32))
        driver.copy_in(inf_at, np.array([1.0 if skip else 0.0], np.float32))
        for d, g in zip(devs, (hid_grads[t], vec_grads[t])):
            d.set_grads([scaled(x, 256.0) for x in g])
        stepc.runtime.step_groups([d.group for d in devs])
        if skip:
            continue
        for c, g in zip(cpus, (hid_grads[t], vec_grads[t])):
            c.set_grads([unscaled(x, 256.0, "f32") for x in g])
            c.group.set_input("loss", LOSSES[t])
        stepc.runtime.step_groups([c.group for c in cpus])
    got = devs[0].read_params() + devs[1].read_params()
    want = cpus[0].read_params() + cpus[1].read_params()
    errors = [rel(g - p0, w - p0) for g, w, p0 in zip(got, want, mats + vecs)]
    check(max(errors) < 1e-5,
          f"muonmax_momo: loss from device memory, grad scale 256, one "
          f"skipped joint step: worst relative error {max(errors):.2g}")
    check([d.group.count for d in devs] == [STEPS, STEPS],
          f"muonmax_momo: device counts {[d.group.count for d in devs]} "
          f"after {STEPS + 1} steps, one skipped")
    totals = [devs[0].group.total(k) / cpus[0].group.total(k) - 1
              for k in devs[0].group.sum_keys]
    if launches is not None:
        check(emulated_launches(driver) - launches == STEPS + 1,
              "muonmax_momo: one launch per joint step")
    check(totals and all(abs(x) < 1e-5 for x in totals),
          f"muonmax_momo: the last step's {len(totals)} totals match the "
          f"CPU's")
    driver.free_all()

    # Misuse is refused with the reason.
    cpu = OnHost(stepc.load(str(out / "adamw.stepc")), "all", params)
    for what, call in (
            ("a device scalar on a CPU group",
             lambda: cpu.group.set_scalar_device("lr", 64)),
            ("grad scaling on a CPU group",
             lambda: cpu.group.set_grad_scaling(64, None)),
            ("an unknown device scalar", lambda: OnDevice(
                driver, stepc.load(str(out / "adamw.stepc")), "all",
                params).group.set_scalar_device("beta", 64))):
        try:
            call()
            check(False, f"{what} refused")
        except stepc.StepcError as error:
            check(True, f"{what} refused: {error}")
    driver.free_all()

    return check.summary()


if __name__ == "__main__":
    sys.exit(cuda_group_wide.main(__doc__, SPECS, run_all))
