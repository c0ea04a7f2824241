"""Artifacts and groups over the runtime's C API, with NumPy arrays.

The runtime steps the caller's memory in place: a Group keeps a reference
to every array bound or adopted, so none is freed while the runtime still
points at it.
"""

import ctypes

import numpy as np

from . import _capi
from ._capi import StepcError

# Parameter dtypes as the runtime names them, and the NumPy dtype holding
# their values. NumPy has no bfloat16: bf16 tensors are their bits, uint16.
PARAM_DTYPES = {"f32": np.float32, "bf16": np.uint16, "f16": np.float16}
# State storage dtypes (`store(bf16)` states are bf16 bits too).
STATE_DTYPES = {"f32": np.float32, "bf16": np.uint16}


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _check_array(array, what, dtype, writable):
    """Raises StepcError unless `array` is memory the runtime may use."""
    if not isinstance(array, np.ndarray):
        raise StepcError("invalid_argument",
                         f"{what} is a {type(array).__name__}, expected a "
                         "numpy.ndarray")
    if array.dtype != np.dtype(dtype):
        raise StepcError("dtype_mismatch",
                         f"{what} has dtype {array.dtype}, expected "
                         f"{np.dtype(dtype)}")
    if not array.flags.c_contiguous:
        raise StepcError("invalid_argument",
                         f"{what} is not C-contiguous; pass "
                         "numpy.ascontiguousarray(...) and keep that array")
    if writable and not array.flags.writeable:
        raise StepcError("invalid_argument",
                         f"{what} is read-only; the step writes it in place")
    if array.size == 0:
        raise StepcError("shape_mismatch", f"{what} has no elements")


class Artifact:
    """A compiled optimizer (a .stepc file written by `stepc compile`)."""

    def __init__(self, path):
        self.path = str(path)
        handle = ctypes.c_void_p()
        _capi.call("stepc_artifact_load", self.path.encode(),
                   ctypes.byref(handle))
        self._handle = handle
        name = ctypes.c_char_p()
        _capi.call("stepc_artifact_optimizer_name", handle, ctypes.byref(name))
        self.optimizer = _text(name.value)
        count = ctypes.c_size_t()
        _capi.call("stepc_artifact_num_groups", handle, ctypes.byref(count))
        self.groups = []
        for index in range(count.value):
            _capi.call("stepc_artifact_group_name", handle, index,
                       ctypes.byref(name))
            self.groups.append(_text(name.value))

    def group(self, name, param_dtype="f32", device="cpu"):
        """A new instance of group `name` for parameters stored as
        `param_dtype` ("f32", "bf16" or "f16") on `device` ("cpu", "cuda"
        or "cuda:N"; a CUDA group takes device addresses, see
        Group.bind_addresses)."""
        return Group(self, name, param_dtype, device)

    def has_code(self, name, device="cpu"):
        """Whether the artifact has code for group `name` on `device`;
        reads the manifest only (no driver, no GPU needed)."""
        try:
            _capi.call("stepc_artifact_has_code", self._handle, name.encode(),
                       str(device).encode())
            return True
        except StepcError as err:
            if err.code == "no_device":
                return False
            raise

    def scratch_stats(self):
        """The CPU steps' temporary buffers, kept for the next step:
        {"fresh_allocations", "reused_allocations", "held_bytes"} (all 0
        until a group of this artifact has run on the CPU)."""
        stats = _capi.ScratchStats()
        _capi.call("stepc_artifact_scratch_stats", self._handle,
                   ctypes.byref(stats))
        return {name: getattr(stats, name) for name, _ in stats._fields_}

    def parallel_stats(self):
        """How the CPU steps' parallel ranges (matrix products, by col
        panels) ran: {"split_ranges" (shared among a group's idle threads,
        see Group.set_num_threads), "inline_ranges" (on one thread)}."""
        stats = _capi.ParallelStats()
        _capi.call("stepc_artifact_parallel_stats", self._handle,
                   ctypes.byref(stats))
        return {name: getattr(stats, name) for name, _ in stats._fields_}

    def trim_scratch(self):
        """Gives the kept buffers back to the C library; the next step
        allocates afresh."""
        _capi.call("stepc_artifact_trim_scratch", self._handle)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle and _capi._lib is not None:
            _capi._lib.stepc_artifact_free(handle)
            self._handle = None

    def __repr__(self):
        return (f"stepc.Artifact({self.path!r}, optimizer={self.optimizer!r}, "
                f"groups={self.groups!r})")


def cuda_device_count():
    """The number of CUDA devices; StepcError("no_device") saying why when
    there is no usable driver or GPU."""
    count = ctypes.c_int()
    _capi.call("stepc_cuda_device_count", ctypes.byref(count))
    return count.value


def step_groups(groups):
    """One optimizer step of several groups together: each global sum of
    the spec totals the tensors of all of them before any is updated."""
    groups = list(groups)
    handles = (_capi._handle * len(groups))(*[g._handle for g in groups])
    _capi.call("stepc_step_groups", handles, len(groups))


def load(path):
    """Loads the artifact at `path`."""
    return Artifact(path)


class Group:
    """One instance of a spec group: bound tensors, their state, the hypers
    and the step count. Several instances of one group may coexist."""

    def __init__(self, artifact, name, param_dtype="f32", device="cpu"):
        if param_dtype not in PARAM_DTYPES:
            raise StepcError("dtype_mismatch",
                             f"param_dtype {param_dtype!r} is not one of "
                             f"{', '.join(PARAM_DTYPES)}")
        handle = ctypes.c_void_p()
        _capi.call("stepc_group_create_on", artifact._handle, name.encode(),
                   param_dtype.encode(), str(device).encode(),
                   ctypes.byref(handle))
        self._handle = handle
        text = ctypes.c_char_p()
        _capi.call("stepc_group_device", handle, ctypes.byref(text))
        self.device = _text(text.value)
        # Which code of the artifact runs: "sm_90a cubin", "PTX
        # JIT-compiled for sm_100", "host emulation", "x86-64 shared
        # object".
        _capi.call("stepc_group_code", handle, ctypes.byref(text))
        self.code = _text(text.value)
        self.artifact = artifact
        self.name = name
        self.param_dtype = param_dtype
        self.state_names = self._names("states")
        self.hyper_names = self._names("hypers")
        # Per-step inputs (e.g. "loss") and global-sum keys: a group with
        # sums steps together with the groups sharing them (step_groups).
        self.input_names = self._names("inputs")
        self.sum_keys = self._names("sums")
        matrix = ctypes.c_int()
        _capi.call("stepc_group_accepts_matrices", handle,
                   ctypes.byref(matrix))
        # A matrix group takes rank-2 tensors (bind conv filters as
        # (out_channels, -1)); the others take any rank.
        self.accepts_matrices = bool(matrix.value)
        self._params = []
        self._grads = []
        self._adopted = {}
        self.num_bound = 0

    def _names(self, kind):
        count = ctypes.c_size_t()
        _capi.call(f"stepc_group_num_{kind}", self._handle, ctypes.byref(count))
        names = []
        name = ctypes.c_char_p()
        for index in range(count.value):
            _capi.call(f"stepc_group_{kind[:-1]}_name", self._handle, index,
                       ctypes.byref(name))
            names.append(_text(name.value))
        return names

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle and _capi._lib is not None:
            _capi._lib.stepc_group_free(handle)
            self._handle = None

    # -- Binding ------------------------------------------------------------

    def bind(self, params, grads):
        """Binds parameters and gradients (C-contiguous arrays of the group's
        parameter dtype, written in place). Replaces any earlier binding and
        its state: call init_state() or adopt_state() next."""
        self._host_only("bind", "bind_addresses")
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise StepcError("invalid_argument",
                             f"{len(params)} params but {len(grads)} grads: "
                             "bind one gradient per parameter")
        dtype = PARAM_DTYPES[self.param_dtype]
        for i, (param, grad) in enumerate(zip(params, grads)):
            _check_array(param, f"param #{i}", dtype, writable=True)
            _check_array(grad, f"grad #{i}", dtype, writable=False)
            if grad.shape != param.shape:
                raise StepcError("shape_mismatch",
                                 f"grad #{i} has shape {grad.shape} but its "
                                 f"param has shape {param.shape}")
        self.bind_addresses([p.ctypes.data for p in params],
                            [g.ctypes.data for g in grads],
                            [p.shape for p in params])
        self._params, self._grads = params, grads

    def bind_addresses(self, params, grads, shapes):
        """bind() for memory NumPy does not own (e.g. torch tensors): the
        addresses must stay valid, contiguous and of the right dtype while
        bound; the caller keeps the tensors alive."""
        n = len(params)
        float_p = ctypes.POINTER(ctypes.c_float)
        int64_p = ctypes.POINTER(ctypes.c_int64)
        param_ptrs = (float_p * n)(*[_capi.float_pointer(a) for a in params])
        grad_ptrs = (float_p * n)(*[_capi.float_pointer(a) for a in grads])
        shape_arrays = [(ctypes.c_int64 * max(len(s), 1))(*s) for s in shapes]
        shape_ptrs = (int64_p * n)(
            *[ctypes.cast(a, int64_p) for a in shape_arrays])
        ranks = (ctypes.c_size_t * n)(*[len(s) for s in shapes])
        _capi.call("stepc_group_bind", self._handle, n, param_ptrs, grad_ptrs,
                   shape_ptrs, ranks)
        self._params, self._grads, self._adopted = [], [], {}
        self.num_bound = n

    def _host_only(self, what, instead):
        if self.device != "cpu":
            raise StepcError("invalid_argument",
                             f"{what}() takes NumPy arrays, which live in "
                             f"host memory, but this group is on "
                             f"{self.device}: use {instead}() with device "
                             "addresses")

    def set_grad(self, index, grad):
        """Points tensor `index`'s gradient at `grad` (same shape)."""
        self._host_only("set_grad", "set_grad_address")
        _check_array(grad, f"grad #{index}", PARAM_DTYPES[self.param_dtype],
                     writable=False)
        if index < len(self._params) and grad.shape != self._params[index].shape:
            raise StepcError("shape_mismatch",
                             f"grad #{index} has shape {grad.shape} but its "
                             f"param has shape {self._params[index].shape}")
        self.set_grad_address(index, grad.ctypes.data)
        if index < len(self._grads):
            self._grads[index] = grad

    def set_grad_address(self, index, address):
        _capi.call("stepc_group_set_grad", self._handle, index,
                   _capi.float_pointer(address))

    # -- State --------------------------------------------------------------

    def init_state(self):
        """Sets every state of every bound tensor to its initial value."""
        _capi.call("stepc_group_init_state", self._handle)

    def state_dtype(self, name):
        """"f32" or "bf16": how state `name` is stored."""
        dtype = ctypes.c_char_p()
        _capi.call("stepc_group_state_dtype", self._handle, name.encode(),
                   ctypes.byref(dtype))
        return _text(dtype.value)

    def state_shape(self, index, name):
        rank = ctypes.c_size_t(0)
        _capi.call("stepc_group_state_shape", self._handle, index,
                   name.encode(), None, ctypes.byref(rank))
        shape = (ctypes.c_int64 * max(rank.value, 1))()
        _capi.call("stepc_group_state_shape", self._handle, index,
                   name.encode(), shape, ctypes.byref(rank))
        return tuple(shape[:rank.value])

    def adopt_state(self, index, name, array):
        """Makes state `name` of tensor `index` live in `array` (C-contiguous,
        float32, or uint16 bf16 bits for a bf16-stored state), used as is."""
        self._host_only("adopt_state", "adopt_state_address")
        _check_array(array, f"state '{name}' of tensor #{index}",
                     STATE_DTYPES[self.state_dtype(name)], writable=True)
        self.adopt_state_address(index, name, array.ctypes.data, array.size)
        self._adopted[(index, name)] = array

    def adopt_state_address(self, index, name, address, num_elements):
        _capi.call("stepc_group_adopt_state", self._handle, index,
                   name.encode(), _capi.float_pointer(address), num_elements)

    def read_state(self, index, name):
        """A float32 copy of the state (bf16 storage widened exactly)."""
        values = np.empty(self.state_shape(index, name), dtype=np.float32)
        _capi.call("stepc_group_read_state", self._handle, index,
                   name.encode(), _capi.float_pointer(values.ctypes.data),
                   values.size)
        return values

    def write_state(self, index, name, values):
        """Overwrites the state from float32 values of its shape (rounded to
        nearest even for bf16 storage)."""
        shape = self.state_shape(index, name)
        values = np.ascontiguousarray(values, dtype=np.float32)
        if values.shape != shape:
            raise StepcError("shape_mismatch",
                             f"state '{name}' of tensor #{index} has shape "
                             f"{shape}, the values have {values.shape}")
        _capi.call("stepc_group_write_state", self._handle, index,
                   name.encode(), _capi.float_pointer(values.ctypes.data),
                   values.size)

    # -- Scalars and stepping -----------------------------------------------

    def set_hyper(self, name, value):
        _capi.call("stepc_group_set_hyper", self._handle, name.encode(),
                   float(value))

    def hyper(self, name):
        """The value the next step uses, or None if the hyper has no default
        and was not set."""
        value, is_set = ctypes.c_double(), ctypes.c_int()
        _capi.call("stepc_group_hyper", self._handle, name.encode(),
                   ctypes.byref(value), ctypes.byref(is_set))
        return value.value if is_set.value else None

    @property
    def count(self):
        """The count of the last step taken (the next step sees count + 1)."""
        value = ctypes.c_double()
        _capi.call("stepc_group_count", self._handle, ctypes.byref(value))
        return value.value

    @count.setter
    def count(self, value):
        _capi.call("stepc_group_set_count", self._handle, float(value))

    def set_num_threads(self, num_threads):
        _capi.call("stepc_group_set_num_threads", self._handle, int(num_threads))

    def step(self):
        """One optimizer step on every bound tensor, in place. On a CUDA
        device it is queued on the group's stream and may still run when
        this returns."""
        _capi.call("stepc_group_step", self._handle)

    def set_input(self, name, value):
        """Sets input `name` (e.g. the loss) for the next step only: every
        step consumes its inputs."""
        _capi.call("stepc_group_set_input", self._handle, name.encode(),
                   float(value))

    def set_scalar_device(self, name, address):
        """Reads hyper or input `name` of this CUDA group, when each step
        runs, from the f32 at device address `address` (an int, e.g. a
        0-d CUDA tensor's data_ptr()); None goes back to the host value.
        A CUDA graph that captured the step then follows changes to it."""
        _capi.call("stepc_group_set_scalar_device", self._handle,
                   name.encode(), ctypes.c_void_p(address or None))

    def set_grad_scaling(self, grad_scale=None, found_inf=None):
        """Mixed precision on a CUDA device: each step divides the
        gradients by the f32 at device address `grad_scale` and is skipped
        (nothing changes, the count included) while the f32 at `found_inf`
        is nonzero. Addresses as ints; None for neither."""
        _capi.call("stepc_group_set_grad_scaling", self._handle,
                   ctypes.c_void_p(grad_scale or None),
                   ctypes.c_void_p(found_inf or None))

    def total(self, key):
        """The total of global sum `key` in the last step (e.g. "grad_sq":
        the global gradient norm is its square root)."""
        value = ctypes.c_double()
        _capi.call("stepc_group_total", self._handle, key.encode(),
                   ctypes.byref(value))
        return value.value

    def set_stream(self, stream):
        """Queues this CUDA group's steps on `stream`, a CUstream handle as
        an int (torch: torch.cuda.current_stream().cuda_stream)."""
        _capi.call("stepc_group_set_stream", self._handle,
                   ctypes.c_void_p(stream))

    @property
    def launch_count(self):
        """Kernel launches so far: one per step on a GPU, 0 on the CPU."""
        count = ctypes.c_uint64()
        _capi.call("stepc_group_launch_count", self._handle,
                   ctypes.byref(count))
        return count.value

    # -- Checkpoints --------------------------------------------------------

    def state_dict(self):
        """Copies of everything a resumed run needs besides the parameters:
        the count, the hypers and every state as float32."""
        return {
            "optimizer": self.artifact.optimizer,
            "group": self.name,
            "count": self.count,
            "hypers": {h: self.hyper(h) for h in self.hyper_names},
            "states": [{s: self.read_state(i, s) for s in self.state_names}
                       for i in range(self.num_bound)],
        }

    def load_state_dict(self, state):
        """Restores what state_dict() returned into the bound tensors' state
        (initialized or adopted first). Refuses another optimizer or group."""
        where = f"{state.get('optimizer')!r}/{state.get('group')!r}"
        if (state.get("optimizer") != self.artifact.optimizer
                or state.get("group") != self.name):
            raise StepcError("invalid_argument",
                             f"the state dict is of group {where}, this is "
                             f"{self.artifact.optimizer!r}/{self.name!r}")
        states = state["states"]
        if len(states) != self.num_bound:
            raise StepcError("shape_mismatch",
                             f"the state dict holds {len(states)} tensors, "
                             f"{self.num_bound} are bound")
        for index, per_tensor in enumerate(states):
            if set(per_tensor) != set(self.state_names):
                raise StepcError("invalid_argument",
                                 f"tensor #{index} of the state dict has "
                                 f"states {sorted(per_tensor)}, the group has "
                                 f"{sorted(self.state_names)}")
            for name, values in per_tensor.items():
                self.write_state(index, name, values)
        for name, value in state.get("hypers", {}).items():
            if value is not None:
                self.set_hyper(name, value)
        self.count = state["count"]
