# A CPU step's temporaries of 64 KiB or more are kept by the loaded
# artifact for the next step (runtime/include/stepc-rt/ScratchPool.h): the
# first step takes them from the C library, every later step reuses them
# all, trim_scratch gives them back, and the results stay those of a NumPy
# float32 reference, so no step reads what an earlier one left in a block;
# two threads sharing the pool give the one-thread results bit for bit.
#
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %S/Inputs/products.mlir -v 2>&1 | FileCheck %s
# CHECK: Ran 2 tests in
# CHECK: OK

import pathlib
import sys
import unittest

import numpy as np

SPEC = sys.argv.pop(1)
sys.path.insert(0, str(pathlib.Path(__file__).parent / "Inputs"))
import stepc  # noqa: E402
from products_reference import bind_products, products_step  # noqa: E402


class ScratchKeptAcrossSteps(unittest.TestCase):
    def test_reuse_and_trim(self):
        artifact = stepc.load(stepc.compile_cached(SPEC))
        self.assertEqual(artifact.scratch_stats(),
                         {"fresh_allocations": 0, "reused_allocations": 0,
                          "held_bytes": 0})
        shape = (150, 200)  # a 150 x 200 f32 temporary is 117 KiB
        rng = np.random.default_rng(5)
        group, param, grad, w, s = bind_products(artifact, shape)

        def step():
            nonlocal w, s
            grad[...] = rng.standard_normal(shape).astype(np.float32)
            group.step()
            w, s = products_step(w, s, grad)
            np.testing.assert_array_equal(param, w)
            np.testing.assert_array_equal(group.read_state(0, "s"), s)
            return artifact.scratch_stats()

        first = step()
        fresh = first["fresh_allocations"]
        self.assertGreater(fresh, 0)
        self.assertEqual(first["reused_allocations"], 0)
        # Every block is back in the pool between steps.
        self.assertGreaterEqual(first["held_bytes"], fresh * 150 * 150 * 4)
        for n in (1, 2):
            stats = step()
            self.assertEqual(stats["fresh_allocations"], fresh)
            self.assertEqual(stats["reused_allocations"], n * fresh)
            self.assertEqual(stats["held_bytes"], first["held_bytes"])

        artifact.trim_scratch()
        self.assertEqual(artifact.scratch_stats()["held_bytes"], 0)
        stats = step()
        self.assertEqual(stats["fresh_allocations"], 2 * fresh)
        self.assertEqual(stats["held_bytes"], first["held_bytes"])


    def test_threads_share_the_pool(self):
        """Two threads stepping tensors of three shapes take and return
        blocks concurrently: the results are the one-thread results, bit
        for bit."""
        shapes = [(150, 200), (130, 210), (150, 200), (100, 300), (130, 210)]
        rng = np.random.default_rng(9)
        grads = [[rng.standard_normal(shape).astype(np.float32)
                  for shape in shapes] for _ in range(3)]
        results = []
        for threads in (1, 2):
            artifact = stepc.load(stepc.compile_cached(SPEC))
            params = [np.zeros(shape, np.float32) for shape in shapes]
            bound = [np.zeros(shape, np.float32) for shape in shapes]
            group = artifact.group("all")
            group.bind(params, bound)
            group.init_state()
            group.set_num_threads(threads)
            for step_grads in grads:
                for target, values in zip(bound, step_grads):
                    target[...] = values
                group.step()
            results.append([p.copy() for p in params])
            self.assertGreater(artifact.scratch_stats()["reused_allocations"], 0)
        for one, two in zip(*results):
            np.testing.assert_array_equal(one, two)


if __name__ == "__main__":
    unittest.main()
