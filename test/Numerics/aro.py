# step.qr inside ARO, checked without a reference QR: after one step the
# rotation state R must be the Q factor of C = M·f(M)ᵀ (R₀ = I): orthonormal
# columns, RᵀC upper triangular with a non-negative diagonal, also when C is
# rank-deficient (a tall weight) or zero. presets.py
# compares ARO's updates with the fp64 reference (LAPACK's QR, other column
# signs) over 5 steps.
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


COMPILED = set()  # artifacts this run compiled (never a stale one)


def hidden_group():
    TMP.mkdir(parents=True, exist_ok=True)
    artifact = TMP / "aro.stepc"
    if artifact not in COMPILED:
        subprocess.run([STEPC, "compile",
                        str(SRC / "examples" / "specs" / "aro.mlir"), "-o",
                        str(artifact)], check=True)
        COMPILED.add(artifact)
    return stepc.load(artifact).group("hidden")


class Rotation(unittest.TestCase):
    def step_once(self, shape, grad):
        group = hidden_group()
        w = (0.02 * np.random.default_rng(1).standard_normal(shape)).astype(
            np.float32)
        g = grad.astype(np.float32)
        group.bind([w], [g])
        group.init_state()
        np.testing.assert_array_equal(
            group.read_state(0, "r").reshape(shape[0], shape[0]),
            np.eye(shape[0]))
        group.step()
        m = group.read_state(0, "m").reshape(shape).astype(np.float64)
        r = group.read_state(0, "r").reshape(shape[0], shape[0]).astype(
            np.float64)
        return w, m, r

    def test_rotation_is_the_q_factor(self):
        for shape in [(24, 24), (16, 40), (1, 9)]:
            grad = np.random.default_rng(2).standard_normal(shape)
            _, m, r = self.step_once(shape, grad)
            c = m @ reference.aro_row_norm(m).T
            self.assertLess(np.abs(r.T @ r - np.eye(shape[0])).max(), 1e-5)
            triangle = r.T @ c
            scale = np.abs(triangle).max()
            self.assertLess(np.abs(np.tril(triangle, -1)).max() / scale, 1e-5,
                            f"{shape}: RᵀC is not upper triangular")
            self.assertGreaterEqual(np.diag(triangle).min(), 0.0)

    def test_rank_deficient_rotations_stay_orthonormal(self):
        # A tall weight makes C rank-deficient (rank n < m); a zero gradient
        # makes it zero. Q must still be orthonormal, and C = 0 gives I.
        grad = np.random.default_rng(3).standard_normal((32, 12))
        _, m, r = self.step_once((32, 12), grad)
        self.assertLess(np.abs(r.T @ r - np.eye(32)).max(), 1e-5)
        c = m @ reference.aro_row_norm(m).T
        triangle = r.T @ c
        self.assertLess(np.abs(np.tril(triangle, -1)).max() /
                        np.abs(triangle).max(), 1e-5)
        _, _, r = self.step_once((12, 20), np.zeros((12, 20)))
        np.testing.assert_array_equal(r, np.eye(12))

    def test_zero_gradient_gives_no_update_and_no_nan(self):
        w, m, r = self.step_once((12, 20), np.zeros((12, 20)))
        self.assertTrue(np.all(np.isfinite(r)))
        w0 = (0.02 * np.random.default_rng(1).standard_normal((12, 20))
              ).astype(np.float32)
        np.testing.assert_allclose(w, w0 * (1 - 0.01 * 0.01), rtol=1e-6)


if __name__ == "__main__":
    unittest.main()
