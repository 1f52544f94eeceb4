"""``cnncalc layer``: a single-layer calculator, the registry's types and their fields."""

from __future__ import annotations

from typing import Any

import click

from cnncalc.cli.options import View, coerce, guarded, view_options
from cnncalc.cli.show import run
from cnncalc.errors import CnncalcError


def _default_text(value: Any) -> str:
    """A default as a spec writes it: ``true``, ``1``, ``[1, 1]``."""
    import json

    return json.dumps(value) if isinstance(value, bool | list | dict) else str(value)


def _layer_fields(kind: str) -> list[tuple[str, str]]:
    """The options a layer type takes, each with ``required`` or its default, in the class's field order.

    Fields a command line cannot sensibly write (nested lists such as LeNet-1998's ``connection_table``) are left
    to specs.
    """
    from cnncalc.engine.layers import REGISTRY

    cls = REGISTRY[kind]
    out = []
    for name, info in cls.model_fields.items():
        if name in ("type", "name", "trainable") or "list[list" in str(info.annotation):
            continue
        flag = "--" + name.replace("_", "-")
        if info.is_required():
            out.append((flag, "required"))
        elif info.default is None:
            out.append((flag, "optional"))
        else:
            out.append((flag, f"default {_default_text(info.default)}"))
    return out


def _doc(cls: type) -> str:
    """A class's docstring summary (up to the first blank line), as plain text (no RST marks)."""
    import re

    text = (cls.__doc__ or "").strip().split("\n\n")[0]
    return re.sub(r"``([^`]*)``", r"\1", " ".join(text.split()))


def _wrapped(text: str, indent: int, width: int) -> str:
    import textwrap

    return textwrap.fill(text, width=width, initial_indent=" " * indent, subsequent_indent=" " * indent)


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
    from cnncalc.render.console import terminal

    width = min(terminal(options.get("width")).width, 100)
    if kind is None:
        for cls in layer_classes():
            click.echo(_wrapped(", ".join(type_names(cls)), 0, width))
            click.echo(_wrapped(_doc(cls), 4, width))
        click.echo("\n`cnncalc layer TYPE` lists a type's fields.")
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
    if view.input_text is None and len(fields) == 1:
        cls = REGISTRY[kind]
        click.echo(_wrapped(f"{kind}: {_doc(cls)}", 0, width))
        fields_list = _layer_fields(kind)
        pad = max((len(f) for f, _ in fields_list), default=0)
        for flag, what in fields_list:
            click.echo(f"  {flag:<{pad}}  {what}")
        required = " ".join(f"{flag} N" for flag, what in fields_list if what == "required")
        click.echo(_wrapped(f"usage: cnncalc layer {kind} --input SHAPE {required}".rstrip(), 0, width))
        return
    if view.input_text is None:
        flags = ", ".join(f"{flag} ({what})" for flag, what in _layer_fields(kind))
        raise click.UsageError(f"give --input SHAPE; {kind} takes: {flags}")
    run({"name": kind, "input": "1", "layers": [fields]}, view)


