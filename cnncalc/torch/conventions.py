"""How a torch module calls each layer, read from its fx graph: what a spec cannot say and hook-based tools depend on.

ptflops counts ``nn.ReLU`` twice (its hook, and the patched ``F.relu`` the module's ``forward`` calls) but ``F.relu``
in a ``forward`` once and ``torch.relu`` not at all; thop sees modules only. :func:`traced_calls` labels each layer
of the spec :func:`~cnncalc.torch.importer.from_torch` makes, so the counting conventions reproduce those tools
exactly for the module at hand.
"""

from __future__ import annotations

from typing import Any

from cnncalc.engine.conventions import Call
from cnncalc.engine.conventions.ptflops import PATCHED_FUNCTIONS, PATCHED_TENSOR_OPS


def traced_calls(module: Any, spec: dict[str, Any]) -> dict[str, Call]:
    """Layer name → ``function`` or ``operator`` for the spec's layers the module computes without a module call.

    The importer names a layer made from a function or method call after its fx node (``relu_1``, ``add``); module
    calls keep their module path and are left out (``module`` is the default).
    """
    from cnncalc.torch._modules import torch_modules

    torch, _, functional = torch_modules()
    from torch import fx

    patched = {id(getattr(functional, name)) for name in PATCHED_FUNCTIONS if hasattr(functional, name)}
    patched |= {id(getattr(torch, name)) for name in PATCHED_TENSOR_OPS}
    names = {str(layer.get("name")) for layer in spec["layers"]}
    try:
        graph = fx.Tracer().trace(module)
    except Exception:  # untraceable (the importer fell back to hooks): every layer is a module call
        return {}
    out: dict[str, Call] = {}
    for node in graph.nodes:
        if node.op == "call_function":
            kind: Call = "function" if id(node.target) in patched else "operator"
        elif node.op == "call_method":
            kind = "function" if node.target in PATCHED_TENSOR_OPS else "operator"
        else:
            continue
        # x.mean([2, 3]) becomes a pooling layer named "<node>_pool" and a flatten named "<node>" (the importer)
        for name in (node.name, f"{node.name}_pool"):
            if name in names:
                out[name] = kind
    return out


def from_module(module: Any, input_shape: tuple[int, ...], *, name: str = "imported") -> tuple[Any, dict[str, Call]]:
    """The analysis of ``module`` on a C×… input, and how it calls each layer (for ``apply``/``compare``)."""
    from cnncalc.engine.graph import analyze
    from cnncalc.torch.importer import from_torch

    spec = from_torch(module, input_shape, name=name)
    return analyze(spec), traced_calls(module, spec)
