"""Activations and softmax: shape-preserving, so each is a FLOP count per element (fvcore's elementwise idea).

The per-element costs are a convention (a transcendental function counts as one FLOP):
relu 1 (max), relu6 2, leaky_relu 2 (compare, multiply), prelu 2, elu 4 (compare, exp, subtract, multiply),
selu 5 (elu and a scale), sigmoid 4 (negate, exp, add, divide), tanh 5 (two exps, subtract, add, divide),
silu/swish 5 (sigmoid and a multiply), hardswish 4, hardsigmoid 3, gelu 5 (divide, erf, add, two multiplies;
the tanh approximation is counted the same), mish 9 (softplus: exp, add, log; tanh 5; a multiply),
softmax and log_softmax 3 (exp, add, divide or subtract).
Maxout reduces the channels by ``pieces`` with pieces − 1 comparisons per output.
"""


from math import prod
from typing import ClassVar, Literal

from cnncalc.engine.layers.base import ElementwiseCost, Evaluation, Keeps, Layer, PosInt, channels
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape


@register
class Activation(ElementwiseCost):
    """Parameterless elementwise activations."""

    type: Literal["relu", "relu6", "sigmoid", "tanh", "silu", "swish", "selu", "hardswish", "hardsigmoid", "mish"]

    flops_per_element: ClassVar[dict[str, int]] = {
        "relu": 1, "relu6": 2, "sigmoid": 4, "tanh": 5, "silu": 5, "swish": 5, "selu": 5, "hardswish": 4,
        "hardsigmoid": 3, "mish": 9,
    }

    def keeps(self) -> Keeps:
        """relu, sigmoid, tanh keep their output; the rest their input — in place, selu its output, others a clone."""
        keeps_output = self.type in ("relu", "sigmoid", "tanh") or (self.inplace and self.type == "selu")
        return Keeps(saves=("output",) if keeps_output else ("copy",) if self.inplace else ("input",))


@register
class LeakyReLU(ElementwiseCost):
    """max(0, x) + slope · min(0, x)."""

    type: Literal["leaky_relu"]
    negative_slope: float = 0.01

    flops_per_element: ClassVar[dict[str, int]] = {"leaky_relu": 2}

    def keeps(self) -> Keeps:
        """leaky_relu keeps its input, leaky_relu_ its result."""
        return Keeps(saves=("output",) if self.inplace else ("input",))


@register
class ELU(ElementwiseCost):
    """x if x > 0 else α(eˣ − 1)."""

    type: Literal["elu"]
    alpha: float = 1.0

    flops_per_element: ClassVar[dict[str, int]] = {"elu": 4}

    def keeps(self) -> Keeps:
        """elu keeps its input, elu_ its result."""
        return Keeps(saves=("output",) if self.inplace else ("input",))


@register
class GELU(ElementwiseCost):
    """x · Φ(x), exact (erf) or with torch's tanh approximation."""

    type: Literal["gelu"]
    approximate: Literal["none", "tanh"] = "none"

    flops_per_element: ClassVar[dict[str, int]] = {"gelu": 5}

    def keeps(self) -> Keeps:
        """gelu keeps its input."""
        return Keeps(saves=("input",))


@register
class PReLU(Layer):
    """Leaky ReLU with a learned slope: one shared (``num_parameters: 1``) or one per channel."""

    family: ClassVar[str] = "act"

    type: Literal["prelu"]
    num_parameters: PosInt = 1
    init: float = 0.25

    def evaluate(self, x: Shape) -> Evaluation:
        """num_parameters slopes; 2 FLOPs per element."""
        if self.num_parameters != 1:
            channels(x, self.num_parameters, "num_parameters")
        return Evaluation(x, params=self.num_parameters, flops=2 * prod(x))

    def keeps(self) -> Keeps:
        """prelu keeps its input (and weight)."""
        return Keeps(saves=("input",))


@register
class Softmax(Layer):
    """Softmax (or log-softmax) along ``dim``, torch-indexed with the batch as dim 0 (default 1: channels)."""

    family: ClassVar[str] = "softmax"
    quiet: ClassVar[bool] = True

    type: Literal["softmax", "log_softmax"]
    dim: int = 1

    fusable: ClassVar[bool] = True

    def evaluate(self, x: Shape) -> Evaluation:
        """3 FLOPs per element."""
        rank = len(x) + 1
        if not -rank <= self.dim < rank:
            raise ShapeError(f"dim={self.dim} is out of range for an input of rank {rank} (batch included)")
        return Evaluation(x, flops=3 * prod(x), summary=f"dim={self.dim}")

    def keeps(self) -> Keeps:
        """softmax and log_softmax keep their output."""
        return Keeps(saves=("output",))


@register
class Maxout(Layer):
    """Maxout (Goodfellow et al. 2013): the max over ``pieces`` consecutive channels; the weights live upstream."""

    family: ClassVar[str] = "maxout"

    type: Literal["maxout"]
    pieces: PosInt = 2

    def evaluate(self, x: Shape) -> Evaluation:
        """C / pieces output channels, pieces − 1 comparisons each."""
        c = channels(x, None)
        if c % self.pieces:
            raise ShapeError(f"maxout with {self.pieces} pieces needs channels divisible by {self.pieces}, got {c}")
        shape = (c // self.pieces, *x[1:])
        return Evaluation(shape, flops=prod(shape) * (self.pieces - 1), summary=f"pieces={self.pieces}")

    def keeps(self) -> Keeps:
        """amax keeps its input and output (to route the gradient)."""
        return Keeps(saves=("input", "output"))
