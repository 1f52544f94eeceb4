"""The layer registry: type name → layer class, built from the family modules imported below.

Adding a layer type:
1. one class in its family's module (or a new module added to ``_FAMILIES``), decorated with :func:`register`, with
   its roles as ClassVars (``family``, ``quiet``, ``fusable``) and ``evaluate``;
2. its torch side, declared by class in ``cnncalc/torch``: a builder in ``build.BUILDERS`` and an ``Import`` in
   ``imports.IMPORTS`` (the torch.nn classes and functions that import to it, or why none do);
3. ``tests/layers/test_<family>.py`` cases from a primary source.
tests/test_registry.py (no torch needed) names a class that misses a role, a builder or an import mapping. The spec
loader, the notation, ``cnncalc schema``, ``cnncalc layer`` and the torch bridge all read this registry; this package
never imports torch.
"""


from importlib import import_module
from typing import TypeVar

from cnncalc.engine.layers.base import Layer, type_names

REGISTRY: dict[str, type[Layer]] = {}
L = TypeVar("L", bound=type[Layer])
_FAMILIES = ("conv", "conv_transpose", "pool", "linear", "norm", "activation", "reshape", "upsample", "merge", "opaque")


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


for _family in _FAMILIES:
    import_module(f"cnncalc.engine.layers.{_family}")
