"""Compiles and loads a spec with the stepc package found on PYTHONPATH,
then prints where that package found the runtime and the compiler."""
import sys

import stepc
import stepc._capi
import stepc.compiler

artifact = stepc.load(stepc.compile_cached(sys.argv[1]))
print(artifact.optimizer, artifact.groups)
print(stepc._capi.library_path())
print(stepc.compiler.compiler_path())
