"""The spec format: a network's header, its flat list of layers, and its ``expect:`` data.

Layers are validated in two steps (as STYLE.md §7.2 argues): the ``type`` picks a class from the registry, then
that class alone validates the entry. A typo in ``type`` gets a did-you-mean, and a bad field gets one precise
message instead of one error per member of a union.
"""


import re
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cnncalc.engine.layers.base import PosInt
from cnncalc.errors import SpecError
from cnncalc.model import MAX_DIM, Network, Shape, clip, magnitude
from cnncalc.spec.args import substitute
from cnncalc.spec.expand import MAX_LAYERS, BlockDef, expand
from cnncalc.spec.figures import parse_figure
from cnncalc.spec.loader import line_of
from cnncalc.spec.messages import describe_validation_error

__all__ = ["MAX_LAYERS", "Expect", "Header", "LayerExpect", "build", "parse_dims", "parse_shape"]

def _check_figure(value: int | str | None) -> int | str | None:
    if isinstance(value, str):
        parse_figure(value)
    return value


Figure = Annotated[int, Field(ge=0, strict=True)] | str


class LayerExpect(BaseModel):
    """Published figures for one layer, looked up by its name."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    output_shape: list[PosInt] | None = None
    params: Figure | None = None
    weights: Figure | None = None
    macs: Figure | None = None
    connections: Figure | None = None
    activations: Figure | None = None
    receptive_field: list[PosInt] | PosInt | None = None
    erratum: str | None = None

    _figures = field_validator("params", "weights", "macs", "connections", "activations")(_check_figure)


class Expect(BaseModel):
    """One source's figures: ints are exact, strings like ``"138M"`` hold at their stated precision."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    source: str
    note: str | None = None
    #: Why a figure of this source cannot be reproduced (a known, explained erratum).
    erratum: str | None = None
    #: Network arguments this source's figures assume (e.g. ``{aux: true}``); the spec's defaults otherwise.
    args: dict[str, Any] = {}
    #: The figures are another tool's, counted its way (``fvcore``, ``ptflops``, ... — see ``cnncalc conventions``):
    #: verify recounts under that convention. ``tool`` says which versions measured them.
    convention: str | None = None
    tool: str | None = None
    #: Lines the tool prints besides its total, verbatim (torchinfo's "Estimated Total Size (MB)": "280.66").
    printed: dict[str, str] = {}
    params: Figure | None = None
    trainable_params: Figure | None = None
    weights: Figure | None = None
    buffers: Figure | None = None
    macs: Figure | None = None
    flops: Figure | None = None
    connections: Figure | None = None
    activations: Figure | None = None
    output_shape: list[PosInt] | None = None
    layers: dict[str, LayerExpect] = {}

    _figures = field_validator(
        "params", "trainable_params", "weights", "buffers", "macs", "flops", "connections", "activations"
    )(_check_figure)


def parse_shape(text: str | list[int], *, layout: Literal["chw", "hwc"] = "chw") -> tuple[int, ...]:
    """``3x224x224`` (or ``224x224x3`` with ``layout="hwc"``, or a list) → a channels-first tuple."""
    dims, problem = _read_shape(text)
    if problem:
        raise SpecError(f"shape {clip(repr(text), 40)} {problem}")
    if layout == "hwc" and len(dims) > 1:
        dims = [dims[-1], *dims[:-1]]
    return tuple(dims)


def _read_shape(text: str | list[int]) -> tuple[list[int], str]:
    """The sizes of a shape, and what is wrong with it ('' when nothing)."""
    if isinstance(text, str):
        parts = re.split(r"\s*[x×,]\s*", text.strip().strip("[]()"))
        if not all(p.isascii() and p.isdigit() for p in parts):
            return [], "is not like 3x224x224"
        if any(len(p) > 13 for p in parts):
            return [], f"has a size over the limit of {MAX_DIM:,}"
        dims = [int(p) for p in parts]
    else:
        dims = list(text)
    if not dims or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in dims):
        return [], "needs positive sizes, channels first, like 3x224x224"
    if any(d > MAX_DIM for d in dims):
        return [], f"has a size of {magnitude(max(dims))}, over the limit of {MAX_DIM:,}"
    return dims, ""


#: A symbolic size: a name such as H, W or N (not containing the separator x).
_SYMBOL = re.compile(r"^[A-Za-wyzA-Z_][A-Za-wyzA-Z0-9_]*$")


def parse_dims(text: str | list[int | str], *, layout: Literal["chw", "hwc"] = "chw") -> tuple[int | str, ...]:
    """Like :func:`parse_shape`, but a size may be a symbol name (``3xHxW``): the analysis becomes symbolic."""
    raw = re.split(r"\s*[x×,]\s*", text.strip().strip("[]()")) if isinstance(text, str) else list(text)
    if not any(isinstance(p, str) and _SYMBOL.match(p) for p in raw):
        return parse_shape(text if isinstance(text, str) else cast(list[int], text), layout=layout)
    dims: list[int | str] = []
    for p in raw:
        if (isinstance(p, str) and _SYMBOL.match(p)) or (isinstance(p, int) and not isinstance(p, bool) and p >= 1):
            dims.append(p)
        elif isinstance(p, str) and p.isdigit() and int(p) >= 1:
            dims.append(int(p))
        else:
            raise SpecError(f"shape {text!r} needs positive sizes or symbol names (like 3xHxW), channels first")
    if layout == "hwc" and len(dims) > 1:
        dims = [dims[-1], *dims[:-1]]
    return tuple(dims)


class BlockSpec(BaseModel):
    """A reusable block under ``blocks:``: its arguments (with defaults; ``null`` = required) and its layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    description: str = ""
    args: dict[str, Any] = {}
    layers: list[Any] = Field(min_length=1)


class Header(BaseModel):
    """Everything in a spec but its expanded layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    #: How an error message names what this model validates.
    noun: ClassVar[str] = "a spec"

    name: str = "network"
    description: str = ""
    source: str | None = None
    notes: str | None = None
    input: list[PosInt] | str
    #: Network-level arguments (``$name`` in the layers), e.g. ``aux: false``; set with ``--set aux=true``.
    args: dict[str, Any] = {}
    blocks: dict[str, BlockSpec] = {}
    layers: list[Any] = Field(min_length=1)
    expect: list[Expect] = []

    @field_validator("input", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        """``[3, H, W]`` (symbolic sizes) is read as the text ``3xHxW``."""
        if isinstance(value, list) and any(isinstance(v, str) for v in value):
            return "x".join(map(str, value))
        return value

    @field_validator("input")
    @classmethod
    def _shape(cls, value: list[int] | str) -> list[int] | str:
        parts = re.split(r"\s*[x×,]\s*", value.strip().strip("[]()")) if isinstance(value, str) else []
        if any(_SYMBOL.match(p) for p in parts):
            try:
                return cast(list[int], list(parse_dims(cast(str, value))))
            except SpecError:
                raise ValueError("needs positive sizes or symbol names (like 3xHxW), channels first") from None
        dims, problem = _read_shape(value)
        if problem:
            raise ValueError(problem)
        return dims


def build(data: Any, file: str | None = None, args: dict[str, Any] | None = None) -> Network:
    """Validate parsed spec data (from YAML, JSON, a dict or the notation) into a :class:`Network`.

    ``args`` overrides the spec's own ``args:`` defaults (the CLI's ``--set name=value``).
    """
    if data is None:
        raise SpecError("the spec is empty; it needs 'input' and 'layers'", file=file)
    if not isinstance(data, dict):
        raise SpecError("a spec must be a mapping with 'input' and 'layers'", file=file, line=line_of(data))
    try:
        header = Header.model_validate(data)
    except ValidationError as err:
        msg, line = describe_validation_error(err, data, Header)
        raise SpecError(msg, file=file, line=line) from None
    raw_blocks = data.get("blocks") or {}
    blocks = {
        name: BlockDef(name, dict(spec.args), raw_blocks[name]["layers"], line_of(raw_blocks, name))
        for name, spec in header.blocks.items()
    }
    layers = data["layers"]
    values = dict(header.args)
    unknown = set(args or {}) - set(values)
    if unknown:
        known = ", ".join(values) or "none"
        raise SpecError(f"the spec has no argument {', '.join(sorted(unknown))} (its args: {known})", file=file)
    values.update(args or {})
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise SpecError(f"give a value for the argument {', '.join(missing)} (--set name=value)", file=file)
    if values:
        try:
            layers = substitute(layers, values)
        except SpecError as err:
            raise err.located(file=file) from None
    nodes, groups = expand(layers, blocks, file)
    return Network(
        name=header.name,
        input=cast(Shape, parse_dims(cast(list[int | str], header.input))),
        nodes=tuple(nodes),
        description=header.description,
        source=header.source,
        notes=header.notes,
        expect=tuple(header.expect),
        file=file,
        groups=tuple(groups),
    )
