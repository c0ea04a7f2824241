"""Prints each cubin section of the artifact argv[1] with what its ELF
header says: a CUDA ELF image (e_machine 190) and the SM it is built for;
with `--ptx`, prints the cuda.ptx section instead.

Reads the artifact with artifact_sections.py, independently of the
runtime's reader."""
import struct
import sys

from artifact_sections import sections

for name, payload in sections(sys.argv[1]):
    if sys.argv[2:] == ["--ptx"]:
        if name == "cuda.ptx":
            print(payload.decode())
        continue
    if not name.endswith(".cubin"):
        continue
    (machine,) = struct.unpack_from("<H", payload, 18)
    (flags,) = struct.unpack_from("<I", payload, 48)
    kind = "ELF" if payload[:4] == b"\x7fELF" and machine == 190 else "not CUDA ELF"
    print(f"{name}: {kind}, sm_{(flags >> 8) & 0xFF}")
