"""The spec format: a network's header, its flat list of layers, and its ``expect:`` data.

Layers are validated in two steps (as STYLE.md §7.2 argues): the ``type`` picks a class from the registry, then
that class alone validates the entry. A typo in ``type`` gets a did-you-mean, and a bad field gets one precise
message instead of one error per member of a union.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cnncalc.errors import SpecError
from cnncalc.layers import REGISTRY, suggest
from cnncalc.layers.base import Layer, PosInt

#: A spec can never expand to more layers than this (``repeat: 10**9`` is an error, not a hang).
MAX_LAYERS = 100_000

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
    activations: Figure | None = None
    receptive_field: list[PosInt] | PosInt | None = None
    erratum: str | None = None

    _figures = field_validator("params", "weights", "macs", "activations")(_check_figure)


class Expect(BaseModel):
    """One source's figures: ints are exact, strings like ``"138M"`` hold at their stated precision."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    source: str
    note: str | None = None
    #: Why a figure of this source cannot be reproduced (a known, explained erratum).
    erratum: str | None = None
    params: Figure | None = None
    trainable_params: Figure | None = None
    weights: Figure | None = None
    buffers: Figure | None = None
    macs: Figure | None = None
    flops: Figure | None = None
    activations: Figure | None = None
    output_shape: list[PosInt] | None = None
    layers: dict[str, LayerExpect] = {}

    _figures = field_validator(
        "params", "trainable_params", "weights", "buffers", "macs", "flops", "activations"
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


class Header(BaseModel):
    """Everything in a spec but its layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = "network"
    description: str = ""
    source: str | None = None
    notes: str | None = None
    input: list[PosInt] | str
    layers: list[Any] = Field(min_length=1)
    expect: list[Expect] = []

    @field_validator("input")
    @classmethod
    def _shape(cls, value: list[int] | str) -> list[int] | str:
        if isinstance(value, str):
            return list(parse_shape(value))
        return value


@dataclass(frozen=True, slots=True)
class Node:
    """One layer of the expanded network, with its unique name and where it was written."""

    name: str
    layer: Layer
    line: int | None = None


@dataclass(frozen=True)
class Network:
    """A validated spec: the header fields, the expanded layers, and the file it came from."""

    name: str
    input: tuple[int, ...]
    nodes: tuple[Node, ...]
    description: str = ""
    source: str | None = None
    notes: str | None = None
    expect: tuple[Expect, ...] = ()
    file: str | None = None
    warnings: tuple[str, ...] = field(default=())


def _line(obj: Any, key: str | int | None = None) -> int | None:
    """The source line the loader attached to a mapping/list (or to one of its keys/items)."""
    lines = getattr(obj, "key_lines", None)
    if key is not None and lines and key in lines:
        return int(lines[key])
    line = getattr(obj, "line", None)
    return int(line) if line else None


def _explain(err: ValidationError, entry: dict[str, Any], cls: type[BaseModel]) -> tuple[str, str | None]:
    """The most useful single message (and optional field name) out of a pydantic error list."""
    import difflib

    errors = err.errors(include_url=False, include_context=True, include_input=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1), errors[0])
    loc = [str(part) for part in first["loc"]]
    field_name = loc[0] if loc else None
    if first["type"] == "extra_forbidden" and field_name:
        close = difflib.get_close_matches(field_name, list(cls.model_fields), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = ", ".join(f for f in cls.model_fields if f != "type")
        owner = entry.get("type", "this layer" if "type" in cls.model_fields else "a spec")
        return f"unknown field '{field_name}'{hint}; {owner} takes: {known}", field_name
    if first["type"] == "missing" and field_name:
        return f"missing required field '{field_name}'", field_name
    same = [e for e in errors if e["loc"] and str(e["loc"][0]) == field_name]
    best = next((e for e in same if not e["type"].endswith("_type") and e["type"] != "literal_error"), None)
    best = best or next((e for e in same if e["type"] == "literal_error"), None) or first
    value = entry.get(field_name) if field_name and isinstance(entry, dict) else None
    shown = f" {value!r}" if value is not None and len(repr(value)) < 60 else ""
    msg = best["msg"].removeprefix("Value error, ")
    if best["type"] == "literal_error" and isinstance(value, str):
        expected = re.findall(r"'([^']*)'", msg)
        close = difflib.get_close_matches(value, expected, n=1)
        if close:
            msg += f" (did you mean '{close[0]}'?)"
    path = ".".join(loc) if loc else "value"
    return f"{path}:{shown} {msg[0].lower()}{msg[1:]}".replace(": :", ":"), field_name


def _layer(entry: Any, index: int, file: str | None) -> Layer:
    """Validate one entry (a bare name or a mapping with ``type``) into its registered layer class."""
    where = f"#{index + 1}"
    if isinstance(entry, str):
        entry = {"type": entry}
    if not isinstance(entry, dict):
        raise SpecError(f"a layer must be a name like 'relu' or a mapping with 'type', got {entry!r:.60}", file=file)
    kind = entry.get("type")
    if not isinstance(kind, str):
        raise SpecError("layer has no 'type'", file=file, line=_line(entry), layer=str(entry.get("name", where)))
    cls = REGISTRY.get(kind) or REGISTRY.get(kind.lower())
    if cls is None:
        close = suggest(kind)
        raise SpecError(
            f"unknown layer type '{kind}'" + (f" (did you mean '{close}'?)" if close else ""),
            file=file,
            line=_line(entry, "type"),
            layer=str(entry.get("name", where)),
            hint=None if close else "`cnncalc schema` lists every type; `cnncalc layer --help` too",
        )
    data = dict(entry)
    data["type"] = kind.lower()
    data.pop("repeat", None)
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        msg, key = _explain(err, data, cls)
        raise SpecError(
            msg, file=file, line=_line(entry, key), layer=f"'{entry.get('name', where)}' ({kind})"
        ) from None


def _count(entry: Any) -> int:
    """Layers an entry expands to (without building them), so absurd repeats fail before any work."""
    if isinstance(entry, dict) and "layers" in entry and "type" not in entry:
        inner = entry["layers"] if isinstance(entry["layers"], list) else []
        return _repeat(entry) * sum(_count(e) for e in inner)
    return _repeat(entry) if isinstance(entry, dict) else 1


def _repeat(entry: dict[str, Any]) -> int:
    times = entry.get("repeat", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise SpecError(f"repeat must be a positive int, got {times!r}", line=_line(entry, "repeat"))
    return times


def expand(entries: list[Any], file: str | None = None) -> tuple[Node, ...]:
    """Validate and flatten layer entries, expanding ``repeat`` on layers and on ``{repeat, layers}`` groups.

    Names: a given name is kept (``name_1``…``name_N`` when repeated); others get ``type_k`` per type. Duplicate
    given names are an error.
    """
    try:
        total = sum(_count(e) for e in entries)
    except SpecError as err:
        raise err.located(file=file) from None
    if total > MAX_LAYERS:
        raise SpecError(
            f"the layers expand to {total:,} layers; the limit is {MAX_LAYERS:,} (check the repeat counts)",
            file=file,
        )
    raw: list[tuple[Layer, str | None, int | None]] = []

    def walk(items: list[Any], suffix: str) -> None:
        for index, entry in enumerate(items):
            if isinstance(entry, dict) and "type" not in entry and "layers" in entry:
                extra = set(entry) - {"layers", "repeat"}
                if extra or not isinstance(entry["layers"], list):
                    raise SpecError(
                        f"a repeat group takes only 'repeat' and a list of 'layers' (got {sorted(extra)})",
                        file=file, line=_line(entry),
                    )
                times = _repeat(entry)
                for r in range(times):
                    walk(entry["layers"], f"{suffix}_{r + 1}" if times > 1 else suffix)
                continue
            layer = _layer(entry, index, file)
            times = _repeat(entry) if isinstance(entry, dict) else 1
            line = _line(entry) or _line(items, index)
            for r in range(times):
                given = layer.name + suffix + (f"_{r + 1}" if times > 1 else "") if layer.name else None
                raw.append((layer, given, line))

    walk(entries, "")
    taken: dict[str, int | None] = {}
    for _, given, line in raw:
        if given is not None:
            if given in taken:
                where = f" (also line {taken[given]})" if taken[given] else ""
                raise SpecError(f"duplicate layer name '{given}'{where}", file=file, line=line, layer=given)
            taken[given] = line
    counters: dict[str, int] = {}
    nodes = []
    for layer, given, line in raw:
        name = given
        while name is None or (given is None and name in taken):
            counters[layer.type] = counters.get(layer.type, 0) + 1
            name = f"{layer.type}_{counters[layer.type]}"
        if given is None:
            taken[name] = line
        nodes.append(Node(name, layer, line))
    return tuple(nodes)


def build(data: Any, file: str | None = None) -> Network:
    """Validate parsed spec data (from YAML, JSON, a dict or the notation) into a :class:`Network`."""
    if not isinstance(data, dict):
        raise SpecError("a spec must be a mapping with 'input' and 'layers'", file=file, line=_line(data))
    try:
        header = Header.model_validate(data)
    except ValidationError as err:
        msg, key = _explain(err, data, Header)
        sub = data.get(key) if key else None
        line = _line(data, key)
        loc = err.errors()[0]["loc"]
        if key == "expect" and isinstance(sub, list) and len(loc) > 1 and isinstance(loc[1], int):
            line = _line(sub, loc[1]) or line
        raise SpecError(msg, file=file, line=line) from None
    shape = parse_shape(header.input)
    return Network(
        name=header.name,
        input=shape,
        nodes=expand(header.layers, file),
        description=header.description,
        source=header.source,
        notes=header.notes,
        expect=tuple(header.expect),
        file=file,
    )
