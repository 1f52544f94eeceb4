"""``cnncalc check``: a person's table of shapes and counts, checked cell by cell against the analysis.

Every cell gets ✓ or ✗ with the correct value and its derivation (the engine's own formula, from
:mod:`cnncalc.explain`). A wrong cell is compared with a catalogue of common mistakes, each computed by re-running
the engine on a deliberately wrong variant of the layer (depth left out, bias left out, padding ignored, …), so
the message can say which slip reproduces the student's number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any, Literal

from cnncalc.errors import CnncalcError, SpecError
from cnncalc.explain import explain_node
from cnncalc.graph import Context
from cnncalc.layers.base import Shape, fmt_shape
from cnncalc.report import LayerRow, Report
from cnncalc.spec import Network, parse_figure
from cnncalc.structure import Node

Kind = Literal["shape", "activations", "params", "weights", "macs", "flops", "receptive_field"]
Layout = Literal["auto", "chw", "hwc"]

#: Header words → what the column holds (matched on the lower-cased header with punctuation removed).
_HEADERS: list[tuple[str, Kind | Literal["name"]]] = [
    ("receptive", "receptive_field"), ("rf", "receptive_field"),
    ("shape", "shape"), ("volume", "shape"), ("dimension", "shape"), ("output", "shape"),
    ("activation size", "activations"), ("size", "activations"), ("memory", "activations"),
    ("activations", "activations"), ("neurons", "activations"), ("values", "activations"),
    ("param", "params"), ("weights", "weights"),
    ("mac", "macs"), ("multiply", "macs"), ("mult", "macs"), ("madd", "macs"),
    ("flop", "flops"),
    ("layer", "name"), ("name", "name"),
]
#: Layer types a hand-written table usually leaves out when it lists only the "real" layers.
_QUIET = {
    "relu", "relu6", "sigmoid", "tanh", "silu", "swish", "selu", "elu", "gelu", "leaky_relu", "prelu", "hardswish",
    "hardsigmoid", "dropout", "dropout1d", "dropout2d", "dropout3d", "identity", "flatten", "batchnorm", "bn",
    "batchnorm1d", "batchnorm2d", "batchnorm3d", "lrn", "local_response_norm", "softmax", "log_softmax",
}


@dataclass(frozen=True, slots=True)
class Cell:
    """One checked cell: where, what was written, the right value, and why."""

    row: int
    layer: str
    column: str
    kind: str
    given: str
    correct: str
    ok: bool
    derivation: str = ""
    mistake: str = ""


@dataclass(frozen=True)
class CheckResult:
    """All cells, and what was assumed to read the table."""

    table: str
    cells: tuple[Cell, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def wrong(self) -> int:
        """How many cells are wrong."""
        return sum(not c.ok for c in self.cells)


# --- reading tables ------------------------------------------------------------------------------------------


def read_table(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a CSV or GitHub Markdown table."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read the table: {err}", file=str(p)) from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("|"):
        rows = [
            [cell.strip() for cell in line.strip("|").split("|")]
            for line in lines
            if line.startswith("|") and not re.fullmatch(r"\|?[\s:|-]+\|?", line)
        ]
    else:
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    if len(rows) < 2:
        raise SpecError("the table needs a header row and at least one row", file=str(p))
    return rows[0], rows[1:]


def classify(header: str) -> Kind | Literal["name"] | None:
    """What a column holds, from its header (tolerant: '# parameters', 'Activation Size', 'MACs', …)."""
    words = re.sub(r"[^a-z0-9 ]+", " ", header.lower()).strip()
    for key, kind in _HEADERS:
        if (" " in key and key in words) or any(word.startswith(key) for word in words.split()):
            return kind
    return None


def number(text: str) -> tuple[float, float] | None:
    """A written number and its precision: ``3,072`` exact, ``35K`` ± 0.5K, ``1.2e6`` ± 0.05e6; None if blank."""
    t = text.strip().replace(" ", "")
    if t in {"", "-", "—", "–", "?", "n/a"}:
        return None
    try:
        value, half = parse_figure(t)
    except ValueError:
        raise CnncalcError(f"'{text}' is not a number like 3,072, 35K, 138M or 1.2e6") from None
    if re.fullmatch(r"[\d,]+", t):
        half = 0.0
    return value, half


def dims(text: str) -> tuple[int, ...] | None:
    """The integers of a written shape: ``(28,28,8)``, ``28x28x8``, ``[8, 28, 28]``, ``4096``."""
    found = re.findall(r"\d+", text)
    return tuple(int(d) for d in found) if found else None


# --- mistakes ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    net: Network
    report: Report
    shapes: dict[str, Shape]
    input_of: dict[str, Shape]
    types: dict[str, str]


def _context(net: Network, report: Report) -> _Context:
    ctx = Context.of(net, report)
    return _Context(net, report, ctx.shapes, ctx.input_of, ctx.types)


@dataclass(frozen=True, slots=True)
class _Variant:
    values: dict[str, int]
    shape: Shape
    lines: dict[str, str]


def _needed(ctx: _Context, node: Node, shapes: dict[str, Shape] | None = None) -> dict[str, Shape]:
    """The shapes of a node's inputs and linked nodes."""
    source = ctx.shapes if shapes is None else shapes
    return {n: source[n] for n in (*node.inputs, *(linked for _, linked in node.links))}


def _variant(ctx: _Context, node: Node, *, update: dict[str, Any] | None = None,
             reshape: Callable[[Shape], Shape] | None = None) -> _Variant | None:
    """Re-run the engine on a changed layer or input; the figures it gives and their derivation lines."""
    fields = type(node.layer).model_fields
    if update and not all(k in fields for k in update):
        return None
    layer = node.layer.model_copy(update=update or {})
    shapes = dict(ctx.shapes)
    if reshape is not None:
        shapes[node.inputs[0]] = reshape(shapes[node.inputs[0]])
    changed = Node(node.name, layer, node.inputs, node.line, node.groups, node.links)
    try:
        exp = explain_node(changed, _needed(ctx, node, shapes), ctx.input_of, None, ctx.types)
    except CnncalcError:
        return None
    values = {line.label: line.value for line in exp.lines}
    values["activations"] = prod(exp.output)
    return _Variant(values, exp.output, {line.label: line.text() for line in exp.lines})


_LABEL = {"params": "params", "macs": "MACs", "flops": "FLOPs"}


def _mistakes(ctx: _Context, node: Node, row: LayerRow, kind: Kind, given: tuple[int, ...] | float,
              layout: str) -> str:
    """Name the common slip that reproduces ``given``, with its derivation, or '' when none does."""
    x = ctx.shapes[node.inputs[0]]
    candidates: list[tuple[str, dict[str, Any] | None, Callable[[Shape], Shape] | None]] = [
        (f"the input depth {x[0]} seems to be left out", None, lambda s: (1, *s[1:]) if len(s) > 1 else s),
        ("the bias seems to be left out", {"bias": False}, None),
        ("the padding seems to be ignored", {"padding": 0}, None),
        ("ceil seems used instead of floor", {"ceil_mode": True}, None),
        ("the stride seems applied twice", {"stride": _square(getattr(node.layer, "stride", None))}, None),
        ("the flatten seems forgotten: only the channels were taken as inputs", {"flatten": False},
         lambda s: s[:1]),
    ]
    for why, update, reshape in candidates:
        if update is not None and any(v is None for v in update.values()):
            continue
        got = _variant(ctx, node, update=update, reshape=reshape)
        if got is None:
            continue
        if kind == "shape" and isinstance(given, tuple):
            if _shape_matches(got.shape, given, layout) and tuple(got.shape) != row.output_shape:
                dims_text = "; ".join(v for k, v in got.lines.items() if k.endswith("_out"))
                return f"{why}: {dims_text or fmt_shape(got.shape)}"
            continue
        key = _LABEL.get(kind, kind)
        if kind == "weights":
            value = got.values.get("params", 0) - (0 if update == {"bias": False} else row.biases)
        else:
            value = got.values.get(key, 0)
        if isinstance(given, float | int) and value == given and value != _actual(row, kind):
            return f"{why}: {got.lines.get(key, f'{value:,}')}"
    return _simple_slips(row, kind, given, layout, x)


def _square(value: Any) -> Any:
    if isinstance(value, int) and value > 1:
        return value * value
    if isinstance(value, list) and any(v > 1 for v in value):
        return [v * v for v in value]
    return None


def _simple_slips(row: LayerRow, kind: Kind, given: tuple[int, ...] | float, layout: str, x: Shape) -> str:
    """Slips that need no re-run: orders, off-by-one, per-layer bias, FLOPs for MACs."""
    shape = row.output_shape
    if kind == "shape" and isinstance(given, tuple):
        other = "chw" if layout == "hwc" else "hwc"
        if _shape_matches(shape, given, other):
            return "H·W·C and C·H·W seem swapped"
        if len(given) == len(shape) and _shape_matches(tuple(d + 1 for d in shape[1:]) + shape[:1], given, "hwc"):
            return "the output size seems off by one (⌊(W − F + 2P)/S⌋ + 1 without the floor, or an extra + 1)"
        if _shape_matches(shape[:1] + tuple(d - 1 for d in shape[1:]), given, layout):
            return "the + 1 of (W − F + 2P)/S + 1 seems forgotten"
        return ""
    if not isinstance(given, int | float):
        return ""
    if kind == "params" and row.biases and given == row.params - row.biases + 1:
        return "one bias per layer instead of one per output unit"
    if kind == "params" and row.params == 0 and given:
        return f"{row.type} has no parameters (it only compares or averages)"
    if kind == "macs" and given == 2 * row.macs:
        return "that is the FLOPs count (2 per multiply-add), not MACs"
    if kind == "activations" and len(shape) > 1 and given == prod(shape[1:]):
        return "the channels seem left out of the activation size"
    if kind == "activations" and given == prod(x):
        return "that is the size of the layer's input, not its output"
    return ""


def _actual(row: LayerRow, kind: Kind) -> int:
    return {
        "params": row.params, "weights": row.params - row.biases, "macs": row.macs, "flops": row.flops,
        "activations": row.activations,
    }.get(kind, 0)


def _shape_matches(shape: Shape, given: tuple[int, ...], layout: str) -> bool:
    """Whether a written shape is ``shape`` in the table's layout (channels first, or H×W×C)."""
    hwc = (*shape[1:], shape[0]) if len(shape) > 1 else shape
    return (layout in ("chw", "auto") and tuple(given) == tuple(shape)) or (
        layout in ("hwc", "auto") and tuple(given) == tuple(hwc)
    )


# --- checking ------------------------------------------------------------------------------------------------


def _match_rows(report: Report, names: list[str] | None, count: int, notes: list[str]) -> list[LayerRow | None]:
    """Which report row each table row means: by name, in order, or in order of the 'real' layers."""
    layers = list(report.layers)
    if names is not None:
        by_name = {r.name.lower(): r for r in layers} | {r.name.rsplit("/", 1)[-1].lower(): r for r in layers}
        out: list[LayerRow | None] = []
        for i, name in enumerate(names):
            key = name.strip().lower()
            if key in {"input", "data", "image"}:
                out.append(None)
                continue
            if key not in by_name:
                raise CnncalcError(f"row {i + 1}: no layer named '{name}' (the spec's names: "
                                   f"{', '.join(r.name for r in layers[:8])}{', …' if len(layers) > 8 else ''})")
            out.append(by_name[key])
        return out
    if count == len(layers):
        return list(layers)
    main = [r for r in layers if r.type not in _QUIET]
    if count == len(main):
        notes.append(f"the table's {count} rows were matched to the spec's {count} layers that are not "
                     "activations, dropout, flatten or normalisation")
        return list(main)
    if count == len(main) + 1 or count == len(layers) + 1:
        notes.append("the first row was read as the input")
        return [None, *(main if count == len(main) + 1 else layers)]
    raise CnncalcError(
        f"the table has {count} rows but the spec has {len(layers)} layers ({len(main)} without activations, "
        "dropout, flatten and normalisation); add a 'layer' column with the spec's names to match rows by name"
    )


def check(net: Network, report: Report, table: str | Path, layout: Layout = "auto") -> CheckResult:
    """Check every cell of ``table`` against ``report`` (the analysis of ``net``)."""
    headers, rows = read_table(table)
    kinds = [classify(h) for h in headers]
    if not any(k not in (None, "name") for k in kinds):
        raise SpecError(f"no column to check among {headers}; expected headers like 'Activation shape', "
                        "'# parameters', 'MACs'", file=str(table))
    notes: list[str] = []
    ignored = [h for h, k in zip(headers, kinds, strict=True) if k is None]
    if ignored:
        notes.append(f"columns not checked: {', '.join(ignored)}")
    name_col = kinds.index("name") if "name" in kinds else None
    names = [r[name_col] if name_col is not None and name_col < len(r) else "" for r in rows] if name_col is not None \
        else None
    matched = _match_rows(report, names, len(rows), notes)
    ctx = _context(net, report)
    nodes = {n.name: n for n in net.nodes}
    shape_cols = [i for i, k in enumerate(kinds) if k == "shape"]
    order: str = layout
    if layout == "auto":
        order = _detect_layout(rows, shape_cols, matched, report)
        if order == "hwc":
            notes.append("shapes read as H×W×C (cs231n style); use --layout chw to read them channels first")
    cells = []
    for i, (values, row) in enumerate(zip(rows, matched, strict=True)):
        for col, kind in enumerate(kinds):
            if kind in (None, "name") or col >= len(values) or not values[col].strip():
                continue
            cells.append(_cell(ctx, nodes, i + 1, row, headers[col], kind, values[col], order))  # type: ignore[arg-type]
    return CheckResult(str(table), tuple(c for c in cells if c is not None), tuple(notes))


def _detect_layout(rows: list[list[str]], cols: list[int], matched: list[LayerRow | None], report: Report) -> str:
    votes = {"chw": 0, "hwc": 0}
    for values, row in zip(rows, matched, strict=True):
        shape = report.input if row is None else row.output_shape
        for col in cols:
            given = dims(values[col]) if col < len(values) else None
            if given is None or len(shape) < 2 or len(set(shape)) == 1:
                continue
            votes["chw"] += tuple(given) == tuple(shape)
            votes["hwc"] += tuple(given) == (*shape[1:], shape[0])
    if votes["hwc"] == votes["chw"]:
        return "auto"  # nothing decides it: accept either order cell by cell
    return "hwc" if votes["hwc"] > votes["chw"] else "chw"


def _cell(ctx: _Context, nodes: dict[str, Node], index: int, row: LayerRow | None, column: str, kind: Kind,
          text: str, layout: str) -> Cell | None:
    name = "input" if row is None else row.name
    shape = ctx.report.input if row is None else row.output_shape
    shown = (*shape[1:], shape[0]) if layout == "hwc" and len(shape) > 1 else shape
    if row is None:
        if kind != "shape":
            return None
        given_dims = dims(text)
        ok = given_dims is not None and _shape_matches(shape, given_dims, layout)
        return Cell(index, name, column, kind, text, fmt_shape(shown), ok, "the network's input")
    node = nodes[row.name]
    exp = explain_node(node, _needed(ctx, node), ctx.input_of, None, ctx.types)
    lines = {line.label: line.text() for line in exp.lines}
    if kind == "shape":
        given_dims = dims(text)
        ok = given_dims is not None and _shape_matches(shape, given_dims, layout)
        how = "; ".join(v for k, v in lines.items() if k.endswith("_out"))
        mistake = "" if ok or given_dims is None else _mistakes(ctx, node, row, kind, given_dims, layout)
        return Cell(index, name, column, kind, text, fmt_shape(shown), ok, how, mistake)
    if kind == "receptive_field":
        given_dims = dims(text)
        rf = row.receptive_field
        correct = "all" if rf is None else "x".join(str(v) for v in rf)
        ok = rf is not None and given_dims is not None and (
            list(given_dims) == list(rf) or (len(given_dims) == 1 and all(v == given_dims[0] for v in rf))
        )
        return Cell(index, name, column, kind, text, correct, ok, "; ".join(v for k, v in lines.items()
                                                                           if k.startswith("RF_")))
    parsed = number(text)
    if parsed is None:
        return None
    value, half = parsed
    actual = _actual(row, kind) if kind != "activations" else prod(shape)
    ok = abs(actual - value) <= half + abs(value) * 1e-12
    if kind == "activations":
        how = f"activations = {'·'.join(map(str, shape))} = {actual:,}" if len(shape) > 1 else ""
    elif kind == "weights":
        how = f"{lines.get('params', '')} − {row.biases} biases = {actual:,}"
    else:
        how = lines.get(_LABEL[kind], f"{kind} = {actual:,}")
    given_value: float | int = int(value) if half == 0 else value
    mistake = "" if ok or half else _mistakes(ctx, node, row, kind, given_value, layout)
    return Cell(index, name, column, kind, text, f"{actual:,}", ok, how, mistake)
