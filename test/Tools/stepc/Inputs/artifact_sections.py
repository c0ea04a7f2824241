"""The sections of an artifact file, read as
runtime/include/stepc-rt/Artifact.h documents the format, independently
of the runtime's reader (checksums are not checked)."""
import struct


def sections(path):
    """(name, bytes) of each section of the artifact at `path`, in order."""
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
        yield name, data[offset + 8:offset + 8 + length]
        offset += 8 + length
