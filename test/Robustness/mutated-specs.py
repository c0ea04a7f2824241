# Mutated example specs must give a diagnostic or verify, never crash.
#
# RUN: %python %s %stepc_src_root/examples/specs %stepc_opt_path
#
# Each spec is mutated in seeded, reproducible ways (deleted lines and tokens,
# swapped lines, truncation, numbers replaced by out-of-range values, keywords
# replaced by others). stepc-opt must exit 0 or 1 with no crash report; a
# crash prints the mutated input so it can become a regression test.

import concurrent.futures
import pathlib
import random
import re
import subprocess
import sys

MUTATIONS_PER_SPEC = 24
NASTY_NUMBERS = ["-1.0", "0.0", "1.0", "1.5", "1.0e400", "nan", "-0.0", "1000000", "0"]
KEYWORDS = ["ema", "heavy_ball", "rows", "cols", "all", "matrix", "any", "zeros",
            "param_norm", "keller", "clamp", "add", "softplus", "row_col", "state",
            "hyper", "grad", "param", "count", "f16", "i32", "tensor<f32>",
            "tensor<?x1xf32>", "tensor<?x?xf32>", "tensor<?xf32>"]
TOKEN = re.compile(r"%[\w]+|@[\w]+|[-+]?\d+\.\d*(?:e[-+]?\d+)?|\w+|[(){}\[\]<>,:=]")


def mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(7)
    if kind == 0 and lines:
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines)
    if kind == 1 and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if kind == 2:
        return text[: rng.randrange(len(text))]
    tokens = list(TOKEN.finditer(text))
    if not tokens:
        return text
    tok = rng.choice(tokens)
    if kind == 3:
        replacement = ""
    elif kind == 4:
        numbers = [t for t in tokens if re.fullmatch(r"[-+]?\d+\.\d*(?:e[-+]?\d+)?", t.group())]
        tok = rng.choice(numbers) if numbers else tok
        replacement = rng.choice(NASTY_NUMBERS)
    elif kind == 5:
        replacement = rng.choice(KEYWORDS)
    else:
        replacement = tok.group() + " " + tok.group()
    return text[: tok.start()] + replacement + text[tok.end():]


def run(tool: str, source: str) -> tuple[int, str]:
    proc = subprocess.run([tool, "-", "-o", "/dev/null"], input=source,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stderr


def main() -> int:
    spec_dir, tool = pathlib.Path(sys.argv[1]), sys.argv[2]
    cases = []
    for spec in sorted(spec_dir.glob("*.mlir")):
        rng = random.Random(spec.name)
        text = spec.read_text()
        cases += [(spec.name, i, mutate(text, rng)) for i in range(MUTATIONS_PER_SPEC)]
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda case: (case, run(tool, case[2])), cases)
        for (name, index, source), (code, stderr) in results:
            crashed = code not in (0, 1) or "Stack dump" in stderr or "PLEASE submit" in stderr
            if crashed:
                failures += 1
                print(f"CRASH ({code}) on mutation {index} of {name}:\n{source}\n{stderr[:2000]}")
            elif code == 1 and "error:" not in stderr:
                failures += 1
                print(f"exit 1 without a diagnostic on mutation {index} of {name}")
    print(f"{len(cases)} mutated specs, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
