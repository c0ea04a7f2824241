"""The sub-grids the runtime splits a phased kernel's grid into, per launch
(docs/Design/SubGrids.md, "Choosing S"), as the host CUDA emulator sees
them, and the steps on them against the CPU code of the same artifact:
Muon's, SinkGD's, and a Muon whose Newton–Schulz is a second shape scale
(a phased kernel without reductions).

    cuda_subgrids.py compile STEPC SPEC_DIR OUT_DIR --host-emulation
    cuda_subgrids.py run OUT_DIR

`run` needs STEPC_CUDA_DRIVER set to libstepc-cuda-emulator.so; with
STEPC_CUDA_EMULATOR_BLOCKS_PER_SM=2 the kernels run two blocks per SM, as
Muon's does on an H100, and a group of two or more tensors takes 2
sub-grids. STEPC_CUDA_SCHEDULE=round-robin deals the tensors without
their costs.
"""

import ctypes
import os
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cuda_group_wide  # noqa: E402
from cuda_group_wide import (OnDevice, OnHost,  # noqa: E402
                             emulator_and_checks, emulator_counter, rel)

# Muon with its Newton–Schulz replaced by a second shape scale: a group
# without reductions whose update reads the matrix's dims, which makes it
# a phased kernel (test/Conversion/FuncToGpuKernels/shape-values.mlir).
NO_NS = ("%o = step.newton_schulz %u steps(5)\n"
         "        coefficients([3.4445, -4.7750, 2.0315]) eps(1.0e-7) "
         ": tensor<?x?xf32>",
         "%o = step.scale %u shape(keller) : tensor<?x?xf32>")
SPECS = {name: (name, [], []) for name in ("muon", "sinkgd")}
SPECS["muon_shape_scaled"] = ("muon", [NO_NS], [])
SHAPES = [(64, 32), (40, 72), (48, 48)]
STEPS = 3


def subgrid_barriers(driver, subgrid):
    """Grid barriers the first thread of `subgrid` passed in the last
    launch, by the emulator's count."""
    counter = driver.lib.stepc_cuda_emulator_last_subgrid_barriers
    counter.restype = ctypes.c_uint64
    counter.argtypes = [ctypes.c_uint64]
    return counter(subgrid)


def run_all(out):
    import stepc
    emulated = emulator_and_checks("last_subgrids", "sub-grids")
    if emulated is None:
        return 1
    driver, check = emulated
    rng = np.random.default_rng(7)
    for name in SPECS:
        artifact = stepc.load(str(out / f"{name}.stepc"))
        for count in (1, len(SHAPES)):
            shapes = SHAPES[:count]
            params = [(rng.standard_normal(s) * 0.02).astype(np.float32)
                      for s in shapes]
            dev = OnDevice(driver, artifact, "hidden", params)
            host = OnHost(artifact, "hidden", params)
            for _ in range(STEPS):
                grads = [rng.standard_normal(s).astype(np.float32)
                         for s in shapes]
                for side in (dev, host):
                    side.set_grads(grads)
                    side.group.step()
            error = max(rel(d - p, h - p) for d, h, p in
                        zip(dev.read_params(), host.read_params(), params))
            # bf16 Newton–Schulz on both sides, in different sum orders;
            # the others agree to f32 rounding.
            check(error < (2e-2 if name == "muon" else 1e-5),
                  f"{name}.hidden, {count} tensors: "
                  f"{emulator_counter(driver, 'last_subgrids')} sub-grids, "
                  f"{dev.group.launch_count} launches for {STEPS} steps, "
                  f"relative error to the CPU code {error:.1g}")
            if emulator_counter(driver, "last_subgrids") == 2 and count == 3:
                # Dealt longest first (SubGrids.md, "Balancing the
                # sub-grids"): the 48 x 48 matrix costs most in both
                # groups, so sub-grid 0 steps it alone and sub-grid 1 the
                # other two, and meets more barriers. Round robin would give
                # sub-grid 0 tensors 0 and 2.
                first, second = (subgrid_barriers(driver, s) for s in (0, 1))
                if os.environ.get("STEPC_CUDA_SCHEDULE") == "round-robin":
                    check(first > second > 0,
                          f"{name}.hidden, 3 tensors: round robin, tensors 0 "
                          f"and 2 on sub-grid 0 ({first} barriers against "
                          f"{second})")
                else:
                    check(0 < first < second,
                          f"{name}.hidden, 3 tensors: the costliest alone on "
                          f"sub-grid 0 ({first} barriers against {second})")
            driver.free_all()
    return check.summary()


if __name__ == "__main__":
    sys.exit(cuda_group_wide.main(__doc__, SPECS, run_all))
