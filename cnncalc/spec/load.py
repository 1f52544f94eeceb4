"""One entry point for every way a network is written: a zoo name, a spec file, a notation string, a dict."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnncalc.model import Network


def load(spec: str | Path | Mapping[str, Any] | Network, *, args: Mapping[str, Any] | None = None) -> Network:
    """A network from a zoo name, a spec file path, a one-line notation string, a dict, or a Network.

    ``args`` sets the spec's network-level arguments (e.g. ``{"aux": True}`` for GoogLeNet's auxiliary heads).
    """
    if isinstance(spec, Network):
        return spec
    from cnncalc.spec import format as spec_module
    from cnncalc.spec import loader

    values = dict(args) if args else None
    if isinstance(spec, Mapping):
        return spec_module.build(dict(spec), None, values)
    text = str(spec)
    if ":" in text and not Path(text).exists() and any(ch.isspace() for ch in text.strip()):
        from cnncalc.spec.notation import parse

        return parse(text)
    path = Path(text)
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists():
        return loader.load_file(path, values)
    from cnncalc.spec import zoo

    return loader.load_file(zoo.path(text), values)


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
