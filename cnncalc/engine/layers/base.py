"""What every layer family provides: a pydantic spec model that also owns its formulas.

A layer class *is* its YAML schema (``extra="forbid"``) and its rule: :meth:`Layer.evaluate` maps an input shape
(channels first, batch excluded) to an :class:`Evaluation` holding the output shape, parameters, buffers, MACs,
FLOPs and the receptive-field step. Formulas raise :class:`~cnncalc.errors.ShapeError` without knowing where they
are; the graph walk adds the file, line and layer name.
"""


from dataclasses import dataclass, field, replace
from fractions import Fraction
from math import prod
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape

#: Strict: YAML's ``yes``/``true`` must not become a size of 1.
PosInt = Annotated[int, Field(ge=1, strict=True)]
NonNegInt = Annotated[int, Field(ge=0, strict=True)]
#: One positive int for every spatial dim, or a list with one per dim (torch's ``int | tuple``).
IntOrTuple = PosInt | Annotated[list[PosInt], Field(min_length=1, max_length=3)]


@dataclass(frozen=True, slots=True)
class Window:
    """Which input positions output ``o`` reads, per spatial dim: ``⌊(o·step − first)/up⌋`` … ``⌊(o·step − last)/up⌋``.

    The receptive-field engine (:mod:`cnncalc.engine.fields`) composes these; :meth:`regular` builds the common case.
    """

    step: int
    up: int
    first: int
    last: int

    @classmethod
    def regular(cls, kernel: int, stride: int, pad: int) -> "Window":
        """A sliding window: effective kernel, stride and padding before (Araujo et al. 2019's k, s, p)."""
        return cls(stride, 1, pad, pad - kernel + 1)

    @classmethod
    def copy(cls, factor: int | Fraction) -> "Window":
        """Each output copies one input, ``factor`` outputs per input (nearest, unpooling, pixel shuffle)."""
        f = Fraction(factor)
        return cls(f.denominator, f.numerator, 0, 0)


@dataclass(frozen=True, slots=True)
class Linked:
    """What a layer may know of another node it names: that node's input and output shapes."""

    name: str
    input_shape: Shape
    output_shape: Shape
    #: The linked layer's type name (max-unpooling needs a max-pool).
    type: str = ""


#: ``None``: elementwise (field unchanged); ``GLOBAL``: spatial dims collapse (every input pixel is seen).
GLOBAL: Literal["global"] = "global"
RFStep = tuple[Window, ...] | Literal["global"] | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A layer's results for one sample; the engine multiplies by batch and adds totals."""

    shape: Shape
    params: int = 0
    #: The part of ``params`` that is biases (cs231n's tables list weights without them).
    biases: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    #: LeCun et al. (1998)'s count: for layers with weights, each output's weighted inputs plus its bias.
    connections: int = 0
    rf: RFStep = None
    #: False when the output needs no new memory (a view, an in-place op, dropout at inference).
    stores: bool = True
    summary: str = ""
    warnings: tuple[str, ...] = field(default=())

    @classmethod
    def weighted(
        cls, shape: Shape, *, weights: int, biases: int, macs: int, bias_adds: int, **rest: Any
    ) -> "Evaluation":
        """A layer with weights, under the one FLOP convention: 2 per multiply-add plus one per bias addition.

        LeCun's connections are the multiply-adds plus the bias additions.
        """
        from cnncalc.engine.trace import settle, term

        flops = term(2 * settle(macs), "2 per multiply-add") + term(settle(bias_adds), "bias adds")
        return cls(shape, params=weights + biases, biases=biases, macs=macs, flops=flops,
                   connections=macs + bias_adds, **rest)


@dataclass(frozen=True, slots=True)
class Keeps:
    """What a layer's torch operator keeps for backward and allocates besides its output (``cnncalc memory``).

    ``saves`` names the tensors autograd holds until the layer's backward runs: ``input`` (the first input's
    storage), ``inputs`` (every input's), ``output``, ``indices`` (int64, one per output value: max pooling),
    ``mask`` (one byte per output value: dropout), ``stats`` (two fp32 values per channel: batch norm's mean and
    inverse std; layer, group and instance norm's pair, per sample and position or group, is counted the same),
    ``small`` (one fp32 tensor far smaller than the output, counted as no memory: stochastic depth's per-sample
    mask, attention's log-sum-exp per query row), ``copy`` (a temporary of the output's size and dtype: ops torch
    builds from several kernels).
    ``grad`` says whether the input gradient is a new tensor or a view of the output gradient (reshapes, adds,
    concatenation). ``train_output`` is a new output in training where inference stores none (dropout).
    ``workspace`` lists what the inference pass allocates and frees inside the op (max-pool indices).
    """

    saves: tuple[str, ...] = ("input",)
    grad: Literal["new", "view"] = "new"
    train_output: bool = False
    workspace: tuple[str, ...] = ()


class Layer(BaseModel):
    """Fields common to all layers. Subclasses narrow ``type`` to a ``Literal`` of the names they answer to."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: str
    name: str | None = None
    #: False for frozen layers: their parameters still count, but not as trainable.
    trainable: bool = True
    #: Leading dims the layer runs over one by one, with the same weights, as it runs over the batch: attention
    #: heads or windows that model code folds into the batch (MViT pools each head's map with one Conv3d).
    over: Annotated[int, Field(ge=0, le=8)] = 0

    #: Spatial dims a ``typeNd`` alias demands, e.g. ``{"conv2d": 2}``; checked before evaluation.
    dims_of_type: ClassVar[dict[str, int]] = {}

    #: Fields that name another node of the network (max-unpool ``indices``, crop ``to``); the engine resolves
    #: them and passes those nodes' shapes to :meth:`evaluate_linked`.
    links: ClassVar[tuple[str, ...]] = ()
    #: True for shape-keeping, parameterless layers that ``activation:`` may fuse into a conv or linear layer.
    fusable: ClassVar[bool] = False
    #: The layer's role for front ends (homework rows, conventions, tables): conv, pool, fc, norm, act, softmax,
    #: dropout, flatten, identity, reshape, upsample, merge, attention, maxout, opaque (an imported node cnncalc
    #: measured but cannot compute). Front ends ask this, never the type name.
    family: ClassVar[str] = ""
    #: True for layers a course table usually leaves out or folds into the row before (activations, dropout,
    #: normalisation, flatten): the homework checker aligns rows without them.
    quiet: ClassVar[bool] = False

    def evaluate(self, x: Shape) -> Evaluation:
        """Apply the layer's formulas to input shape ``x``."""
        raise NotImplementedError

    def keeps(self) -> Keeps:
        """What torch keeps for this layer's backward (default: its input, a new input gradient)."""
        return Keeps()

    def evaluate_linked(self, x: Shape, linked: dict[str, Linked]) -> Evaluation:
        """Like :meth:`evaluate`, for layers whose ``links`` name other nodes (their shapes are in ``linked``)."""
        return self.evaluate(x)

    def check_dims(self, x: Shape, *, min_spatial: int = 0) -> int:
        """Number of spatial dims of ``x``, checked against the ``typeNd`` alias and a minimum."""
        n = len(x) - 1
        want = self.dims_of_type.get(self.type)
        if want is not None and n != want:
            raise ShapeError(f"{self.type} needs an input with {want} spatial dims (C×…), got {fmt_shape(x)}")
        if n < min_spatial:
            raise ShapeError(f"{self.type} needs a channels-first input with spatial dims, got {fmt_shape(x)}")
        return n


class Merge(Layer):
    """Base of layers that join several inputs (concatenation, addition); the engine calls :meth:`merge`."""

    def evaluate(self, x: Shape) -> Evaluation:
        """A merge of one input is a spec mistake, not a no-op."""
        raise ShapeError(f"{self.type} joins several inputs; give it 'branches' or 'inputs: [a, b, ...]'")

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Output of joining ``shapes`` (at least two)."""
        raise NotImplementedError


class ElementwiseCost(Layer):
    """Base of layers that keep the shape and cost a fixed number of FLOPs per element (fvcore's idea)."""

    flops_per_element: ClassVar[dict[str, int]] = {}
    fusable: ClassVar[bool] = True
    family: ClassVar[str] = "act"
    quiet: ClassVar[bool] = True
    inplace: bool = False

    def evaluate(self, x: Shape) -> Evaluation:
        """Same shape; FLOPs = elements × the per-element cost documented in the subclass."""
        return Evaluation(x, flops=prod(x) * self.flops_per_element[self.type], stores=not self.inplace)


class Activated(Layer):
    """Layers that may fuse a parameterless activation (``activation: relu``), Keras-style, as cs231n counts rows."""

    activation: str | None = None

    @field_validator("activation")
    @classmethod
    def _elementwise(cls, value: str | None) -> str | None:
        """Only shape-keeping, parameterless activations can be fused (the rest need a layer of their own)."""
        if value is None:
            return None
        from cnncalc.engine.layers.registry import REGISTRY

        name = value.lower()
        target = REGISTRY.get(name)
        if target is not None and target.fusable:
            return name
        fusable = sorted(k for k, c in REGISTRY.items() if c.fusable)
        if target is not None:
            raise ValueError(f"{name} cannot be fused: only parameterless, shape-keeping activations can; "
                             "make it a layer of its own after this one")
        import difflib

        close = difflib.get_close_matches(name, fusable, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; use one of {', '.join(fusable)}"
        raise ValueError(f"cannot be fused{hint}")

    def fuse(self, ev: Evaluation) -> Evaluation:
        """Add the fused activation's FLOPs; it works in place, so no extra memory."""
        if self.activation is None:
            return ev
        from cnncalc.engine.layers.registry import REGISTRY

        act = REGISTRY[self.activation].model_validate({"type": self.activation}).evaluate(ev.shape)
        summary = f"{ev.summary} +{self.activation}".strip()
        from cnncalc.engine.trace import settle, term

        flops = ev.flops + term(settle(act.flops), self.activation)
        return replace(ev, params=ev.params + act.params, flops=flops, summary=summary)


def channels(x: Shape, given: int | None, what: str = "in_channels") -> int:
    """The input's channel count, checked against an explicitly given ``in_channels``."""
    if not x:
        raise ShapeError("input has no channel dim")
    if given is not None and given != x[0]:
        raise ShapeError(f"{what}={given} but the incoming shape {fmt_shape(x)} has {x[0]} channels")
    return x[0]


class PadSides(BaseModel):
    """Explicit per-side padding, ONNX's ``pads`` split in halves: ``{before: [top, left], after: [bottom, right]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    before: list[NonNegInt]
    after: list[NonNegInt]


#: Every padding form: int, one per dim, flat per-side list (MatConvNet [top bottom left right]), pairs per dim,
#: explicit sides, or a mode (``same`` = TF/ONNX SAME_UPPER, ``same_lower``, ``valid``).
Padding = (
    NonNegInt
    | list[NonNegInt]
    | list[Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]]
    | PadSides
    | Literal["same", "same_lower", "valid"]
)


def windows(sl: Any) -> tuple[Window, ...]:
    """Receptive-field steps of a :class:`cnncalc.engine.dims.Slide`, one per spatial dim."""
    return tuple(Window.regular(k, s, p[0]) for k, s, p in zip(sl.k_eff, sl.stride, sl.pads, strict=True))
