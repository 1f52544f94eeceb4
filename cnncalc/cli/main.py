"""The ``cnncalc`` command: thin click wrappers that parse options, call the library and print a renderer's text.

Exit codes are a contract: 0 ok, 1 checked and something did not match, 2 bad input or usage (no traceback).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

# cnncalc's models use no pydantic plugins; looking them up costs an importlib.metadata scan (~12 ms) per run.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from cnncalc.engine.report import DTYPE_BYTES
from cnncalc.errors import CnncalcError
from cnncalc.render import RENDERERS, Options
from cnncalc.version import __version__

if TYPE_CHECKING:
    from cnncalc.engine.graph import Analysis

F = TypeVar("F", bound=Callable[..., Any])
#: Warnings printed to stderr before the rest are summarised in one line.
_MAX_WARNINGS = 5


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def guarded(fn: F) -> F:
    """Turn cnncalc's own errors into ``error: …`` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CnncalcError as err:
            _fail(str(err))
        except RecursionError:
            _fail("the input is nested too deeply")

    return cast(F, wrapper)


class _DefaultGroup(click.Group):
    """``cnncalc vgg16`` means ``cnncalc show vgg16``: anything that is not a subcommand goes to ``show``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``show`` before arguments that name no subcommand."""
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def main() -> None:
    """Exact shapes, parameters, MACs, FLOPs, memory and receptive fields of convolutional networks.

    \b
    cnncalc vgg16                      a zoo network, layer by layer
    cnncalc my_net.yaml --format json  your own spec
    cnncalc -e "3x32x32: conv5-8 maxpool2 fc-10"
    cnncalc layer conv2d --input 3x227x227 --out-channels 96 --kernel-size 11 --stride 4
    """


@dataclass(frozen=True, slots=True)
class View:
    """The options every analysing command shares, gathered once (click passes them as keywords)."""

    input_text: str | None = None
    batch: int = 1
    dtype: str = "float32"
    fmt: str = "table"
    layout: str = "chw"
    strict: bool = False
    width: int | None = None
    depth: int | None = None
    explain: bool = False
    only: str | None = None


def _view_options(fn: F) -> F:
    options = [
        click.option("--input", "input_text", metavar="SHAPE", help="Override the input shape, e.g. 3x227x227."),
        click.option("--batch", type=click.IntRange(1, 1_000_000), default=1, show_default=True,
                     help="Batch size (scales MACs, FLOPs and activations)."),
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


def _emit(report: Analysis, view: View) -> None:
    tty = sys.stdout.isatty()
    if view.explain:
        from cnncalc.engine.explain import explain

        explanations = explain(report, view.only)
        if view.fmt == "json":
            import json

            click.echo(json.dumps([e.to_dict() for e in explanations], indent=2))
        else:
            click.echo("\n\n".join(e.text() for e in explanations))
    else:
        if view.only is not None:
            raise click.UsageError("--layer selects layers for --explain; add --explain")
        width = view.width or (_terminal_width() if tty else 100)
        color = tty and "NO_COLOR" not in os.environ
        options = Options(layout="hwc" if view.layout == "hwc" else "chw", width=width, color=color, depth=view.depth)
        click.echo(RENDERERS[view.fmt](report, options), nl=False)
    for warning in report.warnings[:_MAX_WARNINGS]:
        click.echo(f"warning: {warning}", err=True)
    if len(report.warnings) > _MAX_WARNINGS:
        click.echo(f"warning: … and {len(report.warnings) - _MAX_WARNINGS} more (marked ⚠ in the table; "
                   "--format json lists them all)", err=True)


def _shape(view: View) -> tuple[int, ...] | None:
    from cnncalc.spec.format import parse_shape

    return parse_shape(view.input_text, layout="hwc" if view.layout == "hwc" else "chw") if view.input_text else None


def settings_args(settings: tuple[str, ...]) -> dict[str, Any]:
    """``--set name=value`` options as spec arguments (values read as YAML scalars)."""
    args: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--set takes name=value, got {item!r}")
        args[key.strip()] = _coerce(value)
    return args


def _run(spec: Any, view: View, settings: tuple[str, ...] = ()) -> None:
    """Load, analyse and print: the body of every analysing command."""
    from cnncalc.engine.graph import analyze

    args = settings_args(settings)
    analysis = analyze(spec, args=args or None, input_shape=_shape(view), batch=view.batch,
                       dtype=cast(Any, view.dtype), strict=view.strict)
    _emit(analysis, view)


@main.command()
@click.argument("model", required=False)
@click.option("-e", "--expr", metavar="NOTATION", help='A one-line network, e.g. "3x32x32: conv5-8 maxpool2 fc-10".')
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Set a spec argument (see its 'args:'), e.g. --set aux=true.")
@_view_options
@guarded
def show(model: str | None, expr: str | None, settings: tuple[str, ...], **options: Any) -> None:
    """Analyse MODEL (a zoo name or a spec file) or a one-line -e expression."""
    view = View(**options)
    if (model is None) == (expr is None):
        raise click.UsageError("give a MODEL (zoo name or spec file) or -e NOTATION, not both and not neither")
    if expr is not None:
        from cnncalc.spec.notation import parse

        _run(parse(expr, input_shape=_shape(view)), replace(view, input_text=None), settings)
    else:
        _run(model, view, settings)


@main.command()
@click.argument("targets", nargs=-1, metavar="[MODEL|SPEC]...")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only figures that fail or are known errata, and the counts.")
@guarded
def verify(targets: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """Check specs against their published figures (`expect:` data); no argument: the whole zoo.

    Exit 0 when every figure holds (known, explained errata included), 1 on any unexplained mismatch, 2 on bad
    input such as a spec without `expect:` data.
    """
    import json

    from cnncalc.proof.expect import verify as run_checks
    from cnncalc.render.verdicts import counts, text, to_json
    from cnncalc.spec import zoo
    from cnncalc.spec.load import bulk

    runs = []
    with bulk():
        for target in targets or tuple(zoo.names()):
            report, results = run_checks(target)
            if not results:
                raise CnncalcError(f"{target} has no expect: data to verify (see the README's 'Guarding your model')")
            runs.append((report, results))
    if fmt == "json":
        click.echo(json.dumps(to_json(runs), indent=2))
    else:
        tty = sys.stdout.isatty()
        width = _terminal_width() if tty else 100
        click.echo(text(runs, quiet=quiet, color=tty and "NO_COLOR" not in os.environ, width=width), nl=False)
    if any(counts(results)["fail"] for _, results in runs):
        sys.exit(1)


@main.command()
@click.argument("spec", metavar="SPEC")
@click.argument("table", metavar="TABLE")
@click.option("--layout", type=click.Choice(("auto", "hwc", "chw")), default="auto", show_default=True,
              help="How the table writes shapes: detected from its cells, H×W×C (cs231n) or C×H×W.")
@click.option("--input", "input_text", metavar="SHAPE", help="Override the spec's input shape (channels first).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the wrong cells, the notes and the counts.")
@click.option("--width", type=click.IntRange(40, 1000), help="Table width (default: the terminal's, or 100).")
@guarded
def check(spec: str, table: str, layout: str, input_text: str | None, fmt: str, quiet: bool,
          width: int | None) -> None:
    """Check a homework TABLE (CSV or Markdown) of shapes and counts against SPEC, cell by cell.

    Each cell gets ✓ or ✗ with the correct value and its derivation; a wrong cell names the common mistake that
    reproduces it (input depth left out, bias left out, padding ignored, …). Exit 0 when every cell is right, 1
    when any is wrong, 2 on bad input (an unreadable table, no known column, rows that cannot be matched).
    """
    from cnncalc.engine.graph import analyze
    from cnncalc.proof.homework import check as check_table
    from cnncalc.render.homework import text, to_json

    result = check_table(analyze(spec, input_shape=_shape(View(input_text=input_text))), table, cast(Any, layout))
    if fmt == "json":
        click.echo(to_json(result))
    else:
        tty = sys.stdout.isatty()
        click.echo(text(result, color=tty and "NO_COLOR" not in os.environ,
                        width=width or (_terminal_width() if tty else 100), quiet=quiet), nl=False)
    if result.wrong:
        sys.exit(1)


@main.command("list")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@guarded
def list_(fmt: str) -> None:
    """The zoo: one line per network with its parameters and MACs."""
    import json

    from cnncalc.engine.graph import analyze
    from cnncalc.render import human
    from cnncalc.spec import zoo

    reports = [analyze(name) for name in zoo.names()]
    if fmt == "json":
        rows = [{"name": r.model, "description": r.description, "input": list(r.input),
                 "params": r.totals.params, "macs": r.totals.macs} for r in reports]
        click.echo(json.dumps(rows, indent=2))
        return
    name_w = max(len(r.model) for r in reports)
    for r in reports:
        click.echo(f"{r.model:<{name_w}}  {human(r.totals.params):>7} params  {human(r.totals.macs):>7} MACs  "
                   f"{r.description}")


def _layer_fields(kind: str) -> str:
    from cnncalc.engine.layers import REGISTRY

    cls = REGISTRY[kind]
    parts = []
    for name, info in cls.model_fields.items():
        if name in ("type", "name", "trainable"):
            continue
        flag = "--" + name.replace("_", "-")
        parts.append(flag if info.is_required() else f"[{flag} {info.default!r}]")
    return " ".join(parts)


def _coerce(text: str) -> Any:
    import yaml

    if "," in text and not text.startswith("["):
        text = f"[{text}]"
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("kind", metavar="TYPE", required=False)
@_view_options
@click.pass_context
@guarded
def layer(ctx: click.Context, /, kind: str | None, **options: Any) -> None:
    """A single-layer calculator: TYPE with its fields as options (--out-channels 96 --kernel-size 11 ...).

    Without TYPE, lists the layer types; with TYPE and no options, lists its fields.
    """
    from cnncalc.engine.layers import REGISTRY, layer_classes, suggest
    from cnncalc.engine.layers.base import type_names

    if kind is None:
        for cls in layer_classes():
            doc = (cls.__doc__ or "").strip().splitlines()[0]
            click.echo(f"{', '.join(type_names(cls)):<40} {doc}")
        return
    kind = kind.lower()
    if kind not in REGISTRY:
        close = suggest(kind)
        raise CnncalcError(f"unknown layer type '{kind}'" + (f" (did you mean '{close}'?)" if close else ""))
    fields: dict[str, Any] = {"type": kind}
    args = list(ctx.args)
    while args:
        flag = args.pop(0)
        if not flag.startswith("--"):
            raise click.UsageError(f"expected an option like --kernel-size, got {flag!r}")
        key, _, inline = flag[2:].partition("=")
        if inline:
            value: Any = _coerce(inline)
        elif args and not args[0].startswith("--"):
            value = _coerce(args.pop(0))
        else:
            value = True
        fields[key.replace("-", "_")] = value
    view = View(**options)
    if view.input_text is None:
        raise click.UsageError(f"give --input SHAPE; {kind} takes: {_layer_fields(kind)}")
    _run({"name": kind, "input": "1", "layers": [fields]}, view)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format (for editor completion and validation)."""
    import json

    from cnncalc.spec.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


def _register_optional_commands() -> None:
    """The torch bridge's commands live in their own modules; they import torch only when run."""
    from cnncalc.cli.crosscheck import crosscheck
    from cnncalc.cli.importer import import_

    main.add_command(crosscheck)
    main.add_command(import_)
    main.add_command(__import__("cnncalc.cli.memory", fromlist=["memory"]).memory)
    main.add_command(__import__("cnncalc.cli.memory", fromlist=["fit"]).fit)


_register_optional_commands()
