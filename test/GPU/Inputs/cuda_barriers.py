"""Grid barriers per step of the phased kernels, as the host CUDA emulator
counts them (thread 0's, in the last launch): one tensor per group, so the
figure is one tensor's step. (ARO is left out: how many barriers its
QR loop passes depends on the data.) The barriers are the kernels' grid-wide
synchronization cost (docs/Design/GpuKernels.md, "Barriers"); the test
pins them so that a change in their placement shows. So, too, with the
warp-wide mma.sync of a Muon step whose Gram spans 3 × 3 block tiles,
the tensor-core work, and with the shared-memory wavefronts its cp.async
staging takes on whole tiles as the emulator models bank conflicts, with
mma.sync and with wgmma.

    cuda_barriers.py compile STEPC SPEC_DIR OUT_DIR --host-emulation
    cuda_barriers.py run OUT_DIR

`run` needs STEPC_CUDA_DRIVER set to libstepc-cuda-emulator.so.
"""

import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cuda_group_wide  # noqa: E402
from cuda_group_wide import (OnDevice, emulator_and_checks,  # noqa: E402
                             emulator_counter)

SPECS = {name: (name, [], [])
         for name in ("muon", "normuon", "sinkgd", "reg", "muon_md")}
SPECS["muon_wgmma"] = ("muon", [], ["--cuda-matmul-wgmma",
                                    "--cuda-arch=sm_90a"])
SHAPE = (64, 32)
MMA_SHAPE = (130, 200)
# Every block tile whole: every lane runs every copy, as the emulator's
# bank-conflict model needs to match lanes into warp instructions.
WHOLE_TILES_SHAPE = (128, 192)


def run_all(out):
    import stepc
    emulated = emulator_and_checks("last_barriers", "barriers")
    if emulated is None:
        return 1
    driver, check = emulated
    rng = np.random.default_rng(3)
    for name in SPECS:
        param = (rng.standard_normal(SHAPE) * 0.02).astype(np.float32)
        dev = OnDevice(driver, stepc.load(str(out / f"{name}.stepc")),
                       "hidden", [param])
        dev.set_grads([rng.standard_normal(SHAPE).astype(np.float32)])
        counts = []
        for _ in range(2):
            dev.group.step()
            counts.append(emulator_counter(driver, "last_barriers"))
        check(counts[0] == counts[1],
              f"{name}.hidden {SHAPE}: {counts[1]} grid barriers per step")
        driver.free_all()
    param = (rng.standard_normal(MMA_SHAPE) * 0.02).astype(np.float32)
    dev = OnDevice(driver, stepc.load(str(out / "muon.stepc")), "hidden",
                   [param])
    dev.set_grads([rng.standard_normal(MMA_SHAPE).astype(np.float32)])
    dev.group.step()
    check(True, f"muon.hidden {MMA_SHAPE}: "
          f"{emulator_counter(driver, 'last_mmas')} mma.sync and "
          f"{emulator_counter(driver, 'last_barriers')} grid barriers per step")
    driver.free_all()
    for name in ("muon", "muon_wgmma"):
        param = (rng.standard_normal(WHOLE_TILES_SHAPE) * 0.02).astype(
            np.float32)
        dev = OnDevice(driver, stepc.load(str(out / f"{name}.stepc")),
                       "hidden", [param])
        dev.set_grads([rng.standard_normal(WHOLE_TILES_SHAPE).astype(
            np.float32)])
        dev.group.step()
        taken = emulator_counter(driver, "last_copy_wavefronts")
        fewest = emulator_counter(driver, "last_copy_phases")
        check(taken == fewest,
              f"{name}.hidden {WHOLE_TILES_SHAPE}: cp.async staging in "
              f"{taken} shared-memory wavefronts, the fewest {fewest}")
        driver.free_all()
    return check.summary()


if __name__ == "__main__":
    sys.exit(cuda_group_wide.main(__doc__, SPECS, run_all))
