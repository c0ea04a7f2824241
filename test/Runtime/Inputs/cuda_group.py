"""Creates groups of the artifacts argv[1] (CPU and CUDA code) and argv[2]
(CPU only) on each device name in argv[3:], printing what happens: the
device the group got, the code it runs and its launch count, or the
error."""
import sys

import stepc

both, cpu_only = stepc.load(sys.argv[1]), stepc.load(sys.argv[2])
for device in sys.argv[3:]:
    for label, artifact in (("both", both), ("cpu-only", cpu_only)):
        try:
            group = artifact.group("all", "f32", device=device)
            print(f"{label} {device}: on {group.device} ({group.code}), "
                  f"{group.launch_count} launches")
            try:
                group.set_stream(0)
                print(f"{label} {device}: stream set")
            except stepc.StepcError as err:
                print(f"{label} {device}: {err.code}: {err}")
            if group.device == "cpu":
                continue
            try:
                import numpy as np
                w = np.zeros(8, np.float32)
                group.bind([w], [w.copy()])
            except stepc.StepcError as err:
                print(f"{label} {device}: {err.code}: {err}")
        except stepc.StepcError as err:
            print(f"{label} {device}: {err.code}: {err}")
