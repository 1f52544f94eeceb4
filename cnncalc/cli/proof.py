"""``cnncalc verify`` and ``cnncalc check``: published figures and homework tables, checked (exit 1 on a mismatch)."""

from __future__ import annotations

import sys
from typing import Any, cast

import click

from cnncalc.cli.options import View, guarded, input_shape
from cnncalc.errors import CnncalcError
from cnncalc.render.console import terminal


@click.command()
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
    from cnncalc.render.progress import progress
    from cnncalc.render.verdicts import counts, text, to_json
    from cnncalc.spec import zoo
    from cnncalc.spec.load import bulk

    runs = []
    names = targets or tuple(zoo.names())
    with bulk(), progress("verify", total=len(names)) as advance:  # a bar on a terminal's stderr only (#13)
        for target in names:
            report, results = run_checks(target)
            if not results:
                raise CnncalcError(f"{target} has no expect: data to verify (see the README's 'Guarding your model')")
            runs.append((report, results))
            advance(target)
    if fmt == "json":
        click.echo(json.dumps(to_json(runs), indent=2))
    else:
        term = terminal()
        click.echo(text(runs, quiet=quiet, color=term.color, width=term.width), nl=False)
    if any(counts(results)["fail"] for _, results in runs):
        sys.exit(1)


@click.command()
@click.argument("spec", metavar="SPEC")
@click.argument("table", metavar="TABLE")
@click.option("--layout", type=click.Choice(("auto", "hwc", "chw")), default="auto", show_default=True,
              help="How the table writes shapes: detected from its cells, H×W×C (cs231n) or C×H×W.")
@click.option("--input", "input_text", metavar="SHAPE", help="Override the spec's input shape (channels first).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the wrong cells, the notes and the counts.")
@click.option("--width", type=click.IntRange(40, 1000), help="Table width (default: the terminal's, or 100).")
@click.option("--match", "match_by", type=click.Choice(("auto", "order")), default="auto", show_default=True,
              help="How rows are placed on layers: names, kinds, shapes and order together, or order and cells "
                   "alone (ignore the names).")
@click.option("--flops", type=click.Choice(("auto", "2macs", "macs", "2macs+bias+act")), default="auto",
              show_default=True, help="How the table counts FLOPs: 2·MACs, MACs, or cnncalc's 2·MACs plus bias "
                                      "adds and activations; auto reads a note such as 'FLOPs counted as "
                                      "multiply-adds', else follows most FLOPs cells.")
@guarded
def check(spec: str, table: str, layout: str, input_text: str | None, fmt: str, quiet: bool,
          width: int | None, match_by: str, flops: str) -> None:
    """Check a homework TABLE (CSV or Markdown) of shapes and counts against SPEC, cell by cell.

    Each cell gets ✓ or ✗ with the correct value and its derivation; a wrong cell names the common mistake that
    reproduces it (input depth left out, bias left out, padding ignored, …). Exit 0 when every cell is right, 1
    when any is wrong, 2 on bad input (an unreadable table, no known column, rows that cannot be matched).
    """
    from cnncalc.engine.graph import analyze
    from cnncalc.proof.homework import check as check_table
    from cnncalc.render.homework import text, to_json

    try:
        report = analyze(spec, input_shape=input_shape(View(input_text=input_text)))
        result = check_table(report, table, cast(Any, layout), match_by=cast(Any, match_by), flops=cast(Any, flops))
    except CnncalcError as err:
        if fmt != "json":
            raise
        import json

        click.echo(json.dumps({"table": table, "error": str(err)}, indent=2, ensure_ascii=False))
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(to_json(result))
    else:
        term = terminal(width)
        click.echo(text(result, color=term.color, width=term.width, quiet=quiet), nl=False)
    if result.wrong:
        sys.exit(1)


