"""Rendering of ``cnncalc check``: a table of cells (✓ or ✗, the correct value, its derivation, the likely slip).

The logic lives in :mod:`cnncalc.proof.homework`; this module only lays its result out, as rich text or as JSON.
"""

from __future__ import annotations

import json

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cnncalc.proof.homework import CheckResult, name_key
from cnncalc.render.console import Captured

#: Below this width the cells are listed one under another instead of in a table, whose derivation column would
#: be a few characters wide.
STACK_BELOW = 90


def _stacked(result: CheckResult, console: Console, width: int, quiet: bool) -> None:
    """One block per row, one paragraph per cell: mark, column, given → correct, then derivation and slip."""
    import textwrap

    def para(text: str, indent: int) -> str:
        return textwrap.fill(text, width=width, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2),
                             break_on_hyphens=False)

    last = None
    for cell in result.cells:
        if quiet and cell.ok:
            continue
        if cell.row != last:
            label = f" ({cell.label})" if cell.label and name_key(cell.label) not in name_key(cell.layer) else ""
            console.print(escape(para(f"row {cell.row}: {cell.layer}{label}", 0)), style="bold")
            last = cell.row
        mark = "✓" if cell.ok else "✗"
        console.print(escape(para(f"{mark} {cell.column}: {cell.given} → {cell.correct}", 2)))
        console.print(escape(para(cell.derivation, 4)), style="dim" if cell.ok else None)
        if not cell.ok:
            slip = f"likely: {cell.mistake}" if cell.mistake else "no common slip reproduces it"
            console.print(escape(para(slip, 4)), style="yellow" if cell.mistake else "dim")


def to_json(result: CheckResult) -> str:
    """The result as JSON: the table, the assumptions made to read it, the row matching and every cell."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)


def text(result: CheckResult, *, color: bool, width: int, quiet: bool = False) -> str:
    """Notes first, then one line per cell grouped by table row, then the counts (``quiet``: wrong cells only).

    Below :data:`STACK_BELOW` columns the cells are stacked instead; either way no text is ever cut.
    """
    captured = Captured(color=color, width=width)
    console = captured.console
    console.print(f"[bold]{escape(result.table)}[/] against [bold]{escape(result.model)}[/]")
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    if width < STACK_BELOW:
        _stacked(result, console, width, quiet)
        console.print(f"{len(result.cells)} cells: {result.right} ✓, {result.wrong} ✗")
        return captured.text()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    # Every column but the row number, the mark and the correct value wraps, and folds a word wider than the
    # column, so no text is ever cropped: a test compares the printed derivations with the JSON.
    table.add_column("Row", justify="right", no_wrap=True)
    table.add_column("Layer", max_width=20, overflow="fold")
    table.add_column("Column", max_width=16, overflow="fold")
    table.add_column("Given", justify="right", max_width=16, overflow="fold")
    table.add_column("", no_wrap=True)
    table.add_column("Correct", justify="right", max_width=24, overflow="fold")
    table.add_column("Derivation · likely mistake", overflow="fold")
    last = None
    for cell in result.cells:
        if quiet and cell.ok:
            continue
        first = cell.row != last
        if first and last is not None:
            table.add_section()
        last = cell.row
        mark = "[green]✓[/]" if cell.ok else "[bold red]✗[/]"
        if cell.ok:
            why = f"[dim]{escape(cell.derivation)}[/]"
        else:
            why = escape(cell.derivation)
            why += f"\n[yellow]likely: {escape(cell.mistake)}[/]" if cell.mistake else \
                "\n[dim]no common slip reproduces it[/]"
        layer = escape(cell.layer)
        if cell.label and name_key(cell.label) not in name_key(cell.layer):
            layer += f"\n[dim]{escape(cell.label)}[/]"  # the table's own name for the row
        table.add_row(str(cell.row) if first else "", layer if first else "", escape(cell.column),
                      escape(cell.given), mark, escape(cell.correct), why.strip())
    if table.rows:
        console.print(table)
    console.print(f"{len(result.cells)} cells: {result.right} ✓, {result.wrong} ✗")
    return captured.text()
