"""Import a ``torch.nn.Module`` as a cnncalc spec, so a user can analyse, verify and check their own network.

``torch.fx`` traces the module; every call of a known module, function or method becomes a layer, named after
the module path (``layer1.0.conv1``) and wired with ``inputs:`` wherever the data flow is not a plain chain.
torch's shape propagation (on the meta device) sizes crops and checks the import. Anything that cannot be mapped
is listed in a CnncalcError: nothing is silently dropped.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

from cnncalc.errors import CnncalcError
from cnncalc.torch_bridge import torch_modules

_ACTIVATIONS = {
    "ReLU": "relu", "ReLU6": "relu6", "Sigmoid": "sigmoid", "Tanh": "tanh", "SiLU": "silu", "SELU": "selu",
    "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "Identity": "identity",
}
_FUNCTIONS = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "silu": "silu",
              "gelu": "gelu", "selu": "selu", "hardswish": "hardswish", "hardsigmoid": "hardsigmoid"}


def _pair(value: Any) -> Any:
    if isinstance(value, tuple | list):
        values = [int(v) for v in value]
        return values[0] if len(set(values)) == 1 else values
    return value


def _module_layer(m: Any, nn: Any) -> dict[str, Any] | None:
    """The spec entry for one torch module, or None when there is no mapping."""
    kind = type(m).__name__
    if isinstance(m, nn.modules.conv._ConvNd):
        if m.padding_mode != "zeros":
            return None
        transposed = isinstance(m, nn.modules.conv._ConvTransposeNd)
        n = len(m.kernel_size)
        entry: dict[str, Any] = {
            "type": f"conv_transpose{n}d" if transposed else f"conv{n}d", "out_channels": m.out_channels,
            "kernel_size": _pair(m.kernel_size), "stride": _pair(m.stride),
            "padding": m.padding if isinstance(m.padding, str) else _pair(m.padding),
            "dilation": _pair(m.dilation), "groups": m.groups, "bias": m.bias is not None,
        }
        if transposed:
            entry["output_padding"] = _pair(m.output_padding)
        return entry
    if isinstance(m, nn.Linear):
        return {"type": "linear", "out_features": m.out_features, "bias": m.bias is not None}
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return {"type": kind.lower(), "eps": m.eps, "momentum": m.momentum, "affine": m.affine,
                "track_running_stats": m.track_running_stats}
    if isinstance(m, nn.modules.pooling._MaxPoolNd):
        return {"type": kind.lower(), "kernel_size": _pair(m.kernel_size),
                "stride": _pair(m.stride if m.stride is not None else m.kernel_size), "padding": _pair(m.padding),
                "dilation": _pair(m.dilation), "ceil_mode": m.ceil_mode}
    if isinstance(m, nn.modules.pooling._AvgPoolNd):
        return {"type": kind.lower(), "kernel_size": _pair(m.kernel_size), "stride": _pair(m.stride),
                "padding": _pair(m.padding), "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad}
    if kind.startswith("Adaptive") and "Pool" in kind:
        size = m.output_size
        size = list(size) if isinstance(size, tuple | list) else size
        return {"type": "adaptive_" + ("avg" if "Avg" in kind else "max") + "pool" + kind[-2:].lower(),
                "output_size": size}
    if isinstance(m, nn.Flatten):
        return {"type": "flatten", "start_dim": m.start_dim, "end_dim": m.end_dim}
    if isinstance(m, nn.modules.dropout._DropoutNd):
        return {"type": "dropout", "p": m.p}
    if kind in _ACTIVATIONS:
        return {"type": _ACTIVATIONS[kind]}
    if isinstance(m, nn.LeakyReLU):
        return {"type": "leaky_relu", "negative_slope": m.negative_slope}
    if isinstance(m, nn.ELU):
        return {"type": "elu", "alpha": m.alpha}
    if isinstance(m, nn.GELU):
        return {"type": "gelu", "approximate": m.approximate}
    if isinstance(m, nn.PReLU):
        return {"type": "prelu", "num_parameters": m.num_parameters}
    if isinstance(m, nn.Softmax | nn.LogSoftmax):
        return {"type": "softmax" if isinstance(m, nn.Softmax) else "log_softmax", "dim": m.dim}
    if isinstance(m, nn.LocalResponseNorm):
        return {"type": "lrn", "size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}
    if isinstance(m, nn.Upsample):
        size = list(m.size) if isinstance(m.size, tuple) else m.size
        return {"type": "upsample", "size": size, "scale_factor": m.scale_factor, "mode": m.mode,
                "align_corners": m.align_corners}
    if isinstance(m, nn.PixelShuffle):
        return {"type": "pixel_shuffle", "upscale_factor": m.upscale_factor}
    if isinstance(m, nn.PixelUnshuffle):
        return {"type": "pixel_unshuffle", "downscale_factor": m.downscale_factor}
    if isinstance(m, nn.ChannelShuffle):
        return {"type": "channel_shuffle", "groups": m.groups}
    if kind.startswith(("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad")):
        return _pad_entry(list(m.padding), "reflect" if "Reflection" in kind else
                          "replicate" if "Replication" in kind else "constant")
    return None


def _pad_entry(pads: list[int], mode: str) -> dict[str, Any]:
    """torch's (left, right, top, bottom, …) last-dim-first amounts → cnncalc's per-dim [before, after] pairs."""
    pairs = [[pads[i], pads[i + 1]] for i in range(0, len(pads), 2)][::-1]
    return {"type": "pad", "padding": pairs, "mode": mode}


def _flatten_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
    end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
    return {"type": "flatten", "start_dim": start, "end_dim": end}


def from_torch(module: Any, input_shape: tuple[int, ...], *, name: str = "imported") -> dict[str, Any]:
    """A cnncalc spec (a dict, ready for ``cnncalc.analyze`` or YAML) for ``module`` on a C×… input."""
    torch, nn, functional = torch_modules()
    from torch import fx

    try:
        traced = fx.symbolic_trace(module)
    except Exception as err:  # tracing failures come in many types (data-dependent control flow, …)
        layers = _from_hooks(module, input_shape, torch, nn, reason=f"{type(err).__name__}: {err}")
        return {"name": name, "description": f"imported from torch ({type(module).__name__}, by forward hooks)",
                "input": list(input_shape), "layers": layers}
    from torch.fx.passes.shape_prop import ShapeProp

    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    try:  # a real forward pass at batch 1 (the user's module is not moved or changed)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ShapeProp(traced).propagate(torch.zeros(1, *input_shape, device=device))
    except Exception as err:
        raise CnncalcError(f"the module does not run on a 1x{'x'.join(map(str, input_shape))} input: {err}") from None
    layers = _layers(traced, fx, nn, functional, torch)
    return {"name": name, "description": f"imported from torch ({type(module).__name__})",
            "input": list(input_shape), "layers": layers}


def _from_hooks(module: Any, input_shape: tuple[int, ...], torch: Any, nn: Any, *, reason: str) -> list[dict[str, Any]]:
    """The fallback when fx cannot trace: record the leaf modules a forward pass calls, in order, as a chain.

    Only a plain chain can be recovered this way (each leaf must read the previous leaf's output, and the last
    leaf's output must be the network's); anything else is an error that says why tracing failed.
    """
    calls: list[tuple[str, Any, Any, Any]] = []
    hooks = []
    for path, sub in module.named_modules():
        if not list(sub.children()):
            hooks.append(sub.register_forward_hook(
                lambda m, args, out, path=path: calls.append((path, m, args[0] if args else None, out))
            ))
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = torch.zeros(1, *input_shape, device=device)
            result = module(x)
    except Exception as err:
        raise CnncalcError(f"the module does not run on a 1x{'x'.join(map(str, input_shape))} input: {err}") from None
    finally:
        for hook in hooks:
            hook.remove()
    layers: list[dict[str, Any]] = []
    unmapped: list[str] = []
    previous = x
    for path, m, inp, out in calls:
        if inp is not previous:
            raise CnncalcError(
                f"torch.fx could not trace the module ({reason}), and its forward pass is not a plain chain of "
                f"modules (the input of '{path}' is not the previous module's output), so it cannot be imported"
            )
        entry = _module_layer(m, nn)
        if entry is None:
            unmapped.append(f"{path} ({type(m).__name__})")
        else:
            layers.append({"name": path or type(m).__name__.lower(), **entry})
        previous = out
    if unmapped:
        raise CnncalcError("cnncalc has no mapping for: " + "; ".join(unmapped))
    if result is not previous:
        raise CnncalcError(f"torch.fx could not trace the module ({reason}), and its output is not its last "
                           "module's output (functions between modules are invisible to hooks)")
    return layers


def _layers(traced: Any, fx: Any, nn: Any, functional: Any, torch: Any) -> list[dict[str, Any]]:
    """One spec entry per mapped graph node, wired by name where the data flow is not a chain."""
    graph = traced.graph
    modules = dict(traced.named_modules())
    layers: list[dict[str, Any]] = []
    names: dict[Any, str] = {}
    unmapped: list[str] = []
    previous: str | None = None
    used: set[str] = set()
    for node in graph.nodes:
        if node.op == "placeholder":
            names[node] = previous = "input"
            continue
        if node.op == "output":
            result = node.args[0]
            if isinstance(result, fx.Node) and result in names and names[result] != previous:
                layers.append({"type": "identity", "name": "output", "inputs": [names[result]]})
            continue
        tensor_args = [a for a in node.all_input_nodes if isinstance(a.meta.get("tensor_meta"), object)
                       and "tensor_meta" in a.meta]
        entry = _entry(node, modules, nn, functional, torch, tensor_args)
        if entry is None:
            if "tensor_meta" in node.meta:
                unmapped.append(_describe(node, modules))
            continue
        if entry == {}:
            names[node] = names[tensor_args[0]] if tensor_args else "input"
            continue
        label = str(node.target) if node.op == "call_module" else node.name
        while label in used or label == "input":
            label += "_"
        used.add(label)
        entry = {"name": label, **entry}
        sources = [names[a] for a in tensor_args if a in names]
        if entry["type"] in ("add", "mul", "concat") or sources != [previous]:
            entry["inputs"] = sources
        layers.append(entry)
        names[node] = previous = label
    if unmapped:
        raise CnncalcError("cnncalc has no mapping for: " + "; ".join(unmapped))
    return layers


def _describe(node: Any, modules: dict[str, Any]) -> str:
    if node.op == "call_module":
        return f"{node.target} ({type(modules[node.target]).__name__})"
    return f"{node.name} ({getattr(node.target, '__name__', node.target)})"


def _entry(node: Any, modules: dict[str, Any], nn: Any, functional: Any, torch: Any,
           tensors: list[Any]) -> dict[str, Any] | None:
    """The spec entry for an fx node; ``{}`` for a no-op that passes its input through; None when unmappable."""
    if node.op == "call_module":
        m = modules[node.target]
        if isinstance(m, nn.Sequential) and len(m) == 0:
            return {}
        return _module_layer(m, nn)
    target = node.target
    name = getattr(target, "__name__", str(target))
    if node.op == "call_method":
        name = str(target)
    if "tensor_meta" not in node.meta:
        return None  # sizes and other Python values: used by shape code, not layers
    if target in (operator.add, operator.iadd, torch.add) or name in ("add", "add_"):
        return {"type": "add"} if len(tensors) > 1 else None
    if target in (operator.mul, torch.mul) or name in ("mul", "mul_"):
        return {"type": "mul"} if len(tensors) > 1 else None
    if target is torch.cat or name == "cat":
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        return {"type": "concat", "dim": dim}
    if target is torch.flatten or name == "flatten":
        return _flatten_call(node.args, node.kwargs)
    if name in ("view", "reshape") and len(tensors) == 1:
        shape = node.meta["tensor_meta"].shape
        src = tensors[0].meta["tensor_meta"].shape
        if len(shape) == 2 and shape[0] == src[0]:
            return {"type": "flatten"}
        return None
    if name in _FUNCTIONS or name.rstrip("_") in _FUNCTIONS:
        return {"type": _FUNCTIONS[name.rstrip("_")]}
    if name in ("contiguous", "clone", "dropout", "identity"):
        return {}
    if target is operator.getitem and len(tensors) == 1:
        return _crop_from_slices(node, tensors[0])
    if name in ("adaptive_avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool3d"):
        size = node.args[1] if len(node.args) > 1 else node.kwargs["output_size"]
        return {"type": f"adaptive_avgpool{name[-2:]}", "output_size": list(size) if isinstance(size, tuple) else size}
    if name == "pad":
        return _pad_entry(list(node.args[1]), node.kwargs.get("mode", "constant"))
    if name.lstrip("_") in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"):
        return _functional_pool(name.lstrip("_"), node.args, node.kwargs)
    return None


def _functional_pool(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``F.max_pool2d(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False)`` and the avg variants."""
    order = ["kernel_size", "stride", "padding"] + (["dilation", "ceil_mode"] if name.startswith("max") else
                                                     ["ceil_mode", "count_include_pad"])
    values = dict(zip(order, args[1:], strict=False)) | {k: v for k, v in kwargs.items() if k in order}
    kernel = _pair(values["kernel_size"])
    stride = values.get("stride")
    entry = {
        "type": ("maxpool" if name.startswith("max") else "avgpool") + name[-2:], "kernel_size": kernel,
        "stride": kernel if stride in (None, [], ()) else _pair(stride), "padding": _pair(values.get("padding", 0)),
        "ceil_mode": bool(values.get("ceil_mode", False)),
    }
    if name.startswith("max"):
        entry["dilation"] = _pair(values.get("dilation", 1))
    return entry


def _crop_from_slices(node: Any, source: Any) -> dict[str, Any] | None:
    """``x[:, :, a:b, c:d]`` on spatial dims → a crop by explicit amounts (sizes from torch's shape propagation)."""
    index = node.args[1]
    if not isinstance(index, tuple) or len(index) < 3:
        return None
    if any(not isinstance(s, slice) or s != slice(None) for s in index[:2]):
        return None
    src = list(source.meta["tensor_meta"].shape[2:])
    out = list(node.meta["tensor_meta"].shape[2:])
    before, after = [], []
    for i, size in enumerate(src):
        s = index[2 + i] if 2 + i < len(index) else slice(None)
        if not isinstance(s, slice) or s.step not in (None, 1):
            return None
        start = 0 if s.start is None else int(s.start) % size if int(s.start) < 0 else int(s.start)
        before.append(start)
        after.append(size - start - out[i])
    return {"type": "crop", "crop": {"before": before, "after": after}}


def to_yaml(spec: dict[str, Any]) -> str:
    """The spec as YAML with one line per layer (flow mappings), as the zoo writes them."""
    import yaml

    head = {k: v for k, v in spec.items() if k != "layers"}
    lines = [yaml.safe_dump(head, sort_keys=False, default_flow_style=None, width=120).rstrip(), "layers:"]
    for layer in spec["layers"]:
        lines.append("  - " + yaml.safe_dump(layer, sort_keys=False, default_flow_style=True, width=10_000).strip())
    return "\n".join(lines) + "\n"
