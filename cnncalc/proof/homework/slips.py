"""The catalogue of common slips, and the diagnosis of a wrong cell.

Each slip is the engine re-run on a deliberately wrong variant of the layer or its input (the depth left out, the
bias left out, the padding ignored, ceil for floor, …), so no formula is written here a second time. Which slips
a layer can make follows from its registry family (:data:`CATALOGUE`): a new layer type gets the slips of the
family it declares; a slip still checks that the layer has what it is about (a bias, padding, a stride).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import prod
from typing import Any

from cnncalc.engine.dims import slide
from cnncalc.engine.explain import dim_names
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Layer
from cnncalc.engine.trace import Traced, traced
from cnncalc.errors import CnncalcError
from cnncalc.model import Node, Shape
from cnncalc.proof.homework.cells import Given, Order, number_ok, shape_orders
from cnncalc.proof.homework.derive import Engine, Figures, Unit

#: A slip: the sentence that names it, and the engine re-run that reproduces it (None: not a valid layer).
Slip = tuple[str, Callable[[], Figures | None]]
#: The rows of the catalogue: the slips of one kind that apply to a layer, most telling first.
Slips = Callable[["Subject"], Iterator[Slip]]


@dataclass(frozen=True, slots=True)
class Subject:
    """A layer under diagnosis: the engine, its node and (possibly activation-free) layer, input, correct figures."""

    eng: Engine
    node: Node
    layer: Layer
    x: Shape
    fig: Figures

    @property
    def single(self) -> bool:
        """Whether the layer has one input (slips about the input, weights and sizes need one)."""
        return len(self.node.inputs) == 1

    def run(self, layer: Layer | None = None, x: Shape | None = None) -> Figures | None:
        """The engine on a changed layer or input."""
        return self.eng.run(self.node, self.layer if layer is None else layer, x)

    def variant(self, **update: Any) -> Callable[[], Figures | None]:
        """A deferred re-run with some fields changed."""
        return lambda: self.run(self.layer.model_copy(update=update))

    def has(self, name: str) -> bool:
        """Whether the layer type has a field."""
        return name in type(self.layer).model_fields


# --- weights ----------------------------------------------------------------------------------------------------


def input_depth(sub: Subject) -> Iterator[Slip]:
    """The input depth left out of a layer's parameters."""
    x = sub.x
    if sub.single and sub.fig.values.get("params") and len(x) > 1 and x[0] > 1:
        yield f"the input depth {x[0]} seems to be left out", lambda: sub.run(x=(1, *x[1:]))


def flattened_from(eng: Engine, node: Node) -> Shape | None:
    """For an FC layer: the multi-dim shape it flattens (its own input, or the input of a flatten before it)."""
    x = eng.shapes[node.inputs[0]]
    if getattr(node.layer, "flatten", False) and len(x) > 1:
        return x
    name = node.inputs[0]
    while name in eng.nodes:
        prev = eng.nodes[name]
        if type(prev.layer).family == "flatten":
            before = eng.shapes[prev.inputs[0]]
            return before if len(before) > 1 else None
        if not type(prev.layer).quiet or len(prev.inputs) != 1:
            return None
        name = prev.inputs[0]
    return None


def flattened_fan_in(sub: Subject) -> Iterator[Slip]:
    """An FC layer after a flatten: the depth left out of the fan-in, or the channels taken as the fan-in."""
    x, layer = sub.x, sub.layer
    u = flattened_from(sub.eng, sub.node) if sub.single and sub.has("flatten") else None
    if u is None:
        return
    flat = layer.model_copy(update={"flatten": True})
    if len(x) == 1 and u[0] > 1:
        yield (f"the input depth {u[0]} seems to be left out of the flattened fan-in",
               lambda: sub.run(flat, (1, *u[1:])))
    yield (f"only the {u[0]} channels seem taken as the fan-in, not all {'·'.join(map(str, u))} = "
           f"{prod(u):,} flattened values", lambda: sub.run(flat, u[:1]))


def biases(sub: Subject) -> Iterator[Slip]:
    """The biases left out, or one bias for the whole layer."""
    layer, fig = sub.layer, sub.fig
    if not (sub.single and getattr(layer, "bias", False) and fig.values.get("params")):
        return
    yield "the biases seem to be left out", sub.variant(bias=False)
    per = "filter" if type(layer).family == "conv" else "output unit"

    def one_bias() -> Figures | None:
        bare = sub.run(layer.model_copy(update={"bias": False}))
        if bare is None:
            return None
        formula = bare.lines["params"].split(" = ")
        expr = formula[1] if len(formula) > 2 else str(bare.values["params"])
        params = bare.values["params"] + 1
        return Figures(fig.shape, {"params": params}, {"params": f"params = {expr} + 1 = {params:,}"})

    yield f"one bias for the whole layer instead of one per {per}", one_bias


def kernel_once(sub: Subject) -> Iterator[Slip]:
    """A square kernel counted as K, not K·K."""
    layer, kernel = sub.layer, getattr(sub.layer, "kernel_size", None)
    if sub.single and isinstance(kernel, int) and kernel > 1 and len(sub.x) == 3:
        yield (f"the kernel seems counted as {kernel}, not {kernel}·{kernel}",
               lambda: _params_only(sub.run(layer.model_copy(update={"kernel_size": [kernel, 1]}))))


# --- the sliding window -----------------------------------------------------------------------------------------


def padding(sub: Subject) -> Iterator[Slip]:
    """Padding ignored, or counted on one side only."""
    layer, x = sub.layer, sub.x
    if not (sub.has("padding") and _has_padding(getattr(layer, "padding", 0))):
        return
    yield f"the padding {_padding_text(layer)} seems to be ignored", sub.variant(padding=0)
    p = getattr(layer, "padding", 0)
    if isinstance(p, int) and len(x) > 1:
        yield "the padding seems counted on one side only (P, not 2P)", sub.variant(padding=[[0, p]] * (len(x) - 1))


def same_padding(sub: Subject) -> Iterator[Slip]:
    """'same' padding assumed where the spec has none."""
    layer = sub.layer
    if sub.has("padding") and sub.has("kernel_size") and not _has_padding(getattr(layer, "padding", 0)):
        yield "'same' padding seems assumed, but the spec has none", sub.variant(padding="same")


def stride(sub: Subject) -> Iterator[Slip]:
    """The stride ignored, or applied twice."""
    value = getattr(sub.layer, "stride", None)
    if sub.has("stride") and value is None:
        value = getattr(sub.layer, "kernel_size", None)
    if value is not None and _square(value) is not None:
        yield f"the stride {_dims_text(value)} seems to be ignored", sub.variant(stride=1)
        yield f"the stride {_dims_text(value)} seems applied twice", sub.variant(stride=_square(value))


def ceil_mode(sub: Subject) -> Iterator[Slip]:
    """Floor for ceil or ceil for floor, in a layer with a ``ceil_mode``."""
    if sub.has("ceil_mode"):
        ceil = bool(getattr(sub.layer, "ceil_mode", False))
        yield ("floor seems used instead of ceil (the spec pools in ceil mode)" if ceil else
               "ceil seems used instead of floor"), sub.variant(ceil_mode=not ceil)


def ceil_for_floor(sub: Subject) -> Iterator[Slip]:
    """Ceil for floor in a layer that always floors (a convolution)."""
    if sub.has("kernel_size") and not sub.has("ceil_mode") and len(sub.x) > 1:
        yield "ceil seems used instead of floor", lambda: _conv_ceil(sub.eng, sub.layer, sub.x)


def plus_one(sub: Subject) -> Iterator[Slip]:
    """The + 1 of the output-size formula forgotten."""
    if " + 1" in sub.fig.lines.get("shape", ""):
        yield "the + 1 of ⌊(W + 2P − K) / S⌋ + 1 seems forgotten", lambda: _minus_one(sub.eng, sub.fig)


def dilation(sub: Subject) -> Iterator[Slip]:
    """The dilation ignored."""
    if any(v != 1 for v in _as_list(getattr(sub.layer, "dilation", 1))):
        yield "the dilation seems ignored", sub.variant(dilation=1)


def groups(sub: Subject) -> Iterator[Slip]:
    """Groups ignored: a full convolution over all input channels."""
    if getattr(sub.layer, "groups", 1) != 1:
        yield (f"the groups seem ignored: counted as a full convolution over all {sub.x[0]} input channels",
               sub.variant(groups=1))


# --- pooling and sizes ------------------------------------------------------------------------------------------


def pool_params(sub: Subject) -> Iterator[Slip]:
    """Parameters given to a pooling layer: a bias per channel, a convolution's weights, LeNet-5's subsampling."""
    layer, x, fig = sub.layer, sub.x, sub.fig
    kernel = getattr(layer, "kernel_size", None)
    if not sub.single or fig.values.get("params") or len(x) < 2 or kernel is None:
        return
    c = x[0]
    yield (f"a bias per channel seems counted, but pooling learns nothing ({c} channels)",
           lambda: Figures(fig.shape, {"params": c}, {"params": f"params = {c}"}))
    window = {"kernel_size": kernel, "stride": getattr(layer, "stride", None) or kernel,
              "padding": getattr(layer, "padding", 0)}
    for how, extra in (("a convolution's", {}), ("a depthwise convolution's", {"groups": "depthwise"})):
        conv = REGISTRY["conv"].model_validate({"type": "conv", "out_channels": c, **window, **extra})
        yield (f"the pooling window seems counted as {how} weights; pooling has no parameters",
               functools.partial(sub.run, conv))
    trainable = REGISTRY["subsample"].model_validate({"type": "subsample", **window})
    yield ("pooling seems counted as LeNet-5's trainable subsampling (a coefficient and a bias per channel)",
           functools.partial(sub.run, trainable))


def sizes(sub: Subject) -> Iterator[Slip]:
    """Activation sizes: the input's size instead of the output's, or the depth left out."""
    x, fig = sub.x, sub.fig
    if not sub.single:
        return
    yield "that is the size of the layer's input, not of its output", lambda: sub.eng.shape_only(x, "")
    if len(fig.shape) > 1 and fig.shape[0] > 1:
        yield (f"the depth {fig.shape[0]} seems left out of the size",
               lambda: sub.eng.shape_only((1, *fig.shape[1:]), ""))


#: Which slips each registry family can make, in the order they are tried. A family not listed here gets
#: :data:`_EVERY` slip, each still checking that the layer has what it is about.
CATALOGUE: dict[str, tuple[Slips, ...]] = {
    "conv": (input_depth, biases, kernel_once, padding, same_padding, stride, ceil_for_floor, plus_one, dilation,
             groups, sizes),
    "fc": (input_depth, flattened_fan_in, biases, sizes),
    "pool": (input_depth, padding, stride, ceil_mode, plus_one, dilation, pool_params, sizes),
    "norm": (input_depth, sizes),
    "act": (input_depth, sizes),
    "maxout": (input_depth, plus_one, sizes),
    "reshape": (padding, plus_one, groups, sizes),
    "upsample": (padding, stride, plus_one, sizes),
    "softmax": (sizes,),
    "dropout": (sizes,),
    "flatten": (sizes,),
    "identity": (sizes,),
    "merge": (sizes,),
    "attention": (biases, sizes),
    "opaque": (sizes,),  # measured, not computed: only a wrong size can be told
}
_EVERY: tuple[Slips, ...] = (input_depth, flattened_fan_in, biases, kernel_once, padding, same_padding, stride,
                             ceil_mode, ceil_for_floor, plus_one, dilation, groups, pool_params, sizes)


def slips(eng: Engine, unit: Unit, fig: Figures, carried: tuple[int, str, Shape] | None) -> Iterator[Slip]:
    """The catalogue's slips for ``unit``, most telling first: a wrong shape carried over from an earlier row, then
    the slips of the layer's family."""
    if unit.role in ("total", "act", "input") or unit.node is None:
        return
    node = unit.node
    layer = node.layer if unit.role == "layer" else node.layer.model_copy(update={"activation": None})
    sub = Subject(eng, node, layer, eng.shapes[node.inputs[0]], fig)
    if carried is not None and sub.single:
        row, text, shape = carried
        yield (f"carried over from row {row}'s shape {text} (itself wrong): right for that input",
               lambda: sub.run(x=shape))
    for make in CATALOGUE.get(type(layer).family, _EVERY):
        yield from make(sub)


def diagnose(eng: Engine, unit: Unit, fig: Figures, g: Given, order: Order,
             carried: tuple[int, str, Shape] | None) -> str:
    """Name the slip that reproduces the written value, with its derivation (or '' when none does)."""
    kind = g.column.kind
    if kind == "shape" and g.shape is not None:
        orders = shape_orders(fig.shape, g.shape[0])
        if orders and order != "either":
            other = {"chw": "C×H×W (channels first)", "hwc": "H×W×C (cs231n)"}
            return (f"the right sizes in another order: written {other[next(iter(orders))]}, while the table "
                    f"reads {other[order]}")
    if kind == "weights" and g.number is not None and number_ok(fig.values["params"], g.number):
        return f"{g.text} = {_formula(fig.lines['params'])}: the biases seem counted as weights"
    if kind == "macs" and g.number is not None and (
            number_ok(fig.values["flops"], g.number) or number_ok(2 * fig.values["macs"], g.number)):
        return (f"that is a FLOPs count (2 per multiply-add), not MACs: {fig.lines['flops']}"
                if number_ok(fig.values["flops"], g.number) else
                f"2 per multiply-add counted: 2·{fig.values['macs']:,} = {2 * fig.values['macs']:,} (FLOPs "
                "without the bias additions), not MACs")
    if kind == "flops" and g.number is not None:
        if number_ok(fig.values["macs"], g.number):
            return f"that is the MACs count; FLOPs count 2 per multiply-add: {fig.lines['flops']}"
        if fig.values["macs"] and number_ok(2 * fig.values["macs"], g.number):
            return (f"2·MACs = {2 * fig.values['macs']:,}: the bias additions (and the activation) seem left out "
                    f"of the FLOPs")
    if kind == "bytes" and g.number is not None and number_ok(fig.values["activations"], g.number):
        return f"that is the number of values; each takes {eng.bytes_per} bytes ({eng.report.dtype})"
    for sentence, make in slips(eng, unit, fig, carried):
        got = make()
        if got is None:
            continue
        if kind == "shape" and g.shape is not None:
            if got.shape == fig.shape or not shape_orders(got.shape, g.shape[0]):
                continue
            return f"{sentence}: {got.lines.get('shape') or g.text}"
        if kind not in got.values or g.number is None or got.values[kind] == fig.values.get(kind):
            continue
        if number_ok(got.values[kind], g.number):
            line = got.lines.get(kind, "")
            formula = _formula(line) if line else f"{got.values[kind]:,}"
            return f"{g.text} = {formula}: {sentence}" if formula != g.text else f"{g.text}: {sentence}"
    if kind == "params" and g.number is not None and fig.values["weights"] != fig.values["params"] \
            and number_ok(fig.values["weights"], g.number):
        return f"{g.text} = {fig.values['weights']:,} weights: the biases seem to be left out"
    return ""


# --- helpers ----------------------------------------------------------------------------------------------------


def _has_padding(p: Any) -> bool:
    if isinstance(p, str):
        return p.startswith("same")
    if isinstance(p, int):
        return p > 0
    if isinstance(p, list):
        return any(_has_padding(v) for v in p)
    return any(v > 0 for v in (*getattr(p, "before", ()), *getattr(p, "after", ())))


def _square(value: Any) -> Any:
    if isinstance(value, int) and value > 1:
        return value * value
    if isinstance(value, list) and any(v > 1 for v in value):
        return [v * v for v in value]
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _dims_text(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, list) else str(value)


def _padding_text(layer: Layer) -> str:
    p = getattr(layer, "padding", 0)
    return f"'{p}'" if isinstance(p, str) else str(p) if isinstance(p, int) else str(p).replace(" ", "")


def _params_only(fig: Figures | None) -> Figures | None:
    if fig is None:
        return None
    keep = ("params", "weights")
    return Figures(fig.shape, {k: fig.values[k] for k in keep}, {k: fig.lines[k] for k in keep})


def _conv_ceil(eng: Engine, layer: Layer, x: Shape) -> Figures | None:
    """A convolution's output size with ⌈⌉ instead of ⌊⌋: the engine's sliding-window rule in ceil mode."""
    def get(name: str, default: Any) -> Any:
        return traced(getattr(layer, name, default))

    try:
        sl = slide(tuple(Traced(v) for v in x[1:]), get("kernel_size", 1), get("stride", 1), get("padding", 0),
                   get("dilation", 1), ceil_mode=True)
    except CnncalcError:
        return None
    names = dim_names(len(sl.out) + 1)[1:]  # the labels --explain uses (L; H, W; D, H, W)
    line = "; ".join(f"{n}_out = {v.expr} = {int(v)}" if isinstance(v, Traced) else f"{n}_out = {v}"
                     for n, v in zip(names, sl.out, strict=True))
    given = getattr(layer, "out_channels", "same")
    out_channels = x[0] if given == "same" else int(given)  # ``out_channels: same`` keeps the input's channels
    return eng.shape_only((out_channels, *(int(v) for v in sl.out)), line)


def _minus_one(eng: Engine, fig: Figures) -> Figures | None:
    """The output size without the + 1 of ⌊(W + 2P − K) / S⌋ + 1: the engine's own formula, its last term cut."""
    parts, dims = [], list(fig.shape)
    for i, text in enumerate(fig.lines["shape"].split("; ")):
        label, formula, _ = [*text.split(" = "), "", ""][:3]
        if not formula.endswith(" + 1"):
            continue
        index = i + 1 if i + 1 < len(dims) else i
        dims[index] -= 1
        parts.append(f"{label} = {formula[:-4]} = {dims[index]}")
    return eng.shape_only(tuple(dims), "; ".join(parts)) if parts else None


def _formula(line: str) -> str:
    """The formula of a derivation line ``label = formula = value`` (the value when there is no formula)."""
    parts = line.split(" = ")
    return parts[1] if len(parts) > 2 else parts[-1]
