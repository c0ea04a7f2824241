"""A step captured in a CUDA graph and replayed (issue 4: runtime scalars
from device pointers, so a captured step still follows an lr schedule).

    cuda_graph.py compile STEPC SPEC_DIR OUT_DIR
    cuda_graph.py run OUT_DIR

Two copies of each group are bound to the same gradients, their lr read
from one f32 in device memory: one steps eagerly on a stream, the other's
step is captured once on that stream (after a first eager step, which
allocates and uploads what the step needs) and replayed with
cuGraphLaunch. Between steps the host writes the next lr of a schedule
into device memory; both copies must end bit-identical, and a copy
stepped at the first lr throughout must not. `run` needs the stepc Python
package (PYTHONPATH), NumPy and a CUDA driver with graphs (a GPU: the
host emulator does not capture).
"""

import ctypes
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cuda_group_wide  # noqa: E402
from cuda_presets import Driver  # noqa: E402
from cuda_group_wide import Checks, OnDevice  # noqa: E402

STEPS = 6
LRS = [1e-2, 8e-3, 6e-3, 4e-3, 2e-3, 1e-3]
# Artifact name: (example spec, edits, compile flags); Muon as written
# (bf16 matmuls on tensor cores, a cooperative launch).
SPECS = {"adamw": ("adamw", [], []), "muon": ("muon", [], [])}
CU_STREAM_NON_BLOCKING = 1
CU_STREAM_CAPTURE_MODE_GLOBAL = 0


class Graph:
    """The driver's stream capture, instantiate and launch."""

    def __init__(self, driver):
        self.driver, self.lib = driver, driver.lib
        self.stream = ctypes.c_void_p()
        driver.check(self.lib.cuStreamCreate(ctypes.byref(self.stream),
                                             CU_STREAM_NON_BLOCKING),
                     "cuStreamCreate")
        self.exec = None

    def capture(self, step):
        lib, check = self.lib, self.driver.check
        check(lib.cuStreamBeginCapture_v2(self.stream,
                                          CU_STREAM_CAPTURE_MODE_GLOBAL),
              "cuStreamBeginCapture")
        try:
            step()
        finally:
            graph = ctypes.c_void_p()
            ended = lib.cuStreamEndCapture(self.stream, ctypes.byref(graph))
        check(ended, "cuStreamEndCapture")
        self.exec = ctypes.c_void_p()
        check(lib.cuGraphInstantiateWithFlags(ctypes.byref(self.exec), graph,
                                              ctypes.c_ulonglong(0)),
              "cuGraphInstantiate")
        check(lib.cuGraphDestroy(graph), "cuGraphDestroy")

    def replay(self):
        self.driver.check(self.lib.cuGraphLaunch(self.exec, self.stream),
                          "cuGraphLaunch")

    def synchronize(self):
        self.driver.check(self.lib.cuStreamSynchronize(self.stream),
                          "cuStreamSynchronize")


def run_group(check, driver, artifact, spec, name, shapes, lr_scale):
    rng = np.random.default_rng(11)
    params = [(rng.standard_normal(s) * 0.1).astype(np.float32)
              for s in shapes]
    grads = [[(rng.standard_normal(s) * 0.3).astype(np.float32)
              for s in shapes] for _ in range(STEPS)]
    lrs = [lr * lr_scale for lr in LRS]
    graph = Graph(driver)
    lr = driver.upload(np.array([lrs[0]], np.float32))
    eager, captured, fixed = (OnDevice(driver, artifact, name, params)
                              for _ in range(3))
    for copy in (eager, captured, fixed):
        copy.group.set_stream(graph.stream.value)
    for copy in (eager, captured):
        copy.group.set_scalar_device("lr", lr)
    fixed.group.set_hyper("lr", lrs[0])
    for t in range(STEPS):
        driver.check(driver.lib.cuStreamSynchronize(graph.stream),
                     "cuStreamSynchronize")
        driver.copy_in(lr, np.array([lrs[t]], np.float32))
        for copy in (eager, captured, fixed):
            copy.set_grads(grads[t])
        eager.group.step()
        fixed.group.step()
        if t == 0:
            captured.group.step()
        else:
            if graph.exec is None:
                launches = captured.group.launch_count
                graph.capture(captured.group.step)
                check(captured.group.launch_count == launches + 1,
                      f"{spec}.{name}: the capture records one launch")
            graph.replay()
        graph.synchronize()
    got = captured.read_params()
    want = eager.read_params()
    stale = fixed.read_params()
    same = all(np.array_equal(a, b) for a, b in zip(got, want))
    check(same, f"{spec}.{name}: {STEPS - 1} graph replays with an lr "
          f"schedule equal the eager steps bit for bit (worst difference "
          f"{max(np.abs(a - b).max() for a, b in zip(got, want)):.1e})")
    moved = all(not np.array_equal(a, p) for a, p in zip(got, params))
    check(moved, f"{spec}.{name}: the replays moved every tensor")
    check(any(not np.array_equal(a, b) for a, b in zip(stale, want)),
          f"{spec}.{name}: a fixed lr gives another result")


def run_all(out):
    import stepc
    driver = Driver()
    check = Checks()
    run_group(check, driver, stepc.load(str(out / "adamw.stepc")), "adamw",
              "all", [(40,), (7, 3), (64, 33)], 1.0)
    run_group(check, driver, stepc.load(str(out / "muon.stepc")), "muon",
              "hidden", [(64, 32), (48, 96)], 2.0)
    return check.summary()


if __name__ == "__main__":
    sys.exit(cuda_group_wide.main(__doc__, SPECS, run_all))
