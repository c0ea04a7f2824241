# Threads that no tensor keeps busy share a matrix product's col panels
# (runtime/include/stepc-rt/ParallelRanges.h, the compiler's
# stepc-parallelize-ranges): one tensor on two threads splits its products,
# one thread never does, and every result stays that of a NumPy float32
# reference summing each element in ascending k, bit for bit, so no panel
# is skipped, computed twice or mixed up between threads.
#
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %S/Inputs/products.mlir -v 2>&1 | FileCheck %s
# CHECK: Ran 3 tests in
# CHECK: OK

import pathlib
import sys
import unittest

import numpy as np

SPEC = sys.argv.pop(1)
sys.path.insert(0, str(pathlib.Path(__file__).parent / "Inputs"))
import stepc  # noqa: E402
from products_reference import products_step  # noqa: E402


def run_steps(shapes, threads, steps=2, seed=3):
    """Steps group "all" of a fresh artifact on tensors of `shapes` with
    `threads` threads, checking every tensor against the reference after
    each step; returns the artifact's parallel stats."""
    rng = np.random.default_rng(seed)
    artifact = stepc.load(stepc.compile_cached(SPEC))
    params = [np.zeros(shape, np.float32) for shape in shapes]
    grads = [np.zeros(shape, np.float32) for shape in shapes]
    group = artifact.group("all")
    group.bind(params, grads)
    group.init_state()
    group.set_num_threads(threads)
    expected = [(p.copy(), np.eye(shape[0], dtype=np.float32))
                for p, shape in zip(params, shapes)]
    for _ in range(steps):
        for grad in grads:
            grad[...] = rng.standard_normal(grad.shape).astype(np.float32)
        group.step()
        expected = [products_step(w, s, g)
                    for (w, s), g in zip(expected, grads)]
        for i, (param, (w, s)) in enumerate(zip(params, expected)):
            np.testing.assert_array_equal(param, w, err_msg=f"tensor {i}")
            np.testing.assert_array_equal(group.read_state(i, "s"), s,
                                          err_msg=f"tensor {i}")
    return artifact.parallel_stats()


class ParallelProducts(unittest.TestCase):
    # 300 x 200: G·Gᵀ has 18 col panels of 960,000 multiply-adds each,
    # 17.3 M in all, enough to be split (ParallelRanges::kMinSplitCost is
    # 8.4 M); the 40 x 30 and 100 x 80 tensors' products are not.
    def test_one_thread_never_splits(self):
        stats = run_steps([(300, 200)], threads=1)
        self.assertEqual(stats["split_ranges"], 0)
        self.assertGreater(stats["inline_ranges"], 0)

    def test_one_tensor_on_two_threads(self):
        stats = run_steps([(300, 200)], threads=2)
        self.assertGreater(stats["split_ranges"], 0)

    def test_idle_threads_join_the_last_tensor(self):
        """Three tensors on two threads: while both run a tensor no product
        splits; the thread left idle joins the last tensor's products."""
        stats = run_steps([(40, 30), (300, 200), (100, 80)], threads=2)
        self.assertGreater(stats["split_ranges"], 0)
        self.assertGreater(stats["inline_ranges"], 0)


if __name__ == "__main__":
    unittest.main()
