"""Progress bars for long work (verify of the whole zoo, crosscheck, import, sizes over a range), terminal only.

A bar is drawn on stderr, and only when stderr is a terminal: piped, captured or CI output never holds a progress
artefact, so stdout and every golden output stay byte-identical. ``CNNCALC_NO_PROGRESS=1`` turns bars off.
The bar is transient: it disappears when the work is done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cnncalc.render.console import progress_wanted

Advance = Callable[[str], None]


def _nothing(label: str = "") -> None:
    """The advance callback when no bar is drawn."""


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Advance]:
    """A bar for ``total`` steps (a spinner when ``total`` is None); yields ``advance(label)`` for each step done.

    rich is imported only when a bar is drawn.
    """
    if not progress_wanted():
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, description=f"{description} {label}".rstrip())

        yield advance
