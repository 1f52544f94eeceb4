"""What the commands share: error handling, the analysing options, ``--set`` and shape parsing."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from cnncalc.engine.report import DTYPE_BYTES
from cnncalc.errors import CnncalcError
from cnncalc.render import RENDERERS

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    """``error: message`` on stderr, exit code 2: bad input, never a traceback."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def guarded(fn: F) -> F:
    """Turn cnncalc's own errors into ``error: …`` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CnncalcError as err:
            fail(str(err))
        except RecursionError:
            fail("the input is nested too deeply")
        except MemoryError:
            fail("the input needs more memory than this machine has (check its sizes and repeat counts)")

    return cast(F, wrapper)


if TYPE_CHECKING:
    _ParamType = click.ParamType[int | str]
else:
    _ParamType = click.ParamType  # generic only from click 8.2


class _Batch(_ParamType):
    """A batch size: an integer from 1 to 1,000,000, or a symbol name (``N``) for a symbolic analysis (#12)."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int):
            number = value
        elif str(value).strip().isidentifier():
            return str(value).strip()
        else:
            try:
                number = int(value)
            except ValueError:
                self.fail(f"{value!r} is neither an integer nor a symbol name like N", param, ctx)
        if not 1 <= number <= 1_000_000:
            self.fail(f"{number} is not in the range 1<=x<=1000000.", param, ctx)
        return number


@dataclass(frozen=True, slots=True)
class View:
    """The options every analysing command shares, gathered once (click passes them as keywords)."""

    input_text: str | None = None
    #: A name (``--batch N``) makes the analysis symbolic (#12).
    batch: int | str = 1
    dtype: str = "float32"
    fmt: str = "table"
    layout: str = "chw"
    strict: bool = False
    width: int | None = None
    depth: int | None = None
    explain: bool = False
    only: str | None = None
    #: ``show -o FILE`` (issue #13): write the rendering to FILE instead of stdout.
    output: str | None = None
    #: ``show --plot FILE`` (issue #13): also draw the per-layer charts with matplotlib (an optional extra).
    plot: str | None = None


def view_options(fn: F) -> F:
    options = [
        click.option("--input", "input_text", metavar="SHAPE", help="Override the input shape, e.g. 3x227x227; "
                     "names make sizes symbolic, e.g. 3xHxW."),
        click.option("--batch", type=_Batch(), default=1, show_default=True,
                     help="Batch size (scales MACs, FLOPs and activations); a name such as N makes it a symbol."),
        click.option("--dtype", type=click.Choice(tuple(DTYPE_BYTES)), default="float32", show_default=True,
                     help="Bytes per value for memory figures."),
        click.option("--format", "fmt", type=click.Choice(tuple(RENDERERS)), default="table", show_default=True),
        click.option("--layout", type=click.Choice(("chw", "hwc")), default="chw", show_default=True,
                     help="How shapes are written and read: channels first, or 224x224x3 as cs231n writes."),
        click.option("--strict", is_flag=True, help="Make warnings (a stride that does not fit) errors."),
        click.option("--width", type=click.IntRange(40, 1000), help="Table width (default: the terminal's, or 100)."),
        click.option("--depth", type=click.IntRange(1, 100), help="Fold table rows nested deeper than N into their "
                     "block's row (1: top level only)."),
        click.option("--explain", is_flag=True, help="Show each figure's formula with the numbers substituted."),
        click.option("--layer", "only", metavar="NAME", help="With --explain: only layers matching NAME (a glob)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


#: Characters written to stdout at a time.
_PIECE = 1 << 20


def write_output(text: str, output: str | None) -> None:
    """Print ``text``, or (``-o FILE``) write it to FILE and say so on stderr."""
    if output is None:
        for start in range(0, len(text) or 1, _PIECE):  # a 60 MB report is not encoded into a second copy at once
            click.echo(text[start : start + _PIECE], nl=False)
        return
    from pathlib import Path

    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise CnncalcError(f"cannot write {output}: {err.strerror}") from err
    click.echo(f"wrote {output} ({len(text.encode()):,} bytes)", err=True)


def input_shape(view: View) -> tuple[int, ...] | None:
    from cnncalc.spec.format import parse_shape

    return parse_shape(view.input_text, layout="hwc" if view.layout == "hwc" else "chw") if view.input_text else None


def input_dims(view: View) -> tuple[int | str, ...] | None:
    """Like :func:`input_shape`, but sizes may be symbol names (``--input 3xHxW``, issue #12)."""
    from cnncalc.spec.format import parse_dims

    return parse_dims(view.input_text, layout="hwc" if view.layout == "hwc" else "chw") if view.input_text else None


def settings_args(settings: tuple[str, ...]) -> dict[str, Any]:
    """``--set name=value`` options as spec arguments (values read as YAML scalars)."""
    args: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--set takes name=value, got {item!r}")
        args[key.strip()] = coerce(value)
    return args


def coerce(text: str) -> Any:
    """An option's value as a YAML scalar (``3``, ``true``, ``[1, 2]``, ``{"before": [1, 0], …}``)."""
    import re

    import yaml

    long = max((len(run) for run in re.findall(r"\d+", text)), default=0)
    if long > 18:
        raise CnncalcError(f"a number of {long:,} digits in {text[:20]!r}…; numbers are limited to 18 digits")

    if "," in text and not text.lstrip().startswith(("[", "{")):
        text = f"[{text}]"
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        return text


