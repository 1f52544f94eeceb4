"""Rendering of ``cnncalc crosscheck``: the ✓/✗ table of cnncalc against torch, layer by layer, and as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.render.console import Captured

if TYPE_CHECKING:
    from cnncalc.torch.crosscheck import CrossReport, Row

_FOOTNOTE = ("MACs are compared where torch's FlopCounterMode counts them (convolutions, transposed convolutions and "
             "matrix products, at 2 FLOPs per MAC, without bias additions); '—' where it counts none.")


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
    from rich.markup import escape

    from cnncalc.model import fmt_shape

    captured = Captured(color=color, width=width)
    console = captured.console
    console.print(f"[bold]{escape(result.model)}[/]: cnncalc against a torch forward pass on {result.device}, "
                  f"input {fmt_shape(result.input)}, batch {result.batch}")
    if result.rejected is not None:
        console.print(f"[bold red]✗[/] {escape(result.rejected)}")
        return captured.text()
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
    return captured.text()
