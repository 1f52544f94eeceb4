"""The torch side of the layer registry for importing: which torch modules and functions become which layer class.

:data:`IMPORTS` gives every registered layer class an :class:`Import`: the ``torch.nn`` classes it reads (by attribute
path under ``torch.nn``, so this module imports without torch) with a reader each, the functional and tensor-method
names the fx walk (:mod:`cnncalc.torch._walk`) maps to it, or, when nothing in torch imports to it, the reason.
tests/test_registry.py checks, without torch, that no layer class is missing; a torch-marked test resolves every path.

A module is matched by its class's MRO, most specific first, so subclasses of torch's modules (a custom Conv2d) import
as the class they extend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from math import prod
from typing import Any

from cnncalc.engine.layers import (
    activation,
    attention,
    conv,
    conv_transpose,
    linear,
    merge,
    norm,
    opaque,
    pool,
    reshape,
    tensor,
    upsample,
)
from cnncalc.engine.layers.base import Layer

Shape = tuple[int, ...]
Entry = dict[str, Any]
#: (module, torch.nn, batched input shape or None, batched output shape or None) → spec entry, or None if unmapped.
Reader = Callable[[Any, Any, Shape | None, Shape | None], Entry | None]


@dataclass(frozen=True)
class Import:
    """How torch code becomes one layer class: module readers, function names, or why nothing does."""

    #: ``torch.nn`` attribute path (``"Linear"``, ``"modules.conv._ConvNd"``) → reader.
    modules: Mapping[str, Reader] = field(default_factory=dict)
    #: Functional / tensor-method names (``torch.relu``, ``F.max_pool2d``, ``x.view``) the fx walk maps here.
    functions: tuple[str, ...] = ()
    #: Why no torch module or function imports to this class (it is cnncalc's own, say); empty when one does.
    none: str = ""


def pair(value: Any) -> Any:
    """``(3, 3)`` → 3, ``(1, 7)`` → [1, 7]: the short spec form of torch's per-dim tuples."""
    if isinstance(value, tuple | list):
        values = [None if v is None else int(v) for v in value]
        return values[0] if len(set(values)) == 1 and values[0] is not None else values
    return value


def softmax_dim(dim: Any, rank: int) -> int:
    """torch's implicit softmax dim for ``dim=None`` (``_get_softmax_dim``): 0 for ranks 0, 1 and 3, else 1."""
    if dim is not None:
        return int(dim)
    return 0 if rank in (0, 1, 3) else 1


def pad_entry(pads: list[int], mode: str, value: Any = 0.0) -> Entry:
    """torch's (left, right, top, bottom, …) last-dim-first amounts → cnncalc's per-dim [before, after] pairs."""
    pairs = [[int(pads[i]), int(pads[i + 1])] for i in range(0, len(pads), 2)][::-1]
    entry: Entry = {"type": "pad", "padding": pairs, "mode": mode}
    if mode == "constant" and value:
        entry["value"] = float(value)
    return entry


def as_flatten(x: Shape, y: Shape) -> Entry | None:
    """A view/reshape from ``x`` to ``y`` (batch included) that merges one run of dims, as a flatten; else None."""
    for start in range(1, len(x)):
        for end in range(start + 1, len(x)):
            if y == (*x[:start], prod(x[start:end + 1]), *x[end + 1:]):
                return {"type": "flatten", "start_dim": start, "end_dim": end - len(x)}
    return None


# --- readers: one torch module → one spec entry ---------------------------------------------------------------------


def _conv(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    return {"type": f"conv{len(m.kernel_size)}d", **_conv_fields(m)}


def _conv_fields(m: Any) -> Entry:
    return {"out_channels": m.out_channels, "kernel_size": pair(m.kernel_size), "stride": pair(m.stride),
            "padding": m.padding if isinstance(m.padding, str) else pair(m.padding), "dilation": pair(m.dilation),
            "groups": m.groups, "bias": m.bias is not None}


def _conv_transpose(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    n = len(m.kernel_size)
    entry = {"type": f"conv_transpose{n}d", **_conv_fields(m), "output_padding": pair(m.output_padding)}
    if x is not None and y is not None and len(x) == len(y) == n + 2:
        # Called with output_size=..., torch derives the output padding: take it from the sizes.
        entry["output_padding"] = pair([
            out - ((w - 1) * s - 2 * p + d * (k - 1) + 1)
            for w, out, k, s, p, d in zip(x[2:], y[2:], m.kernel_size, m.stride, m.padding, m.dilation, strict=True)
        ])
    return entry


def _batchnorm(kind: str, m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    return {"type": kind, "eps": m.eps, "momentum": m.momentum, "affine": m.affine,
            "track_running_stats": m.track_running_stats}


def _maxpool(kind: str, m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    return {"type": kind, "kernel_size": pair(m.kernel_size),
            "stride": pair(m.stride if m.stride is not None else m.kernel_size), "padding": pair(m.padding),
            "dilation": pair(m.dilation), "ceil_mode": m.ceil_mode}


def _avgpool(kind: str, m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    return {"type": kind, "kernel_size": pair(m.kernel_size), "stride": pair(m.stride), "padding": pair(m.padding),
            "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad}


def _adaptive(kind: str, m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    size = m.output_size
    return {"type": kind, "output_size": list(size) if isinstance(size, tuple | list) else size}


def _lppool(kind: str, m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    return {"type": kind, "norm_type": float(m.norm_type), "kernel_size": pair(m.kernel_size),
            "stride": pair(m.stride if m.stride is not None else m.kernel_size), "ceil_mode": m.ceil_mode}


def _layernorm(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    """``nn.LayerNorm`` over the trailing dims; a subclass that normalises the channels of a channels-first map
    (ConvNeXt's LayerNorm2d permutes in its forward) is told by the shape it was called on."""
    shape = [int(v) for v in m.normalized_shape]
    entry: Entry = {"type": "layernorm", "normalized_shape": shape if len(shape) > 1 else shape[0], "eps": m.eps,
                    "elementwise_affine": m.elementwise_affine, "bias": getattr(m, "bias", None) is not None
                    or not m.elementwise_affine}
    if x is not None and len(x) > 2 and list(x[len(x) - len(shape):]) != shape and [x[1]] == shape:
        entry["type"] = "layernorm2d"
    return entry


def _instancenorm(kind: str, m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    return {"type": kind, "eps": m.eps, "momentum": m.momentum, "affine": m.affine,
            "track_running_stats": m.track_running_stats}


def _softmax(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    if isinstance(m, nn.Softmax2d):
        return {"type": "softmax", "dim": -3}
    return {"type": "softmax" if isinstance(m, nn.Softmax) else "log_softmax",
            "dim": softmax_dim(m.dim, len(x) if x is not None else 2)}


def _upsample(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry | None:
    if m.mode not in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
        return None
    size = list(m.size) if isinstance(m.size, tuple) else m.size
    scale = list(m.scale_factor) if isinstance(m.scale_factor, tuple) else m.scale_factor
    # UpsamplingBilinear2d passes align_corners=True in its forward, not as an attribute.
    corners = True if isinstance(m, nn.UpsamplingBilinear2d) else m.align_corners
    return {"type": "upsample", "size": size, "scale_factor": scale, "mode": m.mode, "align_corners": corners}


def _pad(mode: str, m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry:
    return pad_entry(list(m.padding), mode, getattr(m, "value", 0.0))


def _multihead_attention(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry | None:
    """``nn.MultiheadAttention`` with torch's fields; none for ``batch_first=False`` (the batch second, which cnncalc's
    shapes cannot say: the walk leaves such a call opaque with that reason)."""
    if not m.batch_first:
        return None
    entry: Entry = {"type": "multihead_attention", "embed_dim": m.embed_dim, "num_heads": m.num_heads,
                    "dropout": float(m.dropout), "bias": m.in_proj_bias is not None or m.out_proj.bias is not None,
                    "add_bias_kv": m.bias_k is not None, "add_zero_attn": bool(m.add_zero_attn)}
    if m.kdim != m.embed_dim:
        entry["kdim"] = m.kdim
    if m.vdim != m.embed_dim:
        entry["vdim"] = m.vdim
    return entry


def _fields(kind: str, **fields: str) -> Reader:
    """A reader copying module attributes into spec fields: ``_fields("lrn", size="size")``."""
    return lambda m, nn, x, y: {"type": kind, **{k: getattr(m, attr) for k, attr in fields.items()}}


def _act(kind: str, **fields: str) -> Reader:
    """An activation's reader: its fields, and ``inplace: true`` when the module works in place (memory counts it)."""
    read = _fields(kind, **fields)
    return lambda m, nn, x, y: {**(read(m, nn, x, y) or {}),
                                **({"inplace": True} if getattr(m, "inplace", False) else {})}


def _per_dim(reader: Callable[..., Entry], kind: str, names: tuple[str, ...]) -> dict[str, Reader]:
    """One reader per ``{name}{1,2,3}d`` torch class, giving type ``{kind}{1,2,3}d``."""
    return {f"{name}{n}d": functools.partial(reader, f"{kind}{n}d") for name in names for n in (1, 2, 3)}


#: The ``activation`` class's types and their torch.nn modules (the bridge builds these; importing, a module reads as
#: the first type naming it, so SiLU imports as silu, not its alias swish).
ACTIVATION_MODULES = {"relu": "ReLU", "relu6": "ReLU6", "sigmoid": "Sigmoid", "tanh": "Tanh", "silu": "SiLU",
                      "swish": "SiLU", "selu": "SELU", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
                      "mish": "Mish"}
_SIMPLE: dict[str, str] = {}
for _name, _module in ACTIVATION_MODULES.items():
    _SIMPLE.setdefault(_module, _name)

IMPORTS: dict[type[Layer], Import] = {
    conv.Conv: Import({"modules.conv._ConvNd": _conv}),
    conv_transpose.ConvTranspose: Import({"modules.conv._ConvTransposeNd": _conv_transpose}),
    pool.MaxPool: Import(_per_dim(_maxpool, "maxpool", ("MaxPool",)), (*(f"max_pool{n}d" for n in (1, 2, 3)),)),
    pool.AvgPool: Import(_per_dim(_avgpool, "avgpool", ("AvgPool",)), (*(f"avg_pool{n}d" for n in (1, 2, 3)),)),
    pool.AdaptivePool: Import(
        {**_per_dim(_adaptive, "adaptive_avgpool", ("AdaptiveAvgPool",)),
         **_per_dim(_adaptive, "adaptive_maxpool", ("AdaptiveMaxPool",))},
        (*(f"adaptive_{k}_pool{n}d" for k in ("avg", "max") for n in (1, 2, 3)), "mean"),
    ),
    pool.Subsample: Import(none="LeCun et al. (1998)'s trainable subsampling: torch has no such module"),
    linear.Linear: Import({"Linear": lambda m, nn, x, y: {"type": "linear", "out_features": m.out_features,
                                                          "bias": m.bias is not None}}),
    linear.RBF: Import(none="LeCun et al. (1998)'s Euclidean RBF output units: torch has no such module"),
    norm.BatchNorm: Import({"modules.batchnorm._BatchNorm": functools.partial(_batchnorm, "batchnorm"),
                            **_per_dim(_batchnorm, "batchnorm", ("BatchNorm",))}),
    norm.LocalResponseNorm: Import({"LocalResponseNorm": _fields("lrn", size="size", alpha="alpha", beta="beta",
                                                                  k="k")}),
    activation.Activation: Import({module: _act(name) for module, name in _SIMPLE.items()}, (*_SIMPLE.values(),)),
    activation.LeakyReLU: Import({"LeakyReLU": _act("leaky_relu", negative_slope="negative_slope")},
                                 ("leaky_relu",)),
    activation.ELU: Import({"ELU": _act("elu", alpha="alpha")}, ("elu",)),
    activation.GELU: Import({"GELU": _fields("gelu", approximate="approximate")}, ("gelu",)),
    activation.PReLU: Import({"PReLU": _fields("prelu", num_parameters="num_parameters")}),
    activation.Softmax: Import({"Softmax": _softmax, "LogSoftmax": _softmax, "Softmax2d": _softmax},
                               ("softmax", "log_softmax")),
    activation.Maxout: Import(none="maxout (Goodfellow et al. 2013) is not a torch module; the bridge builds its own"),
    reshape.Flatten: Import({"Flatten": _fields("flatten", start_dim="start_dim", end_dim="end_dim")},
                            ("flatten", "view", "reshape")),
    reshape.Dropout: Import({"modules.dropout._DropoutNd": _fields("dropout", p="p")},
                            ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                             "feature_alpha_dropout")),
    reshape.Identity: Import({"Identity": _fields("identity")}, ("identity",)),
    reshape.Crop: Import(functions=("getitem",)),  # x[:, :, a:b, c:d]
    reshape.Pad: Import({"modules.padding._ConstantPadNd": functools.partial(_pad, "constant"),
                         "modules.padding._ReflectionPadNd": functools.partial(_pad, "reflect"),
                         "modules.padding._ReplicationPadNd": functools.partial(_pad, "replicate"),
                         "modules.padding._CircularPadNd": functools.partial(_pad, "circular")}, ("pad",)),
    reshape.ChannelShuffle: Import({"ChannelShuffle": _fields("channel_shuffle", groups="groups")},
                                   ("channel_shuffle",)),
    upsample.Upsample: Import({"Upsample": _upsample}, ("interpolate", "upsample")),
    upsample.Unpool: Import(none="bed-of-nails unpooling (cs231n) is not a torch module; the bridge builds its own"),
    upsample.MaxUnpool: Import({"modules.pooling._MaxUnpoolNd": lambda m, nn, x, y: {
        "type": f"max_unpool{len(m.kernel_size)}d", "kernel_size": pair(m.kernel_size), "stride": pair(m.stride),
        "padding": pair(m.padding)}}),
    upsample.PixelShuffle: Import({"PixelShuffle": _fields("pixel_shuffle", upscale_factor="upscale_factor")},
                                  ("pixel_shuffle",)),
    upsample.PixelUnshuffle: Import({"PixelUnshuffle": _fields("pixel_unshuffle",
                                                               downscale_factor="downscale_factor")},
                                    ("pixel_unshuffle",)),
    merge.Concat: Import(functions=("cat", "concat", "concatenate")),
    merge.Add: Import(functions=("add", "iadd", "mul", "imul", "sub", "isub", "truediv", "itruediv", "div",
                                 "maximum", "minimum")),
    merge.MatMul: Import(functions=("matmul", "bmm")),
    merge.Attention: Import(functions=("scaled_dot_product_attention",)),
    merge.Einsum: Import(functions=("einsum",)),
    pool.LpPool: Import(_per_dim(_lppool, "lppool", ("LPPool",)), ("lp_pool1d", "lp_pool2d", "lp_pool3d")),
    norm.LayerNorm: Import({"LayerNorm": _layernorm}, ("layer_norm",)),
    norm.GroupNorm: Import({"GroupNorm": lambda m, nn, x, y: {"type": "groupnorm", "num_groups": m.num_groups,
                                                              "eps": m.eps, "affine": m.affine}}, ("group_norm",)),
    norm.InstanceNorm: Import(_per_dim(_instancenorm, "instancenorm", ("InstanceNorm",)), ("instance_norm",)),
    norm.LayerScale: Import(none="torch has no layer-scale module: the import reads a parameter used as an operand "
                                 "(x * self.gamma) as one"),
    reshape.StochasticDepth: Import(functions=("stochastic_depth", "drop_path")),
    reshape.Split: Import(functions=("split", "chunk", "tensor_split")),
    reshape.Permute: Import(functions=("permute", "transpose", "swapaxes", "swapdims")),
    # where a flatten does not fit
    reshape.Reshape: Import(functions=("view", "reshape", "unflatten", "squeeze", "unsqueeze")),
    norm.Normalize: Import(functions=("normalize",)),
    tensor.Select: Import(functions=("select", "getitem")),  # x[:, 0]
    tensor.Slice: Import(functions=("getitem", "narrow")),  # x[..., 0::2, :]
    tensor.Roll: Import(functions=("roll",)),
    tensor.Token: Import(functions=("cat",)),  # torch.cat([self.cls_token.expand(n, -1, -1), x], dim=1)
    tensor.Assign: Import(functions=("setitem",)),  # x[region] = y, x[region] += y
    attention.MultiheadAttention: Import({"MultiheadAttention": _multihead_attention}),
    opaque.Opaque: Import(none="what the import makes of a module or op without a mapping (measured, not read)"),
}

#: Every function or method name some layer class imports from.
FUNCTIONS = frozenset(name for imp in IMPORTS.values() for name in imp.functions)


def resolve(nn: Any, path: str) -> Any:
    """The ``torch.nn`` class at ``path`` (``"modules.conv._ConvNd"``), or None if this torch lacks it."""
    obj = nn
    for part in path.split("."):
        obj = getattr(obj, part, None)
    return obj


@functools.cache
def _readers(nn: Any) -> dict[type, Reader]:
    return {cls: reader for imp in IMPORTS.values() for path, reader in imp.modules.items()
            if (cls := resolve(nn, path)) is not None}


def module_layer(m: Any, nn: Any, x: Shape | None, y: Shape | None) -> Entry | None:
    """The spec entry for one torch module called on batched shape ``x`` giving ``y``, or None without mapping."""
    readers = _readers(nn)
    for cls in type(m).__mro__:
        if cls in readers:
            return readers[cls](m, nn, x, y)
    return None
