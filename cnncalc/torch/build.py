"""Spec → ``torch.nn.Module``: one builder per layer class (:data:`BUILDERS`), and :func:`build_module` for a network.

The module is built without cnncalc's engine, so the cross-check (:mod:`cnncalc.torch.crosscheck`) means something:

- every node's module is sized from the shape *torch* gives its input (a first pass on the meta device, which needs
  no memory), never from cnncalc's analysis;
- padding is read from the spec here, independently of :mod:`cnncalc.engine.dims`, as the README's padding table defines
  each form; torch takes it natively where it can (symmetric amounts, ``same`` and ``valid`` at stride 1 for
  convolutions), and otherwise an explicit ``F.pad`` goes first (-inf for max pools), so torch still computes every
  output size from the amounts;
- transposed convolutions run at padding 0 and are cropped by amounts derived from the spec's own target
  (``output_size``, or W·S for ``same``), not from cnncalc's output shape.

``BUILDERS`` is the torch side of the layer registry: a new layer class needs its builder here (tests/test_registry.py
names a class without one, and runs without torch). Builders take (lib, layer, torch's input shape, keep max-pool
indices) and return a module; torch is only touched through ``lib``, so this module imports without torch.

Limits: torch has no per-side padding for pools, so after an explicit pad the bridge itself drops a ceil-mode
window that would start in the right padding (torch's documented rule, which cnncalc follows); torch's range check
on pooling padding (at most half the kernel) then cannot run, and cnncalc's does. torch's meta kernels skip the
transposed convolution's output-padding check; the cpu device makes it.
"""

from __future__ import annotations

import re
import warnings
from math import prod
from types import SimpleNamespace
from typing import Any

from cnncalc.engine.layers import (
    REGISTRY,
    activation,
    conv,
    conv_transpose,
    linear,
    merge,
    norm,
    opaque,
    pool,
    reshape,
    upsample,
)
from cnncalc.engine.layers.base import Layer, Merge
from cnncalc.errors import CnncalcError
from cnncalc.model import INPUT, Network, Node, Shape
from cnncalc.torch._build_modern import MODERN_BUILDERS, Builder
from cnncalc.torch._modules import Step, TorchRejectedError, call_step, lib
from cnncalc.torch._pads import each, extent, sides, symmetric
from cnncalc.torch.imports import ACTIVATION_MODULES

#: (lib, layer, torch's input shape, keep max-pool indices) → module.


def _fused_activation(t: SimpleNamespace, layer: Any, x: Shape) -> Any:
    """The module of a conv or linear layer's ``activation:`` (or None), built by the activation class's own builder
    with its defaults: a fusable type needs no fields, and its builder reads no shape."""
    if layer.activation is None:
        return None
    cls = REGISTRY[layer.activation]
    # In place where torch can (cnncalc counts no new memory for a fused activation; the module must allocate none).
    act = cls.model_validate({"type": layer.activation, **({"inplace": True} if "inplace" in cls.model_fields else {})})
    return BUILDERS[type(act)](t, act, x, False)


def _elementwise(t: SimpleNamespace, layer: activation.Activation) -> Any:
    """A parameterless activation, in place when the spec says so (``torch.sigmoid_``/``tanh_`` have no module)."""
    if layer.type in ("sigmoid", "tanh"):
        return t.InPlace(layer.type) if layer.inplace else getattr(t.nn, ACTIVATION_MODULES[layer.type])()
    return getattr(t.nn, ACTIVATION_MODULES[layer.type])(inplace=layer.inplace)


def _fused(t: SimpleNamespace, layer: Any, module: Any, x: Shape) -> Any:
    """``activation: relu`` on a conv layer: ``nn.Sequential(layer, activation)``."""
    act = _fused_activation(t, layer, x)
    return module if act is None else t.nn.Sequential(module, act)


def _conv(t: SimpleNamespace, layer: conv.Conv, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k, s, d = each(layer.kernel_size, n), each(layer.stride, n), each(layer.dilation, n)
    pads = sides(layer.padding, x[1:], extent(k, d), s)
    native: Any = symmetric(pads)
    if layer.padding == "valid" or (layer.padding == "same" and set(s) == {1}):
        native = layer.padding  # torch's own 'same' (stride 1 only) and 'valid'
    cls = getattr(t.nn, f"Conv{n}d")
    options = {"stride": s, "padding": 0 if native is None else native, "dilation": d, "bias": layer.bias}
    if layer.connection_table is not None:
        table = [list(row) for row in layer.connection_table]
        body = t.SparseConv(table, [cls(len(row), 1, k, **options) for row in table])
    else:
        groups = x[0] if layer.groups == "depthwise" else layer.groups
        body = cls(x[0], layer.channels_out(x[0]), k, groups=groups, **options)
    if layer.fixed:  # the kernel as buffers: the same forward, nothing to learn
        for conv_ in [body, *body.modules()]:
            for key in ("weight", "bias"):
                value = conv_._parameters.get(key)
                if value is not None:
                    del conv_._parameters[key]
                    conv_.register_buffer(key, value.detach())
    return _fused(t, layer, body if native is not None else t.Padded(pads, body), x)


def _conv_transpose(t: SimpleNamespace, layer: conv_transpose.ConvTranspose, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k, s, d = each(layer.kernel_size, n), each(layer.stride, n), each(layer.dilation, n)
    ext, sizes = extent(k, d), x[1:]
    op = list(each(layer.output_padding, n))
    cls = getattr(t.nn, f"ConvTranspose{n}d")
    options = {"stride": s, "dilation": d, "groups": layer.groups, "bias": layer.bias}
    if layer.output_size is not None or layer.padding in ("same", "same_lower"):
        # A target size (ONNX output_shape / auto_pad): run at padding 0, add output padding if the full output
        # is short of it (torch checks that it is below the stride or dilation), crop the rest SAME_UPPER/LOWER.
        targets = each(layer.output_size, n) if layer.output_size is not None else [w * st for w, st in
                                                                                    zip(sizes, s, strict=True)]
        full = [(w - 1) * st + e for w, st, e in zip(sizes, s, ext, strict=True)]
        op = [max(tg - f, 0) for tg, f in zip(targets, full, strict=True)]
        totals = [max(f - tg, 0) for tg, f in zip(targets, full, strict=True)]
        lower = layer.padding == "same_lower" and layer.output_size is None
        cuts = [(tot - tot // 2, tot // 2) if lower else (tot // 2, tot - tot // 2) for tot in totals]
        body = t.Cropped(cls(x[0], layer.out_channels, k, padding=0, output_padding=op, **options), cuts)
        return _fused(t, layer, body, x)
    pads = sides(layer.padding, sizes, ext, s)
    native = symmetric(pads)
    if native is not None:
        return _fused(t, layer, cls(x[0], layer.out_channels, k, padding=native, output_padding=op, **options), x)
    # torch's padding P is a crop of P from both ends of the full output: per-side amounts crop per side.
    body = t.Cropped(cls(x[0], layer.out_channels, k, padding=0, output_padding=op, **options), pads)
    return _fused(t, layer, body, x)


def _pool(t: SimpleNamespace, layer: Any, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k = each(layer.kernel_size, n)
    s = k if layer.stride is None else each(layer.stride, n)
    d = each(getattr(layer, "dilation", 1), n)
    pads = sides(layer.padding, x[1:], extent(k, d), s)
    native = symmetric(pads)
    if isinstance(layer, pool.Subsample) and any(a or b for a, b in pads):
        native = None  # a sum over the padded window: pad explicitly (torch's avg_pool3d would check the unpadded size)
    padding = 0 if native is None else native
    if isinstance(layer, pool.AvgPool) and set(d) != {1}:
        if layer.ceil_mode:
            raise CnncalcError(f"the torch bridge builds a dilated average pool only without ceil_mode "
                               f"('{layer.type}')")
        return t.DilatedAvgPool(x[0], k, s, d, pads, layer.count_include_pad)
    if isinstance(layer, pool.LpPool):
        if any(a or b for a, b in pads) or set(d) != {1}:
            raise CnncalcError("torch's LPPool has no padding or dilation (ONNX's LpPool has): no torch module for "
                               f"'{layer.type}' with them")
        one = n == 1  # F.lp_pool1d multiplies by kernel_size: an int there
        return getattr(t.nn, f"LPPool{n}d")(layer.norm_type, k[0] if one else k, s[0] if one else s,
                                            ceil_mode=layer.ceil_mode)
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
    kind = "Avg" if layer.averages else "Max"
    return getattr(t.nn, f"Adaptive{kind}Pool{n}d")(target)


def _linear(t: SimpleNamespace, layer: linear.Linear, x: Shape, keep: bool) -> Any:
    fan_in = prod(x) if layer.flatten else x[-1]
    parts = [t.nn.Flatten()] if layer.flatten else []
    parts.append(t.nn.Linear(fan_in, layer.out_features, bias=layer.bias))
    act = _fused_activation(t, layer, x)
    parts += [] if act is None else [act]
    return parts[0] if len(parts) == 1 else t.nn.Sequential(*parts)


def _batchnorm(t: SimpleNamespace, layer: norm.BatchNorm, x: Shape, keep: bool) -> Any:
    cls = getattr(t.nn, f"BatchNorm{max(len(x) - 1, 1)}d")
    return cls(x[0], eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
               track_running_stats=layer.track_running_stats)


def _crop(t: SimpleNamespace, layer: reshape.Crop, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    if layer.crop is not None:
        return t.Crop(None, list(zip(each(layer.crop.before, n), each(layer.crop.after, n), strict=True)))
    return t.Crop(None if layer.size is None else each(layer.size, n), None)


def _pad(t: SimpleNamespace, layer: reshape.Pad, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    mode = {"reflection_pad": "reflect", "replication_pad": "replicate"}.get(layer.type, layer.mode)
    return t.Pad(sides(layer.padding, x[1:], (1,) * n, (1,) * n), mode, layer.value)


def _upsample(t: SimpleNamespace, layer: upsample.Upsample, x: Shape, keep: bool) -> Any:
    mode = layer.resolved_mode
    if layer.size_like is not None:  # called with the linked node's tensor: F.interpolate(x, size=like.shape[2:])
        return t.InterpolateLike(mode, layer.align_corners)
    size: Any = layer.size if not isinstance(layer.size, list) else tuple(each(layer.size, len(x) - 1))
    scale: Any = layer.scale_factor
    if isinstance(scale, list):
        scale = scale[0] if len(scale) == 1 else tuple(scale)
    return t.nn.Upsample(size=size, scale_factor=scale, mode=mode, align_corners=layer.align_corners)


def _max_unpool(t: SimpleNamespace, layer: upsample.MaxUnpool, x: Shape, keep: bool) -> Any:
    n = len(x) - 1
    k = each(layer.kernel_size, n)
    s = k if layer.stride is None else each(layer.stride, n)
    return t.MaxUnpool(getattr(t.nn, f"MaxUnpool{n}d")(k, s, each(layer.padding, n)))


def _merge(t: SimpleNamespace, layer: Any, x: Shape, keep: bool) -> Any:
    if isinstance(layer, merge.Concat):
        return t.Concat(layer.dim)
    if layer.operand is not None:
        params, buffers = layer.held()
        return t.Arithmetic(layer.type, None, layer.operand, params, buffers)
    return t.Arithmetic(layer.type, layer.scalar)


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
    activation.Activation: lambda t, layer, x, keep: _elementwise(t, layer),
    activation.LeakyReLU: lambda t, layer, x, keep: t.nn.LeakyReLU(layer.negative_slope, inplace=layer.inplace),
    activation.ELU: lambda t, layer, x, keep: t.nn.ELU(layer.alpha, inplace=layer.inplace),
    activation.GELU: lambda t, layer, x, keep: t.nn.GELU(approximate=layer.approximate),
    activation.Softmax: lambda t, layer, x, keep: (t.nn.Softmax if layer.type == "softmax" else t.nn.LogSoftmax)(
        dim=layer.dim),
    activation.PReLU: lambda t, layer, x, keep: t.nn.PReLU(layer.num_parameters, init=layer.init),
    activation.Maxout: lambda t, layer, x, keep: t.Maxout(layer.pieces),
    reshape.Flatten: lambda t, layer, x, keep: t.nn.Flatten(layer.start_dim, layer.end_dim),
    reshape.Dropout: lambda t, layer, x, keep: t.nn.Dropout(layer.p),
    reshape.Identity: lambda t, layer, x, keep: t.nn.Identity(),
    reshape.Crop: _crop,
    reshape.Pad: _pad,
    reshape.ChannelShuffle: lambda t, layer, x, keep: t.nn.ChannelShuffle(layer.groups),
    upsample.Upsample: _upsample,
    upsample.Unpool: lambda t, layer, x, keep: t.BedOfNails(each(layer.scale_factor, len(x) - 1)),
    upsample.MaxUnpool: _max_unpool,
    upsample.PixelShuffle: lambda t, layer, x, keep: t.nn.PixelShuffle(layer.upscale_factor),
    upsample.PixelUnshuffle: lambda t, layer, x, keep: t.nn.PixelUnshuffle(layer.downscale_factor),
    merge.Concat: _merge,
    merge.Add: _merge,
    pool.LpPool: _pool,
    **MODERN_BUILDERS,
    opaque.Opaque: lambda t, layer, x, keep: t.Opaque(layer.output_shape, layer.params, layer.buffers),
}


# --- building and running ------------------------------------------------------------------------------------------


def _steps(net: Network) -> list[Step]:
    """Each node's call, with a ModuleDict key: the name with every character but [A-Za-z0-9_] replaced, made unique
    and kept clear of ModuleDict's own attributes (a node called ``keys`` or ``train`` is fine)."""
    nn = lib().nn
    by_name = {node.name: node for node in net.nodes}
    kept = {name for node in net.nodes for field, name in node.links if field == "indices"}  # a max-unpool's pool
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
        steps.append(Step(node.name, key, node.inputs, isinstance(node.layer, Merge), link, node.name in kept))
    return steps


def _builder(node: Node) -> Builder:
    builder = BUILDERS.get(type(node.layer))
    if builder is None:
        raise CnncalcError(f"the torch bridge has no mapping for {node.layer.type} ('{node.name}')")
    over = node.layer.over
    if not over:
        return builder
    found = builder

    def folded(t: SimpleNamespace, layer: Any, x: Shape, keep: bool) -> Any:
        """The layer's module over the leading dims folded into the batch, as the model code ran it."""
        return t.Over(found(t, layer, x[over:], keep), over)

    return folded


def build_module(net: Network, device: str = "cpu", *, input_shape: Shape | None = None) -> Any:
    """A torch module (in eval mode, on ``device``) that runs ``net``'s DAG node by node.

    Each node's module is sized from the shape torch itself gives the node's input: a first pass builds and runs
    every node on the meta device (no memory), then, unless ``device`` is meta, the modules are built again there.
    A layer torch refuses raises :class:`TorchRejectedError`.
    """
    t = lib()
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
                call_step(step, module, values, indices)
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
