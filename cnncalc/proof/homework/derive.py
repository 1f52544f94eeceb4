"""The correct figures for what a table row can stand for, each with its derivation.

The analysis gives the numbers; ``engine.explain`` gives the formulas with the numbers substituted. A row may also
stand for a layer without its fused activation, for the activation alone, for a block instance (sums over its
layers) or for the whole network (the totals), and the slips re-run the engine on a changed layer: all of that is
:class:`Engine`. Whether a written cell agrees with a row's figures is decided here too (:func:`agrees`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cnncalc.engine.explain import Explanation, explain, explain_node
from cnncalc.engine.graph import evaluate
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Layer
from cnncalc.engine.report import DTYPE_BYTES, Analysis
from cnncalc.engine.trace import Traced
from cnncalc.errors import CnncalcError
from cnncalc.model import Node, Shape
from cnncalc.proof.homework.cells import Given, Order, number_ok, shape_orders


@dataclass(frozen=True, slots=True)
class Figures:
    """A layer's (or a variant's) output shape, figures and derivations; a variant may define only some kinds."""

    shape: Shape
    values: dict[str, int]
    lines: dict[str, str]


@dataclass(frozen=True, slots=True)
class Unit:
    """What a table row can stand for: the input, a layer (``bare``: its fused activation split off), a fused
    activation on its own, a block instance, or the network's totals."""

    name: str
    role: Literal["input", "layer", "bare", "act", "total", "block"]
    node: Node | None = None
    quiet: bool = False
    families: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()


#: How a table counts FLOPs: cnncalc's own (2 per multiply-add, plus bias adds and activations), twice the
#: multiply-adds (the most common course convention), or the multiply-adds themselves.
FlopsConvention = Literal["2macs+bias+act", "2macs", "macs"]
FLOPS_CONVENTIONS: tuple[FlopsConvention, ...] = ("2macs+bias+act", "2macs", "macs")


def convert_flops(fig: Figures, convention: FlopsConvention) -> Figures:
    """``fig`` with its FLOPs counted by ``convention`` (from its MACs), derivation included."""
    if convention == "2macs+bias+act" or "macs" not in fig.values:
        return fig
    macs = fig.values["macs"]
    if convention == "2macs":
        value, line = 2 * macs, f"FLOPs = 2·MACs = 2·{macs:,} = {2 * macs:,} (FLOPs counted as 2·MACs)"
    else:
        value, line = macs, f"FLOPs = MACs = {macs:,} (FLOPs counted as multiply-adds)"
    return Figures(fig.shape, {**fig.values, "flops": value}, {**fig.lines, "flops": line})


class Engine:
    """The analysis, and the engine re-run on single layers: correct figures, variants and their derivations."""

    #: How FLOPs cells are counted; the checker sets it from ``--flops``, a header note or the cells.
    flops: FlopsConvention = "2macs+bias+act"
    def __init__(self, report: Analysis, torchinfo: bool = False) -> None:
        #: Whether the table is torchinfo's summary, whose total mult-adds are counted as torchinfo counts them.
        self.torchinfo = torchinfo
        assert report.network is not None
        self.net, self.report = report.network, report
        self.rows = {row.name: row for row in report.layers}
        self.context = report.context
        self.shapes, self.input_of, self.types = self.context.shapes, self.context.input_of, self.context.types
        self.nodes = {n.name: n for n in self.net.nodes}
        self.explained: dict[str, Explanation] = {e.name: e for e in explain(report)}
        self.bytes_per = DTYPE_BYTES[report.dtype]
        self._cache: dict[tuple[str, str], Figures] = {}

    def run(self, node: Node, layer: Layer | None = None, x: Shape | None = None) -> Figures | None:
        """The engine on ``node`` with another layer or input shape; None when the variant is not a valid layer."""
        layer = node.layer if layer is None else layer
        shapes = self.context.needed(node)
        if x is not None:
            shapes[node.inputs[0]] = x
        changed = Node(node.name, layer, node.inputs, node.line, node.groups, node.links)
        try:
            ev = evaluate(changed, shapes, self.input_of, self.types)
            exp = explain_node(changed, shapes, self.input_of, None, self.types)
        except (CnncalcError, ValueError, TypeError, ZeroDivisionError, KeyError, IndexError):
            return None
        fig = self._figures(exp, int(ev.biases), self._weights_line(node, layer, int(ev.biases), x))
        return convert_flops(fig, self.flops)

    def _weights_line(self, node: Node, layer: Layer, biases: int, x: Shape | None = None) -> str | None:
        """The derivation of the weights alone: the engine on the layer without its bias."""
        if not (getattr(layer, "bias", False) and biases):
            return None
        bare = self.run(node, layer.model_copy(update={"bias": False}), x)
        return None if bare is None else bare.lines["params"].replace("params", "weights", 1)

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
            "shape": "; ".join(line.text() for label, line in got.items()
                               if label.endswith("_out") or label.startswith("P_")),
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
        key = (unit.role, unit.name + "\0" + self.flops)
        if key not in self._cache:
            self._cache[key] = convert_flops(self._compute(unit), self.flops)
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
            biases = self.rows[node.name].biases
            weights = self._weights_line(node, node.layer, biases)
            return self._figures(self.explained[node.name], biases, weights, rf)
        if unit.role == "act":
            act = self.act_node(node)
            exp = explain_node(act, {node.name: self.shapes[node.name]}, self.input_of, None, self.types)
            return self._figures(exp, 0, None, rf)
        convention, self.flops = self.flops, "2macs+bias+act"  # converted once, by figures()
        try:
            got = self.run(node, node.layer.model_copy(update={"activation": None}))
        finally:
            self.flops = convention
        assert got is not None
        return Figures(got.shape, got.values, {**got.lines, "receptive_field": rf})

    def act_node(self, node: Node) -> Node:
        """A node for a layer's fused activation on its own."""
        act = str(getattr(node.layer, "activation", ""))
        layer = REGISTRY[act].model_validate({"type": act})
        return Node(f"{node.name}/{act}", layer, (node.name,))

    def _block(self, name: str) -> Figures:
        """A block instance's row (a ResNet stage, an inception module): its sums, with the layers they add up."""
        block = next(b for b in self.report.blocks if b.name == name)
        rows = [r for r in self.report.layers if name in r.groups]
        per = self.report.batch
        values = {"params": block.params, "weights": block.weights, "macs": block.macs // per,
                  "flops": block.flops // per}
        parts = {"params": [r.params for r in rows], "weights": [r.weights for r in rows],
                 "macs": [r.macs // per for r in rows], "flops": [r.flops // per for r in rows]}
        lines = {kind: sum_line(kind, [v for v in parts[kind] if v], total) + f" (the {len(rows)} layers of {name})"
                 for kind, total in values.items()}
        rf = block.receptive_field
        lines["receptive_field"] = "the field of its last layer" if rf is not None else \
            "every output sees the whole input"
        lines["shape"] = f"the output of its last layer, {rows[-1].name}" if rows else ""
        return self._sized(block.output_shape, values, lines)

    def _total(self) -> Figures:
        """The total row: the report's totals, with the layers they add up."""
        rows, t = self.report.layers, self.report.totals
        values = {"params": t.params, "weights": t.weights, "macs": t.macs, "flops": t.flops,
                  "activations": t.activations, "bytes": t.activation_bytes}
        parts = {"params": [r.params for r in rows], "weights": [r.weights for r in rows],
                 "macs": [r.macs for r in rows], "flops": [r.flops for r in rows]}
        lines = {kind: sum_line(kind, [v for v in column if v], values[kind]) for kind, column in parts.items()}
        stored = [t.input_activations] + [r.activations for r in rows if r.stores]
        lines["activations"] = sum_line("size", stored, t.activations) + " (the input and every stored output)"
        lines["bytes"] = f"bytes = {t.activations:,}·{self.bytes_per} = {t.activation_bytes:,}"
        if self.torchinfo:
            values["macs"], lines["macs"] = self._torchinfo_macs()
        return Figures(self.report.output_shape, values, lines)

    def _torchinfo_macs(self) -> tuple[int, str]:
        """The network's mult-adds under torchinfo's own convention, with its terms and the line it prints."""
        from cnncalc.engine.conventions import apply
        from cnncalc.engine.conventions.torchinfo import printed_mult_adds

        counted = apply(self.report, "torchinfo")
        total = counted.totals.macs
        unit, shown = printed_mult_adds(total)
        terms = " + ".join(f"{v:,} ({k})" for k, v in counted.terms.items() if v)
        return total, f"torchinfo's mult-adds = {terms} = {total:,}, printed 'Total mult-adds ({unit}): {shown}'"

    def torchinfo_slip(self, g: Given) -> str:
        """Why a torchinfo total mult-adds line is wrong, in one line."""
        if g.number is not None and number_ok(self.report.totals.macs, g.number):
            return (f"{g.text} is the products only ({self.report.totals.macs:,}, cnncalc's MACs); torchinfo also "
                    "counts each conv and linear bias once per output (and BatchNorm's 2·C)")
        return "not torchinfo's count: conv and linear weights and biases × output positions, nothing else"


def sum_line(label: str, parts: list[int], total: int) -> str:
    """``label = a + b + … = total``, the parts shortened when there are many."""
    if len(parts) <= 1:
        return f"{label} = {total:,}"
    shown = " + ".join(f"{p:,}" for p in parts) if len(parts) <= 12 else \
        " + ".join(f"{p:,}" for p in parts[:5]) + f" + … ({len(parts)} layers)"
    return f"{label} = {shown} = {total:,}"


# --- does a written cell agree? ---------------------------------------------------------------------------------


def rf_ok(eng: Engine, unit: Unit, g: Given) -> bool:
    """Whether a receptive-field cell is right: one size for every dim, all dims, or "all" past global pooling."""
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


def agrees(eng: Engine, unit: Unit, g: Given, order: Order) -> bool:
    """Whether a written cell is right for what the row stands for (a shape in the table's order)."""
    fig = eng.figures(unit)
    kind = g.column.kind
    if kind == "shape":
        if g.shape is None or unit.role == "total":
            return False
        dims, stated = g.shape
        orders = shape_orders(fig.shape, dims)
        want = {stated} if stated != "either" else ({order} if order != "either" else {"chw", "hwc"})
        return bool(orders & want)
    if kind == "receptive_field":
        return rf_ok(eng, unit, g)
    if g.number is None or kind not in fig.values:
        return False
    ok = number_ok(fig.values[kind], g.number)
    if not ok and kind == "flops" and unit.role == "bare" and unit.node is not None \
            and eng.flops == "2macs+bias+act":
        ok = number_ok(eng.rows[unit.node.name].flops, g.number)
    return ok
