"""cnncalc: exact shapes, parameters, MACs, FLOPs, memory and receptive fields of CNNs from a declarative spec.

The public API is :func:`load`, :func:`analyze`, :class:`Report` and the error types; nothing else is promised.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnncalc.engine.report import Dtype, LayerRow, Report, Totals
from cnncalc.errors import CnncalcError, ShapeError, SpecError
from cnncalc.model import Network

__version__ = "0.1.0"
__all__ = [
    "CnncalcError",
    "LayerRow",
    "Network",
    "Report",
    "ShapeError",
    "SpecError",
    "Totals",
    "__version__",
    "analyze",
    "from_torch",
    "load",
]


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


def analyze(
    spec: str | Path | Mapping[str, Any] | Network,
    *,
    input_shape: tuple[int, ...] | None = None,
    batch: int = 1,
    dtype: Dtype = "float32",
    strict: bool = False,
    args: Mapping[str, Any] | None = None,
) -> Report:
    """Analyse a network (anything :func:`load` accepts); ``report.to_dict()`` is the CLI's JSON output."""
    from cnncalc.engine import graph

    with bulk():
        return graph.run(load(spec, args=args), input_shape=input_shape, batch=batch, dtype=dtype, strict=strict)


def from_torch(module: Any, input_shape: tuple[int, ...], *, name: str = "imported") -> dict[str, Any]:
    """A spec dict for a ``torch.nn.Module`` traced with torch.fx (needs the ``torch`` extra)."""
    from cnncalc.torch.importer import from_torch as convert

    return convert(module, input_shape, name=name)


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
