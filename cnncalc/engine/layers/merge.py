"""Merges: concatenation (Inception, DenseNet, U-Net) and element-wise addition or product (ResNet, SE blocks).

No parameters. FLOPs: addition and product cost (n − 1) per output value for n inputs; concatenation copies (0).
Concatenation needs every dim but ``dim`` equal; addition and product need equal shapes (no broadcasting).
"""


from math import prod
from typing import ClassVar, Literal

from cnncalc.engine.layers.base import Evaluation, Keeps, Merge
from cnncalc.engine.layers.registry import register
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
        if axis == -1 and self.dim in (0, -rank):
            raise ShapeError(f"dim={self.dim} is the batch: cnncalc does not concatenate along the batch (dims "
                             f"1 to {rank - 1}, or -1 to -{rank - 1}, are the channels and the spatial dims)")
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

    def keeps(self) -> Keeps:
        """cat keeps only sizes; each input's gradient is a slice (a view) of the output's."""
        return Keeps(saves=(), grad="view")


@register
class Add(Merge):
    """Element-wise sum (residual connections) or product (``mul``, gating)."""

    family: ClassVar[str] = "merge"

    type: Literal["add", "sum", "mul"]
    inplace: bool = False

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Equal shapes only; (n − 1) operations per output value."""
        _many(shapes, self.type)
        if any(s != shapes[0] for s in shapes[1:]):
            raise ShapeError(f"cannot {self.type} unequal shapes {' and '.join(map(fmt_shape, shapes))}")
        return Evaluation(shapes[0], flops=prod(shapes[0]) * (len(shapes) - 1), stores=not self.inplace,
                          summary=f"{len(shapes)} inputs")

    def keeps(self) -> Keeps:
        """add keeps nothing and passes its gradient on; mul keeps every input."""
        return Keeps(saves=(), grad="view") if self.type != "mul" else Keeps(saves=("inputs",))
