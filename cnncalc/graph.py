"""The engine: walk a network's layers in order, apply each layer's rule, compose receptive fields, add totals.

Receptive fields follow Araujo, Norris & Sim (Distill 2019): per spatial dim, with r the field size, j the jump
(effective stride) and c the centre of the first output in input pixels,
``r ← r + (K_eff − 1)·j``, ``c ← c + ((K_eff − 1)/2 − P_before)·j``, ``j ← j·S``.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import GLOBAL, Shape
from cnncalc.report import DTYPE_BYTES, Dtype, LayerRow, Report, Totals
from cnncalc.spec import Network

RFState = tuple[tuple[int, int, Fraction], ...] | None


def _number(value: Fraction) -> float | int:
    return int(value) if value.denominator == 1 else float(value)


def run(
    net: Network,
    *,
    input_shape: Shape | None = None,
    batch: int = 1,
    dtype: Dtype = "float32",
    strict: bool = False,
) -> Report:
    """Analyse ``net``; ``strict`` turns warnings (a stride that does not fit) into errors."""
    if batch < 1:
        raise SpecError(f"batch must be at least 1, got {batch}")
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    size = DTYPE_BYTES[dtype]
    shape: Shape = tuple(input_shape or net.input)
    rf: RFState = tuple((1, 1, Fraction(0)) for _ in shape[1:])
    rows = []
    params = trainable = buffers = macs = flops = 0
    activations = prod(shape) * batch
    for node in net.nodes:
        try:
            ev = node.layer.evaluate(shape)
        except ShapeError as err:
            raise SpecError(
                f"{err} (input {'x'.join(map(str, shape))})", file=net.file, line=node.line,
                layer=f"'{node.name}' ({node.layer.type})",
            ) from None
        if strict and ev.warnings:
            raise SpecError(ev.warnings[0], file=net.file, line=node.line, layer=f"'{node.name}' ({node.layer.type})",
                            hint="drop --strict to accept it with a warning")
        if ev.rf == GLOBAL:
            rf = None
        elif ev.rf is not None and rf is not None:
            rf = tuple(
                (r + (w.kernel - 1) * j, j * w.stride, c + (Fraction(w.kernel - 1, 2) - w.pad) * j)
                for (r, j, c), w in zip(rf, ev.rf, strict=True)
            )
        out = prod(ev.shape) * batch
        stored = out if ev.stores else 0
        rows.append(
            LayerRow(
                name=node.name,
                type=node.layer.type,
                summary=ev.summary,
                output_shape=ev.shape,
                params=ev.params,
                biases=ev.biases,
                trainable_params=ev.params if node.layer.trainable else 0,
                buffers=ev.buffers,
                macs=ev.macs * batch,
                flops=ev.flops * batch,
                activations=out,
                activation_bytes=stored * size,
                stores=ev.stores,
                receptive_field=None if rf is None else tuple(r for r, _, _ in rf),
                jump=None if rf is None else tuple(j for _, j, _ in rf),
                rf_offset=None if rf is None else tuple(_number(c) for _, _, c in rf),
                line=node.line,
                warnings=ev.warnings,
            )
        )
        params += ev.params
        trainable += ev.params if node.layer.trainable else 0
        buffers += ev.buffers
        macs += ev.macs * batch
        flops += ev.flops * batch
        activations += stored
        shape = ev.shape
    totals = Totals(
        params=params,
        trainable_params=trainable,
        buffers=buffers,
        macs=macs,
        flops=flops,
        activations=activations,
        activation_bytes=activations * size,
        param_bytes=(params + buffers) * size,
    )
    return Report(
        model=net.name,
        input=tuple(input_shape or net.input),
        batch=batch,
        dtype=dtype,
        layers=tuple(rows),
        totals=totals,
        description=net.description,
        source=net.source,
        file=net.file,
        warnings=tuple(f"{row.name}: {w}" for row in rows for w in row.warnings),
    )
