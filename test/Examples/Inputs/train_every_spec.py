"""Trains the character-level MLP (stepc-char-mlp) with every example spec
for a few steps: each must compile, route onto the model and lower the loss.
Usage: train_every_spec.py STEPC STEPC_CHAR_MLP SPEC_DIR OUT_DIR [STEPS]"""

import pathlib
import re
import subprocess
import sys

# Groups the trainer's default routing ("hidden" for the matrices, the one
# other group for the rest) does not find by itself.
ROUTING = {"adamp": ["--matrix-group", "matrices"]}


def main():
    stepc, trainer = sys.argv[1], sys.argv[2]
    spec_dir, out = pathlib.Path(sys.argv[3]), pathlib.Path(sys.argv[4])
    steps = sys.argv[5] if len(sys.argv) > 5 else "30"
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for spec in sorted(spec_dir.glob("*.mlir")):
        artifact = out / (spec.stem + ".stepc")
        subprocess.run([stepc, "compile", str(spec), "-o", str(artifact)],
                       check=True)
        run = subprocess.run(
            [trainer, str(artifact), "--steps", steps, "--every",
             steps, *ROUTING.get(spec.stem, [])],
            capture_output=True, text=True)
        losses = [float(x) for x in re.findall(r"loss (\S+)", run.stdout)]
        if run.returncode != 0 or len(losses) != 2 or \
                not losses[1] < losses[0] - 0.05:
            failures += 1
            print(f"FAIL {spec.stem}: {run.stdout.strip()} {run.stderr.strip()}")
        else:
            print(f"{spec.stem}: {losses[0]:.4f} -> {losses[1]:.4f}")
    print(f"{failures} specs failed to train")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
