"""``cnncalc memory`` and ``cnncalc fit`` as text: the peaks, where they happen, and a sparkline timeline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cnncalc.engine.memory import MemoryReport, Point
from cnncalc.render.text import human_bytes, shape_text

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int], width: int) -> str:
    """``values`` as one line of block characters, at most ``width`` wide (each cell the max of its span)."""
    if not values:
        return ""
    cells = min(width, len(values))
    spans = [values[i * len(values) // cells:(i + 1) * len(values) // cells] or [0] for i in range(cells)]
    top = max(values) or 1
    return "".join(_BARS[min(len(_BARS) - 1, max(span) * len(_BARS) // (top + 1))] for span in spans)


def _timeline(points: Sequence[Point], base: int, width: int) -> list[str]:
    """One sparkline per phase of the bytes alive above ``base`` (parameters, buffers, input), on one scale."""
    phases = list(dict.fromkeys(p.phase for p in points if p.phase != "optimizer"))
    top = max((p.live_bytes - base for p in points if p.phase != "optimizer"), default=0)
    out = []
    for phase in phases:
        values = [p.live_bytes - base for p in points if p.phase == phase]
        line = sparkline([*values, top], width - 12)[:-1] if len(values) < width - 12 else sparkline(values, width - 12)
        out.append(f"  {phase:<9} {line}")
    return out


def text(report: MemoryReport, *, width: int = 100) -> str:
    """The figures a person reads: totals, the inference peak and, with ``--train``, the step's."""
    inf = report.inference
    out = [
        f"{report.model} — input {shape_text(report.input)}, batch {report.batch}, {report.dtype}",
        f"Parameters    {human_bytes(report.param_bytes):>10}    buffers {human_bytes(report.buffer_bytes)}, "
        f"input {human_bytes(report.input_bytes)}",
        f"Naive sum     {human_bytes(report.naive_bytes):>10}    every stored output and the input (the main table's "
        "Activations; not a peak)",
        "",
        f"Inference     {human_bytes(inf.peak_bytes):>10}    peak under torch.no_grad(), everything alive included",
        f"  at layer    {inf.peak_layer}",
        f"  alive       {_names(inf.alive, width - 14)}",
    ]
    if inf.workspace_bytes:
        out.append(f"  workspace   {human_bytes(inf.workspace_bytes)} at most inside one layer (e.g. max-pool indices)")
    base = report.param_bytes + report.buffer_bytes + report.input_bytes
    top = max(p.live_bytes for p in inf.timeline) - base
    out.append(f"Live bytes per layer above parameters, buffers and input (top {human_bytes(top)}):")
    out += _timeline(inf.timeline, base, width)
    step = report.training
    if step is not None:
        opt = step.optimizer + (f" (momentum {step.momentum:g})" if step.optimizer == "sgd" else "")
        extras = ", ".join(x for x in (f"amp {step.amp}" if step.amp else "",
                                       f"checkpoint {' '.join(step.checkpoint)}" if step.checkpoint else "") if x)
        out += [
            "",
            f"Training step {human_bytes(step.peak_bytes):>10}    peak of one step, {opt}"
            + (f", {extras}" if extras else ""),
            f"  at          {step.peak_phase}, {step.peak_layer}",
            f"  saved       {human_bytes(step.saved_activation_bytes)} of activations kept for backward",
            f"  gradients   {human_bytes(step.grad_bytes)}",
            f"  optimizer   {human_bytes(step.optimizer_state_bytes)} of state",
            "Live bytes per layer above parameters, buffers and input, forward then backward (top "
            + human_bytes(max(p.live_bytes for p in step.timeline if p.phase != "optimizer") - base) + "):",
        ]
        out += _timeline(step.timeline, base, width)
    out.append("Peaks count everything alive: parameters, buffers, the input (and in training gradients and optimizer "
               "state); kernel scratch (oneDNN buffers) is not included.")
    return "\n".join(out) + "\n"


def _names(names: Sequence[str], width: int) -> str:
    text = ", ".join(names)
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def to_json(report: MemoryReport) -> str:
    """``--format json``: the documented contract."""
    return json.dumps(report.to_dict(), indent=2)


def fit_text(result: dict[str, Any]) -> str:
    """``cnncalc fit``: the largest batch (and input) that fits, with the peaks around it."""
    budget = f"{result['memory']} ({human_bytes(result['memory_bytes'])})"
    mode = "a training step" if result["train"] else "inference"
    if result["batch"] is None:
        return (f"{result['model']}: not even batch 1 fits in {budget} for {mode} "
                f"(batch 1 needs {human_bytes(result['peak_bytes_next'])})\n")
    shape = "x".join(map(str, result["input"]))
    lines = [f"{result['model']}: batch {result['batch']} fits in {budget} for {mode}, input {shape}",
             f"  peak at batch {result['batch']}: {human_bytes(result['peak_bytes'])}"]
    if result["peak_bytes_next"] is not None:
        lines.append(f"  peak at batch {result['batch'] + 1}: {human_bytes(result['peak_bytes_next'])} (does not fit)")
    res = result.get("resolution")
    if res is not None:
        found = "no square input" if res["input"] is None else "input " + "x".join(map(str, res["input"]))
        lines.append(f"  largest square input at batch {res['batch']}: {found}")
    return "\n".join(lines) + "\n"
