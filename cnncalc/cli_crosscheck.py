"""``cnncalc crosscheck``: compare a spec's analysis with a real PyTorch forward pass (torch is optional)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click


@click.command()
@click.argument("model")
@click.option("--device", type=click.Choice(("cpu", "meta", "cuda")), default="cpu", show_default=True,
              help="meta runs shapes and counts without memory or compute (use it for big networks).")
@click.option("--batch", type=click.IntRange(1, 4096), default=1, show_default=True)
@click.option("--input", "input_text", metavar="SHAPE", help="Override the input shape, e.g. 3x227x227.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Set a spec argument.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
def crosscheck(model: str, device: str, batch: int, input_text: str | None, settings: tuple[str, ...],
               fmt: str) -> None:
    """Build MODEL as a torch module, run it, and compare shapes, parameters, buffers and MACs layer by layer.

    Exit 0 when everything agrees, 1 on any mismatch, 2 on bad input or when torch is not installed.
    """
    from cnncalc.cli import _coerce, guarded

    @guarded
    def run() -> None:
        from cnncalc import bulk, graph, load
        from cnncalc.spec import parse_shape
        from cnncalc.torch_bridge import crosscheck as compare

        args = {k.strip(): _coerce(v) for k, _, v in (s.partition("=") for s in settings)}
        with bulk():
            net = load(model, args=args or None)
            report = graph.run(net, input_shape=parse_shape(input_text) if input_text else None, batch=batch)
        rows = compare(net, report, device=device)
        bad = [r for r in rows if not r.ok]
        if fmt == "json":
            click.echo(json.dumps([_row(r) for r in rows], indent=2))
        else:
            click.echo(_text(report.model, rows, device, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ))
        if bad:
            sys.exit(1)

    run()


def _row(r: Any) -> dict[str, Any]:
    return {"name": r.name, "type": r.type, "ok": r.ok,
            "output_shape": {"cnncalc": list(r.shape[0]), "torch": list(r.shape[1])},
            "params": {"cnncalc": r.params[0], "torch": r.params[1]},
            "buffers": {"cnncalc": r.buffers[0], "torch": r.buffers[1]},
            "macs": {"cnncalc": r.macs[0], "torch": r.macs[1]}}


def _text(model: str, rows: list[Any], device: str, *, color: bool) -> str:
    from cnncalc.layers.base import fmt_shape

    lines = [f"{model}: cnncalc against a torch forward pass on {device}"]
    for r in rows:
        mark = "✓" if r.ok else "✗"
        text = f"{mark} {r.name}: {fmt_shape(r.shape[1])}, {r.params[1]:,} params, {r.buffers[1]:,} buffers"
        if r.macs[1] is not None:
            text += f", {r.macs[1]:,} MACs"
        if not r.ok:
            text += (f"  ← cnncalc: {fmt_shape(r.shape[0])}, {r.params[0]:,} params, {r.buffers[0]:,} buffers, "
                     f"{r.macs[0]:,} MACs")
        lines.append(text)
    bad = sum(not r.ok for r in rows)
    lines.append(f"{len(rows)} layers: {len(rows) - bad} ✓, {bad} ✗ (MACs compared where torch's FlopCounterMode "
                 "counts them: convolutions and matrix products)")
    return "\n".join(lines)
