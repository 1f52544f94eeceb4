"""``--explain``: every figure of a layer with its formula and the numbers substituted.

The engine's own rule is re-run on :class:`~cnncalc.engine.trace.Traced` inputs (the layer's shape and integer fields),
so each expression is what the engine computed, not a description kept beside it; :func:`explain` also checks
that every traced value equals the report's figure.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from cnncalc.engine.fields import regular_step, regular_window
from cnncalc.engine.graph import evaluate
from cnncalc.engine.report import Analysis
from cnncalc.engine.trace import Traced, expr, traced
from cnncalc.errors import CnncalcError
from cnncalc.model import Node, Shape, fmt_shape


@dataclass(frozen=True, slots=True)
class Line:
    """One derived figure: what, the formula with numbers, and the value."""

    label: str
    formula: str
    value: int
    #: What the value means, after it: ``1 before, 1 after`` for SAME padding.
    note: str = ""

    def text(self) -> str:
        """``params = 11·11·3·96 + 96 = 34,944`` (just the value when there is nothing to show)."""
        note = f" ({self.note})" if self.note else ""
        if self.formula == str(self.value):
            return f"{self.label} = {self.value:,}{note}"
        return f"{self.label} = {self.formula} = {self.value:,}{note}"


@dataclass(frozen=True, slots=True)
class Explanation:
    """All derivations for one layer."""

    name: str
    type: str
    summary: str
    inputs: tuple[Shape, ...]
    output: Shape
    lines: tuple[Line, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the layer, its shapes, and each figure's formula and value."""
        return {
            "name": self.name, "type": self.type, "summary": self.summary,
            "inputs": [list(s) for s in self.inputs], "output_shape": list(self.output),
            "lines": [{"label": x.label, "formula": x.formula, "value": x.value} | ({"note": x.note} if x.note else {})
                      for x in self.lines],
        }

    def text(self) -> str:
        """A small block of text: a header, then one derivation per line."""
        ins = " + ".join(fmt_shape(s) for s in self.inputs)
        kind = f"{self.type}, {self.summary}" if self.summary else self.type
        head = f"{self.name} ({kind}): {ins} → {fmt_shape(self.output)}"
        return "\n".join([head, *(f"  {line.text()}" for line in self.lines)])


def dim_names(rank: int) -> list[str]:
    """Labels of a shape's dims in explanations: C, then L / H, W / D, H, W (``features`` for a vector)."""
    spatial = {0: [], 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(rank - 1, [f"S{i}" for i in range(rank - 1)])
    return ["C", *spatial] if rank > 1 else ["features"]


def _traced_layer(node: Node) -> Any:
    """The node's layer with its integer fields traced (model_copy skips validation, so Traced values stay)."""
    layer = node.layer
    update = {name: traced(getattr(layer, name)) for name in type(layer).model_fields if name != "type"}
    return layer.model_copy(update=update)


def explain_node(
    node: Node, shapes: dict[str, Shape], input_of: dict[str, Shape], rf_in: Any, types: dict[str, str]
) -> Explanation:
    """Re-run one node's rule on traced inputs and collect the derivations."""
    traced_shapes: dict[str, Shape] = {name: tuple(Traced(v) for v in shape) for name, shape in shapes.items()}
    traced_node = Node(node.name, _traced_layer(node), node.inputs, node.line, node.groups, node.links)
    ev = evaluate(traced_node, traced_shapes, input_of, types)
    lines: list[Line] = list(_same_padding_lines(node, traced_node, traced_shapes))
    names = dim_names(len(ev.shape))
    for label, value in zip(names, ev.shape, strict=True):
        if isinstance(value, Traced) and value.expr != str(int(value)):
            lines.append(Line(f"{label}_out", value.expr, int(value)))
    for label, value in (("params", ev.params), ("buffers", ev.buffers), ("MACs", ev.macs), ("FLOPs", ev.flops)):
        if int(value) or label == "params":
            lines.append(Line(label, expr(value), int(value)))
    if rf_in is not None and isinstance(ev.rf, tuple) and len(ev.rf) == len(rf_in):
        for i, (field, window) in enumerate(zip(rf_in, ev.rf, strict=True)):
            closed = regular_window(field, window)
            if closed is None:
                continue  # upsampling: the field is the largest of several phases, not one formula
            _, span, stride = closed
            r, j = regular_step(Traced(field.size), Traced(field.shift), Traced(span), Traced(stride))
            dim = names[i + 1] if i + 1 < len(names) else str(i)
            lines.append(Line(f"RF_{dim}", expr(r), int(r)))
            lines.append(Line(f"jump_{dim}", expr(j), int(j)))
    return Explanation(
        node.name, node.layer.type, ev.summary, tuple(shapes[i] for i in node.inputs),
        tuple(int(v) for v in ev.shape), tuple(lines),
    )


def _same_padding_lines(node: Node, traced_node: Node, shapes: dict[str, Shape]) -> list[Line]:
    """``P_H = max((⌈75 / 2⌉ − 1)·2 + 3 − 75, 0) = 2 (1 before, 1 after)``: SAME padding as its own step, from the
    functions the window rule uses, so the output-size line that follows shows plain numbers."""
    from cnncalc.engine.dims import effective_kernel, per_dim, same_split, same_total
    from cnncalc.engine.layers.conv import Conv
    from cnncalc.engine.layers.pool import AvgPool, MaxPool

    layer: Any = traced_node.layer
    mode = getattr(node.layer, "padding", None)
    if mode not in ("same", "same_lower") or not isinstance(node.layer, Conv | MaxPool | AvgPool):
        return []
    x = shapes[node.inputs[0]]
    n = len(x) - 1
    kernel = per_dim(layer.kernel_size, n, "kernel_size")
    stride = per_dim(layer.kernel_size if getattr(layer, "stride", 1) is None else layer.stride, n, "stride")
    dilation = per_dim(getattr(layer, "dilation", 1), n, "dilation")
    out = []
    for label, size, k, d, s in zip(dim_names(len(x))[1:], x[1:], kernel, dilation, stride, strict=True):
        total = same_total(size, effective_kernel(k, d), s)
        before, after = same_split(total, str(mode))
        out.append(Line(f"P_{label}", expr(total), int(total), f"{int(before)} before, {int(after)} after"))
    return out


def _agrees(exp: Explanation, row: Any, batch: int) -> bool:
    """The traced values must be the report's (per sample): the explanation is the computation, or it is a bug."""
    want = {"params": row.params, "buffers": row.buffers, "MACs": row.macs // batch, "FLOPs": row.flops // batch}
    got = {line.label: line.value for line in exp.lines if line.label in want}
    fields = [line.value for line in exp.lines if line.label.startswith("RF_")]
    rf_ok = all(v in (row.receptive_field or ()) for v in fields)
    return exp.output == row.output_shape and rf_ok and all(got.get(k, 0) == v for k, v in want.items())


def explain(analysis: Analysis, pattern: str | None = None) -> list[Explanation]:
    """Explanations for every layer (or those whose name matches the glob ``pattern``), checked against the analysis.

    The receptive-field formulas start from the field states the walk kept; nothing is walked a second time.
    """
    net = analysis.network
    if net is None:
        raise CnncalcError("internal error: explain needs the analysis of a network")
    ctx = analysis.context
    rows = {row.name: row for row in analysis.layers}
    out = []
    for node in net.nodes:
        if pattern is None or fnmatch.fnmatchcase(node.name, pattern) or node.name == pattern:
            rf_in = analysis.fields[node.inputs[0]] if len(node.inputs) == 1 else None
            exp = explain_node(node, ctx.needed(node), ctx.input_of, rf_in, ctx.types)
            if not _agrees(exp, rows[node.name], analysis.batch):
                raise CnncalcError(f"internal error: the explanation of {node.name} disagrees with the analysis")
            out.append(exp)
    if pattern is not None and not out:
        raise CnncalcError(f"no layer matches '{pattern}'; names look like {', '.join(list(rows)[:4])}, …")
    return out
