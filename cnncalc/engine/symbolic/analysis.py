"""The symbolic walk: the engine's own walk (:func:`cnncalc.engine.graph.run`, passed in by
:func:`cnncalc.engine.graph.analyze`, so imports run one way) on sizes that are :class:`Expr`\\ s.

Nothing here re-states a formula: the layers and :mod:`cnncalc.engine.dims` compute with Exprs as with ints. This
module only names the symbols, attributes the conditions the comparisons recorded to the layer that made them,
adds the *exactness* conditions (where a strided window drops input pixels, read off each layer's receptive-field
window: ``W − 1 + last − step·(O − 1) ≤ 0``), and can evaluate the whole report at concrete sizes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, cast

from cnncalc.engine.layers.base import GLOBAL, Evaluation, Window
from cnncalc.engine.report import Analysis, BlockRow, Dtype, LayerRow, Report, Totals
from cnncalc.engine.symbolic.bounds import bounds
from cnncalc.engine.symbolic.conditions import Condition
from cnncalc.engine.symbolic.expr import Expr, collecting, symbol, value
from cnncalc.errors import SpecError
from cnncalc.model import Network, Node, Shape

#: The engine's walk, :func:`cnncalc.engine.graph.run`.
Walk = Callable[..., Analysis]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SymbolicAnalysis(Analysis):
    """A report whose figures may be :class:`Expr` forms, with the conditions under which they hold.

    It has an :class:`~cnncalc.engine.graph.Analysis`'s ``network``, ``context`` and ``fields`` too, so front ends
    read it the same way.

    ``conditions`` are in walk order; those with role ``valid`` must hold for the network to be analysable,
    those with role ``exact`` for no strided layer to drop an input pixel. ``notes`` name what the forms do not
    cover (parameters that depend on the sizes, receptive fields after a size-dependent crop).
    """

    symbols: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    notes: tuple[str, ...] = ()

    def at(self, env: dict[str, int]) -> Report:
        """The numeric report at concrete symbol values (receptive fields as the symbolic walk tracked them)."""
        return evaluate(self, env)

    def holds(self, env: dict[str, int], role: str = "valid") -> Condition | None:
        """The first condition of ``role`` that fails at ``env`` (``None``: all hold)."""
        return next((c for c in self.conditions if c.role == role and not c.holds(env)), None)


def _dims(shape: tuple[Any, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for d in shape:
        if isinstance(d, str):
            if not _NAME.match(d):
                raise SpecError(f"size {d!r} is neither a positive integer nor a symbol name like H")
            out.append(symbol(d))
        elif isinstance(d, Expr):
            out.append(d)
        else:
            if isinstance(d, bool) or not isinstance(d, int) or d < 1:
                raise SpecError(f"input sizes must be positive integers or symbol names, got {d!r}")
            out.append(d)
    return tuple(out)


def _exactness(node: Node, ev: Evaluation, shapes: dict[str, Shape]) -> list[Condition]:
    """Where a strided window leaves trailing input pixels unused: W − 1 + last − step·(O − 1) ≤ 0 per dim."""
    if not isinstance(ev.rf, tuple) or not node.inputs:
        return []
    x: tuple[Any, ...] = shapes[node.inputs[0]]
    y: tuple[Any, ...] = ev.shape
    if len(ev.rf) != len(x) - 1 or len(y) != len(x):
        return []
    found = []
    for w, size, out in zip(ev.rf, x[1:], y[1:], strict=True):
        if not all(isinstance(v, int) for v in (w.step, w.up, w.first, w.last)) or w.up != 1 or w.step < 2:
            continue
        # A window narrower than its stride skips S − K pixels between windows by design (ResNet's 1x1/2
        # shortcut); trailing pixels no wider than that gap are not "dropped" (engine/dims.py's slide() says why).
        gap = max(w.step - (w.first - w.last + 1), 0)  # first − last + 1 is the (effective) kernel
        slack = gap - (size - 1 + w.last - w.step * (out - 1))
        if not isinstance(slack, Expr):
            if slack < 0 and isinstance(size, Expr):  # drops a pixel whatever the size
                found.append(Condition(Expr((((), slack),)), ">=", node.name, "exact",
                                       f"never: the last {-slack} input pixel(s) are dropped at every size"))
            continue
        lo, _ = bounds(slack)
        if lo is None or lo < 0:  # not already true for every size
            text = _fit_text(size - 1 + w.last, w.step, out)
            found.append(Condition(slack, ">=", node.name, "exact", text if not gap else f"{text} + {gap}"))
    return found


def _fit_text(reach: Any, step: int, out: Any) -> str:
    """``⌊H / 2⌋ ≡ 0 (mod 2)``: with A = W − 1 + last (= W + P_b − K_eff) and O − 1 = ⌊(A + P_a) / S⌋, no pixel is
    dropped iff (A + P_a) mod S ≤ P_a; P_a is the p in [0, S) whose canonical ⌊(A + p) / S⌋ is O − 1."""
    target = out - 1
    for pad in range(step):
        if isinstance(target, Expr) and isinstance(got := (reach + pad) // step, Expr) and got.terms == target.terms:
            base = reach - step * (_const(reach) // step) if isinstance(reach, Expr) else reach
            if pad == 0:
                return f"{base} ≡ 0 (mod {step})"
            return f"({base} + {pad}) mod {step} ≤ {pad}"
    return f"{reach} − {step}·({out} − 1) ≤ 0"


def _const(x: Expr) -> int:
    return dict(x.terms).get((), 0)


def _symbolic_window(ev: Evaluation) -> bool:
    return isinstance(ev.rf, tuple) and any(
        not isinstance(v, int) for w in ev.rf if isinstance(w, Window) for v in (w.step, w.up, w.first, w.last)
    )


def analyze_symbolic(
    net: Network,
    walk: Walk,
    *,
    input_shape: tuple[int | str, ...],
    batch: int | str = 1,
    dtype: Dtype = "float32",
    strict: bool = False,
) -> SymbolicAnalysis:
    """Analyse ``net`` with symbolic sizes (names in ``input_shape`` or ``batch``) by the engine's ``walk``."""
    dims = _dims(input_shape)
    n = _dims((batch,))[0]
    names: list[str] = []
    for d in (*dims, n):
        if isinstance(d, Expr):
            names += [s for s in sorted(d.symbols) if s not in names]
    conditions: list[Condition] = []
    seen: set[tuple[Any, ...]] = set()
    notes: list[str] = []

    def keep(cond: Condition) -> None:
        key = (cond.expr.terms, cond.kind, cond.role)
        if key not in seen:
            seen.add(key)
            conditions.append(cond)

    with collecting() as found:

        def observe(node: Node, ev: Evaluation, shapes: dict[str, Shape]) -> Evaluation:
            for form, kind in found:
                keep(Condition(form, kind, node.name))
            found.clear()
            for cond in _exactness(node, ev, shapes):
                keep(cond)
            params: Any = ev.params
            if isinstance(params, Expr):
                notes.append(f"{node.name}: parameters depend on the input size ({params}); the layer "
                             "fits one size only (a linear layer after a spatial flatten)")
            if _symbolic_window(ev):
                notes.append(f"{node.name}: receptive fields depend on the input size here and are not tracked "
                             "symbolically after this layer")
                ev = replace(ev, rf=GLOBAL)
            return ev

        try:
            analysis = walk(net, input_shape=cast(Shape, dims), batch=cast(int, n), dtype=dtype, strict=strict,
                           observe=observe)
        except TypeError as err:
            raise SpecError(f"this network cannot be analysed with symbolic sizes: {err}", file=net.file) from None
    base = {f.name: getattr(analysis, f.name) for f in fields(analysis)}
    return SymbolicAnalysis(**base, symbols=tuple(names), conditions=tuple(conditions), notes=tuple(notes))


def _row(row: LayerRow, env: dict[str, int]) -> LayerRow:
    return replace(
        row, output_shape=value(row.output_shape, env), params=value(row.params, env),
        biases=value(row.biases, env), trainable_params=value(row.trainable_params, env),
        buffers=value(row.buffers, env), macs=value(row.macs, env), flops=value(row.flops, env),
        activations=value(row.activations, env), activation_bytes=value(row.activation_bytes, env),
        connections=value(row.connections, env),
    )


def _block(b: BlockRow, env: dict[str, int]) -> BlockRow:
    return replace(
        b, output_shape=value(b.output_shape, env), params=value(b.params, env), biases=value(b.biases, env),
        trainable_params=value(b.trainable_params, env), buffers=value(b.buffers, env), macs=value(b.macs, env),
        flops=value(b.flops, env), activations=value(b.activations, env), connections=value(b.connections, env),
    )


def evaluate(report: SymbolicAnalysis, env: dict[str, int]) -> Report:
    """Every figure of ``report`` at concrete symbol values, as a plain :class:`Report`."""
    t = report.totals
    totals = Totals(**{f.name: value(getattr(t, f.name), env) for f in fields(Totals)})
    return Report(
        model=report.model, input=value(report.input, env), batch=value(report.batch, env), dtype=report.dtype,
        layers=tuple(_row(r, env) for r in report.layers), totals=totals, description=report.description,
        source=report.source, file=report.file, warnings=(), blocks=tuple(_block(b, env) for b in report.blocks),
    )


def symbolic_fields(row: LayerRow) -> dict[str, Any]:
    """The row's figures that are forms, by JSON key (for trees)."""
    keys = ("params", "biases", "trainable_params", "buffers", "macs", "flops", "connections", "activations",
            "activation_bytes")
    out: dict[str, Any] = {k: getattr(row, k) for k in keys if isinstance(getattr(row, k), Expr)}
    dims: tuple[Any, ...] = row.output_shape
    if any(isinstance(d, Expr) for d in dims):
        out["output_shape"] = list(row.output_shape)
    return out


