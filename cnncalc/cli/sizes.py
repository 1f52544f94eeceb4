"""``cnncalc sizes``: the input sizes a network accepts; and the output of symbolic analyses (``--input 3xHxW``).

Both import the symbolic engine inside the functions, so registering the command costs the numeric path nothing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    from cnncalc.cli.options import View


def emit_symbolic(report: Any, view: View) -> None:
    """Print a symbolic analysis in the view's format (``--explain``: each layer's closed forms)."""
    from cnncalc.render import symbolic

    layout: Literal["chw", "hwc"] = "hwc" if view.layout == "hwc" else "chw"
    if view.explain:
        items = symbolic.explain(report, view.only, layout)
        if view.fmt == "json":
            import json

            click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        else:
            click.echo(symbolic.explain_text(items), nl=False)
        return
    if view.only is not None:
        raise click.UsageError("--layer selects layers for --explain; add --explain")
    if view.fmt == "json":
        click.echo(symbolic.json(report), nl=False)
    elif view.fmt == "markdown":
        click.echo(symbolic.markdown(report, layout), nl=False)
    elif view.fmt == "table":
        click.echo(symbolic.table(report, layout), nl=False)
    else:
        raise click.UsageError(f"--format {view.fmt} has no symbolic form; use table, json or markdown")


def _range(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.|-|:)\s*(\d+)\s*", text)
    if not m:
        raise click.UsageError(f"--range takes LO..HI, e.g. 32..4096, got {text!r}")
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo < 1 or hi < lo:
        raise click.UsageError(f"--range needs 1 ≤ LO ≤ HI, got {text!r}")
    return lo, hi


@click.command()
@click.argument("model")
@click.option("--dim", metavar="NAME", help="Vary one spatial dim (H, W; D for 3-D; L for 1-D) and keep the others "
              "at the spec's input; default: every spatial dim takes the size (a square or cube input).")
@click.option("--range", "span", default="32..4096", show_default=True, metavar="LO..HI",
              help="The sizes to answer for.")
@click.option("--exact", is_flag=True, help="Also list the sizes at which no strided layer drops an input pixel.")
@click.option("--why", "why", type=click.IntRange(1), metavar="SIZE", help="Explain one size: the first layer "
              "that rejects it (or drops pixels at it).")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "markdown")), default="table",
              show_default=True)
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Set a spec argument.")
def sizes(model: str, dim: str | None, span: str, exact: bool, why: int | None, fmt: str,
          settings: tuple[str, ...]) -> None:
    """The input sizes MODEL accepts: valid (every output ≥ 1, merges aligned, crops possible), the smallest,
    and with --exact those where no strided layer drops a pixel; solved from the closed forms, not size by size.
    """
    from cnncalc.cli.options import guarded, settings_args

    @guarded
    def run() -> None:
        from cnncalc.engine.symbolic.sizes import sizes as solve
        from cnncalc.render import symbolic
        from cnncalc.spec.load import load

        lo, hi = _range(span)
        if why is not None:
            lo, hi = min(lo, why), max(hi, why)
        args = settings_args(settings)
        from cnncalc.render.progress import progress

        with progress(f"sizes {model}: solving {lo}..{hi} from the closed forms"):  # a terminal's stderr only (#13)
            answer = solve(load(model, args=args or None), dim=dim, lo=lo, hi=hi)
        if why is not None:
            click.echo(answer.why(why))
        elif fmt == "json":
            click.echo(symbolic.sizes_json(answer), nl=False)
        else:
            click.echo(symbolic.sizes_table(answer, exact=exact, markdown=fmt == "markdown"), nl=False)

    run()
