"""The fx walk's readers for tensors a layer holds and for indexing, as transformer-style code writes them: a
parameter or constant as an operand (``x + self.pos_embedding``), learned tokens concatenated to the sequence
(ViT's class token), and ``x[:, 0]`` / ``x[..., 0::2, :]`` / ``torch.roll``.

:class:`Held` extends :class:`cnncalc.torch._ops.Ops` and is a mixin of :class:`cnncalc.torch._walk.Walk`.
"""

from __future__ import annotations

from itertools import pairwise
from math import prod
from typing import Any

from cnncalc.torch._ops import Ops, in_place, shape_of
from cnncalc.torch.imports import Shape, pad_entry

#: Arithmetic that takes a held tensor as its other operand, by the names the walk sees.
_OPERAND = {"add": "add", "iadd": "add", "radd": "add", "mul": "mul", "imul": "mul", "rmul": "mul", "sub": "sub",
            "isub": "sub", "rsub": "sub", "truediv": "div", "itruediv": "div", "rtruediv": "div", "div": "div"}
#: Methods and functions whose result has only the shape (and dtype) of their tensor argument, never its values.
FACTORIES = frozenset(("new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "zeros_like", "ones_like",
                       "empty_like", "full_like"))


def _ints(value: Any) -> list[int]:
    """One int or a sequence of them, as a list."""
    return [int(v) for v in value] if isinstance(value, tuple | list) else [int(value)]


class Held(Ops):
    """Held operands, tokens and indexing."""

    def with_constants(self, node: Any, tensors: list[Any], consts: list[Any]) -> bool | str:
        """The readers of :class:`Ops`, then a held operand or held tokens."""
        done = super().with_constants(node, tensors, consts)
        main = tensors[0] if tensors and tensors[0] in self.refs else None
        name = self.what(node).lstrip("_").rstrip("_")
        if done is not True and name == "scaled_dot_product_attention":
            return self.product(node, name, [], {})  # a fixed mask
        if done is not True and main is not None and len(consts) == 1 and len(tensors) == 1:
            x = shape_of(self.values[main])
            if name in ("cat", "concat", "concatenate"):
                return self.token(node, main, x, consts[0])
            if name == "einsum":
                return self.einsum_held(node, main, consts[0])
            if name in _OPERAND:
                return self.operand(node, name, main, x, consts[0])
        return done

    def operand(self, node: Any, name: str, main: Any, x: tuple[int, ...], const: Any) -> bool | str:
        """``x + c``, ``x * c``, ``c - x``… with ``c`` a parameter or a constant computed from parameters and buffers:
        an arithmetic layer holding ``c`` (its counts: the parameters and buffers it was computed from)."""
        kind = _OPERAND.get(name)
        value = self.values[const]
        if kind is None or not hasattr(value, "shape"):
            return ""
        shape = shape_of(value)
        if len(shape) > len(x) or (len(shape) == len(x) and shape[0] != 1):
            return "a held operand that varies over the batch"
        if len(shape) == len(x):
            shape = shape[1:]  # its batch dim of 1
        operand = [*[1] * (len(x) - 1 - len(shape)), *shape]  # missing leading dims broadcast, as in torch
        macs = self.constant_macs(node)
        params, buffers = self.held(node)
        entry: dict[str, Any] = {"type": kind, "operand": operand}
        if (params, buffers) != (prod(operand), 0):
            entry |= {"operand_params": params, "operand_buffers": buffers}
        if macs:
            entry["operand_macs"] = macs
        if in_place(node):
            entry["inplace"] = True
        self.emit(node, entry, [main])
        return True

    def constant_macs(self, node: Any) -> int:
        """The multiply-adds of the modules that compute a held operand (not yet counted by another layer), by
        cnncalc's own rule for each module's layer, its first dim taken as the batch."""
        from cnncalc.engine.layers import REGISTRY
        from cnncalc.torch.imports import module_layer

        macs = 0
        for a in self.attributes(node):
            if a.op != "call_module" or a.target in self.owned or not a.args or a.args[0] not in self.values:
                continue
            x, y = shape_of(self.values[a.args[0]]), shape_of(self.values[a])
            entry = module_layer(self.modules[a.target], self.nn, x, y)
            if entry is not None and len(x) > 1:
                layer = REGISTRY[entry["type"]].model_validate(entry)
                macs += x[0] * int(layer.evaluate(x[1:]).macs)
        return macs

    def token(self, node: Any, main: Any, x: tuple[int, ...], const: Any) -> bool | str:
        """``torch.cat([self.cls_token.expand(n, -1, -1), x], dim=1)``: learned tokens along the sequence."""
        parts = node.args[0] if node.args else node.kwargs.get("tensors")
        if not isinstance(parts, tuple | list) or len(parts) != 2 or main not in parts or const not in parts:
            return "a concatenation of more than one tensor with a held one"
        dim = self.value(node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0))
        axis = int(dim) % len(x)
        tokens = shape_of(self.values[const])
        if axis == 0 or len(tokens) != len(x) or tokens[0] not in (1, x[0]):
            return "held tokens that do not line up with the batch"
        count = tokens[axis]
        params, buffers = self.held(node)
        if (params, buffers) != (count * prod(x[1:]) // x[axis], 0):
            return "concatenated values that are not learned tokens (parameters of their own size)"
        entry: dict[str, Any] = {"type": "token", "dim": axis}
        if count != 1:
            entry["count"] = count
        if parts[0] is main:
            entry["at"] = "end"
        self.emit(node, entry, [main])
        return True

    def index(self, node: Any, source: Any, index: tuple[Any, ...], x: tuple[int, ...]) -> bool:
        """Any mix of ints and slices after a whole batch: one ``select`` or ``slice`` per indexed dim, from the last
        dim back so each dim number still holds when its layer runs."""
        if not index or index[0] != slice(None) or not all(isinstance(i, int | slice) for i in index):
            return False
        steps: list[dict[str, Any]] = []
        for axis in range(len(index) - 1, 0, -1):
            part = index[axis]
            if isinstance(part, int):
                steps.append({"type": "select", "dim": axis, "index": part})
            elif part != slice(None) and part.indices(x[axis]) != (0, x[axis], 1):
                start, stop, step = part.start or 0, part.stop, part.step or 1
                if step < 1:
                    return False
                steps.append({"type": "slice", "dim": axis, "start": start, "stop": stop, "step": step}
                             if stop is not None else {"type": "slice", "dim": axis, "start": start, "step": step})
        if not steps:
            return bool(self.alias(node, source))
        self.chain(node, steps, source, x)
        return True

    def unbind(self, node: Any, main: Any) -> bool | str:
        """``q, k, v = x.unbind(dim)``: each piece a select along ``dim``, written when it is picked (as a moved
        permute's pieces are); of a permute that moved the batch, ``unbind(0)`` picks along the dim it brought first."""
        name = self.what(node).strip("_")
        args = [self.value(a) for a in node.args[1:]]
        dim = int(args[0] if args else node.kwargs.get("dim", 0))
        if name != "unbind":
            return "reads a permute that moves the batch dim"
        if main in self.moved:
            if dim != 0:
                return "unbinds a permute that moves the batch dim along another dim"
            self.moved[node] = self.moved[main]
            return True
        rank = len(shape_of(self.values[main]))
        axis = dim % rank
        if axis == 0:
            return "unbinds the batch"
        self.moved[node] = (main, [axis, *[d for d in range(rank) if d != axis]])
        return True

    def unmove(self, node: Any, base: Any, index: Any) -> bool:
        """``qkv.permute(2, 0, 3, 1, 4)[0]``: a select along the source dim the permute brought first, then the rest
        of the permute (which keeps the batch first again)."""
        source, dims = self.moved[base]
        if isinstance(index, tuple) and len(index) == 1:
            index = index[0]
        if not isinstance(index, int) or source not in self.refs:
            return False
        first = dims[0]
        rest = [d - (d > first) for d in dims[1:]]
        if rest[0] != 0:
            return False
        steps: list[dict[str, Any]] = [{"type": "select", "dim": first, "index": index}]
        if rest != sorted(rest):
            steps.append({"type": "permute", "dims": rest})
        self.chain(node, steps, source, shape_of(self.values[source]))
        return True

    def sequence_op(self, node: Any, name: str, main: Any, args: list[Any], kwargs: dict[str, Any]) -> bool | str:
        """einsum, unbind and roll: the ops of attention over sequences and windows."""
        if name == "einsum":
            return self.einsum(node)
        if main is None:
            return False
        if name == "setitem":
            return self.assign(node, main)
        return self.unbind(node, main) if name == "unbind" else self.roll(node, main, args, kwargs)

    def einsum(self, node: Any) -> bool | str:
        """``torch.einsum(equation, a, b)`` (or a list of operands) on tensors from the input: the same equation, every
        operand's first letter the batch."""
        equation, *rest = node.args
        operands = list(rest[0]) if len(rest) == 1 and isinstance(rest[0], tuple | list) else rest
        if not isinstance(equation, str) or any(a not in self.refs for a in operands):
            return "an einsum of tensors not all from the input"
        self.emit(node, {"type": "einsum", "equation": equation.replace(" ", "")}, operands, merge=True)
        return True

    def split(self, node: Any, name: str, main: Any, x: Shape, args: list[Any], kwargs: dict[str, Any]) -> bool | str:
        """``x.chunk(n, dim)`` / ``torch.split(x, size_or_sections, dim)``: a split point; ``getitem`` picks pieces."""
        if name == "chunk":
            bound = dict(zip(("chunks", "dim"), args, strict=False)) | kwargs
            entry: dict[str, Any] = {"type": "chunk", "chunks": int(bound["chunks"])}
        elif name == "tensor_split":  # indices (cut points) or a number of sections, the first ones one longer
            bound = dict(zip(("indices_or_sections", "dim"), args, strict=False)) | kwargs
            cut: Any = bound.get("indices_or_sections", bound.get("indices", bound.get("sections")))
            length = x[int(bound.get("dim", 0)) % len(x)]
            if isinstance(cut, list | tuple):
                edges = [0, *[min(max(int(c), 0), length) for c in cut], length]
                sections = [b - a for a, b in pairwise(edges)]
            else:
                n = int(cut)
                sections = [length // n + (i < length % n) for i in range(n)]
            entry = {"type": "split", "split_size": sections}
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

    def assign(self, node: Any, target: Any) -> bool | str:
        """``x[region] = y`` with ``y`` computed from the input (``x[:, :, 1:, 1:] += y`` writes back so too)."""
        value = node.args[2] if len(node.args) > 2 else None
        if value not in self.refs or target not in self.refs:
            return "an assignment of a value not computed from the input"
        x = shape_of(self.values[target])
        index = self.value(node.args[1])
        index = index if isinstance(index, tuple) else (index,)
        if Ellipsis in index or len(index) > len(x) or index[:1] != (slice(None),) or \
                not all(isinstance(i, slice) for i in index):
            return "an assignment to other than slices after a whole batch"
        full = [*index[1:], *[slice(None)] * (len(x) - len(index))]
        region = [None if s == slice(None) else [s.start, s.stop, s.step] for s in full]
        self.emit(node, {"type": "assign", "region": region}, [target, value], merge=True)
        return True

    def einsum_held(self, node: Any, main: Any, const: Any) -> bool | str:
        """``torch.einsum(eq, x, table)`` with a constant last: an einsum holding it (MViT's relative positions)."""
        equation, *rest = node.args
        operands = list(rest[0]) if len(rest) == 1 and isinstance(rest[0], tuple | list) else rest
        if not isinstance(equation, str) or operands != [main, const]:
            return "an einsum whose held operand is not its last"
        shape = list(shape_of(self.values[const]))
        params, buffers = self.held(node)
        entry: dict[str, Any] = {"type": "einsum", "equation": equation.replace(" ", ""), "operand": shape}
        if (params, buffers) != (prod(shape), 0):
            entry |= {"operand_params": params, "operand_buffers": buffers}
        self.emit(node, entry, [main], merge=True)
        return True

    def roll(self, node: Any, main: Any, args: list[Any], kwargs: dict[str, Any]) -> bool | str:
        """``torch.roll(x, shifts, dims)``: Swin's shifted windows."""
        bound = dict(zip(("shifts", "dims"), args, strict=False)) | kwargs
        if bound.get("dims") is None:
            return "a roll of the flattened tensor"
        self.emit(node, {"type": "roll", "shifts": _ints(bound["shifts"]), "dims": _ints(bound["dims"])}, [main])
        return True

    def pad(self, x: tuple[int, ...], bound: dict[str, Any]) -> dict[str, Any] | None:
        """``F.pad``: its amounts per dim, a zero pad (Swin's pad to whole windows, where they fit) the identity, and
        zero amounts on leading dims dropped so that the pairs cover the trailing spatial dims, or every non-batch dim
        where the pad reaches the first (channels last); None beyond that."""
        entry = pad_entry(list(bound["pad"]), bound.get("mode") or "constant", bound.get("value") or 0.0)
        pairs = entry["padding"]
        if not any(v for side in pairs for v in side):
            return {"type": "identity"}
        while len(pairs) > len(x) - 2 and pairs[0] == [0, 0]:
            pairs.pop(0)
        if len(pairs) > len(x) - 1:
            return None  # a pad of the batch
        if len(pairs) < len(x) - 2:
            pairs[:0] = [[0, 0]] * (len(x) - 2 - len(pairs))  # torch pads the last dims: the others by nothing
        return entry

    def chain(self, node: Any, entries: list[dict[str, Any]], source: Any, x: tuple[int, ...]) -> None:
        """Several layers for one node: all but the last named after it with a suffix, the last as the node."""
        from cnncalc.engine.layers import REGISTRY

        shape = x
        for i, entry in enumerate(entries):
            if i == len(entries) - 1:
                self.emit(node, entry, [source] if i == 0 else [node])
                return
            layer = REGISTRY[entry["type"]].model_validate(entry)
            shape = (shape[0], *layer.evaluate(shape[1:]).shape)
            label = self.out.label(f"{node.name}_{entry['type']}")
            self.refs[node] = self.out.add({"name": label, **entry}, [self.refs[source] if i == 0 else self.refs[node]],
                                           shape)
