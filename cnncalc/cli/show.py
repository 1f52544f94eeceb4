"""``cnncalc show`` (the default command): analyse a network and print it in any format, or explain it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import click

from cnncalc.cli.options import F, View, guarded, input_dims, settings_args, view_options, write_output
from cnncalc.render import RENDERERS
from cnncalc.render.console import terminal
from cnncalc.render.text import Options

if TYPE_CHECKING:
    from cnncalc.engine.report import Analysis

#: Warnings printed to stderr before the rest are summarised in one line.
_MAX_WARNINGS = 5

def _emit(report: Analysis, view: View) -> None:
    if hasattr(report, "conditions"):  # a symbolic analysis (#12): closed forms, rendered by their own module
        from cnncalc.cli.sizes import emit_symbolic

        emit_symbolic(report, view)
        return
    if view.plot is not None:
        from cnncalc.render.plot import require

        require()  # a missing matplotlib fails before any output
    if view.explain:
        from cnncalc.engine.explain import explain

        explanations = explain(report, view.only)
        if view.fmt == "json":
            import json

            write_output(json.dumps([e.to_dict() for e in explanations], indent=2) + "\n", view.output)
        else:
            write_output("\n\n".join(e.text() for e in explanations) + "\n", view.output)
    else:
        if view.only is not None:
            raise click.UsageError("--layer selects layers for --explain; add --explain")
        term = terminal(view.width)
        options = Options(layout="hwc" if view.layout == "hwc" else "chw", width=term.width,
                          color=term.color and view.output is None, depth=view.depth)
        write_output(RENDERERS[view.fmt](report, options), view.output)
    if view.plot is not None:
        from cnncalc.render.plot import layer_plot

        layer_plot(report, view.plot)
        click.echo(f"wrote {view.plot}", err=True)
    for warning in report.warnings[:_MAX_WARNINGS]:
        click.echo(f"warning: {warning}", err=True)
    if len(report.warnings) > _MAX_WARNINGS:
        click.echo(f"warning: … and {len(report.warnings) - _MAX_WARNINGS} more (marked ⚠ in the table; "
                   "--format json lists them all)", err=True)


def run(spec: Any, view: View, settings: tuple[str, ...] = (), counting: _Counting | None = None) -> None:
    """Load, analyse and print: the body of every analysing command."""
    from cnncalc.spec.load import bulk

    with bulk():  # a 100,000-layer report is millions of small objects: collecting cycles would rescan them all
        _run(spec, view, settings, counting)


def _run(spec: Any, view: View, settings: tuple[str, ...], counting: _Counting | None) -> None:
    from cnncalc.engine.graph import analyze
    from cnncalc.errors import SpecError

    args = settings_args(settings)
    shape = input_dims(view)
    try:
        analysis = analyze(spec, args=args or None, input_shape=shape, batch=view.batch,
                           dtype=cast(Any, view.dtype), strict=view.strict)
    except SpecError as err:
        if view.layout != "hwc" or shape is None or err.hint:
            raise
        raise SpecError(err.reason, file=err.file, line=err.line, layer=err.layer,
                        hint=f"--layout hwc read --input {view.input_text} as height x width x channels, i.e. "
                             f"{'x'.join(map(str, shape))} channels first; without --layout hwc it is read channels "
                             "first") from None
    if not analysis.numeric:
        _numeric_only(view, counting)
    if counting is not None and (counting.compare or counting.convention is not None):
        _count(analysis, view, counting)
        return
    _emit(analysis, view)


def _numeric_only(view: View, counting: _Counting | None) -> None:
    """Options that need numbers are refused for a symbolic analysis rather than silently ignored."""
    asked = {"--convention": counting is not None and counting.convention is not None,
             "--conventions": counting is not None and counting.compare, "--plot": view.plot is not None,
             "--depth": view.depth is not None, "--strict": view.strict}
    refused = [flag for flag, on in asked.items() if on]
    if refused:
        raise click.UsageError(f"{', '.join(refused)} needs numeric sizes, and this analysis is symbolic; give "
                               "--input with numbers ('cnncalc sizes MODEL' lists the valid ones)")


# --- Counting conventions (#13): --convention NAME / --conventions ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Counting:
    convention: str | None = None
    compare: bool = False


def _counting_options(fn: F) -> F:
    fn = click.option("--conventions", "compare_tools", is_flag=True,
                      help="Compare every tool's count (fvcore, ptflops, thop, torchinfo, keras) with cnncalc's.")(fn)
    return click.option("--convention", metavar="NAME",
                        help="Count MACs as a tool does: cnncalc, fvcore, ptflops, ptflops-aten, thop, torchinfo, "
                             "keras (FLOPs).")(fn)


def _count(analysis: Analysis, view: View, counting: _Counting) -> None:
    from cnncalc.cli import conventions as cli_conventions
    from cnncalc.engine.conventions import apply

    if counting.compare:
        if counting.convention is not None:
            raise click.UsageError("give --convention NAME or --conventions, not both")
        cli_conventions.emit(analysis, "json" if view.fmt == "json" else "table")
        return
    assert counting.convention is not None
    if view.explain:
        raise click.UsageError("--explain shows cnncalc's own formulas; drop --convention (see 'cnncalc conventions')")
    counted = apply(analysis, counting.convention)
    _emit(counted, view)
    if view.fmt == "table":
        click.echo(cli_conventions.note(counted))
# --- end of counting conventions ------------------------------------------------------------------------------------


@click.command()
@click.argument("model", required=False)
@click.option("-e", "--expr", metavar="NOTATION", help='A one-line network, e.g. "3x32x32: conv5-8 maxpool2 fc-10".')
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Set a spec argument (see its 'args:'), e.g. --set aux=true.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to FILE instead of stdout, e.g. --format html -o report.html.")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Also draw per-layer charts to FILE (.png, .svg, .pdf; needs matplotlib: cnncalc[plot]).")
@view_options
@_counting_options
@guarded
def show(model: str | None, expr: str | None, settings: tuple[str, ...], convention: str | None,
         compare_tools: bool, **options: Any) -> None:
    """Analyse MODEL (a zoo name or a spec file) or a one-line -e expression."""
    view = View(**options)
    counting = _Counting(convention, compare_tools)
    if (model is None) == (expr is None):
        raise click.UsageError("give a MODEL (zoo name or spec file) or -e NOTATION, not both and not neither")
    if expr is not None:
        from cnncalc.spec.notation import parse

        given = input_dims(view)
        if given is not None and any(isinstance(d, str) for d in given):  # symbolic: the walk takes the symbols
            run(parse(expr, input_shape=tuple(d if isinstance(d, int) else 1 for d in given)), view, settings,
                counting)
        else:
            run(parse(expr, input_shape=cast(Any, given)), replace(view, input_text=None), settings, counting)
    else:
        run(model, view, settings, counting)


