"""Fully connected layers (``torch.nn.Linear``), applied to the last dim or to the flattened input.

- params = in · out (+ out biases)
- MACs   = rows · in · out, rows being the product of the leading dims (1 for a vector)
- FLOPs  = 2 · MACs (+ rows · out bias additions)
"""


from math import prod
from typing import ClassVar, Literal

from cnncalc.engine.layers.base import GLOBAL, Activated, Evaluation, Keeps, Layer, PosInt
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape


@register
class Linear(Activated):
    """``linear``/``fc`` on the last dim (PyTorch); ``flatten: true`` flattens the input first, as VGG's FCs."""

    family: ClassVar[str] = "fc"

    type: Literal["linear", "fc"]
    out_features: PosInt
    in_features: PosInt | None = None
    bias: bool = True
    flatten: bool = False

    def evaluate(self, x: Shape) -> Evaluation:
        """Rows × in × out multiply-accumulates."""
        if not x:
            raise ShapeError("linear needs an input with at least one dim")
        lead, fan_in = ((), prod(x)) if self.flatten else (x[:-1], x[-1])
        if self.in_features is not None and self.in_features != fan_in:
            what = "flattened input" if self.flatten else "last dim of the input"
            raise ShapeError(f"in_features={self.in_features} but the {what} {'x'.join(map(str, x))} has {fan_in}")
        rows = prod(lead)
        macs = rows * fan_in * self.out_features
        bias = self.out_features if self.bias else 0
        ev = Evaluation.weighted(
            (*lead, self.out_features),
            weights=fan_in * self.out_features,
            biases=bias,
            macs=macs,
            bias_adds=rows * bias,
            rf=GLOBAL if len(x) > 1 else None,
            summary=f"{fan_in}→{self.out_features}" + ("" if self.bias else " nobias"),
        )
        return self.fuse(ev)

    def keeps(self) -> Keeps:
        """addmm saves its input (the flattened view when ``flatten``)."""
        return Keeps(saves=("input",))


@register
class RBF(Layer):
    """Euclidean radial basis function units (LeCun et al. 1998's output layer): y_i = Σ_j (x_j − w_ij)².

    The centres are fixed by hand in the paper, so they are reported as buffers (840 for 84 → 10), not
    parameters. MACs in·out (a squared difference accumulated); FLOPs 3 per pair; connections in·out.
    """

    family: ClassVar[str] = "fc"

    type: Literal["rbf"]
    out_features: PosInt

    def evaluate(self, x: Shape) -> Evaluation:
        """A vector input; one distance per output unit."""
        if len(x) != 1:
            raise ShapeError(f"rbf takes a vector (flatten first), got {'x'.join(map(str, x))}")
        pairs = x[0] * self.out_features
        return Evaluation(
            (self.out_features,), buffers=pairs, macs=pairs, flops=3 * pairs, connections=pairs, rf=GLOBAL,
            summary=f"{x[0]}→{self.out_features} fixed",
        )

    def keeps(self) -> Keeps:
        """The broadcast difference (in·out per sample) is what the square keeps; counted as the input."""
        return Keeps(saves=("input",))
