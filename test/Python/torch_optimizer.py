# stepc.torch.Optimizer against independent references: torch.optim.AdamW
# (and its lr schedule), the fp64 Muon and MuonMax/MuonAdam-Momo of
# test/Numerics/reference.py (the loss as an input, sums over all groups);
# state_dict round trips; clear errors for tensors it cannot step.
#
# REQUIRES: torch
# RUN: env PYTHONPATH=%stepc_python_dir STEPC_CACHE_DIR=%t.cache \
# RUN:   %python %s %stepc_src_root -v 2>&1 | FileCheck %s
# CHECK: Ran {{[0-9]+}} tests
# CHECK: OK

import copy
import io
import pathlib
import sys
import tempfile
import unittest

import numpy as np
import torch

SRC = pathlib.Path(sys.argv.pop(1))
sys.path.insert(0, str(SRC / "test" / "Numerics"))
import reference  # noqa: E402
import stepc.torch  # noqa: E402

SPECS = SRC / "examples" / "specs"


def model(seed=0, device="cpu"):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(12, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, 5)).to(device)


def data(seed=1, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 12, generator=generator)
    return x.to(device), torch.randn(64, 5, generator=generator).to(device)


def device_of(net):
    return next(net.parameters()).device


def train(net, optimizer, steps, scheduler=None, start=0):
    x, y = data(device=device_of(net))
    losses = []
    for step in range(start, start + steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


def max_relative_change_error(net, reference_net, initial):
    worst = 0.0
    for p, q, p0 in zip(net.parameters(), reference_net.parameters(), initial):
        expected = (q - p0).double()
        worst = max(worst, ((p - p0).double() - expected).norm().item()
                    / max(expected.norm().item(), 1e-30))
    return worst


def split(net):
    matrices = [p for p in net.parameters() if p.ndim == 2]
    others = [p for p in net.parameters() if p.ndim != 2]
    return matrices, others


def adamw_and_torch():
    """Two copies of one model, the first stepped by stepc's AdamW, the
    second by torch's with the same hypers; the first's initial values."""
    ours, theirs = model(), model()
    initial = [p.detach().clone() for p in ours.parameters()]
    opt = stepc.torch.Optimizer(ours.parameters(), SPECS / "adamw.mlir",
                                lr=1e-2, wd=0.1)
    ref = torch.optim.AdamW(theirs.parameters(), lr=1e-2, weight_decay=0.1)
    return ours, theirs, initial, opt, ref


class MatchesReferences(unittest.TestCase):
    def test_adamw_matches_torch_with_a_schedule(self):
        ours, theirs, initial, opt, ref = adamw_and_torch()
        # lr is a runtime scalar: the schedule changes it every step.
        train(ours, opt, 8, torch.optim.lr_scheduler.StepLR(opt, 2, 0.5))
        train(theirs, ref, 8, torch.optim.lr_scheduler.StepLR(ref, 2, 0.5))
        self.assertAlmostEqual(opt.param_groups[0]["lr"], 1e-2 / 16)
        self.assertLess(max_relative_change_error(ours, theirs, initial), 2e-5)
        # Without the schedule the result must differ (the test can fail).
        plain = model()
        train(plain, stepc.torch.Optimizer(plain.parameters(),
                                           SPECS / "adamw.mlir", lr=1e-2,
                                           wd=0.1), 8)
        self.assertGreater(max_relative_change_error(plain, theirs, initial),
                           1e-2)

    def test_muon_groups_match_fp64_reference(self):
        muon_matches_fp64_reference(self, "cpu")


def muon_matches_fp64_reference(test, device):
    """Muon's two groups against the fp64 reference of test/Numerics."""
    presets = {(p.spec, p.group): p for p in reference.PRESETS
               if not p.variant}
    hidden, adamw = presets["muon", "hidden"], presets["muon", "adamw"]
    net = model(device=device)
    matrices, others = split(net)
    opt = stepc.torch.Optimizer(
        [{"params": matrices, "group": "hidden", **hidden.hyper},
         {"params": others, "group": "adamw", **adamw.hyper}],
        SPECS / "muon.mlir")
    ref = {p: host(p) for p in net.parameters()}
    initial = {p: v.copy() for p, v in ref.items()}
    preset_of = {p: hidden if p.ndim == 2 else adamw
                 for p in net.parameters()}
    states = {p: preset_of[p].init(v) for p, v in ref.items()}
    x, y = data(device=device)
    for t in range(1, 6):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        for p in net.parameters():
            preset = preset_of[p]
            ref[p] = preset.step(ref[p], host(p.grad), states[p],
                                 preset.hyper, t)
        opt.step()
    # Matrices: Newton–Schulz rounds its inputs to bf16, hence the
    # looser bound of test/Numerics/presets.py.
    for p in net.parameters():
        expected = ref[p] - initial[p]
        error = np.linalg.norm(host(p) - initial[p] - expected) / \
            np.linalg.norm(expected)
        test.assertLess(error, 1e-1 if p.ndim == 2 else 1e-4)
    return opt


def host(tensor):
    """A tensor's values as a float64 NumPy copy, from any device."""
    return tensor.detach().double().cpu().numpy().copy()


def f32_polar_spec(name):
    """The example spec with Newton–Schulz computing in f32 (the same
    polynomial), so that the fp64 reference bounds it tightly."""
    text = (SPECS / f"{name}.mlir").read_text()
    assert "mode(clamp) :" in text
    path = pathlib.Path(tempfile.mkdtemp()) / f"{name}.mlir"
    path.write_text(text.replace("mode(clamp) :", "mode(clamp) compute(f32) :"))
    return path


class GlobalSums(unittest.TestCase):
    """Specs whose sums span every param group, with the loss an input."""

    def make(self, net, name="muonmax_momo", lr=0.05):
        return make_momo(net, name, lr)

    def test_momo_matches_fp64_reference(self):
        momo_matches_fp64_reference(self, "cpu")

    def test_a_missing_loss_is_refused(self):
        net = model()
        opt = self.make(net)
        x, y = data()
        torch.nn.functional.mse_loss(net(x), y).backward()
        before = [p.detach().clone() for p in net.parameters()]
        with self.assertRaisesRegex(
                ValueError, "spec 'muonmax_momo' needs input 'loss' at every "
                "step: call step\(closure\) with a closure that returns the "
                "loss, or step\(loss=...\)"):
            opt.step()
        with self.assertRaisesRegex(ValueError, "step\(\) got input 'lss', "
                                    "which no spec group stepped here has "
                                    "\(their inputs: loss\)"):
            opt.step(lss=1.0)
        for p, q in zip(net.parameters(), before):
            self.assertTrue(torch.equal(p, q))
            self.assertNotIn("step", opt.state[p])
        with self.assertRaisesRegex(ValueError, "no spec group stepped in "
                                    "the last step sums 'nuclear'"):
            opt.total("nuclear")
        opt.step(loss=1.0)
        self.assertEqual(float(opt.state[net[0].weight]["step"]), 1.0)


def momo_matches_fp64_reference(test, device):
    """MuonMax-Momo and MuonAdam-Momo (sums over both groups, the loss
    an input) against the fp64 reference."""
    for name in ("muonmax_momo", "muonadam_momo"):
        net = model(device=device)
        matrices, others = split(net)
        opt = make_momo(net, name)
        ref = reference.MuonMaxMomo(
            [host(p) for p in matrices],
            [host(p) for p in others], lr=0.05,
            muonadam=name == "muonadam_momo")
        initial = [host(p) for p in matrices + others]
        x, y = data(device=device)

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward()
            return loss

        for t in range(5):
            if t < 3:  # the loss from the closure ...
                loss = opt.step(closure).item()
            else:  # ... or given
                loss = closure().item()
                opt.step(loss=loss)
            ref.step([host(p.grad) for p in matrices],
                     [host(p.grad) for p in others], loss)
        for p, want, p0 in zip(matrices + others, ref.W + ref.P, initial):
            expected = want - p0
            error = (np.linalg.norm(host(p) - p0 - expected) /
                     np.linalg.norm(expected))
            test.assertLess(error, 1e-4, f"{name}: {tuple(p.shape)}")
        # One sum over both groups: the Adam dual norm is not zero.
        test.assertGreater(opt.total("adam_dual"), 0.0)
        test.assertGreater(opt.total("nuclear"), 0.0)


def make_momo(net, name="muonmax_momo", lr=0.05):
    matrices, others = split(net)
    return stepc.torch.Optimizer(
        [{"params": matrices, "group": "hidden"},
         {"params": others, "group": "adam"}], f32_polar_spec(name), lr=lr)


class ConvFilters(unittest.TestCase):
    def test_adamp_sees_a_conv_filter_as_out_by_rest(self):
        # clovaai/AdamP views a conv weight as (out_channels, -1); a matrix
        # group binds it so, and the update matches the reference on that
        # view (bias: the plain Adam group).
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(3, 8, 3)
        w0 = conv.weight.detach().double().numpy().reshape(8, -1).copy()
        opt = stepc.torch.Optimizer(
            [{"params": [conv.weight], "group": "matrices", "wd": 0.1},
             {"params": [conv.bias], "group": "others"}],
            SPECS / "adamp.mlir")
        hyper = {"lr": 1e-3, "wd": 0.1}
        ref, state = w0.copy(), reference.moments(w0)
        step = reference.adamp_step(project=True)
        x = torch.randn(4, 3, 10, 10)
        for t in range(1, 6):
            opt.zero_grad()
            conv(x).square().mean().backward()
            ref = step(ref, conv.weight.grad.double().numpy().reshape(8, -1),
                       state, hyper, t)
            opt.step()
        self.assertEqual(tuple(opt.state[conv.weight]["m"].shape), (8, 27))
        got = conv.weight.detach().double().numpy().reshape(8, -1)
        self.assertLess(np.linalg.norm((got - w0) - (ref - w0)) /
                        np.linalg.norm(ref - w0), 1e-4)


def make_muon(net):
    matrices, others = split(net)
    return stepc.torch.Optimizer(
        [{"params": matrices, "group": "hidden"},
         {"params": others, "group": "adamw"}], SPECS / "muon.mlir")


def resume_is_exact(test, device):
    """Six steps straight equal four, a checkpoint through torch.save into
    another model and optimizer, and two more."""
    straight = model(device=device)
    train(straight, make_muon(straight), 6)
    resumed = model(device=device)
    first = make_muon(resumed)
    train(resumed, first, 4)
    buffer = io.BytesIO()
    torch.save({"model": resumed.state_dict(),
                "optimizer": first.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    again = model(seed=99, device=device)  # different weights until loaded
    again.load_state_dict(saved["model"])
    second = make_muon(again)
    second.load_state_dict(saved["optimizer"])
    train(again, second, 2, start=4)
    for p, q in zip(straight.parameters(), again.parameters()):
        test.assertTrue(torch.equal(p, q))
    state = second.state[next(again.parameters())]
    test.assertEqual(float(state["step"]), 6.0)
    test.assertEqual(set(state), {"m", "step"})


class StateDicts(unittest.TestCase):
    def test_resume_through_torch_save_is_exact(self):
        resume_is_exact(self, "cpu")

    def test_bf16_state_survives_a_round_trip(self):
        spec = (SPECS / "adamw.mlir").read_text().replace(
            "%v : tensor<?xf32> = zeros", "%v : tensor<?xf32> = zeros store(bf16)")
        path = pathlib.Path(tempfile.mkdtemp()) / "adamw_bf16_v.mlir"
        path.write_text(spec)
        net = model()
        opt = stepc.torch.Optimizer(net.parameters(), path, lr=1e-2)
        train(net, opt, 3)
        p = next(net.parameters())
        self.assertEqual(opt.state[p]["v"].dtype, torch.bfloat16)
        self.assertEqual(opt.state[p]["m"].dtype, torch.float32)
        saved = copy.deepcopy(opt.state_dict())
        other = stepc.torch.Optimizer(net.parameters(), path, lr=1e-2)
        other.load_state_dict(saved)
        train(net, other, 1)
        self.assertEqual(other.state[p]["v"].dtype, torch.bfloat16)

    def test_state_dict_from_another_spec_is_refused(self):
        net = model()
        adamw = stepc.torch.Optimizer(net.parameters(), SPECS / "adamw.mlir")
        train(net, adamw, 1)
        lion = stepc.torch.Optimizer(net.parameters(), SPECS / "lion.mlir")
        with self.assertRaisesRegex(
                ValueError, "saved by spec 'adamw' with groups \\['all'\\]; "
                "this optimizer runs spec 'lion'"):
            lion.load_state_dict(adamw.state_dict())
        with self.assertRaisesRegex(ValueError, "not saved by stepc"):
            lion.load_state_dict(torch.optim.SGD(net.parameters(),
                                                 lr=0.1).state_dict())


class Behaviour(unittest.TestCase):
    def test_a_parameter_without_grad_keeps_its_own_count(self):
        a = torch.nn.Parameter(torch.ones(3))
        b = torch.nn.Parameter(torch.ones(3))
        opt = stepc.torch.Optimizer([a, b], SPECS / "adamw.mlir", lr=0.1)
        a.grad = torch.ones(3)
        opt.step()
        b.grad = torch.ones(3)
        opt.step()
        self.assertEqual(float(opt.state[a]["step"]), 2.0)
        self.assertEqual(float(opt.state[b]["step"]), 1.0)
        # b's first step is a first AdamW step: exactly lr * (1 - lr*wd)...
        expected = torch.optim.AdamW([torch.nn.Parameter(torch.ones(3))],
                                     lr=0.1, weight_decay=1e-2)
        q = expected.param_groups[0]["params"][0]
        q.grad = torch.ones(3)
        expected.step()
        self.assertTrue(torch.allclose(b, q, rtol=1e-6))

    # A step like the last one skips most per-tensor checks; what changed
    # between steps must still be seen. Each case runs stepc's AdamW and
    # torch's in lockstep and makes the same change to both.
    def lockstep(self, change):
        ours, theirs, initial, opt, ref = adamw_and_torch()
        train(ours, opt, 3)
        train(theirs, ref, 3)
        change(opt, ref, list(ours.parameters()), list(theirs.parameters()))
        train(ours, opt, 3)
        train(theirs, ref, 3)
        return max_relative_change_error(ours, theirs, initial)

    def test_state_replaced_between_steps_is_stepped(self):
        def reset_first_moments(opt, ref, ours, theirs):
            for p, q in zip(ours, theirs):
                opt.state[p]["m"] = torch.zeros_like(p)
                ref.state[q]["exp_avg"] = torch.zeros_like(q)
        self.assertLess(self.lockstep(reset_first_moments), 2e-5)
        # Unseen, the reset would leave a different result.
        self.assertGreater(self.lockstep(
            lambda opt, ref, ours, theirs: [
                ref.state[q].__setitem__("exp_avg", torch.zeros_like(q))
                for q in theirs]), 1e-3)

    def test_step_counts_edited_in_place_are_used(self):
        def restart_counts(opt, ref, ours, theirs):
            # One parameter's count apart from the others'.
            for i, (p, q) in enumerate(zip(ours, theirs)):
                opt.state[p]["step"].fill_(1.0 if i == 0 else 0.0)
                ref.state[q]["step"].fill_(1.0 if i == 0 else 0.0)
        self.assertLess(self.lockstep(restart_counts), 2e-5)

    def test_a_wrong_grad_after_steps_is_refused(self):
        p = torch.nn.Parameter(torch.ones(4, 4))
        opt = stepc.torch.Optimizer([p], SPECS / "adamw.mlir")
        for _ in range(2):
            p.grad = torch.ones(4, 4)
            opt.step()
        p.grad = torch.ones(8, 4)[::2]
        with self.assertRaisesRegex(ValueError, "the gradient of parameter "
                                    "#0 .*contiguous: False"):
            opt.step()

    def test_defaults_come_from_the_spec(self):
        net = model()
        opt = stepc.torch.Optimizer(net.parameters(), SPECS / "adamw.mlir")
        self.assertEqual(opt.param_groups[0]["lr"], 1e-3)
        self.assertAlmostEqual(opt.param_groups[0]["wd"], 1e-2)
        self.assertEqual(opt.param_groups[0]["group"], "all")


def grad_scaler(init_scale):
    """torch.amp.GradScaler("cuda", ...), or torch.cuda.amp's on torch 1.x."""
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", init_scale=init_scale)
    return torch.cuda.amp.GradScaler(init_scale=init_scale)


@unittest.skipUnless(torch.cuda.is_available(), "no CUDA device")
class OnCuda(unittest.TestCase):
    """CUDA parameters: the artifact's kernels step them, one launch per
    (param group, dtype) per step, on torch's current stream, with the
    state on the device."""

    def test_adamw_matches_torch_with_a_schedule(self):
        ours, theirs = model(device="cuda"), model(device="cuda")
        initial = [p.detach().clone() for p in ours.parameters()]
        opt = stepc.torch.Optimizer(ours.parameters(), SPECS / "adamw.mlir",
                                    lr=1e-2, wd=0.1)
        ref = torch.optim.AdamW(theirs.parameters(), lr=1e-2,
                                weight_decay=0.1)
        schedule = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)
        train(ours, opt, 1, schedule)
        (runner,) = opt._last_step
        first = runner.launch_count
        train(ours, opt, 7, schedule, start=1)
        train(theirs, ref, 8, torch.optim.lr_scheduler.StepLR(ref, 2, 0.5))
        self.assertLess(max_relative_change_error(ours, theirs, initial), 2e-5)
        self.assertEqual(runner.launch_count - first, 7)
        for p in ours.parameters():
            self.assertEqual(opt.state[p]["m"].device, p.device)

    def test_muon_groups_match_fp64_reference(self):
        opt = muon_matches_fp64_reference(self, "cuda")
        self.assertEqual([r.launch_count > 0 for r in opt._last_step],
                         [True, True])

    def test_momo_matches_fp64_reference(self):
        momo_matches_fp64_reference(self, "cuda")

    def test_half_params_match_the_cpu_code(self):
        # The same artifact's CPU code on the same values: the kernel must
        # round into bf16 and f16 as the CPU code does (within an ulp).
        for dtype in (torch.bfloat16, torch.float16):
            generator = torch.Generator().manual_seed(3)
            values = torch.randn(40, 24, generator=generator) * 0.1
            grads = [torch.randn(40, 24, generator=generator) * 0.01
                     for _ in range(4)]
            results = []
            for device in ("cpu", "cuda"):
                p = torch.nn.Parameter(values.to(device, dtype))
                opt = stepc.torch.Optimizer([p], SPECS / "adamw.mlir",
                                            lr=1e-2)
                for g in grads:
                    p.grad = g.to(device, dtype)
                    opt.step()
                results.append(host(p))
            change = results[0] - values.to(dtype).double().numpy()
            self.assertGreater(np.linalg.norm(change), 0.0)
            self.assertLess(np.linalg.norm(results[1] - results[0]) /
                            np.linalg.norm(change), 1e-2, str(dtype))

    def test_resume_through_torch_save_is_exact(self):
        resume_is_exact(self, "cuda")

    def test_a_cpu_checkpoint_resumes_on_cuda(self):
        straight = model()
        train(straight, stepc.torch.Optimizer(
            straight.parameters(), SPECS / "adamw.mlir", lr=1e-2), 6)
        on_cpu = model()
        first = stepc.torch.Optimizer(on_cpu.parameters(),
                                      SPECS / "adamw.mlir", lr=1e-2)
        train(on_cpu, first, 4)
        saved = copy.deepcopy(first.state_dict())
        on_cuda = copy.deepcopy(on_cpu).cuda()
        second = stepc.torch.Optimizer(on_cuda.parameters(),
                                       SPECS / "adamw.mlir", lr=1e-2)
        second.load_state_dict(saved)
        train(on_cuda, second, 2, start=4)
        p = next(on_cuda.parameters())
        self.assertEqual(second.state[p]["m"].device, p.device)
        self.assertEqual(float(second.state[p]["step"]), 6.0)
        initial = [q.detach() for q in model().parameters()]
        self.assertLess(max_relative_change_error(
            copy.deepcopy(on_cuda).cpu(), straight, initial), 1e-5)

    def test_grad_scaler_skips_the_step_with_an_inf(self):
        # torch.amp's GradScaler with stepc as with any unfused optimizer:
        # unscale_, the inf check, and no step() where a gradient is inf.
        # An f32 forward: a power-of-2 scale is then exact, and the two
        # runs see the same gradients (autocast would round them apart).
        ours, theirs = model(device="cuda"), model(device="cuda")
        initial = [p.detach().clone() for p in ours.parameters()]
        runs = [(ours, stepc.torch.Optimizer(ours.parameters(),
                                             SPECS / "adamw.mlir", lr=1e-2)),
                (theirs, torch.optim.AdamW(theirs.parameters(), lr=1e-2,
                                           weight_decay=1e-2))]
        x, y = data(device="cuda")
        for net, opt in runs:
            scaler = grad_scaler(2.0 ** 12)
            for step in range(5):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(net(x), y)
                scaler.scale(loss).backward()
                if step == 2:
                    net[0].weight.grad[0, 0] = float("inf")
                scaler.step(opt)
                scaler.update()
            self.assertEqual(scaler.get_scale(), 2.0 ** 11)
        self.assertEqual(float(runs[0][1].state[ours[0].weight]["step"]), 4.0)
        self.assertLess(max_relative_change_error(ours, theirs, initial), 2e-5)

    def test_a_group_on_two_devices_is_refused(self):
        a = torch.nn.Parameter(torch.ones(3))
        b = torch.nn.Parameter(torch.ones(3, device="cuda"))
        with self.assertRaisesRegex(ValueError, "param group 0 has parameters "
                                    "on cpu, cuda:0; put each param group's "
                                    "parameters on one device"):
            stepc.torch.Optimizer([a, b], SPECS / "adamw.mlir")


class Errors(unittest.TestCase):
    def test_dtype(self):
        p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        with self.assertRaisesRegex(TypeError, "parameter #0 of param group 0 "
                                    "has dtype torch.float64"):
            stepc.torch.Optimizer([p], SPECS / "adamw.mlir")

    def test_device(self):
        p = torch.nn.Parameter(torch.ones(3, device="meta"))
        with self.assertRaisesRegex(ValueError, "is on meta; stepc steps CPU "
                                    "and CUDA tensors"):
            stepc.torch.Optimizer([p], SPECS / "adamw.mlir")

    def test_contiguity(self):
        p = torch.nn.Parameter(torch.ones(4, 6).t())
        with self.assertRaisesRegex(ValueError, "is not contiguous"):
            stepc.torch.Optimizer([p], SPECS / "adamw.mlir")

    def test_a_parameter_made_non_contiguous_after_a_step(self):
        p = torch.nn.Parameter(torch.ones(4, 6))
        opt = stepc.torch.Optimizer([p], SPECS / "adamw.mlir")
        p.grad = torch.ones(4, 6)
        opt.step()
        p.data = p.data.t()  # the same address, another layout
        p.grad = torch.ones(6, 4)
        with self.assertRaisesRegex(ValueError, "parameter #0 of param group "
                                    "0 is not contiguous"):
            opt.step()

    def test_non_contiguous_grad(self):
        p = torch.nn.Parameter(torch.ones(4, 4))
        opt = stepc.torch.Optimizer([p], SPECS / "adamw.mlir")
        p.grad = torch.ones(8, 4)[::2]
        with self.assertRaisesRegex(ValueError, "gradient of parameter #0 .*"
                                    "contiguous: False"):
            opt.step()

    def test_sparse_grad(self):
        p = torch.nn.Parameter(torch.ones(3))
        opt = stepc.torch.Optimizer([p], SPECS / "adamw.mlir")
        p.grad = torch.sparse_coo_tensor(torch.tensor([[0]]),
                                         torch.tensor([1.0]), (3,))
        with self.assertRaisesRegex(ValueError, "parameter #0 of param group "
                                    "0 has a sparse gradient"):
            opt.step()
        self.assertTrue(torch.equal(p, torch.ones(3)))

    def test_parameter_that_fits_no_group(self):
        bias = torch.nn.Parameter(torch.ones(5))
        with self.assertRaisesRegex(ValueError, "param group 0 \\(spec group "
                                    "'hidden'\\): .*"):
            stepc.torch.Optimizer([{"params": [bias], "group": "hidden"}],
                                  SPECS / "muon.mlir")

    def test_group_not_named(self):
        with self.assertRaisesRegex(ValueError, "names no spec group; the spec "
                                    "'muon' has several: hidden, adamw"):
            stepc.torch.Optimizer(model().parameters(), SPECS / "muon.mlir")

    def test_unknown_spec_group(self):
        with self.assertRaisesRegex(ValueError, "names spec group 'embed', but "
                                    "the spec 'muon' has only: hidden, adamw"):
            stepc.torch.Optimizer([{"params": model().parameters(),
                                    "group": "embed"}], SPECS / "muon.mlir")

    def test_unknown_hyper(self):
        with self.assertRaisesRegex(ValueError, "sets 'weight_decay', which "
                                    "spec group 'all' does not have \\(its "
                                    "hypers: lr, wd\\)"):
            stepc.torch.Optimizer([{"params": model().parameters(),
                                    "weight_decay": 0.1}],
                                  SPECS / "adamw.mlir")
        with self.assertRaisesRegex(ValueError, "weight_decay=0.1 is a hyper "
                                    "of no spec group in use \\(all\\)"):
            stepc.torch.Optimizer(model().parameters(), SPECS / "adamw.mlir",
                                  weight_decay=0.1)


if __name__ == "__main__":
    unittest.main()
