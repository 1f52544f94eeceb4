"""The torch.fx walk's per-operation readers, shared by :mod:`cnncalc.torch._walk`: values, emitting entries, and the
arithmetic, parameters-as-operands, split, permute, shuffle, concat and matrix-product mappings.

:class:`Ops` is a mixin of :class:`cnncalc.torch._walk.Walk`: it holds no state of its own, only the attributes
declared below, which the walk sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncalc.torch.imports import Shape, pair

#: Positional parameters of the functions the walk maps (after the input), to bind args and kwargs alike.
_PARAMS = {
    "max_pool": ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "adaptive": ("output_size", "return_indices"),
    "interpolate": ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
    "pad": ("pad", "mode", "value"),
    "cat": ("dim",),
    "flatten": ("start_dim", "end_dim"),
    "softmax": ("dim",),
    "log_softmax": ("dim",),
    "leaky_relu": ("negative_slope", "inplace"),
    "elu": ("alpha", "inplace"),
    "dropout": ("p", "training", "inplace"),
    "mean": ("dim", "keepdim"),
    "pixel_shuffle": ("upscale_factor",),
    "pixel_unshuffle": ("downscale_factor",),
    "channel_shuffle": ("groups",),
}


@dataclass
class Imported:
    """What a trace produced: the spec's layers, torch's output shape per layer name, and notes for the user."""

    layers: list[dict[str, Any]] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    #: Nodes without a mapping, measured and written as ``opaque`` layers ("name (what)").
    opaque: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=lambda: {"input"})
    #: A module with parameters is called more than once (the spec counts them at each call).
    shared: bool = False
    #: Recorded with forward hooks (neither torch.fx nor a recorded forward pass could map the module).
    hooks: bool = False
    #: Recorded op by op from a forward pass (torch.fx could not trace the module, or mapped less of it).
    recorded: bool = False
    previous: str = "input"

    def note_opaque(self) -> None:
        """The note (a warning of ``cnncalc import``) that lists the opaque nodes."""
        if self.opaque:
            self.notes.append(f"{len(self.opaque)} opaque node(s) without a cnncalc layer, measured by torch (output "
                              "shape, parameters, buffers; MACs unknown): " + "; ".join(self.opaque))

    def label(self, wanted: str) -> str:
        label, k = wanted, 1
        while label in self.used:
            k += 1
            label = f"{wanted}_{k}"
        self.used.add(label)
        return label

    def add(self, entry: dict[str, Any], sources: list[str], shape: Shape, *, merge: bool = False) -> str:
        """Append a layer fed by ``sources`` (``inputs:`` only where it is not the previous layer)."""
        if merge or sources != [self.previous]:
            entry["inputs"] = sources
        self.layers.append(entry)
        self.shapes[entry["name"]] = shape[1:]
        self.previous = entry["name"]
        return str(entry["name"])


def in_place(node: Any) -> bool:
    """Whether an fx node is an in-place tensor method or operator (``x.add_(y)``, ``x += y``)."""
    name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", "")
    return (name.endswith("_") and not name.endswith("__")) or name in ("iadd", "imul", "isub", "itruediv")


def is_tensor(value: Any, torch: Any) -> bool:
    """Whether ``value`` is a tensor."""
    return isinstance(value, torch.Tensor)


def shape_of(value: Any) -> Shape:
    """A tensor's shape as ints."""
    return tuple(int(v) for v in value.shape)


class Ops:
    """Readers of single fx nodes; :class:`~cnncalc.torch._walk.Walk` supplies the state."""

    traced: Any
    values: dict[Any, Any]
    torch: Any
    nn: Any
    modules: dict[str, Any]
    out: Imported
    refs: dict[Any, str]
    indices: dict[Any, str]
    owned: set[str]
    splits: dict[Any, dict[str, Any]]
    constants: set[Any]
    mutations: dict[Any, list[Any]]
    #: Permutes that move the batch (``qkv.permute(2, 0, 3, 1, 4)``) → (source node, dims), written only as the
    #: picks ``q, k, v = qkv[0], qkv[1], qkv[2]`` that take it back out.
    moved: dict[Any, tuple[Any, list[int]]]

    def value(self, arg: Any) -> Any:
        """An argument with every fx node replaced by its recorded value (sizes computed from shapes, say)."""
        from torch import fx
        from torch.fx.node import map_aggregate

        return map_aggregate(arg, lambda a: self.values.get(a) if isinstance(a, fx.Node) else a)

    def what(self, node: Any) -> str:
        """What a node calls: a module's class or a function's name."""
        if node.op == "call_module":
            return type(self.modules[node.target]).__name__
        return str(getattr(node.target, "__name__", node.target))

    def held(self, node: Any) -> tuple[int, int]:
        """Parameters and buffers a node owns and no earlier layer counted: its module's, and those it reads."""
        params = buffers = 0
        for a in [node, *self.attributes(node)]:
            if a.op == "call_module" and a.target not in self.owned:
                self.owned.add(a.target)  # a module computing a constant (Swin V2's position-bias MLP) or this one
                m = self.modules[a.target]
                params += sum(p.numel() for p in m.parameters())
                buffers += sum(b.numel() for b in m.buffers())
            elif a.op == "get_attr" and a.target not in self.owned:
                self.owned.add(a.target)
                value: Any = self.values.get(a)
                if is_tensor(value, self.torch):
                    if isinstance(value, self.torch.nn.Parameter):
                        params += value.numel()
                    else:
                        buffers += value.numel()
        return int(params), int(buffers)

    def attributes(self, node: Any) -> list[Any]:
        """The get_attr nodes (parameters, buffers) a node reads, directly or through constant tensors, and the
        modules that computed those constants."""
        found: list[Any] = []
        todo = list(node.all_input_nodes)
        seen: set[Any] = set()
        while todo:
            a = todo.pop()
            if a in seen:
                continue
            seen.add(a)
            if a.op == "get_attr":
                found.append(a)
            elif a in self.constants:
                found += [a] if a.op == "call_module" else []
                todo.extend(a.all_input_nodes)
                todo.extend(self.mutations.get(a, []))
        return found

    def emit(self, node: Any, entry: dict[str, Any], sources: list[Any], *, merge: bool = False,
             shape: Shape | None = None) -> str:
        wanted = str(node.target) if node.op == "call_module" else str(node.name)
        entry = {"name": self.out.label(wanted), **entry}
        result = self.values[node]
        shape = shape or shape_of(result[0] if isinstance(result, tuple) else result)
        name = self.out.add(entry, [self.refs[s] for s in sources], shape, merge=merge)
        self.refs[node] = name
        target = node.args[0] if node.args else None
        if in_place(node) and target in self.refs and self.values.get(target) is self.values.get(node):
            self.refs[target] = name  # x.add_(y) without rebinding x: later uses of x read the result
        return name

    def alias(self, node: Any, source: Any) -> bool:
        if source is None:
            return False
        self.refs[node] = self.refs[source]
        return True

    def bind(self, key: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        return dict(zip(_PARAMS[key], args, strict=False)) | kwargs

    def with_constants(self, node: Any, tensors: list[Any], consts: list[Any]) -> bool | str:
        """Functions and arithmetic that read a parameter or buffer directly: layer scale (``x * self.gamma``),
        ``F.layer_norm`` / ``F.group_norm`` with their weights; anything else becomes opaque."""
        name = self.what(node).lstrip("_").rstrip("_")
        main = tensors[0] if tensors and tensors[0] in self.refs else None
        if main is None:
            return "a parameter or buffer combined with no tensor from the input"
        if not is_tensor(self.values[node], self.torch):
            return ""  # a tuple (multi_head_attention_forward's output and weights): nothing here maps it
        x, y = shape_of(self.values[main]), shape_of(self.values[node])
        values = [self.values[c] for c in consts]
        if name in ("mul", "imul", "rmul") and len(consts) == 1 and x == y and len(tensors) == 1:
            gamma = values[0]
            shape = (1,) * (len(x) - gamma.dim()) + tuple(gamma.shape)
            big = [d for d, v in enumerate(shape) if v != 1]
            if isinstance(gamma, self.torch.nn.Parameter) and len(big) == 1 and big[0] > 0 and \
                    shape[big[0]] == x[big[0]]:
                self.held(node)
                dim = big[0] if big[0] != len(x) - 1 or len(x) == 2 else -1
                self.emit(node, {"type": "layer_scale", "dim": dim}, [main])
                return True
        if name in ("conv1d", "conv2d", "conv3d"):
            return self.functional_conv(node, name, main, x)
        if name == "linear":
            return self.functional_linear(node, main)
        if name in ("layer_norm", "group_norm"):
            args = [self.value(a) for a in node.args[1:]]
            kwargs = {k: self.value(v) for k, v in node.kwargs.items()}
            if name == "layer_norm":
                bound = dict(zip(("normalized_shape", "weight", "bias", "eps"), args, strict=False)) | kwargs
                shape = [int(v) for v in bound["normalized_shape"]]
                entry: dict[str, Any] = {"type": "layernorm", "normalized_shape": shape if len(shape) > 1 else shape[0],
                                         "elementwise_affine": bound.get("weight") is not None,
                                         "bias": bound.get("bias") is not None or bound.get("weight") is None}
            else:
                bound = dict(zip(("num_groups", "weight", "bias", "eps"), args, strict=False)) | kwargs
                if (bound.get("weight") is None) != (bound.get("bias") is None):
                    return "group_norm with only one of weight and bias"
                entry = {"type": "groupnorm", "num_groups": int(bound["num_groups"]),
                         "affine": bound.get("weight") is not None}
            if "eps" in bound:
                entry["eps"] = float(bound["eps"])
            self.held(node)
            self.emit(node, entry, [main])
            return True
        return ""

    def functional_conv(self, node: Any, name: str, main: Any, x: Shape) -> bool | str:
        """``F.conv2d(x, weight, bias, stride, padding, dilation, groups)``: with learned weights (the module's own,
        or computed from them, as weight standardisation does) a conv layer; with a fixed kernel held as a buffer (a
        blur before strided downsampling) a conv layer with ``fixed: true``, its values counted as buffers."""
        names = ("weight", "bias", "stride", "padding", "dilation", "groups")
        bound = dict(zip(names, [self.value(a) for a in node.args[1:]], strict=False))
        bound |= {k: self.value(v) for k, v in node.kwargs.items()}
        weight: Any = bound.get("weight")
        bias = bound.get("bias")
        if not is_tensor(weight, self.torch):
            return "a convolution whose kernel is not a tensor"
        size = weight.numel() + (0 if bias is None else bias.numel())
        owned = set(self.owned)
        params, buffers = self.held(node)
        if (params, buffers) not in ((size, 0), (0, size)):
            self.owned.intersection_update(owned)  # left for the opaque node that measures it instead
            return "a convolution whose kernel mixes learned and fixed values, or is computed from other sizes"
        padding = bound.get("padding", 0)
        entry = {"type": name, "out_channels": int(weight.shape[0]),
                 "kernel_size": pair(tuple(int(k) for k in weight.shape[2:])),
                 "stride": pair(bound.get("stride", 1)), "dilation": pair(bound.get("dilation", 1)),
                 "padding": padding if isinstance(padding, str) else pair(padding),
                 "groups": int(bound.get("groups", 1)), "bias": bias is not None}
        if buffers:
            entry["fixed"] = True
        self.emit(node, entry, [main])
        return True

    def functional_linear(self, node: Any, main: Any) -> bool | str:
        """``F.linear(x, self.weight, self.bias)`` with learned weights (Swin's attention projections): a linear
        layer on the last dim."""
        names = ("weight", "bias")
        bound = dict(zip(names, [self.value(a) for a in node.args[1:]], strict=False))
        bound |= {k: self.value(v) for k, v in node.kwargs.items()}
        weight, bias = bound.get("weight"), bound.get("bias")
        parameter = self.torch.nn.Parameter
        if not isinstance(weight, parameter) or (bias is not None and bias.shape != weight.shape[:1]):
            return "a linear map whose weights are not parameters"  # a bias may be derived (Swin V2 zeroes k's)
        self.held(node)
        self.emit(node, {"type": "linear", "out_features": int(weight.shape[0]), "bias": bias is not None}, [main])
        return True

    def merge(self, node: Any, kind: str, y: Shape, *, inplace: bool) -> bool | str:
        """``a + b``, ``a * gate`` (broadcast as torch), or a tensor and a Python number on either side (``x * 0.2``,
        ``1 - x``: the same count, one operation per element)."""
        operands = [a for a in node.args[:2] if a in self.refs]
        extra: dict[str, Any] = {"inplace": True} if inplace else {}
        if len(operands) == 1 and len(node.args) >= 2:
            other = [self.value(a) for a in node.args[:2] if a is not operands[0]]
            if len(other) != 1 or not isinstance(other[0], int | float) or isinstance(other[0], bool):
                return "an operand that is neither a tensor from the input nor a number"
            self.emit(node, {"type": kind, "scalar": float(other[0]), **extra}, operands, merge=True)
            return True
        if len(operands) != 2:
            return "an operand that is not a tensor (a scalar)"
        shapes = [shape_of(self.values[a]) for a in operands]
        if any(s[0] != y[0] for s in shapes):
            return "broadcasting over the batch dim"
        self.emit(node, {"type": kind, **extra}, operands, merge=True)
        return True

    def shuffle(self, node: Any, main: Any, x: Shape, y: Shape) -> bool:
        """ShuffleNet's channel shuffle as model code writes it: ``view(N, g, C/g, H, W) → transpose(1, 2) →
        [contiguous] → view(N, C, H, W)`` becomes one ``channel_shuffle`` (the two views and the transpose go)."""
        from torch import fx

        chain = [main]
        if self.what(chain[-1]).lstrip("_") == "contiguous":
            chain.append(chain[-1].args[0])
        turn = chain[-1]
        if not isinstance(turn, fx.Node) or self.what(turn) not in ("transpose", "swapaxes", "swapdims"):
            return False
        split = turn.args[0]
        if not isinstance(split, fx.Node) or self.what(split) not in ("view", "reshape"):
            return False
        source = split.args[0]
        if source not in self.refs:
            return False
        before, grouped = shape_of(self.values[source]), shape_of(self.values[split])
        axes = sorted(int(d) % len(grouped) for d in (self.value(a) for a in turn.args[1:3]))
        if y != before or axes != [1, 2] or len(grouped) != len(before) + 1 or \
                grouped[1] * grouped[2] != before[1] or grouped[3:] != before[2:]:
            return False
        for gone in (turn, split):  # drop their entries when nothing else reads them
            if len(gone.users) == 1 and self.out.layers and self.out.layers[-1]["name"] == self.refs.get(gone):
                self.out.layers.pop()
        self.out.previous = self.out.layers[-1]["name"] if self.out.layers else "input"
        self.emit(node, {"type": "channel_shuffle", "groups": grouped[1]}, [source])
        return True

    def product(self, node: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> bool | str:
        """``a @ b`` / ``torch.bmm`` and ``F.scaled_dot_product_attention(q, k, v, attn_mask, is_causal=…)`` on
        tensors from the input, with their MACs; a mask from the input is a fourth input, a computed one ``masked``."""
        want = 3 if name == "scaled_dot_product_attention" else 2
        operands = [a for a in node.args[:want] if a in self.refs]
        if len(operands) != want:
            return "operands that are not all tensors from the input"
        entry: dict[str, Any] = {"type": "sdpa" if want == 3 else "matmul"}
        if want == 3:
            bound = dict(zip(("attn_mask", "dropout_p", "is_causal"), node.args[3:], strict=False)) | node.kwargs
            mask = bound.get("attn_mask")
            if mask in self.refs:
                operands.append(mask)  # computed from the input: a fourth input
            elif mask is not None:
                if self.held(node) != (0, 0):
                    return "an attention mask held as a parameter or buffer"
                entry["masked"] = True  # computed from constants (a causal or window mask)
            if self.value(bound.get("is_causal")):
                entry["is_causal"] = True
        self.emit(node, entry, operands, merge=True)
        return True

    def concat(self, node: Any, args: list[Any], kwargs: dict[str, Any]) -> bool:
        """``torch.cat``; of a one-tensor list (DenseNet's first dense layer) it is that tensor."""
        parts = node.args[0] if node.args else node.kwargs.get("tensors")
        if not isinstance(parts, tuple | list) or any(p not in self.refs for p in parts):
            return False
        if len(parts) == 1:
            return self.alias(node, parts[0])
        dim = self.bind("cat", args, kwargs).get("dim", 0)
        self.emit(node, {"type": "concat", "dim": dim}, list(parts), merge=True)
        return True

    def permute(self, node: Any, name: str, main: Any, x: Shape, args: list[Any]) -> bool | str:
        """``x.permute(0, 2, 3, 1)`` or ``x.transpose(1, 3)``; the batch stays first."""
        dims = list(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else list(args)
        rank = len(x)
        if name != "permute":
            a, b = (int(d) % rank for d in dims[:2])
            order = list(range(rank))
            order[a], order[b] = order[b], order[a]
            dims = order
        dims = [int(d) % rank for d in dims]
        if dims[0] != 0:  # qkv.permute(2, 0, 3, 1, 4): only a pick along the new first dim puts the batch back
            self.moved[node] = (main, dims)
            return True
        if dims == list(range(rank)):
            return self.alias(node, main)
        self.emit(node, {"type": "permute", "dims": dims}, [main])
        return True
