"""Prints "same bits" when directories argv[1] and argv[2] hold the same
.npy files with the same shapes, dtypes and bytes; otherwise names the first
that differs and exits 1."""
import pathlib
import sys

import numpy as np

first, second = (pathlib.Path(d) for d in sys.argv[1:3])
names = sorted(p.name for p in first.glob("*.npy"))
if not names or names != sorted(p.name for p in second.glob("*.npy")):
    sys.exit(f"different files: {names} and "
             f"{sorted(p.name for p in second.glob('*.npy'))}")
for name in names:
    a, b = np.load(first / name), np.load(second / name)
    if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():
        sys.exit(f"{name} differs")
print("same bits")
