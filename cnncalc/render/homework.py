"""Rendering of ``cnncalc check``: one line per cell, ✓ or ✗, the right value, its derivation, the likely slip."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape

from cnncalc.homework import CheckResult


def render(result: CheckResult, *, color: bool, width: int) -> str:
    """Cells grouped by table row; wrong cells show the correct value, the formula and the likely mistake."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None,
                      no_color=not color, highlight=False, emoji=False)
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    last = None
    for cell in result.cells:
        if cell.row != last:
            console.print(f"[bold]row {cell.row}: {escape(cell.layer)}[/]")
            last = cell.row
        if cell.ok:
            console.print(f"  [green]✓[/] {escape(cell.column)}: {escape(cell.given)}"
                          + (f" [dim]({escape(cell.derivation)})[/]" if cell.derivation else ""))
            continue
        console.print(f"  [bold red]✗[/] {escape(cell.column)}: {escape(cell.given)} → should be "
                      f"[bold]{escape(cell.correct)}[/]")
        if cell.derivation:
            console.print(f"      [dim]{escape(cell.derivation)}[/]")
        if cell.mistake:
            console.print(f"      [yellow]likely: {escape(cell.mistake)}[/]")
    right = len(result.cells) - result.wrong
    console.print(f"\n{len(result.cells)} cells: {right} ✓, {result.wrong} ✗")
    text = buffer.getvalue()
    return text if color else "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
