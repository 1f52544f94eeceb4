"""Opaque nodes: a part of an imported network cnncalc has no layer for, measured rather than computed.

``cnncalc import`` never drops a network because one module or op has no mapping: that node becomes ``opaque``,
holding what torch measured (its output shape, the parameters and buffers it owns) and naming what it was. Its MACs
and FLOPs are unknown, not zero: the row carries a warning saying so, and totals leave it out. It takes any number of
inputs (the tensors the op read), and the receptive field is not tracked through it.
"""


from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.layers.base import GLOBAL, Evaluation, Keeps, Merge, NonNegInt, PosInt
from cnncalc.engine.layers.registry import register
from cnncalc.model import Shape

#: The row warning every opaque node carries (the table marks warned rows).
UNKNOWN = "opaque: MACs and FLOPs unknown (not counted in the totals)"


@register
class Opaque(Merge):
    """A measured node: output shape, parameters and buffers as torch reported them; MACs unknown."""

    family: ClassVar[str] = "opaque"

    type: Literal["opaque"]
    #: What it was in torch (a module class or a function name), for the table and the warning.
    module: str = ""
    output_shape: Annotated[list[PosInt], Field(min_length=0)]
    params: NonNegInt = 0
    buffers: NonNegInt = 0

    def evaluate(self, x: Shape) -> Evaluation:
        """One input: as :meth:`merge`."""
        return self.merge([x])

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """The measured shape and counts, whatever the inputs."""
        return Evaluation(tuple(self.output_shape), params=self.params, buffers=self.buffers, rf=GLOBAL,
                          summary=f"opaque {self.module}".strip(), warnings=(UNKNOWN,))

    def keeps(self) -> Keeps:
        """Approximate: what it saves is whatever the torch module it stands for saves, which cnncalc cannot know;
        assumed to be its inputs, as most ops keep."""
        return Keeps(saves=("inputs",))
