"""Walking a torch.fx graph: every call of a known module, function or method becomes a spec entry.

What maps to which layer class is :mod:`cnncalc.torch.imports`'s (modules by class, functions by name); this module
wires the entries (``inputs:`` wherever the data flow is not a plain chain), turns what has no mapping into measured
opaque nodes, and leaves the per-operation readers to :mod:`cnncalc.torch._ops` and :mod:`cnncalc.torch._calls`.
"""

from __future__ import annotations

import operator
from typing import Any

from cnncalc.errors import CnncalcError
from cnncalc.torch._attention import attention_call
from cnncalc.torch._calls import _PASS_THROUGH, Calls
from cnncalc.torch._held import FACTORIES
from cnncalc.torch._ops import Imported, in_place, is_tensor, shape_of
from cnncalc.torch.imports import FUNCTIONS, Shape, module_layer

#: Arithmetic names (operators, torch functions, tensor methods, reflected and in-place forms) → layer type.
_ARITHMETIC = {"add": "add", "iadd": "add", "radd": "add", "mul": "mul", "imul": "mul", "rmul": "mul",
               "sub": "sub", "isub": "sub", "rsub": "sub", "truediv": "div", "itruediv": "div", "rtruediv": "div",
               "div": "div", "maximum": "maximum", "minimum": "minimum"}


class Walk(Calls):
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
        self.moved: dict[Any, tuple[Any, list[int]]] = {}
        self.modules = dict(traced.named_modules())
        self.out = Imported()
        self.refs: dict[Any, str] = {}  # fx node → the spec name of the tensor it computes
        self.indices: dict[Any, str] = {}  # fx node → the max-pool whose indices it holds
        self.failed: set[Any] = set()  # unmapped nodes and what depends on them (listed once, at the root)
        self.calls: dict[str, int] = {}

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
        stray = [a for a in tensors if a not in self.refs and a not in self.indices and a not in self.moved]
        is_data = is_tensor(result, self.torch) or (
            isinstance(result, tuple) and bool(result) and is_tensor(result[0], self.torch))
        if not is_data:
            if node.op == "call_module":  # a module returning no tensor: nothing for a spec
                self.fail(node)
            return  # sizes and other Python values: they feed the arguments of other layers
        computed = any(a in self.refs or a in self.indices or a in self.moved for a in node.all_input_nodes)
        if not self.strict and (not computed or self.what(node).strip("_") in FACTORIES):
            self.constants.add(node)  # computed from parameters and constants only: what uses it decides
            if in_place(node) and node.args and node.args[0] in self.constants:  # pos.add_(tile(self.spatial))
                self.mutations.setdefault(node.args[0], []).append(node)
            return
        consts = [a for a in stray if a.op == "get_attr" or a in self.constants]
        if len(consts) != len(stray) or (consts and not any(a in self.refs for a in tensors)):
            what = ", ".join(f"'{a.target if a.op == 'get_attr' else a.name}'" for a in stray)
            self.fail(node, f"uses {what}, a tensor not computed from the input")
            return
        if consts and node.op == "call_module" and isinstance(self.modules[node.target], self.nn.MultiheadAttention):
            consts = []  # a mask held as a buffer: the call's reader (_attention) says why it stays opaque
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

    def opaque(self, node: Any, why: str) -> bool:
        """Write a node without a mapping as an ``opaque`` layer (measured shape and counts); False if it computes no
        tensor from the input."""
        result = self.values.get(node)
        first: Any = result[0] if isinstance(result, tuple | list) and result else result
        sources = [a if a in self.refs else self.moved[a][0] for a in node.all_input_nodes
                   if a in self.refs or (a in self.moved and self.moved[a][0] in self.refs)]
        if not is_tensor(first, self.torch) or not sources or len(first.shape) < 1:
            return False
        params, buffers = self.held(node)
        what = self.what(node)
        entry = {"type": "opaque", "module": what, "output_shape": list(shape_of(first)[1:]), "params": params,
                 "buffers": buffers}
        name = self.emit(node, entry, sources, merge=True, shape=shape_of(first))
        self.out.opaque.append(f"{name} ({what})" + (f": {why}" if why else ""))
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

    def module(self, node: Any, main: Any, x: Shape | None, y: Shape) -> bool | str:
        """A call of a torch module: its layer (max-unpooling linked to its pool's indices; frozen parameters kept
        frozen)."""
        nn, result = self.nn, self.values[node]
        m = self.modules[node.target]
        self.calls[node.target] = self.calls.get(node.target, 0) + 1
        if isinstance(m, nn.Sequential) and len(m) == 0:
            return self.alias(node, main)
        if isinstance(m, nn.MultiheadAttention):  # query, key, value and the call's masks: see _attention
            return attention_call(self, node, m, x, y)
        folded = getattr(self.traced, "folded", {})
        over = main in folded and folded.get(node) == folded[main] and x is not None
        if over and x is not None:  # heads or windows folded into the batch: torch saw (batch·k, …)
            x, y = (x[0] * x[1], *x[2:]), (y[0] * y[1], *y[2:])
        entry = module_layer(m, nn, x, y)
        if entry is None or main is None:
            return False
        if over:
            entry["over"] = 1
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

    def map(self, node: Any, tensors: list[Any], fx: Any) -> bool | str:
        """Add the node's layer(s); False (or why, as text) when there is no mapping."""
        result = self.values[node]
        y = shape_of(result[0] if isinstance(result, tuple) else result)
        first = node.args[0] if node.args else None
        main = first if isinstance(first, fx.Node) and first in self.refs else (tensors[0] if tensors else None)
        if node.target is operator.getitem:
            return self.getitem(node, main)
        if first in self.moved or main in self.moved:
            return self.unbind(node, first) if first in self.moved else "reads a permute that moves the batch dim"
        x = shape_of(self.values[main]) if main is not None and is_tensor(self.values[main], self.torch) else None
        if node.op == "call_module":
            return self.module(node, main, x, y)
        name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
        name = name.lstrip("_")
        args = [self.value(a) for a in node.args[1:]]
        kwargs = {k: self.value(v) for k, v in node.kwargs.items()}
        kind = _ARITHMETIC.get(name.rstrip("_"))
        if kind is not None:
            return self.merge(node, kind, y, inplace=name.endswith("_") or name.startswith("i"))
        if name in ("cat", "concat", "concatenate"):
            return self.concat(node, args, kwargs)
        if name in ("einsum", "unbind", "roll", "setitem"):
            return self.sequence_op(node, name, main, args, kwargs)
        if name in ("matmul", "bmm", "scaled_dot_product_attention"):
            return self.product(node, name, args, kwargs)
        if name in ("split", "chunk", "tensor_split") and main is not None and x is not None:
            return self.split(node, name, main, x, args, kwargs)
        if name in ("permute", "transpose", "swapaxes", "swapdims") and main is not None and x is not None:
            return self.permute(node, name, main, x, args)
        if main is None or x is None:
            return False
        if name in _PASS_THROUGH or name == "identity":
            return self.alias(node, main)
        if name in ("view", "reshape") and self.shuffle(node, main, x, y):
            return True
        entry = self.size_like(node, y, self.function(name, x, y, args, kwargs))
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
