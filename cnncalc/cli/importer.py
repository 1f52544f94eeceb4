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
@click.option("--arg", "factory_args", multiple=True, metavar="KEY=VALUE",
              help="A keyword argument for the factory (repeatable; VALUE as YAML: false, 10, 0.5, [1, 2], text).")
@click.option("--train", is_flag=True, help="Trace in training mode (default: eval mode, as for inference).")
@click.option("--strict", is_flag=True, help="Exit 2 if any module or op has no cnncalc layer, instead of writing it "
              "as a measured opaque layer.")
def import_(target: str, input_text: str, output: str | None, name: str | None, factory_args: tuple[str, ...],
            train: bool, strict: bool) -> None:
    """Import MODULE:FACTORY (an nn.Module class or a function returning one) as a spec.

    The factory is called with the --arg keywords, or with those written after it: 'mod:FACTORY(aux_logits=False)'.
    The module is traced in eval mode unless --train, and left as it was. The spec goes to stdout (or -o FILE); its
    totals and warnings go to stderr. A module or op without a cnncalc layer becomes an opaque layer (measured by
    torch, MACs unknown) and a warning lists them; --strict makes that exit 2. Exit 2 for a bad target or missing
    torch.
    """
    from cnncalc.cli.options import guarded

    @guarded
    def run() -> None:
        from cnncalc.engine.graph import analyze
        from cnncalc.render.text import human
        from cnncalc.spec.format import parse_shape
        from cnncalc.torch.importer import from_torch, to_yaml

        model = build(target, factory_args)
        shape = parse_shape(input_text)
        from cnncalc.render.progress import progress

        factory = factory_arguments(target.partition(":")[2], ())[0]
        with progress(f"import {target}: tracing with torch.fx"):  # a spinner on a terminal's stderr only (#13)
            spec = from_torch(model, shape, name=name or factory.lower(), train=train, strict=strict)
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


def build(target: str, pairs: tuple[str, ...] = ()) -> Any:
    """The module ``MODULE:FACTORY`` makes (the factory called with the keywords ``FACTORY(k=v)`` and ``--arg k=v``
    give, see :func:`factory_arguments`), imported from the working directory; what goes wrong is a CnncalcError
    (exit 2). ``import`` and ``conventions`` share it."""
    from cnncalc.errors import CnncalcError

    module_name, sep, factory_call = target.partition(":")
    factory_name, kwargs = factory_arguments(factory_call, pairs)
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
        return factory(**kwargs)
    except Exception as err:
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise CnncalcError(f"{module_name}:{factory_name}({shown}) failed: {type(err).__name__}: {err}") from None


def factory_arguments(call: str, pairs: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """``FACTORY`` or ``FACTORY(k=v, ...)`` (Python literals) plus ``--arg k=v`` pairs (YAML values) → name, kwargs."""
    import ast

    import yaml

    from cnncalc.errors import CnncalcError

    kwargs: dict[str, Any] = {}
    name = call
    if call.endswith(")") and "(" in call:
        name, _, inner = call[:-1].partition("(")
        try:
            parsed = ast.parse(f"f({inner})", mode="eval").body
            if not isinstance(parsed, ast.Call) or parsed.args:
                raise ValueError("keyword arguments only")
            for kw in parsed.keywords:
                if kw.arg is None:
                    raise ValueError("no ** arguments")
                kwargs[kw.arg] = ast.literal_eval(kw.value)
        except (SyntaxError, ValueError) as err:
            raise CnncalcError(f"cannot read the factory's arguments in {call!r}: write keyword=literal pairs, like "
                               f"FACTORY(aux_logits=False, num_classes=10) ({err})") from None
    for pair in pairs:
        key, eq, text = pair.partition("=")
        if not eq or not key.strip().isidentifier():
            raise CnncalcError(f"--arg needs KEY=VALUE, like --arg num_classes=10, not {pair!r}")
        value = None if text.strip() in ("None", "null", "~") else yaml.safe_load(text) if text.strip() else ""
        kwargs[key.strip()] = value
    return name.strip(), kwargs
