"""``cnncalc import``: turn a PyTorch module into a cnncalc spec (torch is optional)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import click


@click.command("import")
@click.argument("target", metavar="MODULE:FACTORY")
@click.option("--input", "input_text", required=True, metavar="SHAPE", help="The input shape, e.g. 3x224x224.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the spec here instead of stdout.")
@click.option("--name", help="The spec's name (default: the factory's).")
def import_(target: str, input_text: str, output: str | None, name: str | None) -> None:
    """Import MODULE:FACTORY (an nn.Module class or a function returning one, called without arguments) as a spec.

    The spec goes to stdout (or -o FILE); its totals go to stderr. Exit 2 for a bad target, missing torch or a
    module with parts cnncalc cannot map (they are listed).
    """
    from cnncalc.cli.options import guarded

    @guarded
    def run() -> None:
        from cnncalc.engine.graph import analyze
        from cnncalc.render.text import human
        from cnncalc.spec.format import parse_shape
        from cnncalc.torch.importer import from_torch, to_yaml

        model = build(target)
        shape = parse_shape(input_text)
        from cnncalc.render.progress import progress

        with progress(f"import {target}: tracing with torch.fx"):  # a spinner on a terminal's stderr only (#13)
            spec = from_torch(model, shape, name=name or target.partition(":")[2].lower())
        text = to_yaml(spec)
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)
        for note in str(spec.get("notes") or "").splitlines():
            click.echo(f"warning: {note}", err=True)
        totals = analyze(spec).totals
        click.echo(f"{len(spec['layers'])} layers, {totals.params:,} params ({human(totals.params)}), "
                   f"{totals.macs:,} MACs ({human(totals.macs)})", err=True)

    run()


def build(target: str) -> Any:
    """The module ``MODULE:FACTORY`` makes (the factory called without arguments), imported from the working
    directory; what goes wrong is a CnncalcError (exit 2). ``import`` and ``conventions`` share it."""
    from cnncalc.errors import CnncalcError

    module_name, sep, factory_name = target.partition(":")
    if not sep or not module_name or not factory_name:
        raise CnncalcError(f"give MODULE:FACTORY, like mypackage.models:ResNet, not {target!r}")
    if importlib.util.find_spec("torch") is None:  # before the user's module fails on its own import torch
        from cnncalc.torch._modules import INSTALL

        raise CnncalcError(INSTALL)
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # whatever the user's module raises on import
        raise CnncalcError(f"cannot import {module_name}: {type(err).__name__}: {err}") from None
    factory: Any = getattr(module, factory_name, None)
    if factory is None:
        raise CnncalcError(f"{module_name} has no {factory_name}")
    try:
        return factory()
    except Exception as err:
        raise CnncalcError(f"{target}() failed: {type(err).__name__}: {err}") from None
