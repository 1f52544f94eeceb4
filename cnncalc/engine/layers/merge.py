"""Merges: concatenation (Inception, DenseNet, U-Net) and element-wise arithmetic (ResNet, squeeze-excitation).

No parameters. FLOPs: element-wise arithmetic costs (n − 1) per output value for n inputs (one per value for a
Python scalar operand); concatenation copies (0). Concatenation needs every dim but ``dim`` equal; element-wise
arithmetic broadcasts as torch does over the non-batch dims (a C×1×1 gate times a C×H×W map), never over the batch.
"""


from math import prod
from typing import ClassVar, Literal

from cnncalc.engine.layers import register
from cnncalc.engine.layers.base import Evaluation, Merge
from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape


def _many(shapes: list[Shape], kind: str) -> None:
    if len(shapes) < 2:
        raise ShapeError(f"{kind} needs at least two inputs, got {len(shapes)}")


@register
class Concat(Merge):
    """``torch.cat`` along ``dim`` (torch-indexed with the batch as dim 0; default 1, the channels)."""

    family: ClassVar[str] = "merge"

    type: Literal["concat", "cat"]
    dim: int = 1

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Sizes along ``dim`` add up; every other dim must agree."""
        _many(shapes, "concat")
        rank = len(shapes[0]) + 1
        axis = (self.dim + rank if self.dim < 0 else self.dim) - 1
        if not 0 <= axis < rank - 1:
            raise ShapeError(f"dim={self.dim} is out of range for inputs of rank {rank} (batch included)")
        for other in shapes[1:]:
            if len(other) != len(shapes[0]) or any(
                a != b for i, (a, b) in enumerate(zip(shapes[0], other, strict=True)) if i != axis
            ):
                raise ShapeError(
                    f"cannot concatenate {' and '.join(map(fmt_shape, shapes))} along dim {self.dim}: "
                    "every other dim must be equal"
                )
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        return Evaluation(tuple(shape), summary=f"{len(shapes)} inputs")


def _dim_name(axis: int, spatial: int) -> str:
    """``dim 1 (C)``: a non-batch dim as torch numbers it (batch = dim 0), with its usual letter."""
    letters = ("C", *{1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(spatial, ()))
    return f"dim {axis + 1}" + (f" ({letters[axis]})" if len(letters) == spatial + 1 else "")


def broadcast(shapes: list[Shape], kind: str) -> Shape:
    """torch's broadcasting over the non-batch dims: equal ranks (the batch is dim 0 of every operand), and per
    dim equal sizes or 1. A clear error names both shapes and the first dim that does not broadcast."""
    rank = len(shapes[0])
    for other in shapes[1:]:
        if len(other) != rank:
            raise ShapeError(f"cannot {kind} {fmt_shape(shapes[0])} and {fmt_shape(other)}: different ranks "
                             "(cnncalc broadcasts dims of size 1, never the batch or missing dims)")
    out = []
    for axis, sizes in enumerate(zip(*shapes, strict=True)):
        big = {s for s in sizes if s != 1}
        if len(big) > 1:
            raise ShapeError(f"cannot {kind} {' and '.join(map(fmt_shape, shapes))}: {_dim_name(axis, rank - 1)} "
                             f"has sizes {' and '.join(map(str, sizes))}, which do not broadcast (equal or 1)")
        out.append(big.pop() if big else 1)
    return tuple(out)


@register
class Add(Merge):
    """Element-wise sum (residual connections), product (``mul``, gating), difference, quotient, maximum, minimum.

    Inputs broadcast as torch does (``x * gate`` with a C×1×1 gate); ``scalar:`` makes it a one-input layer with a
    Python number as the other operand (``x * 0.2``, ``x + 1``). ``inplace`` (``x.mul_(gate)``, ``+=``) stores no
    new output; torch allows it only when the output has the first input's shape.
    """

    family: ClassVar[str] = "merge"

    type: Literal["add", "sum", "mul", "sub", "div", "maximum", "minimum"]
    inplace: bool = False
    scalar: float | None = None

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Broadcast shape; (n − 1) operations per output value (one per value with a scalar)."""
        if self.scalar is not None:
            if len(shapes) != 1:
                raise ShapeError(f"{self.type} with scalar: {self.scalar:g} takes one input, got {len(shapes)}")
            return Evaluation(shapes[0], flops=prod(shapes[0]), stores=not self.inplace,
                              summary=f"{self.type} {self.scalar:g}")
        _many(shapes, self.type)
        shape = shapes[0] if all(s == shapes[0] for s in shapes[1:]) else broadcast(shapes, self.type)
        if self.inplace and shape != shapes[0]:
            raise ShapeError(f"in-place {self.type} cannot write the broadcast shape {fmt_shape(shape)} into its "
                             f"first input {fmt_shape(shapes[0])} (torch refuses it too)")
        broadcasted = any(s != shape for s in shapes)
        return Evaluation(shape, flops=prod(shape) * (len(shapes) - 1), stores=not self.inplace,
                          summary=f"{len(shapes)} inputs" + (" broadcast" if broadcasted else ""))
