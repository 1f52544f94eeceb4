"""Renderers: a Report in, a string out. The CLI's ``--format`` choices are this registry's keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cnncalc.engine.report import Report

Layout = Literal["chw", "hwc"]


@dataclass(frozen=True, slots=True)
class Options:
    """How to show a report; ``layout`` only changes how shapes are written, never the JSON contract."""

    layout: Layout = "chw"
    width: int = 100
    color: bool = False
    #: Table rows nested deeper than this are folded into their block's row (None: show everything).
    depth: int | None = None


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


def shape_text(shape: tuple[int, ...], layout: Layout = "chw") -> str:
    """``64x224x224``, or ``224x224x64`` for the cs231n/TensorFlow ``hwc`` layout."""
    dims = (*shape[1:], shape[0]) if layout == "hwc" and len(shape) > 1 else shape
    return "x".join(map(str, dims))


def human(value: float, *, base: int = 1000, units: tuple[str, ...] = ("", "K", "M", "G", "T", "P")) -> str:
    """``138357544`` → ``138.4M``: four significant digits, SI prefixes (only renderers humanise)."""
    scaled = float(value)
    for unit in units:
        if abs(scaled) < base or unit == units[-1]:
            text = f"{scaled:.4g}" if unit else f"{int(scaled)}" if scaled == int(scaled) else f"{scaled:.4g}"
            return text + unit
        scaled /= base
    raise AssertionError("unreachable")


def human_bytes(value: int) -> str:
    """``60950432`` → ``60.95 MB`` (decimal units, as memory figures are usually quoted)."""
    return human(value, units=(" B", " kB", " MB", " GB", " TB", " PB"))


class Captured:
    """A rich console that writes into a string: colour only when asked, trailing spaces trimmed without it."""

    def __init__(self, *, color: bool, width: int) -> None:
        import io

        from rich.console import Console

        self.color = color
        self.buffer = io.StringIO()
        self.console = Console(file=self.buffer, width=width, force_terminal=color,
                               color_system="standard" if color else None, no_color=not color, highlight=False,
                               emoji=False)

    def text(self) -> str:
        """Everything printed so far."""
        out = self.buffer.getvalue()
        return out if self.color else "\n".join(line.rstrip() for line in out.splitlines()) + "\n"
