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

import pathlib
import sys
import unittest

import numpy as np

SPEC = sys.argv.pop(1)
sys.path.insert(0, str(pathlib.Path(__file__).parent / "Inputs"))
import stepc  # noqa: E402
from products_reference import bind_products, products_step  # noqa: E402


class ProductsSumInAscendingK(unittest.TestCase):
    def test_bits(self):
        artifact = stepc.load(stepc.compile_cached(SPEC))
        rng = np.random.default_rng(3)
        for shape in [(20, 40), (36, 16), (7, 50), (48, 96)]:
            with self.subTest(shape=shape):
                group, param, grad, w, s = bind_products(artifact, shape)
                for _ in range(3):
                    grad[...] = rng.standard_normal(shape).astype(np.float32)
                    group.step()
                    w, s = products_step(w, s, grad)
                np.testing.assert_array_equal(param, w)
                np.testing.assert_array_equal(group.read_state(0, "s"), s)


if __name__ == "__main__":
    unittest.main()
