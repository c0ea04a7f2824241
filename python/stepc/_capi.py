"""ctypes declarations of the runtime's C API (runtime/include/stepc/runtime.h).

Only this module touches ctypes; the classes in stepc.runtime turn every
non-zero status into a StepcError carrying the runtime's message.
"""

import ctypes
import os

from . import _config

# The stepc_status codes, in the header's order.
STATUS_NAMES = (
    "ok",
    "invalid_argument",
    "shape_mismatch",
    "dtype_mismatch",
    "not_bound",
    "io",
    "format",
    "version_mismatch",
    "checksum_mismatch",
    "no_device",
)


class StepcError(RuntimeError):
    """A call into the stepc runtime failed.

    `code` is the status name (e.g. "shape_mismatch"), `message` the
    runtime's one-line explanation.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def library_path():
    """Where the runtime library is: $STEPC_RUNTIME_LIBRARY, else the one
    built or installed next to this package."""
    override = os.environ.get("STEPC_RUNTIME_LIBRARY")
    if override:
        return override
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, _config.RUNTIME_LIBRARY))


_c_float_p = ctypes.POINTER(ctypes.c_float)
_c_int64_p = ctypes.POINTER(ctypes.c_int64)
_c_size_p = ctypes.POINTER(ctypes.c_size_t)
_c_char_pp = ctypes.POINTER(ctypes.c_char_p)
_handle = ctypes.c_void_p
_handle_p = ctypes.POINTER(ctypes.c_void_p)


class ScratchStats(ctypes.Structure):
    """stepc_scratch_stats."""
    _fields_ = [("fresh_allocations", ctypes.c_uint64),
                ("reused_allocations", ctypes.c_uint64),
                ("held_bytes", ctypes.c_uint64)]


class ParallelStats(ctypes.Structure):
    """stepc_parallel_stats."""
    _fields_ = [("split_ranges", ctypes.c_uint64),
                ("inline_ranges", ctypes.c_uint64)]


# name: (argument types); every function returns stepc_status unless noted.
_SIGNATURES = {
    "stepc_cuda_device_count": (ctypes.POINTER(ctypes.c_int),),
    "stepc_artifact_load": (ctypes.c_char_p, _handle_p),
    "stepc_artifact_num_groups": (_handle, _c_size_p),
    "stepc_artifact_group_name": (_handle, ctypes.c_size_t, _c_char_pp),
    "stepc_artifact_optimizer_name": (_handle, _c_char_pp),
    "stepc_group_create_typed": (_handle, ctypes.c_char_p, ctypes.c_char_p,
                                 _handle_p),
    "stepc_artifact_has_code": (_handle, ctypes.c_char_p, ctypes.c_char_p),
    "stepc_artifact_scratch_stats": (_handle, ctypes.POINTER(ScratchStats)),
    "stepc_artifact_trim_scratch": (_handle,),
    "stepc_artifact_parallel_stats": (_handle,
                                      ctypes.POINTER(ParallelStats)),
    "stepc_group_create_on": (_handle, ctypes.c_char_p, ctypes.c_char_p,
                              ctypes.c_char_p, _handle_p),
    "stepc_group_device": (_handle, _c_char_pp),
    "stepc_group_code": (_handle, _c_char_pp),
    "stepc_group_set_stream": (_handle, ctypes.c_void_p),
    "stepc_group_launch_count": (_handle, ctypes.POINTER(ctypes.c_uint64)),
    "stepc_group_num_states": (_handle, _c_size_p),
    "stepc_group_state_name": (_handle, ctypes.c_size_t, _c_char_pp),
    "stepc_group_num_hypers": (_handle, _c_size_p),
    "stepc_group_hyper_name": (_handle, ctypes.c_size_t, _c_char_pp),
    "stepc_group_accepts_matrices": (_handle, ctypes.POINTER(ctypes.c_int)),
    "stepc_group_num_inputs": (_handle, _c_size_p),
    "stepc_group_input_name": (_handle, ctypes.c_size_t, _c_char_pp),
    "stepc_group_num_sums": (_handle, _c_size_p),
    "stepc_group_sum_name": (_handle, ctypes.c_size_t, _c_char_pp),
    "stepc_group_bind": (_handle, ctypes.c_size_t,
                         ctypes.POINTER(_c_float_p), ctypes.POINTER(_c_float_p),
                         ctypes.POINTER(_c_int64_p), _c_size_p),
    "stepc_group_set_grad": (_handle, ctypes.c_size_t, _c_float_p),
    "stepc_group_init_state": (_handle,),
    "stepc_group_adopt_state": (_handle, ctypes.c_size_t, ctypes.c_char_p,
                                _c_float_p, ctypes.c_size_t),
    "stepc_group_state_shape": (_handle, ctypes.c_size_t, ctypes.c_char_p,
                                _c_int64_p, _c_size_p),
    "stepc_group_state_data": (_handle, ctypes.c_size_t, ctypes.c_char_p,
                               ctypes.POINTER(_c_float_p)),
    "stepc_group_state_dtype": (_handle, ctypes.c_char_p, _c_char_pp),
    "stepc_group_read_state": (_handle, ctypes.c_size_t, ctypes.c_char_p,
                               _c_float_p, ctypes.c_size_t),
    "stepc_group_write_state": (_handle, ctypes.c_size_t, ctypes.c_char_p,
                                _c_float_p, ctypes.c_size_t),
    "stepc_group_set_hyper": (_handle, ctypes.c_char_p, ctypes.c_double),
    "stepc_group_hyper": (_handle, ctypes.c_char_p,
                          ctypes.POINTER(ctypes.c_double),
                          ctypes.POINTER(ctypes.c_int)),
    "stepc_group_set_count": (_handle, ctypes.c_double),
    "stepc_group_count": (_handle, ctypes.POINTER(ctypes.c_double)),
    "stepc_group_set_num_threads": (_handle, ctypes.c_int),
    "stepc_group_step": (_handle,),
    "stepc_group_set_input": (_handle, ctypes.c_char_p, ctypes.c_double),
    "stepc_group_set_scalar_device": (_handle, ctypes.c_char_p,
                                      ctypes.c_void_p),
    "stepc_group_set_grad_scaling": (_handle, ctypes.c_void_p,
                                     ctypes.c_void_p),
    "stepc_step_groups": (_handle_p, ctypes.c_size_t),
    "stepc_group_total": (_handle, ctypes.c_char_p,
                          ctypes.POINTER(ctypes.c_double)),
}

_lib = None


def lib():
    """The loaded runtime, with every function's signature declared."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    try:
        loaded = ctypes.CDLL(path)
    except OSError as err:
        raise StepcError(
            "io", f"cannot load the stepc runtime library {path}: {err} "
            "(build stepc, or set STEPC_RUNTIME_LIBRARY)") from None
    for name, argtypes in _SIGNATURES.items():
        fn = getattr(loaded, name)
        fn.argtypes = argtypes
        fn.restype = ctypes.c_int
    loaded.stepc_last_error.argtypes = ()
    loaded.stepc_last_error.restype = ctypes.c_char_p
    loaded.stepc_runtime_version.argtypes = ()
    loaded.stepc_runtime_version.restype = ctypes.c_char_p
    for name in ("stepc_artifact_free", "stepc_group_free"):
        getattr(loaded, name).argtypes = (_handle,)
        getattr(loaded, name).restype = None
    _lib = loaded
    return loaded


def call(name, *args):
    """Calls C function `name`; raises StepcError unless it returns STEPC_OK."""
    runtime = lib()
    status = getattr(runtime, name)(*args)
    if status != 0:
        code = (STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES)
                else f"status {status}")
        raise StepcError(code, runtime.stepc_last_error().decode())


def float_pointer(address):
    """A float* for the C API from an integer address."""
    return ctypes.cast(ctypes.c_void_p(address), _c_float_p)
