"""stepc.torch: a torch.optim.Optimizer that runs a compiled stepc spec.

    import stepc.torch
    matrices = [p for p in model.parameters() if p.ndim == 2]
    others = [p for p in model.parameters() if p.ndim != 2]
    opt = stepc.torch.Optimizer(
        [{"params": matrices, "group": "hidden", "lr": 0.02},
         {"params": others, "group": "adamw", "lr": 3e-4}],
        "examples/specs/muon.mlir")

Each param group names the spec group that steps it ("group"; optional when
the spec has one group). Keys named like that group's hypers (lr, wd, ...)
are runtime scalars read at every step, so lr schedulers work and nothing is
recompiled. Missing hypers get the spec's defaults. Optimizer state lives in
`self.state[p]` as torch tensors the compiled code updates in place, so
state_dict()/load_state_dict() checkpoint it.

Specs with global sums (step.global_sum: MuonMax, clipping) step all param
groups in one runtime call, so each sum spans every parameter; per-step
inputs (input(...), e.g. Momo's loss) are step() keywords, and "loss" may
come from the closure: opt.step(closure) or opt.step(loss=loss.item()).

A matrix group (accepts(matrix)) sees a conv filter (out, in, kh, kw) as
the matrix (out, in·kh·kw), as Muon and AdamP do.

CUDA parameters are stepped by the artifact's CUDA kernels (a spec given as
.mlir is then compiled with --target=cpu,cuda): one kernel launch per
(param group, dtype) per step, queued on the current torch stream, with the
state on the parameters' device.
"""

import itertools
import operator

import torch

from . import compiler, runtime

_PARAM_DTYPES = {torch.float32: "f32", torch.bfloat16: "bf16",
                 torch.float16: "f16"}
_STATE_DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
# Keys of a param group that are not hypers.
_RESERVED_KEYS = {"params", "group", "initial_lr"}

# Per-tensor reads in C (map over a list), for the checks every step makes.
_data_ptr = torch.Tensor.data_ptr
_is_contiguous = torch.Tensor.is_contiguous
_shape = operator.attrgetter("shape")
_dtype = operator.attrgetter("dtype")
_device = operator.attrgetter("device")
_layout = operator.attrgetter("layout")


class _Binding:
    """A runtime group bound to `params`, with what it was bound to: their
    layout (Optimizer._layout_of) and their state tensors
    (Optimizer._states_of)."""

    def __init__(self, runner, layout, states, params):
        self.runner, self.layout = runner, layout
        self.states, self.params = states, params


def _load_artifact(spec, targets):
    path = str(spec)
    if path.endswith(".mlir"):
        path = compiler.compile_cached(path, targets)
    return runtime.load(path)


def _tensors_in(params):
    """The tensors of an optimizer's params argument (tensors or groups)."""
    for item in ([params] if isinstance(params, torch.Tensor) else params):
        if isinstance(item, dict):
            group = item.get("params", [])
            yield from ([group] if isinstance(group, torch.Tensor) else group)
        else:
            yield item


def _bound_shape(p, matrix_group):
    """The shape a parameter is bound with: a matrix group sees a conv
    filter (out, in, kh, kw) as the matrix (out, in·kh·kw), as Muon and
    AdamP do; everything else is bound as it is."""
    if matrix_group and p.ndim > 2:
        return (p.shape[0], p.numel() // p.shape[0])
    return tuple(p.shape)


def _device_name(device):
    """The runtime's name for a torch device: "cpu" or "cuda:N"."""
    if device.type == "cuda":
        index = device.index if device.index is not None else \
            torch.cuda.current_device()
        return f"cuda:{index}"
    return device.type


class Optimizer(torch.optim.Optimizer):
    """Steps torch parameters with a compiled stepc spec.

    params: tensors or param-group dicts, as for any torch optimizer.
    spec: a spec (.mlir, compiled once and cached) or an artifact (.stepc).
    group: the spec group for param groups that name none.
    num_threads: CPU threads per step (default: torch.get_num_threads()).
    hypers: defaults for the param groups whose spec group has a hyper of
        that name (e.g. lr=1e-3); each must belong to some group.
    """

    def __init__(self, params, spec, group=None, num_threads=None, **hypers):
        if not isinstance(params, torch.Tensor):
            params = list(params)
        on_cuda = any(isinstance(p, torch.Tensor) and p.is_cuda
                      for p in _tensors_in(params))
        self._artifact = _load_artifact(
            spec, ("cpu", "cuda") if on_cuda else ("cpu",))
        self._default_group = group
        self._num_threads = num_threads or torch.get_num_threads()
        self._hyper_defaults = hypers
        # (param group, dtype, the parameters) -> runtime group, and with
        # what it was bound to: the addresses and the state tensors.
        self._runners = {}
        self._bindings = {}
        self._last_step = []  # the runtime groups the last step() ran
        # Param group index -> the runtime group that stepped all of its
        # parameters in the last step, for _repeat_of_last_step.
        self._last_runner = {}
        super().__init__(params, defaults={})
        used = {key for g in self.param_groups for key in g}
        for key in hypers:
            if key not in used:
                raise ValueError(
                    f"{key}={hypers[key]!r} is a hyper of no spec group in "
                    f"use ({', '.join(g['group'] for g in self.param_groups)})")

    # -- Param groups -------------------------------------------------------

    def _where(self, group_index, param_index=None):
        text = f"param group {group_index}"
        if param_index is not None:
            text = f"parameter #{param_index} of {text}"
        return text

    def add_param_group(self, param_group):
        index = len(self.param_groups)
        name = param_group.get("group", self._default_group)
        spec_groups = self._artifact.groups
        if name is None:
            if len(spec_groups) != 1:
                raise ValueError(
                    f"{self._where(index)} names no spec group; the spec "
                    f"{self._artifact.optimizer!r} has several: "
                    f"{', '.join(spec_groups)} (add \"group\": NAME)")
            name = spec_groups[0]
        if name not in spec_groups:
            raise ValueError(
                f"{self._where(index)} names spec group {name!r}, but the "
                f"spec {self._artifact.optimizer!r} has only: "
                f"{', '.join(spec_groups)}")
        param_group["group"] = name
        params = param_group["params"]
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        param_group["params"] = params
        for i, p in enumerate(params):
            self._check_param(p, index, i)
        devices = {p.device for p in params}
        if len(devices) > 1:
            raise ValueError(
                f"{self._where(index)} has parameters on "
                f"{', '.join(sorted(map(str, devices)))}; put each param "
                "group's parameters on one device")
        # On the parameters' device: an artifact may hold CUDA code only.
        probe = self._artifact.group(
            name, _PARAM_DTYPES[params[0].dtype] if params else "f32",
            _device_name(params[0].device) if params else "cpu")
        for key in param_group:
            if key not in _RESERVED_KEYS and key not in probe.hyper_names:
                raise ValueError(
                    f"{self._where(index)} sets {key!r}, which spec group "
                    f"{name!r} does not have (its hypers: "
                    f"{', '.join(probe.hyper_names) or 'none'})")
        for hyper in probe.hyper_names:
            if hyper not in param_group:
                value = self._hyper_defaults.get(hyper, probe.hyper(hyper))
                if value is None:
                    raise ValueError(
                        f"hyper {hyper!r} of spec group {name!r} has no "
                        f"default: set it in {self._where(index)}")
                param_group[hyper] = value
        # Binding once now reports a tensor the group cannot take (e.g. a
        # vector in a matrix group) before training starts.
        by_dtype = {}
        for p in params:
            by_dtype.setdefault(p.dtype, []).append(p)
        for dtype, same in by_dtype.items():
            try:
                trial = self._artifact.group(name, _PARAM_DTYPES[dtype],
                                             _device_name(same[0].device))
                trial.bind_addresses(
                    [p.data_ptr() for p in same], [p.data_ptr() for p in same],
                    [_bound_shape(p, trial.accepts_matrices) for p in same])
            except runtime.StepcError as err:
                raise ValueError(f"{self._where(index)} (spec group "
                                 f"{name!r}): {err.message}") from None
        super().add_param_group(param_group)

    def _check_param(self, p, group_index, param_index):
        where = self._where(group_index, param_index)
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{where} is a {type(p).__name__}, not a tensor")
        if p.device.type not in ("cpu", "cuda"):
            raise ValueError(f"{where} is on {p.device}; stepc steps CPU "
                             "and CUDA tensors")
        if p.dtype not in _PARAM_DTYPES:
            raise TypeError(f"{where} has dtype {p.dtype}; stepc steps "
                            "float32, bfloat16 and float16 parameters")
        if not p.is_contiguous():
            raise ValueError(f"{where} is not contiguous; the step writes it "
                             "in place, so make it contiguous once")
        if p.numel() == 0:
            raise ValueError(f"{where} has no elements")

    # -- Stepping -----------------------------------------------------------

    @torch.no_grad()
    def step(self, closure=None, **inputs):
        """One step of every param group. Specs with per-step inputs
        (input(...)) take them as keywords, e.g. step(loss=loss); an input
        named "loss" may instead come from `closure`'s return value."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        stepped = []  # (runtime group, its params, their count)
        for group_index, group in enumerate(self.param_groups):
            params = group["params"]
            grads = [p.grad for p in params]
            buckets = self._repeat_of_last_step(group_index, params, grads)
            if buckets is None:
                buckets = self._buckets(group_index, group, params, grads)
            for runner, bucket, count, bucket_grads in buckets:
                addresses = list(map(_data_ptr, bucket_grads))
                if addresses != runner._stepc_torch_grads:
                    for i, (now, before) in enumerate(
                            zip(addresses, runner._stepc_torch_grads)):
                        if now != before:
                            runner.set_grad_address(i, now)
                    runner._stepc_torch_grads = addresses
                # Set when changed: a call each costs more than the check.
                hypers = [float(group[name]) for name in runner.hyper_names]
                if hypers != runner._stepc_torch_hypers:
                    for name, value in zip(runner.hyper_names, hypers):
                        runner.set_hyper(name, value)
                    runner._stepc_torch_hypers = hypers
                # On a GPU the count lives on the device, and setting it
                # waits for the stream: only when it is not what the last
                # step left there.
                if getattr(runner, "_stepc_torch_count", None) != count:
                    runner.count = count
                if bucket[0].is_cuda:
                    runner.set_stream(
                        torch.cuda.current_stream(bucket[0].device).cuda_stream)
                stepped.append((runner, bucket, count))
            self._last_runner[group_index] = (
                buckets[0][0] if len(buckets) == 1 and
                len(buckets[0][1]) == len(params) else None)
        runners = [runner for runner, _, _ in stepped]
        self._set_inputs(runners, inputs, loss)
        if any(runner.sum_keys for runner in runners):
            # Global sums total every tensor of the step: all groups at once.
            runtime.step_groups(runners)
        else:
            for runner in runners:
                runner.step()
        for runner, params, count in stepped:
            runner._stepc_torch_count = count + 1.0
            # The params' "step" states are views of this one tensor, from
            # their binding's first step on.
            steps = runner._stepc_torch_steps
            steps.add_(1.0)
            if not runner._stepc_torch_steps_in_state:
                for i, p in enumerate(params):
                    self.state[p]["step"] = steps[i]
                binding = self._bindings[runner._stepc_torch_key]
                binding.states = self._states_of(runner, params)
                runner._stepc_torch_steps_in_state = True
        self._last_step = runners
        return loss

    def _buckets(self, group_index, group, params, grads):
        """The (runtime group, its parameters, their step count, their
        grads) that step this param group's parameters with a gradient: one
        per (dtype, step count), so that parameters that skipped steps (no
        grad) keep their own count, as in torch."""
        with_grad = []
        for param_index, (p, grad) in enumerate(zip(params, grads)):
            if grad is not None:
                self._check_grad(p, group_index, param_index)
                with_grad.append(p)
        buckets = {}
        for p, count in zip(with_grad, self._counts(with_grad)):
            buckets.setdefault((p.dtype, count), []).append(p)
        return [(self._runner(group_index, group, dtype, bucket, count),
                 bucket, count, [p.grad for p in bucket])
                for (dtype, count), bucket in buckets.items()]

    def _repeat_of_last_step(self, group_index, params, grads):
        """_buckets' answer when this step is like the last one: the same
        runtime group steps every parameter of the param group again, the
        binding still holds, the grads have their parameters' dtype,
        device, shape and layout, and the step counts are still equal.
        None otherwise; _buckets then finds out what changed, and says it
        if it is an error. It makes these checks with a few calls over the
        whole list instead of several per tensor: on a model of a hundred
        tensors they cost more than the kernel."""
        runner = self._last_runner.get(group_index)
        if runner is None or not runner._stepc_torch_steps_in_state:
            return None
        binding = self._bindings[runner._stepc_torch_key]
        if (len(binding.params) != len(params)
                or not all(map(operator.is_, binding.params, params))
                or any(grad is None for grad in grads)
                or not self._still_bound(binding, params)):
            return None
        if (list(map(_shape, grads)) != binding.layout[1]
                or set(map(_dtype, grads)) != {params[0].dtype}
                or set(map(_device, grads)) != {params[0].device}
                or set(map(_layout, grads)) != {torch.strided}
                or not all(map(_is_contiguous, grads))):
            return None
        counts = runner._stepc_torch_steps.tolist()
        if counts.count(counts[0]) != len(counts):
            return None
        return [(runner, params, counts[0], grads)]

    def _counts(self, params):
        """Each parameter's step count ("step" in its state, 0 before its
        first step), read in one go: one read per tensor costs more than
        the kernel on a model of a hundred tensors."""
        steps = [self.state[p].get("step") for p in params]
        if steps and all(isinstance(t, torch.Tensor) for t in steps):
            try:
                return torch.stack(steps).double().tolist()
            except RuntimeError:  # on several devices, say
                pass
        return [0.0 if t is None else float(t) for t in steps]

    def _set_inputs(self, runners, inputs, loss):
        needed = {name for runner in runners for name in runner.input_names}
        unknown = sorted(set(inputs) - needed)
        if unknown:
            raise ValueError(
                f"step() got input {unknown[0]!r}, which no spec group "
                f"stepped here has (their inputs: "
                f"{', '.join(sorted(needed)) or 'none'})")
        values = {}
        for name in sorted(needed):
            value = inputs.get(name)
            if value is None and name == "loss":
                value = loss
            if value is None:
                how = ("step(closure) with a closure that returns the loss, "
                       "or step(loss=...)" if name == "loss" else
                       f"step({name}=...)")
                raise ValueError(f"spec {self._artifact.optimizer!r} needs "
                                 f"input {name!r} at every step: call {how}")
            values[name] = float(value)
        for runner in runners:
            for name in runner.input_names:
                runner.set_input(name, values[name])

    def total(self, key):
        """The total of global sum `key` in the last step, e.g.
        total("grad_sq") ** 0.5 is the global gradient norm."""
        for runner in self._last_step:
            if key in runner.sum_keys:
                return runner.total(key)
        raise ValueError(f"no spec group stepped in the last step sums "
                         f"{key!r}")

    def _check_grad(self, p, group_index, param_index):
        grad = p.grad
        # Once per tensor per step: the common case in as few calls as
        # possible.
        if (grad.layout == torch.strided and grad.dtype == p.dtype
                and grad.shape == p.shape and grad.device == p.device
                and grad.is_contiguous()):
            return
        where = self._where(group_index, param_index)
        if grad.is_sparse:
            raise ValueError(f"{where} has a sparse gradient; stepc steps "
                             "dense gradients")
        if grad.device != p.device or grad.dtype != p.dtype:
            raise ValueError(f"the gradient of {where} is {grad.dtype} on "
                             f"{grad.device}, its parameter {p.dtype} on "
                             f"{p.device}")
        if grad.shape != p.shape or not grad.is_contiguous():
            raise ValueError(f"the gradient of {where} has shape "
                             f"{tuple(grad.shape)} (contiguous: "
                             f"{grad.is_contiguous()}); expected the "
                             f"parameter's {tuple(p.shape)}, contiguous")

    def _runner(self, group_index, group, dtype, params, count):
        """The runtime group bound to `params`, their state adopted from
        self.state (created and initialized when missing). A binding
        is reused while the parameters and their state tensors are the
        same tensors at the same addresses."""
        key = (group_index, dtype, tuple(map(id, params)))
        binding = self._bindings.get(key)
        if binding is not None and self._still_bound(binding, params):
            return binding.runner
        for p in params:
            self._check_param(p, group_index, next(
                i for i, q in enumerate(group["params"]) if q is p))
        runner = self._bind(group_index, group, dtype, params)
        # The params' "step" states become views of one tensor at the
        # first step: a step advances them all in one call.
        runner._stepc_torch_steps = torch.full((len(params),), count)
        runner._stepc_torch_key = key
        runner._stepc_torch_steps_in_state = False
        self._bindings[key] = _Binding(runner, self._layout_of(params),
                                       self._states_of(runner, params), params)
        self._runners[key] = runner
        return runner

    def _states_of(self, runner, params):
        """The state tensors a binding holds, and "step": what must still
        be the same tensors for the binding to be reused."""
        states = list(map(self.state.__getitem__, params))
        return list(itertools.chain.from_iterable(
            map(operator.methodcaller("get", name), states)
            for name in (*runner.state_names, "step")))

    @staticmethod
    def _layout_of(params):
        """Where the parameters are and how they are laid out: a parameter
        given another shape, dtype or layout (p.data = ...) at the same
        address needs a new binding, and the checks that come with it."""
        return (list(map(_data_ptr, params)), list(map(_shape, params)),
                list(map(_dtype, params)), all(map(_is_contiguous, params)))

    def _still_bound(self, binding, params):
        if binding.layout != self._layout_of(params):
            return False
        return all(map(operator.is_,
                       self._states_of(binding.runner, params), binding.states))

    def _bind(self, group_index, group, dtype, params):
        device = params[0].device
        runner = self._artifact.group(group["group"], _PARAM_DTYPES[dtype],
                                      _device_name(device))
        if device.type == "cpu":
            runner.set_num_threads(self._num_threads)
        runner._stepc_torch_grads = [p.grad.data_ptr() for p in params]
        runner._stepc_torch_hypers = None
        runner.bind_addresses(
            [p.data_ptr() for p in params], runner._stepc_torch_grads,
            [_bound_shape(p, runner.accepts_matrices) for p in params])
        created, adopted = False, []
        for i, p in enumerate(params):
            state = self.state[p]
            for name in runner.state_names:
                storage = _STATE_DTYPES[runner.state_dtype(name)]
                shape = runner.state_shape(i, name)
                tensor = state.get(name)
                if tensor is None:
                    tensor = torch.zeros(shape, dtype=storage, device=device)
                    created = True
                elif tensor.numel() != torch.Size(shape).numel():
                    raise ValueError(
                        f"state {name!r} of {self._where(group_index)}'s "
                        f"parameter of shape {tuple(p.shape)} has shape "
                        f"{tuple(tensor.shape)}; spec group "
                        f"{group['group']!r} needs {shape}")
                else:
                    tensor = tensor.to(device=device, dtype=storage)
                    tensor = tensor.contiguous().reshape(shape)
                    adopted.append(tensor)
                state[name] = tensor
                runner.adopt_state_address(i, name, tensor.data_ptr(),
                                           tensor.numel())
        if created:
            # The spec's initial values (param norms, identities, ...) for
            # the new state, whatever the step count: parameters whose
            # count was set back to 0 keep the state they have. init_state
            # sets every state, so the adopted ones are put back.
            kept = [tensor.clone() for tensor in adopted]
            runner.init_state()
            for tensor, saved in zip(adopted, kept):
                tensor.copy_(saved)
        return runner

    # -- Checkpoints --------------------------------------------------------

    def _fingerprint(self):
        return {"optimizer": self._artifact.optimizer,
                "groups": [g["group"] for g in self.param_groups]}

    def state_dict(self):
        state = super().state_dict()
        state["stepc"] = self._fingerprint()
        return state

    def load_state_dict(self, state_dict):
        saved = state_dict.get("stepc")
        if saved is None:
            raise ValueError("the state dict was not saved by "
                             "stepc.torch.Optimizer (it has no 'stepc' entry)")
        mine = self._fingerprint()
        if saved != mine:
            raise ValueError(
                f"the state dict was saved by spec {saved['optimizer']!r} "
                f"with groups {saved['groups']}; this optimizer runs spec "
                f"{mine['optimizer']!r} with groups {mine['groups']}")
        # torch casts floating state to the parameter's dtype on load; keep
        # the saved tensors instead (f32 or bf16 storage, as the spec says).
        super().load_state_dict(state_dict)
        saved_state = state_dict["state"]
        for group, saved_group in zip(self.param_groups,
                                      state_dict["param_groups"]):
            for p, saved_index in zip(group["params"], saved_group["params"]):
                for name, value in saved_state.get(saved_index, {}).items():
                    if name != "step" and isinstance(value, torch.Tensor):
                        self.state[p][name] = value.detach().to(p.device).clone()
        self._runners.clear()
        self._bindings.clear()
        self._last_runner.clear()
