# AdamP's conditional projection (clovaai/AdamP, shared ALGORITHMS.md §10.1)
# against the fp64 reference in reference.py: gradients built so that each
# step takes a chosen branch (the per-row projection, the whole-matrix one,
# none), 5 steps through all three, with weight decay scaled by wd_ratio
# when a projection fires. presets.py runs the same spec on random
# gradients and the usual shapes.
#
# RUN: env PYTHONPATH=%stepc_python_dir %python %s %stepc_path \
# RUN:   %stepc_src_root %t -v 2>&1 | FileCheck %s
# CHECK: Ran {{[0-9]+}} tests
# CHECK: OK

import pathlib
import subprocess
import sys
import unittest

import numpy as np

STEPC = sys.argv.pop(1)
SRC = pathlib.Path(sys.argv.pop(1))
TMP = pathlib.Path(sys.argv.pop(1))
sys.path.insert(0, str(SRC / "test" / "Numerics"))
import reference  # noqa: E402
import stepc  # noqa: E402

COMPILED = set()
HYPER = {"lr": 1e-3, "wd": 1.0, "delta": 0.1, "wd_ratio": 0.1}


def tangent_per_row(w, x):
    """x with each row's component along w's row removed."""
    return x - w * (w * x).sum(1, keepdims=True) / (w * w).sum(1,
                                                              keepdims=True)


def gradient(rng, w, branch):
    """A gradient for which AdamP takes `branch` at weights w."""
    noise = rng.standard_normal(w.shape)
    if branch == "rows":  # every row orthogonal to its weight row
        return tangent_per_row(w, noise)
    if branch == "layer":  # rows aligned with w, the whole orthogonal to it
        signs = np.where(np.arange(w.shape[0]) % 2 == 0, 1.0, -1.0)
        g = 50.0 * signs[:, None] * w + 0.1 * noise
        return g - w * (w * g).sum() / (w * w).sum()
    return noise + 50.0 * w  # aligned with w: no projection


class AdamP(unittest.TestCase):
    def bound(self):
        """The matrices group of the compiled spec with one (32, 48) tensor
        bound: (group, param, grad)."""
        artifact = TMP / "adamp.stepc"
        if artifact not in COMPILED:  # compiled by this run, never stale
            TMP.mkdir(parents=True, exist_ok=True)
            subprocess.run([STEPC, "compile",
                            str(SRC / "examples" / "specs" / "adamp.mlir"),
                            "-o", str(artifact)], check=True)
            COMPILED.add(artifact)
        group = stepc.load(artifact).group("matrices")
        for name, value in HYPER.items():
            group.set_hyper(name, value)
        rng = np.random.default_rng(7)
        w = (0.02 * rng.standard_normal((32, 48))).astype(np.float32)
        g = np.zeros_like(w)
        group.bind([w], [g])
        group.init_state()
        return group, w, g

    def test_each_branch_against_reference(self):
        group, w, g = self.bound()
        w0 = w.copy()
        rng = np.random.default_rng(9)
        branches = ["rows", "layer", None, "rows", "layer"]
        ref_w = w0.astype(np.float64)
        ref_state = reference.moments(ref_w)
        step = reference.adamp_step(project=True)
        for t, branch in enumerate(branches, start=1):
            g64 = gradient(rng, w.astype(np.float64), branch or "none")
            g[...] = g64.astype(np.float32)
            g64 = g.astype(np.float64)
            _, fired = reference.adamp_projection(ref_w, g64,
                                                  np.zeros_like(ref_w), 0.1)
            self.assertEqual(fired, branch, f"step {t}")
            group.step()
            ref_w = step(ref_w, g64, ref_state, HYPER, t)
            err = np.linalg.norm((w - w0) - (ref_w - w0)) / np.linalg.norm(
                ref_w - w0)
            self.assertLess(err, 1e-4, f"step {t} ({branch})")

    def test_row_projection_is_tangent(self):
        # Independent of reference.py: a step on the per-row branch moves
        # each row orthogonally to itself, once the decay (λ·wd_ratio) is
        # taken out.
        group, w, g = self.bound()
        w_old = w.astype(np.float64)
        rng = np.random.default_rng(8)
        g[...] = gradient(rng, w_old, "rows").astype(np.float32)
        group.step()
        decay = 1 - HYPER["lr"] * HYPER["wd"] * HYPER["wd_ratio"]
        move = w.astype(np.float64) - decay * w_old
        cos = np.abs((move * w_old).sum(1)) / (
            np.linalg.norm(move, axis=1) * np.linalg.norm(w_old, axis=1))
        self.assertLess(cos.max(), 1e-4)


if __name__ == "__main__":
    unittest.main()
