"""The spec format: a network's header, its flat list of layers, and its ``expect:`` data.

Layers are validated in two steps (as STYLE.md §7.2 argues): the ``type`` picks a class from the registry, then
that class alone validates the entry. A typo in ``type`` gets a did-you-mean, and a bad field gets one precise
message instead of one error per member of a union.
"""


import re
from typing import Annotated, Any, Literal, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cnncalc.engine.layers.base import Layer, PosInt
from cnncalc.errors import SpecError
from cnncalc.model import Network, Shape
from cnncalc.spec.expand import MAX_LAYERS, BlockDef, expand, line_of, substitute

__all__ = ["MAX_LAYERS", "Expect", "Header", "LayerExpect", "build", "parse_dims", "parse_shape"]

_FIGURE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([KMGT]i?)?\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def parse_figure(text: str) -> tuple[float, float]:
    """A published figure ``"138M"`` / ``"2.7Ki"`` / ``"1.2e6"`` → (value, half-width of its last digit).

    ``K, M, G, T`` are powers of 1000; ``Ki, Mi, Gi, Ti`` powers of 1024 (GoogLeNet's "2.7K" params are Ki).
    """
    m = _FIGURE.match(text.replace(",", ""))
    if not m:
        raise ValueError(f"{text!r} is not a number like 138357544, '138M', '2.7Ki' or '1.2e6'")
    digits, unit = m.group(1), (m.group(2) or "").lower()
    scale = _SCALE[unit]
    mantissa = digits.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(digits.lower().split("e")[1]) if "e" in digits.lower() else 0
    return float(digits) * scale, 0.5 * 10.0 ** (exponent - decimals) * scale


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
    if isinstance(text, str):
        parts = re.split(r"\s*[x×,]\s*", text.strip().strip("[]()"))
        if not all(p.isdigit() for p in parts):
            raise SpecError(f"shape {text!r} is not like 3x224x224")
        dims = [int(p) for p in parts]
    else:
        dims = list(text)
    if not dims or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in dims):
        raise SpecError(f"shape {text!r} needs positive sizes, channels first")
    if layout == "hwc" and len(dims) > 1:
        dims = [dims[-1], *dims[:-1]]
    return tuple(dims)


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
        if isinstance(value, str):
            try:
                return cast(list[int], list(parse_dims(value)))
            except SpecError:
                raise ValueError("needs positive sizes, channels first, like 3x224x224") from None
        return value


def _model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last field of ``loc`` (to suggest that model's field names)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, str) and isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        while get_origin(current) is not None or isinstance(current, type(int | None)):
            args = [a for a in get_args(current) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            current = models[0] if models else args[-1] if args else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _data_at(data: Any, loc: tuple[Any, ...]) -> Any:
    """The mapping or list that holds the last part of ``loc`` (for its line numbers)."""
    for part in loc[:-1]:
        in_dict = isinstance(data, dict) and part in data
        if in_dict or (isinstance(data, list) and isinstance(part, int) and part < len(data)):
            data = data[part]
    return data


def _is_field(part: Any) -> bool:
    """Pydantic adds union-member tags ('constrained-int', 'list[...]', 'PadSides') to error locations: drop them."""
    return isinstance(part, int) or (isinstance(part, str) and part.isidentifier() and not part[:1].isupper())


def explain(err: ValidationError, data: Any, model: type[BaseModel]) -> tuple[str, int | None]:
    """The most useful single message, and its source line, out of a pydantic error list."""
    import difflib

    errors = err.errors(include_url=False, include_context=True, include_input=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in first["loc"] if _is_field(p))
    holder = _data_at(data, loc)
    line = line_of(holder, loc[-1] if loc else None) or line_of(data)
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    where = path.rsplit(".", 1)[0] + ": " if "." in path else (path.split("[")[0] + ": " if "[" in path else "")
    name = str(loc[-1]) if loc else ""
    if first["type"] == "extra_forbidden":
        owner = _model_at(model, loc)
        fields = [f for f in (owner.model_fields if owner else {}) if f != "type"]
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        is_layer = owner is not None and issubclass(owner, Layer) and isinstance(data, dict)
        what = str(data.get("type")) if is_layer else "a spec" if owner is Header else getattr(owner, "__name__", "it")
        takes = f"; {what} takes: {', '.join(fields)}" if fields and not close else ""
        return f"{where}unknown field '{name}'{hint}{takes}", line
    if first["type"] == "missing":
        return f"{where}missing required field '{name}'", line_of(holder) or line
    value = None
    if isinstance(holder, dict) and loc:
        value = holder.get(loc[-1])
    elif isinstance(holder, list) and loc and isinstance(loc[-1], int) and loc[-1] < len(holder):
        value = holder[loc[-1]]
    same = [e for e in errors if tuple(p for p in e["loc"] if _is_field(p)) == loc]
    literal = next((e for e in same if e["type"] == "literal_error"), None)
    specific = next((e for e in same if not e["type"].endswith("_type") and e["type"] != "literal_error"), None)
    best = (literal if isinstance(value, str) and literal else None) or specific or literal or first
    msg = best["msg"].removeprefix("Value error, ")
    if best["type"] == "literal_error" and isinstance(value, str):
        close = difflib.get_close_matches(value, re.findall(r"'([^']*)'", msg), n=1)
        if close:
            msg += f" (did you mean '{close[0]}'?)"
    shown = f" {value!r}" if value is not None and not isinstance(value, dict | list) else ""
    return f"{path or 'value'}:{shown} {msg[0].lower()}{msg[1:]}", line


def validate_layer(
    cls: type[Layer], entry: dict[str, Any], kind: str, graph_keys: set[str], *, file: str | None, label: str
) -> Layer:
    """Validate one layer entry with its registered class (graph keys such as ``repeat`` removed first)."""
    data = {k: v for k, v in entry.items() if k not in graph_keys or k == "name"}
    data["type"] = kind
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        msg, line = explain(err, entry, cls)
        raise SpecError(msg, file=file, line=line or line_of(entry), layer=label) from None


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
        msg, line = explain(err, data, Header)
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
