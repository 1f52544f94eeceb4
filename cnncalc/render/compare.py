"""Renderings of comparisons: networks side by side (table, JSON, CSV, Markdown) and a layer-by-layer diff.

Exact integers in JSON and CSV; humanised figures with ratios to the first network in the table and Markdown.
"""

from __future__ import annotations

import csv as _csv
import io
import json as _json
from collections.abc import Callable

from cnncalc.engine.compare import DELTA_FIELDS, METRICS, Comparison, LayerChange, LayerDiff
from cnncalc.render.text import Layout, field_text, human, human_bytes, shape_text

#: Column headers of the side-by-side table, per metric.
HEADERS = {"params": "Params", "macs": "MACs", "flops": "FLOPs", "activations": "Acts",
           "activation_bytes": "Act mem", "peak_bytes": "Peak", "depth": "Depth"}


def _rf(values: tuple[int | float, ...] | None) -> str:
    return field_text(values, whole="—", collapse=True) or "—"


def _figure(metric: str, value: int | None) -> str:
    if value is None:
        return "—"
    if metric == "depth":
        return str(value)
    if metric.endswith("_bytes"):
        return human_bytes(value)
    return human(value)


def _times(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}×" if value >= 0.1 or value == 0 else f"{value:.2g}×"


def _grid(header: list[str], body: list[list[str]], right: set[int]) -> list[str]:
    """Columns padded to their widest cell; ``right`` holds the right-aligned column indices."""
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), "─" * (sum(widths) + 2 * (len(widths) - 1)),
            *(line(row) for row in body)]


def _shown_metrics(comparison: Comparison) -> tuple[str, ...]:
    """Leave out the peak column while no network knows its peak."""
    known = any(s.peak_bytes is not None for s in comparison.summaries)
    return tuple(m for m in METRICS if m != "peak_bytes" or known)


#: The terminal table's columns: metric and whether a ratio column follows it (FLOPs track MACs, and the
#: activation count tracks its memory, so those two go without; JSON, CSV and Markdown have every ratio).
_TABLE = (("params", True), ("macs", True), ("flops", False), ("activation_bytes", True), ("peak_bytes", True),
          ("depth", False))


def table(comparison: Comparison, layout: Layout = "chw") -> str:
    """Networks as rows, the main figures followed by their ratio to the first network."""
    metrics = _shown_metrics(comparison)
    header = ["Network", "Input"]
    for m, with_ratio in _TABLE:
        if m in metrics:
            header += [HEADERS[m], "×"] if with_ratio else [HEADERS[m]]
    header.append("RF")
    body = []
    for s in comparison.summaries:
        ratios = comparison.ratios(s)
        row = [s.model, shape_text(s.input, layout)]
        for m, with_ratio in _TABLE:
            if m in metrics:
                row += [_figure(m, s.value(m)), _times(ratios[m])] if with_ratio else [_figure(m, s.value(m))]
        row.append(_rf(s.final_rf))
        body.append(row)
    right = set(range(2, len(header)))
    first = comparison.summaries[0]
    notes = [f"× = ratio to {first.model}; batch {first.batch}, {first.dtype}; Act mem = input + every stored output",
             "Depth = weight layers (conv, fc) on the longest path; RF = field of the last layer that has one"]
    return "\n".join([*_grid(header, body, right), "", *notes]) + "\n"


def json(comparison: Comparison) -> str:
    """``Comparison.to_dict()`` as indented JSON (exact integers, ratios as floats)."""
    return _json.dumps(comparison.to_dict(), indent=2) + "\n"


def csv(comparison: Comparison, layout: Layout = "chw") -> str:
    """One row per network, exact integers, then one ratio column per metric."""
    out = io.StringIO()
    writer = _csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "input", *METRICS, "final_rf", *(f"{m}_ratio" for m in METRICS)])
    for s in comparison.summaries:
        ratios = comparison.ratios(s)
        writer.writerow([
            s.model, shape_text(s.input, layout), *("" if s.value(m) is None else s.value(m) for m in METRICS),
            "" if s.final_rf is None else "x".join(map(str, s.final_rf)),
            *("" if ratios[m] is None else f"{ratios[m]:.6g}" for m in METRICS),
        ])
    return out.getvalue()


def markdown(comparison: Comparison, layout: Layout = "chw") -> str:
    """A GitHub table: each figure with its ratio to the first network."""
    metrics = _shown_metrics(comparison)
    lines = ["| network | input | " + " | ".join(HEADERS[m] for m in metrics) + " | RF |",
             "|---|---|" + "--:|" * len(metrics) + "--:|"]
    for s in comparison.summaries:
        ratios = comparison.ratios(s)
        cells = [f"{_figure(m, s.value(m))} ({_times(ratios[m])})" for m in metrics]
        lines.append(f"| {s.model} | {shape_text(s.input, layout)} | " + " | ".join(cells) + f" | {_rf(s.final_rf)} |")
    lines += ["", f"Ratios are to {comparison.summaries[0].model}. Depth counts weight layers (conv, fc) on the "
              "longest path."]
    return "\n".join(lines) + "\n"


COMPARE_RENDERERS: dict[str, Callable[[Comparison, Layout], str]] = {
    "table": table,
    "json": lambda c, _layout: json(c),
    "csv": csv,
    "markdown": markdown,
}


# --- layer diff -------------------------------------------------------------------------------------------------

_MARK = {"added": "+", "removed": "-", "changed": "~", "same": " "}


def _signed(value: int) -> str:
    return "0" if value == 0 else f"{value:+,}"


def _pair(before: str, after: str) -> str:
    return before if before == after else f"{before} → {after}"


def _cells(change: LayerChange, layout: Layout) -> list[str]:
    a, b = change.before, change.after
    if a is not None and b is not None:
        config = _pair(a.summary, b.summary) if a.type == b.type else f"{a.type} {a.summary} → {b.type} {b.summary}"
        shape = _pair(shape_text(a.output_shape, layout), shape_text(b.output_shape, layout))
    else:
        row = a if a is not None else b
        assert row is not None
        config, shape = f"{row.type} {row.summary}".strip(), shape_text(row.output_shape, layout)
    return [_MARK[change.status], change.name, config, shape,
            *(_signed(change.delta(m)) for m in DELTA_FIELDS if m != "flops")]


def _totals(d: LayerDiff) -> list[str]:
    out = []
    for m in ("params", "macs", "flops", "activations", "activation_bytes", "depth"):
        a, b = d.before.value(m), d.after.value(m)
        if a is None or b is None:
            continue
        pct = "" if a == 0 else f" ({(b - a) / a:+.1%})"
        out.append(f"{HEADERS[m]:<8} {_figure(m, a):>9} → {_figure(m, b):<9} {_signed(b - a)}{pct}")
    return out


def diff_table(d: LayerDiff, layout: Layout = "chw", *, show_same: bool = False) -> str:
    """Added (+), removed (-) and changed (~) rows with their deltas, then the totals before and after."""
    header = ["", "Layer", "Config", "Output", "Δ Params", "Δ MACs", "Δ Acts"]
    body = [_cells(c, layout) for c in d.changes if show_same or c.status != "same"]
    lines = [f"{d.before.model} → {d.after.model}: {d.count('added')} added, {d.count('removed')} removed, "
             f"{d.count('changed')} changed, {d.count('same')} unchanged"]
    if body:
        lines += ["", *_grid(header, body, {4, 5, 6})]
    lines += ["", *_totals(d)]
    return "\n".join(lines) + "\n"


def diff_json(d: LayerDiff) -> str:
    """``LayerDiff.to_dict()`` as indented JSON."""
    return _json.dumps(d.to_dict(), indent=2) + "\n"


def diff_csv(d: LayerDiff, layout: Layout = "chw") -> str:
    """One row per added, removed or changed layer, before and after side by side, exact deltas."""
    out = io.StringIO()
    writer = _csv.writer(out, lineterminator="\n")
    writer.writerow(["status", "name", "changed", "type_before", "type_after", "summary_before", "summary_after",
                     "output_before", "output_after", *(f"delta_{m}" for m in DELTA_FIELDS)])
    for c in d.changes:
        if c.status == "same":
            continue
        a, b = c.before, c.after
        writer.writerow([
            c.status, c.name, " ".join(c.changed), a.type if a else "", b.type if b else "",
            a.summary if a else "", b.summary if b else "",
            shape_text(a.output_shape, layout) if a else "", shape_text(b.output_shape, layout) if b else "",
            *(c.delta(m) for m in DELTA_FIELDS),
        ])
    return out.getvalue()


def diff_markdown(d: LayerDiff, layout: Layout = "chw") -> str:
    """A GitHub table of the changed rows and the totals, for a pull-request description."""
    lines = [f"**{d.before.model} → {d.after.model}**: {d.count('added')} added, {d.count('removed')} removed, "
             f"{d.count('changed')} changed, {d.count('same')} unchanged", "",
             "| | layer | config | output | Δ params | Δ MACs | Δ activations |", "|---|---|---|---|--:|--:|--:|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _cells(c, layout)) + " |"
              for c in d.changes if c.status != "same"]
    lines += ["", *(f"- {line}" for line in _totals(d))]
    return "\n".join(lines) + "\n"


DIFF_RENDERERS: dict[str, Callable[[LayerDiff, Layout], str]] = {
    "table": diff_table,
    "json": lambda d, _layout: diff_json(d),
    "csv": diff_csv,
    "markdown": diff_markdown,
}
