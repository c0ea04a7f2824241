"""fp64 reference implementations of every example preset.

Written from shared/ALGORITHMS.md (section numbers below), never from stepc's
code. Each preset is a function ``step(param, grad, state, hyper, t)`` that
returns the new param and updates ``state`` (a dict of arrays) in place;
``init(param)`` gives the initial state. Arrays are float64; matrices are
m x n (rows = output neurons).
"""

import math

import numpy as np

# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------

KELLER_NS5 = [(3.4445, -4.7750, 2.0315)]
POLAR_EXPRESS = [
    (8.156554524902461, -22.48329292557795, 15.878769915207462),
    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323),
]


def newton_schulz(g, coefficients, steps=5, safety=1.0, eps=1e-7):
    """§4.1/§4.5: X0 = G/(s‖G‖+eps); tall inputs transposed; odd quintic."""
    x = g / (safety * np.linalg.norm(g) + eps)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    for k in range(steps):
        a, b, c = coefficients[min(k, len(coefficients) - 1)]
        gram = x @ x.T
        poly = b * gram + c * gram @ gram
        x = a * x + poly @ x
    return x.T if tall else x


def keller_scale(m, n):
    return math.sqrt(max(1.0, m / n))


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Preset:
    """A group of an example spec: its initial state and its step."""

    def __init__(self, spec, group, matrix, hyper, init, step, ns=False,
                 variant="", edits=(), bf16_states=(), wide_only=False,
                 uncompared=()):
        self.spec, self.group, self.matrix = spec, group, matrix
        self.hyper, self.init, self.step, self.ns = hyper, init, step, ns
        # A variant runs the spec with textual `edits` (old, new) applied,
        # to check what no example uses as written; `bf16_states` are
        # stored as bf16 between steps (computed in full precision).
        self.variant, self.edits, self.bf16_states = variant, edits, bf16_states
        # wide_only: the update is only defined for m <= n (ARO: a tall
        # matrix leaves part of the rotation to rounding). uncompared: states
        # defined only up to signs (ARO's rotation), so not compared.
        self.wide_only, self.uncompared = wide_only, uncompared


# --------------------------------------------------------------------------
# §1 AdamW (PyTorch), §2 SGD-Nesterov, §3 Lion
# --------------------------------------------------------------------------

def adamw_step(b1, b2, eps, eps_before_correction=False, decay=True):
    def step(p, g, s, h, t):
        if decay:
            p = p * (1 - h["lr"] * h["wd"])
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        c1, c2 = 1 - b1**t, 1 - b2**t
        if eps_before_correction:  # Moonlight §4.3: (m/c1)·sqrt(c2)/(sqrt(v)+ε)
            direction = (s["m"] / c1) * math.sqrt(c2) / (np.sqrt(s["v"]) + eps)
        else:  # PyTorch: (m/c1)/(sqrt(v)/sqrt(c2) + ε)
            direction = (s["m"] / c1) / (np.sqrt(s["v"]) / math.sqrt(c2) + eps)
        return p - h["lr"] * direction
    return step


def moments(p):
    return {"m": np.zeros_like(p), "v": np.zeros_like(p)}


def sgd_nesterov_step(p, g, s, h, t):
    mu = 0.9
    g = g + h["wd"] * p
    s["b"] = g.copy() if t == 1 else mu * s["b"] + g
    return p - h["lr"] * (g + mu * s["b"])


def lion_step(p, g, s, h, t):
    p = p * (1 - h["lr"] * h["wd"])
    c = 0.9 * s["m"] + 0.1 * g
    p = p - h["lr"] * np.sign(c)
    s["m"] = 0.99 * s["m"] + 0.01 * g
    return p


# --------------------------------------------------------------------------
# §4 Muon variants, §6 NorMuon
# --------------------------------------------------------------------------

def muon_step(coefficients, safety=1.0, heavy_ball=False, moonlight_scale=False):
    beta = 0.95

    def step(p, g, s, h, t):
        m, n = p.shape
        if heavy_ball:  # §4.3: M ← μM + G, U = G + μM
            s["m"] = beta * s["m"] + g
            u = g + beta * s["m"]
        else:  # §4.1: EMA, U = (1−β)G + βM
            s["m"] = beta * s["m"] + (1 - beta) * g
            u = (1 - beta) * g + beta * s["m"]
        o = newton_schulz(u, coefficients, safety=safety)
        scale = 0.2 * math.sqrt(max(m, n)) if moonlight_scale else keller_scale(m, n)
        p = p * (1 - h["lr"] * h["wd"])
        return p - h["lr"] * scale * o
    return step


def normuon_step(p, g, s, h, t, short_axis=False):
    """short_axis: nanochat's orientation, one value per element of the
    longer axis (rows when m >= n, else columns), held as a vector."""
    m, n = p.shape
    s["m"] = 0.95 * s["m"] + 0.05 * g
    u = 0.05 * g + 0.95 * s["m"]
    o = newton_schulz(u, KELLER_NS5)
    vnorm = np.linalg.norm(o)
    if short_axis:
        per_row = m >= n
        s["v"] = 0.95 * s["v"] + 0.05 * np.mean(o * o, axis=1 if per_row else 0)
        v = s["v"][:, None] if per_row else s["v"][None, :]
    else:
        s["v"] = 0.95 * s["v"] + 0.05 * np.mean(o * o, axis=1, keepdims=True)
        v = s["v"]
    o = o / (np.sqrt(v) + 1e-10)
    o = o * vnorm / (np.linalg.norm(o) + 1e-10)
    o = o * keller_scale(m, n)
    p = p * (1 - h["lr"] * h["wd"])
    return p - h["lr"] * o


# --------------------------------------------------------------------------
# §7 REG (stepc's definition), §9 SinkGD
# --------------------------------------------------------------------------

def reg_step(p, g, s, h, t):
    s["m"] = 0.95 * s["m"] + 0.05 * g
    r = np.maximum(np.linalg.norm(s["m"], axis=1, keepdims=True), 1e-8)
    c = np.maximum(np.linalg.norm(s["m"], axis=0, keepdims=True), 1e-8)
    racs = s["m"] / (np.sqrt(r) * np.sqrt(c))
    rms = math.sqrt(np.mean(racs * racs))
    u = 0.2 * racs / max(rms, 1e-8)
    p = p * (1 - h["lr"] * h["wd"])
    return p - h["lr"] * u


def sinkgd_step(p, g, s, h, t):
    m, n = p.shape
    x = g
    for _ in range(5):
        x = math.sqrt(n) * x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
        x = math.sqrt(m) * x / np.maximum(np.linalg.norm(x, axis=0, keepdims=True), 1e-8)
    return p - h["lr"] * x


# --------------------------------------------------------------------------
# §10 Magnitude–Direction decoupling, §10.1 Hyperball
# --------------------------------------------------------------------------

GAIN_INIT = math.log(math.e - 1)


def md_init(with_adam):
    def init(p):
        m, n = p.shape
        s = {"m": np.zeros_like(p)}
        if with_adam:
            s["v"] = np.zeros_like(p)
        s.update(gr=np.full((m, 1), GAIN_INIT), gc=np.full((1, n), GAIN_INIT),
                 mr=np.zeros((m, 1)), vr=np.zeros((m, 1)),
                 mc=np.zeros((1, n)), vc=np.zeros((1, n)))
        return s
    return init


def md_step(base):
    def step(p, g, s, h, t):
        m, n = p.shape
        gamma_r, gamma_c = softplus(s["gr"]), softplus(s["gc"])
        direction = p / np.maximum(gamma_r * gamma_c, 1e-8)
        dgr = np.sum(direction * g * gamma_c, axis=1, keepdims=True) * sigmoid(s["gr"])
        dgc = np.sum(direction * g * gamma_r, axis=0, keepdims=True) * sigmoid(s["gc"])
        g_dir = g * gamma_r * gamma_c
        if base == "muon":
            s["m"] = 0.95 * s["m"] + 0.05 * g_dir
            u = 0.05 * g_dir + 0.95 * s["m"]
            update = newton_schulz(u, KELLER_NS5) * math.sqrt(max(m / n, n / m))
        else:
            s["m"] = 0.9 * s["m"] + 0.1 * g_dir
            s["v"] = 0.95 * s["v"] + 0.05 * g_dir * g_dir
            c1, c2 = 1 - 0.9**t, 1 - 0.95**t
            update = (s["m"] / c1) / (np.sqrt(s["v"]) / math.sqrt(c2) + 1e-8)
        direction = direction - h["lr"] * update
        direction = math.sqrt(max(m, n)) * direction / max(np.linalg.norm(direction), 1e-12)
        for gain, grad, mom, var in (("gr", dgr, "mr", "vr"), ("gc", dgc, "mc", "vc")):
            s[mom] = 0.9 * s[mom] + 0.1 * grad
            s[var] = 0.999 * s[var] + 0.001 * grad * grad
            c1, c2 = 1 - 0.9**t, 1 - 0.999**t
            s[gain] = s[gain] - h["lr_gain"] * (s[mom] / c1) / (np.sqrt(s[var]) / math.sqrt(c2) + 1e-8)
        return softplus(s["gr"]) * direction * softplus(s["gc"])
    return step


def hyperball_init(p):
    return {"m": np.zeros_like(p), "radius": np.array(np.linalg.norm(p))}


def hyperball_step(p, g, s, h, t):
    s["m"] = 0.95 * s["m"] + 0.05 * g
    u = 0.05 * g + 0.95 * s["m"]
    o = newton_schulz(u, KELLER_NS5)
    radius = float(s["radius"])
    p = p - h["lr"] * radius * o / max(np.linalg.norm(o), 1e-10)
    return radius * p / max(np.linalg.norm(p), 1e-10)


def adamp_projection(p, g, u, delta, eps=1e-8):
    """clovaai/AdamP _projection: the projected update and which view (rows,
    layer or None) fired. cos as torch.nn.functional.cosine_similarity:
    ⟨a, b⟩ / (max(‖a‖, ε)·max(‖b‖, ε))."""
    for view, shape in (("rows", (p.shape[0], -1)), ("layer", (1, -1))):
        pv, gv, uv = p.reshape(shape), g.reshape(shape), u.reshape(shape)
        cos = np.abs((pv * gv).sum(1)) / (
            np.maximum(np.linalg.norm(gv, axis=1), eps) *
            np.maximum(np.linalg.norm(pv, axis=1), eps))
        if cos.max() < delta / math.sqrt(pv.shape[1]):
            pn = pv / (np.linalg.norm(pv, axis=1, keepdims=True) + eps)
            uv = uv - pn * (pn * uv).sum(1, keepdims=True)
            return uv.reshape(u.shape), view
    return u, None


def adamp_step(project, b1=0.9, b2=0.999, eps=1e-8):
    """clovaai/AdamP step; `project` for tensors of more than one dimension
    (the `others` group binds every tensor as elements only)."""
    def step(p, g, s, h, t):
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        u = s["m"] / (np.sqrt(s["v"]) / math.sqrt(1 - b2**t) + eps)
        ratio = 1.0
        if project:
            u, view = adamp_projection(p, g, u, h.get("delta", 0.1), eps)
            if view:
                ratio = h.get("wd_ratio", 0.1)
        p = p * (1 - h["lr"] * h.get("wd", 0.0) * ratio)
        return p - h["lr"] / (1 - b1**t) * u
    return step


# --------------------------------------------------------------------------
# §11 ARO (microsoft/dion aro.py, base_opt="row_norm", adjust_lr="rms_norm")
# --------------------------------------------------------------------------

def aro_row_norm(x):
    norms = np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)
    return math.sqrt(x.shape[-1]) * x / norms


def aro_sinkhorn(x, iters=5, eps=1e-8):
    """dion's _base_opt_sinkhorn: rows to norm √n, then columns to √m."""
    m, n = x.shape
    for _ in range(iters):
        x = x * (math.sqrt(n) / np.maximum(
            np.linalg.norm(x, axis=1, keepdims=True), eps))
        x = x * (math.sqrt(m) / np.maximum(
            np.linalg.norm(x, axis=0, keepdims=True), eps))
    return x


def sinkhorn_spec_text(result, source, iters=5):
    """The spec lines computing `result` = Sinkhorn(`source`) with
    normalize_rows / normalize_cols, as ARO-Sinkhorn writes its base fn."""
    lines, current = [], source
    for k in range(iters):
        for axis in ("rows", "cols"):
            last = k == iters - 1 and axis == "cols"
            name = result if last else f"{result}_{axis}{k}"
            lines.append(f"%{name} = step.normalize_{axis} %{current} "
                         "target(sqrt_dim) eps(1.0e-8) mode(clamp)\n"
                         "        : tensor<?x?xf32>")
            current = name
    return "\n    ".join(lines)


ARO_SINKHORN_EDITS = [
    ("%f = step.normalize_rows %rm target(sqrt_dim) eps(1.0e-8) mode(clamp)\n"
     "        : tensor<?x?xf32>", sinkhorn_spec_text("f", "rm")),
    ("%fq = step.normalize_rows %qm target(sqrt_dim) eps(1.0e-8) mode(clamp)\n"
     "        : tensor<?x?xf32>", sinkhorn_spec_text("fq", "qm")),
]


def aro_init(p):
    return {"m": np.zeros_like(p), "r": np.eye(p.shape[0])}


def aro_step(base=aro_row_norm, mu=0.95):
    def step(p, g, s, h, t):
        s["m"] = mu * s["m"] + (1 - mu) * g
        cross = s["m"] @ base(s["r"].T @ s["m"]).T
        q = np.linalg.qr(cross)[0]  # LAPACK Householder: its own signs
        s["r"] = q
        u = q @ base(q.T @ s["m"])
        scale = 0.2 * math.sqrt(max(p.shape))
        return p * (1 - h["lr"] * h["wd"]) - h["lr"] * scale * u
    return step


# --------------------------------------------------------------------------
# §8 MuonMax, MuonMax-Momo, MuonAdam-Momo (GPT-opt, all tensors together)
# --------------------------------------------------------------------------

# Polar Express as in GPT-opt polar.py: the paper's list, all divided by 1.01.
GPT_OPT_POLAR_EXPRESS = [(a / 1.01, b / 1.01, c / 1.01) for a, b, c in [
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673)]]


class MuonMaxMomo:
    """GPT-opt muonmax_momo.py (momo=False: truncate_loss=None) or, with
    muonadam, muonadam_momo.py, whose dual norm s·N + D_ad is not squared
    and whose matrix step lr_t·s·polar(M) has no N factor. Matrices W take
    the polar step, vectors P the Adam one; step() takes every gradient
    and, with momo, the loss f(W) at the current weights."""

    def __init__(self, mats, vecs, momo=True, stale=True, clamp=False,
                 lr=1e-3, wd=0.1, s=10.0, f_star=0.0, eps=1e-8,
                 muonadam=False):
        self.W = [np.asarray(x, np.float64) for x in mats]
        self.P = [np.asarray(x, np.float64) for x in vecs]
        self.momo, self.stale, self.clamp = momo, stale, clamp
        self.lr, self.wd, self.s, self.f_star, self.eps = lr, wd, s, f_star, eps
        self.muonadam = muonadam
        self.t, self.fbar, self.prev = 0, None, None
        self.M, self.m, self.v = [], [], []

    def step(self, mat_grads, vec_grads, loss=None):
        self.t += 1
        first, s, lr, eps = self.t == 1, self.s, self.lr, self.eps
        G = [np.asarray(x, np.float64) for x in mat_grads]
        H = [np.asarray(x, np.float64) for x in vec_grads]
        M = G if first else [0.95 * a + 0.05 * g for a, g in zip(self.M, G)]
        m = H if first else [0.95 * a + 0.05 * h for a, h in zip(self.m, H)]
        v = [h * h for h in H] if first else [
            0.95 * a + 0.05 * h * h for a, h in zip(self.v, H)]
        O = [newton_schulz(x, GPT_OPT_POLAR_EXPRESS, steps=5, safety=1.01,
                           eps=0.0) for x in M]
        fresh = [(x * o).sum() for x, o in zip(M, O)]
        N = sum(fresh if first or not self.stale else self.prev)
        D = [a / (np.sqrt(b) + eps) for a, b in zip(m, v)]
        lr_t = lr
        if self.momo:
            A = sum((w * g).sum() for w, g in zip(self.W + self.P, G + H))
            B = sum((w * d).sum() for w, d in zip(self.W + self.P, M + m))
            dad = sum((a * d).sum() for a, d in zip(m, D))
            model = loss - A
            self.fbar = model if first else 0.95 * self.fbar + 0.05 * model
            dual = s * N + dad if self.muonadam else s * N * N + dad
            lr_t = min((self.fbar - self.f_star + B) / dual, lr)
            if self.clamp:
                lr_t = max(lr_t, 0.0)
        factor = s if self.muonadam else s * N
        self.W = [w * (1 - lr * self.wd) - lr_t * factor * o
                  for w, o in zip(self.W, O)]
        self.P = [p * (1 - lr * self.wd) - lr_t * d
                  for p, d in zip(self.P, D)]
        self.M, self.m, self.v, self.prev = M, m, v, fresh


# --------------------------------------------------------------------------
# The presets: every group of every example spec
# --------------------------------------------------------------------------

def zeros_like_state(name):
    return lambda p: {name: np.zeros_like(p)}


PRESETS = [
    Preset("adamw", "all", False, {"lr": 1e-3, "wd": 1e-2}, moments,
           adamw_step(0.9, 0.999, 1e-8)),
    Preset("sgd_nesterov", "all", False, {"lr": 1e-3, "wd": 0.05},
           zeros_like_state("b"), sgd_nesterov_step),
    Preset("lion", "all", False, {"lr": 1e-4, "wd": 0.1},
           zeros_like_state("m"), lion_step),
    Preset("muon", "hidden", True, {"lr": 0.02, "wd": 0.01},
           zeros_like_state("m"), muon_step(KELLER_NS5), ns=True),
    Preset("muon", "adamw", False, {"lr": 3e-4, "wd": 0.01}, moments,
           adamw_step(0.9, 0.95, 1e-10)),
    Preset("muon_polar_express", "hidden", True, {"lr": 0.02, "wd": 0.01},
           zeros_like_state("m"), muon_step(POLAR_EXPRESS, safety=1.01), ns=True),
    Preset("moonlight_muon", "hidden", True, {"lr": 1e-3, "wd": 0.1},
           zeros_like_state("m"),
           muon_step(KELLER_NS5, heavy_ball=True, moonlight_scale=True), ns=True),
    Preset("moonlight_muon", "adamw", False, {"lr": 1e-3, "wd": 0.1}, moments,
           adamw_step(0.9, 0.95, 1e-8, eps_before_correction=True)),
    Preset("normuon", "hidden", True, {"lr": 0.02, "wd": 0.01},
           lambda p: {"m": np.zeros_like(p), "v": np.zeros((p.shape[0], 1))},
           normuon_step, ns=True),
    Preset("reg", "hidden", True, {"lr": 1e-3, "wd": 0.1},
           zeros_like_state("m"), reg_step),
    Preset("sinkgd", "hidden", True, {"lr": 1e-3}, lambda p: {}, sinkgd_step),
    Preset("sinkgd", "adam", False, {"lr": 2e-2}, moments,
           adamw_step(0.9, 0.999, 1e-8, decay=False)),
    Preset("muon_md", "hidden", True, {"lr": 1e-2, "lr_gain": 1e-3},
           md_init(False), md_step("muon"), ns=True),
    Preset("adam_md", "hidden", True, {"lr": 1e-3, "lr_gain": 1e-3},
           md_init(True), md_step("adam")),
    Preset("hyperball", "hidden", True, {"lr": 0.02}, hyperball_init,
           hyperball_step, ns=True),
    Preset("hyperball", "adam", False, {"lr": 3e-4}, moments,
           adamw_step(0.9, 0.95, 1e-10, decay=False)),
    # The auxiliary AdamW groups of the other matrix presets.
    Preset("muon_polar_express", "adamw", False, {"lr": 3e-4, "wd": 0.01},
           moments, adamw_step(0.9, 0.95, 1e-10)),
    # Variants of the examples for features none of them uses as written.
    Preset("normuon", "hidden", True, {"lr": 0.02, "wd": 0.01},
           lambda p: {"m": np.zeros_like(p), "v": np.zeros(max(p.shape))},
           lambda p, g, s, h, t: normuon_step(p, g, s, h, t, short_axis=True),
           ns=True, variant="short_axis",
           edits=[("tensor<?x1xf32>", "tensor<?xf32>"),
                  ("reduce(rows)", "reduce(short_axis)")]),
    Preset("adamw", "all", False, {"lr": 1e-3, "wd": 1e-2}, moments,
           adamw_step(0.9, 0.999, 1e-8), variant="bf16_state",
           edits=[("= zeros,", "= zeros store(bf16),"),
                  ("= zeros)", "= zeros store(bf16))")],
           bf16_states=("m", "v")),
    Preset("normuon", "adamw", False, {"lr": 3e-4, "wd": 0.01}, moments,
           adamw_step(0.9, 0.95, 1e-10)),
    Preset("reg", "adamw", False, {"lr": 1e-3, "wd": 0.1}, moments,
           adamw_step(0.9, 0.999, 1e-8)),
    Preset("muon_md", "adamw", False, {"lr": 1e-3, "wd": 0.01}, moments,
           adamw_step(0.9, 0.95, 1e-8)),
    Preset("adam_md", "adamw", False, {"lr": 1e-3, "wd": 0.01}, moments,
           adamw_step(0.9, 0.95, 1e-8)),
    Preset("aro", "hidden", True, {"lr": 0.01, "wd": 0.01}, aro_init,
           aro_step(), wide_only=True, uncompared=("r",)),
    # ARO-Sinkhorn, the paper's strongest variant, from the same spec.
    Preset("aro", "hidden", True, {"lr": 0.01, "wd": 0.01}, aro_init,
           aro_step(aro_sinkhorn), wide_only=True, uncompared=("r",),
           variant="sinkhorn", edits=ARO_SINKHORN_EDITS),
    Preset("aro", "adamw", False, {"lr": 0.01, "wd": 0.01}, moments,
           adamw_step(0.9, 0.95, 1e-8)),
    Preset("adamp", "matrices", True, {"lr": 1e-3, "wd": 0.1}, moments,
           adamp_step(project=True)),
    Preset("adamp", "others", False, {"lr": 1e-3, "wd": 0.1}, moments,
           adamp_step(project=False)),
]


def clip_adamw(params, grads, steps, lr=1e-3, wd=1e-2, max_norm=1.0):
    """AdamW after global gradient-norm clipping (PyTorch clip_grad_norm_
    and AdamW, shared ALGORITHMS.md §8): the params after `steps` steps and
    each step's total squared gradient norm."""
    p = [x.astype(np.float64) for x in params]
    m = [np.zeros_like(x) for x in p]
    v = [np.zeros_like(x) for x in p]
    totals = []
    for t in range(1, steps + 1):
        g = [x.astype(np.float64) for x in grads[t - 1]]
        total = sum((x * x).sum() for x in g)
        totals.append(total)
        coef = min(1.0, max_norm / (np.sqrt(total) + 1e-6))
        for i in range(len(p)):
            gc = coef * g[i]
            p[i] = p[i] * (1 - lr * wd)
            m[i] = 0.9 * m[i] + 0.1 * gc
            v[i] = 0.999 * v[i] + 0.001 * gc * gc
            denom = np.sqrt(v[i]) / np.sqrt(1 - 0.999 ** t) + 1e-8
            p[i] = p[i] - lr * (m[i] / (1 - 0.9 ** t)) / denom
    return p, totals
