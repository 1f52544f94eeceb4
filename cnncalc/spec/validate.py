"""One layer entry → its validated layer; equal entries share one validated layer (a long chain repeats a few).

A layer is a frozen pydantic model, so one object may stand for every equal entry, as long as it holds nothing
mutable: :class:`LayerMemo` keys entries by class and (key, value type, value) items, takes only entries of plain
scalars, and keeps only layers whose fields are all scalars.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """:func:`validate_layer`, once per distinct entry of plain scalars (errors are never remembered)."""

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], Layer] = {}

    def validate(self, cls: type[Layer], entry: dict[str, Any], kind: str, graph_keys: set[str], *,
                 file: str | None, label: Callable[[], str]) -> Layer:
        """The entry's layer; ``label`` (the layer as messages name it) is asked for only when validation runs."""
        types = tuple(map(type, entry.values()))
        key = (cls, tuple(entry.items()), types) if SCALARS.issuperset(types) else None
        layer = self._known.get(key) if key is not None else None
        if layer is None:
            layer = validate_layer(cls, entry, kind, graph_keys, file=file, label=label())
            if key is not None and all(type(v) in SCALARS for v in layer.__dict__.values()):
                self._known[key] = layer
        return layer
