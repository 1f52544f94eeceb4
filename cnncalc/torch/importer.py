"""Import a ``torch.nn.Module`` as a cnncalc spec, so a user can analyse, verify and check their own network.

``torch.fx`` traces the module; every call of a known module, function or method becomes a layer, named after
the module path (``layer1.0.conv1``) or the graph node (``add_1``), and wired with ``inputs:`` wherever the data
flow is not a plain chain. One forward pass sizes everything: at batch 2, in eval mode (training mode on request),
on fake tensors (no memory, no arithmetic; real zeros on the module's device only where fake tensors fail), and the
module's train/eval flags and any running statistics are restored afterwards, so the module is not changed. The spec
is then analysed and every layer's output shape compared with torch's: an import that cnncalc would size
differently is an error, never a silent mismatch.

When torch.fx cannot trace the module (data-dependent control flow), forward hooks on the leaf modules record
them in execution order and the spec assumes they form a chain; the spec's ``notes`` say so. Anything without a
mapping becomes an ``opaque`` layer (measured, MACs unknown) listed in the notes, or, with ``strict``, an error:
nothing is silently dropped.
"""

from __future__ import annotations

import warnings
from typing import Any

from cnncalc.errors import CnncalcError
from cnncalc.torch._modules import torch_modules
from cnncalc.torch._ops import Imported, is_tensor, shape_of
from cnncalc.torch._walk import Walk
from cnncalc.torch.imports import Shape, as_flatten, module_layer


def _run(module: Any, call: Any, input_shape: Shape, torch: Any, batch: int = 2) -> None:
    """Call ``call(x)`` once on a batch-2 input (or ``batch``): fake tensors first, real zeros where they fail. The
    caller has set the mode (eval unless ``--train``); buffers a training pass updates (running statistics) are put
    back."""
    saved = [(b, b.detach().clone()) for m in module.modules() if m.training for b in m.buffers(recurse=False)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                from torch._subclasses.fake_tensor import FakeTensorMode

                with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
                    call(torch.empty(batch, *input_shape))
                return
            except Exception:  # fake tensors do not cover every op: fall back to a real pass below
                pass
            device = next((p.device for p in module.parameters()), torch.device("cpu"))
            try:
                with torch.no_grad():
                    call(torch.zeros(batch, *input_shape, device=device))
            except Exception as err:  # whatever the user's forward raises
                raise CnncalcError(f"the module does not run on a 2x{'x'.join(map(str, input_shape))} input "
                                   f"({type(err).__name__}: {err})") from None
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


def _runs(module: Any, input_shape: Shape, torch: Any) -> bool:
    """Whether the module itself runs on the input (so a failure is fx's, not the module's)."""
    try:
        _run(module, module, input_shape, torch)
    except CnncalcError:
        return False
    return True


def _thaw(value: Any) -> Any:
    """fx's immutable lists and dicts (recursively) as plain ones."""
    from torch.fx.immutable_collections import immutable_dict, immutable_list

    if isinstance(value, immutable_list):
        return [_thaw(v) for v in value]
    if isinstance(value, immutable_dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_thaw(v) for v in value)
    return value


class _UntraceableError(Exception):
    """torch.fx could not trace the module; the message says why."""


def _trace(module: Any, input_shape: Shape, torch: Any, nn: Any, strict: bool) -> Imported:
    """Map every node of the fx graph; raises torch's own error when fx cannot trace the module."""
    from torch import fx

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m: Any, name: str) -> bool:
            # Subclasses of mapped torch modules (a custom Conv2d) are layers too, not code to trace through.
            return module_layer(m, nn, None, None) is not None or bool(super().is_leaf_module(m, name))

    tracer = Tracer()
    try:
        graph = tracer.trace(module)
    except Exception as err:  # tracing failures come in many types
        raise _UntraceableError(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    traced = fx.GraphModule(tracer.root, graph)
    values: dict[Any, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            values[n] = result = super().run_node(n)
            return result

        def fetch_args_kwargs_from_env(self, n: Any) -> Any:
            # fx hands list arguments over as immutable_list; code that assigns into one (Video Swin's window
            # sizes) runs in eager mode, so it gets a plain list here too.
            args, kwargs = super().fetch_args_kwargs_from_env(n)
            return _thaw(args), _thaw(kwargs)

    try:
        _run(module, lambda x: Recorder(traced).run(x), input_shape, torch)
    except CnncalcError as err:  # the module runs, but its traced graph does not (a list fx froze, say)
        if not _runs(module, input_shape, torch):
            raise
        raise _UntraceableError(f"its torch.fx graph does not run: {str(err).split('(', 1)[-1].rstrip(')')}") \
            from None
    return Walk(traced, values, torch, nn, strict=strict).walk()


def _eager(module: Any, input_shape: Shape, torch: Any, nn: Any, strict: bool) -> Imported:
    """Map the ops a real forward pass calls (:mod:`cnncalc.torch._eager`), for what torch.fx cannot trace."""
    from cnncalc.torch._eager import record

    traced, values = record(module, lambda call, batch: _run(module, call, input_shape, torch, batch), torch,
                            lambda m: module_layer(m, nn, None, None) is not None)
    return Walk(traced, values, torch, nn, strict=strict).walk()


# ------------------------------------------------------------------------------------------------------------------
# Forward hooks, the last resort


def _leaves(module: Any, nn: Any) -> list[tuple[str, Any]]:
    """Modules with a mapping (not looked into) and modules without children, with their qualified names."""
    leaves: list[tuple[str, Any]] = []
    inside: list[str] = []
    for name, m in module.named_modules():
        if any(name.startswith(p + ".") for p in inside):
            continue
        if module_layer(m, nn, None, None) is not None:
            inside.append(name)
            leaves.append((name, m))
        elif not list(m.children()):
            leaves.append((name or type(m).__name__.lower(), m))
    return leaves


def _opaque(m: Any, y: Shape) -> dict[str, Any]:
    """A module without a mapping, as measured: output shape, parameters and buffers."""
    return {"type": "opaque", "module": type(m).__name__, "output_shape": list(y[1:]),
            "params": sum(p.numel() for p in m.parameters()), "buffers": sum(b.numel() for b in m.buffers())}


def _record(module: Any, input_shape: Shape, torch: Any, nn: Any) -> tuple[list[Any], list[Any]]:
    """One forward pass with a hook on every leaf: (name, module, [(shape, tensor)] in, output) per call, and the
    module's result."""
    leaves = _leaves(module, nn)
    records: list[tuple[str, Any, list[tuple[Shape, Any]], Any]] = []
    handles = [m.register_forward_hook(
        lambda mod, inputs, output, name=name: records.append(
            (name, mod, [(shape_of(t), t) for t in inputs if is_tensor(t, torch)], output)))
        for name, m in leaves]
    final: list[Any] = []

    def call(x: Any) -> None:
        records.clear()  # a failed pass on fake tensors may have recorded part of the modules
        final[:] = [module(x)]

    try:
        _run(module, call, input_shape, torch)
    finally:
        for handle in handles:
            handle.remove()
    return records, final


def _hooks(module: Any, input_shape: Shape, torch: Any, nn: Any, reason: str, strict: bool) -> Imported:
    """Leaf modules in execution order, checked to form a chain (what fx failed on is reported in the notes)."""
    records, final = _record(module, input_shape, torch, nn)
    out = Imported(notes=[f"torch.fx could not trace the module ({reason}), so the spec was recorded with forward "
                         "hooks, as a chain of its modules"], hooks=True)
    current: Shape = (2, *input_shape)
    previous: Any = None  # the tensor the previous module returned (None: the input)
    pools: list[str] = []

    def stop(what: str) -> CnncalcError:
        return CnncalcError(f"torch.fx could not trace the module ({reason}), and its forward pass is not a plain "
                            f"chain of modules: {what} (code between modules is invisible to forward hooks)")

    for name, m, inputs, output in records:
        first = output[0] if isinstance(output, tuple) else output
        if not inputs or not is_tensor(first, torch):
            out.unmapped.append(f"{name} ({type(m).__name__}): no tensor in or out")
            continue
        y = shape_of(first)
        x = inputs[0][0]
        if previous is not None and inputs[0][1] is not previous:
            flat = as_flatten(current, x)
            if flat is None:  # same-shape code (a residual addition, say) would vanish from the spec: refuse
                raise stop(f"'{name}' does not take the previous module's output")
            out.notes.append(f"'{name}' takes the previous output reshaped: read as a flatten")
            out.add({"name": out.label(f"{name}.flatten"), **flat}, [out.previous], x)
        entry = module_layer(m, nn, x, y)
        if isinstance(m, nn.MultiheadAttention) and (len(inputs) < 3 or any(t is not inputs[0][1] for _, t in inputs)):
            entry = None  # hooks see positional tensors only: unless attn(x, x, x), key and value are unknown
        if entry is None and not strict:  # measured, not read: an opaque layer
            entry = _opaque(m, y)
            out.opaque.append(f"{name} ({type(m).__name__})")
        if entry is None:
            out.unmapped.append(f"{name} ({type(m).__name__})")
            current = y
            continue
        if isinstance(m, nn.modules.pooling._MaxUnpoolNd):
            if not pools:
                out.unmapped.append(f"{name} ({type(m).__name__}): no max-pool with return_indices before it")
                continue
            entry["indices"] = pools.pop()  # the innermost open pool, as encoder-decoders pair them
        label = out.add({"name": out.label(name), **entry}, [out.previous], y)
        if isinstance(output, tuple) and isinstance(m, nn.modules.pooling._MaxPoolNd):
            pools.append(label)
        current, previous = y, first
    if out.unmapped:
        raise CnncalcError("cnncalc has no mapping for: " + "; ".join(out.unmapped))
    out.note_opaque()
    result = final[0] if final else None
    result = result[0] if isinstance(result, tuple) else result
    if result is not previous:
        raise stop("the module's output is not its last module's output")
    return out


# ------------------------------------------------------------------------------------------------------------------
# The entry point


def _import(root: Any, shape: Shape, torch: Any, nn: Any, strict: bool) -> Imported:
    """torch.fx first; where it cannot trace, or leaves parts opaque (``torch.fx.wrap``-ed helpers, code it only sees
    as one call), the recorded forward pass, whichever maps more; forward hooks where neither runs. With ``strict``,
    what the chosen one left opaque is an error."""
    reason = ""
    traced: Imported | None = None
    try:
        traced = _trace(root, shape, torch, nn, strict=False)
    except (_UntraceableError, CnncalcError) as err:
        reason = str(err)
    chosen = traced
    if traced is None or traced.opaque:
        try:
            eager: Imported | None = _eager(root, shape, torch, nn, strict=False)
        except CnncalcError:
            eager = None
        if eager is not None and (traced is None or len(eager.opaque) < len(traced.opaque)):
            eager.recorded, chosen = True, eager
            if traced is None:
                eager.notes.insert(0, f"torch.fx could not trace the module ({reason}), so the spec was recorded "
                                      "from a forward pass, op by op")
    if chosen is None:
        return _hooks(root, shape, torch, nn, reason, strict)
    if strict and chosen.opaque:
        raise CnncalcError("cnncalc has no mapping for: " + "; ".join(chosen.opaque))
    return chosen


def from_torch(module: Any, input_shape: tuple[int, ...], *, name: str = "imported", train: bool = False,
               strict: bool = False) -> dict[str, Any]:
    """A cnncalc spec (a dict, ready for ``cnncalc.analyze`` or YAML) for ``module`` on a C×… input.

    The module is traced in eval mode (``train=True``: in training mode, as ``--train``) and left in the mode it was
    in. A module or op without a cnncalc layer becomes an ``opaque`` layer, measured by torch (its output shape,
    parameters and buffers; MACs unknown), listed in the spec's ``notes``; ``strict=True`` raises a CnncalcError
    listing them instead. An import that cnncalc would size differently from torch is always an error. Other
    caveats (shared modules counted at every call, the hooks fallback) are in the spec's ``notes``.
    """
    torch, nn, _ = torch_modules()
    if not isinstance(module, nn.Module):
        raise CnncalcError(f"expected a torch.nn.Module, got {type(module).__name__}")
    shape = tuple(int(v) for v in input_shape)
    root = module
    if module_layer(module, nn, None, None) is not None:  # a bare layer: trace it as a one-module network
        from collections import OrderedDict

        root = nn.Sequential(OrderedDict([(type(module).__name__.lower(), module)]))
    flags = {m: m.training for m in root.modules()}
    root.train(train)  # the mode decides what fx traces (googlenet's aux outputs exist only in training)
    try:
        imported = _import(root, shape, torch, nn, strict)
    finally:
        for m, training in flags.items():
            m.training = training
    how = " with forward hooks" if imported.hooks else " from a recorded forward pass" if imported.recorded else ""
    mode = ", training mode" if train else ""
    spec: dict[str, Any] = {"name": name, "description": f"imported from torch ({type(module).__name__}){how}{mode}",
                            "input": list(shape), "layers": imported.layers}
    if not imported.layers:
        raise CnncalcError(f"{type(module).__name__} has no layers cnncalc could import")
    _check(spec, imported, module)
    if imported.notes:
        spec["notes"] = "\n".join(imported.notes)
    return spec


def _check(spec: dict[str, Any], imported: Imported, module: Any) -> None:
    """Analyse the spec and hold every layer's output shape to torch's; note a parameter total that differs."""
    from cnncalc.engine.graph import analyze

    try:
        report = analyze(spec)
    except CnncalcError as err:
        raise CnncalcError(f"the imported spec does not analyse: {err}") from None
    for row in report.layers:
        want = imported.shapes.get(row.name)
        if want is not None and tuple(row.output_shape) != want:
            raise CnncalcError(
                f"layer '{row.name}' ({row.type}): cnncalc computes {'x'.join(map(str, row.output_shape))} where "
                f"torch gives {'x'.join(map(str, want))}; the import would be wrong, so it stops here"
            )
    held = sum(p.numel() for p in module.parameters())
    if report.totals.params != held and not imported.shared:
        imported.notes.append(f"the spec counts {report.totals.params:,} parameters, the module holds {held:,}")


def to_yaml(spec: dict[str, Any]) -> str:
    """The spec as YAML with one line per layer (flow mappings), as the zoo writes them; fields at their default
    are left out."""
    import yaml

    from cnncalc.engine.layers import REGISTRY

    head = {k: v for k, v in spec.items() if k != "layers"}
    lines = [yaml.safe_dump(head, sort_keys=False, default_flow_style=None, width=120).rstrip(), "layers:"]
    for layer in spec["layers"]:
        cls = REGISTRY.get(str(layer.get("type")))
        fields = cls.model_fields if cls is not None else {}
        ordered = {"type": layer.get("type"), "name": layer.get("name"), **layer}  # README order: type first
        short = {k: v for k, v in ordered.items()
                 if k in ("type", "name") or k not in fields or fields[k].is_required() or fields[k].default != v}
        lines.append("  - " + yaml.safe_dump(short, sort_keys=False, default_flow_style=True, width=10_000).strip())
    return "\n".join(lines) + "\n"
