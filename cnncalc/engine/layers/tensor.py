"""Indexing and tokens, as transformer-style model code writes them: ``x[:, 0]`` (select), ``x[..., 0::2, :]`` (a
strided slice), ``torch.roll`` (Swin's shifted windows) and learned tokens concatenated to a sequence (ViT's class
token).

No FLOPs. Select and slice are views (no new memory); roll copies; a token layer makes a new tensor and holds the
tokens as parameters. Receptive fields are not tracked through them (shown as —), except a select or slice of the
channel dim, which moves no position.
"""


from math import prod
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.layers.base import GLOBAL, Evaluation, Keeps, Layer, Merge, PosInt
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape


def _axis(dim: int, x: Shape, what: str) -> int:
    """A torch dim (batch = 0; negative from the end) as an index into the per-sample shape; never the batch."""
    rank = len(x) + 1
    if not -rank <= dim < rank:
        raise ShapeError(f"{what} dim={dim} is out of range for {fmt_shape(x)} (rank {rank}, batch included)")
    axis = dim % rank
    if axis == 0:
        raise ShapeError(f"{what} dim={dim} is the batch; cnncalc indexes only the dims after it")
    return axis - 1


@register
class Select(Layer):
    """``x[:, i]`` / ``torch.select(x, dim, i)``: one index along ``dim``, which disappears (ViT's class token)."""

    family: ClassVar[str] = "reshape"
    quiet: ClassVar[bool] = True

    type: Literal["select"]
    dim: int = 1
    index: int = 0

    def evaluate(self, x: Shape) -> Evaluation:
        """The shape without ``dim``; the index must exist (negative counts from the end, as torch)."""
        axis = _axis(self.dim, x, "select")
        if not -x[axis] <= self.index < x[axis]:
            raise ShapeError(f"index {self.index} is out of range for dim {self.dim} of size {x[axis]}")
        shape = x[:axis] + x[axis + 1:]
        if not shape:
            raise ShapeError(f"selecting from {fmt_shape(x)} leaves no dim after the batch")
        return Evaluation(shape, rf=None if axis == 0 else GLOBAL, stores=False,
                          summary=f"dim {self.dim} [{self.index}]")

    def keeps(self) -> Keeps:
        """select keeps only sizes; its input gradient is new zeros with the output gradient written in."""
        return Keeps(saves=(), grad="new")


@register
class Slice(Layer):
    """``x[..., start:stop:step, ...]`` along one dim, Python's slice rules (Swin's patch merging takes every other
    row and column: four slices with step 2); a view."""

    family: ClassVar[str] = "reshape"
    quiet: ClassVar[bool] = True

    type: Literal["slice"]
    dim: int
    start: int = 0
    stop: int | None = None
    step: PosInt = 1

    def evaluate(self, x: Shape) -> Evaluation:
        """len(range(*slice(start, stop, step).indices(size))) along ``dim``; at least one must remain."""
        axis = _axis(self.dim, x, "slice")
        size = len(range(*slice(self.start, self.stop, self.step).indices(x[axis])))
        if size < 1:
            raise ShapeError(f"slice {self.start}:{'' if self.stop is None else self.stop}:{self.step} of dim "
                             f"{self.dim} (size {x[axis]}) is empty")
        shape = (*x[:axis], size, *x[axis + 1:])
        return Evaluation(shape, rf=None if axis == 0 or shape == x else GLOBAL, stores=False,
                          summary=f"dim {self.dim} [{self.start}:{'' if self.stop is None else self.stop}:{self.step}]")

    def keeps(self) -> Keeps:
        """A slice keeps only sizes; its input gradient is new zeros with the output gradient written in."""
        return Keeps(saves=(), grad="new")


@register
class Roll(Layer):
    """``torch.roll(x, shifts, dims)``: a cyclic shift (Swin's shifted windows and their shift back); a copy."""

    family: ClassVar[str] = "reshape"
    quiet: ClassVar[bool] = True

    type: Literal["roll"]
    shifts: Annotated[list[int], Field(min_length=1)]
    dims: Annotated[list[int], Field(min_length=1)]

    def evaluate(self, x: Shape) -> Evaluation:
        """Same shape; one shift per dim, none of them the batch."""
        if len(self.shifts) != len(self.dims):
            raise ShapeError(f"roll needs one shift per dim: shifts {self.shifts}, dims {self.dims}")
        for dim in self.dims:
            _axis(dim, x, "roll")
        return Evaluation(x, rf=GLOBAL, summary=f"{self.shifts} on dims {self.dims}")

    def keeps(self) -> Keeps:
        """roll keeps only the shifts; its input gradient is the output gradient rolled back (a new tensor)."""
        return Keeps(saves=(), grad="new")


@register
class Token(Layer):
    """Learned tokens concatenated to the sequence along ``dim``: ViT's class token (``torch.cat([cls.expand(n, -1,
    -1), x], dim=1)``), register tokens. Parameters: ``count`` × the values of one position."""

    family: ClassVar[str] = "merge"

    type: Literal["token", "tokens", "class_token"]
    count: PosInt = 1
    dim: int = 1
    at: Literal["start", "end"] = "start"

    def evaluate(self, x: Shape) -> Evaluation:
        """``dim`` grows by ``count``; the tokens hold ``count`` positions' worth of parameters."""
        axis = _axis(self.dim, x, "token")
        per = prod(x[:axis] + x[axis + 1:])
        shape = (*x[:axis], x[axis] + self.count, *x[axis + 1:])
        return Evaluation(shape, params=self.count * per, rf=GLOBAL,
                          summary=f"+{self.count} at the {self.at} of dim {self.dim}")

    def keeps(self) -> Keeps:
        """cat keeps only sizes; the gradients are slices of the output's."""
        return Keeps(saves=(), grad="view")


Region = list[Annotated[list[int | None], Field(min_length=3, max_length=3)] | None]


@register
class Assign(Merge):
    """``x[region] = y`` (and ``x[region] += y``, which Python writes back the same way: MViT adds its relative
    positions to the attention map but for the class token's row and column): the first input with the region
    replaced by the second. In place: no new memory, no FLOPs of its own. ``region`` has one ``[start, stop, step]``
    (or null: the whole dim) per dim after the batch."""

    family: ClassVar[str] = "merge"

    type: Literal["assign"]
    region: Region

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """The target's shape; the value must have the region's shape (or broadcast to it)."""
        if len(shapes) != 2:
            raise ShapeError(f"assign takes the target and the value, got {len(shapes)} inputs")
        target, value = shapes
        if len(self.region) != len(target):
            raise ShapeError(f"region has {len(self.region)} entries for the {len(target)} dims of "
                             f"{fmt_shape(target)} after the batch")
        part = tuple(size if r is None else len(range(*slice(*r).indices(size)))
                     for r, size in zip(self.region, target, strict=True))
        if len(value) != len(part) or any(v not in (1, p) for v, p in zip(value, part, strict=True)):
            raise ShapeError(f"the value {fmt_shape(value)} does not fit the region {fmt_shape(part)} of "
                             f"{fmt_shape(target)}")
        return Evaluation(target, stores=False, rf=GLOBAL, summary=f"region {fmt_shape(part)}")

    def keeps(self) -> Keeps:
        """A copy into a slice keeps nothing; the target's gradient is the output's with the region zeroed."""
        return Keeps(saves=())
