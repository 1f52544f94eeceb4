"""Import a ``torch.nn.Module`` as a cnncalc spec, so a user can analyse, verify and check their own network.

``torch.fx`` traces the module; every call of a known module, function or method becomes a layer, named after
the module path (``layer1.0.conv1``) or the graph node (``add_1``), and wired with ``inputs:`` wherever the data
flow is not a plain chain. One forward pass sizes everything: at batch 2, in eval mode, on fake tensors (no memory,
no arithmetic; real zeros on the module's device only where fake tensors fail), and the module's train/eval
flags are restored afterwards, so the module is not changed. The spec is then analysed and every layer's output
shape compared with torch's: an import that cnncalc would size differently is an error, never a silent mismatch.

When torch.fx cannot trace the module (data-dependent control flow), forward hooks on the leaf modules record
them in execution order and the spec assumes they form a chain; the spec's ``notes`` say so. Anything that
cannot be mapped is listed in a CnncalcError: nothing is silently dropped.
"""

from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass, field
from math import prod
from typing import Any

from cnncalc.errors import CnncalcError
from cnncalc.torch._modules import torch_modules

Shape = tuple[int, ...]

_ACTIVATIONS = {
    "ReLU": "relu", "ReLU6": "relu6", "Sigmoid": "sigmoid", "Tanh": "tanh", "SiLU": "silu", "SELU": "selu",
    "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "Identity": "identity",
}
#: Functions and tensor methods that are elementwise activations (``F.relu``, ``torch.sigmoid``, ``x.tanh_()``).
_FUNCTIONS = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "silu": "silu",
              "gelu": "gelu", "selu": "selu", "hardswish": "hardswish", "hardsigmoid": "hardsigmoid",
              "leaky_relu": "leaky_relu", "elu": "elu", "softmax": "softmax", "log_softmax": "log_softmax"}
#: Tensor methods that return their input's values unchanged (for shapes and counts).
_PASS_THROUGH = {"contiguous", "clone", "detach", "float", "double", "half", "bfloat16", "to", "type_as",
                 "requires_grad_", "cpu", "cuda"}
#: Positional parameters of the functions mapped below (after the input), to bind args and kwargs alike.
_PARAMS = {
    "max_pool": ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "adaptive": ("output_size", "return_indices"),
    "interpolate": ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
    "pad": ("pad", "mode", "value"),
    "cat": ("dim",),
    "flatten": ("start_dim", "end_dim"),
    "softmax": ("dim",),
    "log_softmax": ("dim",),
    "leaky_relu": ("negative_slope", "inplace"),
    "elu": ("alpha", "inplace"),
    "dropout": ("p", "training", "inplace"),
    "mean": ("dim", "keepdim"),
    "pixel_shuffle": ("upscale_factor",),
    "pixel_unshuffle": ("downscale_factor",),
    "channel_shuffle": ("groups",),
}


#: The other function and method names :meth:`_Walk.map` handles.
_KNOWN = {"add", "iadd", "mul", "imul", "cat", "concat", "concatenate", "flatten", "view", "reshape", "getitem",
          "interpolate", "upsample", "pad", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "mean", "identity",
          "alpha_dropout", "feature_alpha_dropout"}


def _pair(value: Any) -> Any:
    """``(3, 3)`` → 3, ``(1, 7)`` → [1, 7]: the short spec form of torch's per-dim tuples."""
    if isinstance(value, tuple | list):
        values = [None if v is None else int(v) for v in value]
        return values[0] if len(set(values)) == 1 and values[0] is not None else values
    return value


def _softmax_dim(dim: Any, rank: int) -> int:
    """torch's implicit softmax dim for ``dim=None`` (``_get_softmax_dim``): 0 for ranks 0, 1 and 3, else 1."""
    if dim is not None:
        return int(dim)
    return 0 if rank in (0, 1, 3) else 1


def _module_layer(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> dict[str, Any] | None:
    """The spec entry for one torch module called on batched shape ``x`` giving ``y``, or None without mapping."""
    kind = type(m).__name__
    if isinstance(m, nn.modules.conv._ConvNd):
        transposed = isinstance(m, nn.modules.conv._ConvTransposeNd)
        n = len(m.kernel_size)
        entry: dict[str, Any] = {
            "type": f"conv_transpose{n}d" if transposed else f"conv{n}d", "out_channels": m.out_channels,
            "kernel_size": _pair(m.kernel_size), "stride": _pair(m.stride),
            "padding": m.padding if isinstance(m.padding, str) else _pair(m.padding),
            "dilation": _pair(m.dilation), "groups": m.groups, "bias": m.bias is not None,
        }
        if transposed:
            entry["output_padding"] = _pair(m.output_padding)
            if x is not None and y is not None and len(x) == len(y) == n + 2:
                # Called with output_size=..., torch derives the output padding: take it from the sizes.
                entry["output_padding"] = _pair([
                    out - ((w - 1) * s - 2 * p + d * (k - 1) + 1)
                    for w, out, k, s, p, d in zip(x[2:], y[2:], m.kernel_size, m.stride, m.padding, m.dilation,
                                                  strict=True)
                ])
        return entry
    if isinstance(m, nn.Linear):
        return {"type": "linear", "out_features": m.out_features, "bias": m.bias is not None}
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        bn = kind.lower() if kind in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d") else "batchnorm"
        return {"type": bn, "eps": m.eps, "momentum": m.momentum, "affine": m.affine,
                "track_running_stats": m.track_running_stats}
    if isinstance(m, nn.modules.pooling._MaxPoolNd):
        return {"type": kind.lower(), "kernel_size": _pair(m.kernel_size),
                "stride": _pair(m.stride if m.stride is not None else m.kernel_size), "padding": _pair(m.padding),
                "dilation": _pair(m.dilation), "ceil_mode": m.ceil_mode}
    if isinstance(m, nn.modules.pooling._AvgPoolNd):
        return {"type": kind.lower(), "kernel_size": _pair(m.kernel_size), "stride": _pair(m.stride),
                "padding": _pair(m.padding), "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad}
    if kind.startswith("Adaptive") and "Pool" in kind and kind[-2:] in ("1d", "2d", "3d"):
        size = m.output_size
        size = list(size) if isinstance(size, tuple | list) else size
        return {"type": "adaptive_" + ("avg" if "Avg" in kind else "max") + "pool" + kind[-2:].lower(),
                "output_size": size}
    if isinstance(m, nn.Flatten):
        return {"type": "flatten", "start_dim": m.start_dim, "end_dim": m.end_dim}
    if isinstance(m, nn.modules.dropout._DropoutNd):
        return {"type": "dropout", "p": m.p}
    if kind in _ACTIVATIONS:
        return {"type": _ACTIVATIONS[kind]}
    if isinstance(m, nn.LeakyReLU):
        return {"type": "leaky_relu", "negative_slope": m.negative_slope}
    if isinstance(m, nn.ELU):
        return {"type": "elu", "alpha": m.alpha}
    if isinstance(m, nn.GELU):
        return {"type": "gelu", "approximate": m.approximate}
    if isinstance(m, nn.PReLU):
        return {"type": "prelu", "num_parameters": m.num_parameters}
    if isinstance(m, nn.Softmax2d):
        return {"type": "softmax", "dim": -3}
    if isinstance(m, nn.Softmax | nn.LogSoftmax):
        return {"type": "softmax" if isinstance(m, nn.Softmax) else "log_softmax",
                "dim": _softmax_dim(m.dim, len(x) if x is not None else 2)}
    if isinstance(m, nn.LocalResponseNorm):
        return {"type": "lrn", "size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}
    if isinstance(m, nn.Upsample):
        if m.mode not in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
            return None
        size = list(m.size) if isinstance(m.size, tuple) else m.size
        scale = list(m.scale_factor) if isinstance(m.scale_factor, tuple) else m.scale_factor
        # UpsamplingBilinear2d passes align_corners=True in its forward, not as an attribute.
        corners = True if isinstance(m, nn.UpsamplingBilinear2d) else m.align_corners
        return {"type": "upsample", "size": size, "scale_factor": scale, "mode": m.mode, "align_corners": corners}
    if isinstance(m, nn.PixelShuffle):
        return {"type": "pixel_shuffle", "upscale_factor": m.upscale_factor}
    if isinstance(m, nn.PixelUnshuffle):
        return {"type": "pixel_unshuffle", "downscale_factor": m.downscale_factor}
    if isinstance(m, nn.ChannelShuffle):
        return {"type": "channel_shuffle", "groups": m.groups}
    if kind.startswith(("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")):
        mode = ("reflect" if "Reflection" in kind else "replicate" if "Replication" in kind
                else "circular" if "Circular" in kind else "constant")
        return _pad_entry(list(m.padding), mode, getattr(m, "value", 0.0))
    if isinstance(m, nn.modules.pooling._MaxUnpoolNd):
        return {"type": f"max_unpool{len(m.kernel_size)}d", "kernel_size": _pair(m.kernel_size),
                "stride": _pair(m.stride), "padding": _pair(m.padding)}
    return None


def _pad_entry(pads: list[int], mode: str, value: Any = 0.0) -> dict[str, Any]:
    """torch's (left, right, top, bottom, …) last-dim-first amounts → cnncalc's per-dim [before, after] pairs."""
    pairs = [[int(pads[i]), int(pads[i + 1])] for i in range(0, len(pads), 2)][::-1]
    entry: dict[str, Any] = {"type": "pad", "padding": pairs, "mode": mode}
    if mode == "constant" and value:
        entry["value"] = float(value)
    return entry


def _as_flatten(x: Shape, y: Shape) -> dict[str, Any] | None:
    """A view/reshape from ``x`` to ``y`` (batch included) that merges one run of dims, as a flatten; else None."""
    for start in range(1, len(x)):
        for end in range(start + 1, len(x)):
            if y == (*x[:start], prod(x[start:end + 1]), *x[end + 1:]):
                return {"type": "flatten", "start_dim": start, "end_dim": end - len(x)}
    return None


# ------------------------------------------------------------------------------------------------------------------
# Tracing with torch.fx


@dataclass
class _Import:
    """What a trace produced: the spec's layers, torch's output shape per layer name, and notes for the user."""

    layers: list[dict[str, Any]] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=lambda: {"input"})
    #: A module with parameters is called more than once (the spec counts them at each call).
    shared: bool = False
    #: Recorded with forward hooks (torch.fx could not trace the module).
    hooks: bool = False
    previous: str = "input"

    def label(self, wanted: str) -> str:
        label, k = wanted, 1
        while label in self.used:
            k += 1
            label = f"{wanted}_{k}"
        self.used.add(label)
        return label

    def add(self, entry: dict[str, Any], sources: list[str], shape: Shape, *, merge: bool = False) -> str:
        """Append a layer fed by ``sources`` (``inputs:`` only where it is not the previous layer)."""
        if merge or sources != [self.previous]:
            entry["inputs"] = sources
        self.layers.append(entry)
        self.shapes[entry["name"]] = shape[1:]
        self.previous = entry["name"]
        return str(entry["name"])


def _is_tensor(value: Any, torch: Any) -> bool:
    return isinstance(value, torch.Tensor)


def _shape(value: Any) -> Shape:
    return tuple(int(v) for v in value.shape)


def _run(module: Any, call: Any, input_shape: Shape, torch: Any) -> None:
    """Call ``call(x)`` once on a batch-2 input: fake tensors first, real zeros where they fail; eval mode meanwhile."""
    flags = {m: m.training for m in module.modules()}
    module.eval()  # no batch statistics: nothing in the module is updated, and batch norm takes any batch
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                from torch._subclasses.fake_tensor import FakeTensorMode

                with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
                    call(torch.empty(2, *input_shape))
                return
            except Exception:  # fake tensors do not cover every op: fall back to a real pass below
                pass
            device = next((p.device for p in module.parameters()), torch.device("cpu"))
            try:
                with torch.no_grad():
                    call(torch.zeros(2, *input_shape, device=device))
            except Exception as err:  # whatever the user's forward raises
                raise CnncalcError(f"the module does not run on a 2x{'x'.join(map(str, input_shape))} input "
                                   f"({type(err).__name__}: {err})") from None
    finally:
        for m, training in flags.items():
            m.training = training


class _UntraceableError(Exception):
    """torch.fx could not trace the module; the message says why."""


def _trace(module: Any, input_shape: Shape, torch: Any, nn: Any) -> _Import:
    """Map every node of the fx graph; raises torch's own error when fx cannot trace the module."""
    from torch import fx

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m: Any, name: str) -> bool:
            # Subclasses of mapped torch modules (a custom Conv2d) are layers too, not code to trace through.
            return _module_layer(m, nn, None, None) is not None or bool(super().is_leaf_module(m, name))

    tracer = Tracer()
    try:
        graph = tracer.trace(module)
    except Exception as err:  # tracing failures come in many types
        raise _UntraceableError(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    traced = fx.GraphModule(tracer.root, graph)
    values: dict[Any, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            values[n] = result = super().run_node(n)
            return result

    _run(module, lambda x: Recorder(traced).run(x), input_shape, torch)
    return _Walk(traced, values, torch, nn).walk()


class _Walk:
    """One pass over the fx graph in order, turning nodes into spec entries."""

    def __init__(self, traced: Any, values: dict[Any, Any], torch: Any, nn: Any) -> None:
        self.traced, self.values, self.torch, self.nn = traced, values, torch, nn
        self.modules = dict(traced.named_modules())
        self.out = _Import()
        self.refs: dict[Any, str] = {}  # fx node → the spec name of the tensor it computes
        self.indices: dict[Any, str] = {}  # fx node → the max-pool whose indices it holds
        self.failed: set[Any] = set()  # unmapped nodes and what depends on them (listed once, at the root)
        self.calls: dict[str, int] = {}

    def value(self, arg: Any) -> Any:
        """An argument with every fx node replaced by its recorded value (sizes computed from shapes, say)."""
        from torch import fx

        if isinstance(arg, fx.Node):
            return self.values.get(arg)
        if isinstance(arg, tuple | list):
            return type(arg)(self.value(a) for a in arg)
        if isinstance(arg, slice):
            return slice(self.value(arg.start), self.value(arg.stop), self.value(arg.step))
        if isinstance(arg, dict):
            return {k: self.value(v) for k, v in arg.items()}
        return arg

    def walk(self) -> _Import:
        from torch import fx

        for node in self.traced.graph.nodes:
            if node.op == "placeholder":
                if self.refs:
                    if not node.args:  # a second input without a default
                        self.out.unmapped.append(f"second input '{node.name}' (a spec has one input)")
                    continue
                self.refs[node] = "input"
                continue
            if node.op == "output":
                self.output(node.args[0])
                continue
            if node.op == "get_attr":
                continue  # parameters and constants: what uses them decides
            if any(a in self.failed for a in node.all_input_nodes):
                if self.known(node):
                    self.failed.add(node)  # it would map: the failure upstream is the one to report
                else:
                    self.fail(node)
                continue
            result = self.values.get(node)
            tensors = [a for a in node.all_input_nodes if _is_tensor(self.values.get(a), self.torch)]
            stray = [a for a in tensors if a not in self.refs and a not in self.indices]
            is_data = _is_tensor(result, self.torch) or (
                isinstance(result, tuple) and bool(result) and _is_tensor(result[0], self.torch))
            if not is_data:
                if node.op == "call_module":  # a module returning no tensor: nothing for a spec
                    self.fail(node)
                continue  # sizes and other Python values: they feed the arguments of other layers
            if stray:
                what = ", ".join(f"'{a.target if a.op == 'get_attr' else a.name}'" for a in stray)
                self.fail(node, f"uses {what}, a tensor not computed from the input")
                continue
            done = self.map(node, tensors, fx)
            if done is not True:
                self.fail(node, done or "")
        out = self.out
        if out.unmapped:
            raise CnncalcError("cnncalc has no mapping for: " + "; ".join(out.unmapped))
        shared = {k: n for k, n in self.calls.items() if n > 1}
        for target, n in shared.items():
            count = sum(p.numel() for p in self.modules[target].parameters())
            if count:
                out.shared = True
                out.notes.append(f"module '{target}' is called {n} times: the spec counts its {count:,} parameters "
                                 "at every call, torch stores them once")
        return out

    def known(self, node: Any) -> bool:
        """Whether the node's module or function has a mapping at all (whatever its arguments)."""
        if node.op == "call_module":
            return _module_layer(self.modules[node.target], self.nn, None, None) is not None
        name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
        base = name.lstrip("_").rstrip("_")
        return base in _KNOWN or base in _FUNCTIONS or base in _PASS_THROUGH or base.startswith(
            ("max_pool", "avg_pool", "adaptive_", "dropout"))

    def fail(self, node: Any, why: str = "") -> None:
        self.failed.add(node)
        if node.op == "call_module":
            text = f"{node.target} ({type(self.modules[node.target]).__name__})"
        else:
            text = f"{node.name} ({getattr(node.target, '__name__', node.target)})"
        self.out.unmapped.append(text + (f": {why}" if why else ""))

    def output(self, result: Any) -> None:
        from torch import fx

        if isinstance(result, tuple | list | dict):
            items = list(result.values()) if isinstance(result, dict) else list(result)
            first = next((r for r in items if isinstance(r, fx.Node) and r in self.refs), None)
            self.out.notes.append(f"the module returns {len(items)} values; the spec follows the first tensor")
            result = first
        if isinstance(result, fx.Node) and result in self.refs and self.refs[result] != self.out.previous:
            name = self.out.label("output")
            self.out.add({"type": "identity", "name": name}, [self.refs[result]], _shape(self.values[result]))

    def emit(self, node: Any, entry: dict[str, Any], sources: list[Any], *, merge: bool = False,
             shape: Shape | None = None) -> str:
        wanted = str(node.target) if node.op == "call_module" else str(node.name)
        entry = {"name": self.out.label(wanted), **entry}
        result = self.values[node]
        shape = shape or _shape(result[0] if isinstance(result, tuple) else result)
        name = self.out.add(entry, [self.refs[s] for s in sources], shape, merge=merge)
        self.refs[node] = name
        return name

    def map(self, node: Any, tensors: list[Any], fx: Any) -> bool | str:
        """Add the node's layer(s); False (or why, as text) when there is no mapping."""
        nn = self.nn
        result = self.values[node]
        y = _shape(result[0] if isinstance(result, tuple) else result)
        first = node.args[0] if node.args else None
        main = first if isinstance(first, fx.Node) and first in self.refs else (tensors[0] if tensors else None)
        if node.target is operator.getitem:
            return self.getitem(node, main)
        x = _shape(self.values[main]) if main is not None and _is_tensor(self.values[main], self.torch) else None
        if node.op == "call_module":
            m = self.modules[node.target]
            self.calls[node.target] = self.calls.get(node.target, 0) + 1
            if isinstance(m, nn.Sequential) and len(m) == 0:
                return self.alias(node, main)
            entry = _module_layer(m, nn, x, y)
            if entry is None or main is None:
                return False
            if isinstance(m, nn.modules.pooling._MaxUnpoolNd):
                index = node.args[1] if len(node.args) > 1 else node.kwargs.get("indices")
                if index not in self.indices:
                    return False
                entry["indices"] = self.indices[index]
            params = list(m.parameters(recurse=True))
            if params and not any(p.requires_grad for p in params):
                entry["trainable"] = False
            name = self.emit(node, entry, [main])
            if isinstance(result, tuple) and isinstance(m, nn.modules.pooling._MaxPoolNd):
                self.indices[node] = name  # return_indices=True: pool(x)[1] feeds a MaxUnpool
            return True
        name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
        name = name.lstrip("_")
        args = [self.value(a) for a in node.args[1:]]
        kwargs = {k: self.value(v) for k, v in node.kwargs.items()}
        if name in ("add", "add_", "iadd", "mul", "mul_", "imul"):
            return self.merge(node, "add" if "add" in name else "mul", tensors, y, inplace=name.endswith("_") or
                              name.startswith("i"))
        if name in ("cat", "concat", "concatenate"):
            parts = node.args[0] if node.args else node.kwargs.get("tensors")
            if not isinstance(parts, tuple | list) or any(p not in self.refs for p in parts):
                return False
            dim = self.bind("cat", args, kwargs).get("dim", 0)
            self.emit(node, {"type": "concat", "dim": dim}, list(parts), merge=True)
            return True
        if main is None or x is None:
            return False
        if name in _PASS_THROUGH or name == "identity":
            return self.alias(node, main)
        entry = self.function(name, x, y, args, kwargs)
        if entry is None:
            return False
        entries = entry if isinstance(entry, list) else [entry]
        for i, e in enumerate(entries):
            last = i == len(entries) - 1
            if last:
                self.emit(node, e, [main] if i == 0 else [node], shape=y)
            else:
                pooled = (*y, *([1] * (len(x) - len(y))))
                label = self.out.label(f"{node.name}_pool")
                self.refs[node] = self.out.add({"name": label, **e}, [self.refs[main]], pooled)
        if isinstance(result, tuple) and name.startswith("max_pool"):
            self.indices[node] = self.refs[node]
        return True

    def alias(self, node: Any, source: Any) -> bool:
        if source is None:
            return False
        self.refs[node] = self.refs[source]
        return True

    def bind(self, key: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        return dict(zip(_PARAMS[key], args, strict=False)) | kwargs

    def merge(self, node: Any, kind: str, tensors: list[Any], y: Shape, *, inplace: bool) -> bool | str:
        """``a + b``, ``a * b`` on tensors of the output's shape; scalars and broadcasting have no cnncalc layer."""
        operands = [a for a in node.args[:2] if a in self.refs]
        if len(operands) != 2:
            return "an operand that is not a tensor (a scalar)"
        shapes = [_shape(self.values[a])[1:] for a in operands]
        if any(s != y[1:] for s in shapes):
            return "broadcasting " + " and ".join("x".join(map(str, s)) for s in shapes)
        self.emit(node, {"type": kind, **({"inplace": True} if inplace else {})}, operands, merge=True)
        return True

    def getitem(self, node: Any, source: Any) -> bool:
        """``pool(x)[0]`` and ``[1]`` (values and indices), or ``x[:, :, a:b, c:d]`` as a crop."""
        base, index = node.args[0], node.args[1]
        if isinstance(self.values.get(base), tuple):
            if index == 0 and base in self.refs:
                return self.alias(node, base)
            if index == 1 and base in self.indices:
                self.indices[node] = self.indices[base]
                return True
            return False
        if source is None:
            return False
        index = self.value(index)
        x, y = _shape(self.values[base]), _shape(self.values[node])
        if not isinstance(index, tuple):
            index = (index,)
        if Ellipsis in index:
            at = index.index(Ellipsis)
            index = (*index[:at], *[slice(None)] * (len(x) - len(index) + 1), *index[at + 1:])
        index = (*index, *[slice(None)] * (len(x) - len(index)))
        if len(index) != len(x) or any(not isinstance(s, slice) for s in index):
            return False
        bounds = [s.indices(w) for s, w in zip(index, x, strict=True)]
        whole = all(b[:2] == (0, w) for b, w in zip(bounds[:2], x[:2], strict=True))
        if not whole or any(step != 1 for _, _, step in bounds):
            return False  # only spatial crops: the batch and channels stay whole
        before = [start for start, _, _ in bounds[2:]]
        after = [w - max(stop, start) for (start, stop, _), w in zip(bounds[2:], x[2:], strict=True)]
        if not any(before) and not any(after):
            return self.alias(node, source)
        if len(y) != len(x):
            return False
        self.emit(node, {"type": "crop", "crop": {"before": before, "after": after}}, [source])
        return True

    def function(self, name: str, x: Shape, y: Shape, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A spec entry (or two) for a functional call or tensor method on ``x`` giving ``y``; None if unknown."""
        kwargs = {k: v for k, v in kwargs.items() if k not in ("_stacklevel", "dtype")}
        base = name.rstrip("_")
        if base in _FUNCTIONS:
            kind = _FUNCTIONS[base]
            entry: dict[str, Any] = {"type": kind}
            if kind in ("softmax", "log_softmax"):
                entry["dim"] = _softmax_dim(self.bind(kind, args, kwargs).get("dim"), len(x))
            elif kind in ("leaky_relu", "elu"):
                bound = self.bind(kind, args, kwargs)
                key = "negative_slope" if kind == "leaky_relu" else "alpha"
                if key in bound:
                    entry[key] = float(bound[key])
            elif kind == "gelu" and kwargs.get("approximate", "none") != "none":
                entry["approximate"] = kwargs["approximate"]
            if name.endswith("_") or kwargs.get("inplace") is True:
                entry["inplace"] = True
            return entry
        if base in ("flatten", "view", "reshape"):
            if base == "flatten" and len(y) == len(x):
                return None if y != x else {"type": "identity"}
            return _as_flatten(x, y) if y != x else {"type": "identity"}
        if base in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
            return {"type": "dropout", "p": float(self.bind("dropout", args, kwargs).get("p", 0.5))}
        for pool in ("max_pool", "avg_pool"):
            if base.startswith(pool) and base[-2:] in ("1d", "2d", "3d"):
                bound = self.bind(pool, args, kwargs)
                entry = {"type": pool.replace("_", "") + base[-2:], "kernel_size": _pair(bound["kernel_size"]),
                         "stride": _pair(bound.get("stride") or bound["kernel_size"]),
                         "padding": _pair(bound.get("padding", 0)), "ceil_mode": bool(bound.get("ceil_mode", False))}
                if pool == "max_pool":
                    entry["dilation"] = _pair(bound.get("dilation", 1))
                else:
                    entry["count_include_pad"] = bool(bound.get("count_include_pad", True))
                return entry
        if base.startswith("adaptive_") and base[-2:] in ("1d", "2d", "3d"):
            size = self.bind("adaptive", args, kwargs)["output_size"]
            kind = "avg" if "avg" in base else "max"
            return {"type": f"adaptive_{kind}pool{base[-2:]}",
                    "output_size": list(size) if isinstance(size, tuple | list) else size}
        if base in ("interpolate", "upsample"):
            bound = self.bind("interpolate", args, kwargs)
            mode = bound.get("mode", "nearest")
            if mode not in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
                return None
            entry = {"type": "upsample", "mode": mode, "size": list(y[2:])}  # sizes as torch computed them
            if bound.get("align_corners") is not None:
                entry["align_corners"] = bool(bound["align_corners"])
            return entry
        if base == "pad":
            bound = self.bind("pad", args, kwargs)
            return _pad_entry(list(bound["pad"]), bound.get("mode") or "constant", bound.get("value") or 0.0)
        if base in ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle"):
            (key, value), = self.bind(base, args, kwargs).items()
            return {"type": base, key: int(value)}
        if base == "mean":
            bound = self.bind("mean", args, kwargs)
            dims = bound.get("dim")
            dims = [dims] if isinstance(dims, int) else list(dims or [])
            spatial = set(range(2, len(x)))
            if not spatial or {d % len(x) for d in dims} != spatial:
                return None  # only the global average over every spatial dim has a layer
            average: dict[str, Any] = {"type": "global_avgpool"}
            return average if bound.get("keepdim") else [average, {"type": "flatten"}]
        return None


# ------------------------------------------------------------------------------------------------------------------
# Forward hooks, for modules torch.fx cannot trace


def _leaves(module: Any, nn: Any) -> list[tuple[str, Any]]:
    """Modules with a mapping (not looked into) and modules without children, with their qualified names."""
    leaves: list[tuple[str, Any]] = []
    inside: list[str] = []
    for name, m in module.named_modules():
        if any(name.startswith(p + ".") for p in inside):
            continue
        if _module_layer(m, nn, None, None) is not None:
            inside.append(name)
            leaves.append((name, m))
        elif not list(m.children()):
            leaves.append((name or type(m).__name__.lower(), m))
    return leaves


def _hooks(module: Any, input_shape: Shape, torch: Any, nn: Any, reason: str) -> _Import:
    """Leaf modules in execution order, checked to form a chain (what fx failed on is reported in the notes)."""
    leaves = _leaves(module, nn)
    records: list[tuple[str, Any, list[tuple[Shape, Any]], Any]] = []
    handles = [m.register_forward_hook(
        lambda mod, inputs, output, name=name: records.append(
            (name, mod, [(_shape(t), t) for t in inputs if _is_tensor(t, torch)], output)))
        for name, m in leaves]
    final: list[Any] = []

    def call(x: Any) -> None:
        records.clear()  # a failed pass on fake tensors may have recorded part of the modules
        final[:] = [module(x)]

    try:
        _run(module, call, input_shape, torch)
    finally:
        for handle in handles:
            handle.remove()
    out = _Import(notes=[f"torch.fx could not trace the module ({reason}), so the spec was recorded with forward "
                         "hooks, as a chain of its modules"], hooks=True)
    current: Shape = (2, *input_shape)
    previous: Any = None  # the tensor the previous module returned (None: the input)
    pools: list[str] = []

    def stop(what: str) -> CnncalcError:
        return CnncalcError(f"torch.fx could not trace the module ({reason}), and its forward pass is not a plain "
                            f"chain of modules: {what} (code between modules is invisible to forward hooks)")

    for name, m, inputs, output in records:
        first = output[0] if isinstance(output, tuple) else output
        if not inputs or not _is_tensor(first, torch):
            out.unmapped.append(f"{name} ({type(m).__name__}): no tensor in or out")
            continue
        y = _shape(first)
        x = inputs[0][0]
        if previous is not None and inputs[0][1] is not previous:
            flat = _as_flatten(current, x)
            if flat is None:  # same-shape code (a residual addition, say) would vanish from the spec: refuse
                raise stop(f"'{name}' does not take the previous module's output")
            out.notes.append(f"'{name}' takes the previous output reshaped: read as a flatten")
            out.add({"name": out.label(f"{name}.flatten"), **flat}, [out.previous], x)
        entry = _module_layer(m, nn, x, y)
        if entry is None:
            out.unmapped.append(f"{name} ({type(m).__name__})")
            current = y
            continue
        if isinstance(m, nn.modules.pooling._MaxUnpoolNd):
            if not pools:
                out.unmapped.append(f"{name} ({type(m).__name__}): no max-pool with return_indices before it")
                continue
            entry["indices"] = pools.pop()  # the innermost open pool, as encoder-decoders pair them
        label = out.add({"name": out.label(name), **entry}, [out.previous], y)
        if isinstance(output, tuple) and isinstance(m, nn.modules.pooling._MaxPoolNd):
            pools.append(label)
        current, previous = y, first
    if out.unmapped:
        raise CnncalcError("cnncalc has no mapping for: " + "; ".join(out.unmapped))
    result = final[0] if final else None
    result = result[0] if isinstance(result, tuple) else result
    if result is not previous:
        raise stop("the module's output is not its last module's output")
    return out


# ------------------------------------------------------------------------------------------------------------------
# The entry point


def from_torch(module: Any, input_shape: tuple[int, ...], *, name: str = "imported") -> dict[str, Any]:
    """A cnncalc spec (a dict, ready for ``cnncalc.analyze`` or YAML) for ``module`` on a C×… input.

    Raises CnncalcError listing every module or function without a cnncalc layer, or naming the first layer whose
    output shape cnncalc would compute differently from torch. Caveats (shared modules counted at every call, the
    hooks fallback) are in the spec's ``notes``.
    """
    torch, nn, _ = torch_modules()
    if not isinstance(module, nn.Module):
        raise CnncalcError(f"expected a torch.nn.Module, got {type(module).__name__}")
    shape = tuple(int(v) for v in input_shape)
    root = module
    if _module_layer(module, nn, None, None) is not None:  # a bare layer: trace it as a one-module network
        from collections import OrderedDict

        root = nn.Sequential(OrderedDict([(type(module).__name__.lower(), module)]))
    try:
        imported = _trace(root, shape, torch, nn)
    except _UntraceableError as err:
        imported = _hooks(root, shape, torch, nn, str(err))
    how = " with forward hooks" if imported.hooks else ""
    spec: dict[str, Any] = {"name": name, "description": f"imported from torch ({type(module).__name__}){how}",
                            "input": list(shape), "layers": imported.layers}
    if not imported.layers:
        raise CnncalcError(f"{type(module).__name__} has no layers cnncalc could import")
    _check(spec, imported, module)
    if imported.notes:
        spec["notes"] = "\n".join(imported.notes)
    return spec


def _check(spec: dict[str, Any], imported: _Import, module: Any) -> None:
    """Analyse the spec and hold every layer's output shape to torch's; note a parameter total that differs."""
    from cnncalc.engine.graph import analyze

    try:
        report = analyze(spec)
    except CnncalcError as err:
        raise CnncalcError(f"the imported spec does not analyse: {err}") from None
    for row in report.layers:
        want = imported.shapes.get(row.name)
        if want is not None and tuple(row.output_shape) != want:
            raise CnncalcError(
                f"layer '{row.name}' ({row.type}): cnncalc computes {'x'.join(map(str, row.output_shape))} where "
                f"torch gives {'x'.join(map(str, want))}; the import would be wrong, so it stops here"
            )
    held = sum(p.numel() for p in module.parameters())
    if report.totals.params != held and not imported.shared:
        imported.notes.append(f"the spec counts {report.totals.params:,} parameters, the module holds {held:,}")


def to_yaml(spec: dict[str, Any]) -> str:
    """The spec as YAML with one line per layer (flow mappings), as the zoo writes them; fields at their default
    are left out."""
    import yaml

    from cnncalc.engine.layers import REGISTRY

    head = {k: v for k, v in spec.items() if k != "layers"}
    lines = [yaml.safe_dump(head, sort_keys=False, default_flow_style=None, width=120).rstrip(), "layers:"]
    for layer in spec["layers"]:
        cls = REGISTRY.get(str(layer.get("type")))
        fields = cls.model_fields if cls is not None else {}
        ordered = {"type": layer.get("type"), "name": layer.get("name"), **layer}  # README order: type first
        short = {k: v for k, v in ordered.items()
                 if k in ("type", "name") or k not in fields or fields[k].is_required() or fields[k].default != v}
        lines.append("  - " + yaml.safe_dump(short, sort_keys=False, default_flow_style=True, width=10_000).strip())
    return "\n".join(lines) + "\n"

