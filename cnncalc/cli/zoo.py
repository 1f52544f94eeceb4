"""``cnncalc list`` and ``cnncalc schema``: what the zoo holds and what a spec may say."""

from __future__ import annotations

import click

from cnncalc.cli.options import guarded


@click.command("list")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@guarded
def list_(fmt: str) -> None:
    """The zoo: one line per network with its parameters and MACs; presets (a spec with --set values) last."""
    import json

    from cnncalc.engine.graph import analyze
    from cnncalc.render.text import human
    from cnncalc.spec import zoo

    presets = zoo.presets()
    reports = [analyze(name) for name in (*zoo.names(), *presets)]
    if fmt == "json":
        rows = [{"name": r.model, "description": r.description, "input": list(r.input),
                 "params": r.totals.params, "macs": r.totals.macs,
                 "preset_of": presets[r.model].spec if r.model in presets else None} for r in reports]
        click.echo(json.dumps(rows, indent=2))
        return
    name_w = max(len(r.model) for r in reports)
    for r in reports:
        of = f" [preset of {presets[r.model].spec}]" if r.model in presets else ""
        click.echo(f"{r.model:<{name_w}}  {human(r.totals.params):>7} params  {human(r.totals.macs):>7} MACs  "
                   f"{r.description}{of}")


@click.command()
def schema() -> None:
    """Print the JSON Schema of the spec format (for editor completion and validation)."""
    import json

    from cnncalc.spec.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


