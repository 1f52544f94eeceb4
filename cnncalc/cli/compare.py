"""``cnncalc compare``: several networks side by side, or two variants of one network layer by layer."""

from __future__ import annotations

import sys
from typing import Any, cast

import click

from cnncalc.engine.report import DTYPE_BYTES

FORMATS = ("table", "json", "csv", "markdown", "html")


@click.command("compare")
@click.argument("targets", nargs=-1, required=True, metavar="MODEL...")
@click.option("--layers", "by_layer", is_flag=True,
              help="Diff two variants of one network layer by layer (added, removed, changed rows).")
@click.option("--all", "show_same", is_flag=True, help="With --layers: list unchanged layers too.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Also draw MACs against params to this PNG/SVG/PDF (needs matplotlib: cnncalc[plot]).")
@click.option("--input", "input_text", metavar="SHAPE", help="Analyse every network at this input shape.")
@click.option("--batch", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option("--dtype", type=click.Choice(tuple(DTYPE_BYTES)), default="float32", show_default=True)
@click.option("--layout", type=click.Choice(("chw", "hwc")), default="chw", show_default=True)
def compare(targets: tuple[str, ...], by_layer: bool, show_same: bool, fmt: str, output: str | None,
            plot: str | None, input_text: str | None, batch: int, dtype: str, layout: str) -> None:
    """Compare MODELs (zoo names, spec files or one-line notation) side by side, with ratios to the first.

    \b
    cnncalc compare vgg16 resnet50 mobilenet_v2
    cnncalc compare before.yaml after.yaml --layers     a reviewer's diff of two variants
    cnncalc compare vgg16 resnet50 --format html -o compare.html

    Exit 0 (with --layers: 0 when the variants agree on every layer, 1 when anything differs), 2 on bad input.
    """
    from cnncalc.cli.options import guarded, write_output

    @guarded
    def run() -> None:
        from cnncalc.engine import compare as data
        from cnncalc.engine.graph import analyze
        from cnncalc.errors import CnncalcError
        from cnncalc.spec.format import parse_shape
        from cnncalc.spec.load import bulk

        shape = parse_shape(input_text, layout="hwc" if layout == "hwc" else "chw") if input_text else None
        lay: Any = "hwc" if layout == "hwc" else "chw"
        if by_layer and len(targets) != 2:
            raise click.UsageError(f"--layers compares exactly two networks, got {len(targets)}")
        if plot is not None:
            from cnncalc.render.plot import require

            require()
        with bulk():
            reports = [analyze(t, input_shape=shape, batch=batch, dtype=cast(Any, dtype)) for t in targets]
        if plot is not None:
            from cnncalc.render.plot import compare_plot

            compare_plot(data.compare(list(reports)), plot)
            click.echo(f"wrote {plot}", err=True)
        if by_layer:
            from cnncalc.render.compare import DIFF_RENDERERS

            layer_diff = data.diff(reports[0], reports[1])
            if fmt == "html":
                from cnncalc.render.html import diff_page

                text = diff_page(layer_diff, lay)
            elif fmt == "table":
                from cnncalc.render.compare import diff_table

                text = diff_table(layer_diff, lay, show_same=show_same)
            else:
                text = DIFF_RENDERERS[fmt](layer_diff, lay)
            write_output(text, output)
            if layer_diff.differs:
                sys.exit(1)
            return
        if not reports:
            raise CnncalcError("give at least one network to compare")
        comparison = data.compare(list(reports))
        if fmt == "html":
            from cnncalc.render.html import compare_page

            text = compare_page(comparison, lay)
        else:
            from cnncalc.render.compare import COMPARE_RENDERERS

            text = COMPARE_RENDERERS[fmt](comparison, lay)
        write_output(text, output)

    run()
