"""``cnncalc conventions MODEL`` (and ``cnncalc MODEL --conventions``): every tool's total and why it differs.

``--convention NAME`` on ``show`` recounts the table itself; both live on :mod:`cnncalc.engine.conventions`.
"""

from __future__ import annotations

import fnmatch
import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from cnncalc.engine.conventions import Calls, Comparison, Counted
    from cnncalc.engine.report import Analysis


def functional_names(analysis: Analysis, patterns: tuple[str, ...]) -> frozenset[str]:
    """Layer names matching ``--functional`` globs (comma-separated, repeatable): layers torch calls as ``F.*``."""
    globs = [p.strip() for item in patterns for p in item.split(",") if p.strip()]
    return frozenset(row.name for row in analysis.layers if any(fnmatch.fnmatchcase(row.name, g) for g in globs))


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


def table(analysis: Analysis, comparisons: list[Comparison]) -> str:
    """One line per tool: its total, the difference from cnncalc's, and the terms that make it."""
    shape = "x".join(map(str, analysis.input))
    lines = [f"{analysis.model}: input {shape}, batch {analysis.batch}, {analysis.totals.params:,} params", ""]
    head = f"{'convention':<13} {'tool':<40} {'total':>18} {'vs cnncalc':>13}  terms that differ"
    lines += [head, "-" * len(head)]
    for c in comparisons:
        unit = "MACs" if c.unit == "macs" else "FLOPs"
        if c.name == "cnncalc":
            diff, why = "", "(conv and linear multiply-adds only)"
        else:
            pct = f" ({c.difference / c.baseline:+.2%})" if c.baseline else ""
            diff = _signed(c.difference)
            why = "; ".join(f"{k} {_signed(v)}" for k, v in c.deltas().items()) or "none"
            why += pct
            if c.unit == "flops":
                why = f"vs cnncalc's {c.baseline:,} FLOPs: {why}"
        lines.append(f"{c.name:<13} {c.tool[:40]:<40} {c.total:>13,} {unit:<5}{diff:>13}  {why}")
    lines.append("")
    for c in comparisons:
        if c.extras:
            lines.append(f"{c.name} also prints: " + ", ".join(f"{k} {v}" for k, v in c.extras.items()))
        if c.params != analysis.totals.params:
            lines.append(f"{c.name} params: {c.params:,} ({_signed(c.params - analysis.totals.params)}: "
                         "BatchNorm's moving mean and variance count as weights)")
    from cnncalc.engine.conventions import CONVENTIONS

    lines.append("")
    lines.append("What each counts (and assumes):")
    for conv in CONVENTIONS.values():
        assumed = "" if conv.assumes == "nothing" else f" [assumes {conv.assumes}]"
        lines.append(f"  {conv.name}: {conv.counts}{assumed}")
    return "\n".join(lines) + "\n"


def to_json(analysis: Analysis, comparisons: list[Comparison]) -> str:
    """The comparison as JSON: the model, and one object per convention."""
    out: dict[str, Any] = {"model": analysis.model, "input": list(analysis.input), "batch": analysis.batch,
                           "params": analysis.totals.params, "conventions": [c.to_dict() for c in comparisons]}
    return json.dumps(out, indent=2)


def emit(analysis: Analysis, fmt: str, calls: Calls = ()) -> None:
    """Print the comparison (``--conventions`` and the ``conventions`` command share this)."""
    from cnncalc.engine.conventions import compare

    comparisons = compare(analysis, calls)
    click.echo(to_json(analysis, comparisons) if fmt == "json" else table(analysis, comparisons), nl=fmt == "json")


def note(counted: Counted) -> str:
    """The line under a table recounted with ``--convention``: whose numbers these are."""
    from cnncalc.engine.conventions import CONVENTIONS

    conv = CONVENTIONS[counted.convention]
    unit = "MACs" if conv.unit == "macs" else "FLOPs"
    total = counted.totals.macs if conv.unit == "macs" else counted.totals.flops
    extra = "".join(f"; {k} {v}" for k, v in counted.extras.items())
    return f"{unit} as {conv.tool} counts them: {total:,} ({conv.counts}){extra}"


@click.command("conventions")
@click.argument("model", metavar="MODEL|MODULE:FACTORY")
@click.option("--input", "input_text", metavar="SHAPE", help="Override the input shape, e.g. 3x224x224.")
@click.option("--batch", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Set a spec argument, e.g. aux=false.")
@click.option("--functional", "patterns", multiple=True, metavar="GLOBS",
              help="Layers the torch code calls as F.* functions, not modules (comma-separated globs); ptflops "
                   "then counts them once, thop not at all.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
def conventions(model: str, input_text: str | None, batch: int, settings: tuple[str, ...], patterns: tuple[str, ...],
                fmt: str) -> None:
    """Each tool's count for MODEL (fvcore, ptflops, thop, torchinfo, Keras), the difference from cnncalc's and
    the terms that make it (biases, BatchNorm, pooling, activations, double counts).

    MODEL is a zoo name or spec file, or a torch MODULE:FACTORY (with --input): then the module is imported and its
    fx graph says which layers it calls as F.* functions, so ptflops and thop are reproduced exactly.
    """
    from cnncalc.cli.options import guarded, settings_args

    @guarded
    def run() -> None:
        from pathlib import Path

        from cnncalc.engine.graph import analyze
        from cnncalc.spec.format import parse_shape

        shape = parse_shape(input_text) if input_text else None
        if ":" in model and not Path(model).exists():
            if shape is None:
                raise click.UsageError("a torch MODULE:FACTORY needs --input SHAPE")
            from cnncalc.cli.importer import build
            from cnncalc.torch.conventions import from_module

            analysis, traced = from_module(build(model), shape, name=model.partition(":")[2].lower())
            calls: Calls = {**traced, **dict.fromkeys(functional_names(analysis, patterns), "function")}
            if batch != 1:
                analysis = analyze(analysis.network, batch=batch)
            emit(analysis, fmt, calls)
            return
        analysis = analyze(model, args=settings_args(settings) or None, batch=batch, input_shape=shape)
        emit(analysis, fmt, functional_names(analysis, patterns))

    run()

