"""The phase timeline (docs/Design/PhaseTimeline.md) on the host CUDA
emulator: Muon compiled with --cuda-phase-timeline, stepped on three
matrices on 2 sub-grids with STEPC_CUDA_TIMELINE naming a file, against
what the emulator counts itself and what Newton–Schulz must do.

    cuda_timeline.py compile STEPC SPEC_DIR OUT_DIR --host-emulation
    cuda_timeline.py run OUT_DIR

`run` needs STEPC_CUDA_DRIVER set to libstepc-cuda-emulator.so,
STEPC_CUDA_EMULATOR_BLOCKS_PER_SM=2 (two sub-grids) and
STEPC_CUDA_TIMELINE set to a file that does not exist yet.
"""

import json
import os
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cuda_group_wide  # noqa: E402
from cuda_group_wide import OnDevice, emulator_and_checks  # noqa: E402
from cuda_subgrids import subgrid_barriers  # noqa: E402

SPECS = {"muon_timeline": ("muon", [], ["--cuda-phase-timeline"]),
         "muon": ("muon", [], [])}
SHAPES = [(64, 32), (40, 72), (48, 48)]
STEPS = 2
NS_STEPS = 5


def step(driver, artifact, params, grads):
    """The params after STEPS steps of Muon's hidden group on cuda:0."""
    dev = OnDevice(driver, artifact, "hidden", params)
    for g in grads:
        dev.set_grads(g)
        dev.group.step()
    result = dev.read_params()
    driver.free_all()
    return result


def run_all(out):
    import stepc
    emulated = emulator_and_checks("last_subgrids", "sub-grids")
    if emulated is None:
        return 1
    driver, check = emulated
    path = pathlib.Path(os.environ["STEPC_CUDA_TIMELINE"])
    rng = np.random.default_rng(3)
    params = [(rng.standard_normal(s) * 0.02).astype(np.float32)
              for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES]
             for _ in range(STEPS)]

    timed = step(driver, stepc.load(str(out / "muon_timeline.stepc")),
                 params, grads)
    subgrids = int(cuda_group_wide.emulator_counter(driver, "last_subgrids"))
    met = [subgrid_barriers(driver, s) for s in range(subgrids)]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    check([line["launch"] for line in lines] == list(range(1, STEPS + 1)),
          f"one timeline line per launch ({len(lines)} for {STEPS} steps)")
    last = lines[-1]
    regions = last["regions"]
    check(last["subgrids"] == subgrids == 2 and len(regions) == subgrids + 1,
          f"{last['subgrids']} sub-grids, {len(regions)} regions")
    # The first block of sub-grid s meets the grid's barriers (region 0)
    # and its own (region 1 + s): the emulator counts them apart.
    for s in range(subgrids):
        recorded = regions[0]["released"] + regions[1 + s]["released"]
        check(recorded == met[s],
              f"sub-grid {s}: {recorded} releases recorded, the emulator "
              f"counts {met[s]} barriers")
    sites = last["sites"]
    marks = [mark for region in regions for mark in region["marks"]]
    check(all(1 <= site <= len(sites) for site, _ in marks),
          f"every mark names one of the {len(sites)} sites")
    ordered = all(
        all(a[1] <= b[1] for a, b in zip(r["marks"], r["marks"][1:]))
        for r in regions)
    check(ordered and all(r["released"] == len(r["marks"]) for r in regions),
          "each region's releases are kept, in time order")
    # Each Newton–Schulz iteration ends its Gram and its A² at barriers of
    # their own: 5 each per matrix. (P·X, with the update as its epilogue,
    # ends at the next iteration's first barrier, or the loop's last.)
    for product in ("matmul 1, symmetric", "matmul 2, symmetric"):
        releases = sum(1 for site, _ in marks
                       if sites[site - 1].endswith(product))
        check(releases == NS_STEPS * len(SHAPES),
              f"{releases} phases end with '{product}' for {len(SHAPES)} "
              f"matrices of {NS_STEPS} Newton-Schulz iterations")

    plain = step(driver, stepc.load(str(out / "muon.stepc")), params, grads)
    check(all(np.array_equal(a, b) for a, b in zip(timed, plain)),
          "the same bits as Muon compiled without the timeline")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    check(lines[-1].get("no_timeline") == "compiled without "
          "--cuda-phase-timeline" and len(lines) == STEPS + 1,
          "a kernel without the timeline says so, once")

    os.environ["STEPC_CUDA_TIMELINE"] = str(path.parent / "no-such-dir" /
                                            "timeline.jsonl")
    try:
        step(driver, stepc.load(str(out / "muon_timeline.stepc")), params,
             grads[:1])
        check(False, "a file it cannot append to fails the step")
    except stepc.StepcError as error:
        check("STEPC_CUDA_TIMELINE: cannot append to" in str(error),
              f"a file it cannot append to fails the step: {error}")
    driver.free_all()
    return check.summary()


if __name__ == "__main__":
    sys.exit(cuda_group_wide.main(__doc__, SPECS, run_all))
