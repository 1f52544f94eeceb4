"""Tensors whose batch sits in another dim than the first, in a recorded forward pass.

Model code moves the batch out of the first dim for a few ops: MViT's relative-position term permutes the time
steps first, folds batch, heads and positions into one middle dim, multiplies by a table per time step, and moves the
batch back. A spec's shapes are per sample with the batch first, so such a tensor is shown to the walk moved: its
batch dim first (and the factor folded with it, batch × k, as a dim of its own), the other dims in order. The ops
reading or making it are rewritten to the same computation on that view: a permute renumbered, a reshape preceded
by the permute that keeps the memory order, a matmul as the einsum it is, indices and dim arguments renumbered.
What cannot be rewritten is left as it was, for the walk to measure as an opaque node.
"""

from __future__ import annotations

import operator
from itertools import accumulate
from typing import Any

#: Ops with dim arguments, by name: the positions (after the tensor) that hold a dim, and the keyword.
_ONE_DIM = ("softmax", "log_softmax", "cat", "concat", "concatenate", "unbind", "mean", "sum", "amax", "amin",
            "unsqueeze", "squeeze", "select", "narrow", "cumsum", "argmax", "argmin", "stack", "norm")
DIMS: dict[str, tuple[tuple[int, ...], str]] = {
    **dict.fromkeys(_ONE_DIM, ((1,), "dim")),
    "split": ((2,), "dim"), "chunk": ((2,), "dim"), "tensor_split": ((2,), "dim"), "normalize": ((2,), "dim"),
    "roll": ((2,), "dims"),
    "flatten": ((1, 2), "start_dim"), "transpose": ((1, 2), "dim0"), "swapaxes": ((1, 2), "axis0"),
    "swapdims": ((1, 2), "dim0"),
}


#: Where the batch is (dim, factor) for every tensor node of the recording.
Places = dict[Any, tuple[int, int]]


def view_shape(shape: tuple[int, ...], d: int, k: int) -> tuple[int, ...]:
    """The per-sample view of a tensor whose dim ``d`` is batch × ``k``: (batch, [k,] the other dims)."""
    rest = [s for j, s in enumerate(shape) if j != d]
    return (shape[d] // k, *([k] if k > 1 else []), *rest)


def view_dim(j: int, rank: int, d: int, k: int) -> int | None:
    """Where torch dim ``j`` of such a tensor is in its view; None for the batch dim itself."""
    j %= rank
    if j == d:
        return None
    return (2 if k > 1 else 1) + (j if j < d else j - 1)


def _groups(a: tuple[int, ...], b: tuple[int, ...]) -> list[tuple[list[int], list[int]]]:
    """A reshape's dim groups: runs of ``a``'s dims and ``b``'s dims with equal products, in order."""
    ca, cb = list(accumulate(a, operator.mul)), list(accumulate(b, operator.mul))
    cuts = sorted(set(ca) & set(cb))
    groups: list[tuple[list[int], list[int]]] = []
    i = j = 0
    for cut in cuts:
        ga: list[int] = []
        gb: list[int] = []
        while i < len(a) and (not ga or ca[i - 1] < cut):
            ga.append(i)
            i += 1
        while j < len(b) and (not gb or cb[j - 1] < cut):
            gb.append(j)
            j += 1
        groups.append((ga, gb))
    return groups


class Relocate:
    """Rewrite the ops around moved tensors in a recorded graph (``values`` holds batch-2 values)."""

    def __init__(self, graph: Any, values: dict[Any, Any], places: Places, torch: Any) -> None:
        self.graph, self.values, self.places, self.torch = graph, values, places, torch
        self.shapes = {n: tuple(int(s) for s in v.shape) for n, v in values.items() if isinstance(v, torch.Tensor)}

    def place(self, node: Any) -> tuple[int, int]:
        return self.places.get(node, (0, 1))

    def run(self) -> dict[Any, int]:
        """Rewrite every op that reads or makes a tensor whose batch is not simply its first dim (folded with a
        factor, or elsewhere), then show those tensors as their views; return the folded ones (first dim batch × k)
        → k, for the module calls that run over them."""
        moved = {n for n, (d, k) in self.places.items() if d > 0 or k > 1}
        for node in list(self.graph.nodes):
            if node.op in ("call_function", "call_method") and node.args and (
                    node in moved or any(a in moved for a in node.all_input_nodes)):
                self.rewrite(node)
        views: dict[int, Any] = {}
        for node in moved:  # the values last: the rewrites read the torch shapes
            value = self.values[node]
            if id(value) not in views:  # one view per tensor, so an in-place op still returns its input's value
                views[id(value)] = self.torch.empty(view_shape(self.shapes[node], *self.places[node]),
                                                    device="meta")
            self.values[node] = views[id(value)]
        return {n: k for n, (d, k) in self.places.items() if d == 0 and k > 1}

    def name(self, node: Any) -> str:
        return str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", "")

    def rewrite(self, node: Any) -> None:
        name = self.name(node).strip("_")
        first = node.args[0]
        if isinstance(first, tuple | list):  # cat, stack: their tensors
            first = first[0] if first else None
        if name in ("permute", "transpose", "swapaxes", "swapdims"):
            self.permute(node, first, name)
        elif name in ("view", "reshape"):
            self.reshape(node, first)
        elif name in ("matmul", "bmm"):
            self.matmul(node)
        elif name == "einsum" and isinstance(first, str):
            self.einsum(node)
        elif node.target is operator.getitem and first in self.shapes:
            self.index(node, first)
        elif name in DIMS and first in self.shapes:
            self.dims(node, first, name)

    def permute(self, node: Any, source: Any, name: str) -> None:
        rank = len(self.shapes[source])
        if name == "permute":
            dims = list(node.args[1]) if len(node.args) == 2 and isinstance(node.args[1], tuple | list) \
                else list(node.args[1:])
            order = [int(d) % rank for d in dims]
        else:
            a, b = (int(d) % rank for d in node.args[1:3])
            order = list(range(rank))
            order[a], order[b] = order[b], order[a]
        (d, k), (d2, k2) = self.place(source), self.place(node)
        if order[d2] != d or k != k2:
            return
        new = [0, *([1] if k > 1 else []), *[int(view_dim(order[i], rank, d, k) or 0) for i in range(rank)
                                             if i != d2]]
        node.target, node.op = "permute", "call_method"
        node.args = (source, *new)

    def reshape(self, node: Any, source: Any) -> None:
        """A reshape keeps memory order; on the views that needs the dims that fold into the batch right after it
        (a permute first), as long as the batch is the outermost dim of its group on both sides."""
        (d, k), (d2, _) = self.place(source), self.place(node)
        shape_in, shape_out = self.shapes[source], self.shapes[node]
        group = next(((ga, gb) for ga, gb in _groups(shape_in, shape_out) if d in ga), None)
        if group is None or group[0][0] != d or group[1][0] != d2 or (d2 > 0 and len(group[1]) > 1):
            return
        rank = len(shape_in)
        ga = group[0]
        rest = [j for j in range(rank) if j not in ga]
        order = [0, *([1] if k > 1 else []), *[int(view_dim(j, rank, d, k) or 0) for j in [*ga[1:], *rest]]]
        if order == sorted(order):
            return
        view = view_shape(shape_in, d, k)
        turned = self.graph.inserting_before(node)
        with turned:
            permuted = self.graph.create_node("call_method", "permute", (source, *order), {},
                                              name=f"{node.name}_permute")
        self.values[permuted] = self.torch.empty(tuple(view[i] for i in order), device="meta")
        self.places[permuted] = (0, 1)  # already a view: nothing more to move
        node.args = (permuted, *node.args[1:])

    def matmul(self, node: Any) -> None:
        """``a @ b`` with the batch out of the first dim of an operand is an einsum over the views (MViT's
        per-time-step table product); with the batch first (folded windows) it stays a matmul, whose leading dims
        broadcast on the views as they did."""
        a, b = node.args[0], node.args[1]
        shapes = [self.shapes.get(x) for x in (a, b)]
        if any(s is None or len(s) < 2 for s in shapes) or node not in self.shapes:
            return
        if all(self.place(x)[0] == 0 for x in (a, b, node)):
            return
        sa, sb = shapes[0], shapes[1]
        assert sa is not None and sb is not None
        rank = max(len(sa), len(sb))
        batch = "abcdefgh"[:rank - 2]
        equation = f"{batch[rank - len(sa):]}ij,{batch[rank - len(sb):]}jk->{batch}ik"
        node.op, node.target = "call_function", self.torch.einsum
        node.args, node.kwargs = (self.on_views(equation, [a, b], node), a, b), {}

    def einsum(self, node: Any) -> None:
        """An einsum's terms on the views: the batch letter first (and the fold's), the other letters in order."""
        equation, *operands = node.args
        operands = list(operands[0]) if len(operands) == 1 and isinstance(operands[0], tuple | list) else operands
        node.args = (self.on_views(equation, operands, node), *node.args[1:])

    def on_views(self, equation: str, operands: list[Any], out: Any) -> str:
        """``equation`` over torch's tensors as the same over their views: each tensor term's batch letter moved
        first, and a fresh letter for a fold after it; a constant's term (no batch) unchanged."""
        text = equation.replace(" ", "")
        left, _, right = text.partition("->")
        fresh = [c for c in "ZYXWVUTSRQzyxwvutsrq" if c not in text]
        batch, fold = fresh[0], fresh[1]
        terms = []
        for term, x in zip([*left.split(","), right], [*operands, out], strict=True):
            if x not in self.places:
                terms.append(term)
                continue
            d, k = self.place(x)
            terms.append(batch + (fold if k > 1 else "") + term[:d] + term[d + 1:])
        return ",".join(terms[:-1]) + "->" + terms[-1]

    def dims(self, node: Any, source: Any, name: str) -> None:
        """Dim arguments (``unbind(0)``, ``softmax(-1)``) as dims of the view; the batch dim itself stays."""
        d, k = self.place(source)
        rank = len(self.shapes[source]) + (1 if name == "unsqueeze" else 0)

        def move(dim: Any) -> Any:
            if isinstance(dim, tuple | list):
                return type(dim)(move(v) for v in dim)
            if not isinstance(dim, int) or isinstance(dim, bool):
                return dim
            moved = view_dim(dim, rank, d, k)
            return dim if moved is None else moved

        positions, key = DIMS[name]
        args, kwargs = list(node.args), dict(node.kwargs)
        for p in positions:
            if p < len(args):
                args[p] = move(args[p])
        for word in (key, "dim1", "end_dim", "axis1", "dims"):
            if word in kwargs:
                kwargs[word] = move(kwargs[word])
        node.args, node.kwargs = tuple(args), kwargs

    def index(self, node: Any, source: Any) -> None:
        d, k = self.place(source)
        index = node.args[1] if isinstance(node.args[1], tuple) else (node.args[1],)
        rank = len(self.shapes[source])
        full = list(index) + [slice(None)] * (rank - len(index))
        if Ellipsis in full or len(full) != rank or full[d] != slice(None):
            return
        node.args = (source, (slice(None), *([slice(None)] if k > 1 else []), *[full[j] for j in range(rank)
                                                                                 if j != d]))
