"""Marking a table: every cell against what its row stands for, with notes on how the table was read.

This is ``cnncalc check`` end to end (read the table, place its rows, mark each cell, name the slips); the other
modules of the package each do one of those steps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cnncalc.engine.graph import evaluate
from cnncalc.engine.report import Analysis
from cnncalc.errors import CnncalcError
from cnncalc.model import INPUT, Node, Shape
from cnncalc.proof.homework.align import (
    best_match,
    fixed_rows,
    match_notes,
    name_key,
    name_slips,
    row_family,
    units,
)
from cnncalc.proof.homework.cells import (
    Given,
    Order,
    TableLayout,
    closer,
    in_order,
    number_ok,
    parse_cells,
    shape_orders,
)
from cnncalc.proof.homework.derive import Engine, Figures, FlopsConvention, Unit, agrees, rf_ok
from cnncalc.proof.homework.slips import diagnose
from cnncalc.proof.homework.table import Column, Table, dims_in, find_columns, flops_note, read_table

#: How rows are placed: by names, kinds, shapes and order together (``auto``), or by order and cells alone.
MatchBy = Literal["auto", "order"]
FlopsOption = Literal["auto"] | FlopsConvention


@dataclass(frozen=True, slots=True)
class Cell:
    """One marked cell: where it is, what was written, the right value, and why."""

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
    """All marked cells, how the rows were matched, and what was assumed to read the table."""

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


_LAYOUT_NOTES = {
    "hwc": "shapes read as H×W×C (cs231n style), as most of them are written; --layout chw reads them "
           "channels first",
    "chw": "shapes read as C×H×W (channels first), as most of them are written; --layout hwc reads them "
           "as H×W×C",
    "either": "no shape tells H×W×C from C×H×W, so either order is accepted",
}


def check(report: Analysis, table: str | Path, layout: TableLayout = "auto", *, match_by: MatchBy = "auto",
          flops: FlopsOption = "auto") -> CheckResult:
    """Mark every cell of ``table`` against ``report`` (the analysis of a spec); see the package's docstring.

    ``match_by="order"`` ignores the row names; ``flops`` is how the table counts FLOPs (``auto``: as a note
    in the file says, else as most of its FLOPs cells do, else cnncalc's own ``2macs+bias+act``).
    """
    tab = read_table(table)
    columns, name_col, ignored = find_columns(tab)
    if not columns:
        raise tab.fail(f"no column to check among {', '.join(repr(h) for h in tab.headers)}",
                       hint="name the columns like 'Activation shape', 'Activation size', '# parameters', "
                            "'MACs', 'FLOPs', 'receptive field'")
    eng = Engine(report, torchinfo=tab.style == "torchinfo")
    cells = parse_cells(tab, columns)
    labels = [row[name_col] if name_col is not None and name_col < len(row) else "" for _, row in tab.rows]
    notes: list[str] = []
    if ignored:
        notes.append(f"not checked: column{'s' * (len(ignored) > 1)} {', '.join(repr(h) for h in ignored)}")
    names = labels if name_col is not None else ["" for _ in labels]
    totals, block_rows = fixed_rows(tab, report, names, name_col)
    fixed = {i for i, _ in block_rows} | set(totals)
    covered = {r.name for _, u in block_rows for r in report.layers if u.name in r.groups}
    rows = [i for i in range(len(tab.rows)) if i not in fixed]
    blocks = {name_key(b.name) for b in report.blocks}
    known = {k for u in units(eng, True) for k in u.keys} | set(blocks)
    by_name = _by_name(tab, names, rows, name_col, known, match_by, notes)
    match = best_match(eng, tab, rows, cells, names, by_name, covered)
    pairs = list(match.pairs) + [(i, Unit("total", "total")) for i in totals] + block_rows
    pairs.sort(key=lambda p: p[0])
    header = tab.headers[name_col].strip() if name_col is not None else ""
    column = f"column {header!r}" if header else "the first column" if name_col == 0 else f"column {name_col}"
    notes.extend(match_notes(eng, column, match, names, by_name, len(rows) + len(block_rows), covered))
    if block_rows:
        notes.append(", ".join(f"row {i + 1} is block {u.name}" for i, u in block_rows)
                     + (": their figures are sums over their layers" if len(block_rows) > 1 else
                        ": its figures are sums over its layers"))
    _flops_convention(eng, tab, columns, pairs, cells, flops, notes)
    order = _layout(eng, pairs, cells, layout)
    if layout == "auto":
        notes.append(_LAYOUT_NOTES[order])
    given_shapes: dict[str, tuple[int, str, Shape]] = {}
    sums: dict[int, int] = {}
    for i in rows:
        for g in cells[i]:
            if g.number is not None:
                sums[g.column.index] = sums.get(g.column.index, 0) + round(g.number[0])
    out: list[Cell] = []
    slips = dict(name_slips(match, names))
    for i, unit in pairs:
        line = tab.rows[i][0]
        fig = eng.figures(unit)
        if i in slips:
            out.append(_name_slip(unit, i + 1, line, labels[i], header))
        carried = _carried(eng, unit, given_shapes)
        for g in cells[i]:
            total = sums.get(g.column.index) if unit.role == "total" else None
            out.append(_mark(eng, unit, fig, g, order, i + 1, line, labels[i], carried, total))
        for g in cells[i]:
            if g.column.kind == "shape" and g.shape is not None and unit.role != "total":
                shape = _as_chw(g.shape, order, fig.shape)
                if shape != fig.shape and len(shape) == len(fig.shape):
                    given_shapes[unit.node.name if unit.node is not None else INPUT] = (i + 1, g.text, shape)
    notes.extend(_root_causes(out))
    matches = tuple((i + 1, u.name) for i, u in pairs)
    return CheckResult(str(table), report.model, order, tuple(out), tuple(notes), matches)


def _by_name(tab: Table, names: list[str], rows: list[int], name_col: int | None, known: set[str],
             match_by: MatchBy, notes: list[str]) -> bool:
    """Whether rows are placed by their names (some name a layer, a block or a kind, and ``--match`` allows it)."""
    by_name = match_by != "order" and name_col is not None and any(
        name_key(names[i]) in known or row_family(name_key(names[i])) is not None for i in rows)
    if match_by == "order" and name_col is not None:
        notes.append(f"--match order: the names in column {tab.headers[name_col]!r} were not used to place rows")
    elif name_col is not None and not by_name:
        notes.append(f"the names in column {tab.headers[name_col]!r} match no layer of the spec; rows were matched "
                     "in order")
    return by_name


def _flops_convention(eng: Engine, tab: Table, columns: list[Column], pairs: list[tuple[int, Unit]],
                      cells: list[list[Given]], flops: FlopsOption, notes: list[str]) -> None:
    """Set how FLOPs cells are counted: as asked, as a note in the file says, or as most FLOPs cells agree."""
    if not any(c.kind == "flops" for c in columns):
        return
    if flops != "auto":
        eng.flops = flops
        return
    stated = flops_note([*tab.remarks, *(c.header for c in columns if c.kind == "flops")])
    if stated is not None:
        eng.flops = stated  # type: ignore[assignment]
        notes.append(f"FLOPs read as {_FLOPS_WORDS[stated]}, as the table's note says (--flops chooses)")
        return
    # Without a note, only the common course convention (2·MACs) is adopted from the cells, and only when more
    # cells follow it than cnncalc's own: FLOPs written as the MACs count stay a slip to name.
    votes = {}
    for convention in ("2macs+bias+act", "2macs"):
        eng.flops = convention
        votes[convention] = sum(agrees(eng, u, g, "either") for i, u in pairs for g in cells[i]
                                if g.column.kind == "flops" and u.role != "input")
    best: FlopsConvention = "2macs" if votes["2macs"] > votes["2macs+bias+act"] else "2macs+bias+act"
    eng.flops = best
    if best != "2macs+bias+act":
        notes.append(f"FLOPs read as {_FLOPS_WORDS[best]}, the convention most FLOPs cells follow (--flops "
                     "2macs+bias+act counts bias adds and activations too)")


_FLOPS_WORDS = {"2macs": "2·MACs (two per multiply-add)", "macs": "multiply-adds (FLOPs = MACs)",
                "2macs+bias+act": "2·MACs plus bias adds and activations"}


def _layout(eng: Engine, pairs: list[tuple[int, Unit]], cells: list[list[Given]], layout: TableLayout) -> Order:
    """The order the table writes shapes in: the one most of its shape cells agree with."""
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
            orders = shape_orders(shape, g.shape[0])
            if len(orders) == 1:
                votes[next(iter(orders))] += 1
            elif not orders and len(g.shape[0]) == len(shape) > 1 and shape[0] != shape[-1]:
                leans[closer(shape, g.shape[0])] += 1  # wrong sizes still show where the channels are
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
        use = closer(correct, dims)
    return (dims[-1], *dims[:-1]) if use == "hwc" and len(dims) > 1 else tuple(dims)


def _carried(eng: Engine, unit: Unit, given: dict[str, tuple[int, str, Shape]]) -> tuple[int, str, Shape] | None:
    """The wrong shape a row's input was given in an earlier row, carried through the layers between them."""
    if unit.node is None or len(unit.node.inputs) != 1 or unit.role == "act":
        return None
    chain: list[Node] = []
    name = unit.node.inputs[0]
    while name not in given:
        if name not in eng.nodes:
            return None
        prev = eng.nodes[name]
        if len(prev.inputs) != 1 or not type(prev.layer).quiet:
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


def _root_causes(cells: list[Cell]) -> list[str]:
    """One note per wrong shape that later rows carry over, so the cause is named once, not only row by row."""
    import re

    origins: dict[int, list[int]] = {}
    for cell in cells:
        m = re.match(r"carried over from row (\d+)'s shape", cell.mistake)
        if m and not cell.ok:
            origins.setdefault(int(m.group(1)), []).append(cell.row)
    # a row that carries over from a row that itself carries over belongs to the first one
    first: dict[int, int] = {}
    for origin in sorted(origins):
        root = next((r for r, rows in origins.items() if origin in rows and r != origin), origin)
        first[origin] = first.get(root, root)
    grouped: dict[int, set[int]] = {}
    for origin, later in origins.items():
        grouped.setdefault(first[origin], set()).update(later)
    notes = []
    for root, rows in sorted(grouped.items()):
        if len(rows) < 2:
            continue
        cause = next((c for c in cells if c.row == root and c.kind == "shape" and not c.ok), None)
        what = f"its shape {cause.given} should be {cause.correct}" + (f" ({cause.mistake})" if cause and
                                                                        cause.mistake else "") if cause else ""
        shown = ", ".join(map(str, sorted(rows)[:8])) + (" …" if len(rows) > 8 else "")
        notes.append(f"root cause: row {root}" + (f": {what}" if what else "") + f"; rows {shown} carry that "
                     "wrong shape over and are right for it")
    return notes


def _name_slip(unit: Unit, row: int, line: int, label: str, header: str) -> Cell:
    """The name cell of a row whose name states another kind of layer than its place in order and cells say."""
    kind = row_family(name_key(label))
    what = unit.node.layer.type if unit.node is not None else unit.role
    return Cell(row, line, unit.name, label, header, "name", label, unit.name, False, "",
                f"name slip: '{label}' says {kind}, but the row's place in order and its cells are "
                f"{unit.name}'s ({what})")


def _erratum(eng: Engine, kind: str, g: Given) -> str:
    """A wrong total that is a published figure the spec records as a known erratum: cite it."""
    if g.number is None or eng.report.network is None:
        return ""
    from cnncalc.spec.figures import parse_figure

    for exp in eng.report.network.expect:
        figure = getattr(exp, kind, None) if kind in ("params", "weights", "macs", "flops", "activations") else None
        if exp.erratum is None or figure is None:
            continue
        value, half = (float(figure), 0.0) if isinstance(figure, int) else parse_figure(str(figure))
        if abs(value - g.number[0]) <= max(half, g.number[1]) + 1e-9 * abs(value):
            source = " ".join(exp.source.split())
            source = source if len(source) <= 90 else source[:89] + "…"
            return f"the published figure of {source}, a known erratum: {' '.join(exp.erratum.split())}"
    return ""


def _show_shape(shape: Shape, order: Order, given: str) -> str:
    """The correct shape in the table's order (or, when either is accepted, in the order closer to ``given``)."""
    dims = in_order(shape, closer(shape, dims_in(given)) if order == "either" else order)
    if given.strip().startswith(("(", "[")):
        return f"({','.join(map(str, dims))})" if given.strip().startswith("(") else str(list(dims))
    return "x".join(map(str, dims))


def _mark(eng: Engine, unit: Unit, fig: Figures, g: Given, order: Order, row: int, line: int, label: str,
          carried: tuple[int, str, Shape] | None, column_sum: int | None = None) -> Cell:
    """One cell marked: right or wrong, the correct value, its derivation and, when wrong, the likely slip."""
    kind = g.column.kind
    base = functools.partial(Cell, row, line, unit.name, label, g.column.header, kind, g.text)
    if kind == "receptive_field":
        rf = None if unit.node is None else eng.rows[unit.node.name].receptive_field
        if unit.role == "input":
            rf = tuple(1 for _ in eng.report.input[1:])
        correct = "all" if rf is None else str(rf[0]) if len(set(rf)) == 1 else "x".join(map(str, rf))
        return base(correct=correct, ok=rf_ok(eng, unit, g), derivation=fig.lines.get("receptive_field", ""))
    ok = agrees(eng, unit, g, order)
    if kind == "shape":
        correct = _show_shape(fig.shape, order, g.text) if unit.role != "total" else ""
        mistake = "" if ok else diagnose(eng, unit, fig, g, order, carried)
        return base(correct=correct, ok=ok, derivation=fig.lines.get("shape", ""), mistake=mistake)
    value = fig.values.get(kind, 0)
    derivation = fig.lines.get(kind, "")
    if ok and unit.role == "bare" and kind == "flops" and g.number is not None and eng.flops == "2macs+bias+act" \
            and not number_ok(value, g.number) and unit.node is not None:
        value = eng.rows[unit.node.name].flops  # the layer with its fused activation, as the spec writes it
        derivation = next(x.text() for x in eng.explained[unit.node.name].lines if x.label == "FLOPs")
    mistake = ""
    if not ok:
        mistake = diagnose(eng, unit, fig, g, order, carried)
        erratum = _erratum(eng, kind, g) if unit.role == "total" else ""
        if erratum:
            mistake = erratum
        elif not mistake and unit.role == "total" and g.number is not None and column_sum is not None \
                and number_ok(column_sum, g.number):
            mistake = (f"the sum of the column as written ({column_sum:,}): right for the rows above, which "
                       "carry their own mistakes")
        elif not mistake and unit.role == "total" and kind == "macs" and eng.torchinfo:
            mistake = eng.torchinfo_slip(g)
    return base(correct=f"{value:,}", ok=ok, derivation=derivation, mistake=mistake)

