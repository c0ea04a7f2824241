"""Same-shape tensors stepped in batches (docs/Design/Batching.md) on the
host CUDA emulator: each phased kernel as compiled (batches) against the
same spec compiled with --cuda-batch-same-shapes=false (one tensor at a
time), on a group whose tensors repeat three shapes in mixed order.

On the host CUDA emulator it checks that the batched kernel gives the
unbatched one's bits (params and states): every member runs the ops it
runs alone, so the emulator must give the same bits. Also that the CPU
code, an independent implementation, is near; that each step is one
launch; that the batched kernel meets fewer grid barriers; that the bits
do not depend on the batch cap (STEPC_CUDA_BATCH=2 and 1); and that on 2
sub-grids the two kernels again agree bit for bit. The barrier counts per
step are printed, for the test to pin.

On a GPU the two kernels may run different grids (their register counts,
hence occupancy, differ), and split reductions fold per thread of the
grid: there the batched kernel's update is checked against the unbatched
one's and the CPU code's within the CPU tolerances instead, and nothing
is counted but launches.

    cuda_batches.py compile STEPC SPEC_DIR OUT_DIR [--host-emulation]
    cuda_batches.py run OUT_DIR
"""

import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cuda_group_wide  # noqa: E402
from cuda_group_wide import (Checks, Driver, OnDevice, OnHost,  # noqa: E402
                             emulator_counter, rel)
from scoped_environ import environment  # noqa: E402

# Newton–Schulz (Muon's own bf16 products on tensor cores, NorMuon's row
# norms, MuonMD's gains), column sums (SinkGD, REG) and a sum phase with
# per-tensor contributions (MuonMax's nuclear norms). (ARO's QR cannot run
# batch-major: test/Tools/stepc/compile-cuda.test checks that its kernel
# steps one tensor at a time.)
NAMES = ("muon", "normuon", "muon_md", "sinkgd", "reg", "muonmax")
SPECS = {}
for name in NAMES:
    SPECS[name] = (name, [], [])
    SPECS[f"{name}-unbatched"] = (name, [], ["--cuda-batch-same-shapes=false"])
# Three 64 x 32 (tall: transposed for Newton–Schulz), two 32 x 64 and one
# 48 x 1, mixed: the runtime orders a sub-grid's tensors by shape.
SHAPES = [(64, 32), (32, 64), (64, 32), (48, 1), (32, 64), (64, 32)]
STEPS = 3
# The CPU code sums in another order, and bf16 Newton–Schulz carries that.
CPU_TOLERANCE = {"muon": 3e-2, "normuon": 3e-2, "muon_md": 3e-2,
                 "muonmax": 3e-2}
CPU_DEFAULT_TOLERANCE = 1e-4


def run_steps(driver, artifact, params, grads, env=None):
    """The group stepped on the emulator: params and states after the
    steps, launches, and the grid barriers of the last step."""
    with environment(env or {}):
        dev = OnDevice(driver, artifact, "hidden", params)
        for step in grads:
            dev.set_grads(step)
            dev.group.step()
        result = (dev.read_params(),
                  [[dev.group.read_state(t, name)
                    for name in dev.group.state_names]
                   for t in range(len(params))])
        counts = (dev.group.launch_count,
                  emulator_counter(driver, "last_barriers"))
    driver.free_all()
    return result, counts


def same_bits(first, second):
    def flat(result):
        params, states = result
        return [np.asarray(p).tobytes() for p in params] + [
            np.asarray(v).tobytes() for state in states for v in state]
    return flat(first) == flat(second)


def worst_update_difference(got, want, params):
    return max(rel(g - p0, w - p0) for g, w, p0 in zip(got, want, params))


def run_all(out):
    import stepc
    driver, check = Driver(), Checks()
    emulated = emulator_counter(driver, "last_barriers") is not None
    rng = np.random.default_rng(5)
    params = [(rng.standard_normal(s) * 0.02).astype(np.float32)
              for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES]
             for _ in range(STEPS)]
    for name in NAMES:
        batched = stepc.load(str(out / f"{name}.stepc"))
        unbatched = stepc.load(str(out / f"{name}-unbatched.stepc"))
        tolerance = CPU_TOLERANCE.get(name, CPU_DEFAULT_TOLERANCE)
        one, (launches, barriers) = run_steps(driver, batched, params, grads)
        alone, (_, alone_barriers) = run_steps(driver, unbatched, params,
                                               grads)
        check(launches == STEPS,
              f"{name}: {launches} launches for {STEPS} steps")
        if emulated:
            check(same_bits(one, alone),
                  f"{name}: batched, the bits of one tensor at a time")
            check(barriers < alone_barriers,
                  f"{name}: {barriers} grid barriers per step batched, "
                  f"{alone_barriers} one tensor at a time")
        else:
            apart = worst_update_difference(one[0], alone[0], params)
            check(apart <= tolerance, f"{name}: batched, one tensor at a "
                  f"time's update within {tolerance:g}")
        for env, what in (({"STEPC_CUDA_BATCH": "2"}, "batches of 2"),
                          ({"STEPC_CUDA_BATCH": "1"}, "batches of 1")):
            other, _ = run_steps(driver, batched, params, grads, env)
            check(same_bits(one, other), f"{name}: {what}, the same bits")
        # Split reductions fold their partials per thread of a sub-grid, so
        # the bits on 2 sub-grids are compared with the unbatched kernel's
        # on 2 sub-grids.
        env = {"STEPC_CUDA_SUBGRIDS": "2"}
        split, _ = run_steps(driver, batched, params, grads, env)
        split_alone, _ = run_steps(driver, unbatched, params, grads, env)
        if emulated:
            check(same_bits(split, split_alone),
                  f"{name}: on 2 sub-grids, the bits of one tensor at a time")
        else:
            apart = worst_update_difference(split[0], split_alone[0], params)
            check(apart <= tolerance, f"{name}: on 2 sub-grids, one tensor "
                  f"at a time's update within {tolerance:g}")
        host = OnHost(batched, "hidden", params)
        for step in grads:
            host.set_grads(step)
            host.group.step()
        worst = worst_update_difference(one[0], host.read_params(), params)
        check(worst <= tolerance, f"{name}: the CPU code's update within "
              f"{tolerance:g} (worst relative difference {worst:.2g})")
    return check.summary()


if __name__ == "__main__":
    sys.exit(cuda_group_wide.main(__doc__, SPECS, run_all))
