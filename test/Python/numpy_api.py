# The Python package over NumPy: steps against the fp64 reference of
# test/Numerics/reference.py (written from ALGORITHMS.md), checkpoints that
# resume exactly, and a clear StepcError for every bad input.
#
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %stepc_src_root -v 2>&1 | FileCheck %s
# CHECK: Ran {{[0-9]+}} tests
# CHECK: OK

import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

import numpy as np

SRC = pathlib.Path(sys.argv.pop(1))
sys.path.insert(0, str(SRC / "test" / "Numerics"))
import reference  # noqa: E402
from scoped_environ import environment  # noqa: E402
import stepc  # noqa: E402

SPECS = SRC / "examples" / "specs"


def artifact(name):
    return stepc.load(stepc.compile_cached(SPECS / f"{name}.mlir"))


def random_tensors(rng, shapes):
    return [(0.02 * rng.standard_normal(s)).astype(np.float32) for s in shapes]


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / max(np.linalg.norm(expected),
                                                   1e-30)


class StepsMatchReference(unittest.TestCase):
    def run_preset(self, spec, group_name, shapes, hypers, ref_init, ref_step,
                   steps=5):
        rng = np.random.default_rng(7)
        params = random_tensors(rng, shapes)
        grads = [np.zeros_like(p) for p in params]
        group = artifact(spec).group(group_name)
        group.bind(params, grads)
        group.init_state()
        for name, value in hypers.items():
            group.set_hyper(name, value)
        ref_params = [p.astype(np.float64) for p in params]
        ref_states = [ref_init(p) for p in ref_params]
        start = [p.copy() for p in ref_params]
        for t in range(1, steps + 1):
            for g in grads:
                g[...] = rng.standard_normal(g.shape).astype(np.float32)
            group.step()
            ref_params = [ref_step(p, g.astype(np.float64), s, hypers, t)
                          for p, g, s in zip(ref_params, grads, ref_states)]
        self.assertEqual(group.count, steps)
        for p, ref, p0 in zip(params, ref_params, start):
            self.assertLess(relative_error(p - p0, ref - p0), 1e-5)
        return group, ref_states

    def test_adamw(self):
        group, ref_states = self.run_preset(
            "adamw", "all", [(7, 5), (13,), (1,)], {"lr": 1e-2, "wd": 0.1},
            reference.moments, reference.adamw_step(0.9, 0.999, 1e-8))
        for index, ref in enumerate(ref_states):
            for name in ("m", "v"):
                self.assertLess(
                    relative_error(group.read_state(index, name), ref[name]),
                    1e-5)

    def test_sgd_nesterov(self):
        self.run_preset("sgd_nesterov", "all", [(4, 6), (9,)],
                        {"lr": 1e-2, "wd": 0.05},
                        lambda p: {"b": np.zeros_like(p)},
                        reference.sgd_nesterov_step)


class Checkpoints(unittest.TestCase):
    def fresh(self, params):
        group = artifact("adamw").group("all")
        grads = [np.zeros_like(p) for p in params]
        group.bind(params, grads)
        group.set_hyper("lr", 0.05)
        return group, grads

    def test_resume_is_exact(self):
        rng = np.random.default_rng(3)
        initial = random_tensors(rng, [(5, 3), (8,)])
        grad_steps = [random_tensors(rng, [(5, 3), (8,)]) for _ in range(5)]

        straight = [p.copy() for p in initial]
        group, grads = self.fresh(straight)
        group.init_state()
        for step_grads in grad_steps:
            for g, value in zip(grads, step_grads):
                g[...] = value
            group.step()

        resumed = [p.copy() for p in initial]
        first, grads = self.fresh(resumed)
        first.init_state()
        for step_grads in grad_steps[:3]:
            for g, value in zip(grads, step_grads):
                g[...] = value
            first.step()
        saved = first.state_dict()
        second, grads = self.fresh(resumed)
        second.init_state()
        second.load_state_dict(saved)
        self.assertEqual(second.count, 3)
        self.assertEqual(second.hyper("lr"), 0.05)
        for step_grads in grad_steps[3:]:
            for g, value in zip(grads, step_grads):
                g[...] = value
            second.step()
        for a, b in zip(straight, resumed):
            np.testing.assert_array_equal(a, b)

    def test_adopted_state_is_the_callers_memory(self):
        param = np.ones((4, 4), np.float32)
        grad = np.full((4, 4), 0.5, np.float32)
        group = artifact("adamw").group("all")
        group.bind([param], [grad])
        m = np.zeros((4, 4), np.float32)
        v = np.zeros((4, 4), np.float32)
        group.adopt_state(0, "m", m)
        group.adopt_state(0, "v", v)
        group.step()
        np.testing.assert_allclose(m, np.full((4, 4), 0.05), rtol=1e-6)
        np.testing.assert_array_equal(group.read_state(0, "v"), v)

    def test_state_dict_of_another_optimizer_is_refused(self):
        param, grad = np.ones((2, 2), np.float32), np.ones((2, 2), np.float32)
        lion = artifact("lion").group("all")
        lion.bind([param], [grad])
        lion.init_state()
        adamw = artifact("adamw").group("all")
        adamw.bind([param], [grad])
        adamw.init_state()
        with self.assertRaisesRegex(stepc.StepcError,
                                    "the state dict is of group 'lion'/'all', "
                                    "this is 'adamw'/'all'"):
            adamw.load_state_dict(lion.state_dict())


class SixteenBitParams(unittest.TestCase):
    def test_bf16_params_step_like_f32(self):
        rng = np.random.default_rng(5)
        f32 = (rng.standard_normal((6, 8)) * 0.5).astype(np.float32)
        # Round to bf16 (nearest even) independently of the runtime.
        bits = f32.view(np.uint32)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        param16 = rounded.copy()
        grad16 = np.full_like(param16, 0x3F80)  # 1.0
        start = (rounded.astype(np.uint32) << 16).view(np.float32)
        group = artifact("adamw").group("all", param_dtype="bf16")
        group.bind([param16], [grad16])
        group.init_state()
        group.set_hyper("lr", 0.25)
        group.set_hyper("wd", 0.0)
        group.step()
        after = (param16.astype(np.uint32) << 16).view(np.float32)
        # First AdamW step with g = 1 moves by lr / (1 + eps); the result is
        # rounded to bf16, whose spacing is at most 2^-7 for |w| < 2.
        self.assertLess(np.max(np.abs(f32)), 1.99)
        np.testing.assert_allclose(start - after, 0.25, rtol=0, atol=2**-7)


class Errors(unittest.TestCase):
    def group(self, spec="adamw", name="all"):
        return artifact(spec).group(name)

    def assertStepcError(self, code, pattern, fn, *args):
        with self.assertRaisesRegex(stepc.StepcError, pattern) as caught:
            fn(*args)
        self.assertEqual(caught.exception.code, code)

    def test_wrong_dtype(self):
        p = np.zeros((3,), np.float64)
        self.assertStepcError("dtype_mismatch",
                              "param #0 has dtype float64, expected float32",
                              self.group().bind, [p], [p])

    def test_not_contiguous(self):
        p = np.zeros((4, 4), np.float32)[:, 1]
        self.assertStepcError("invalid_argument", "param #0 is not C-contiguous",
                              self.group().bind, [p], [p.copy()])

    def test_read_only(self):
        p = np.zeros((4,), np.float32)
        p.flags.writeable = False
        self.assertStepcError("invalid_argument", "param #0 is read-only",
                              self.group().bind, [p], [p])

    def test_grad_shape(self):
        p, g = np.zeros((4,), np.float32), np.zeros((5,), np.float32)
        self.assertStepcError("shape_mismatch",
                              r"grad #0 has shape \(5,\) but its param has "
                              r"shape \(4,\)", self.group().bind, [p], [g])

    def test_counts_differ(self):
        p = np.zeros((4,), np.float32)
        self.assertStepcError("invalid_argument", "2 params but 1 grads",
                              self.group().bind, [p, p.copy()], [p])

    def test_vector_in_matrix_group(self):
        p = np.zeros((4,), np.float32)
        self.assertStepcError("shape_mismatch", "matri",
                              self.group("muon", "hidden").bind, [p],
                              [p.copy()])

    def test_unknown_group(self):
        self.assertStepcError("invalid_argument",
                              r"has no group 'nope' \(it has: all\)",
                              artifact("adamw").group, "nope")

    def test_unknown_param_dtype(self):
        self.assertStepcError("dtype_mismatch", "'f64' is not one of",
                              artifact("adamw").group, "all", "f64")

    def test_unknown_hyper(self):
        self.assertStepcError("invalid_argument",
                              r"no hyper 'beta' \(it has: lr, wd\)",
                              self.group().set_hyper, "beta", 1.0)

    def test_step_before_bind(self):
        self.assertStepcError("not_bound", "no tensors are bound",
                              self.group().step)

    def test_state_before_init(self):
        group = self.group()
        p = np.zeros((4,), np.float32)
        group.bind([p], [p.copy()])
        self.assertStepcError("not_bound", "state 'm' of tensor #0",
                              group.step)

    def test_write_state_shape(self):
        group = self.group()
        p = np.zeros((4,), np.float32)
        group.bind([p], [p.copy()])
        group.init_state()
        self.assertStepcError("shape_mismatch", "has shape",
                              group.write_state, 0, "m", np.zeros(3))

    def test_missing_artifact(self):
        self.assertStepcError("io", "no-such.stepc", stepc.load,
                              "/nonexistent/no-such.stepc")

    def test_compile_error_shows_the_diagnostic(self):
        with tempfile.TemporaryDirectory() as tmp:
            spec = pathlib.Path(tmp) / "bad.mlir"
            spec.write_text("step.optimizer @bad {\n  step.bogus\n}\n")
            with self.assertRaisesRegex(stepc.CompileError, "bad.mlir:2"):
                stepc.compile(spec, pathlib.Path(tmp) / "bad.stepc")

    def test_compile_with_gradient_clipping(self):
        with tempfile.TemporaryDirectory() as tmp:
            spec = SRC / "examples" / "specs" / "adamw.mlir"
            art = stepc.load(stepc.compile(spec, pathlib.Path(tmp) / "c.stepc",
                                           clip_grad_norm=0.25))
            group = art.group("all")
            self.assertEqual(group.hyper("max_grad_norm"), 0.25)
            w, g = np.zeros(4, np.float32), np.full(4, 3.0, np.float32)
            group.bind([w], [g])
            group.init_state()
            group.step()
            self.assertAlmostEqual(group.total("grad_sq"), 36.0, places=4)
            with self.assertRaisesRegex(stepc.CompileError,
                                        "already sums 'grad_sq'"):
                stepc.compile(SRC / "examples" / "specs" / "adamw_clip.mlir",
                              pathlib.Path(tmp) / "x.stepc", clip_grad_norm=1)

    def test_missing_runtime_library(self):
        env = dict(os.environ, STEPC_RUNTIME_LIBRARY="/nonexistent/libx.so")
        result = subprocess.run(
            [sys.executable, "-c",
             "import stepc\ntry:\n  stepc.load('x')\nexcept stepc.StepcError "
             "as e:\n  print(e.code, e)"],
            env=env, capture_output=True, text=True)
        self.assertIn("io cannot load the stepc runtime library "
                      "/nonexistent/libx.so", result.stdout)


class CompileCache(unittest.TestCase):
    def test_compiled_once_per_compiler(self):
        # A compiler rebuilt under the same version may write artifacts the
        # runtime reads differently (a new CUDA ABI): the cache compiles
        # again for it instead of serving what the old one wrote.
        real = stepc.compiler.compiler_path()
        spec = SPECS / "sgd_nesterov.mlir"
        with tempfile.TemporaryDirectory() as tmp:
            wrapper = pathlib.Path(tmp) / "stepc"
            wrapper.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
            wrapper.chmod(0o755)
            with environment({
                    "STEPC_COMPILER": str(wrapper),
                    "STEPC_CACHE_DIR": str(pathlib.Path(tmp) / "cache")}):
                cached = stepc.compile_cached(spec)
                written = os.stat(cached).st_mtime_ns
                self.assertEqual(stepc.compile_cached(spec), cached)
                self.assertEqual(os.stat(cached).st_mtime_ns, written)
                later = wrapper.stat().st_mtime_ns + 10**9
                os.utime(wrapper, ns=(later, later))
                os.utime(cached, ns=(written - 10**9, written - 10**9))
                self.assertEqual(stepc.compile_cached(spec), cached)
                self.assertGreater(os.stat(cached).st_mtime_ns,
                                   written - 10**9)
                stepc.load(cached)
                # Without a compiler (a GPU machine given a filled cache)
                # the cached artifact serves.
                os.environ["STEPC_COMPILER"] = "/nonexistent/stepc"
                os.utime(cached, ns=(written, written))
                self.assertEqual(stepc.compile_cached(spec), cached)
                self.assertEqual(os.stat(cached).st_mtime_ns, written)

    def test_edited_spec_replaces_its_cached_artifact(self):
        # Editing a spec must not grow the cache by one artifact per edit;
        # another spec file of the same name keeps its own.
        text = (SPECS / "sgd_nesterov.mlir").read_text()
        with tempfile.TemporaryDirectory() as tmp:
            cache = pathlib.Path(tmp) / "cache"
            first, second = (pathlib.Path(tmp) / d for d in ("a", "b"))
            for directory in (first, second):
                directory.mkdir()
                (directory / "opt.mlir").write_text(text)
            with environment({"STEPC_CACHE_DIR": str(cache)}):
                original = stepc.compile_cached(first / "opt.mlir")
                (second / "opt.mlir").write_text(text + "\n// elsewhere\n")
                neighbour = stepc.compile_cached(second / "opt.mlir")
                (first / "opt.mlir").write_text(text + "\n// edited\n")
                edited = stepc.compile_cached(first / "opt.mlir")
                self.assertNotEqual(edited, original)
                self.assertFalse(os.path.exists(original))
                self.assertFalse(os.path.exists(original + ".compiler"))
                self.assertTrue(os.path.exists(neighbour))
                self.assertEqual(
                    sorted(p.name for p in cache.glob("*.stepc")),
                    sorted(os.path.basename(p) for p in (edited, neighbour)))
                stepc.load(edited)


if __name__ == "__main__":
    unittest.main()
