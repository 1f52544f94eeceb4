"""Renderers for symbolic reports (closed forms in H, W, N) and for ``cnncalc sizes``.

A symbolic report's figures are :class:`~cnncalc.engine.symbolic.expr.Expr` forms or ints, so the numeric table's
share bars and humanised totals do not apply: rows show the forms, and the conditions under which the network is
valid (and exact) follow the table. JSON keeps the report's contract with forms as strings, plus a ``symbolic``
object holding the conditions and a machine-readable tree for every form.
"""

from __future__ import annotations

import fnmatch
import json as _json
import re
from typing import Any

from cnncalc.engine.symbolic.analysis import SymbolicAnalysis, symbolic_fields
from cnncalc.engine.symbolic.conditions import Condition
from cnncalc.engine.symbolic.expr import Expr
from cnncalc.engine.symbolic.sizes import Sizes, describe
from cnncalc.render.text import Layout, shape_text


def _num(x: Any) -> str:
    return str(x) if isinstance(x, Expr) else f"{x:,}"


def _given(x: Any) -> bool:
    """A figure to show: any form, or a nonzero number (a form's truth value may depend on the sizes)."""
    return isinstance(x, Expr) or x != 0


def _shape(shape: tuple[Any, ...], layout: Layout) -> str:
    """``64x⌊(H + 1) / 2⌋x(4·⌊H / 16⌋ − 40)``: a dim that is a sum is parenthesised, so the x's stay readable."""
    dims: tuple[Any, ...] = tuple(f"({d})" if isinstance(d, Expr) and len(d.terms) > 1 else d for d in shape)
    return str(shape_text(dims, layout))


_SIMPLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*) ≥ (-?\d+)$")


def shown_conditions(report: SymbolicAnalysis, role: str) -> list[Condition]:
    """Conditions of ``role`` to list: of the simple bounds ``H ≥ k`` only the strongest per symbol."""
    conds = [c for c in report.conditions if c.role == role]
    best: dict[str, tuple[int, Condition]] = {}
    for c in conds:
        m = _SIMPLE.match(c.text())
        if m and (m.group(1) not in best or int(m.group(2)) > best[m.group(1)][0]):
            best[m.group(1)] = (int(m.group(2)), c)
    keep = {id(c) for _, c in best.values()}
    return [c for c in conds if not _SIMPLE.match(c.text()) or id(c) in keep]


def _header(report: SymbolicAnalysis, layout: Layout) -> str:
    symbols = ", ".join(report.symbols)
    return (f"{report.model} — input {_shape(report.input, layout)}, batch {report.batch}, {report.dtype} "
            f"(symbolic: {symbols} ≥ 1)")


def _footer(report: SymbolicAnalysis, bullet: str = "  ") -> list[str]:
    t = report.totals
    lines = [
        f"Params       {_num(t.params)}: trainable {_num(t.trainable_params)}, buffers {_num(t.buffers)}",
        f"MACs         {_num(t.macs)}",
        f"FLOPs        {_num(t.flops)}",
        f"Activations  {_num(t.activations)} values = {_num(t.activation_bytes)} bytes",
        f"Param memory {_num(t.param_bytes)} bytes (parameters and buffers, {report.dtype})",
    ]
    valid = shown_conditions(report, "valid")
    exact = shown_conditions(report, "exact")
    width = max((len(c.layer) for c in valid + exact), default=0)
    if valid:
        lines += ["", "Conditions (the network is valid only where every one holds):"]
        lines += [f"{bullet}{c.layer.ljust(width)}  {c.text()}" for c in valid]
    else:
        lines += ["", "Conditions: none (valid for every size ≥ 1)"]
    if exact:
        lines += ["", "Exact sizes (no strided layer drops an input pixel) also need:"]
        lines += [f"{bullet}{c.layer.ljust(width)}  {c.text()}" for c in exact]
    if report.notes:
        lines += ["", "Notes:"] + [f"{bullet}{n}" for n in report.notes]
    return lines


def table(report: SymbolicAnalysis, layout: Layout = "chw") -> str:
    """Layer rows with the output shape, params and MACs as forms, then totals and conditions."""
    head = ("Layer", "Type", "Output", "Params", "MACs")
    body = [(r.name, r.type, _shape(r.output_shape, layout), _num(r.params) if _given(r.params) else "—",
             _num(r.macs) if _given(r.macs) else "—") for r in report.layers]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(4)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join([*(c.ljust(w) for c, w in zip(cells[:4], widths, strict=True)), cells[4]]).rstrip()

    out = [_header(report, layout), "", line(head), *(line(b) for b in body), "", *_footer(report)]
    return "\n".join(out) + "\n"


def markdown(report: SymbolicAnalysis, layout: Layout = "chw") -> str:
    """A Markdown table of the forms and lists of totals and conditions."""
    out = [f"## {report.model} (symbolic)", "", f"Input {_shape(report.input, layout)}, batch {report.batch}, "
           f"{report.dtype}; {', '.join(report.symbols)} ≥ 1.", "",
           "| Layer | Type | Output | Params | MACs |", "|---|---|---|---|---|"]
    out += [f"| {r.name} | {r.type} | {_shape(r.output_shape, layout)} | {_num(r.params)} | {_num(r.macs)} |"
            for r in report.layers]
    out += ["", *(f"- {line.strip()}" if line.strip() and not line.startswith("  ") else line
                  for line in _footer(report, "  - "))]
    return "\n".join(out) + "\n"


def _plain(x: Any) -> Any:
    if isinstance(x, Expr):
        return str(x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


def _trees(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in values.items():
        if isinstance(v, Expr):
            out[key] = v.tree()
        elif isinstance(v, list):
            out[key] = [d.tree() if isinstance(d, Expr) else {"sum": [{"coef": d, "factors": []}]} for d in v]
    return out


def to_dict(report: SymbolicAnalysis) -> dict[str, Any]:
    """The numeric JSON contract with forms as strings, plus ``symbolic``: conditions, notes, trees."""
    data: dict[str, Any] = _plain(report.to_dict())
    totals = {f: getattr(report.totals, f) for f in ("params", "trainable_params", "buffers", "macs", "flops",
                                                      "activations", "activation_bytes", "param_bytes",
                                                      "connections")}
    data["symbolic"] = {
        "symbols": list(report.symbols),
        "conditions": [c.to_dict() for c in report.conditions if c.role == "valid"],
        "exact": [c.to_dict() for c in report.conditions if c.role == "exact"],
        "notes": list(report.notes),
        "trees": {
            "input": _trees({"input": list(report.input)})["input"],
            "totals": _trees(totals),
            "layers": {r.name: _trees(symbolic_fields(r)) for r in report.layers if symbolic_fields(r)},
        },
    }
    return data


def json(report: SymbolicAnalysis) -> str:
    """``--format json`` of a symbolic report."""
    return _json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def explain(report: SymbolicAnalysis, only: str | None = None, layout: Layout = "chw") -> list[dict[str, Any]]:
    """Each layer's closed forms: input and output shapes, params, MACs, FLOPs, and the conditions it sets."""
    shapes = report.context.shapes if report.context is not None else {}
    out = []
    for r in report.layers:
        if only is not None and not fnmatch.fnmatchcase(r.name, only):
            continue
        dims: tuple[Any, ...] = r.output_shape
        lines = [{"label": f"output dim {i}", "formula": str(d)} for i, d in enumerate(dims) if isinstance(d, Expr)]
        for label, v in (("params", r.params), ("MACs", r.macs), ("FLOPs", r.flops),
                         ("activations", r.activations)):
            if _given(v):
                lines.append({"label": label, "formula": _num(v)})
        lines += [{"label": f"needs ({c.role})", "formula": c.text()} for c in report.conditions if c.layer == r.name]
        out.append({"name": r.name, "type": r.type, "summary": r.summary,
                    "inputs": [_shape(shapes[i], layout) for i in r.inputs if i in shapes],
                    "output_shape": _shape(r.output_shape, layout), "lines": lines})
    return out


def explain_text(items: list[dict[str, Any]]) -> str:
    """The text form of :func:`explain`."""
    blocks = []
    for e in items:
        kind = f"{e['type']}, {e['summary']}" if e["summary"] else e["type"]
        head = f"{e['name']} ({kind}): {' + '.join(e['inputs'])} → {e['output_shape']}"
        blocks.append("\n".join([head, *(f"  {x['label']} = {x['formula']}" for x in e["lines"])]))
    return "\n\n".join(blocks) + "\n"


# -- cnncalc sizes


def sizes_table(s: Sizes, *, exact: bool, markdown: bool = False) -> str:
    """The answer of ``cnncalc sizes`` as text (or Markdown)."""
    what = (f"size {s.symbol} of every spatial dim ({s.dim})" if "x" in s.dim
            else f"dim {s.dim} (the others as in the spec)")
    b = "- " if markdown else "  "
    out = [f"{'## ' if markdown else ''}{s.model}: input sizes {s.lo}..{s.hi}, varying the {what}", ""]
    out.append(f"Valid ({len(s.valid)}): {describe(s.valid, s.period, s.symbol)}")
    out.append(f"Smallest valid input: {s.smallest if s.smallest is not None else 'none up to ' + str(s.hi)}")
    if exact:
        out.append(f"Exact, no strided layer drops a pixel ({len(s.exact)}): {describe(s.exact, s.period, s.symbol)}")
        if s.smallest_exact is not None:
            out.append(f"Smallest exact input: {s.smallest_exact}")
    if s.excluded:
        out += ["", "Excluded, by the first layer that rejects them:"]
        out += [f"{b}{describe(r.sizes, s.period, s.symbol)}: '{r.layer}' needs {r.condition}" for r in s.excluded]
    if exact and s.inexact:
        out += ["", "Valid but not exact, by the first layer that drops pixels:"]
        out += [f"{b}{describe(r.sizes, s.period, s.symbol)}: '{r.layer}' needs {r.condition}" for r in s.inexact]
    if s.notes:
        out += ["", "Notes:", *(f"{b}{n}" for n in s.notes)]
    return "\n".join(out) + "\n"


def sizes_json(s: Sizes) -> str:
    """``cnncalc sizes --format json``."""
    return _json.dumps(s.to_dict(), ensure_ascii=False) + "\n"
