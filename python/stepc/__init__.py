"""stepc from Python: compile an optimizer spec, load the artifact, bind
NumPy arrays to its groups and step them.

    import numpy as np, stepc
    artifact = stepc.load(stepc.compile("adamw.mlir", "adamw.stepc"))
    group = artifact.group("all")
    group.bind([w], [g])          # float32, C-contiguous, stepped in place
    group.init_state()
    group.set_hyper("lr", 1e-3)
    group.step()

`stepc.torch` (imported separately) is a torch.optim.Optimizer on top.
"""

from ._capi import StepcError
from ._config import VERSION as __version__
from .compiler import CompileError, compile, compile_cached
from .runtime import Artifact, Group, cuda_device_count, load

__all__ = ["Artifact", "CompileError", "Group", "StepcError", "compile",
           "compile_cached", "cuda_device_count", "load"]
