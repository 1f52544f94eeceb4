"""Renderers: a Report in, a string out. The CLI's ``--format`` choices are this registry's keys.

Each renderer is imported only when used; what they share (options, number and shape text) is in
:mod:`cnncalc.render.text`, the terminal in :mod:`cnncalc.render.console`.
"""

from __future__ import annotations

from collections.abc import Callable

from cnncalc.engine.report import Report
from cnncalc.render.text import Options

Renderer = Callable[[Report, Options], str]


def _table(report: Report, options: Options) -> str:
    from cnncalc.render.table import render

    return render(report, options)


def _export(kind: str) -> Renderer:
    def render(report: Report, options: Options) -> str:
        from cnncalc.render import export

        fn: Renderer = getattr(export, kind)
        return fn(report, options)

    render.__doc__ = f"Lazy wrapper around cnncalc.render.export.{kind}."
    return render


def _html(report: Report, options: Options) -> str:
    """Lazy wrapper around cnncalc.render.html.render (the self-contained HTML report, issue #13)."""
    from cnncalc.render.html import render

    return render(report, options)


RENDERERS: dict[str, Renderer] = {
    "table": _table,
    "json": _export("json"),
    "csv": _export("csv"),
    "markdown": _export("markdown"),
    "html": _html,
}
