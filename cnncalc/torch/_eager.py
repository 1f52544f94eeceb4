"""Tracing by running: a real forward pass recorded op by op, for the modules torch.fx cannot trace.

torch.fx traces with proxies, so Python control flow that reads a size (``if W % window``, Swin's shifted windows,
MViT's pooled attention) stops it, and ``torch.fx.wrap``-ed helpers stay single opaque calls. Here the module runs
once on the import's input (fake tensors where they work) under a ``TorchFunctionMode`` that records every torch
function, tensor method and operator called outside the mapped modules, and global module hooks that record each
mapped module as one call. The record is written as a ``torch.fx.Graph`` with every node's value, so the same
:class:`~cnncalc.torch._walk.Walk` maps it: one reader of model code, two ways to see it. Branches are taken as this
input takes them, which is what the spec describes anyway: a spec is for one input shape.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from cnncalc.torch._moved import Places, Relocate

#: Tensor dunder methods as the ``operator`` functions fx writes for them; the reflected forms swap their operands.
_OPERATORS: dict[str, tuple[Callable[..., Any], bool]] = {
    "__add__": (operator.add, False), "__radd__": (operator.add, True), "__iadd__": (operator.iadd, False),
    "__sub__": (operator.sub, False), "__rsub__": (operator.sub, True), "__isub__": (operator.isub, False),
    "__mul__": (operator.mul, False), "__rmul__": (operator.mul, True), "__imul__": (operator.imul, False),
    "__truediv__": (operator.truediv, False), "__rtruediv__": (operator.truediv, True),
    "__itruediv__": (operator.itruediv, False), "__matmul__": (operator.matmul, False),
    "__rmatmul__": (operator.matmul, True), "__getitem__": (operator.getitem, False),
    "__setitem__": (operator.setitem, False), "__neg__": (operator.neg, False), "__pow__": (operator.pow, False),
    "__floordiv__": (operator.floordiv, False), "__mod__": (operator.mod, False), "__and__": (operator.and_, False),
    "__or__": (operator.or_, False), "__eq__": (operator.eq, False), "__ne__": (operator.ne, False),
    "__lt__": (operator.lt, False), "__le__": (operator.le, False), "__gt__": (operator.gt, False),
    "__ge__": (operator.ge, False), "__invert__": (operator.invert, False),
}


def constant() -> None:
    """The target of a node for a tensor that appeared from outside the trace (a module-level constant): the walk
    sees a value computed from nothing, a constant."""


class _Traced:
    """What :class:`~cnncalc.torch._walk.Walk` reads of an fx GraphModule: the graph and the named modules."""

    def __init__(self, root: Any, graph: Any) -> None:
        self.root, self.graph = root, graph
        #: Nodes whose first dim is batch × k (windows, heads), shown to the walk as (batch, k, …) → k.
        self.folded: dict[Any, int] = {}

    def named_modules(self) -> Any:
        return self.root.named_modules()


class Recording:
    """The graph being written while the module runs: tensors (by identity) → the node that last produced them."""

    def __init__(self, root: Any, torch: Any, leaf: Callable[[Any], bool]) -> None:
        from torch import fx

        self.torch, self.leaf = torch, leaf
        self.graph = fx.Graph()
        self.values: dict[Any, Any] = {}
        self.nodes: dict[int, Any] = {}  # id(tensor) → node
        self.keep: list[Any] = []  # every tensor seen, alive until the end, so no id is reused
        self.attrs = {id(t): n for n, t in [*root.named_parameters(), *root.named_buffers()]}
        self.names = {id(m): n for n, m in root.named_modules()}
        self.stack: list[bool] = []  # per open module call: whether it is inside a mapped module (not recorded)
        self.inside = 0
        self.where: list[str] = []  # qualified names of the open (traced-through) modules, for node names

    # -- values and arguments ----------------------------------------------------------------------------------

    def bind(self, value: Any, node: Any) -> None:
        """``node`` computed ``value``: its tensors now read as that node (an in-place op rebinds its target); each
        tensor of a tuple or list (a split's pieces, a module's output and weights) through getitem, as fx does."""
        self.values[node] = value
        if isinstance(value, self.torch.Tensor):
            self.nodes[id(value)] = node
            self.keep.append(value)
            return
        for i, part in enumerate(value if isinstance(value, tuple | list) else ()):
            if isinstance(part, self.torch.Tensor):
                piece = self.graph.create_node("call_function", operator.getitem, (node, i), {},
                                               name=f"{node.name}_{i}")
                self.values[piece] = part
                self.nodes[id(part)] = piece
                self.keep.append(part)

    def arg(self, value: Any) -> Any:
        """An argument as the graph writes it: each tensor as its node (in tuples, lists, dicts, slices), a size as
        plain ints."""
        from torch.fx.node import map_aggregate

        return map_aggregate(value, self.leaf_arg)

    def leaf_arg(self, value: Any) -> Any:
        """One tensor as its node: the node that last produced it, a parameter or buffer, or a constant."""
        torch = self.torch
        if isinstance(value, torch.Tensor):
            node = self.nodes.get(id(value))
            if node is None:
                name = self.attrs.get(id(value))
                if name is not None:  # a parameter or buffer read directly
                    node = self.graph.create_node("get_attr", name, (), {})
                else:  # a tensor from outside the trace: a constant
                    node = self.graph.create_node("call_function", constant, (), {}, name="constant")
                self.values[node] = value
                self.nodes[id(value)] = node
                self.keep.append(value)
            return node
        return value

    def name(self, what: str) -> str:
        where = self.where[-1] if self.where else ""
        return f"{where}.{what}".replace(".", "_").lstrip("_") if where else what

    # -- what the mode and the hooks report ----------------------------------------------------------------------

    def call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        """One torch function or tensor method, called outside any mapped module."""
        torch = self.torch
        tensors = isinstance(result, torch.Tensor) or (
            isinstance(result, tuple | list) and any(isinstance(v, torch.Tensor) for v in result))
        name = getattr(func, "__name__", str(func))
        if name == "__get__":  # a property (x.shape, x.T, x.mT)
            name = getattr(getattr(func, "__self__", None), "__name__", "") or name
        if name == "__setitem__":
            result, tensors = args[0], True  # the target changed: later reads see this node
        if not tensors:
            return  # sizes, dims, booleans: the arguments of later calls hold their values
        if name in _OPERATORS:
            op, swap = _OPERATORS[name]
            if swap:
                args = (args[1], args[0], *args[2:])
            node = self.graph.create_node("call_function", op, self.arg(args), self.arg(kwargs),
                                          name=self.name(op.__name__))
        elif getattr(func, "__objclass__", None) is not None and isinstance(args[0] if args else None, torch.Tensor) \
                and hasattr(torch.Tensor, name) and name != "__get__":
            node = self.graph.create_node("call_method", name, self.arg(args), self.arg(kwargs), name=self.name(name))
        else:
            node = self.graph.create_node("call_function", func, self.arg(args), self.arg(kwargs),
                                          name=self.name(name.strip("_") or "call"))
        self.bind(result, node)

    def enter(self, module: Any) -> None:
        counted = self.inside > 0 or self.leaf(module) or (  # torch's own modules without a layer (a GRU): one call
            type(module).__module__.startswith("torch.nn.") and not any(True for _ in module.children()))
        self.stack.append(counted)
        if counted:
            self.inside += 1
        else:
            self.where.append(self.names.get(id(module), ""))

    def leave(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        counted = self.stack.pop() if self.stack else False
        if not counted:
            if self.where:
                self.where.pop()
            return
        self.inside -= 1
        if self.inside:
            return
        target = self.names.get(id(module))
        if target is None:  # a module outside the root (a functional helper's own): nothing to name it by
            return
        node = self.graph.create_node("call_module", target, self.arg(args), self.arg(kwargs))
        self.bind(result, node)


def record(root: Any, run: Callable[[Callable[[Any], Any], int], None], torch: Any,
           leaf: Callable[[Any], bool]) -> tuple[_Traced, dict[Any, Any]]:
    """Run ``root`` through ``run`` (the importer's fake-or-real pass) at batch 2 and batch 3, and return what the
    walk reads: the batch-2 record, with windows folded into the batch shown apart (:func:`unfold`)."""
    from torch.nn.modules import module as modules
    from torch.overrides import TorchFunctionMode

    holder: list[Recording] = []

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            result = func(*args, **kwargs)
            if holder and not holder[0].inside:
                holder[0].call(func, tuple(args), dict(kwargs), result)
            return result

    def pre(module: Any, args: Any) -> None:
        if holder:
            holder[0].enter(module)

    def post(module: Any, args: Any, kwargs: Any, result: Any) -> None:
        if holder:
            holder[0].leave(module, tuple(args), dict(kwargs or {}), result)

    def call(x: Any) -> None:
        holder[:] = [Recording(root, torch, leaf)]  # a failed fake pass starts over on real tensors
        rec = holder[0]
        rec.bind(x, rec.graph.placeholder("x"))
        with Mode():
            result = root(x)
        rec.graph.output(rec.arg(result))

    handles = [modules.register_module_forward_pre_hook(pre),
               modules.register_module_forward_hook(post, with_kwargs=True)]
    try:
        run(call, 3)
        three = holder[0]
        run(call, 2)
    finally:
        for handle in handles:
            handle.remove()
    rec = holder[0]
    for recording in (rec, three):
        _prune(recording.graph)
    traced = _Traced(root, rec.graph)
    traced.folded = unfold(rec, three)
    return traced, rec.values


def _prune(graph: Any) -> None:
    """Drop what the output does not depend on: a size test (``if y.sum() > t``), values computed and dropped."""
    for node in reversed(list(graph.nodes)):
        if node.op not in ("placeholder", "output") and not node.users:
            graph.erase_node(node)


# ------------------------------------------------------------------------------------------------------------------
# Where the batch is: folded with windows or heads, or in another dim than the first


def _batch_dims(shape2: tuple[int, ...], shape3: tuple[int, ...]) -> tuple[int, int] | None:
    """(dim, factor) of the one dim that grows with the batch (2 → 3) as batch × factor, or None."""
    if len(shape2) != len(shape3):
        return None
    grown = [d for d, (a, b) in enumerate(zip(shape2, shape3, strict=True)) if a != b]
    if len(grown) != 1:
        return None
    d = grown[0]
    if shape2[d] % 2 or shape3[d] % 3 or shape2[d] // 2 != shape3[d] // 3:
        return None
    return d, shape2[d] // 2


def _places(two: Recording, three: Recording) -> Places | None:
    """Which dim of each tensor grows with the batch (2 → 3), and by what factor; None where the two passes differ
    (the forward depends on the batch size)."""
    nodes2, nodes3 = list(two.graph.nodes), list(three.graph.nodes)
    if len(nodes2) != len(nodes3) or any(a.op != b.op or str(a.target) != str(b.target)
                                         for a, b in zip(nodes2, nodes3, strict=True)):
        return None
    places: Places = {}
    for a, b in zip(nodes2, nodes3, strict=True):
        v2, v3 = two.values.get(a), three.values.get(b)
        if isinstance(v2, two.torch.Tensor) and isinstance(v3, two.torch.Tensor):
            found = _batch_dims(tuple(v2.shape), tuple(v3.shape))
            if found is not None:
                places[a] = found
    return places


def unfold(two: Recording, three: Recording) -> dict[Any, int]:
    """Where a tensor's batch is not simply its first dim (Swin's windows folded into it: ``(B·nW, ws, ws, C)``;
    MViT v2's relative positions: the batch in a middle dim), show the walk the tensor per sample, batch first, and
    rewrite the ops around it (:mod:`._moved`). The batch-2 and batch-3 recordings tell which dim carries the batch.
    Returns the folded tensors → their factor."""
    places = _places(two, three)
    if places is None:
        return {}  # the pass depends on the batch size: leave the batch-2 record as it is
    return Relocate(two.graph, two.values, places, two.torch).run()
