"""The torch modules the bridge builds for the layers of today's CNNs (issue #9) that torch has no module for.

Defined on first use, when torch is imported (:func:`cnncalc.torch._modules.lib` calls :func:`modern_modules`), so
importing this module never loads torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

from cnncalc.torch._pads import SidePads, torch_order


def modern_modules(torch: Any, nn: Any, func: Any) -> dict[str, Any]:
    """Element-wise arithmetic with broadcasting or a scalar, split pieces, permute and reshape, channels-first layer
    norm, layer scale, stochastic depth, ONNX's dilated average pooling, opaque nodes, matmul, attention and
    multi-head attention called with one input or three."""
    base: Any = nn.Module

    class Arithmetic(base):  # type: ignore[misc]
        """Element-wise arithmetic of the inputs with torch's broadcasting, or of one input and a Python scalar."""

        def __init__(self, op: str, scalar: float | None, operand: list[int] | None = None, params: int = 0,
                     buffers: int = 0) -> None:
            super().__init__()
            self.op = {"add": torch.add, "sum": torch.add, "mul": torch.mul, "sub": torch.sub, "div": torch.div,
                       "maximum": torch.maximum, "minimum": torch.minimum}[op]
            self.scalar = scalar
            self.shape = None if operand is None else (1, *operand)
            self.learned = operand is not None and params == prod(operand) and not buffers
            if operand is not None and self.learned:
                self.operand = nn.Parameter(torch.zeros(1, *operand))
            elif operand is not None:  # computed from params/buffers of other sizes: hold as many, make it in forward
                self.table = nn.Parameter(torch.zeros(params)) if params else None
                if buffers:
                    self.register_buffer("held", torch.zeros(buffers))

        def forward(self, *xs: Any) -> Any:
            if self.shape is not None:
                operand = self.operand if self.learned else xs[0].new_zeros(self.shape)
                return self.op(xs[0], operand)
            if self.scalar is not None:
                other = torch.tensor(self.scalar, dtype=xs[0].dtype, device=xs[0].device)
                return self.op(xs[0], other)
            out = xs[0]
            for y in xs[1:]:
                out = self.op(out, y)
            return out

    class MatMul(base):  # type: ignore[misc]
        def forward(self, a: Any, b: Any) -> Any:
            return torch.matmul(a, b)

    class Einsum(base):  # type: ignore[misc]
        """torch.einsum of the inputs, and of a held operand last (learned, or holding as many values as counted)."""

        def __init__(self, equation: str, operand: list[int] | None = None, params: int = 0,
                     buffers: int = 0) -> None:
            super().__init__()
            self.equation = equation
            self.shape = None if operand is None else tuple(operand)
            self.learned = operand is not None and params == prod(operand) and not buffers
            if operand is not None and self.learned:
                self.operand = nn.Parameter(torch.zeros(*operand))
            elif operand is not None:
                self.table = nn.Parameter(torch.zeros(params)) if params else None
                if buffers:
                    self.register_buffer("held", torch.zeros(buffers))

        def forward(self, *xs: Any) -> Any:
            if self.shape is None:
                return torch.einsum(self.equation, *xs)
            operand = self.operand if self.learned else xs[0].new_zeros(self.shape)
            return torch.einsum(self.equation, *xs, operand)

    class Attention(base):  # type: ignore[misc]
        def __init__(self, masked: bool = False, is_causal: bool = False) -> None:
            super().__init__()
            self.masked, self.is_causal = masked, is_causal

        def forward(self, q: Any, k: Any, v: Any, mask: Any = None) -> Any:
            if self.masked and mask is None:  # a fixed mask: zeros of the scores' shape
                mask = q.new_zeros((*q.shape[:-1], k.shape[-2]))
            return func.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.is_causal)

    class Piece(base):  # type: ignore[misc]
        """``torch.split(x, sizes, dim)[index]``, or the whole input for a split point (``index`` None)."""

        def __init__(self, sizes: list[int], dim: int, index: int | None) -> None:
            super().__init__()
            self.sizes, self.dim, self.index = sizes, dim, index

        def forward(self, x: Any) -> Any:
            pieces = torch.split(x, self.sizes, dim=self.dim)
            return x if self.index is None else pieces[self.index]

    class Reshape(base):  # type: ignore[misc]
        def __init__(self, shape: list[int]) -> None:
            super().__init__()
            self.shape = shape

        def forward(self, x: Any) -> Any:
            return x.reshape(x.shape[0], *self.shape)

    class Permute(base):  # type: ignore[misc]
        def __init__(self, dims: list[int]) -> None:
            super().__init__()
            self.dims = dims

        def forward(self, x: Any) -> Any:
            return x.permute(*self.dims)

    layer_norm: Any = nn.LayerNorm

    class LayerNorm2d(layer_norm):  # type: ignore[misc]
        """ConvNeXt's channels-first layer norm: permute to channels last, ``nn.LayerNorm`` over C, permute back."""

        def forward(self, x: Any) -> Any:
            order = [0, *range(2, x.dim()), 1]
            back = [0, x.dim() - 1, *range(1, x.dim() - 1)]
            return super().forward(x.permute(*order)).permute(*back)

    class LayerScale(base):  # type: ignore[misc]
        """γ (one per entry of ``dim``) times the input, γ shaped to broadcast along ``dim``."""

        def __init__(self, size: int, dim: int, rank: int, init: float) -> None:
            super().__init__()
            trailing = rank - 1 - dim % rank  # γ broadcasts along the dims after ``dim``
            self.gamma = nn.Parameter(torch.full((size, *[1] * trailing), init))

        def forward(self, x: Any) -> Any:
            return x * self.gamma

    class StochasticDepth(base):  # type: ignore[misc]
        """torchvision's stochastic depth: a per-sample (row) or per-batch mask in training, the identity in eval."""

        def __init__(self, p: float, mode: str) -> None:
            super().__init__()
            self.p, self.mode = p, mode

        def forward(self, x: Any) -> Any:
            if not self.training or self.p == 0.0:
                return x
            size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
            keep = x.new_empty(size).bernoulli_(1 - self.p)
            return x * keep / (1 - self.p)

    class DilatedAvgPool(base):  # type: ignore[misc]
        """ONNX's dilated AveragePool, which torch lacks: a depthwise convolution with weights 1/K (made in forward:
        neither parameters nor buffers); without ``count_include_pad`` each output is divided by the real inputs
        under its window."""

        def __init__(self, channels: int, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                     pads: SidePads, include_pad: bool) -> None:
            super().__init__()
            n = len(kernel)
            self.conv = getattr(func, f"conv{n}d")
            self.shape = (channels, 1, *kernel)  # the window's weights, made in forward: neither parameter nor buffer
            self.stride, self.dilation, self.pads, self.include = list(stride), list(dilation), pads, include_pad
            self.count = prod(kernel)

        def forward(self, x: Any) -> Any:
            weight = torch.ones(self.shape, dtype=x.dtype, device=x.device)
            padded = func.pad(x, torch_order(self.pads))
            total = self.conv(padded, weight, stride=self.stride, dilation=self.dilation, groups=x.shape[1])
            if self.include:
                return total / self.count
            ones = func.pad(torch.ones_like(x[:, :1]), torch_order(self.pads))
            seen = self.conv(ones, weight[:1], stride=self.stride, dilation=self.dilation)
            return total / seen

    class Select(base):  # type: ignore[misc]
        def __init__(self, dim: int, index: int) -> None:
            super().__init__()
            self.dim, self.index = dim, index

        def forward(self, x: Any) -> Any:
            return x.select(self.dim, self.index)

    class Slice(base):  # type: ignore[misc]
        def __init__(self, dim: int, start: int, stop: int | None, step: int) -> None:
            super().__init__()
            self.dim, self.part = dim, slice(start, stop, step)

        def forward(self, x: Any) -> Any:
            return x[(slice(None),) * (self.dim % x.dim()) + (self.part,)]

    class Roll(base):  # type: ignore[misc]
        def __init__(self, shifts: list[int], dims: list[int]) -> None:
            super().__init__()
            self.shifts, self.dims = shifts, dims

        def forward(self, x: Any) -> Any:
            return torch.roll(x, self.shifts, self.dims)

    class Token(base):  # type: ignore[misc]
        """Learned tokens, expanded over the batch and concatenated along ``dim`` (ViT's class token)."""

        def __init__(self, shape: list[int], dim: int, at_end: bool) -> None:
            super().__init__()
            self.token = nn.Parameter(torch.zeros(1, *shape))
            self.dim, self.at_end = dim, at_end

        def forward(self, x: Any) -> Any:
            tokens = self.token.expand(x.shape[0], *self.token.shape[1:])
            return torch.cat([x, tokens] if self.at_end else [tokens, x], dim=self.dim)

    class Normalize(base):  # type: ignore[misc]
        def __init__(self, p: float, dim: int, eps: float) -> None:
            super().__init__()
            self.p, self.dim, self.eps = p, dim, eps

        def forward(self, x: Any) -> Any:
            return func.normalize(x, self.p, self.dim, self.eps)

    class Assign(base):  # type: ignore[misc]
        """``y = x.clone(); y[region] = v``: the target with a region replaced."""

        def __init__(self, region: list[Any]) -> None:
            super().__init__()
            self.index = (slice(None), *[slice(None) if r is None else slice(*r) for r in region])

        def forward(self, x: Any, value: Any) -> Any:
            y = x.clone()
            y[self.index] = value
            return y

    class Over(base):  # type: ignore[misc]
        """A module run over leading dims folded into the batch: (N, *lead, …) → (N·prod(lead), …) → back."""

        def __init__(self, body: Any, over: int) -> None:
            super().__init__()
            self.body, self.over = body, over

        def forward(self, x: Any) -> Any:
            lead = x.shape[1:1 + self.over]
            y = self.body(x.reshape(-1, *x.shape[1 + self.over:]))
            return y.reshape(x.shape[0], *lead, *y.shape[1:])

    class MultiheadAttention(nn.MultiheadAttention):  # type: ignore[misc]
        """``nn.MultiheadAttention`` (batch first) called as models call it: ``attn(x, x, x)`` with one input (the same
        tensor three times, so torch may take its fused path as it would in the model), ``attn(q, k, v)`` with three;
        the output without the attention weights (``need_weights=False``, as torchvision's ViT)."""

        def forward(self, *xs: Any) -> Any:
            q, k, v = xs * 3 if len(xs) == 1 else xs
            return super().forward(q, k, v, need_weights=False)[0]

    class Opaque(base):  # type: ignore[misc]
        """An imported node cnncalc cannot compute: zeros of the measured shape, holding as many parameter and buffer
        values as torch measured (so the cross-check's counts compare); the original module is the real check."""

        def __init__(self, shape: list[int], params: int, buffers: int) -> None:
            super().__init__()
            self.shape = list(shape)
            self.weight = nn.Parameter(torch.zeros(params)) if params else None
            if buffers:
                self.register_buffer("held", torch.zeros(buffers))

        def forward(self, *xs: Any) -> Any:
            return xs[0].new_zeros(xs[0].shape[0], *self.shape)

    return {c.__name__: c for c in (Arithmetic, MatMul, Attention, Piece, Reshape, Permute, LayerNorm2d, LayerScale,
                                    StochasticDepth, DilatedAvgPool, Select, Slice, Roll, Token, Normalize,
                                    Einsum, Over, Assign, MultiheadAttention,
                                    Opaque)}
