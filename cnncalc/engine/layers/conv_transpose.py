"""Transposed convolution (``torch.nn.ConvTranspose1d/2d/3d``), the learned upsampling of decoders.

Per sample, with C_in, C_out channels, G groups, K kernel elements, I the input's spatial elements and O the
output's:
- output  = (W − 1)·S − P_before − P_after + D·(K − 1) + output_padding + 1 per dim
- params  = C_in · (C_out / G) · K (+ C_out biases), as for the convolution it transposes
- MACs    = C_in · I · (C_out / G) · K: every input value is multiplied by a whole kernel (fvcore's count)
- FLOPs   = 2 · MACs (+ C_out · O bias additions)
Receptive field: output o sees the inputs i with i·S − P ≤ o ≤ i·S − P + K_eff − 1, at most ⌈K_eff / S⌉ of them.
"""


from math import prod
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.dims import (
    effective_kernel,
    fmt_dims,
    fmt_pads,
    per_dim,
    resolve_padding,
    transposed_out,
    transposed_pads_for,
    transposed_same_pads,
)
from cnncalc.engine.layers.base import (
    Activated,
    Evaluation,
    IntOrTuple,
    Keeps,
    NonNegInt,
    Padding,
    PosInt,
    Window,
    channels,
)
from cnncalc.engine.layers.registry import register
from cnncalc.engine.trace import settle
from cnncalc.errors import ShapeError
from cnncalc.model import Shape


@register
class ConvTranspose(Activated):
    """Transposed convolution; ``padding: same`` gives W·S (ONNX SAME_UPPER), ``output_size`` derives the padding."""

    family: ClassVar[str] = "conv"

    type: Literal["conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "deconv"]
    out_channels: PosInt
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: Padding = 0
    output_padding: NonNegInt | Annotated[list[NonNegInt], Field(min_length=1, max_length=3)] = 0
    dilation: IntOrTuple = 1
    groups: PosInt = 1
    bias: bool = True
    in_channels: PosInt | None = None
    #: A target output size per spatial dim; the padding is derived from it (it overrides ``padding``).
    output_size: PosInt | Annotated[list[PosInt], Field(min_length=1, max_length=3)] | None = None

    dims_of_type: ClassVar[dict[str, int]] = {"conv_transpose1d": 1, "conv_transpose2d": 2, "conv_transpose3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """Sizes per dim by the transposed rule; weights as for the forward convolution."""
        n = self.check_dims(x, min_spatial=1)
        c_in = channels(x, self.in_channels)
        if c_in % self.groups or self.out_channels % self.groups:
            raise ShapeError(
                f"groups={self.groups} must divide in_channels={c_in} and out_channels={self.out_channels}"
            )
        k = per_dim(self.kernel_size, n, "kernel_size")
        s = per_dim(self.stride, n, "stride")
        d = per_dim(self.dilation, n, "dilation")
        op = list(per_dim(self.output_padding, n, "output_padding"))
        k_eff = [effective_kernel(a, b) for a, b in zip(k, d, strict=True)]
        sizes = x[1:]
        if self.output_size is not None:
            targets = per_dim(self.output_size, n, "output_size")
            derived = [transposed_pads_for(*args) for args in zip(sizes, targets, k_eff, s, strict=True)]
            pads = tuple(p for p, _ in derived)
            op = [extra for _, extra in derived]
        elif self.padding in ("same", "same_lower"):
            derived = [transposed_same_pads(w, ke, st, lower=self.padding == "same_lower")
                       for w, ke, st in zip(sizes, k_eff, s, strict=True)]
            pads = tuple(p for p, _ in derived)
            op = [extra for _, extra in derived]
        else:
            pads = resolve_padding(self.padding, sizes, k_eff, s)
        for i, (w, ke, extra, st, dil) in enumerate(zip(sizes, k_eff, op, s, d, strict=True)):
            if extra < max(st, dil):
                continue
            if self.output_size is not None:
                most = (w - 1) * st + ke + max(st, dil) - 1
                raise ShapeError(
                    f"output_size cannot be reached in dim {i}: at most (W − 1)·S + K_eff + max(S, D) − 1 = "
                    f"({w} − 1)·{st} + {ke} + {max(st, dil) - 1} = {most} (PyTorch rejects it too)"
                )
            raise ShapeError(
                f"output_padding {extra} in dim {i} must be smaller than the stride or the dilation "
                f"(max({st}, {dil})); PyTorch rejects it too"
            )
        out = tuple(settle(transposed_out(*args)) for args in zip(sizes, pads, k_eff, s, op, strict=True))
        per_input = (self.out_channels if self.groups == 1 else self.out_channels // self.groups) * prod(k)
        macs = c_in * prod(sizes) * per_input
        outputs = self.out_channels * prod(out)
        bias = self.out_channels if self.bias else 0
        # Output o receives input i when i·S − P ≤ o ≤ i·S − P + K_eff − 1: i from ⌈(o + P − K_eff + 1)/S⌉ to
        # ⌊(o + P)/S⌋ (dilation's gaps ignored: an upper bound).
        rf = [Window(1, st, ke - before - st, -before) for ke, st, (before, _) in zip(k_eff, s, pads, strict=True)]
        summary = f"{'x'.join(map(str, k))}/{fmt_dims(s)} {fmt_pads(pads)}"
        if any(op):
            summary += f" op{fmt_dims(op)}"
        ev = Evaluation.weighted(
            (self.out_channels, *out),
            weights=c_in * per_input,
            biases=bias,
            macs=macs,
            bias_adds=outputs if self.bias else 0,
            rf=tuple(rf),
            summary=summary + (f" g{self.groups}" if self.groups > 1 else ""),
        )
        return self.fuse(ev)

    def keeps(self) -> Keeps:
        """Saves its input, as convolution."""
        return Keeps(saves=("input",))
