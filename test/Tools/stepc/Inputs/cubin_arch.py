"""Prints each cubin section of the artifact argv[1] with what its ELF
header says: a CUDA ELF image (e_machine 190) and the SM it is built for;
with `--ptx`, prints the cuda.ptx section instead.

Reads the artifact format as runtime/include/stepc-rt/Artifact.h documents
it, independently of the runtime's reader."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"STEPCART", "not an artifact"
offset = 12  # magic, format version
(length,) = struct.unpack_from("<I", data, offset)
offset += 4 + length  # compiler version
(length,) = struct.unpack_from("<Q", data, offset)
offset += 8 + length  # manifest
(count,) = struct.unpack_from("<I", data, offset)
offset += 4
for _ in range(count):
    (length,) = struct.unpack_from("<I", data, offset)
    name = data[offset + 4:offset + 4 + length].decode()
    offset += 4 + length
    (length,) = struct.unpack_from("<Q", data, offset)
    payload = data[offset + 8:offset + 8 + length]
    offset += 8 + length
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
