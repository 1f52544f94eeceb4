"""torch, imported on first use, and the modules cnncalc builds that torch lacks.

torch is optional: :func:`torch_modules` imports it inside a function, and a missing torch is a clear
:class:`~cnncalc.errors.CnncalcError` with the install command (:data:`INSTALL`). The ``nn.Module`` subclasses in
:func:`lib` are defined on its first call, when torch is imported, so importing this module never loads torch.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from cnncalc.errors import CnncalcError
from cnncalc.model import INPUT, Node
from cnncalc.torch._pads import SidePads, torch_order

INSTALL = "the torch bridge needs PyTorch: pip install 'cnncalc[torch]' (or pip install torch==2.13.0)"


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



@dataclass(frozen=True, slots=True)
class Step:
    """How a node is called: its key in the ModuleDict, its inputs, and what its links bring."""

    name: str
    key: str
    inputs: tuple[str, ...]
    merge: bool
    #: ("indices", pool, pool's input) for max-unpooling, ("to", node, "") for a crop, or None.
    link: tuple[str, str, str] | None
    keep_indices: bool


def call_step(step: Step, module: Any, values: dict[str, Any], indices: dict[str, Any]) -> None:
    """Run one node's module on the values it takes; a max-pool's indices go to ``indices`` for a max-unpool."""
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


def last_reads(steps: list[Step]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
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



# --- custom modules (defined on first use, when torch is imported) -------------------------------------------------


@functools.cache
def lib() -> SimpleNamespace:
    """torch, nn, F, and the modules torch lacks: sparse convolution, subsampling, RBF, padding wrappers, merges."""
    torch, nn, func = torch_modules()
    base: Any = nn.Module

    class Padded(base):  # type: ignore[misc]
        """``F.pad`` by per-side amounts, then the layer (which runs at padding 0)."""

        def __init__(self, pads: SidePads, layer: Any) -> None:
            super().__init__()
            self.pads = pads
            self.layer = layer

        def forward(self, x: Any) -> Any:
            return self.layer(func.pad(x, torch_order(self.pads)))

    class PaddedPool(base):  # type: ignore[misc]
        """A pool after an explicit pad (-inf for max), keeping torch's ceil-mode rule and max-pool indices.

        With ``ceil_mode`` torch drops a last window that would start in the right padding (its docs and its
        ``pooling_output_shape``); after an explicit pad torch sees that padding as input, so the window is
        dropped here by the same rule. Indices are mapped back to the unpadded input, for ``max_unpool``.
        """

        def __init__(self, pads: SidePads, layer: Any, stride: Sequence[int], *, fill: float, ceil_mode: bool) -> None:
            super().__init__()
            self.pads, self.layer, self.stride, self.fill, self.ceil_mode = pads, layer, list(stride), fill, ceil_mode

        def forward(self, x: Any) -> Any:
            sizes = list(x.shape[2:])
            y = self.layer(func.pad(x, torch_order(self.pads), value=self.fill))
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

        def __init__(self, layer: Any, cuts: SidePads) -> None:
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

        def __init__(self, size: Sequence[int] | None, cuts: SidePads | None) -> None:
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

    class InterpolateLike(base):  # type: ignore[misc]
        """``F.interpolate(x, size=like.shape[2:])``: to another tensor's spatial size (a spec's ``size_like``)."""

        def __init__(self, mode: str, align_corners: bool | None) -> None:
            super().__init__()
            self.mode, self.align_corners = mode, align_corners

        def forward(self, x: Any, like: Any) -> Any:
            return func.interpolate(x, size=tuple(like.shape[2:]), mode=self.mode, align_corners=self.align_corners)

    class Pad(base):  # type: ignore[misc]
        """``F.pad`` with a mode (constant, reflect, replicate, circular)."""

        def __init__(self, pads: SidePads, mode: str, value: float) -> None:
            super().__init__()
            self.pads, self.mode, self.value = pads, mode, value

        def forward(self, x: Any) -> Any:
            value = self.value if self.mode == "constant" else None
            return func.pad(x, torch_order(self.pads), mode=self.mode, value=value)

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

        def __init__(self, steps: list[Step], modules: dict[str, Any], model: str) -> None:
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
            last, last_indices = last_reads(self.steps) if free else ({}, {})
            for i, step in enumerate(self.steps):
                with around(step.name) if around else contextlib.nullcontext():
                    call_step(step, self.layers[step.key], values, indices)
                for name in last.get(i, ()):
                    values.pop(name, None)
                for name in last_indices.get(i, ()):
                    indices.pop(name, None)
            return values

    from cnncalc.torch._modules_modern import modern_modules

    return SimpleNamespace(torch=torch, nn=nn, F=func, **modern_modules(torch, nn, func), **{c.__name__: c for c in (
        Padded, PaddedPool, Cropped, SparseConv, Subsample, RBF, Maxout, BedOfNails, MaxUnpool, Crop, InterpolateLike,
        Pad, Concat, Sum, Product, InPlace, SpecModule)})
