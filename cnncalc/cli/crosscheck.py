"""``cnncalc crosscheck``: compare a spec's analysis with a real PyTorch forward pass (torch is optional)."""

from __future__ import annotations

import io
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from cnncalc.torch.bridge import CrossReport, Row

_FOOTNOTE = ("MACs are compared where torch's FlopCounterMode counts them (convolutions, transposed convolutions and "
             "matrix products, at 2 FLOPs per MAC, without bias additions); '—' where it counts none.")


@click.command()
@click.argument("model")
@click.option("--device", type=click.Choice(("cpu", "meta", "cuda")), default="cpu", show_default=True,
              help="meta runs torch's shape rules and FLOP counting without memory or compute (big networks).")
@click.option("--batch", type=click.IntRange(1, 4096), default=1, show_default=True)
@click.option("--input", "input_text", metavar="SHAPE", help="Override the input shape, e.g. 3x227x227.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Set a spec argument (see its 'args:'), e.g. --set aux=true.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
def crosscheck(model: str, device: str, batch: int, input_text: str | None, settings: tuple[str, ...],
               fmt: str) -> None:
    """Build MODEL as a torch module, run it, and compare shapes, parameters, buffers and MACs layer by layer.

    Exit 0 when everything agrees, 1 on any mismatch, 2 on bad input or when torch is not installed.
    """
    from cnncalc.cli.main import guarded, settings_args

    args = settings_args(settings)

    @guarded
    def run() -> CrossReport:
        from cnncalc.engine.graph import analyze
        from cnncalc.spec.format import parse_shape
        from cnncalc.torch.bridge import crosscheck as compare
        from cnncalc.torch.bridge import torch_modules

        torch_modules()  # a missing torch is reported before any work
        analysis = analyze(model, args=args or None, input_shape=parse_shape(input_text) if input_text else None,
                           batch=batch)
        if hasattr(analysis, "conditions"):  # a spec with symbolic sizes (input: [3, H, W])
            from cnncalc.errors import SpecError

            raise SpecError("crosscheck runs torch on numbers: give the input sizes, e.g. --input 3x224x224")
        return compare(analysis, device=device)

    result = run()
    if fmt == "json":
        click.echo(json.dumps(to_json(result), indent=2))
    else:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        width = _terminal_width() if sys.stdout.isatty() else 100
        click.echo(text(result, color=color, width=width), nl=False)
    if not result.ok:
        sys.exit(1)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _pair(pair: tuple[Any, Any]) -> dict[str, Any]:
    a, b = pair
    return {"cnncalc": list(a) if isinstance(a, tuple) else a, "torch": list(b) if isinstance(b, tuple) else b,
            "ok": b is None or a == b}


def to_json(result: CrossReport) -> dict[str, Any]:
    """The comparison as data: every layer and every total as ``{cnncalc, torch, ok}``."""
    return {
        "model": result.model, "device": result.device, "batch": result.batch, "input": list(result.input),
        "ok": result.ok, "rejected": result.rejected,
        "totals": {"params": _pair(result.params), "trainable_params": _pair(result.trainable_params),
                   "buffers": _pair(result.buffers), "macs": _pair(result.macs)},
        "layers": [
            {"name": r.name, "type": r.type, "ok": r.ok, "output_shape": _pair(r.shape), "params": _pair(r.params),
             "buffers": _pair(r.buffers), "macs": _pair(r.macs)}
            for r in result.rows
        ],
    }


def _cell(ok: bool, ours: str, theirs: str) -> str:
    from rich.markup import escape

    return escape(theirs) if ok else f"[bold red]{escape(ours)} ≠ {escape(theirs)}[/]"


def _rows_table(rows: tuple[Row, ...]) -> Any:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from cnncalc.model import fmt_shape

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("Layer", overflow="fold")
    table.add_column("Type", no_wrap=True)
    for title in ("Output", "Params", "Buffers", "MACs"):
        table.add_column(title, justify="right")
    for r in rows:
        macs = "—" if r.macs[1] is None else f"{r.macs[1]:,}"
        table.add_row(
            "[green]✓[/]" if r.ok else "[bold red]✗[/]", escape(r.name), escape(r.type),
            _cell(r.shape_ok, fmt_shape(r.shape[0]), fmt_shape(r.shape[1])),
            _cell(r.params_ok, f"{r.params[0]:,}", f"{r.params[1]:,}"),
            _cell(r.buffers_ok, f"{r.buffers[0]:,}", f"{r.buffers[1]:,}"),
            _cell(r.macs_ok, f"{r.macs[0]:,}", macs),
        )
    return table


def text(result: CrossReport, *, color: bool, width: int) -> str:
    """The ✓/✗ table (a mismatching cell reads ``cnncalc ≠ torch``), the totals and a one-line verdict."""
    from rich.console import Console
    from rich.markup import escape

    from cnncalc.model import fmt_shape

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None,
                      no_color=not color, highlight=False, emoji=False)
    console.print(f"[bold]{escape(result.model)}[/]: cnncalc against a torch forward pass on {result.device}, "
                  f"input {fmt_shape(result.input)}, batch {result.batch}")
    if result.rejected is not None:
        console.print(f"[bold red]✗[/] {escape(result.rejected)}")
        out = buffer.getvalue()
        return out if color else "\n".join(line.rstrip() for line in out.splitlines()) + "\n"
    console.print(_rows_table(result.rows))
    for what, (ours, theirs) in (("params", result.params), ("trainable", result.trainable_params),
                                 ("buffers", result.buffers), ("MACs", result.macs)):
        mark = "[green]✓[/]" if ours == theirs else "[bold red]✗[/]"
        note = " (layers torch counts)" if what == "MACs" else ""
        console.print(f"{mark} {what:<10} cnncalc {ours:,}  torch {theirs:,}{note}")
    bad = len(result.mismatches)
    console.print(f"{len(result.rows)} layers: {len(result.rows) - bad} ✓, {bad} ✗; MACs compared on "
                  f"{result.counted} layers")
    console.print(f"[dim]{_FOOTNOTE}[/]")
    out = buffer.getvalue()
    return out if color else "\n".join(line.rstrip() for line in out.splitlines()) + "\n"
