# Threads that no tensor keeps busy share a matrix's sweeps over its rows
# (the compiler's stepc-outline-row-ranges): rows that only touch their own
# row, and sweeps that sum (column sums, whole sums) in a fixed number of
# blocks whose partial sums are added in block order. REG (column and row
# norms, an RMS over the matrix, the update) and SinkGD (five alternations of
# row and column normalization) are stepped on one and on two threads:
# - one thread never splits a sweep, two threads do;
# - both runs give the same bits: the blocks depend on the shape alone;
# - both stay within 1e-4 of the fp64 reference of test/Numerics, so a block
#   skipped, summed twice or a partial never cleared fails.
# Shapes: 1500 rows (16 blocks of 94 rows, the last of 90), 7 rows (blocks
# of one row), and 800 x 1500.
#
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %stepc_src_root/examples/specs -v 2>&1 | FileCheck %s
# CHECK: Ran 4 tests in
# CHECK: OK

import pathlib
import sys
import unittest

import numpy as np

SPECS = pathlib.Path(sys.argv.pop(1))
sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "Numerics"))
import reference  # noqa: E402
import stepc  # noqa: E402

HYPER = {"reg": {"lr": 1e-3, "wd": 0.1}, "sinkgd": {"lr": 1e-3}}
REFERENCE = {"reg": reference.reg_step, "sinkgd": reference.sinkgd_step}
STATES = {"reg": ["m"], "sinkgd": []}
# Large enough that a sweep's cost (8 per element) passes the runtime's
# split threshold, 2^23: at least 2^20 elements.
SHAPES = [(1500, 800), (7, 200000), (800, 1500)]
STEPS = 2


def run_steps(spec, shape, threads, seed=5):
    """Steps group "hidden" of `spec` on one tensor of `shape`; returns the
    param and states after each step, and the artifact's parallel stats."""
    rng = np.random.default_rng(seed)
    artifact = stepc.load(stepc.compile_cached(str(SPECS / f"{spec}.mlir")))
    param = (0.02 * rng.standard_normal(shape)).astype(np.float32)
    grad = np.zeros(shape, np.float32)
    group = artifact.group("hidden")
    group.bind([param], [grad])
    group.init_state()
    group.set_num_threads(threads)
    history = []
    for _ in range(STEPS):
        grad[...] = rng.standard_normal(shape).astype(np.float32)
        before = param.copy()
        group.step()
        history.append((before, grad.copy(), param.copy(),
                        {name: group.read_state(0, name).copy()
                         for name in STATES[spec]}))
    return history, artifact.parallel_stats()


class ParallelSweeps(unittest.TestCase):
    def check(self, spec):
        for shape in SHAPES:
            one, one_stats = run_steps(spec, shape, threads=1)
            two, two_stats = run_steps(spec, shape, threads=2)
            self.assertEqual(one_stats["split_ranges"], 0)
            self.assertGreater(two_stats["split_ranges"], 0, f"{shape}")
            state = {name: np.zeros(shape) for name in STATES[spec]}
            for step, ((before, grad, after, states),
                       (_, _, after_two, states_two)) in enumerate(
                           zip(one, two)):
                where = f"{spec} {shape} step {step}"
                np.testing.assert_array_equal(after, after_two, where)
                for name in states:
                    np.testing.assert_array_equal(states[name],
                                                  states_two[name], where)
                # The fp64 reference, from the same param and gradient.
                expected = REFERENCE[spec](before.astype(np.float64),
                                           grad.astype(np.float64), state,
                                           HYPER[spec], step + 1)
                update = after.astype(np.float64) - before
                error = np.linalg.norm(update - (expected - before))
                self.assertLess(error / np.linalg.norm(expected - before),
                                1e-4, where)
                for name in states:
                    error = np.linalg.norm(states[name] - state[name])
                    self.assertLess(error / np.linalg.norm(state[name]), 1e-5,
                                    where)
                    state[name] = states[name].astype(np.float64)

    def test_reg(self):
        self.check("reg")

    def test_sinkgd(self):
        self.check("sinkgd")

    def test_no_split_below_the_threshold(self):
        """A 512 x 512 matrix's sweeps cost at most 4.2 M (8 per element of
        each loop over a row; REG's first sweep has two: the momentum, then
        the norms): none splits. At 768 x 768 that sweep costs 9.4 M."""
        _, stats = run_steps("reg", (512, 512), threads=2)
        self.assertEqual(stats["split_ranges"], 0)
        self.assertGreater(stats["inline_ranges"], 0)

    def test_stats_count_sweeps(self):
        """REG's three sweeps are each a range: 3 per step, all inline on one
        thread."""
        _, stats = run_steps("reg", (1500, 800), threads=1)
        self.assertEqual(stats["inline_ranges"], 3 * STEPS)


if __name__ == "__main__":
    unittest.main()
