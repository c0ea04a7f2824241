#!/usr/bin/env python3
"""The character-level MLP of char_mlp.cpp in NumPy, stepped by stepc.

    PYTHONPATH=build/python python3 examples/char_mlp/train.py \\
        examples/specs/muon.mlir --lr-matrix 0.03 --lr-other 3e-3

Same model and routing as the C++ trainer: the two weight matrices go to
the spec's matrix group ("hidden"), the embedding and biases to its other
group; a one-group spec takes everything. With --torch the model is a
torch.nn.Module trained by stepc.torch.Optimizer instead.
"""

import argparse
import pathlib
import sys

import numpy as np

import stepc

CONTEXT, EMBED, HIDDEN, BATCH = 8, 12, 128, 128
HERE = pathlib.Path(__file__).resolve().parent


def read_corpus(path):
    text = pathlib.Path(path).read_text()
    alphabet = sorted(set(text))
    index = {c: i for i, c in enumerate(alphabet)}
    tokens = np.array([index[c] for c in text], dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(tokens, CONTEXT + 1)
    return len(alphabet), windows[:, :CONTEXT], windows[:, CONTEXT]


def route(groups, matrix_group, other_group):
    if len(groups) == 1:
        return matrix_group or groups[0], other_group or groups[0]
    matrix_group = matrix_group or "hidden"
    if other_group is None:
        rest = [g for g in groups if g != matrix_group]
        if len(rest) != 1:
            sys.exit(f"train.py: the spec has groups {groups}: name them with "
                     "--matrix-group and --other-group")
        other_group = rest[0]
    return matrix_group, other_group


class Model:
    def __init__(self, vocab, rng):
        def normal(shape, scale):
            return (scale * rng.standard_normal(shape)).astype(np.float32)
        inputs = CONTEXT * EMBED
        self.embed = normal((vocab, EMBED), 1.0)
        self.w1 = normal((HIDDEN, inputs), inputs**-0.5)
        self.b1 = np.zeros(HIDDEN, np.float32)
        self.w2 = normal((vocab, HIDDEN), HIDDEN**-0.5)
        self.b2 = np.zeros(vocab, np.float32)
        self.grads = {name: np.zeros_like(getattr(self, name))
                      for name in ("embed", "w1", "b1", "w2", "b2")}

    def loss(self, contexts, targets, backward=False):
        x = self.embed[contexts].reshape(len(contexts), -1)
        h = np.tanh(x @ self.w1.T + self.b1)
        logits = h @ self.w2.T + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        rows = np.arange(len(targets))
        loss = -log_probs[rows, targets].mean()
        if backward:
            # Written in place: the runtime holds pointers to these arrays.
            dlogits = np.exp(log_probs)
            dlogits[rows, targets] -= 1.0
            dlogits /= len(targets)
            g = self.grads
            g["w2"][...] = dlogits.T @ h
            g["b2"][...] = dlogits.sum(axis=0)
            dz = (dlogits @ self.w2) * (1.0 - h * h)
            g["w1"][...] = dz.T @ x
            g["b1"][...] = dz.sum(axis=0)
            g["embed"][...] = 0.0
            np.add.at(g["embed"], contexts,
                      (dz @ self.w1).reshape(len(contexts), CONTEXT, EMBED))
        return float(loss)


def train_numpy(args, artifact, matrix_group, other_group, data, report):
    vocab, contexts, targets = data
    model = Model(vocab, np.random.default_rng(1234))
    matrices = ["w1", "w2"]
    others = ["embed", "b1", "b2"]
    groups = {}
    if matrix_group == other_group:
        groups[matrix_group] = (matrices + others, args.lr_matrix)
    else:
        groups[matrix_group] = (matrices, args.lr_matrix)
        groups[other_group] = (others, args.lr_other)
    runners = []
    for name, (tensors, lr) in groups.items():
        group = artifact.group(name)
        group.bind([getattr(model, t) for t in tensors],
                   [model.grads[t] for t in tensors])
        group.init_state()
        if lr is not None:
            group.set_hyper("lr", lr)
        runners.append(group)
    # Global sums (MuonMax, clipping) must span the whole model: step the
    # groups together. Momo's specs also take the batch loss as an input.
    together = any(group.sum_keys for group in runners)
    for group in runners:
        unknown = set(group.input_names) - {"loss"}
        if unknown:
            sys.exit(f"train.py: the spec's input {sorted(unknown)[0]!r} is "
                     "not one this trainer provides (it provides 'loss')")
    rng = np.random.default_rng(1234)
    report(0, model.loss(contexts, targets))
    for step in range(1, args.steps + 1):
        batch = rng.integers(0, len(targets), BATCH)
        loss = model.loss(contexts[batch], targets[batch], backward=True)
        for group in runners:
            if "loss" in group.input_names:
                group.set_input("loss", loss)
        if together:
            stepc.runtime.step_groups(runners)
        else:
            for group in runners:
                group.step()
        if step % args.every == 0 or step == args.steps:
            report(step, model.loss(contexts, targets))


def train_torch(args, artifact, matrix_group, other_group, data, report):
    import torch
    import stepc.torch

    vocab, contexts, targets = data
    torch.manual_seed(1234)
    embed = torch.nn.Embedding(vocab, EMBED)
    net = torch.nn.Sequential(torch.nn.Flatten(),
                              torch.nn.Linear(CONTEXT * EMBED, HIDDEN),
                              torch.nn.Tanh(), torch.nn.Linear(HIDDEN, vocab))
    matrices = [p for p in net.parameters() if p.ndim == 2]
    others = list(embed.parameters()) + [p for p in net.parameters()
                                         if p.ndim != 2]
    groups = [{"params": matrices, "group": matrix_group},
              {"params": others, "group": other_group}]
    for group, lr in zip(groups, (args.lr_matrix, args.lr_other)):
        if lr is not None:
            group["lr"] = lr
    if matrix_group == other_group:
        groups[1]["lr"] = groups[0].get("lr", groups[1].get("lr"))
    optimizer = stepc.torch.Optimizer(groups, artifact.path)
    contexts_t = torch.from_numpy(contexts.copy())
    targets_t = torch.from_numpy(targets.copy())

    def loss_of(rows):
        return torch.nn.functional.cross_entropy(
            net(embed(contexts_t[rows])), targets_t[rows])

    everything = torch.arange(len(targets))
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        report(0, loss_of(everything).item())
    for step in range(1, args.steps + 1):
        batch = torch.randint(0, len(targets), (BATCH,), generator=generator)

        def closure():
            # The loss is what specs with a loss input (Momo) read.
            optimizer.zero_grad()
            loss = loss_of(batch)
            loss.backward()
            return loss

        optimizer.step(closure)
        if step % args.every == 0 or step == args.steps:
            with torch.no_grad():
                report(step, loss_of(everything).item())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="a spec (.mlir) or an artifact (.stepc)")
    parser.add_argument("--corpus", default=str(HERE / "data" / "corpus.txt"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--lr-matrix", type=float)
    parser.add_argument("--lr-other", type=float)
    parser.add_argument("--matrix-group")
    parser.add_argument("--other-group")
    parser.add_argument("--csv")
    parser.add_argument("--torch", action="store_true",
                        help="train a torch model with stepc.torch.Optimizer")
    parser.add_argument("--expect-below", type=float)
    args = parser.parse_args()

    vocab, contexts, targets = read_corpus(args.corpus)
    rows = ["step,loss"]
    last = [None]

    def report(step, loss):
        if not np.isfinite(loss):
            sys.exit(f"train.py: the loss is not finite at step {step}")
        print(f"step {step:4d}  loss {loss:.4f}")
        rows.append(f"{step},{loss:.6f}")
        last[0] = loss

    try:
        artifact = stepc.load(args.spec if args.spec.endswith(".stepc")
                              else stepc.compile_cached(args.spec))
        matrix_group, other_group = route(artifact.groups, args.matrix_group,
                                          args.other_group)
        print(f"{len(targets) + CONTEXT} characters, alphabet of {vocab}; "
              f"groups: {matrix_group} (matrices), {other_group} (embedding, "
              f"biases){'; torch' if args.torch else ''}")
        train = train_torch if args.torch else train_numpy
        train(args, artifact, matrix_group, other_group,
              (vocab, contexts, targets), report)
    except stepc.StepcError as err:
        sys.exit(f"train.py: error: {err}")
    if args.csv:
        pathlib.Path(args.csv).write_text("\n".join(rows) + "\n")
    if args.expect_below is not None and not last[0] < args.expect_below:
        sys.exit(f"train.py: the loss ended at {last[0]:.4f}, not below "
                 f"{args.expect_below}")


if __name__ == "__main__":
    main()
