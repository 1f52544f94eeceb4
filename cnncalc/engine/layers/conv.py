"""Convolution (``torch.nn.Conv1d/2d/3d``): one class for 1-, 2- and 3-D, grouped and depthwise.

Formulas (per sample; C_in, C_out channels, G groups, K the kernel's elements, O the output's spatial elements):
- params  = C_out · (C_in / G) · K  (+ C_out biases)
- MACs    = C_out · O · (C_in / G) · K
- FLOPs   = 2 · MACs (+ C_out · O bias additions)

``out_channels: same`` makes C_out = C_in (with ``groups: depthwise``, a depthwise conv that keeps its channels).
"""


from dataclasses import replace
from math import prod
from typing import ClassVar, Literal

from cnncalc.engine.dims import Slide, slide, slide_summary
from cnncalc.engine.layers.base import (
    Activated,
    Evaluation,
    IntOrTuple,
    Keeps,
    NonNegInt,
    Padding,
    PosInt,
    channels,
    windows,
)
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape


@register
class Conv(Activated):
    """Convolution over any number of spatial dims; ``conv2d`` etc. also check the input's rank."""

    family: ClassVar[str] = "conv"

    type: Literal["conv", "conv1d", "conv2d", "conv3d"]
    #: A count, or ``same`` for as many as the input has (a depthwise conv that keeps its channels; the notation's
    #: ``dwconv3`` writes it), resolved in :meth:`evaluate` so the spec never needs the input's shape.
    out_channels: PosInt | Literal["same"]
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: Padding = 0
    dilation: IntOrTuple = 1
    #: An int, or ``depthwise`` for one group per input channel (MobileNet).
    groups: PosInt | Literal["depthwise"] = 1
    bias: bool = True
    in_channels: PosInt | None = None
    #: Sparse connections (LeCun et al. 1998, Table I): the input channels each output channel reads.
    connection_table: list[list[NonNegInt]] | None = None
    #: The kernel (and bias) is a fixed buffer, not learned: a blur before strided downsampling (anti-aliased
    #: CNNs), a Sobel filter. Same MACs; its values count as buffers, not parameters.
    fixed: bool = False

    dims_of_type: ClassVar[dict[str, int]] = {"conv1d": 1, "conv2d": 2, "conv3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """Output size by the shared sliding-window rule; weights per group."""
        self.check_dims(x, min_spatial=1)
        c_in = channels(x, self.in_channels)
        c_out = self.channels_out(c_in)
        groups = c_in if self.groups == "depthwise" else self.groups
        if c_in % groups:
            raise ShapeError(f"groups={groups} does not divide in_channels={c_in}")
        if c_out % groups:
            raise ShapeError(f"groups={groups} does not divide out_channels={c_out}")
        sl = slide(x[1:], self.kernel_size, self.stride, self.padding, self.dilation)
        if self.connection_table is not None:
            return self.fuse(self.held(self._sparse(c_in, c_out, groups, sl)))
        # Written in the order the explanations read best: K·(C_in/G)·C_out, then H·W·C_out · K·(C_in/G).
        per_group = c_in if groups == 1 else 1 if groups == c_in else c_in // groups  # plain in explanations
        per_output = prod(sl.kernel) * per_group
        outputs = prod(sl.out) * c_out
        bias = c_out if self.bias else 0
        summary = slide_summary(sl) + (f" g{groups}" if groups > 1 else "") + ("" if self.bias else " nobias")
        ev = Evaluation.weighted(
            (c_out, *sl.out),
            weights=per_output * c_out,
            biases=bias,
            macs=outputs * per_output,
            bias_adds=outputs if self.bias else 0,
            rf=windows(sl),
            summary=summary,
            warnings=sl.warnings,
        )
        return self.fuse(self.held(ev))

    def held(self, ev: Evaluation) -> Evaluation:
        """A fixed kernel's values are buffers."""
        return replace(ev, params=0, biases=0, buffers=ev.params) if self.fixed else ev

    def channels_out(self, c_in: int) -> int:
        """The output channel count for ``c_in`` input channels (``out_channels: same`` keeps them)."""
        return c_in if self.out_channels == "same" else self.out_channels

    def _sparse(self, c_in: int, c_out: int, groups: int, sl: Slide) -> Evaluation:
        """A connection table instead of full (or grouped) channel mixing: weights only where the table says."""
        table = self.connection_table or []
        if groups != 1:
            raise ShapeError("connection_table replaces groups; leave groups at 1")
        if len(table) != c_out:
            raise ShapeError(f"connection_table has {len(table)} rows for {c_out} output channels")
        bad = sorted({c for row in table for c in row if c >= c_in})
        if bad or any(not row or len(set(row)) != len(row) for row in table):
            raise ShapeError(
                f"connection_table rows must list distinct input channels 0–{c_in - 1}, at least one each"
                + (f" (got {bad[0]})" if bad else "")
            )
        links = sum(len(row) for row in table)
        per_output = prod(sl.kernel)
        positions = prod(sl.out)
        bias = c_out if self.bias else 0
        macs = positions * per_output * links
        outputs = positions * c_out
        return Evaluation.weighted(
            (c_out, *sl.out),
            weights=per_output * links,
            biases=bias,
            macs=macs,
            bias_adds=outputs if self.bias else 0,
            rf=windows(sl),
            summary=slide_summary(sl) + f" table({links} links)",
            warnings=sl.warnings,
        )

    def keeps(self) -> Keeps:
        """Convolution saves its input (and weight); a fused activation runs in place on the output."""
        return Keeps(saves=("input",))
