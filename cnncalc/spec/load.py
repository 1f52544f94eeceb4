"""One entry point for every way a network is written: a zoo name, a spec file, a notation string, a dict."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnncalc.errors import SpecError
from cnncalc.model import Network


def load(spec: str | Path | Mapping[str, Any] | Network, *, args: Mapping[str, Any] | None = None) -> Network:
    """A network from a zoo name (a preset too), a spec file path, a one-line notation string, a dict, or a Network.

    ``args`` sets the spec's network-level arguments (e.g. ``{"aux": True}`` for GoogLeNet's auxiliary heads).
    """
    if isinstance(spec, Network):
        return spec
    from cnncalc.spec.format import build

    values = dict(args) if args else None
    if isinstance(spec, Mapping):
        return build(dict(spec), None, values)
    text = str(spec)
    if ":" in text and not Path(text).exists() and any(ch.isspace() for ch in text.strip()):
        from cnncalc.spec.notation import parse

        return parse(text)
    path = Path(text)
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists():
        return load_file(path, values)
    from cnncalc.spec import zoo

    found = zoo.preset(text)
    if found is not None:  # a spec with --set values: the user's own values win
        from dataclasses import replace

        net = load_file(zoo.path(found.spec), {**found.args, **(values or {})})
        return replace(net, name=found.name, description=found.description or net.description)
    return load_file(zoo.path(text), values)


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (it made 10k-node specs ~2x slower)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_file(path: str | Path, args: dict[str, Any] | None = None) -> Network:
    """Read and validate a spec file (``args`` override its ``args:`` defaults)."""
    from cnncalc.spec.format import build
    from cnncalc.spec.loader import MAX_FILE_BYTES, parse_text

    path = Path(path)
    shown = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SpecError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB", file=shown)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", file=shown) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", file=shown) from None
    except UnicodeDecodeError:
        raise SpecError("is not UTF-8 text", file=shown) from None
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", file=shown) from None
    return build(parse_text(text, shown), shown, args)
