"""The torch bridge: build a real ``torch.nn.Module`` from a spec, run it, and compare it with the analysis.

torch is optional: it is imported inside the functions here, and a missing torch is a clear CnncalcError with the
install command. One builder per layer class (``BUILDERS``, checked for completeness by the tests) turns a spec
layer into torch modules; padding cnncalc resolves itself (per-side amounts, TF-style ``same``) becomes an
explicit ``F.pad``, so torch still computes every output size from the amounts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

from cnncalc.dims import per_dim, slide
from cnncalc.errors import CnncalcError
from cnncalc.layers import activation, conv, conv_transpose, linear, merge, norm, pool, reshape, upsample
from cnncalc.layers.base import Layer, Shape
from cnncalc.report import Report
from cnncalc.spec import Network
from cnncalc.structure import INPUT, Node

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


@dataclass
class _Built:
    """A node's torch modules and how to call them."""

    module: Any
    call: Callable[..., Any]


Builder = Callable[[Any, Node, list[Shape]], _Built]


def _pads_for_torch(pads: tuple[tuple[int, int], ...]) -> list[int]:
    """cnncalc's per-dim (before, after) → F.pad's order, last dim first."""
    out: list[int] = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


def _symmetric(pads: tuple[tuple[int, int], ...]) -> list[int] | None:
    return [a for a, _ in pads] if all(a == b for a, b in pads) else None


def _with_activation(t: Any, layer: Any, module: Any) -> Any:
    if getattr(layer, "activation", None) is None:
        return module
    act = _ACTIVATIONS[layer.activation](t, {})
    return t.nn.Sequential(module, act)


class _T:
    """The three torch modules, passed to builders."""

    def __init__(self) -> None:
        self.torch, self.nn, self.F = torch_modules()


def _conv(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: conv.Conv = node.layer  # type: ignore[assignment]
    x = shapes[0]
    n = len(x) - 1
    sl = slide(x[1:], layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    groups = x[0] if layer.groups == "depthwise" else layer.groups
    sym = _symmetric(sl.pads)
    cls = getattr(t.nn, f"Conv{n}d")
    if layer.connection_table is not None:
        module = t.nn.ModuleList([
            cls(len(row), 1, sl.kernel, stride=sl.stride, padding=sym or 0, dilation=sl.dilation, bias=layer.bias)
            for row in layer.connection_table
        ])
        table = [list(row) for row in layer.connection_table]

        def run_sparse(m: Any, xs: list[Any]) -> Any:
            src = xs[0] if sym is not None else t.F.pad(xs[0], _pads_for_torch(sl.pads))
            return t.torch.cat([c(src[:, rows]) for c, rows in zip(m, table, strict=True)], dim=1)

        body = module
        call = run_sparse
    else:
        body = cls(x[0], layer.out_channels, sl.kernel, stride=sl.stride, padding=sym or 0, dilation=sl.dilation,
                   groups=groups, bias=layer.bias)

        def call(m: Any, xs: list[Any]) -> Any:
            return m(xs[0] if sym is not None else t.F.pad(xs[0], _pads_for_torch(sl.pads)))

    if layer.activation is None:
        return _Built(body, call)
    act = _ACTIVATIONS[layer.activation](t, {})
    holder = t.nn.ModuleDict({"layer": body, "activation": act})
    return _Built(holder, lambda m, xs: m["activation"](call(m["layer"], xs)))


def _conv_transpose(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: conv_transpose.ConvTranspose = node.layer  # type: ignore[assignment]
    x = shapes[0]
    n = len(x) - 1
    # Let the engine-independent part be torch's: padding 0 and the output padding, then crop the per-side amounts
    # (a padding P in torch is exactly a crop of P on both sides of the full output).
    ev = layer.evaluate(x)
    k = per_dim(layer.kernel_size, n, "kernel_size")
    s = per_dim(layer.stride, n, "stride")
    d = per_dim(layer.dilation, n, "dilation")
    full = [(w - 1) * st + di * (kk - 1) + 1 for w, st, kk, di in zip(x[1:], s, k, d, strict=True)]
    extra = [o - f for o, f in zip(ev.shape[1:], full, strict=True)]  # output padding minus the crops
    op = [max(e, 0) for e in extra]
    module = getattr(t.nn, f"ConvTranspose{n}d")(
        x[0], layer.out_channels, k, stride=s, padding=0, output_padding=op, groups=layer.groups, bias=layer.bias,
        dilation=d,
    )
    target = ev.shape[1:]

    def call(m: Any, xs: list[Any]) -> Any:
        y = m(xs[0])
        slices = [slice(None), slice(None)]
        for size, want in zip(y.shape[2:], target, strict=True):
            cut = size - want
            slices.append(slice(cut // 2, cut // 2 + want))
        return y[tuple(slices)]

    module = _with_activation(t, layer, module)
    if layer.activation is not None:
        inner = call
        return _Built(module, lambda m, xs: m[1](inner(m[0], xs)))
    return _Built(module, call)


def _pool(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: Any = node.layer
    x = shapes[0]
    n = len(x) - 1
    stride = layer.kernel_size if layer.stride is None else layer.stride
    dilation = getattr(layer, "dilation", 1)
    sl = slide(x[1:], layer.kernel_size, stride, layer.padding, dilation, ceil_mode=layer.ceil_mode)
    sym = _symmetric(sl.pads)
    if isinstance(layer, pool.MaxPool):
        module = getattr(t.nn, f"MaxPool{n}d")(sl.kernel, sl.stride, padding=sym or 0, dilation=sl.dilation,
                                                ceil_mode=layer.ceil_mode, return_indices=True)
        fill = float("-inf")
    else:
        module = getattr(t.nn, f"AvgPool{n}d")(sl.kernel, sl.stride, padding=sym or 0, ceil_mode=layer.ceil_mode)
        fill = 0.0
    if isinstance(layer, pool.Subsample):
        holder = t.nn.Module()
        holder.pool = module
        holder.coefficient = t.nn.Parameter(t.torch.ones(x[0]))
        holder.bias = t.nn.Parameter(t.torch.zeros(x[0]))
        window = prod(sl.kernel)
        view = (1, x[0], *([1] * n))

        def subsample(m: Any, xs: list[Any]) -> Any:
            return m.pool(xs[0]) * window * m.coefficient.view(view) + m.bias.view(view)

        return _Built(holder, subsample)

    def call(m: Any, xs: list[Any]) -> Any:
        src = xs[0] if sym is not None else t.F.pad(xs[0], _pads_for_torch(sl.pads), value=fill)
        return m(src)

    return _Built(module, call)


def _adaptive(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: pool.AdaptivePool = node.layer  # type: ignore[assignment]
    n = len(shapes[0]) - 1
    kind = "Avg" if "avg" in layer.type else "Max"
    size = layer.output_size
    return _Built(getattr(t.nn, f"Adaptive{kind}Pool{n}d")(size), lambda m, xs: m(xs[0]))


def _linear(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: linear.Linear = node.layer  # type: ignore[assignment]
    x = shapes[0]
    fan_in = prod(x) if layer.flatten else x[-1]
    module = t.nn.Linear(fan_in, layer.out_features, bias=layer.bias)
    parts = ([t.nn.Flatten()] if layer.flatten else []) + [module]
    if layer.activation is not None:
        parts.append(_ACTIVATIONS[layer.activation](t, {}))
    return _Built(t.nn.Sequential(*parts), lambda m, xs: m(xs[0]))


def _rbf(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: linear.RBF = node.layer  # type: ignore[assignment]
    holder = t.nn.Module()
    holder.register_buffer("centres", t.torch.zeros(layer.out_features, shapes[0][0]))
    return _Built(holder, lambda m, xs: ((xs[0][:, None, :] - m.centres) ** 2).sum(-1))


def _batchnorm(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: norm.BatchNorm = node.layer  # type: ignore[assignment]
    rank = len(shapes[0]) - 1
    cls = getattr(t.nn, f"BatchNorm{max(rank, 1)}d")
    module = cls(shapes[0][0], eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
                 track_running_stats=layer.track_running_stats)
    return _Built(module, lambda m, xs: m(xs[0]))


def _simple(make: Callable[[_T, Any, list[Shape]], Any]) -> Builder:
    def build(t: Any, node: Node, shapes: list[Shape]) -> _Built:
        return _Built(make(t, node.layer, shapes), lambda m, xs: m(xs[0]))

    return build


def _activation_module(t: _T, layer: Any) -> Any:
    return _ACTIVATIONS[layer.type](t, layer.model_dump())


_ACTIVATIONS: dict[str, Callable[[_T, dict[str, Any]], Any]] = {
    "relu": lambda t, f: t.nn.ReLU(), "relu6": lambda t, f: t.nn.ReLU6(), "sigmoid": lambda t, f: t.nn.Sigmoid(),
    "tanh": lambda t, f: t.nn.Tanh(), "silu": lambda t, f: t.nn.SiLU(), "swish": lambda t, f: t.nn.SiLU(),
    "selu": lambda t, f: t.nn.SELU(), "hardswish": lambda t, f: t.nn.Hardswish(),
    "hardsigmoid": lambda t, f: t.nn.Hardsigmoid(),
    "leaky_relu": lambda t, f: t.nn.LeakyReLU(f.get("negative_slope", 0.01)),
    "elu": lambda t, f: t.nn.ELU(f.get("alpha", 1.0)),
    "gelu": lambda t, f: t.nn.GELU(approximate=f.get("approximate", "none")),
    "softmax": lambda t, f: t.nn.Softmax(dim=f.get("dim", 1)),
    "log_softmax": lambda t, f: t.nn.LogSoftmax(dim=f.get("dim", 1)),
}


def _prelu(t: _T, layer: activation.PReLU, shapes: list[Shape]) -> Any:
    return t.nn.PReLU(layer.num_parameters, init=layer.init)


def _maxout(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    pieces = node.layer.pieces  # type: ignore[attr-defined]

    def call(m: Any, xs: list[Any]) -> Any:
        y = xs[0]
        return y.view(y.shape[0], y.shape[1] // pieces, pieces, *y.shape[2:]).amax(dim=2)

    return _Built(t.nn.Identity(), call)


def _flatten(t: _T, layer: reshape.Flatten, shapes: list[Shape]) -> Any:
    return t.nn.Flatten(layer.start_dim, layer.end_dim)


def _crop(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: reshape.Crop = node.layer  # type: ignore[assignment]
    x = shapes[0]
    n = len(x) - 1
    if layer.crop is not None:
        cuts = list(zip(per_dim(layer.crop.before, n, "crop"), per_dim(layer.crop.after, n, "crop"), strict=True))
    else:
        want = shapes[1][1:] if layer.to is not None else per_dim(layer.size or 1, n, "size")
        cuts = [((w - s) // 2, w - s - (w - s) // 2) for w, s in zip(x[1:], want, strict=True)]

    def call(m: Any, xs: list[Any]) -> Any:
        index = [slice(None), slice(None)] + [slice(a, size - b) for (a, b), size in zip(cuts, x[1:], strict=True)]
        return xs[0][tuple(index)]

    return _Built(t.nn.Identity(), call)


def _pad(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: reshape.Pad = node.layer  # type: ignore[assignment]
    ev = layer.evaluate(shapes[0])
    pads = tuple((0, o - w) for w, o in zip(shapes[0][1:], ev.shape[1:], strict=True))
    from cnncalc.dims import resolve_padding

    pads = resolve_padding(layer.padding, shapes[0][1:], (1,) * (len(shapes[0]) - 1), (1,) * (len(shapes[0]) - 1))
    mode = {"reflection_pad": "reflect", "replication_pad": "replicate"}.get(layer.type, layer.mode)
    return _Built(t.nn.Identity(), lambda m, xs: t.F.pad(xs[0], _pads_for_torch(pads), mode=mode,
                                                         value=layer.value if mode == "constant" else None))


def _upsample(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: upsample.Upsample = node.layer  # type: ignore[assignment]
    mode = "bilinear" if layer.type == "upsample_bilinear" else layer.mode
    module = t.nn.Upsample(size=layer.size, scale_factor=layer.scale_factor, mode=mode,
                           align_corners=layer.align_corners)
    return _Built(module, lambda m, xs: m(xs[0]))


def _unpool(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    x = shapes[0]
    factor = per_dim(node.layer.scale_factor, len(x) - 1, "scale_factor")  # type: ignore[attr-defined]

    def call(m: Any, xs: list[Any]) -> Any:
        y = xs[0]
        out = y.new_zeros(y.shape[0], y.shape[1], *(s * f for s, f in zip(y.shape[2:], factor, strict=True)))
        out[(slice(None), slice(None), *(slice(None, None, f) for f in factor))] = y
        return out

    return _Built(t.nn.Identity(), call)


def _max_unpool(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: upsample.MaxUnpool = node.layer  # type: ignore[assignment]
    n = len(shapes[0]) - 1
    module = getattr(t.nn, f"MaxUnpool{n}d")(layer.kernel_size, layer.stride, layer.padding)
    target = shapes[1][1:]  # the linked pool's input size
    return _Built(module, lambda m, xs: m(xs[0], xs[1], output_size=list(target)))


def _merge(t: _T, node: Node, shapes: list[Shape]) -> _Built:
    layer: Any = node.layer
    if isinstance(layer, merge.Concat):
        return _Built(t.nn.Identity(), lambda m, xs: t.torch.cat(xs, dim=layer.dim))
    if layer.type == "mul":
        return _Built(t.nn.Identity(), lambda m, xs: _fold(xs, lambda a, b: a * b))
    return _Built(t.nn.Identity(), lambda m, xs: _fold(xs, lambda a, b: a + b))


def _fold(xs: list[Any], op: Callable[[Any, Any], Any]) -> Any:
    out = xs[0]
    for y in xs[1:]:
        out = op(out, y)
    return out


BUILDERS: dict[type[Layer], Builder] = {
    conv.Conv: _conv,
    conv_transpose.ConvTranspose: _conv_transpose,
    pool.MaxPool: _pool,
    pool.AvgPool: _pool,
    pool.Subsample: _pool,
    pool.AdaptivePool: _adaptive,
    linear.Linear: _linear,
    linear.RBF: _rbf,
    norm.BatchNorm: _batchnorm,
    norm.LocalResponseNorm: _simple(lambda t, layer, s: t.nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta,
                                                                               layer.k)),
    activation.Activation: _simple(lambda t, layer, s: _activation_module(t, layer)),
    activation.LeakyReLU: _simple(lambda t, layer, s: _activation_module(t, layer)),
    activation.ELU: _simple(lambda t, layer, s: _activation_module(t, layer)),
    activation.GELU: _simple(lambda t, layer, s: _activation_module(t, layer)),
    activation.Softmax: _simple(lambda t, layer, s: _activation_module(t, layer)),
    activation.PReLU: _simple(_prelu),
    activation.Maxout: _maxout,
    reshape.Flatten: _simple(_flatten),
    reshape.Dropout: _simple(lambda t, layer, s: t.nn.Dropout(layer.p)),
    reshape.Identity: _simple(lambda t, layer, s: t.nn.Identity()),
    reshape.Crop: _crop,
    reshape.Pad: _pad,
    reshape.ChannelShuffle: _simple(lambda t, layer, s: t.nn.ChannelShuffle(layer.groups)),
    upsample.Upsample: _upsample,
    upsample.Unpool: _unpool,
    upsample.MaxUnpool: _max_unpool,
    upsample.PixelShuffle: _simple(lambda t, layer, s: t.nn.PixelShuffle(layer.upscale_factor)),
    upsample.PixelUnshuffle: _simple(lambda t, layer, s: t.nn.PixelUnshuffle(layer.downscale_factor)),
    merge.Concat: _merge,
    merge.Add: _merge,
}


def _key(name: str) -> str:
    return name.replace("/", "__").replace(".", "_") or "_"


def _build(net: Network, report: Report, t: _T) -> tuple[dict[str, _Built], set[str]]:
    """Every node's modules and call, with the shapes the report gives its inputs (and linked nodes)."""
    from cnncalc.graph import Context

    shapes = Context.of(net, report).shapes
    by_name = {n.name: n for n in net.nodes}
    pooled = {linked for node in net.nodes for _, linked in node.links if node.layer.type.startswith("max_unpool")}
    built: dict[str, _Built] = {}
    for node in net.nodes:
        builder = BUILDERS.get(type(node.layer))
        if builder is None:
            raise CnncalcError(f"the torch bridge has no mapping for {node.layer.type} ('{node.name}')")
        if node.layer.type.startswith("max_unpool"):
            extra = [shapes[by_name[node.links[0][1]].inputs[0]]]  # the size the pool had before pooling
        else:
            extra = [shapes[name] for _, name in node.links]
        built[node.name] = builder(t, node, [shapes[i] for i in node.inputs] + extra)
    return built, pooled


def build_module(net: Network, report: Report, device: str = "cpu") -> Any:
    """A torch module that runs ``net``'s DAG (in eval mode); ``report`` gives the shapes layers are sized from."""
    t = _T()
    with t.torch.device(device):  # parameters are made where they live (meta: no memory at all)
        built, pooled = _build(net, report, t)
    nodes = net.nodes

    class SpecModule(t.nn.Module):  # type: ignore[name-defined,misc]
        """The spec as a torch module; ``run`` can wrap each node's call (to count its FLOPs)."""

        def __init__(self) -> None:
            super().__init__()
            self.layers = t.nn.ModuleDict({_key(name): b.module for name, b in built.items()})

        def forward(self, x: Any) -> Any:
            return self.run(x)[nodes[-1].name]

        def run(self, x: Any, around: Callable[[str], Any] | None = None) -> dict[str, Any]:
            """Every node's output, by name; ``around(name)`` gives a context manager for each node's call."""
            import contextlib

            values: dict[str, Any] = {INPUT: x}
            indices: dict[str, Any] = {}
            for node in nodes:
                xs = [values[i] for i in node.inputs]
                if node.layer.type.startswith("max_unpool"):
                    xs.append(indices[node.links[0][1]])
                else:
                    xs += [values[name] for _, name in node.links]
                with around(node.name) if around else contextlib.nullcontext():
                    out = built[node.name].call(self.layers[_key(node.name)], xs)
                if isinstance(out, tuple):  # a max-pool also returns its indices
                    out, idx = out
                    if node.name in pooled:
                        indices[node.name] = idx
                values[node.name] = out
            return values

    with t.torch.device(device):
        return SpecModule().eval()


@dataclass(frozen=True, slots=True)
class Row:
    """One layer compared: cnncalc's figures and torch's."""

    name: str
    type: str
    shape: tuple[Shape, Shape]
    params: tuple[int, int]
    buffers: tuple[int, int]
    macs: tuple[int, int | None]

    @property
    def ok(self) -> bool:
        """Shapes, parameter and buffer counts, and MACs where torch counts them, all equal."""
        return (self.shape[0] == self.shape[1] and self.params[0] == self.params[1]
                and self.buffers[0] == self.buffers[1] and (self.macs[1] is None or self.macs[0] == self.macs[1]))


#: Layers whose multiply-adds torch's FlopCounterMode counts (convolutions and matrix products, 2 FLOPs per MAC).
_COUNTED = (conv.Conv, conv_transpose.ConvTranspose, linear.Linear)


def crosscheck(net: Network, report: Report, *, device: str = "cpu") -> list[Row]:
    """Run ``net`` in torch (the report's batch and input) and compare every layer with ``report``."""
    t = _T()
    torch = t.torch
    if device == "cuda" and not torch.cuda.is_available():
        raise CnncalcError("--device cuda: torch sees no CUDA device here")
    module = build_module(net, report, device)
    from torch.utils.flop_counter import FlopCounterMode

    counters: dict[str, Any] = {}

    def around(name: str) -> Any:
        counters[name] = FlopCounterMode(display=False)
        return counters[name]

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        x = torch.randn(report.batch, *report.input, device=device)
        values = module.run(x, around)
    rows = []
    for node, row in zip(net.nodes, report.layers, strict=True):
        sub = module.layers[_key(node.name)]
        params = sum(p.numel() for p in sub.parameters())
        buffers = sum(b.numel() for b in sub.buffers())
        flops = counters[node.name].get_total_flops()
        torch_macs = flops // 2 if isinstance(node.layer, _COUNTED) else None
        rows.append(Row(node.name, node.layer.type, (row.output_shape, tuple(values[node.name].shape[1:])),
                        (row.params, params), (row.buffers, buffers), (row.macs, torch_macs)))
    return rows
