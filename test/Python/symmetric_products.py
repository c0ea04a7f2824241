# A symmetric product's CPU code computes the blocks on and above the
# diagonal and copies the others from their mirror images
# (stepc-block-matmuls): P = G·Gᵀ read in place, and Q = P·P. Both must
# hold the bits of the whole products summed in ascending k, which a NumPy
# float32 loop over k computes independently, and so must Q·G after them.
# The shapes put rows and cols inside whole blocks (6 by 16), outside
# them, and on both sides of the diagonal's blocks.
#
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %S/Inputs/symmetric_products.mlir -v 2>&1 | FileCheck %s
# CHECK: Ran 1 test in
# CHECK: OK

import pathlib
import sys
import unittest

import numpy as np

SPEC = sys.argv.pop(1)
sys.path.insert(0, str(pathlib.Path(__file__).parent / "Inputs"))
import stepc  # noqa: E402
from products_reference import ascending_k  # noqa: E402


class SymmetricProductsKeepTheirBits(unittest.TestCase):
    def test_bits(self):
        artifact = stepc.load(stepc.compile_cached(SPEC))
        rng = np.random.default_rng(5)
        for shape in [(20, 40), (36, 16), (7, 50), (48, 96), (53, 21)]:
            with self.subTest(shape=shape):
                param = rng.standard_normal(shape).astype(np.float32)
                grad = (rng.standard_normal(shape) / 8).astype(np.float32)
                group = artifact.group("all")
                group.bind([param], [grad])
                expected = param.copy()
                for _ in range(2):
                    group.step()
                    p = ascending_k(grad, grad.T.copy())
                    q = ascending_k(p, p)
                    expected = expected - ascending_k(q, grad)
                    grad[...] = (rng.standard_normal(shape) / 8).astype(
                        np.float32)
                np.testing.assert_array_equal(param, expected)


if __name__ == "__main__":
    unittest.main()
