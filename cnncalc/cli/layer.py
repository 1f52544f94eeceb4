"""``cnncalc layer``: a single-layer calculator, the registry's types and their fields."""

from __future__ import annotations

from typing import Any

import click

from cnncalc.cli.options import View, coerce, guarded, view_options
from cnncalc.cli.show import run
from cnncalc.errors import CnncalcError


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


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("kind", metavar="TYPE", required=False)
@view_options
@click.pass_context
@guarded
def layer(ctx: click.Context, /, kind: str | None, **options: Any) -> None:
    """A single-layer calculator: TYPE with its fields as options (--out-channels 96 --kernel-size 11 ...).

    Without TYPE, lists the layer types; with TYPE and no options, lists its fields.
    """
    from cnncalc.engine.layers import REGISTRY, layer_classes, suggest
    from cnncalc.engine.layers.registry import type_names

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
            value: Any = coerce(inline)
        elif args and not args[0].startswith("--"):
            value = coerce(args.pop(0))
        else:
            value = True
        fields[key.replace("-", "_")] = value
    view = View(**options)
    if view.input_text is None:
        raise click.UsageError(f"give --input SHAPE; {kind} takes: {_layer_fields(kind)}")
    run({"name": kind, "input": "1", "layers": [fields]}, view)


