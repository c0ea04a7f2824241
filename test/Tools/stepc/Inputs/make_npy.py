"""Writes the .npy inputs of run-errors.test into the directory argv[1]."""
import pathlib
import sys

import numpy as np

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
np.save(out / "p64x32.npy", rng.standard_normal((64, 32)).astype(np.float32))
np.save(out / "g64x32.npy", rng.standard_normal((64, 32)).astype(np.float32))
np.save(out / "g32x64.npy", rng.standard_normal((32, 64)).astype(np.float32))
np.save(out / "g5x64x32.npy", rng.standard_normal((5, 64, 32)).astype(np.float32))
np.save(out / "v48.npy", rng.standard_normal(48).astype(np.float32))
np.save(out / "int64.npy", np.arange(2048, dtype=np.int64).reshape(64, 32))
(out / "garbage.npy").write_bytes(b"this is not numpy")
data = (out / "p64x32.npy").read_bytes()
(out / "truncated.npy").write_bytes(data[: len(data) // 2])
nan_grad = rng.standard_normal((64, 32)).astype(np.float32)
nan_grad[3, 5] = np.nan
nan_grad[10, 1] = np.inf
np.save(out / "gnan.npy", nan_grad)
big = rng.standard_normal((1536, 1024)).astype(np.float32)
np.save(out / "p_big.npy", 0.02 * big)
np.save(out / "g_big.npy", rng.standard_normal((3, 1536, 1024)).astype(np.float32))
