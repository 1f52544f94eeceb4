"""The registry itself: type name → layer class. Family modules register into it; base classes look up in it.

It sits below every layer module (it imports none of them at run time), so ``base`` can consult it to validate a
fused activation and the package ``__init__`` can import the families without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cnncalc.engine.layers.base import Layer

REGISTRY: dict[str, type[Layer]] = {}
L = TypeVar("L", bound="type[Layer]")


def register(cls: L) -> L:
    """Class decorator: make every name in ``cls.type``'s Literal resolve to ``cls``."""
    for name in type_names(cls):
        if name in REGISTRY:
            raise RuntimeError(f"layer type {name!r} registered twice")
        REGISTRY[name] = cls
    return cls


def suggest(name: str) -> str | None:
    """The closest registered type name, for 'did you mean' hints."""
    import difflib

    close = difflib.get_close_matches(name.lower(), REGISTRY, n=1, cutoff=0.6)
    return close[0] if close else None


def layer_classes() -> list[type[Layer]]:
    """Distinct layer classes, in registration order."""
    return list(dict.fromkeys(REGISTRY.values()))


def type_names(cls: type[Layer]) -> tuple[str, ...]:
    """The ``Literal`` values of a layer class's ``type`` field: the names it is registered under."""
    ann: Any = cls.model_fields["type"].annotation
    return tuple(getattr(ann, "__args__", ()))
