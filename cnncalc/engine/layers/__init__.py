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

from cnncalc.engine.layers.registry import REGISTRY, layer_classes, register, suggest, type_names

__all__ = ["REGISTRY", "layer_classes", "register", "suggest", "type_names"]

_FAMILIES = ("conv", "conv_transpose", "pool", "linear", "norm", "activation", "reshape", "upsample", "merge", "tensor",
             "attention", "opaque")

for _family in _FAMILIES:
    import_module(f"cnncalc.engine.layers.{_family}")
