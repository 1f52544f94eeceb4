"""cnncalc: exact shapes, parameters, MACs, FLOPs, memory and receptive fields of CNNs from a declarative spec.

The public API is :func:`load`, :func:`analyze`, :class:`Report` and the error types; nothing else is promised.
"""

from __future__ import annotations

from typing import Any

from cnncalc.engine.graph import analyze
from cnncalc.engine.report import Analysis, LayerRow, Report, Totals
from cnncalc.errors import CnncalcError, ShapeError, SpecError
from cnncalc.model import Network
from cnncalc.spec.load import load
from cnncalc.version import __version__

__all__ = [
    "Analysis",
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


def from_torch(module: Any, input_shape: tuple[int, ...], *, name: str = "imported", train: bool = False,
               strict: bool = False) -> dict[str, Any]:
    """A spec dict for a ``torch.nn.Module`` traced with torch.fx in eval mode (``train=True``: training mode); ops
    without a layer become measured ``opaque`` layers, or errors with ``strict=True`` (needs the ``torch`` extra)."""
    from cnncalc.torch.importer import from_torch as convert

    return convert(module, input_shape, name=name, train=train, strict=strict)
