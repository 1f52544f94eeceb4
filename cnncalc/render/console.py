"""The one place that decides how text reaches a person: terminal or not, colour or not, how wide, captured.

Every command renders into a string through :class:`Captured` and asks :func:`terminal` for colour and width, so
``NO_COLOR``, a pipe and ``--width`` behave the same everywhere.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

#: The width of text written to a file or a pipe (and of tests): a terminal's own width is used otherwise.
DEFAULT_WIDTH = 100


@dataclass(frozen=True, slots=True)
class Terminal:
    """Where standard output goes: whether to colour it and how wide to lay it out."""

    tty: bool
    color: bool
    width: int


def terminal(width: int | None = None) -> Terminal:
    """Colour only on a terminal without ``NO_COLOR``; the given width, else the terminal's, else 100."""
    tty = sys.stdout.isatty()
    if width is None:
        import shutil

        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns if tty else DEFAULT_WIDTH
    return Terminal(tty=tty, color=tty and "NO_COLOR" not in os.environ, width=width)


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


def progress_wanted() -> bool:
    """Progress bars go to stderr, and only to a terminal (not a dumb one) unless ``CNNCALC_NO_PROGRESS`` is set."""
    return (sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
            and os.environ.get("CNNCALC_NO_PROGRESS", "") in ("", "0"))
