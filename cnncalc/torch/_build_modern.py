"""The torch bridge's builders for the layers of today's CNNs and transformer-style models (issues #9): matrix
products and attention, norms, splits and views, indexing and tokens. :data:`cnncalc.torch.build.BUILDERS` takes them
in; the modules they make are :mod:`cnncalc.torch._modules_modern`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from cnncalc.engine.layers import attention, merge, norm, reshape, tensor
from cnncalc.engine.layers.base import Layer
from cnncalc.model import Shape

Builder = Callable[[SimpleNamespace, Any, Shape, bool], Any]


def _token(t: SimpleNamespace, layer: tensor.Token, x: Shape, keep: bool) -> Any:
    shape = list(x)
    axis = layer.dim % (len(x) + 1) - 1
    shape[axis] = layer.count
    return t.Token(shape, layer.dim, layer.at == "end")


def _layernorm(t: SimpleNamespace, layer: norm.LayerNorm, x: Shape, keep: bool) -> Any:
    given = layer.normalized_shape
    if layer.type == "layernorm2d":
        shape: Any = [x[0]]
    else:
        shape = [x[-1]] if given is None else ([given] if isinstance(given, int) else list(given))
    cls = t.LayerNorm2d if layer.type == "layernorm2d" else t.nn.LayerNorm
    return cls(shape, eps=layer.eps, elementwise_affine=layer.elementwise_affine, bias=layer.bias)


def _instancenorm(t: SimpleNamespace, layer: norm.InstanceNorm, x: Shape, keep: bool) -> Any:
    return getattr(t.nn, f"InstanceNorm{len(x) - 1}d")(x[0], eps=layer.eps, momentum=layer.momentum,
                                                        affine=layer.affine,
                                                        track_running_stats=layer.track_running_stats)


def _split(t: SimpleNamespace, layer: reshape.Split, x: Shape, keep: bool) -> Any:
    rank = len(x) + 1
    return t.Piece(layer.pieces(x), layer.dim % rank, layer.index)


def _multihead_attention(t: SimpleNamespace, layer: attention.MultiheadAttention, x: Shape, keep: bool) -> Any:
    """torch's module with the spec's fields (torch itself checks the inputs' features against them)."""
    return t.MultiheadAttention(layer.embed_dim, layer.num_heads, dropout=layer.dropout, bias=layer.bias,
                                add_bias_kv=layer.add_bias_kv, add_zero_attn=layer.add_zero_attn, kdim=layer.kdim,
                                vdim=layer.vdim, batch_first=True)


MODERN_BUILDERS: dict[type[Layer], Builder] = {
    merge.MatMul: lambda t, layer, x, keep: t.MatMul(),
    merge.Attention: lambda t, layer, x, keep: t.Attention(layer.masked, layer.is_causal),
    merge.Einsum: lambda t, layer, x, keep: t.Einsum(layer.equation, layer.operand, *layer.held()),
    norm.LayerNorm: _layernorm,
    norm.GroupNorm: lambda t, layer, x, keep: t.nn.GroupNorm(layer.num_groups, x[0], eps=layer.eps,
                                                            affine=layer.affine),
    norm.InstanceNorm: _instancenorm,
    norm.LayerScale: lambda t, layer, x, keep: t.LayerScale(x[layer.dim % (len(x) + 1) - 1], layer.dim,
                                                            len(x) + 1, layer.init),
    reshape.StochasticDepth: lambda t, layer, x, keep: t.StochasticDepth(layer.p, layer.mode),
    reshape.Split: _split,
    reshape.Permute: lambda t, layer, x, keep: t.Permute(layer.dims),
    reshape.Reshape: lambda t, layer, x, keep: t.Reshape(layer.shape),
    norm.Normalize: lambda t, layer, x, keep: t.Normalize(layer.p, layer.dim, layer.eps),
    tensor.Select: lambda t, layer, x, keep: t.Select(layer.dim, layer.index),
    tensor.Slice: lambda t, layer, x, keep: t.Slice(layer.dim, layer.start, layer.stop, layer.step),
    tensor.Roll: lambda t, layer, x, keep: t.Roll(layer.shifts, layer.dims),
    tensor.Token: _token,
    tensor.Assign: lambda t, layer, x, keep: t.Assign(layer.region),
    attention.MultiheadAttention: _multihead_attention,
}
