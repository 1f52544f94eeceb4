"""Rendering of ``cnncalc verify``: one line per published figure (✓ / ✗ / erratum), grouped by source."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from cnncalc.engine.report import Report
from cnncalc.proof.expect import SourceVerdicts, Verdict
from cnncalc.render.console import Captured

GLYPH = {"pass": "[green]✓[/]", "fail": "[bold red]✗[/]", "erratum": "[yellow]erratum[/]"}


def _value(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "x".join(_value(v) for v in value)
    return str(value)


def counts(results: list[SourceVerdicts]) -> dict[str, int]:
    """How many figures passed, failed, and are explained errata."""
    out = {"pass": 0, "fail": 0, "erratum": 0}
    for source in results:
        for c in source.checks:
            out[c.status] += 1
    return out


def _line(c: Verdict, verbose: bool) -> str:
    expected = c.expected if isinstance(c.expected, str) else _value(c.expected)
    text = f"  {GLYPH[c.status]} {escape(c.what)}: {escape(str(expected))}"
    if c.status != "pass" or verbose:
        text += f" [dim]→ {escape(_value(c.actual))}[/]"
    if c.status != "pass" and c.note:
        text += f"\n      [dim]{escape(c.note)}[/]"
    return text


def text(runs: list[tuple[Report, list[SourceVerdicts]]], *, quiet: bool, color: bool, width: int) -> str:
    """Every spec, every source, every figure (``quiet``: only the figures that are not plain passes)."""
    captured = Captured(color=color, width=width)
    console = captured.console
    total = {"pass": 0, "fail": 0, "erratum": 0}
    for report, results in runs:
        c = counts(results)
        for key in total:
            total[key] += c[key]
        mark = "[bold red]✗[/]" if c["fail"] else "[green]✓[/]"
        console.print(f"{mark} [bold]{escape(report.model)}[/]: {c['pass']} ✓, {c['fail']} ✗, {c['erratum']} erratum")
        for source in results:
            shown = [ch for ch in source.checks if not quiet or ch.status != "pass"]
            if not shown:
                continue
            args = f" [dim](with {', '.join(f'{k}={v}' for k, v in source.args.items())})[/]" if source.args else ""
            first = source.source.splitlines()[0] if source.source else "?"
            console.print(f" [cyan]{escape(first[:width - 12])}[/]{args}")
            for ch in shown:
                console.print(_line(ch, verbose=not quiet))
    console.print(
        f"\n{len(runs)} network(s), {sum(total.values())} figures: {total['pass']} ✓, {total['fail']} ✗, "
        f"{total['erratum']} known errata"
    )
    return captured.text()


def to_json(runs: list[tuple[Report, list[SourceVerdicts]]]) -> list[dict[str, Any]]:
    """The same verdicts as data."""
    return [
        {
            "model": report.model,
            "file": report.file,
            "summary": counts(results),
            "sources": [
                {
                    "source": s.source,
                    "args": s.args,
                    "checks": [
                        {"what": c.what, "expected": c.expected, "actual": c.actual, "status": c.status,
                         "note": c.note}
                        for c in s.checks
                    ],
                }
                for s in results
            ],
        }
        for report, results in runs
    ]
