"""Prints a line per section of each artifact argument: the file's name, the
section's name and the SHA-1 of its bytes, so that FileCheck can say which
sections of two artifacts hold the same code."""
import hashlib
import os
import sys

from artifact_sections import sections

for path in sys.argv[1:]:
    for name, payload in sections(path):
        print(os.path.basename(path), name, hashlib.sha1(payload).hexdigest())
