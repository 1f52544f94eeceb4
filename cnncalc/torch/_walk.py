"""Walking a torch.fx graph: every call of a known module, function or method becomes a spec entry.

What maps to which layer class is :mod:`cnncalc.torch.imports`'s (modules by class, functions by name); this module
wires the entries (``inputs:`` wherever the data flow is not a plain chain) and binds the functions' arguments.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

from cnncalc.engine.layers import layer_classes, reshape
from cnncalc.errors import CnncalcError
from cnncalc.torch.imports import FUNCTIONS, IMPORTS, Shape, as_flatten, module_layer, pad_entry, pair, softmax_dim

#: Functions and tensor methods of the activation classes (``F.relu``, ``torch.sigmoid``, ``x.tanh_()``): each
#: imports as the type of its own name.
_ACTIVATIONS = frozenset(name for cls in layer_classes() if cls.family in ("act", "softmax")
                         for name in IMPORTS[cls].functions)
#: Tensor methods that return their input's values unchanged (for shapes and counts).
_PASS_THROUGH = {"contiguous", "clone", "detach", "float", "double", "half", "bfloat16", "to", "type_as",
                 "requires_grad_", "cpu", "cuda"}
#: Positional parameters of the functions mapped below (after the input), to bind args and kwargs alike.
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
    #: Recorded with forward hooks (torch.fx could not trace the module).
    hooks: bool = False
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


#: Arithmetic names (operators, torch functions, tensor methods, reflected and in-place forms) → layer type.
_ARITHMETIC = {"add": "add", "iadd": "add", "radd": "add", "mul": "mul", "imul": "mul", "rmul": "mul",
               "sub": "sub", "isub": "sub", "rsub": "sub", "truediv": "div", "itruediv": "div", "rtruediv": "div",
               "div": "div", "maximum": "maximum", "minimum": "minimum"}


class Walk:
    """One pass over the fx graph in order, turning nodes into spec entries."""

    def __init__(self, traced: Any, values: dict[Any, Any], torch: Any, nn: Any, *, strict: bool = False) -> None:
        self.traced, self.values, self.torch, self.nn = traced, values, torch, nn
        #: Unmapped nodes are errors (``--strict``) instead of opaque layers.
        self.strict = strict
        self.owned: set[str] = set()  # parameters and buffers (get_attr targets) already counted by some layer
        self.splits: dict[Any, dict[str, Any]] = {}  # fx node of a split/chunk → its spec entry
        #: Tensors computed from parameters and constants alone (a class token expanded, a position bias).
        self.constants: set[Any] = set()
        #: In-place ops on a constant (``pos.add_(...)``): what reads the constant reads their inputs too.
        self.mutations: dict[Any, list[Any]] = {}
        self.modules = dict(traced.named_modules())
        self.out = Imported()
        self.refs: dict[Any, str] = {}  # fx node → the spec name of the tensor it computes
        self.indices: dict[Any, str] = {}  # fx node → the max-pool whose indices it holds
        self.failed: set[Any] = set()  # unmapped nodes and what depends on them (listed once, at the root)
        self.calls: dict[str, int] = {}

    def value(self, arg: Any) -> Any:
        """An argument with every fx node replaced by its recorded value (sizes computed from shapes, say)."""
        from torch import fx

        if isinstance(arg, fx.Node):
            return self.values.get(arg)
        if isinstance(arg, tuple | list):
            return type(arg)(self.value(a) for a in arg)
        if isinstance(arg, slice):
            return slice(self.value(arg.start), self.value(arg.stop), self.value(arg.step))
        if isinstance(arg, dict):
            return {k: self.value(v) for k, v in arg.items()}
        return arg

    def walk(self) -> Imported:
        from torch import fx

        for node in self.traced.graph.nodes:
            if node.op == "placeholder":
                if self.refs:
                    if not node.args:  # a second input without a default
                        self.out.unmapped.append(f"second input '{node.name}' (a spec has one input)")
                    continue
                self.refs[node] = "input"
                continue
            if node.op == "output":
                self.output(node.args[0])
                continue
            if node.op == "get_attr":
                continue  # parameters and constants: what uses them decides
            self.visit(node, fx)
        out = self.out
        if out.unmapped:
            raise CnncalcError("cnncalc has no mapping for: " + "; ".join(out.unmapped))
        out.note_opaque()
        shared = {k: n for k, n in self.calls.items() if n > 1}
        for target, n in shared.items():
            count = sum(p.numel() for p in self.modules[target].parameters())
            if count:
                out.shared = True
                out.notes.append(f"module '{target}' is called {n} times: the spec counts its {count:,} parameters "
                                 "at every call, torch stores them once")
        return out

    def visit(self, node: Any, fx: Any) -> None:
        """One computing node: its layer, an opaque layer, a constant, or (strict) an unmapped entry."""
        if any(a in self.failed for a in node.all_input_nodes):
            if self.known(node):
                self.failed.add(node)  # it would map: the failure upstream is the one to report
            else:
                self.fail(node)
            return
        result = self.values.get(node)
        tensors = [a for a in node.all_input_nodes if is_tensor(self.values.get(a), self.torch)]
        stray = [a for a in tensors if a not in self.refs and a not in self.indices]
        is_data = is_tensor(result, self.torch) or (
            isinstance(result, tuple) and bool(result) and is_tensor(result[0], self.torch))
        if not is_data:
            if node.op == "call_module":  # a module returning no tensor: nothing for a spec
                self.fail(node)
            return  # sizes and other Python values: they feed the arguments of other layers
        if not self.strict and not any(a in self.refs or a in self.indices for a in node.all_input_nodes):
            self.constants.add(node)  # computed from parameters and constants only: what uses it decides
            if in_place(node) and node.args and node.args[0] in self.constants:  # pos.add_(tile(self.spatial))
                self.mutations.setdefault(node.args[0], []).append(node)
            return
        consts = [a for a in stray if a.op == "get_attr" or a in self.constants]
        if len(consts) != len(stray) or (consts and not any(a in self.refs for a in tensors)):
            what = ", ".join(f"'{a.target if a.op == 'get_attr' else a.name}'" for a in stray)
            self.fail(node, f"uses {what}, a tensor not computed from the input")
            return
        if consts:  # a parameter or buffer used directly (x * self.gamma, F.layer_norm(x, s, self.weight))
            done = self.with_constants(node, [a for a in tensors if a not in consts], consts)
            if done is not True:
                self.fail(node, done or "")
            return
        done = self.map(node, tensors, fx)
        if done is not True:
            self.fail(node, done or "")

    def known(self, node: Any) -> bool:
        """Whether the node's module or function has a mapping at all (whatever its arguments)."""
        if node.op == "call_module":
            return module_layer(self.modules[node.target], self.nn, None, None) is not None
        name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
        base = name.lstrip("_").rstrip("_")
        return base in FUNCTIONS or base in _PASS_THROUGH or base.startswith(
            ("max_pool", "avg_pool", "adaptive_", "dropout"))

    def fail(self, node: Any, why: str = "") -> None:
        if not self.strict and self.opaque(node, why):
            return
        self.failed.add(node)
        if node.op == "call_module":
            text = f"{node.target} ({type(self.modules[node.target]).__name__})"
        else:
            text = f"{node.name} ({getattr(node.target, '__name__', node.target)})"
        self.out.unmapped.append(text + (f": {why}" if why else ""))

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

    def opaque(self, node: Any, why: str) -> bool:
        """Write a node without a mapping as an ``opaque`` layer (measured shape and counts); False if it computes no
        tensor from the input."""
        result = self.values.get(node)
        first: Any = result[0] if isinstance(result, tuple | list) and result else result
        sources = [a for a in node.all_input_nodes if a in self.refs]
        if not is_tensor(first, self.torch) or not sources or len(first.shape) < 1:
            return False
        params, buffers = self.held(node)
        what = self.what(node)
        entry = {"type": "opaque", "module": what, "output_shape": list(shape_of(first)[1:]), "params": params,
                 "buffers": buffers}
        name = self.emit(node, entry, sources, merge=True, shape=shape_of(first))
        self.out.opaque.append(f"{name} ({what})" + (f": {why}" if why else ""))
        return True

    def with_constants(self, node: Any, tensors: list[Any], consts: list[Any]) -> bool | str:
        """Functions and arithmetic that read a parameter or buffer directly: layer scale (``x * self.gamma``),
        ``F.layer_norm`` / ``F.group_norm`` with their weights; anything else becomes opaque."""
        name = self.what(node).lstrip("_").rstrip("_")
        main = tensors[0] if tensors and tensors[0] in self.refs else None
        if main is None:
            return "a parameter or buffer combined with no tensor from the input"
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
        """``F.conv2d(x, self.weight, self.bias, stride, padding, dilation, groups)`` with learned weights (weight
        standardisation, say) is a conv layer; a fixed kernel held as a buffer (a blur) stays opaque, since a conv
        layer's weights are parameters."""
        names = ("weight", "bias", "stride", "padding", "dilation", "groups")
        bound = dict(zip(names, [self.value(a) for a in node.args[1:]], strict=False))
        bound |= {k: self.value(v) for k, v in node.kwargs.items()}
        weight, bias = bound.get("weight"), bound.get("bias")
        parameter = self.torch.nn.Parameter
        if not isinstance(weight, parameter) or (bias is not None and not isinstance(bias, parameter)):
            return "a convolution whose weights are not parameters (a fixed kernel held as a buffer)"
        padding = bound.get("padding", 0)
        self.held(node)
        self.emit(node, {"type": name, "out_channels": int(weight.shape[0]),
                         "kernel_size": pair(tuple(int(k) for k in weight.shape[2:])),
                         "stride": pair(bound.get("stride", 1)), "dilation": pair(bound.get("dilation", 1)),
                         "padding": padding if isinstance(padding, str) else pair(padding),
                         "groups": int(bound.get("groups", 1)), "bias": bias is not None}, [main])
        return True

    def output(self, result: Any) -> None:
        from torch import fx

        if isinstance(result, tuple | list | dict):
            items = list(result.values()) if isinstance(result, dict) else list(result)
            first = next((r for r in items if isinstance(r, fx.Node) and r in self.refs), None)
            self.out.notes.append(f"the module returns {len(items)} values; the spec follows the first tensor")
            result = first
        if isinstance(result, fx.Node) and result in self.refs and self.refs[result] != self.out.previous:
            name = self.out.label("output")
            self.out.add({"type": "identity", "name": name}, [self.refs[result]], shape_of(self.values[result]))

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

    def map(self, node: Any, tensors: list[Any], fx: Any) -> bool | str:
        """Add the node's layer(s); False (or why, as text) when there is no mapping."""
        nn = self.nn
        result = self.values[node]
        y = shape_of(result[0] if isinstance(result, tuple) else result)
        first = node.args[0] if node.args else None
        main = first if isinstance(first, fx.Node) and first in self.refs else (tensors[0] if tensors else None)
        if node.target is operator.getitem:
            return self.getitem(node, main)
        x = shape_of(self.values[main]) if main is not None and is_tensor(self.values[main], self.torch) else None
        if node.op == "call_module":
            m = self.modules[node.target]
            self.calls[node.target] = self.calls.get(node.target, 0) + 1
            if isinstance(m, nn.Sequential) and len(m) == 0:
                return self.alias(node, main)
            entry = module_layer(m, nn, x, y)
            if entry is None or main is None:
                return False
            if isinstance(m, nn.modules.pooling._MaxUnpoolNd):
                index = node.args[1] if len(node.args) > 1 else node.kwargs.get("indices")
                if index not in self.indices:
                    return False
                entry["indices"] = self.indices[index]
            params = list(m.parameters(recurse=True))
            if params and not any(p.requires_grad for p in params):
                entry["trainable"] = False
            name = self.emit(node, entry, [main])
            if isinstance(result, tuple) and isinstance(m, nn.modules.pooling._MaxPoolNd):
                self.indices[node] = name  # return_indices=True: pool(x)[1] feeds a MaxUnpool
            return True
        name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
        name = name.lstrip("_")
        args = [self.value(a) for a in node.args[1:]]
        kwargs = {k: self.value(v) for k, v in node.kwargs.items()}
        kind = _ARITHMETIC.get(name.rstrip("_"))
        if kind is not None:
            return self.merge(node, kind, y, inplace=name.endswith("_") or name.startswith("i"))
        if name in ("cat", "concat", "concatenate"):
            return self.concat(node, args, kwargs)
        if name in ("matmul", "bmm", "scaled_dot_product_attention"):
            return self.product(node, name, args, kwargs)
        if name in ("split", "chunk") and main is not None and x is not None:
            return self.split(node, name, main, x, args, kwargs)
        if name in ("permute", "transpose", "swapaxes", "swapdims") and main is not None and x is not None:
            return self.permute(node, name, main, x, args)
        if main is None or x is None:
            return False
        if name in _PASS_THROUGH or name == "identity":
            return self.alias(node, main)
        if name in ("view", "reshape") and self.shuffle(node, main, x, y):
            return True
        entry = self.function(name, x, y, args, kwargs)
        if entry is None:
            return False
        entries = entry if isinstance(entry, list) else [entry]
        for i, e in enumerate(entries):
            last = i == len(entries) - 1
            if last:
                self.emit(node, e, [main] if i == 0 else [node], shape=y)
            else:
                pooled = (*y, *([1] * (len(x) - len(y))))
                label = self.out.label(f"{node.name}_pool")
                self.refs[node] = self.out.add({"name": label, **e}, [self.refs[main]], pooled)
        if isinstance(result, tuple) and name.startswith("max_pool"):
            self.indices[node] = self.refs[node]
        return True

    def alias(self, node: Any, source: Any) -> bool:
        if source is None:
            return False
        self.refs[node] = self.refs[source]
        return True

    def bind(self, key: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        return dict(zip(_PARAMS[key], args, strict=False)) | kwargs

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
        """``a @ b`` / ``torch.bmm`` and ``F.scaled_dot_product_attention(q, k, v)`` (without a mask) on tensors from
        the input, with their MACs."""
        want = 3 if name == "scaled_dot_product_attention" else 2
        operands = [a for a in node.args[:want] if a in self.refs]
        if len(operands) != want or (want == 3 and (kwargs.get("attn_mask") is not None or len(args) > 2)):
            return "operands that are not all tensors from the input, or an attention mask"
        self.emit(node, {"type": "sdpa" if want == 3 else "matmul"}, operands, merge=True)
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

    def split(self, node: Any, name: str, main: Any, x: Shape, args: list[Any], kwargs: dict[str, Any]) -> bool | str:
        """``x.chunk(n, dim)`` / ``torch.split(x, size_or_sections, dim)``: a split point; ``getitem`` picks pieces."""
        if name == "chunk":
            bound = dict(zip(("chunks", "dim"), args, strict=False)) | kwargs
            entry: dict[str, Any] = {"type": "chunk", "chunks": int(bound["chunks"])}
        else:
            bound = dict(zip(("split_size_or_sections", "dim"), args, strict=False)) | kwargs
            size: Any = bound.get("split_size_or_sections", bound.get("split_size"))
            entry = {"type": "split", "split_size": [int(v) for v in size] if isinstance(size, list | tuple)
                     else int(size)}
        dim = int(bound.get("dim", 0))
        if dim % len(x) == 0:
            return "a split along the batch dim"
        entry["dim"] = dim
        self.splits[node] = entry
        self.emit(node, entry, [main], shape=x)
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
        if dims[0] != 0:
            return "a permute that moves the batch dim"
        if dims == list(range(rank)):
            return self.alias(node, main)
        self.emit(node, {"type": "permute", "dims": dims}, [main])
        return True

    def getitem(self, node: Any, source: Any) -> bool:
        """``pool(x)[0]`` and ``[1]`` (values and indices), or ``x[:, :, a:b, c:d]`` as a crop."""
        base, index = node.args[0], node.args[1]
        if base in self.splits and isinstance(index, int):
            entry = {**self.splits[base], "index": index}
            self.emit(node, entry, [base])
            return True
        if isinstance(self.values.get(base), tuple):
            if index == 0 and base in self.refs:
                return self.alias(node, base)
            if index == 1 and base in self.indices:
                self.indices[node] = self.indices[base]
                return True
            return False
        if source is None:
            return False
        index = self.value(index)
        x, y = shape_of(self.values[base]), shape_of(self.values[node])
        if not isinstance(index, tuple):
            index = (index,)
        if Ellipsis in index:
            at = index.index(Ellipsis)
            index = (*index[:at], *[slice(None)] * (len(x) - len(index) + 1), *index[at + 1:])
        index = (*index, *[slice(None)] * (len(x) - len(index)))
        if len(index) != len(x) or any(not isinstance(s, slice) for s in index):
            return False
        bounds = [s.indices(w) for s, w in zip(index, x, strict=True)]
        spatial_whole = all(b[:2] == (0, w) for b, w in zip(bounds[2:], x[2:], strict=True))
        if bounds[0][:2] == (0, x[0]) and bounds[1][:2] != (0, x[1]) and bounds[1][2] == 1 and spatial_whole \
                and len(y) == len(x) and bounds[1][0] < bounds[1][1]:
            start, stop, _ = bounds[1]  # x[:, a:b]: a channel slice, the middle piece of a split
            sections = [v for v in (start, stop - start, x[1] - stop) if v]
            self.emit(node, {"type": "split", "split_size": sections, "index": 1 if start else 0}, [source])
            return True
        whole = all(b[:2] == (0, w) for b, w in zip(bounds[:2], x[:2], strict=True))
        if not whole or any(step != 1 for _, _, step in bounds):
            return False  # only spatial crops: the batch and channels stay whole
        before = [start for start, _, _ in bounds[2:]]
        after = [w - max(stop, start) for (start, stop, _), w in zip(bounds[2:], x[2:], strict=True)]
        if not any(before) and not any(after):
            return self.alias(node, source)
        if len(y) != len(x):
            return False
        self.emit(node, {"type": "crop", "crop": {"before": before, "after": after}}, [source])
        return True

    def function(self, name: str, x: Shape, y: Shape, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A spec entry (or two) for a functional call or tensor method on ``x`` giving ``y``; None if unknown."""
        kwargs = {k: v for k, v in kwargs.items() if k not in ("_stacklevel", "dtype")}
        base = name.rstrip("_")
        if base in _ACTIVATIONS:
            kind = base
            entry: dict[str, Any] = {"type": kind}
            if kind in ("softmax", "log_softmax"):
                entry["dim"] = softmax_dim(self.bind(kind, args, kwargs).get("dim"), len(x))
            elif kind in ("leaky_relu", "elu"):
                bound = self.bind(kind, args, kwargs)
                key = "negative_slope" if kind == "leaky_relu" else "alpha"
                if key in bound:
                    entry[key] = float(bound[key])
            elif kind == "gelu" and kwargs.get("approximate", "none") != "none":
                entry["approximate"] = kwargs["approximate"]
            if name.endswith("_") or kwargs.get("inplace") is True:
                entry["inplace"] = True
            return entry
        if base in IMPORTS[reshape.Flatten].functions or base == "unflatten":
            if base == "flatten" and len(y) == len(x):
                return None if y != x else {"type": "identity"}
            if y == x:
                return {"type": "identity"}
            return as_flatten(x, y) or ({"type": "reshape", "shape": list(y[1:])} if y[0] == x[0] else None)
        if (newer := self.newer(base, args, kwargs)) is not None:
            return newer
        if base in IMPORTS[reshape.Dropout].functions:
            return {"type": "dropout", "p": float(self.bind("dropout", args, kwargs).get("p", 0.5))}
        for pool in ("max_pool", "avg_pool"):
            if base.startswith(pool) and base[-2:] in ("1d", "2d", "3d"):
                bound = self.bind(pool, args, kwargs)
                entry = {"type": pool.replace("_", "") + base[-2:], "kernel_size": pair(bound["kernel_size"]),
                         "stride": pair(bound.get("stride") or bound["kernel_size"]),
                         "padding": pair(bound.get("padding", 0)), "ceil_mode": bool(bound.get("ceil_mode", False))}
                if pool == "max_pool":
                    entry["dilation"] = pair(bound.get("dilation", 1))
                else:
                    entry["count_include_pad"] = bool(bound.get("count_include_pad", True))
                return entry
        if base.startswith("adaptive_") and base[-2:] in ("1d", "2d", "3d"):
            size = self.bind("adaptive", args, kwargs)["output_size"]
            kind = "avg" if "avg" in base else "max"
            return {"type": f"adaptive_{kind}pool{base[-2:]}",
                    "output_size": list(size) if isinstance(size, tuple | list) else size}
        if base in ("interpolate", "upsample"):
            bound = self.bind("interpolate", args, kwargs)
            mode = bound.get("mode", "nearest")
            if mode not in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
                return None
            entry = {"type": "upsample", "mode": mode, "size": list(y[2:])}  # sizes as torch computed them
            if bound.get("align_corners") is not None:
                entry["align_corners"] = bool(bound["align_corners"])
            return entry
        if base == "pad":
            bound = self.bind("pad", args, kwargs)
            return pad_entry(list(bound["pad"]), bound.get("mode") or "constant", bound.get("value") or 0.0)
        if base in ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle"):
            (key, value), = self.bind(base, args, kwargs).items()
            return {"type": base, key: int(value)}
        if base == "mean":
            bound = self.bind("mean", args, kwargs)
            dims = bound.get("dim")
            dims = [dims] if isinstance(dims, int) else list(dims or [])
            spatial = set(range(2, len(x)))
            if not spatial or {d % len(x) for d in dims} != spatial:
                return None  # only the global average over every spatial dim has a layer
            average: dict[str, Any] = {"type": "global_avgpool"}
            return average if bound.get("keepdim") else [average, {"type": "flatten"}]
        return None

    def newer(self, base: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """Functions of the layers for today's CNNs: norms without weights, Lp pooling, stochastic depth."""
        if base in ("layer_norm", "group_norm", "instance_norm"):  # without weights (with them: with_constants)
            if base == "layer_norm":
                shape = [int(v) for v in (args[0] if args else kwargs["normalized_shape"])]
                return {"type": "layernorm", "normalized_shape": shape if len(shape) > 1 else shape[0],
                        "elementwise_affine": False}
            if base == "group_norm":
                return {"type": "groupnorm", "num_groups": int(args[0] if args else kwargs["num_groups"]),
                        "affine": False}
            return {"type": "instancenorm"}
        if base.startswith("lp_pool") and base[-2:] in ("1d", "2d", "3d"):
            bound = dict(zip(("norm_type", "kernel_size", "stride", "ceil_mode"), args, strict=False)) | kwargs
            return {"type": f"lppool{base[-2:]}", "norm_type": float(bound["norm_type"]),
                    "kernel_size": pair(bound["kernel_size"]),
                    "stride": pair(bound.get("stride") or bound["kernel_size"]),
                    "ceil_mode": bool(bound.get("ceil_mode", False))}
        if base in IMPORTS[reshape.StochasticDepth].functions:
            p = args[0] if args else kwargs.get("p", kwargs.get("drop_prob", 0.0))
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("mode", "row")
            return {"type": "stochastic_depth", "p": float(p), "mode": mode if mode in ("row", "batch") else "row"}
        return None
