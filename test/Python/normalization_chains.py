# Chains of row and column normalizations, carried as two scale vectors on
# the CPU (stepc-fold-normalization-chains), against the chain applied op
# by op in float64: SinkGD's alternation (√n, √m targets, ε clamped) and
# unit targets with ε added, two row normalizations in a row. Gradients
# have a zero row and a zero column, which must stay zero and leave the
# other vectors normalized as if they were absent, and a row a million
# times smaller than the others, which the normalizations bring to size.
#
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %S/Inputs/normalization_chains.mlir -v 2>&1 | FileCheck %s
# CHECK: Ran 1 test in
# CHECK: OK

import sys
import unittest

import numpy as np

SPEC = sys.argv.pop(1)
import stepc  # noqa: E402


def normalize(x, axis, target, eps, mode):
    """x with each row (axis 1) or column (axis 0) scaled to norm target."""
    norms = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    denominator = norms + eps if mode == "add" else np.maximum(norms, eps)
    return x * (target / denominator)


def sinkgd(g):
    m, n = g.shape
    for _ in range(5):
        g = normalize(g, 1, np.sqrt(n), 1e-8, "clamp")
        g = normalize(g, 0, np.sqrt(m), 1e-8, "clamp")
    return g


def added(g):
    g = normalize(g, 0, 1.0, 1e-3, "add")
    g = normalize(g, 1, 1.0, 1e-3, "add")
    return normalize(g, 1, 1.0, 1e-3, "add")


class ChainsMatchTheOpByOpChain(unittest.TestCase):
    def test_update(self):
        artifact = stepc.load(stepc.compile_cached(SPEC))
        rng = np.random.default_rng(11)
        for group_name, reference in [("sinkgd", sinkgd), ("added", added)]:
            for shape in [(40, 24), (24, 40), (1, 16), (16, 1)]:
                with self.subTest(group=group_name, shape=shape):
                    grad = rng.standard_normal(shape).astype(np.float32)
                    if min(shape) > 1:
                        grad[3, :] = 0.0
                        grad[:, 5] = 0.0
                        grad[7, :] *= 1e-6
                    param = np.zeros(shape, np.float32)
                    group = artifact.group(group_name)
                    group.bind([param], [grad])
                    group.init_state()
                    group.step()
                    expected = -reference(grad.astype(np.float64))
                    self.assertTrue(np.all(np.isfinite(param)))
                    if min(shape) > 1:
                        self.assertTrue(np.all(param[3, :] == 0.0))
                        self.assertTrue(np.all(param[:, 5] == 0.0))
                    np.testing.assert_allclose(param, expected, rtol=2e-5,
                                               atol=2e-6 * np.abs(expected).max())


if __name__ == "__main__":
    unittest.main()
