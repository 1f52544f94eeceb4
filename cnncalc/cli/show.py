"""``cnncalc show`` (the default command): analyse a network and print it in any format, or explain it."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import click

from cnncalc.cli.options import View, guarded, input_shape, settings_args, view_options
from cnncalc.render import RENDERERS
from cnncalc.render.console import terminal
from cnncalc.render.text import Options

if TYPE_CHECKING:
    from cnncalc.engine.graph import Analysis

#: Warnings printed to stderr before the rest are summarised in one line.
_MAX_WARNINGS = 5

def _emit(report: Analysis, view: View) -> None:
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
        term = terminal(view.width)
        options = Options(layout="hwc" if view.layout == "hwc" else "chw", width=term.width, color=term.color,
                          depth=view.depth)
        click.echo(RENDERERS[view.fmt](report, options), nl=False)
    for warning in report.warnings[:_MAX_WARNINGS]:
        click.echo(f"warning: {warning}", err=True)
    if len(report.warnings) > _MAX_WARNINGS:
        click.echo(f"warning: … and {len(report.warnings) - _MAX_WARNINGS} more (marked ⚠ in the table; "
                   "--format json lists them all)", err=True)


def run(spec: Any, view: View, settings: tuple[str, ...] = ()) -> None:
    """Load, analyse and print: the body of every analysing command."""
    from cnncalc.engine.graph import analyze
    from cnncalc.errors import SpecError

    args = settings_args(settings)
    shape = input_shape(view)
    try:
        analysis = analyze(spec, args=args or None, input_shape=shape, batch=view.batch,
                           dtype=cast(Any, view.dtype), strict=view.strict)
    except SpecError as err:
        if view.layout != "hwc" or shape is None or err.hint:
            raise
        from cnncalc.model import fmt_shape

        raise SpecError(err.reason, file=err.file, line=err.line, layer=err.layer,
                        hint=f"--layout hwc read --input {view.input_text} as height x width x channels, i.e. "
                             f"{fmt_shape(shape)} channels first; without --layout hwc it is read channels "
                             "first") from None
    _emit(analysis, view)


@click.command()
@click.argument("model", required=False)
@click.option("-e", "--expr", metavar="NOTATION", help='A one-line network, e.g. "3x32x32: conv5-8 maxpool2 fc-10".')
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Set a spec argument (see its 'args:'), e.g. --set aux=true.")
@view_options
@guarded
def show(model: str | None, expr: str | None, settings: tuple[str, ...], **options: Any) -> None:
    """Analyse MODEL (a zoo name or a spec file) or a one-line -e expression."""
    view = View(**options)
    if (model is None) == (expr is None):
        raise click.UsageError("give a MODEL (zoo name or spec file) or -e NOTATION, not both and not neither")
    if expr is not None:
        from cnncalc.spec.notation import parse

        run(parse(expr, input_shape=input_shape(view)), replace(view, input_text=None), settings)
    else:
        run(model, view, settings)


