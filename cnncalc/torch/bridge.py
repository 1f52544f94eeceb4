"""The torch bridge: build a real ``torch.nn.Module`` from a spec, run it, and compare it with the analysis.

torch is optional: it is imported inside the functions here, and a missing torch is a clear CnncalcError with the
install command. The module is built without cnncalc's engine, so the comparison means something:

- every node's module is sized from the shape *torch* gives its input (a first pass on the meta device, which needs
  no memory), never from cnncalc's analysis;
- padding is read from the spec here, independently of :mod:`cnncalc.engine.dims`, as the README's padding table defines
  each form; torch takes it natively where it can (symmetric amounts, ``same`` and ``valid`` at stride 1 for
  convolutions), and otherwise an explicit ``F.pad`` goes first (-inf for max pools), so torch still computes every
  output size from the amounts;
- transposed convolutions run at padding 0 and are cropped by amounts derived from the spec's own target
  (``output_size``, or W·S for ``same``), not from cnncalc's output shape.

One builder per layer class (``BUILDERS``, checked for completeness by the tests) turns a spec layer into a module.

Limits: torch has no per-side padding for pools, so after an explicit pad the bridge itself drops a ceil-mode
window that would start in the right padding (torch's documented rule, which cnncalc follows); torch's range check
on pooling padding (at most half the kernel) then cannot run, and cnncalc's does. torch's meta kernels skip the
transposed convolution's output-padding check; the cpu device makes it.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod
from types import SimpleNamespace
from typing import Any

from cnncalc.engine.graph import Analysis
from cnncalc.engine.layers import activation, conv, conv_transpose, linear, merge, norm, pool, reshape, upsample
from cnncalc.engine.layers.base import Layer, Merge
from cnncalc.errors import CnncalcError
from cnncalc.model import INPUT, Network, Node, Shape

INSTALL = "the torch bridge needs PyTorch: pip install 'cnncalc[torch]' (or pip install torch==2.13.0)"
DEVICES = ("cpu", "meta", "cuda")

Pads = list[tuple[int, int]]


def torch_modules() -> tuple[Any, Any, Any]:
    """(torch, torch.nn, torch.nn.functional), imported on first use."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
            import torch
            from torch import nn
            from torch.nn import functional
    except ImportError:
        raise CnncalcError(INSTALL) from None
    return torch, nn, functional


class TorchRejectedError(CnncalcError):
    """torch refused a layer that cnncalc accepted: a disagreement, reported as such."""

    def __init__(self, node: Node, error: Exception) -> None:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        super().__init__(f"torch rejects layer '{node.name}' ({node.layer.type}), which cnncalc accepts: {first}")
        self.node = node.name


# --- reading the spec (independently of engine.dims) ---


def _each(value: Any, n: int) -> tuple[int, ...]:
    """An int or a per-dim list, for ``n`` spatial dims (a one-element list counts for every dim)."""
    if isinstance(value, int):
        return (value,) * n
    values = tuple(value)
    return values * n if len(values) == 1 else values


def _sides(padding: Any, sizes: Sequence[int], extent: Sequence[int], stride: Sequence[int]) -> Pads:
    """(before, after) per spatial dim, read as the README's padding table defines each form.

    ``extent`` is the dilated kernel D·(K − 1) + 1. ``same`` follows TensorFlow: the output is ⌈W / S⌉ and the
    padding is what the last window needs, the odd pixel after (``same_lower``: before).
    """
    n = len(sizes)
    if padding == "valid":
        return [(0, 0)] * n
    if padding in ("same", "same_lower"):
        out = []
        for w, k, s in zip(sizes, extent, stride, strict=True):
            total = max((-(-w // s) - 1) * s + k - w, 0)
            half = total // 2
            out.append((half, total - half) if padding == "same" else (total - half, half))
        return out
    if isinstance(padding, int):
        return [(padding, padding)] * n
    if isinstance(padding, list):
        if padding and isinstance(padding[0], list):
            return [(a, b) for a, b in padding]
        if len(padding) == 2 * n:  # MatConvNet: [top, bottom, left, right]
            return [(padding[2 * i], padding[2 * i + 1]) for i in range(n)]
        return [(p, p) for p in _each(padding, n)]
    return list(zip(_each(padding.before, n), _each(padding.after, n), strict=True))


def _symmetric(pads: Pads) -> list[int] | None:
    return [a for a, _ in pads] if all(a == b for a, b in pads) else None


def _torch_order(pads: Pads) -> list[int]:
    """Per-dim (before, after) → ``F.pad``'s flat list, last dim first."""
    out: list[int] = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


def _extent(kernel: Sequence[int], dilation: Sequence[int]) -> list[int]:
    return [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]


# --- custom modules (defined on first use, when torch is imported) -------------------------------------------------


@functools.cache
def _lib() -> SimpleNamespace:
    """torch, nn, F, and the modules torch lacks: sparse convolution, subsampling, RBF, padding wrappers, merges."""
    torch, nn, func = torch_modules()
    base: Any = nn.Module

    class Padded(base):  # type: ignore[misc]
        """``F.pad`` by per-side amounts, then the layer (which runs at padding 0)."""

        def __init__(self, pads: Pads, layer: Any) -> None:
            super().__init__()
            self.pads = pads
            self.layer = layer

        def forward(self, x: Any) -> Any:
            return self.layer(func.pad(x, _torch_order(self.pads)))

    class PaddedPool(base):  # type: ignore[misc]
        """A pool after an explicit pad (-inf for max), keeping torch's ceil-mode rule and max-pool indices.

        With ``ceil_mode`` torch drops a last window that would start in the right padding (its docs and its
        ``pooling_output_shape``); after an explicit pad torch sees that padding as input, so the window is
        dropped here by the same rule. Indices are mapped back to the unpadded input, for ``max_unpool``.
        """

        def __init__(self, pads: Pads, layer: Any, stride: Sequence[int], *, fill: float, ceil_mode: bool) -> None:
            super().__init__()
            self.pads, self.layer, self.stride, self.fill, self.ceil_mode = pads, layer, list(stride), fill, ceil_mode

        def forward(self, x: Any) -> Any:
            sizes = list(x.shape[2:])
            y = self.layer(func.pad(x, _torch_order(self.pads), value=self.fill))
            out, idx = y if isinstance(y, tuple) else (y, None)
            if self.ceil_mode:
                keep = [slice(None), slice(None)]
                for o, s, w, (before, _) in zip(out.shape[2:], self.stride, sizes, self.pads, strict=True):
                    keep.append(slice(0, o - 1 if (o - 1) * s >= w + before else o))
                out = out[tuple(keep)]
                idx = None if idx is None else idx[tuple(keep)]
            if idx is None:
                return out
            padded = [w + a + b for w, (a, b) in zip(sizes, self.pads, strict=True)]
            coords, rest = [], idx
            for size in reversed(padded):
                coords.append(rest % size)
                rest = torch.div(rest, size, rounding_mode="floor")
            flat = torch.zeros_like(idx)
            for c, (before, _), w in zip(reversed(coords), self.pads, sizes, strict=True):
                flat = flat * w + (c - before)
            return out, flat

    class Cropped(base):  # type: ignore[misc]
        """The layer, then ``cuts`` (before, after) sliced off each spatial dim (a transposed conv's padding)."""

        def __init__(self, layer: Any, cuts: Pads) -> None:
            super().__init__()
            self.layer, self.cuts = layer, cuts

        def forward(self, x: Any) -> Any:
            y = self.layer(x)
            keep = [slice(None), slice(None)]
            keep += [slice(a, size - b) for (a, b), size in zip(self.cuts, y.shape[2:], strict=True)]
            return y[tuple(keep)]

    class SparseConv(base):  # type: ignore[misc]
        """LeCun et al. (1998)'s connection table: output map j convolves only the input maps ``table[j]``.

        One single-output convolution per map, so the module holds exactly the connected weights.
        """

        def __init__(self, table: list[list[int]], maps: list[Any]) -> None:
            super().__init__()
            self.table = table
            self.maps = nn.ModuleList(maps)

        def forward(self, x: Any) -> Any:
            return torch.cat([m(x[:, row]) for m, row in zip(self.maps, self.table, strict=True)], dim=1)

    class Subsample(base):  # type: ignore[misc]
        """LeCun's trainable subsampling: the window's sum (average × K) × a coefficient + a bias, per channel."""

        def __init__(self, channels: int, pooling: Any, window: int) -> None:
            super().__init__()
            self.pool, self.window = pooling, window
            self.coefficient = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))

        def forward(self, x: Any) -> Any:
            view = (1, -1, *([1] * (x.dim() - 2)))
            return self.pool(x) * self.window * self.coefficient.view(view) + self.bias.view(view)

    class RBF(base):  # type: ignore[misc]
        """Euclidean RBF units with fixed centres (a buffer, not parameters): y_i = Σ_j (x_j − w_ij)²."""

        def __init__(self, in_features: int, out_features: int) -> None:
            super().__init__()
            self.register_buffer("centres", torch.zeros(out_features, in_features))

        def forward(self, x: Any) -> Any:
            return ((x[:, None, :] - self.centres) ** 2).sum(-1)

    class Maxout(base):  # type: ignore[misc]
        """The max over ``pieces`` consecutive channels."""

        def __init__(self, pieces: int) -> None:
            super().__init__()
            self.pieces = pieces

        def forward(self, x: Any) -> Any:
            return x.view(x.shape[0], x.shape[1] // self.pieces, self.pieces, *x.shape[2:]).amax(dim=2)

    class BedOfNails(base):  # type: ignore[misc]
        """Unpooling: each value to the first corner of its S×S block, zeros elsewhere."""

        def __init__(self, factor: Sequence[int]) -> None:
            super().__init__()
            self.factor = list(factor)

        def forward(self, x: Any) -> Any:
            out = x.new_zeros(*x.shape[:2], *(w * f for w, f in zip(x.shape[2:], self.factor, strict=True)))
            out[(slice(None), slice(None), *(slice(None, None, f) for f in self.factor))] = x
            return out

    class MaxUnpool(base):  # type: ignore[misc]
        """``nn.MaxUnpoolNd`` fed with the linked pool's indices, to the size that pool's input had."""

        def __init__(self, unpool: Any) -> None:
            super().__init__()
            self.unpool = unpool

        def forward(self, x: Any, indices: Any, before_pool: Any) -> Any:
            return self.unpool(x, indices, output_size=list(before_pool.shape[2:]))

    class Crop(base):  # type: ignore[misc]
        """A centre crop to ``size`` or to the linked tensor's size, or explicit (before, after) cuts."""

        def __init__(self, size: Sequence[int] | None, cuts: Pads | None) -> None:
            super().__init__()
            self.size, self.cuts = size, cuts

        def forward(self, x: Any, like: Any = None) -> Any:
            sizes = list(x.shape[2:])
            cuts = self.cuts
            if cuts is None:
                want = list(like.shape[2:]) if like is not None else list(self.size or ())
                cuts = [((w - t) // 2, w - t - (w - t) // 2) for w, t in zip(sizes, want, strict=True)]
            keep = [slice(None), slice(None)] + [slice(a, w - b) for (a, b), w in zip(cuts, sizes, strict=True)]
            return x[tuple(keep)]

    class Pad(base):  # type: ignore[misc]
        """``F.pad`` with a mode (constant, reflect, replicate, circular)."""

        def __init__(self, pads: Pads, mode: str, value: float) -> None:
            super().__init__()
            self.pads, self.mode, self.value = pads, mode, value

        def forward(self, x: Any) -> Any:
            value = self.value if self.mode == "constant" else None
            return func.pad(x, _torch_order(self.pads), mode=self.mode, value=value)

    class Concat(base):  # type: ignore[misc]
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, *xs: Any) -> Any:
            return torch.cat(xs, dim=self.dim)

    class Sum(base):  # type: ignore[misc]
        def forward(self, *xs: Any) -> Any:
            out = xs[0]
            for y in xs[1:]:
                out = out + y
            return out

    class Product(base):  # type: ignore[misc]
        def forward(self, *xs: Any) -> Any:
            out = xs[0]
            for y in xs[1:]:
                out = out * y
            return out

    class InPlace(base):  # type: ignore[misc]
        """``torch.sigmoid_`` / ``torch.tanh_``: the in-place activations torch has no module for."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def forward(self, x: Any) -> Any:
            return getattr(torch, f"{self.name}_")(x)

    class SpecModule(base):  # type: ignore[misc]
        """A spec as a torch module: one submodule per node in ``layers`` (keys sanitised; ``node_name`` maps a
        key back), run in the spec's order with a dict of tensors. ``forward`` returns the last node's output.
        """

        def __init__(self, steps: list[_Step], modules: dict[str, Any], model: str) -> None:
            super().__init__()
            self.steps = steps
            self.model = model
            self.layers = nn.ModuleDict({s.key: modules[s.name] for s in steps})
            self.node_name = {s.key: s.name for s in steps}
            self.key = {s.name: s.key for s in steps}

        def forward(self, x: Any) -> Any:
            """The last node's output; every other value is dropped after its last reader, as torch code would."""
            return self.run(x, free=True)[self.steps[-1].name]

        def run(self, x: Any, around: Callable[[str], Any] | None = None, *, free: bool = False) -> dict[str, Any]:
            """Every node's output by node name; ``around(name)`` gives a context manager for each node's call.

            ``free`` drops each value (and max-pool indices) after the last step that reads it, so the module's
            memory liveness is that of straight-line torch code, not of a dict that keeps every intermediate.
            """
            import contextlib

            values: dict[str, Any] = {INPUT: x}
            indices: dict[str, Any] = {}
            last, last_indices = _last_reads(self.steps) if free else ({}, {})
            for i, step in enumerate(self.steps):
                with around(step.name) if around else contextlib.nullcontext():
                    _call(step, self.layers[step.key], values, indices)
                for name in last.get(i, ()):
                    values.pop(name, None)
                for name in last_indices.get(i, ()):
                    indices.pop(name, None)
            return values

    return SimpleNamespace(torch=torch, nn=nn, F=func, **{c.__name__: c for c in (
        Padded, PaddedPool, Cropped, SparseConv, Subsample, RBF, Maxout, BedOfNails, MaxUnpool, Crop, Pad, Concat,
        Sum, Product, InPlace, SpecModule)})


@dataclass(frozen=True, slots=True)
class _Step:
    """How a node is called: its key in the ModuleDict, its inputs, and what its links bring."""

    name: str
    key: str
    inputs: tuple[str, ...]
    merge: bool
    #: ("indices", pool, pool's input) for max-unpooling, ("to", node, "") for a crop, or None.
    link: tuple[str, str, str] | None
    keep_indices: bool


def _last_reads(steps: list[_Step]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Step index → the values no later step reads (the last step's output is kept), and the same for max-pool
    indices (a max-unpool reads its pool's indices and only the *size* of the pool's input)."""
    last: dict[str, int] = {}
    last_indices: dict[str, int] = {}
    for i, step in enumerate(steps):
        for name in step.inputs:
            last[name] = i
        if step.link is not None and step.link[0] == "indices":
            last_indices[step.link[1]] = i
        elif step.link is not None:
            last[step.link[1]] = i
        last.setdefault(step.name, i)  # an output nothing reads goes right away
    out: dict[int, list[str]] = {}
    for name, i in last.items():
        if name not in (INPUT, steps[-1].name):
            out.setdefault(i, []).append(name)
    out_indices: dict[int, list[str]] = {}
    for name, i in last_indices.items():
        out_indices.setdefault(i, []).append(name)
    return out, out_indices


def _call(step: _Step, module: Any, values: dict[str, Any], indices: dict[str, Any]) -> None:
    if step.merge:
        out = module(*(values[i] for i in step.inputs))
    elif step.link is not None and step.link[0] == "indices":
        out = module(values[step.inputs[0]], *indices[step.link[1]])
    elif step.link is not None:
        out = module(values[step.inputs[0]], values[step.link[1]])
    else:
        out = module(values[step.inputs[0]])
    if isinstance(out, tuple):  # a max-pool whose indices a max-unpool uses, with the size it unpools to
        out, idx = out
        x = values[step.inputs[0]]
        indices[step.name] = (idx, x.new_empty(x.shape, device="meta"))
    values[step.name] = out


# --- one builder per layer class: (lib, layer, torch's input shape, keep max-pool indices) → module -------------

Builder = Callable[[SimpleNamespace, Any, Shape, bool], Any]


def _activation(t: SimpleNamespace, name: str, layer: Any = None, *, fused: bool = False) -> Any:
    """The module of an activation type (``layer`` gives its fields; a fused activation takes the defaults).

    A fused activation, or one with ``inplace: true``, runs in place where torch's module can (cnncalc counts no
    new memory for either, so the module must allocate none for the memory measurements to compare).
    """
    get: Callable[[str, Any], Any] = (lambda f, d: getattr(layer, f, d)) if layer is not None else (lambda f, d: d)
    inplace = {"inplace": fused or bool(get("inplace", False))}
    simple = {"relu": "ReLU", "relu6": "ReLU6", "sigmoid": "Sigmoid", "tanh": "Tanh", "silu": "SiLU",
              "swish": "SiLU", "selu": "SELU", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid"}
    if name in ("sigmoid", "tanh") and inplace["inplace"]:
        return t.InPlace(name)
    if name in simple:
        return getattr(t.nn, simple[name])(**({} if name in ("sigmoid", "tanh") else inplace))
    if name == "leaky_relu":
        return t.nn.LeakyReLU(get("negative_slope", 0.01), **inplace)
    if name == "elu":
        return t.nn.ELU(get("alpha", 1.0), **inplace)
    if name == "gelu":
        return t.nn.GELU(approximate=get("approximate", "none"))
    return (t.nn.Softmax if name == "softmax" else t.nn.LogSoftmax)(dim=get("dim", 1))


def _fused(t: SimpleNamespace, layer: Any, module: Any) -> Any:
    """``activation: relu`` on a conv or linear layer: ``nn.Sequential(layer, activation)``."""
    return module if layer.activation is None else t.nn.Sequential(module, _activation(t, layer.activation, fused=True))


def _conv(t: SimpleNamespace, layer: conv.Conv, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k, s, d = _each(layer.kernel_size, n), _each(layer.stride, n), _each(layer.dilation, n)
    pads = _sides(layer.padding, x[1:], _extent(k, d), s)
    native: Any = _symmetric(pads)
    if layer.padding == "valid" or (layer.padding == "same" and set(s) == {1}):
        native = layer.padding  # torch's own 'same' (stride 1 only) and 'valid'
    cls = getattr(t.nn, f"Conv{n}d")
    options = {"stride": s, "padding": 0 if native is None else native, "dilation": d, "bias": layer.bias}
    if layer.connection_table is not None:
        table = [list(row) for row in layer.connection_table]
        body = t.SparseConv(table, [cls(len(row), 1, k, **options) for row in table])
    else:
        groups = x[0] if layer.groups == "depthwise" else layer.groups
        body = cls(x[0], layer.out_channels, k, groups=groups, **options)
    return _fused(t, layer, body if native is not None else t.Padded(pads, body))


def _conv_transpose(t: SimpleNamespace, layer: conv_transpose.ConvTranspose, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k, s, d = _each(layer.kernel_size, n), _each(layer.stride, n), _each(layer.dilation, n)
    extent, sizes = _extent(k, d), x[1:]
    op = list(_each(layer.output_padding, n))
    cls = getattr(t.nn, f"ConvTranspose{n}d")
    options = {"stride": s, "dilation": d, "groups": layer.groups, "bias": layer.bias}
    if layer.output_size is not None or layer.padding in ("same", "same_lower"):
        # A target size (ONNX output_shape / auto_pad): run at padding 0, add output padding if the full output
        # is short of it (torch checks that it is below the stride or dilation), crop the rest SAME_UPPER/LOWER.
        targets = _each(layer.output_size, n) if layer.output_size is not None else [w * st for w, st in
                                                                                    zip(sizes, s, strict=True)]
        full = [(w - 1) * st + e for w, st, e in zip(sizes, s, extent, strict=True)]
        op = [max(tg - f, 0) for tg, f in zip(targets, full, strict=True)]
        totals = [max(f - tg, 0) for tg, f in zip(targets, full, strict=True)]
        lower = layer.padding == "same_lower" and layer.output_size is None
        cuts = [(tot - tot // 2, tot // 2) if lower else (tot // 2, tot - tot // 2) for tot in totals]
        body = t.Cropped(cls(x[0], layer.out_channels, k, padding=0, output_padding=op, **options), cuts)
        return _fused(t, layer, body)
    pads = _sides(layer.padding, sizes, extent, s)
    native = _symmetric(pads)
    if native is not None:
        return _fused(t, layer, cls(x[0], layer.out_channels, k, padding=native, output_padding=op, **options))
    # torch's padding P is a crop of P from both ends of the full output: per-side amounts crop per side.
    body = t.Cropped(cls(x[0], layer.out_channels, k, padding=0, output_padding=op, **options), pads)
    return _fused(t, layer, body)


def _pool(t: SimpleNamespace, layer: Any, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k = _each(layer.kernel_size, n)
    s = k if layer.stride is None else _each(layer.stride, n)
    d = _each(getattr(layer, "dilation", 1), n)
    pads = _sides(layer.padding, x[1:], _extent(k, d), s)
    native = _symmetric(pads)
    if isinstance(layer, pool.Subsample) and any(a or b for a, b in pads):
        native = None  # a sum over the padded window: pad explicitly (torch's avg_pool3d would check the unpadded size)
    padding = 0 if native is None else native
    if isinstance(layer, pool.MaxPool):
        module = getattr(t.nn, f"MaxPool{n}d")(k, s, padding=padding, dilation=d, ceil_mode=layer.ceil_mode,
                                               return_indices=keep)
    else:
        include = getattr(layer, "count_include_pad", True)
        module = getattr(t.nn, f"AvgPool{n}d")(k, s, padding=padding, ceil_mode=layer.ceil_mode,
                                               count_include_pad=include)
    if native is None:
        fill = float("-inf") if isinstance(layer, pool.MaxPool) else 0.0
        module = t.PaddedPool(pads, module, s, fill=fill, ceil_mode=layer.ceil_mode)
    if isinstance(layer, pool.Subsample):
        return t.Subsample(x[0], module, prod(k))
    return module


def _adaptive(t: SimpleNamespace, layer: pool.AdaptivePool, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    size = layer.output_size
    target: Any = size if isinstance(size, int) else tuple(size * n if len(size) == 1 else size)
    kind = "Avg" if "avg" in layer.type else "Max"
    return getattr(t.nn, f"Adaptive{kind}Pool{n}d")(target)


def _linear(t: SimpleNamespace, layer: linear.Linear, x: Shape, keep: bool) -> Any:
    fan_in = prod(x) if layer.flatten else x[-1]
    parts = [t.nn.Flatten()] if layer.flatten else []
    parts.append(t.nn.Linear(fan_in, layer.out_features, bias=layer.bias))
    if layer.activation is not None:
        parts.append(_activation(t, layer.activation))
    return parts[0] if len(parts) == 1 else t.nn.Sequential(*parts)


def _batchnorm(t: SimpleNamespace, layer: norm.BatchNorm, x: Shape, keep: bool) -> Any:
    cls = getattr(t.nn, f"BatchNorm{max(len(x) - 1, 1)}d")
    return cls(x[0], eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
               track_running_stats=layer.track_running_stats)


def _crop(t: SimpleNamespace, layer: reshape.Crop, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    if layer.crop is not None:
        return t.Crop(None, list(zip(_each(layer.crop.before, n), _each(layer.crop.after, n), strict=True)))
    return t.Crop(None if layer.size is None else _each(layer.size, n), None)


def _pad(t: SimpleNamespace, layer: reshape.Pad, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    mode = {"reflection_pad": "reflect", "replication_pad": "replicate"}.get(layer.type, layer.mode)
    return t.Pad(_sides(layer.padding, x[1:], (1,) * n, (1,) * n), mode, layer.value)


def _upsample(t: SimpleNamespace, layer: upsample.Upsample, x: Shape, keep: bool) -> Any:
    mode = "bilinear" if layer.type == "upsample_bilinear" else layer.mode
    size: Any = layer.size if not isinstance(layer.size, list) else tuple(_each(layer.size, len(x) - 1))
    scale: Any = layer.scale_factor
    if isinstance(scale, list):
        scale = scale[0] if len(scale) == 1 else tuple(scale)
    return t.nn.Upsample(size=size, scale_factor=scale, mode=mode, align_corners=layer.align_corners)


def _max_unpool(t: SimpleNamespace, layer: upsample.MaxUnpool, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k = _each(layer.kernel_size, n)
    s = k if layer.stride is None else _each(layer.stride, n)
    return t.MaxUnpool(getattr(t.nn, f"MaxUnpool{n}d")(k, s, _each(layer.padding, n)))


def _merge(t: SimpleNamespace, layer: Any, x: Shape, keep: bool) -> Any:
    if isinstance(layer, merge.Concat):
        return t.Concat(layer.dim)
    return t.Product() if layer.type == "mul" else t.Sum()


BUILDERS: dict[type[Layer], Builder] = {
    conv.Conv: _conv,
    conv_transpose.ConvTranspose: _conv_transpose,
    pool.MaxPool: _pool,
    pool.AvgPool: _pool,
    pool.Subsample: _pool,
    pool.AdaptivePool: _adaptive,
    linear.Linear: _linear,
    linear.RBF: lambda t, layer, x, keep: t.RBF(x[0], layer.out_features),
    norm.BatchNorm: _batchnorm,
    norm.LocalResponseNorm: lambda t, layer, x, keep: t.nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta,
                                                                            layer.k),
    activation.Activation: lambda t, layer, x, keep: _activation(t, layer.type, layer),
    activation.LeakyReLU: lambda t, layer, x, keep: _activation(t, layer.type, layer),
    activation.ELU: lambda t, layer, x, keep: _activation(t, layer.type, layer),
    activation.GELU: lambda t, layer, x, keep: _activation(t, layer.type, layer),
    activation.Softmax: lambda t, layer, x, keep: _activation(t, layer.type, layer),
    activation.PReLU: lambda t, layer, x, keep: t.nn.PReLU(layer.num_parameters, init=layer.init),
    activation.Maxout: lambda t, layer, x, keep: t.Maxout(layer.pieces),
    reshape.Flatten: lambda t, layer, x, keep: t.nn.Flatten(layer.start_dim, layer.end_dim),
    reshape.Dropout: lambda t, layer, x, keep: t.nn.Dropout(layer.p),
    reshape.Identity: lambda t, layer, x, keep: t.nn.Identity(),
    reshape.Crop: _crop,
    reshape.Pad: _pad,
    reshape.ChannelShuffle: lambda t, layer, x, keep: t.nn.ChannelShuffle(layer.groups),
    upsample.Upsample: _upsample,
    upsample.Unpool: lambda t, layer, x, keep: t.BedOfNails(_each(layer.scale_factor, len(x) - 1)),
    upsample.MaxUnpool: _max_unpool,
    upsample.PixelShuffle: lambda t, layer, x, keep: t.nn.PixelShuffle(layer.upscale_factor),
    upsample.PixelUnshuffle: lambda t, layer, x, keep: t.nn.PixelUnshuffle(layer.downscale_factor),
    merge.Concat: _merge,
    merge.Add: _merge,
}


# --- building and running ------------------------------------------------------------------------------------------


def _steps(net: Network) -> list[_Step]:
    """Each node's call, with a ModuleDict key: the name with every character but [A-Za-z0-9_] replaced, made unique
    and kept clear of ModuleDict's own attributes (a node called ``keys`` or ``train`` is fine)."""
    nn = _lib().nn
    by_name = {node.name: node for node in net.nodes}
    kept = {name for node in net.nodes if isinstance(node.layer, upsample.MaxUnpool) for _, name in node.links}
    used: set[str] = set()
    steps = []
    for node in net.nodes:
        base = re.sub(r"[^A-Za-z0-9_]", "_", node.name.replace("/", "__")) or "_"
        key, i = base, 1
        while key in used or hasattr(nn.ModuleDict, key):
            i += 1
            key = f"{base}_{i}"
        used.add(key)
        link = None
        for field, name in node.links:  # a pool's indices come with the tensor the pool took, for the size
            link = (field, name, by_name[name].inputs[0] if field == "indices" else "")
        steps.append(_Step(node.name, key, node.inputs, isinstance(node.layer, Merge), link, node.name in kept))
    return steps


def _builder(node: Node) -> Builder:
    builder = BUILDERS.get(type(node.layer))
    if builder is None:
        raise CnncalcError(f"the torch bridge has no mapping for {node.layer.type} ('{node.name}')")
    return builder


def build_module(net: Network, device: str = "cpu", *, input_shape: Shape | None = None) -> Any:
    """A torch module (in eval mode, on ``device``) that runs ``net``'s DAG node by node.

    Each node's module is sized from the shape torch itself gives the node's input: a first pass builds and runs
    every node on the meta device (no memory), then, unless ``device`` is meta, the modules are built again there.
    A layer torch refuses raises :class:`TorchRejectedError`.
    """
    t = _lib()
    torch = t.torch
    shape = tuple(input_shape or net.input)
    steps = _steps(net)
    inputs: dict[str, Shape] = {}
    modules: dict[str, Any] = {}
    values: dict[str, Any] = {INPUT: torch.empty(1, *shape, device="meta")}
    indices: dict[str, Any] = {}
    with warnings.catch_warnings(), torch.device("meta"), torch.no_grad():
        warnings.simplefilter("ignore")
        for step, node in zip(steps, net.nodes, strict=True):
            x: Shape = tuple(values[node.inputs[0]].shape[1:])
            builder = _builder(node)
            try:
                module = builder(t, node.layer, x, step.keep_indices).eval()
                _call(step, module, values, indices)
            except NotImplementedError as err:  # an operator without a meta kernel: not a disagreement
                raise CnncalcError(f"torch cannot size layer '{node.name}' on the meta device: {err}") from None
            except (RuntimeError, ValueError, TypeError, IndexError) as err:
                raise TorchRejectedError(node, err) from None
            inputs[node.name] = x
            modules[node.name] = module
    if device != "meta":
        with torch.device(device):
            modules = {node.name: _builder(node)(t, node.layer, inputs[node.name], step.keep_indices)
                       for step, node in zip(steps, net.nodes, strict=True)}
    for node in net.nodes:
        if not node.layer.trainable:
            modules[node.name].requires_grad_(False)
    return t.SpecModule(steps, modules, net.name).to(device).eval()


@dataclass(frozen=True, slots=True)
class Row:
    """One layer compared: (cnncalc, torch) for each figure; torch's MACs are None where it counts none."""

    name: str
    type: str
    shape: tuple[Shape, Shape]
    params: tuple[int, int]
    buffers: tuple[int, int]
    macs: tuple[int, int | None]

    @property
    def shape_ok(self) -> bool:
        """Output shapes equal."""
        return self.shape[0] == self.shape[1]

    @property
    def params_ok(self) -> bool:
        """Parameter counts equal."""
        return self.params[0] == self.params[1]

    @property
    def buffers_ok(self) -> bool:
        """Buffer counts equal."""
        return self.buffers[0] == self.buffers[1]

    @property
    def macs_ok(self) -> bool:
        """MACs equal where torch counts them (True where it does not)."""
        return self.macs[1] is None or self.macs[0] == self.macs[1]

    @property
    def ok(self) -> bool:
        """Shapes, parameter and buffer counts, and MACs where torch counts them, all equal."""
        return self.shape_ok and self.params_ok and self.buffers_ok and self.macs_ok


@dataclass(frozen=True, slots=True)
class CrossReport:
    """A whole network compared: one :class:`Row` per layer, totals as (cnncalc, torch) pairs.

    ``rejected`` says which layer torch refused (then ``rows`` is empty); ``macs`` sums only the layers whose
    MACs torch counts.
    """

    model: str
    device: str
    batch: int
    input: Shape
    rows: tuple[Row, ...]
    params: tuple[int, int]
    trainable_params: tuple[int, int]
    buffers: tuple[int, int]
    macs: tuple[int, int]
    rejected: str | None = None

    @property
    def mismatches(self) -> list[Row]:
        """The rows where anything differs."""
        return [r for r in self.rows if not r.ok]

    @property
    def counted(self) -> int:
        """How many layers had their MACs compared."""
        return sum(r.macs[1] is not None for r in self.rows)

    @property
    def ok(self) -> bool:
        """Every row and every total agrees, and torch accepted every layer."""
        return (self.rejected is None and not self.mismatches
                and all(a == b for a, b in (self.params, self.trainable_params, self.buffers, self.macs)))


#: Layers whose multiply-adds torch's FlopCounterMode counts (convolutions, transposed convolutions and matrix
#: products, at 2 FLOPs per MAC, bias additions left out, as cnncalc's MACs leave them out).
COUNTED = (conv.Conv, conv_transpose.ConvTranspose, linear.Linear)


def crosscheck(target: Network | Analysis, *, batch: int = 1, device: str = "cpu",
               input_shape: Shape | None = None) -> CrossReport:
    """Run a network in torch and compare every layer with cnncalc's analysis (``target``, or a fresh one of the
    network ``target`` for ``batch`` and ``input_shape``): output shape, parameters, buffers, and MACs where
    FlopCounterMode counts them.

    ``device``: cpu, cuda, or meta (torch's shape rules and FlopCounterMode without memory or compute).
    """
    from cnncalc.engine.graph import analyze

    if device not in DEVICES:
        raise CnncalcError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    t = _lib()
    torch = t.torch
    if device == "cuda" and not torch.cuda.is_available():
        raise CnncalcError("--device cuda: torch sees no CUDA device here (use cpu or meta)")
    report = target if isinstance(target, Analysis) else analyze(target, input_shape=input_shape, batch=batch)
    net = report.network
    assert net is not None
    c = report.totals
    try:
        module = build_module(net, device, input_shape=report.input)
    except TorchRejectedError as err:
        return CrossReport(report.model, device, report.batch, report.input, (), (c.params, 0),
                           (c.trainable_params, 0), (c.buffers, 0), (0, 0), rejected=str(err))
    from torch.utils.flop_counter import FlopCounterMode

    counters: dict[str, Any] = {}

    def around(name: str) -> Any:
        counters[name] = FlopCounterMode(display=False)
        return counters[name]

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            values = module.run(torch.randn(report.batch, *report.input, device=device), around)
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            # Checks the meta pass cannot make (torch's meta kernels skip some, e.g. a transposed convolution's
            # output padding): the layer that was running is the one torch refuses.
            node = next(n for n in net.nodes if n.name == list(counters)[-1])
            return CrossReport(report.model, device, report.batch, report.input, (), (c.params, 0),
                               (c.trainable_params, 0), (c.buffers, 0), (0, 0),
                               rejected=str(TorchRejectedError(node, err)))
    rows = []
    for node, row in zip(net.nodes, report.layers, strict=True):
        sub = module.layers[module.key[node.name]]
        torch_macs = counters[node.name].get_total_flops() // 2 if isinstance(node.layer, COUNTED) else None
        rows.append(Row(node.name, node.layer.type, (row.output_shape, tuple(values[node.name].shape[1:])),
                        (row.params, sum(p.numel() for p in sub.parameters())),
                        (row.buffers, sum(b.numel() for b in sub.buffers())), (row.macs, torch_macs)))
    counted = [r for r in rows if r.macs[1] is not None]
    return CrossReport(
        report.model, device, report.batch, report.input, tuple(rows),
        params=(c.params, sum(p.numel() for p in module.parameters())),
        trainable_params=(c.trainable_params, sum(p.numel() for p in module.parameters() if p.requires_grad)),
        buffers=(c.buffers, sum(b.numel() for b in module.buffers())),
        macs=(sum(r.macs[0] for r in counted), sum(r.macs[1] or 0 for r in counted)),
    )
