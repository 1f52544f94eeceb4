"""The engine: walk the network's DAG in definition order, apply each layer's rule, compose receptive fields.

Receptive fields are :mod:`cnncalc.engine.fields`' business (Araujo, Norris & Sim, Distill 2019, made exact through
upsampling); where paths merge, the field is the hull of the paths' fields, and paths whose jumps or centres
differ are *misaligned* (the row says so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from fractions import Fraction
from math import prod
from pathlib import Path
from typing import Any, Literal, cast

from cnncalc.engine import fields as rf
from cnncalc.engine.layers.base import GLOBAL, Evaluation, Linked, Merge
from cnncalc.engine.report import (
    DTYPE_BYTES,
    Analysis,
    BlockRow,
    Context,
    Dtype,
    LayerRow,
    RFState,
    Tally,
    Totals,
)
from cnncalc.errors import ShapeError, SpecError
from cnncalc.model import INPUT, MAX_DIM, Network, Node, Shape, fmt_shape, magnitude
from cnncalc.spec.load import bulk, load


def _number(value: int | Fraction) -> float | int:
    if isinstance(value, int):
        return value
    return int(value) if value.denominator == 1 else float(value)


_MISALIGNED = ("paths are misaligned: their receptive fields have different jumps or centres",)


def _where(net: Network, node: Node) -> dict[str, Any]:
    """Where an error is: the spec file, the node's line and its name and type."""
    return {"file": net.file, "line": node.line, "layer": f"'{node.name}' ({node.layer.type})"}


def _figures(state: RFState) -> tuple[Any, Any, Any]:
    """A row's receptive field, jump and first centre per dim (ints where exact, else floats).

    One interval per dim (no upsampling: every chain's case) is read directly; the fractions only when needed.
    """
    if state is None:
        return None, None, None
    if len(state) == 1 and len(state[0].lo) == 1:
        f = state[0]
        lo, hi = f.lo[0], f.hi[0]
        return (hi - lo + 1,), (f.shift,), ((lo + hi) // 2 if (lo + hi) % 2 == 0 else (lo + hi) / 2,)
    if all(f.period == 1 for f in state):
        sums = [f.lo[0] + f.hi[0] for f in state]
        return (tuple(f.hi[0] - f.lo[0] + 1 for f in state), tuple(f.shift for f in state),
                tuple(s // 2 if s % 2 == 0 else s / 2 for s in sums))
    return (tuple(f.size for f in state), tuple(_number(f.jump) for f in state),
            tuple(_number(f.offset) for f in state))


def merge_fields(states: list[RFState]) -> tuple[RFState, bool]:
    """The hull of several paths' fields, and whether the paths are aligned (same jump and centres per dim)."""
    if len(states) == 1:
        return states[0], True  # a single path: nothing to merge (the hot path of every chain)
    if not states or any(s is None for s in states):
        return None, True
    present = [s for s in states if s is not None]
    if len({len(s) for s in present}) != 1:
        return None, False
    merged = []
    aligned = True
    for dims in zip(*present, strict=True):
        field, ok = rf.merge(list(dims))
        if field is None:
            return None, False
        merged.append(field)
        aligned = aligned and ok
    return tuple(merged), aligned


def step(state: RFState, ev: Evaluation) -> RFState:
    """The receptive fields after a layer (``None``: every output sees the whole input, or no longer tracked)."""
    if ev.rf == GLOBAL or state is None:
        return None
    if ev.rf is None:
        return state
    if len(ev.rf) != len(state):
        return None
    if len(state) == 1:  # one spatial dim (a 1-D network): no tuples of generators
        field = rf.advance(state[0], ev.rf[0])
        return None if field is None else (field,)
    out = tuple(rf.advance(f, w) for f, w in zip(state, ev.rf, strict=True))
    return None if any(f is None for f in out) else out  # type: ignore[return-value]


def evaluate(
    node: Node, shapes: dict[str, Shape], input_of: dict[str, Shape], types: dict[str, str] | None = None
) -> Evaluation:
    """One node's rule on the shapes of its inputs (and of the nodes its ``links`` name)."""
    layer = node.layer
    types = types or {}
    ins = [shapes[name] for name in node.inputs]
    over = layer.over
    if isinstance(layer, Merge):
        if over:
            raise ShapeError(f"over: {over} runs a one-input layer over leading dims; {layer.type} joins inputs")
        return layer.merge(ins)
    if len(ins) != 1:
        raise ShapeError(f"{layer.type} takes one input, got {len(ins)} ({', '.join(node.inputs)})")
    x = ins[0]
    if over:
        lead, x = x[:over], x[over:]
        if not x:
            raise ShapeError(f"over: {over} leaves no dims for the layer in {fmt_shape(ins[0])}")
    if node.links:
        linked = {field: Linked(name, input_of[name], shapes[name], types[name]) for field, name in node.links}
        ev = layer.evaluate_linked(x, linked)
    else:
        ev = layer.evaluate(x)
    if not over:
        return ev
    n = prod(lead)  # the same rule once per leading index, with the same weights
    return replace(ev, shape=(*lead, *ev.shape), macs=ev.macs * n, flops=ev.flops * n,
                   connections=ev.connections * n, rf=GLOBAL, summary=f"{ev.summary} ×{n}".strip())


def _checked(
    net: Network, node: Node, shapes: dict[str, Shape], input_of: dict[str, Shape], types: dict[str, str]
) -> Evaluation:
    """:func:`evaluate`, its shape errors located (file, line, layer) and its output checked against the limit."""
    try:
        ev = evaluate(node, shapes, input_of, types)
    except ShapeError as err:
        inputs = node.inputs
        if len(inputs) > 1:
            paths = ", ".join(f"'{i}' gives {fmt_shape(shapes[i])}" for i in inputs)
            reason = f"{err}; {paths}"
        else:
            shown = fmt_shape(shapes[inputs[0]])
            reason = str(err) if shown in str(err) else f"{err} (input {shown})"
        raise SpecError(reason, **_where(net, node)) from None
    if any(isinstance(d, int) and d > MAX_DIM for d in ev.shape):
        big = max(ev.shape)
        raise SpecError(f"the output has a size of {magnitude(big)}, over the limit of {MAX_DIM:,}",
                        **_where(net, node))
    return ev


def run(
    net: Network,
    *,
    input_shape: Shape | None = None,
    batch: int = 1,
    dtype: Dtype = "float32",
    strict: bool = False,
    observe: Callable[[Node, Evaluation, dict[str, Shape]], Evaluation] | None = None,
) -> Analysis:
    """Analyse ``net``; ``strict`` turns warnings (a stride that does not fit) into errors.

    ``observe`` sees each node's evaluation (and the shapes so far) and may replace it: the symbolic walk
    (:mod:`cnncalc.engine.symbolic`) attributes its conditions to layers there.
    """
    if batch < 1:
        raise SpecError(f"batch must be at least 1, got {batch}")
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    size = DTYPE_BYTES[dtype]
    first: Shape = tuple(input_shape or net.input)
    if any(isinstance(d, int) and d > MAX_DIM for d in first):
        raise SpecError(f"the input has a size of {magnitude(max(first))}, over the limit of {MAX_DIM:,}",
                        file=net.file)
    shapes: dict[str, Shape] = {INPUT: first}
    input_of: dict[str, Shape] = {}
    types: dict[str, str] = {INPUT: "input"}
    input_of[INPUT] = first  # a link to the network input sees the input as both its input and output
    fields: dict[str, RFState] = {INPUT: tuple(rf.START for _ in first[1:])}
    rows = []
    total = Tally()
    #: (id(layer), input shape) → evaluation, for numeric walks: a rule is a pure function of the layer and its
    #: input shape, and a long chain repeats both (validation hands equal layer entries one shared object).
    memo: dict[tuple[int, Shape], Evaluation] | None = {} if observe is None else None
    last_state: RFState | Literal[False] = False  # the last state whose figures were computed (none yet)
    figures: tuple[Any, Any, Any] = (None, None, None)
    for node in net.nodes:
        layer = node.layer
        inputs = node.inputs
        key = (id(layer), shapes[inputs[0]]) if memo is not None and len(inputs) == 1 and not node.links else None
        ev = memo.get(key) if key is not None else None  # type: ignore[union-attr]
        if ev is None:
            ev = _checked(net, node, shapes, input_of, types)
            if observe is not None:
                ev = observe(node, ev, shapes)
            elif key is not None and all(type(d) is int for d in key[1]):
                memo[key] = ev  # type: ignore[index]
        if strict and ev.warnings:
            raise SpecError(ev.warnings[0], hint="drop --strict to accept it with a warning", **_where(net, node))
        if len(inputs) == 1:
            state, aligned = fields[inputs[0]], True
        else:
            state, aligned = merge_fields([fields[i] for i in inputs])
        state = step(state, ev)
        fields[node.name] = state
        shapes[node.name] = ev.shape
        types[node.name] = layer.type
        input_of[node.name] = shapes[inputs[0]]
        out = prod(ev.shape) * batch
        if state is not last_state:  # a layer that keeps the fields (an activation) shows its input's figures
            last_state, figures = state, _figures(state)
        receptive, jump, offset = figures
        row = LayerRow(  # positional, in field order: keywords cost about 0.05 s per 100,000 rows
            node.name, layer.type, ev.summary, ev.shape,  # name, type, summary, output_shape
            ev.params, ev.biases, ev.params if layer.trainable else 0, ev.buffers,  # params … trainable, buffers
            ev.macs * batch, ev.flops * batch, out, (out if ev.stores else 0) * size,  # macs, flops, activations…
            ev.stores, receptive, jump, offset, node.line, ev.warnings,  # stores, receptive_field … line, warnings
            ev.connections * batch, inputs, node.groups,  # connections, inputs, groups
            () if aligned else _MISALIGNED,  # notes
        )
        rows.append(row)
    total.add_all(rows)
    activations = prod(first) * batch + total.activations
    totals = Totals(
        params=total.params,
        trainable_params=total.trainable_params,
        buffers=total.buffers,
        macs=total.macs,
        flops=total.flops,
        activations=activations,
        activation_bytes=activations * size,
        param_bytes=(total.params + total.buffers) * size,
        connections=total.connections,
        biases=total.biases,
        stored_activations=total.activations,
    )
    return Analysis(
        model=net.name,
        input=first,
        batch=batch,
        dtype=dtype,
        layers=tuple(rows),
        totals=totals,
        description=net.description,
        source=net.source,
        file=net.file,
        warnings=tuple(f"{row.name}: {w}" for row in rows for w in row.warnings),
        blocks=_blocks(net, rows),
        network=net,
        context=Context(shapes, input_of, types),
        fields=fields,
    )


def _blocks(net: Network, rows: list[LayerRow]) -> tuple[BlockRow, ...]:
    """Each block instance's sums over the layers inside it (nested blocks count in every enclosing one)."""
    if not net.groups:
        return ()
    sums = {g.name: Tally() for g in net.groups}
    last: dict[str, LayerRow] = {}
    for row in rows:
        for group in row.groups:
            sums[group].add(row)
            last[group] = row
    return tuple(
        BlockRow(
            name=g.name, block=g.block, depth=g.depth, params=t.params, biases=t.biases,
            trainable_params=t.trainable_params, buffers=t.buffers, macs=t.macs, flops=t.flops,
            activations=t.activations, layers=t.layers, connections=t.connections,
            output_shape=last[g.name].output_shape if g.name in last else (),
            receptive_field=last[g.name].receptive_field if g.name in last else None,
        )
        for g in net.groups
        for t in [sums[g.name]]
    )


def analyze(
    spec: str | Path | Mapping[str, Any] | Network,
    *,
    input_shape: tuple[int | str, ...] | None = None,
    batch: int | str = 1,
    dtype: Dtype = "float32",
    strict: bool = False,
    args: Mapping[str, Any] | None = None,
) -> Analysis:
    """Analyse a network (anything :func:`load` accepts).

    The result is a :class:`Report` (``to_dict()`` is the CLI's JSON output) that also keeps the network and the
    walk's per-node state, which explain, the homework checker and the torch bridge read instead of re-walking.
    A size or the batch given as a name (``input_shape=(3, "H", "W")``, ``batch="N"``, ``input: [3, H, W]``)
    makes the analysis symbolic: a :class:`~cnncalc.engine.symbolic.analysis.SymbolicAnalysis` of closed forms.
    """
    with bulk():
        net = load(spec, args=args)
        shape = tuple(input_shape or net.input)
        if isinstance(batch, str) or any(isinstance(d, str) for d in shape):
            from cnncalc.engine.symbolic.analysis import analyze_symbolic

            # A SymbolicAnalysis: an Analysis whose figures are closed forms, with their conditions.
            return analyze_symbolic(net, run, input_shape=shape, batch=batch, dtype=dtype, strict=strict)
        return run(net, input_shape=cast(Shape, shape), batch=batch, dtype=dtype, strict=strict)
