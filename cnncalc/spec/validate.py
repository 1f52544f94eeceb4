"""One layer entry → its validated layer; equal entries share one validated layer (a long chain repeats a few).

A layer is a frozen pydantic model, so one object may stand for every equal entry, as long as it holds nothing
mutable: :class:`LayerMemo` keys entries by class and (key, value type, value) items, takes only entries of plain
scalars, and keeps only layers whose fields are all scalars.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from cnncalc.engine.layers.base import Layer
from cnncalc.errors import SpecError
from cnncalc.spec.loader import line_of
from cnncalc.spec.messages import describe_validation_error

#: Values a memo key may hold: immutable, and told apart by type as well as value (``true`` is not ``1``).
SCALARS = frozenset({str, int, float, bool, type(None)})


def validate_layer(
    cls: type[Layer], entry: dict[str, Any], kind: str, graph_keys: set[str], *, file: str | None, label: str
) -> Layer:
    """Validate one layer entry with its registered class (graph keys such as ``repeat`` removed first)."""
    data = {k: v for k, v in entry.items() if k not in graph_keys or k == "name"}
    data["type"] = kind
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        msg, line = describe_validation_error(err, entry, cls)
        raise SpecError(msg, file=file, line=line or line_of(entry), layer=label) from None


class LayerMemo:
    """Validated layers by entry, for entries of plain scalars whose layers hold only scalars (errors are never
    remembered: an entry that fails is validated, and reported, every time)."""

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], Layer] = {}

    @staticmethod
    def _key(kind: type[Layer], entry: dict[str, Any]) -> tuple[Any, ...] | None:
        types = tuple(map(type, entry.values()))
        return (kind, tuple(entry.items()), types) if SCALARS.issuperset(types) else None

    def get(self, cls: type[Layer], entry: dict[str, Any]) -> Layer | None:
        """The layer an equal entry was validated to, if any."""
        key = self._key(cls, entry)
        return self._known.get(key) if key is not None else None

    def add(self, cls: type[Layer], entry: dict[str, Any], layer: Layer) -> Layer:
        """Remember ``layer`` (validated from ``entry``) if it may be shared; return it."""
        key = self._key(cls, entry)
        if key is not None and all(type(v) in SCALARS for v in layer.__dict__.values()):
            self._known[key] = layer
        return layer
