"""Compiling specs by calling the `stepc` driver."""

import hashlib
import os
import shutil
import subprocess

from . import _config
from ._capi import StepcError


class CompileError(StepcError):
    """`stepc compile` rejected a spec; `message` is what it printed."""

    def __init__(self, message):
        super().__init__("format", message)


def compiler_path():
    """$STEPC_COMPILER, else the driver built or installed next to this
    package, else `stepc` on PATH."""
    override = os.environ.get("STEPC_COMPILER")
    if override:
        return override
    here = os.path.dirname(os.path.abspath(__file__))
    beside = os.path.normpath(os.path.join(here, _config.COMPILER))
    if os.path.exists(beside):
        return beside
    found = shutil.which("stepc")
    if not found:
        raise StepcError("io", "cannot find the stepc compiler: build stepc, "
                         "put it on PATH or set STEPC_COMPILER")
    return found


def compile(spec, output, targets=("cpu",), clip_grad_norm=None):
    """Compiles the spec file `spec` to the artifact `output` with code for
    `targets` ("cpu", "cuda"); returns `output`. With `clip_grad_norm`,
    every group first clips the global gradient norm (hyper max_grad_norm,
    this its default; `stepc compile --clip-grad-norm`). Raises
    CompileError with the compiler's diagnostics."""
    flags = [] if clip_grad_norm is None else [
        f"--clip-grad-norm={float(clip_grad_norm)!r}"]
    result = subprocess.run(
        [compiler_path(), "compile", str(spec), "--target=" + ",".join(targets),
         *flags, "-o", str(output)],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise CompileError(result.stderr.strip() or
                           f"stepc compile exited with {result.returncode}")
    return str(output)


def cache_dir():
    return os.environ.get("STEPC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "stepc")


def compiler_identity():
    """The compiler's path, size and modification time, or None where
    there is no compiler."""
    try:
        path = os.path.realpath(compiler_path())
        status = os.stat(path)
    except (StepcError, OSError):
        return None
    return f"{path}:{status.st_size}:{status.st_mtime_ns}"


def compile_cached(spec, targets=("cpu",)):
    """The artifact of `spec` for `targets`, compiled once per spec text,
    targets and stepc version into the cache directory ($STEPC_CACHE_DIR or
    ~/.cache/stepc). A compiler rebuilt under the same version may write
    artifacts the runtime reads differently (a new CUDA ABI, say), so a
    cached artifact that another compiler build wrote is compiled again;
    where there is no compiler at all (a GPU machine given a filled
    cache), the cached one is used. Compiling a spec file anew (its text,
    the stepc version or the compiler build changed) removes the artifacts
    its earlier texts left for the same targets, so editing a spec does not
    grow the cache."""
    with open(spec, "rb") as f:
        text = f.read()
    targets = tuple(targets)
    key = hashlib.sha256(text + _config.VERSION.encode() +
                         ",".join(targets).encode()).hexdigest()[:24]
    stem = os.path.splitext(os.path.basename(str(spec)))[0]
    directory = cache_dir()
    os.makedirs(directory, exist_ok=True)
    output = os.path.join(directory, f"{stem}-{key}.stepc")
    # Which compiler build wrote `output`.
    written_by = output + ".compiler"
    identity = compiler_identity()
    if os.path.exists(output):
        try:
            with open(written_by) as f:
                cached_by = f.read()
        except OSError:
            cached_by = None
        if identity is None or cached_by == identity:
            return output
    # Compile beside and rename so a concurrent reader never sees a
    # partial file.
    partial = f"{output}.{os.getpid()}.partial"
    compile(spec, partial, targets)
    with open(partial + ".compiler", "w") as f:
        f.write(identity or "")
    os.replace(partial + ".compiler", written_by)
    os.replace(partial, output)
    source = f"{os.path.realpath(spec)}\n{','.join(targets)}"
    with open(partial + ".source", "w") as f:
        f.write(source)
    os.replace(partial + ".source", output + ".source")
    _evict_superseded(directory, stem, source, keep=output)
    return output


def _evict_superseded(directory, stem, source, keep):
    """Removes the cached artifacts of `stem` whose `.source` record names
    the same spec file and targets as `source`, but for `keep`. Another
    process that loaded one keeps its open copy: removing a file on POSIX
    only drops its name."""
    for name in os.listdir(directory):
        if not (name.startswith(stem + "-") and name.endswith(".stepc")):
            continue
        artifact = os.path.join(directory, name)
        if artifact == keep:
            continue
        try:
            with open(artifact + ".source") as f:
                if f.read() != source:
                    continue
        except OSError:
            continue  # written before records were kept, or another spec's
        for path in (artifact, artifact + ".compiler", artifact + ".source"):
            try:
                os.remove(path)
            except OSError:
                pass
