"""Prints a line per section of each artifact argument: the file's name, the
section's name and the SHA-1 of its bytes, so that FileCheck can say which
sections of two artifacts hold the same code.

Reads the artifact format as runtime/include/stepc-rt/Artifact.h documents
it, independently of the runtime's reader (as cubin_arch.py does)."""
import hashlib
import os
import struct
import sys

for path in sys.argv[1:]:
    data = open(path, "rb").read()
    assert data[:8] == b"STEPCART", f"{path}: not an artifact"
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
        digest = hashlib.sha1(data[offset + 8:offset + 8 + length]).hexdigest()
        offset += 8 + length
        print(os.path.basename(path), name, digest)
