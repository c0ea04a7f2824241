# The CPU code's matrix products sum each element's products one at a
# time in ascending k, a rounded f32 multiply then a rounded f32 add,
# whatever their register blocking (stepc-block-matmuls): the same bits as
# a NumPy loop over k in float32. Shapes cover whole blocks (6 rows by 16
# cols) and the rows and cols outside them, and a transposed left factor.
#
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %S/Inputs/products.mlir -v 2>&1 | FileCheck %s
# CHECK: Ran 1 test in
# CHECK: OK

import sys
import unittest

import numpy as np

SPEC = sys.argv.pop(1)
import stepc  # noqa: E402


def ascending_k(a, b):
    """a·b in float32, each element summed in ascending k."""
    total = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for k in range(a.shape[1]):
        total = np.outer(a[:, k], b[k, :]) + total
    return total


class ProductsSumInAscendingK(unittest.TestCase):
    def test_bits(self):
        artifact = stepc.load(stepc.compile_cached(SPEC))
        rng = np.random.default_rng(3)
        for shape in [(20, 40), (36, 16), (7, 50), (48, 96)]:
            with self.subTest(shape=shape):
                param = np.zeros(shape, np.float32)
                grad = np.zeros(shape, np.float32)
                group = artifact.group("all")
                group.bind([param], [grad])
                group.init_state()
                w = param.copy()
                s = np.eye(shape[0], dtype=np.float32)
                for _ in range(3):
                    grad[...] = rng.standard_normal(shape).astype(np.float32)
                    group.step()
                    p = ascending_k(grad, grad.T.copy())
                    w = w - ascending_k(s, grad)
                    s = ascending_k(s.T.copy(), p)
                np.testing.assert_array_equal(param, w)
                np.testing.assert_array_equal(group.read_state(0, "s"), s)


if __name__ == "__main__":
    unittest.main()
