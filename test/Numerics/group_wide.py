# Group-wide sums (step.global_sum) against fp64 references written from
# shared ALGORITHMS.md §1 and §8 (PyTorch clip_grad_norm_ + AdamW; GPT-opt's
# MuonMax, MuonMax-Momo and MuonAdam-Momo), never from stepc's code: several
# tensors per group, two groups stepped together, 5 steps, a loss input per
# step, the totals the runtime reports, the clamp-at-zero choice, and the
# errors.
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

STEPS = 5
F32_NS = ("mode(clamp) :", "mode(clamp) compute(f32) :")
CLAMP = ("%r = arith.minimumf %trunc, %base : f32",
         "%r0 = arith.minimumf %trunc, %base : f32\n"
         "      %zero = arith.constant 0.0 : f32\n"
         "      %r = arith.maximumf %r0, %zero : f32")
FRESH = ('step.global_sum "nuclear" %n :',
         'step.global_sum "nuclear" %fresh :')
MUON_F32_NS = ("eps(1.0e-7) :", "eps(1.0e-7) compute(f32) :")


COMPILED = set()


def compiled(name, edits=(), flags=()):
    text = (SRC / "examples" / "specs" / f"{name}.mlir").read_text()
    tag = name + "".join(f.replace("-", "").replace("=", "") for f in flags)
    for old, new in edits:
        assert old in text, f"{name}: edit {old!r} matches nothing"
        text = text.replace(old, new)
        tag += "-" + str(abs(hash(old)) % 10000)
    TMP.mkdir(parents=True, exist_ok=True)
    spec = TMP / f"{tag}.mlir"
    spec.write_text(text)
    out = TMP / f"{tag}.stepc"
    if out not in COMPILED:  # compiled by this run, never a stale one
        subprocess.run([STEPC, "compile", str(spec), *flags, "-o", str(out)],
                       check=True)
        COMPILED.add(out)
    return stepc.load(out)


def rel(actual, expected):
    return np.linalg.norm(actual - expected) / max(np.linalg.norm(expected),
                                                   1e-30)


def make_tensors(rng, shapes, std):
    return [(rng.standard_normal(s) * 0.02).astype(np.float32)
            for s in shapes], [[(rng.standard_normal(s) * std).astype(
                np.float32) for s in shapes] for _ in range(STEPS)]


class Bound:
    """A runtime group with its tensors bound and its state initialized."""

    def __init__(self, artifact, name, params, threads=1):
        self.group = artifact.group(name)
        self.params = [p.copy() for p in params]
        self.grads = [np.zeros_like(p) for p in params]
        self.group.bind(self.params, self.grads)
        self.group.init_state()
        self.group.set_num_threads(threads)

    def set_grads(self, grads):
        for mine, new in zip(self.grads, grads):
            mine[...] = new


def reference_muonmax(mats, vecs, mat_grads, vec_grads, losses=None,
                      **options):
    ref = reference.MuonMaxMomo(mats, vecs, momo=losses is not None,
                                **options)
    for t in range(STEPS):
        ref.step(mat_grads[t], vec_grads[t],
                 losses[t] if losses is not None else None)
    return ref.W, ref.P


MAT_SHAPES = [(32, 48), (64, 16), (24, 24)]
VEC_SHAPES = [(40,), (7,), (16,)]
LOSSES = [3.1, 3.0, 2.95, 2.97, 2.9]


class GroupWide(unittest.TestCase):
    def check_clip_adamw(self, art, threads=(1,)):
        """AdamW with clipping over three tensors (steps 2 and 4 clip, the
        others do not) against the fp64 reference, totals included."""
        rng = np.random.default_rng(1)
        params, grads = make_tensors(rng, [(40,), (7, 3), (16, 4)], 0.3)
        for t in (1, 3):
            grads[t] = [g * 8 for g in grads[t]]
        expected, totals = reference.clip_adamw(params, grads, STEPS)
        for count in threads:
            run = Bound(art, "all", params, count)
            for t in range(STEPS):
                run.set_grads(grads[t])
                run.group.step()
                self.assertLess(
                    abs(run.group.total("grad_sq") - totals[t]) / totals[t],
                    1e-5)
            for i, p0 in enumerate(params):
                self.assertLess(rel(run.params[i] - p0, expected[i] - p0),
                                1e-4, f"tensor {i}, {count} threads")

    def test_clip_adamw_across_tensors_and_threads(self):
        self.check_clip_adamw(compiled("adamw_clip"), threads=(1, 2))

    def muonmax_run(self, name, edits, losses, tolerance, clamp=False,
                    stale=True, f_star=0.0, lr=1e-3, grad_std=1.0):
        muonadam = name.startswith("muonadam")
        rng = np.random.default_rng(2)
        mats, mat_grads = make_tensors(rng, MAT_SHAPES, grad_std)
        vecs, vec_grads = make_tensors(rng, VEC_SHAPES, grad_std)
        art = compiled(name, edits)
        hidden = Bound(art, "hidden", mats)
        adam = Bound(art, "adam", vecs)
        for group in (hidden.group, adam.group):
            group.set_hyper("lr", lr)
            if f_star:
                group.set_hyper("f_star", f_star)
        for t in range(STEPS):
            hidden.set_grads(mat_grads[t])
            adam.set_grads(vec_grads[t])
            if losses is not None:
                hidden.group.set_input("loss", losses[t])
                adam.group.set_input("loss", losses[t])
            stepc.runtime.step_groups([hidden.group, adam.group])
        W, P = reference_muonmax(mats, vecs, mat_grads, vec_grads, losses,
                                 stale=stale, clamp=clamp, f_star=f_star,
                                 lr=lr, muonadam=muonadam)
        for got, want, p0 in zip(hidden.params + adam.params, W + P,
                                 mats + vecs):
            self.assertLess(rel(got - p0, want - p0), tolerance,
                            f"{name} {edits}: tensor of shape {p0.shape}")
        return hidden, adam, W, P, mats, vecs

    def test_clip_grad_norm_on_any_spec(self):
        # stepc compile --clip-grad-norm: adamw.mlir then steps as
        # adamw_clip.mlir does.
        self.check_clip_adamw(compiled("adamw", flags=["--clip-grad-norm=1.0"]))

    def test_clip_grad_norm_spans_groups(self):
        # One norm over Muon's matrices and AdamW's vectors stepped
        # together: the reference clips every gradient by the norm of all
        # of them (fp64), then runs each group's own step (the presets').
        rng = np.random.default_rng(7)
        mats, mat_grads = make_tensors(rng, MAT_SHAPES, 0.3)
        vecs, vec_grads = make_tensors(rng, VEC_SHAPES, 0.3)
        mat_grads[0] = [g * 0.01 for g in mat_grads[0]]  # step 1: no clip
        vec_grads[0] = [g * 0.01 for g in vec_grads[0]]
        max_norm = 2.0
        art = compiled("muon", [MUON_F32_NS],
                       flags=[f"--clip-grad-norm={max_norm}"])
        presets = {(p.spec, p.group): p for p in reference.PRESETS}
        hidden_ref, adamw_ref = presets["muon", "hidden"], presets["muon",
                                                                    "adamw"]
        hidden = Bound(art, "hidden", mats)
        adam = Bound(art, "adamw", vecs)
        for bound, preset in ((hidden, hidden_ref), (adam, adamw_ref)):
            for name, value in preset.hyper.items():
                bound.group.set_hyper(name, value)
        want = [np.asarray(p, np.float64) for p in mats + vecs]
        states = [(hidden_ref if i < len(mats) else adamw_ref).init(p)
                  for i, p in enumerate(want)]
        coefficients = []
        for t in range(STEPS):
            hidden.set_grads(mat_grads[t])
            adam.set_grads(vec_grads[t])
            stepc.runtime.step_groups([hidden.group, adam.group])
            g = [np.asarray(x, np.float64) for x in mat_grads[t] + vec_grads[t]]
            total = sum((x * x).sum() for x in g)
            self.assertLess(abs(hidden.group.total("grad_sq") - total) / total,
                            1e-5)
            self.assertEqual(hidden.group.total("grad_sq"),
                             adam.group.total("grad_sq"))
            coef = min(1.0, max_norm / (np.sqrt(total) + 1e-6))
            coefficients.append(coef)
            for i in range(len(want)):
                preset = hidden_ref if i < len(mats) else adamw_ref
                want[i] = preset.step(want[i], coef * g[i], states[i],
                                      preset.hyper, t + 1)
        self.assertEqual(coefficients[0], 1.0)
        self.assertLess(max(coefficients[1:]), 0.5)
        for got, w, p0 in zip(hidden.params + adam.params, want, mats + vecs):
            self.assertLess(rel(got - p0, w - p0), 1e-4,
                            f"tensor of shape {p0.shape}")

    def test_muonmax(self):
        for stale in (True, False):
            edits = [F32_NS] + ([] if stale else [FRESH])
            self.muonmax_run("muonmax", edits, None, 1e-4, stale=stale)
        # As written: bf16 matmul inputs against the fp64 polynomial.
        self.muonmax_run("muonmax", [], None, 5e-2)

    # Gradients of std 0.01 and lr 0.05 keep the truncated lr (about 0.02)
    # below lr, so Momo's truncation decides every step, and the steps well
    # above the f32 resolution of the parameters.
    MOMO = dict(lr=0.05, grad_std=0.01)

    def test_muonmax_momo(self):
        hidden, adam, *_ = self.muonmax_run("muonmax_momo", [F32_NS], LOSSES,
                                            1e-4, **self.MOMO)
        self.assertNotEqual(hidden.group.total("adam_dual"), 0.0)
        self.assertEqual(hidden.group.total("adam_dual"),
                         adam.group.total("adam_dual"))
        self.muonmax_run("muonmax_momo", [], LOSSES, 5e-2, **self.MOMO)

    def test_muonadam_momo(self):
        # The nuclear-norm sum enters linearly: the truncated lr differs from
        # MuonMax-Momo's, and the matrices step by s·polar(M) alone.
        hidden, adam, *_ = self.muonmax_run("muonadam_momo", [F32_NS],
                                            LOSSES, 1e-4, **self.MOMO)
        self.assertEqual(hidden.group.total("nuclear"),
                         adam.group.total("nuclear"))
        self.muonmax_run("muonadam_momo", [F32_NS, FRESH], LOSSES, 1e-4,
                         stale=False, **self.MOMO)
        self.muonmax_run("muonadam_momo", [], LOSSES, 5e-2, **self.MOMO)

    def test_momo_clamp_at_zero_is_explicit(self):
        # f* above every loss makes the truncated lr negative: as written
        # the step reverses; clamped, only the weight decay remains.
        _, _, W, P, mats, vecs = self.muonmax_run(
            "muonmax_momo", [F32_NS], LOSSES, 1e-4, f_star=100.0, **self.MOMO)
        decay = (1 - self.MOMO["lr"] * 0.1) ** STEPS
        self.assertGreater(rel(W[0], mats[0] * decay), 1e-2)
        hidden, adam, *_ = self.muonmax_run(
            "muonmax_momo", [F32_NS, CLAMP], LOSSES, 1e-4, clamp=True,
            f_star=100.0, **self.MOMO)
        for got, p0 in zip(hidden.params + adam.params, mats + vecs):
            self.assertLess(rel(got - p0, p0 * decay - p0), 1e-4)

    def test_errors(self):
        rng = np.random.default_rng(3)
        mats, grads = make_tensors(rng, MAT_SHAPES, 1.0)
        art = compiled("muonmax_momo", [F32_NS])
        hidden = Bound(art, "hidden", mats)
        hidden.set_grads(grads[0])
        with self.assertRaisesRegex(stepc.StepcError,
                                    "input 'loss' of group 'hidden' was not "
                                    "set for this step"):
            hidden.group.step()
        self.assertEqual(hidden.group.count, 0)
        with self.assertRaisesRegex(stepc.StepcError,
                                    "no step has totalled 'nuclear' yet"):
            hidden.group.total("nuclear")
        with self.assertRaisesRegex(stepc.StepcError, "has no input 'lss'"):
            hidden.group.set_input("lss", 1.0)
        hidden.group.set_input("loss", 3.0)
        with self.assertRaisesRegex(stepc.StepcError, "listed twice"):
            stepc.runtime.step_groups([hidden.group, hidden.group])
        hidden.group.step()  # alone: the sums total its own tensors
        self.assertEqual(hidden.group.total("adam_dual"), 0.0)
        with self.assertRaisesRegex(stepc.StepcError, "sums no key 'grad'"):
            hidden.group.total("grad")
        # The input was consumed by the step.
        with self.assertRaisesRegex(stepc.StepcError, "was not set"):
            hidden.group.step()

    def test_tensors_a_group_cannot_take(self):
        # The nuclear-norm sum needs matrices: a vector in the matrix group
        # is refused at bind, naming it.
        art = compiled("muonmax", [F32_NS])
        group = art.group("hidden")
        mats = [np.zeros((4, 4), np.float32), np.zeros(5, np.float32)]
        with self.assertRaisesRegex(
                stepc.StepcError, "param #1 has shape \\(5,\\) but group "
                "'hidden' accepts matrices: pass a rank-2 tensor"):
            group.bind(mats, [np.zeros_like(x) for x in mats])
        # A group not ready (no state) fails the joint step before any
        # group is stepped.
        hidden = Bound(art, "hidden", [np.ones((4, 4), np.float32)])
        adam = art.group("adam")
        adam.bind([np.ones(5, np.float32)], [np.ones(5, np.float32)])
        before = hidden.params[0].copy()
        with self.assertRaisesRegex(stepc.StepcError,
                                    "state 'm' of tensor #0 is not "
                                    "initialized"):
            stepc.runtime.step_groups([hidden.group, adam])
        self.assertEqual(hidden.group.count, 0)
        np.testing.assert_array_equal(hidden.params[0], before)


if __name__ == "__main__":
    unittest.main()
