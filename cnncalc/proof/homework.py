"""``cnncalc check``: a person's table of shapes and counts, checked cell by cell against the analysis.

Every cell gets ✓ or ✗, the correct value and its derivation: the engine's own formula with the numbers
substituted, from engine.explain. For a wrong cell, a catalogue of common slips is tried. Each slip is the
engine re-run on a deliberately wrong variant of the layer or its input: the depth left out, the bias left out,
the padding ignored, ceil for floor, and so on. The first slip that reproduces the written number is named, with
its wrong derivation. No formula is written here a second time.

Reading a table:

- CSV (comma, semicolon or tab) or a GitHub Markdown table, anywhere in a Markdown file.
- Columns are matched by header, tolerantly: ``Activation shape``, ``Activation Size``, ``# parameters``,
  ``weights`` (without biases), ``MACs``, ``FLOPs``, ``receptive field``, ``memory (bytes)``.
- A column of layer names (``layer``, ``name``, or a first column of words) matches rows by name: the spec's
  names, a block instance's name (its row holds the block's sums), or a kind (``POOL2``, ``FC``, ``ReLU``) placed
  in order. Otherwise the rows are aligned with the spec's layers in order, so that the most cells agree. A table
  may leave out activations, dropout, flatten and normalisation, may give fused activations rows of their own,
  and may start with an ``input`` row and end with a ``total`` row.
- Numbers: ``3,072``, ``35K`` (right when the true value rounds to it; ``800K`` when it rounds to 800K or to
  8·10⁵), ``138M``, ``1.2e6``, ``(5*5*3+1)*8``, ``224*224*64=3.2M``. Blank, ``-`` and ``—`` mean not given.
- Shapes: ``(28,28,8)``, ``28x28x8``, ``8x28x28``, ``[8, 28, 28]``, ``6@28x28``. Whether a table writes H×W×C
  (cs231n, Keras) or C×H×W (PyTorch) is detected from its cells unless ``layout`` is given.
"""

from __future__ import annotations

import ast
import csv
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any, Literal

from cnncalc.engine.dims import slide
from cnncalc.engine.explain import Explanation, dim_names, explain, explain_node
from cnncalc.engine.graph import Analysis, evaluate
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Layer
from cnncalc.engine.report import DTYPE_BYTES, Report
from cnncalc.engine.trace import Traced, traced
from cnncalc.errors import CnncalcError, SpecError
from cnncalc.model import INPUT, Node, Shape
from cnncalc.spec.format import parse_figure

Kind = Literal["shape", "activations", "bytes", "params", "weights", "macs", "flops", "receptive_field"]
Layout = Literal["auto", "chw", "hwc"]
#: What the table turned out to use: ``either`` when no cell tells H×W×C from C×H×W.
Order = Literal["chw", "hwc", "either"]

_BLANK = {"", "-", "—", "–", "?", "n/a", "na", "none", "x"}
_ALL = {"all", "global", "whole", "entire", "full", "whole input", "everything"}
_TOTAL = {"total", "totals", "sum", "overall", "network", "whole network"}
_QUIET_TYPES = {
    "dropout", "dropout1d", "dropout2d", "dropout3d", "flatten", "identity", "batchnorm", "bn", "batchnorm1d",
    "batchnorm2d", "batchnorm3d", "lrn", "local_response_norm",
}


# --- results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """One checked cell: where it is, what was written, the right value, and why."""

    row: int
    line: int
    layer: str
    label: str
    column: str
    kind: str
    given: str
    correct: str
    ok: bool
    derivation: str
    mistake: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the cell."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True)
class CheckResult:
    """All checked cells, how the rows were matched, and what was assumed to read the table."""

    table: str
    model: str
    layout: Order
    cells: tuple[Cell, ...]
    notes: tuple[str, ...] = ()
    #: (table row, the spec's layer it was matched to); ``input`` and ``total`` stand for themselves.
    matches: tuple[tuple[int, str], ...] = ()

    @property
    def wrong(self) -> int:
        """How many cells are wrong."""
        return sum(not c.ok for c in self.cells)

    @property
    def right(self) -> int:
        """How many cells are right."""
        return len(self.cells) - self.wrong

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``cnncalc check --format json``."""
        return {
            "table": self.table, "model": self.model, "layout": self.layout, "notes": list(self.notes),
            "rows": [{"row": r, "layer": name} for r, name in self.matches],
            "summary": {"cells": len(self.cells), "right": self.right, "wrong": self.wrong},
            "cells": [c.to_dict() for c in self.cells],
        }


# --- reading the table ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A checked column: its position, header as written, what it holds and its header's unit (``(M)``)."""

    index: int
    header: str
    kind: Kind
    scale: float = 1.0


@dataclass(frozen=True)
class Table:
    """A parsed table: headers, and data rows with their line numbers in the file."""

    path: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]

    def fail(self, reason: str, row: int | None = None, hint: str | None = None) -> SpecError:
        """An error that names the table file, and the row (and its line) when there is one."""
        line = self.rows[row - 1][0] if row is not None else None
        where = f"row {row}: " if row is not None else ""
        return SpecError(where + reason, file=self.path, line=line, hint=hint)


_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _clean(cell: str) -> str:
    """A cell without Markdown emphasis, code marks and escaped pipes."""
    text = cell.replace("\\|", "|").strip()
    text = re.sub(r"(\*\*|__|`)", "", text)
    return text.strip().strip("*_").strip()


def _md_cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [_clean(c) for c in re.split(r"(?<!\\)\|", body)]


def _split_bracketed(line: str, delimiter: str) -> list[str]:
    """Split a CSV line, keeping delimiters inside (), [] and quotes: an unquoted ``(28,28,8)`` stays one cell."""
    cells, depth, quote, cur = [], 0, "", []
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
            continue
        if ch in "\"'" and not "".join(cur).strip():
            quote = ch
        elif ch in "([{":
            depth += 1
            cur.append(ch)
        elif ch in ")]}":
            depth = max(depth - 1, 0)
            cur.append(ch)
        elif ch == delimiter and depth == 0:
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    cells.append("".join(cur))
    return [_clean(c) for c in cells]


def read_table(path: str | Path) -> Table:
    """The header and data rows of a CSV file or of the first Markdown table in a file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read the table: {getattr(err, 'strerror', None) or err}", file=str(p)) from None
    lines = text.splitlines()
    for i in range(1, len(lines)):
        if _SEPARATOR.match(lines[i]) and "|" in lines[i - 1] + lines[i]:
            headers = _md_cells(lines[i - 1])
            rows = []
            for j in range(i + 1, len(lines)):
                if "|" not in lines[j] or not lines[j].strip():
                    break
                rows.append((j + 1, _md_cells(lines[j])))
            return _finish(Table(str(p), headers, rows))
    content = [(n + 1, line) for n, line in enumerate(lines) if line.strip()]
    if not content:
        raise SpecError("the table is empty", file=str(p))
    sample = "\n".join(line for _, line in content[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    parsed: list[tuple[int, list[str]]] = []
    for n, line in content:
        cells = [_clean(c) for c in next(csv.reader([line], delimiter=delimiter))]
        if parsed and len(cells) > len(parsed[0][1]):
            cells = _split_bracketed(line, delimiter)
        parsed.append((n, cells))
    headers = parsed[0][1]
    if len(headers) < 2 and classify(headers[0] if headers else "")[0] in (None, "name"):
        raise SpecError("no table found: expected CSV with a header row, or a Markdown table "
                        "(| Layer | Activation shape | … | with a |---| line)", file=str(p))
    return _finish(Table(str(p), headers, parsed[1:]))


def _finish(table: Table) -> Table:
    rows = [(n, cells) for n, cells in table.rows if any(c.strip() for c in cells)]
    table = Table(table.path, table.headers, rows)
    if not table.rows:
        raise SpecError("the table has a header but no rows", file=table.path)
    width = len(table.headers)
    for i, (_, cells) in enumerate(table.rows, start=1):
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise table.fail(f"{len(cells)} cells under {width} headers", i,
                             hint="quote cells that contain the delimiter, e.g. \"3,072\" or \"(28,28,8)\"")
    return table


def _words(header: str) -> list[str]:
    text = header.lower().replace("no.", " ").replace("number of", " ").replace("#", " ")
    return re.sub(r"[^a-z0-9]+", " ", text).split()


_SCALED = {"k": 1e3, "thousand": 1e3, "thousands": 1e3, "m": 1e6, "mil": 1e6, "million": 1e6, "millions": 1e6,
           "g": 1e9, "b": 1e9, "billion": 1e9, "billions": 1e9}
_PREFIXED = re.compile(r"^([kmgt])(macs?|flops?|params?|mult|madds)$")
_BYTE_UNITS = {"byte": 1.0, "bytes": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def classify(header: str) -> tuple[Kind | Literal["name"] | None, float]:
    """What a column holds, from its header (``# parameters``, ``Activation Size``, ``GFLOPs``, ``MACs (M)``)."""
    words = _words(header)
    scale = 1.0
    for w in words:
        m = _PREFIXED.match(w)
        if m and not (m.group(1) == "m" and m.group(2).startswith("mult")):
            scale = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(1)]
    paren = re.findall(r"\(([^)]*)\)|\bin (\w+)", header.lower())
    for a, b in paren:
        unit = (a or b).strip()
        if unit in _SCALED:
            scale = _SCALED[unit]
    if any(w in ("million", "millions", "billion", "billions", "thousand", "thousands") for w in words):
        scale = _SCALED[next(w for w in words if w in _SCALED)]
    if "receptive" in words or "rf" in words:
        return "receptive_field", 1.0
    if any(w in _BYTE_UNITS for w in words):
        return "bytes", next(_BYTE_UNITS[w] for w in words if w in _BYTE_UNITS)
    if any(w in ("shape", "shapes", "volume", "dims", "dimension", "dimensions") for w in words):
        return "shape", 1.0
    if any(w in ("size", "activation", "activations", "memory", "neurons", "values", "elements", "units")
           for w in words):
        return "activations", scale
    if "output" in words or "out" in words:
        return "shape", 1.0
    if any(re.fullmatch(r"[kmgt]?params?|parameters?|learnable|trainable", w) for w in words):
        return "params", scale
    if any(w in ("weight", "weights") for w in words):
        return "weights", scale
    if any(re.fullmatch(r"[kmgt]?flops?", w) for w in words):
        return "flops", scale
    if any(re.fullmatch(r"[kmgt]?macs?|madds?|mult|mults|multiply|multiplies|multiplications|multadds|"
                        r"multiplyadds|muladds", w) for w in words):
        return "macs", scale
    if any(w in ("layer", "layers", "name", "stage") for w in words):
        return "name", 1.0
    return None, 1.0


def _dims_in(text: str) -> list[int]:
    return [int(d) for d in re.findall(r"\d+", re.sub(r"(?i)none", " ", text))]


def _is_shape_like(text: str) -> bool:
    if re.fullmatch(r"\s*\d{1,3}(,\d{3})+\s*", text):
        return False  # 3,072: a number with a thousands separator
    return len(_dims_in(text)) >= 2 and not re.search(r"[+*=]", text)


def read_number(text: str) -> tuple[float, float] | None:
    """A written number and its half-precision: ``3,072`` exact, ``35K`` ± 500, ``1.2e6`` ± 5e4; None if blank.

    Also ``~60K``, ``= 608`` (the part after the last ``=``), ``1.2 × 10^6`` and ``(5*5*3+1)*8`` (exact).
    Raises ValueError for anything else.
    """
    t = text.strip()
    if t.lower() in _BLANK:
        return None
    if "=" in t:
        t = t.rsplit("=", 1)[1]
    t = t.strip().lstrip("~≈").strip().rstrip(".")
    t = re.sub(r"(\d(?:\.\d+)?)\s*[x×·*]\s*10\s*\^\s*([+-]?\d+)", r"\1e\2", t)
    t = re.sub(r"(?i)\s*(bytes?|values|params|parameters|macs|flops|b)$", "", t)
    compact = t.replace(" ", "").replace("\u202f", "").replace("\u2009", "")
    try:
        value, half = parse_figure(compact)
    except ValueError:
        exact = _expression(compact)
        if exact is None:
            raise ValueError(f"'{text}' is not a number like 3,072, 35K, 138M, 1.2e6 or (5*5*3+1)*8") from None
        return float(exact), 0.0
    if re.fullmatch(r"[\d,]+", compact):
        half = 0.0
    else:
        # "800K" is as likely 8·10⁵ as 800·10³ (cs231n writes 802,816 so): trailing zeros before a unit are not
        # taken as significant.
        zeros = re.fullmatch(r"\d*?(0+)[KMGTkmgt]i?", compact)
        if zeros:
            half *= 10 ** len(zeros.group(1))
    return value, half


def _expression(text: str) -> int | None:
    """The value of ``(5*5*3+1)*8``, ``5x5x3x8+8``, ``5·5·3·8 + 8``: integers, + − × and parentheses only."""
    source = re.sub(r"[x×·]", "*", text.replace("−", "-"))
    if not re.fullmatch(r"[\d+\-*()]+", source) or not re.search(r"[+*\-]", source):
        return None
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            a, b = value(node.left), value(node.right)
            return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise ValueError

    try:
        return value(tree)
    except (ValueError, RecursionError):
        return None


def read_shape(text: str) -> tuple[tuple[int, ...], Order] | None:
    """The sizes of a written shape and the order it states (``6@28x28`` is C@H×W), or None if blank."""
    t = text.strip()
    if t.lower() in _BLANK:
        return None
    dims = tuple(_dims_in(t))
    if not dims:
        raise ValueError(f"'{text}' is not a shape like (28,28,8), 28x28x8 or 8x28x28")
    return dims, "chw" if "@" in t else "either"


# --- the engine's figures for what a row can stand for ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """A layer's (or a variant's) output shape, figures and derivations; a variant may define only some kinds."""

    shape: Shape
    values: dict[str, int]
    lines: dict[str, str]


@dataclass(frozen=True, slots=True)
class Unit:
    """What a table row can stand for: the input, a layer (``bare``: its fused activation split off), a fused
    activation on its own, or the network's totals."""

    name: str
    role: Literal["input", "layer", "bare", "act", "total", "block"]
    node: Node | None = None
    quiet: bool = False
    families: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()


def name_key(text: str) -> str:
    """A row label or layer name reduced for matching: ``CONV1 (f=5, s=1):`` → ``conv1``, while GoogLeNet's
    ``inception (3a)`` → ``inception3a`` keeps its short index."""
    text = re.sub(r"\((?![0-9][a-z0-9]?\))[^)]*\)|\[[^]]*\]", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "", text)


_ROW_FAMILY = [
    (r"input|data|image|img", "input"),
    (r"softmax|logsoftmax", "softmax"),
    (r"relu|leakyrelu|prelu|elu|selu|gelu|silu|swish|tanh|sigmoid|hardswish|act", "act"),
    (r"conv|dwconv|deconv|c\d", "conv"),
    (r"maxpool|avgpool|pool|subsampl|gap|gmp|mp\d|s\d|m\d*$", "pool"),
    (r"fc|linear|dense|affine|full|f\d|output|out$", "fc"),
    (r"bn|batchnorm|norm|lrn", "norm"),
    (r"drop", "dropout"),
    (r"flatten", "flatten"),
]


def _row_family(key: str) -> str | None:
    for pattern, family in _ROW_FAMILY:
        if re.match(pattern, key):
            if family == "act":
                word = re.match(r"[a-z]+", key)
                return word.group(0) if word else "act"
            return family
    return None


def _families(layer: Layer) -> set[str]:
    t = layer.type
    out: set[str] = set()
    if t.startswith(("conv", "deconv")):
        out.add("conv")
    elif "pool" in t or t == "subsample":
        out.add("pool")
    elif t in ("linear", "fc", "rbf"):
        out.add("fc")
    elif t in _QUIET_TYPES:
        out.add("norm" if "norm" in t or t in ("bn", "lrn") else "dropout" if "drop" in t else t)
    elif t in ("softmax", "log_softmax"):
        out.add("softmax")
    elif getattr(type(layer), "fusable", False) or t == "prelu":
        out |= {"act", t.replace("_", "")}
    act = getattr(layer, "activation", None)
    if act:
        out |= {"softmax"} if "softmax" in act else {"act", act.replace("_", "")}
    return out


def _quiet(layer: Layer) -> bool:
    return bool(getattr(type(layer), "fusable", False)) or layer.type in _QUIET_TYPES


class _Engine:
    """The analysis, and the engine re-run on single layers: correct figures, variants and their derivations."""

    def __init__(self, report: Analysis) -> None:
        assert report.network is not None
        self.net, self.report = report.network, report
        self.rows = {row.name: row for row in report.layers}
        self.context = report.context
        self.shapes, self.input_of, self.types = self.context.shapes, self.context.input_of, self.context.types
        self.nodes = {n.name: n for n in self.net.nodes}
        self.explained: dict[str, Explanation] = {e.name: e for e in explain(report)}
        self.bytes_per = DTYPE_BYTES[report.dtype]
        self._cache: dict[tuple[str, str], Figures] = {}

    # -- figures

    def needed(self, node: Node) -> dict[str, Shape]:
        """The shapes of a node's inputs and linked nodes."""
        return self.context.needed(node)

    def run(self, node: Node, layer: Layer | None = None, x: Shape | None = None) -> Figures | None:
        """The engine on ``node`` with another layer or input shape; None when the variant is not a valid layer."""
        layer = node.layer if layer is None else layer
        shapes = self.needed(node)
        if x is not None:
            shapes[node.inputs[0]] = x
        changed = Node(node.name, layer, node.inputs, node.line, node.groups, node.links)
        try:
            ev = evaluate(changed, shapes, self.input_of, self.types)
            exp = explain_node(changed, shapes, self.input_of, None, self.types)
        except (CnncalcError, ValueError, TypeError, ZeroDivisionError, KeyError, IndexError):
            return None
        weights = None
        if getattr(layer, "bias", False) and ev.biases:
            bare = self.run(node, layer.model_copy(update={"bias": False}), x)
            weights = None if bare is None else bare.lines["params"].replace("params", "weights", 1)
        return self._figures(exp, int(ev.biases), weights)

    def _figures(self, exp: Explanation, biases: int, weights_line: str | None, rf: str = "") -> Figures:
        got = {line.label: line for line in exp.lines}
        values = {
            "params": got["params"].value if "params" in got else 0,
            "macs": got["MACs"].value if "MACs" in got else 0,
            "flops": got["FLOPs"].value if "FLOPs" in got else 0,
        }
        values["weights"] = values["params"] - biases
        lines = {
            "params": got["params"].text() if "params" in got else "params = 0",
            "macs": got["MACs"].text() if "MACs" in got else "MACs = 0",
            "flops": got["FLOPs"].text() if "FLOPs" in got else "FLOPs = 0",
            "weights": weights_line or (
                got["params"].text().replace("params", "weights", 1) if not biases and "params" in got
                else f"weights = params − biases = {values['params']:,} − {biases:,} = {values['weights']:,}"
            ),
            "shape": "; ".join(line.text() for label, line in got.items() if label.endswith("_out")),
            "receptive_field": rf,
        }
        return self._sized(exp.output, values, lines)

    def _sized(self, shape: Shape, values: dict[str, int], lines: dict[str, str]) -> Figures:
        size: Any = Traced(shape[0]) if shape else Traced(1)
        for d in shape[1:]:
            size = size * Traced(d)
        values = {**values, "activations": int(size), "bytes": int(size) * self.bytes_per}
        memory = size * Traced(self.bytes_per)
        lines = {**lines, "activations": f"size = {size.expr} = {int(size):,}" if len(shape) > 1 else
                 f"size = {int(size):,}", "bytes": f"bytes = {memory.expr} = {int(memory):,} ({self.report.dtype})"}
        return Figures(shape, values, lines)

    def shape_only(self, shape: Shape, shape_line: str) -> Figures:
        """A variant that changes the output shape only (the other figures are not re-derived)."""
        return self._sized(shape, {}, {"shape": shape_line})

    def figures(self, unit: Unit) -> Figures:
        """The correct figures of what a row stands for."""
        key = (unit.role, unit.name)
        if key not in self._cache:
            self._cache[key] = self._compute(unit)
        return self._cache[key]

    def _compute(self, unit: Unit) -> Figures:
        fig = self._compute_figures(unit)
        if fig.lines.get("shape") or unit.node is None:
            return fig
        layer = unit.node.layer
        if unit.role != "act" and isinstance(getattr(layer, "out_features", None), int):
            why = f"out_features = {getattr(layer, 'out_features', 0)}"
        elif fig.shape == self.shapes[unit.node.inputs[0]] or unit.role == "act":
            why = "the shape of its input (elementwise)"
        else:
            return fig
        return Figures(fig.shape, fig.values, {**fig.lines, "shape": why})

    def _compute_figures(self, unit: Unit) -> Figures:
        if unit.role == "input":
            zero = {"params": 0, "weights": 0, "macs": 0, "flops": 0}
            lines = {k: f"{k} = 0 (the input)" for k in zero} | {"shape": "the network's input",
                                                                   "receptive_field": "RF = 1"}
            return self._sized(self.report.input, zero, lines)
        if unit.role == "total":
            return self._total()
        if unit.role == "block":
            return self._block(unit.name)
        assert unit.node is not None
        node = unit.node
        rf = "; ".join(line.text() for line in self.explained[node.name].lines if line.label.startswith("RF_"))
        if self.rows[node.name].receptive_field is None:
            rf = "every output sees the whole input (after global pooling, flatten or FC)"
        if unit.role == "layer":
            exp = self.explained[node.name]
            weights = None
            if getattr(node.layer, "bias", False) and self.rows[node.name].biases:
                bare = self.run(node, node.layer.model_copy(update={"bias": False}))
                weights = None if bare is None else bare.lines["params"].replace("params", "weights", 1)
            return self._figures(exp, self.rows[node.name].biases, weights, rf)
        layer = self.act_node(node) if unit.role == "act" else None
        if layer is not None:
            shapes = {node.name: self.shapes[node.name]}
            exp = explain_node(layer, shapes, self.input_of, None, self.types)
            return self._figures(exp, 0, None, rf)
        got = self.run(node, node.layer.model_copy(update={"activation": None}))
        assert got is not None
        return Figures(got.shape, got.values, {**got.lines, "receptive_field": rf})

    def act_node(self, node: Node) -> Node:
        """A node for a layer's fused activation on its own."""
        act = str(getattr(node.layer, "activation", ""))
        layer = REGISTRY[act].model_validate({"type": act})
        return Node(f"{node.name}/{act}", layer, (node.name,))

    def _block(self, name: str) -> Figures:
        """A block instance's row (a ResNet stage, an inception module): sums over its layers."""
        block = next(b for b in self.report.blocks if b.name == name)
        rows = [r for r in self.report.layers if name in r.groups]
        per = self.report.batch
        figures: dict[str, list[int]] = {
            "params": [r.params for r in rows], "weights": [r.params - r.biases for r in rows],
            "macs": [r.macs // per for r in rows], "flops": [r.flops // per for r in rows],
        }
        values = {kind: sum(column) for kind, column in figures.items()}
        lines = {kind: _sum_line(kind, [v for v in column if v]) + f" (the {len(rows)} layers of {name})"
                 for kind, column in figures.items()}
        rf = block.receptive_field
        lines["receptive_field"] = "the field of its last layer" if rf is not None else \
            "every output sees the whole input"
        lines["shape"] = f"the output of its last layer, {rows[-1].name}" if rows else ""
        return self._sized(block.output_shape, values, lines)

    def _total(self) -> Figures:
        rows = self.report.layers
        values: dict[str, int] = {}
        lines: dict[str, str] = {}
        figures: dict[str, list[int]] = {
            "params": [r.params for r in rows], "weights": [r.params - r.biases for r in rows],
            "macs": [r.macs for r in rows], "flops": [r.flops for r in rows],
        }
        for kind, column in figures.items():
            parts = [v for v in column if v]
            values[kind] = sum(parts)
            lines[kind] = _sum_line(kind, parts)
        t = self.report.totals
        values |= {"activations": t.activations, "bytes": t.activation_bytes}
        parts = [prod(self.report.input)] + [r.activations for r in rows if r.stores]
        lines["activations"] = _sum_line("size", parts) + " (the input and every stored output)"
        lines["bytes"] = f"bytes = {t.activations:,}·{self.bytes_per} = {t.activation_bytes:,}"
        return Figures(self.report.output_shape, values, lines)


def _sum_line(label: str, parts: list[int]) -> str:
    if len(parts) <= 1:
        return f"{label} = {sum(parts):,}"
    shown = " + ".join(f"{p:,}" for p in parts) if len(parts) <= 12 else \
        " + ".join(f"{p:,}" for p in parts[:5]) + f" + … ({len(parts)} layers)"
    return f"{label} = {shown} = {sum(parts):,}"


# --- matching rows to units ------------------------------------------------------------------------------------


def _units(eng: _Engine, split: bool) -> list[Unit]:
    """What rows can stand for, in order: the input, then each layer (with fused activations split when asked)."""
    units = [Unit("input", "input", None, quiet=True, families=frozenset({"input"}),
                  keys=frozenset({"input", "data", "image", "in"}))]
    for node in eng.net.nodes:
        short = node.name.rsplit("/", 1)[-1]
        keys = {name_key(node.name), name_key(short)}
        act = getattr(node.layer, "activation", None)
        quiet = _quiet(node.layer)
        if split and act:
            families = _families(node.layer.model_copy(update={"activation": None}))
            units.append(Unit(node.name, "bare", node, quiet, frozenset(families), frozenset(keys)))
            digits = re.search(r"\d+$", name_key(short))
            act_keys = {name_key(node.name) + name_key(act), name_key(act) + (digits.group(0) if digits else "")}
            act_fam = {"softmax"} if "softmax" in act else {"act", act.replace("_", "")}
            units.append(Unit(f"{node.name}/{act}", "act", node, True, frozenset(act_fam), frozenset(act_keys)))
        else:
            units.append(Unit(node.name, "layer", node, quiet, frozenset(_families(node.layer)), frozenset(keys)))
    return units


@dataclass(frozen=True, slots=True)
class _Given:
    """A parsed cell."""

    column: Column
    text: str
    number: tuple[float, float] | None = None
    shape: tuple[tuple[int, ...], Order] | None = None
    everything: bool = False


def _parse_cells(table: Table, columns: list[Column]) -> list[list[_Given]]:
    out = []
    for i, (_, cells) in enumerate(table.rows, start=1):
        parsed = []
        for col in columns:
            text = cells[col.index] if col.index < len(cells) else ""
            if text.strip().lower() in _BLANK:
                continue
            try:
                if col.kind == "shape":
                    parsed.append(_Given(col, text, shape=read_shape(text)))
                elif col.kind == "receptive_field":
                    if text.strip().lower() in _ALL:
                        parsed.append(_Given(col, text, everything=True))
                    else:
                        parsed.append(_Given(col, text, shape=read_shape(text)))
                else:
                    number = read_number(text)
                    if number is not None:
                        value, half = number
                        parsed.append(_Given(col, text, number=(value * col.scale, half * col.scale)))
            except ValueError as err:
                raise table.fail(f"column '{col.header}': {err}", i) from None
        out.append(parsed)
    return out


def _in_order(shape: Shape, order: Literal["chw", "hwc"]) -> Shape:
    return (*shape[1:], shape[0]) if order == "hwc" and len(shape) > 1 else shape


def _same_dims(correct: Shape, given: tuple[int, ...]) -> bool:
    if tuple(given) == tuple(correct):
        return True
    squeeze = tuple(d for d in correct if d != 1)
    return bool(squeeze) and tuple(d for d in given if d != 1) == squeeze


def _shape_orders(correct: Shape, given: tuple[int, ...]) -> set[str]:
    """The orders in which ``given`` writes ``correct`` (empty: it does not)."""
    orders: tuple[Literal["chw", "hwc"], ...] = ("chw", "hwc")
    return {o for o in orders if _same_dims(_in_order(correct, o), given)}


def _number_ok(value: int, number: tuple[float, float]) -> bool:
    given, half = number
    return abs(value - given) <= half + 1e-9 * max(abs(given), 1.0)


def _rf_ok(eng: _Engine, unit: Unit, g: _Given) -> bool:
    rf: tuple[int | float, ...] | None
    if unit.role == "input":
        rf = tuple(1 for _ in eng.report.input[1:])
    elif unit.role == "block":
        rf = next(b for b in eng.report.blocks if b.name == unit.name).receptive_field
    elif unit.role == "total" or unit.node is None:
        return False
    else:
        rf = eng.rows[unit.node.name].receptive_field
    if rf is None:
        sizes = eng.report.input[1:]
        return g.everything or (g.shape is not None and all(d >= max(sizes, default=1) for d in g.shape[0]))
    if g.shape is None:
        return False
    dims = g.shape[0]
    return list(dims) == list(rf) or (len(dims) == 1 and all(v == dims[0] for v in rf))


def _agrees(eng: _Engine, unit: Unit, g: _Given, order: Order) -> bool:
    fig = eng.figures(unit)
    kind = g.column.kind
    if kind == "shape":
        if g.shape is None or unit.role == "total":
            return False
        dims, stated = g.shape
        orders = _shape_orders(fig.shape, dims)
        want = {stated} if stated != "either" else ({order} if order != "either" else {"chw", "hwc"})
        return bool(orders & want)
    if kind == "receptive_field":
        return _rf_ok(eng, unit, g)
    if g.number is None or kind not in fig.values:
        return False
    ok = _number_ok(fig.values[kind], g.number)
    if not ok and kind == "flops" and unit.role == "bare" and unit.node is not None:
        ok = _number_ok(eng.rows[unit.node.name].flops, g.number)
    return ok


@dataclass(frozen=True, slots=True)
class _Match:
    units: list[Unit]
    pairs: list[tuple[int, Unit]]
    skipped: list[Unit]
    score: float


def _align(eng: _Engine, units: list[Unit], rows: list[int], cells: list[list[_Given]], labels: list[str],
           by_name: bool, covered: set[str]) -> tuple[_Match | None, int]:
    """Rows (indices into ``cells``) aligned with ``units`` in order, maximising the cells that agree.

    Units may be left out of the table: the input and quiet layers freely, other layers at a cost. With names, a
    row whose name is some unit's name can match only that unit, and a named family (conv, pool, fc, relu…)
    only units of that family. Returns the best alignment, or None and the first row that cannot be placed.
    """
    exact_owner: dict[str, int] = {}
    for j, u in enumerate(units):
        for k in u.keys:
            exact_owner.setdefault(k, j)

    written = [name_key(labels[i]) for i in rows]
    #: A label used on several rows (cs231n's "POOL2", "FC") names a kind of layer, not one layer.
    repeated = {k for k in written if written.count(k) > 1}

    def score(i: int, j: int) -> float | None:
        u = units[j]
        s = 0.0 if u.quiet else 0.5
        if by_name and labels[i]:
            key = name_key(labels[i])
            if key in u.keys and key not in repeated:
                s += 100
            elif key in exact_owner and key not in repeated:
                return None
            else:
                family = _row_family(key)
                if family is not None:
                    if family not in u.families:
                        return None
                    s += 20
        return s + 4 * sum(_agrees(eng, u, g, "either") for g in cells[i])  # a right cell outweighs a skip

    def skip(j: int) -> float:
        node = units[j].node
        return 0.0 if units[j].quiet or (node is not None and node.name in covered) else -3.0

    n, m = len(rows), len(units)
    neg = float("-inf")
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    back: dict[tuple[int, int], tuple[int, int]] = {}
    best[0][0] = 0.0
    for j in range(m):
        for i in range(n + 1):
            here = best[i][j]
            if here == neg:
                continue
            if here + skip(j) > best[i][j + 1]:
                best[i][j + 1] = here + skip(j)
                back[(i, j + 1)] = (i, j)
            if i < n:
                s = score(rows[i], j)
                if s is not None and here + s > best[i + 1][j + 1]:
                    best[i + 1][j + 1] = here + s
                    back[(i + 1, j + 1)] = (i, j)
    if best[n][m] == neg:
        reached = max((i for i in range(n + 1) for j in range(m + 1) if best[i][j] != neg), default=0)
        return None, rows[min(reached, n - 1)]
    pairs: list[tuple[int, Unit]] = []
    skipped: list[Unit] = []
    i, j = n, m
    while j > 0:
        pi, pj = back[(i, j)]
        if pi == i:
            skipped.append(units[pj])
        else:
            pairs.append((rows[pi], units[pj]))
        i, j = pi, pj
    return _Match(units, pairs[::-1], skipped[::-1], best[n][m]), -1


# --- mistakes ---------------------------------------------------------------------------------------------------


Slip = tuple[str, Callable[[], Figures | None]]


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


def _flattened_from(eng: _Engine, node: Node) -> Shape | None:
    """For an FC layer: the multi-dim shape it flattens (its own input, or the input of a flatten before it)."""
    x = eng.shapes[node.inputs[0]]
    if getattr(node.layer, "flatten", False) and len(x) > 1:
        return x
    name = node.inputs[0]
    while name in eng.nodes:
        prev = eng.nodes[name]
        if prev.layer.type == "flatten":
            before = eng.shapes[prev.inputs[0]]
            return before if len(before) > 1 else None
        if not _quiet(prev.layer) or len(prev.inputs) != 1:
            return None
        name = prev.inputs[0]
    return None


@dataclass(frozen=True, slots=True)
class _Subject:
    """A layer under diagnosis: the engine, its node and (possibly activation-free) layer, input, correct figures."""

    eng: _Engine
    node: Node
    layer: Layer
    x: Shape
    fig: Figures

    def run(self, layer: Layer | None = None, x: Shape | None = None) -> Figures | None:
        """The engine on a changed layer or input."""
        return self.eng.run(self.node, self.layer if layer is None else layer, x)

    def variant(self, **update: Any) -> Callable[[], Figures | None]:
        """A deferred re-run with some fields changed."""
        return lambda: self.run(self.layer.model_copy(update=update))

    def has(self, name: str) -> bool:
        """Whether the layer type has a field."""
        return name in type(self.layer).model_fields


def _slips(eng: _Engine, unit: Unit, fig: Figures, carried: tuple[int, str, Shape] | None) -> Iterator[Slip]:
    """The catalogue of common mistakes that apply to ``unit``, most telling first; each re-runs the engine."""
    if unit.role in ("total", "act", "input") or unit.node is None:
        return
    node = unit.node
    layer = node.layer if unit.role == "layer" else node.layer.model_copy(update={"activation": None})
    sub = _Subject(eng, node, layer, eng.shapes[node.inputs[0]], fig)
    single = len(node.inputs) == 1
    if carried is not None and single:
        row, text, shape = carried
        yield (f"carried over from row {row}'s shape {text} (itself wrong): right for that input",
               lambda: sub.run(x=shape))
    if single:
        yield from _weight_slips(sub)
    yield from _window_slips(sub)
    if single:
        yield from _pool_slips(sub)
        yield from _size_slips(sub)


def _weight_slips(sub: _Subject) -> Iterator[Slip]:
    """Depth left out, flatten forgotten, biases left out or one per layer, the kernel counted once."""
    x, fig, layer = sub.x, sub.fig, sub.layer
    if fig.values.get("params") and len(x) > 1 and x[0] > 1:
        yield f"the input depth {x[0]} seems to be left out", lambda: sub.run(x=(1, *x[1:]))
    u = _flattened_from(sub.eng, sub.node) if layer.type in ("linear", "fc") else None
    if u is not None:
        flat = layer.model_copy(update={"flatten": True})
        if len(x) == 1 and u[0] > 1:
            yield (f"the input depth {u[0]} seems to be left out of the flattened fan-in",
                   lambda: sub.run(flat, (1, *u[1:])))
        yield (f"only the {u[0]} channels seem taken as the fan-in, not all {'·'.join(map(str, u))} = "
               f"{prod(u):,} flattened values", lambda: sub.run(flat, u[:1]))
    if getattr(layer, "bias", False) and fig.values.get("params"):
        yield "the biases seem to be left out", sub.variant(bias=False)
        per = "filter" if "conv" in layer.type else "output unit"

        def one_bias() -> Figures | None:
            bare = sub.run(layer.model_copy(update={"bias": False}))
            if bare is None:
                return None
            formula = bare.lines["params"].split(" = ")
            expr = formula[1] if len(formula) > 2 else str(bare.values["params"])
            params = bare.values["params"] + 1
            return Figures(fig.shape, {"params": params}, {"params": f"params = {expr} + 1 = {params:,}"})

        yield f"one bias for the whole layer instead of one per {per}", one_bias
    kernel = getattr(layer, "kernel_size", None)
    if layer.type.startswith("conv") and isinstance(kernel, int) and kernel > 1 and len(x) == 3:
        yield (f"the kernel seems counted as {kernel}, not {kernel}·{kernel}",
               lambda: _params_only(sub.run(layer.model_copy(update={"kernel_size": [kernel, 1]}))))


def _window_slips(sub: _Subject) -> Iterator[Slip]:
    """Padding ignored, halved or assumed 'same'; stride ignored or squared; ceil for floor; + 1 forgotten; …"""
    layer, x = sub.layer, sub.x
    if sub.has("padding") and _has_padding(getattr(layer, "padding", 0)):
        yield f"the padding {_padding_text(layer)} seems to be ignored", sub.variant(padding=0)
        p = getattr(layer, "padding", 0)
        if isinstance(p, int) and len(x) > 1:
            yield "the padding seems counted on one side only (P, not 2P)", sub.variant(padding=[[0, p]] * (len(x) - 1))
    elif sub.has("padding") and sub.has("kernel_size") and "pool" not in layer.type:
        yield "'same' padding seems assumed, but the spec has none", sub.variant(padding="same")
    stride = getattr(layer, "stride", None)
    if sub.has("stride") and stride is None:
        stride = getattr(layer, "kernel_size", None)
    if stride is not None and _square(stride) is not None:
        yield f"the stride {_dims_text(stride)} seems to be ignored", sub.variant(stride=1)
        yield f"the stride {_dims_text(stride)} seems applied twice", sub.variant(stride=_square(stride))
    if sub.has("ceil_mode"):
        ceil = bool(getattr(layer, "ceil_mode", False))
        yield ("floor seems used instead of ceil (the spec pools in ceil mode)" if ceil else
               "ceil seems used instead of floor"), sub.variant(ceil_mode=not ceil)
    elif layer.type.startswith("conv") and sub.has("kernel_size") and len(x) > 1:
        yield "ceil seems used instead of floor", lambda: _conv_ceil(sub.eng, layer, x)
    if " + 1" in sub.fig.lines.get("shape", ""):
        yield "the + 1 of ⌊(W + 2P − K) / S⌋ + 1 seems forgotten", lambda: _minus_one(sub.eng, sub.fig)
    if any(v != 1 for v in _as_list(getattr(layer, "dilation", 1))):
        yield "the dilation seems ignored", sub.variant(dilation=1)
    if getattr(layer, "groups", 1) != 1:
        yield (f"the groups seem ignored: counted as a full convolution over all {x[0]} input channels",
               sub.variant(groups=1))


def _pool_slips(sub: _Subject) -> Iterator[Slip]:
    """Parameters given to a pooling layer: a bias per channel, a convolution's weights, LeNet-5's subsampling."""
    layer, x, fig = sub.layer, sub.x, sub.fig
    kernel = getattr(layer, "kernel_size", None)
    if "pool" not in layer.type or fig.values.get("params") or len(x) < 2 or kernel is None:
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


def _size_slips(sub: _Subject) -> Iterator[Slip]:
    """Activation sizes: the input's size instead of the output's, or the depth left out."""
    x, fig = sub.x, sub.fig
    yield "that is the size of the layer's input, not of its output", lambda: sub.eng.shape_only(x, "")
    if len(fig.shape) > 1 and fig.shape[0] > 1:
        yield (f"the depth {fig.shape[0]} seems left out of the size",
               lambda: sub.eng.shape_only((1, *fig.shape[1:]), ""))


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


def _conv_ceil(eng: _Engine, layer: Layer, x: Shape) -> Figures | None:
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
    out_channels = int(getattr(layer, "out_channels", x[0]))
    return eng.shape_only((out_channels, *(int(v) for v in sl.out)), line)


def _minus_one(eng: _Engine, fig: Figures) -> Figures | None:
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


def _diagnose(eng: _Engine, unit: Unit, fig: Figures, g: _Given, order: Order,
              carried: tuple[int, str, Shape] | None) -> str:
    """Name the slip that reproduces the written value, with its derivation (or '' when none does)."""
    kind = g.column.kind
    if kind == "shape" and g.shape is not None:
        orders = _shape_orders(fig.shape, g.shape[0])
        if orders and order != "either":
            other = {"chw": "C×H×W (channels first)", "hwc": "H×W×C (cs231n)"}
            return (f"the right sizes in another order: written {other[next(iter(orders))]}, while the table "
                    f"reads {other[order]}")
    if kind == "weights" and g.number is not None and _number_ok(fig.values["params"], g.number):
        return f"{g.text} = {_formula(fig.lines['params'])}: the biases seem counted as weights"
    if kind == "macs" and g.number is not None and (
            _number_ok(fig.values["flops"], g.number) or _number_ok(2 * fig.values["macs"], g.number)):
        return (f"that is a FLOPs count (2 per multiply-add), not MACs: {fig.lines['flops']}"
                if _number_ok(fig.values["flops"], g.number) else
                f"2 per multiply-add counted: 2·{fig.values['macs']:,} = {2 * fig.values['macs']:,} (FLOPs "
                "without the bias additions), not MACs")
    if kind == "flops" and g.number is not None:
        if _number_ok(fig.values["macs"], g.number):
            return f"that is the MACs count; FLOPs count 2 per multiply-add: {fig.lines['flops']}"
        if fig.values["macs"] and _number_ok(2 * fig.values["macs"], g.number):
            return (f"2·MACs = {2 * fig.values['macs']:,}: the bias additions (and the activation) seem left out "
                    f"of the FLOPs")
    if kind == "bytes" and g.number is not None and _number_ok(fig.values["activations"], g.number):
        return f"that is the number of values; each takes {eng.bytes_per} bytes ({eng.report.dtype})"
    for sentence, make in _slips(eng, unit, fig, carried):
        got = make()
        if got is None:
            continue
        if kind == "shape" and g.shape is not None:
            if got.shape == fig.shape or not _shape_orders(got.shape, g.shape[0]):
                continue
            return f"{sentence}: {got.lines.get('shape') or g.text}"
        if kind not in got.values or g.number is None or got.values[kind] == fig.values.get(kind):
            continue
        if _number_ok(got.values[kind], g.number):
            line = got.lines.get(kind, "")
            formula = _formula(line) if line else f"{got.values[kind]:,}"
            return f"{g.text} = {formula}: {sentence}" if formula != g.text else f"{g.text}: {sentence}"
    if kind == "params" and g.number is not None and fig.values["weights"] != fig.values["params"] \
            and _number_ok(fig.values["weights"], g.number):
        return f"{g.text} = {fig.values['weights']:,} weights: the biases seem to be left out"
    return ""


# --- checking ---------------------------------------------------------------------------------------------------


def _columns(table: Table) -> tuple[list[Column], int | None, list[str]]:
    columns: list[Column] = []
    name_col: int | None = None
    ignored: list[str] = []
    for i, header in enumerate(table.headers):
        kind, scale = classify(header)
        cells = [row[i] for _, row in table.rows if i < len(row) and row[i].strip().lower() not in _BLANK]
        if kind == "name" or (kind is None and i == 0 and cells and _wordy(cells)):
            if name_col is None:
                name_col = i
            continue
        if kind == "activations" and cells and sum(_is_shape_like(c) for c in cells) * 2 > len(cells):
            kind = "shape"
        if kind is None:
            if header.strip():
                ignored.append(header.strip())
            continue
        columns.append(Column(i, header.strip() or kind, kind, scale))
    return columns, name_col, ignored


def _wordy(cells: list[str]) -> bool:
    """Whether a column holds names rather than numbers or shapes."""
    return sum(bool(re.search(r"[A-Za-z]", c)) and not re.fullmatch(r"[\d.,\s]*[KMGTkmgt]i?", c)
               for c in cells) * 2 > len(cells)


def check(report: Analysis, table: str | Path, layout: Layout = "auto") -> CheckResult:
    """Check every cell of ``table`` against ``report`` (the analysis of ``net``); see the module's docstring."""
    tab = read_table(table)
    columns, name_col, ignored = _columns(tab)
    if not columns:
        raise tab.fail(f"no column to check among {', '.join(repr(h) for h in tab.headers)}",
                       hint="name the columns like 'Activation shape', 'Activation size', '# parameters', "
                            "'MACs', 'FLOPs', 'receptive field'")
    eng = _Engine(report)
    cells = _parse_cells(tab, columns)
    labels = [row[name_col] if name_col is not None and name_col < len(row) else "" for _, row in tab.rows]
    notes: list[str] = []
    if ignored:
        notes.append(f"not checked: column{'s' * (len(ignored) > 1)} {', '.join(repr(h) for h in ignored)}")
    names = labels if name_col is not None else ["" for _ in labels]
    totals, block_rows = _fixed_rows(tab, report, names, name_col)
    fixed = {i for i, _ in block_rows} | set(totals)
    covered = {r.name for _, u in block_rows for r in report.layers if u.name in r.groups}
    rows = [i for i in range(len(tab.rows)) if i not in fixed]
    blocks = {name_key(b.name) for b in report.blocks}
    known = {k for u in _units(eng, True) for k in u.keys} | set(blocks)
    by_name = name_col is not None and any(
        name_key(names[i]) in known or _row_family(name_key(names[i])) is not None for i in rows)
    if name_col is not None and not by_name:
        notes.append(f"the names in column {tab.headers[name_col]!r} match no layer of the spec; rows were matched "
                     "in order")
    match = _best_match(eng, tab, rows, cells, names, by_name, covered)
    pairs = list(match.pairs) + [(i, Unit("total", "total")) for i in totals] + block_rows
    pairs.sort(key=lambda p: p[0])
    header = tab.headers[name_col].strip() if name_col is not None else ""
    column = f"column {header!r}" if header else "the first column" if name_col == 0 else f"column {name_col}"
    notes.extend(_match_notes(eng, column, match, names, by_name, len(rows) + len(block_rows), covered))
    if block_rows:
        notes.append(", ".join(f"row {i + 1} is block {u.name}" for i, u in block_rows)
                     + (": their figures are sums over their layers" if len(block_rows) > 1 else
                        ": its figures are sums over its layers"))
    order = _layout(eng, pairs, cells, layout)
    if layout == "auto":
        notes.append({
            "hwc": "shapes read as H×W×C (cs231n style), as most of them are written; --layout chw reads them "
                   "channels first",
            "chw": "shapes read as C×H×W (channels first), as most of them are written; --layout hwc reads them "
                   "as H×W×C",
            "either": "no shape tells H×W×C from C×H×W, so either order is accepted",
        }[order])
    given_shapes: dict[str, tuple[int, str, Shape]] = {}
    sums: dict[int, int] = {}
    for i in rows:
        for g in cells[i]:
            if g.number is not None:
                sums[g.column.index] = sums.get(g.column.index, 0) + round(g.number[0])
    out: list[Cell] = []
    for i, unit in pairs:
        line = tab.rows[i][0]
        fig = eng.figures(unit)
        carried = _carried(eng, unit, given_shapes)
        for g in cells[i]:
            total = sums.get(g.column.index) if unit.role == "total" else None
            out.append(_cell(eng, unit, fig, g, order, i + 1, line, labels[i], carried, total))
        for g in cells[i]:
            if g.column.kind == "shape" and g.shape is not None and unit.role != "total":
                shape = _as_chw(g.shape, order, fig.shape)
                if shape != fig.shape and len(shape) == len(fig.shape):
                    given_shapes[unit.node.name if unit.node is not None else INPUT] = (i + 1, g.text, shape)
    matches = tuple((i + 1, u.name) for i, u in pairs)
    return CheckResult(str(table), report.model, order, tuple(out), tuple(notes), matches)


def _fixed_rows(tab: Table, report: Report, names: list[str], name_col: int | None,
                ) -> tuple[list[int], list[tuple[int, Unit]]]:
    """Rows that need no alignment: a total row, and rows that name a block instance (a stage, a module)."""
    total_keys = {name_key(t) for t in _TOTAL}
    firsts = names if name_col is not None else [row[0] if row else "" for _, row in tab.rows]
    totals = [i for i, label in enumerate(firsts) if name_key(label) in total_keys]
    written = [name_key(n) for n in names]
    blocks = {name_key(b.name): b.name for b in report.blocks}
    block_rows = [(i, Unit(blocks[k], "block")) for i, k in enumerate(written)
                  if k in blocks and written.count(k) == 1 and i not in totals]
    return totals, block_rows


def _by_name_only(eng: _Engine, rows: list[int], names: list[str]) -> _Match | None:
    """Rows matched by their names alone, in any order, when every row names exactly one layer (or activation)."""
    keys = [name_key(names[i]) for i in rows]
    if not all(keys) or len(set(keys)) != len(keys):
        return None
    fused, split = _units(eng, False), _units(eng, True)
    acts = {k: u for u in split if u.role == "act" for k in u.keys}
    split_nodes = {node.name for k in keys if k in acts for node in [acts[k].node] if node is not None}
    units = [fused[0]]  # the input
    for node in eng.net.nodes:
        source = split if node.name in split_nodes else fused
        units += [u for u in source if u.node is node]
    pairs = []
    for i, key in zip(rows, keys, strict=True):
        found = [u for u in units if key in u.keys]
        if len(found) != 1:
            return None
        pairs.append((i, found[0]))
    used = {id(u) for _, u in pairs}
    if len(used) != len(pairs):
        return None
    order = {id(u): n for n, u in enumerate(units)}
    skipped = sorted((u for u in units if id(u) not in used), key=lambda u: order[id(u)])
    return _Match(units, pairs, skipped, 0.0)


def _best_match(eng: _Engine, tab: Table, rows: list[int], cells: list[list[_Given]], names: list[str],
                by_name: bool, covered: set[str]) -> _Match:
    direct = _by_name_only(eng, rows, names) if by_name else None
    if direct is not None:
        return direct
    best: _Match | None = None
    stuck = -1
    for split in (False, True):
        units = _units(eng, split)
        got, at = _align(eng, units, rows, cells, names, by_name, covered)
        if got is not None and (best is None or got.score > best.score):
            best = got
        stuck = max(stuck, at)
    if best is None:
        layers = list(eng.net.nodes)
        main = [n for n in layers if not _quiet(n.layer)]
        label = names[stuck] if names[stuck] else tab.rows[stuck][1][0] if tab.rows[stuck][1] else ""
        what = f" ('{label}')" if label else ""
        if by_name:
            reason = f"cannot place{what}: its name or kind does not fit the spec's layers in the table's order"
        else:
            reason = (f"cannot match the table's {len(rows)} rows to the spec's {len(layers)} layers in order "
                      f"({len(main)} not counting activations, dropout, flatten and normalisation, which a table "
                      f"may leave out; an input row is allowed); this row{what} is the first left over")
        raise tab.fail(reason, stuck + 1, hint="add a 'Layer' column with the spec's layer names "
                                               f"({', '.join(n.name for n in layers[:6])}{', …' * (len(layers) > 6)})")
    return best


def _match_notes(eng: _Engine, header: str, match: _Match, names: list[str], by_name: bool, count: int,
                 covered: set[str]) -> list[str]:
    notes = []
    layers = len(eng.net.nodes)
    how = f"by the names in {header}" if by_name else "in order"
    counted = f"the table has {count} row{'s' * (count != 1)} and the spec {layers} layer{'s' * (layers != 1)}"
    pairs = match.pairs
    parts = [f"rows matched to the spec's layers {how}"]
    if count != layers or not by_name:
        parts.insert(0, counted)
    notes.append("; ".join(parts))
    inputs = [i + 1 for i, u in pairs if u.role == "input"]
    if inputs:
        notes.append(f"row {inputs[0]} is the network's input ({'x'.join(map(str, eng.report.input))})")
    acts = [(i + 1, u) for i, u in pairs if u.role == "act"]
    if acts:
        fused = ", ".join(f"row {i} is {u.node.name if u.node else u.name}'s fused {u.name.rsplit('/', 1)[-1]}"
                          for i, u in acts)
        notes.append(f"the spec fuses activations that the table lists on their own rows: {fused} (the layer's "
                     "own row then counts it without the activation)")
    quiet = [u.name for u in match.skipped if u.role not in ("input", "act") and u.quiet]
    if quiet and not by_name:
        notes.append(f"not in the table (activations, dropout, flatten, normalisation): {_few(quiet)}")
    loud = [u.name for u in match.skipped if not u.quiet and u.name not in covered]
    if loud:
        notes.append(f"layers with no row in the table, so not checked: {_few(loud)}")
    if by_name:
        unknown = [i + 1 for i, u in pairs if names[i] and name_key(names[i]) not in u.keys
                   and _row_family(name_key(names[i])) is None]
        if unknown:
            notes.append(f"row{'s' * (len(unknown) > 1)} {', '.join(map(str, unknown))}: the name matches no "
                         "layer; placed by order and cells")
    return notes


def _few(names: list[str]) -> str:
    return ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")


def _layout(eng: _Engine, pairs: list[tuple[int, Unit]], cells: list[list[_Given]], layout: Layout) -> Order:
    if layout != "auto":
        return layout
    votes = {"chw": 0, "hwc": 0}
    leans = {"chw": 0, "hwc": 0}
    for i, unit in pairs:
        if unit.role == "total":
            continue
        shape = eng.figures(unit).shape
        for g in cells[i]:
            if g.column.kind != "shape" or g.shape is None or g.shape[1] != "either":
                continue
            orders = _shape_orders(shape, g.shape[0])
            if len(orders) == 1:
                votes[next(iter(orders))] += 1
            elif not orders and len(g.shape[0]) == len(shape) > 1 and shape[0] != shape[-1]:
                leans[_closer(shape, g.shape[0])] += 1  # wrong sizes still show where the channels are
    if votes["hwc"] == votes["chw"]:
        votes = leans
    if votes["hwc"] == votes["chw"]:
        return "either"
    return "hwc" if votes["hwc"] > votes["chw"] else "chw"


def _as_chw(given: tuple[tuple[int, ...], Order], order: Order, correct: Shape) -> Shape:
    """A written shape channels first, in the table's order (or the order closer to ``correct``)."""
    dims, stated = given
    use = stated if stated != "either" else order
    if use == "either":
        use = _closer(correct, dims)
    return (dims[-1], *dims[:-1]) if use == "hwc" and len(dims) > 1 else tuple(dims)


def _closer(shape: Shape, written: tuple[int, ...] | list[int]) -> Literal["chw", "hwc"]:
    """The order in which ``written`` agrees with ``shape`` in more places (channels first on a tie)."""
    hwc = sum(a == b for a, b in zip(_in_order(shape, "hwc"), written, strict=False))
    chw = sum(a == b for a, b in zip(shape, written, strict=False))
    return "hwc" if hwc > chw else "chw"


def _carried(eng: _Engine, unit: Unit, given: dict[str, tuple[int, str, Shape]]) -> tuple[int, str, Shape] | None:
    """The wrong shape a row's input was given in an earlier row, carried through the layers between them."""
    if unit.node is None or len(unit.node.inputs) != 1 or unit.role == "act":
        return None
    chain: list[Node] = []
    name = unit.node.inputs[0]
    while name not in given:
        if name not in eng.nodes:
            return None
        prev = eng.nodes[name]
        if len(prev.inputs) != 1 or not _quiet(prev.layer):
            return None
        chain.append(prev)
        name = prev.inputs[0]
    row, text, shape = given[name]
    for prev in reversed(chain):
        try:
            shape = evaluate(prev, {prev.inputs[0]: shape}, eng.input_of, eng.types).shape
        except CnncalcError:
            return None
    return row, text, shape


def _show_shape(shape: Shape, order: Order, given: str) -> str:
    """The correct shape in the table's order (or, when either is accepted, in the order closer to ``given``)."""
    dims = _in_order(shape, _closer(shape, _dims_in(given)) if order == "either" else order)
    if given.strip().startswith(("(", "[")):
        return f"({','.join(map(str, dims))})" if given.strip().startswith("(") else str(list(dims))
    return "x".join(map(str, dims))


def _cell(eng: _Engine, unit: Unit, fig: Figures, g: _Given, order: Order, row: int, line: int, label: str,
          carried: tuple[int, str, Shape] | None, column_sum: int | None = None) -> Cell:
    kind = g.column.kind
    name = unit.name
    base = functools.partial(Cell, row, line, name, label, g.column.header, kind, g.text)
    if kind == "receptive_field":
        ok = _rf_ok(eng, unit, g)
        rf = None if unit.node is None else eng.rows[unit.node.name].receptive_field
        if unit.role == "input":
            rf = tuple(1 for _ in eng.report.input[1:])
        correct = "all" if rf is None else str(rf[0]) if len(set(rf)) == 1 else "x".join(map(str, rf))
        return base(correct=correct, ok=ok, derivation=fig.lines.get("receptive_field", ""))
    if kind == "shape":
        correct = _show_shape(fig.shape, order, g.text) if unit.role != "total" else ""
        ok = _agrees(eng, unit, g, order)
        mistake = "" if ok else _diagnose(eng, unit, fig, g, order, carried)
        derivation = fig.lines.get("shape", "")
        return base(correct=correct, ok=ok, derivation=derivation, mistake=mistake)
    value = fig.values.get(kind, 0)
    ok = _agrees(eng, unit, g, order)
    derivation = fig.lines.get(kind, "")
    if ok and unit.role == "bare" and kind == "flops" and g.number is not None \
            and not _number_ok(value, g.number) and unit.node is not None:
        value = eng.rows[unit.node.name].flops  # the layer with its fused activation, as the spec writes it
        derivation = next(x.text() for x in eng.explained[unit.node.name].lines if x.label == "FLOPs")
    mistake = ""
    if not ok:
        mistake = _diagnose(eng, unit, fig, g, order, carried)
        if not mistake and unit.role == "total" and g.number is not None and column_sum is not None \
                and _number_ok(column_sum, g.number):
            mistake = (f"the sum of the column as written ({column_sum:,}): right for the rows above, which "
                       "carry their own mistakes")
    return base(correct=f"{value:,}", ok=ok, derivation=derivation, mistake=mistake)
