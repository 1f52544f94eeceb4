"""Merges: concatenation (Inception, DenseNet, U-Net), element-wise arithmetic (ResNet, squeeze-excitation), and
the matrix products of hybrid CNNs' attention (matmul, scaled dot-product attention).

No parameters. FLOPs: element-wise arithmetic costs (n − 1) per output value for n inputs (one per value for a
Python scalar operand); concatenation copies (0). Concatenation needs every dim but ``dim`` equal; element-wise
arithmetic broadcasts as torch does over the non-batch dims (a C×1×1 gate times a C×H×W map), never over the batch.
"""


from math import prod
from typing import ClassVar, Literal

from cnncalc.engine.layers.base import GLOBAL, Evaluation, Keeps, Merge, NonNegInt, PosInt
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape


def _many(shapes: list[Shape], kind: str) -> None:
    if len(shapes) < 2:
        raise ShapeError(f"{kind} needs at least two inputs, got {len(shapes)}")


@register
class Concat(Merge):
    """``torch.cat`` along ``dim`` (torch-indexed with the batch as dim 0; default 1, the channels)."""

    family: ClassVar[str] = "merge"

    type: Literal["concat", "cat"]
    dim: int = 1

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Sizes along ``dim`` add up; every other dim must agree."""
        _many(shapes, "concat")
        rank = len(shapes[0]) + 1
        axis = (self.dim + rank if self.dim < 0 else self.dim) - 1
        if axis == -1 and self.dim in (0, -rank):
            raise ShapeError(f"dim={self.dim} is the batch: cnncalc does not concatenate along the batch (dims "
                             f"1 to {rank - 1}, or -1 to -{rank - 1}, are the channels and the spatial dims)")
        if not 0 <= axis < rank - 1:
            raise ShapeError(f"dim={self.dim} is out of range for inputs of rank {rank} (batch included)")
        for other in shapes[1:]:
            if len(other) != len(shapes[0]) or any(
                a != b for i, (a, b) in enumerate(zip(shapes[0], other, strict=True)) if i != axis
            ):
                raise ShapeError(
                    f"cannot concatenate {' and '.join(map(fmt_shape, shapes))} along dim {self.dim}: "
                    "every other dim must be equal"
                )
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        return Evaluation(tuple(shape), summary=f"{len(shapes)} inputs")

    def keeps(self) -> Keeps:
        """cat keeps only sizes; each input's gradient is a slice (a view) of the output's."""
        return Keeps(saves=(), grad="view")


def _dim_name(axis: int, spatial: int) -> str:
    """``dim 1 (C)``: a non-batch dim as torch numbers it (batch = dim 0), with its usual letter."""
    letters = ("C", *{1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(spatial, ()))
    return f"dim {axis + 1}" + (f" ({letters[axis]})" if len(letters) == spatial + 1 else "")


def broadcast(shapes: list[Shape], kind: str) -> Shape:
    """torch's broadcasting over the non-batch dims: equal ranks (the batch is dim 0 of every operand), and per
    dim equal sizes or 1. A clear error names both shapes and the first dim that does not broadcast."""
    rank = len(shapes[0])
    for other in shapes[1:]:
        if len(other) != rank:
            raise ShapeError(f"cannot {kind} {fmt_shape(shapes[0])} and {fmt_shape(other)}: different ranks "
                             "(cnncalc broadcasts dims of size 1, never the batch or missing dims)")
    out = []
    for axis, sizes in enumerate(zip(*shapes, strict=True)):
        # A size broadcasts only when it is a literal 1; a symbolic size (cnncalc sizes) must equal the others.
        big = [s for s in sizes if not (isinstance(s, int) and s == 1)]
        if any(b != big[0] for b in big[1:]):
            raise ShapeError(f"cannot {kind} {' and '.join(map(fmt_shape, shapes))}: {_dim_name(axis, rank - 1)} "
                             f"has sizes {' and '.join(map(str, sizes))}, which do not broadcast (equal or 1)")
        out.append(big[0] if big else 1)
    return tuple(out)


def _stretched(shape: Shape, out: Shape) -> bool:
    """Whether broadcasting stretched a literal 1 of ``shape`` to ``out``: decided without comparing whole shapes,
    so a symbolic size (``cnncalc sizes``) records no condition here."""
    return any(isinstance(d, int) and d == 1 and not (isinstance(o, int) and o == 1)
               for d, o in zip(shape, out, strict=True))


class Held(Merge):
    """A merge that may hold a tensor as an operand of its own (``operand``: its shape without the batch): a
    position embedding, a relative-position table. By default a learned tensor, its parameters its size; one
    computed from other tensors gives the counts torch holds as ``operand_params``/``operand_buffers``."""

    operand: list[PosInt] | None = None
    operand_params: NonNegInt | None = None
    operand_buffers: NonNegInt | None = None

    def held(self) -> tuple[int, int]:
        """The operand's parameters and buffers: by default a learned tensor of its size."""
        if self.operand is None:
            return 0, 0
        if self.operand_params is None and self.operand_buffers is None:
            return prod(self.operand), 0
        return self.operand_params or 0, self.operand_buffers or 0


@register
class Add(Held):
    """Element-wise sum (residual connections), product (``mul``, gating), difference, quotient, maximum, minimum.

    Inputs broadcast as torch does (``x * gate`` with a C×1×1 gate); ``scalar:`` makes it a one-input layer with a
    Python number as the other operand (``x * 0.2``, ``x + 1``). ``operand:`` makes it a one-input layer with a
    tensor the layer holds as the other operand, shaped like the input without the batch (1s broadcast): ViT's
    learned position embedding ``x + self.pos_embedding`` is ``{type: add, operand: [197, 768]}``, its parameters
    the operand's size. A held tensor computed from a smaller table (Swin's relative-position bias, gathered from
    a parameter table by a buffer of indices) gives its real counts as ``operand_params``/``operand_buffers``, and
    ``operand_macs`` the multiply-adds of computing it, where that runs at every call (Swin V2's bias MLP).
    ``inplace`` (``x.mul_(gate)``, ``+=``) stores no new output; torch allows it only when the output has the first
    input's shape.
    """

    family: ClassVar[str] = "merge"

    type: Literal["add", "sum", "mul", "sub", "div", "maximum", "minimum"]
    inplace: bool = False
    scalar: float | None = None
    #: Multiply-adds spent computing the held operand at every call (Swin V2's position-bias MLP runs each time).
    operand_macs: NonNegInt = 0


    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Broadcast shape; (n − 1) operations per output value (one per value with a scalar or an operand)."""
        if self.operand is not None:
            if len(shapes) != 1 or self.scalar is not None:
                raise ShapeError(f"{self.type} with an operand takes one input and no scalar, got {len(shapes)} "
                                 "input(s)")
            shape = broadcast([shapes[0], tuple(self.operand)], self.type)
            if self.inplace and _stretched(shapes[0], shape):
                raise ShapeError(f"in-place {self.type} cannot write the broadcast shape {fmt_shape(shape)} into its "
                                 f"input {fmt_shape(shapes[0])} (torch refuses it too)")
            params, buffers = self.held()
            return Evaluation(shape, params=params, buffers=buffers, macs=self.operand_macs,
                              flops=prod(shape) + 2 * self.operand_macs, stores=not self.inplace,
                              summary=f"{self.type} a held {fmt_shape(tuple(self.operand))}")
        if self.scalar is not None:
            if len(shapes) != 1:
                raise ShapeError(f"{self.type} with scalar: {self.scalar:g} takes one input, got {len(shapes)}")
            return Evaluation(shapes[0], flops=prod(shapes[0]), stores=not self.inplace,
                              summary=f"{self.type} {self.scalar:g}")
        _many(shapes, self.type)
        shape = broadcast(shapes, self.type)
        if self.inplace and _stretched(shapes[0], shape):
            raise ShapeError(f"in-place {self.type} cannot write the broadcast shape {fmt_shape(shape)} into its "
                             f"first input {fmt_shape(shapes[0])} (torch refuses it too)")
        broadcasted = any(_stretched(s, shape) for s in shapes)
        return Evaluation(shape, flops=prod(shape) * (len(shapes) - 1), stores=not self.inplace,
                          summary=f"{len(shapes)} inputs" + (" broadcast" if broadcasted else ""))

    def keeps(self) -> Keeps:
        """add/sub keep nothing and pass their gradient on; with a Python scalar nothing is kept either; mul, div,
        maximum and minimum keep every input."""
        if self.type in ("add", "sum", "sub"):
            return Keeps(saves=(), grad="view")
        return Keeps(saves=()) if self.scalar is not None else Keeps(saves=("inputs",))


@register
class MatMul(Merge):
    """``torch.matmul`` / ``bmm`` / ``@`` of two inputs (hybrid CNNs' attention): (…, m, k) · (…, k, n) → (…, m, n).

    The leading non-batch dims broadcast as torch's; MACs are b·m·n·k (b the product of the leading dims), FLOPs
    twice that. Both inputs need at least two non-batch dims.
    """

    family: ClassVar[str] = "merge"

    type: Literal["matmul", "bmm"]

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """The product's shape and b·m·n·k MACs."""
        if len(shapes) != 2:
            raise ShapeError(f"{self.type} takes two inputs, got {len(shapes)}")
        a, b = shapes
        if len(a) < 2 or len(b) < 2:
            raise ShapeError(f"{self.type} needs two dims after the batch on each input, got {fmt_shape(a)} and "
                             f"{fmt_shape(b)}")
        if a[-1] != b[-2]:
            raise ShapeError(f"cannot {self.type} {fmt_shape(a)} and {fmt_shape(b)}: the first's last dim {a[-1]} "
                             f"is not the second's next-to-last {b[-2]}")
        lead = broadcast([a[:-2], b[:-2]], self.type) if a[:-2] != b[:-2] else a[:-2]
        shape = (*lead, a[-2], b[-1])
        macs = prod(shape) * a[-1]
        return Evaluation(shape, macs=macs, flops=2 * macs, connections=macs, rf=GLOBAL,
                          summary=f"{a[-2]}x{a[-1]} · {b[-2]}x{b[-1]}")

    def keeps(self) -> Keeps:
        """matmul saves both inputs (each one's gradient needs the other)."""
        return Keeps(saves=("inputs",))


@register
class Attention(Merge):
    """``F.scaled_dot_product_attention(q, k, v)``: q (…, L, E), k (…, S, E), v (…, S, Ev) → (…, L, Ev).

    MACs: the scores q·kᵀ (b·L·S·E) and their weighted sum of v (b·L·S·Ev); FLOPs twice those plus 4 per score
    (scale, exp, sum, divide), and one more per score with a mask: a fourth input (``attn_mask`` computed from the
    input, broadcast to (…, L, S)), a fixed one (``masked: true``), or ``is_causal``. torch (and cnncalc) count the
    masked scores too: the kernels compute them.
    """

    family: ClassVar[str] = "merge"

    type: Literal["scaled_dot_product_attention", "sdpa"]
    masked: bool = False
    is_causal: bool = False

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Query, key, value (and mask) shapes in; the query's rows of value-sized outputs out."""
        if len(shapes) not in (3, 4):
            raise ShapeError(f"{self.type} takes query, key and value (and a mask), got {len(shapes)} inputs")
        q, k, v = shapes[:3]
        if len(shapes) == 4:
            mask = shapes[3]
            broadcast([(*q[:-2], q[-2], k[-2]), mask], f"{self.type} apply the mask")
        if min(len(q), len(k), len(v)) < 2 or q[-1] != k[-1] or k[-2] != v[-2]:
            raise ShapeError(f"query {fmt_shape(q)}, key {fmt_shape(k)} and value {fmt_shape(v)} do not fit: "
                             "need (…, L, E), (…, S, E), (…, S, Ev)")
        lead = broadcast([q[:-2], k[:-2], v[:-2]], self.type) if not q[:-2] == k[:-2] == v[:-2] else q[:-2]
        scores = prod(lead) * q[-2] * k[-2]
        macs = scores * (q[-1] + v[-1])
        masking = scores if len(shapes) == 4 or self.masked or self.is_causal else 0
        return Evaluation((*lead, q[-2], v[-1]), macs=macs, flops=2 * macs + 4 * scores + masking, connections=macs,
                          rf=GLOBAL, summary=f"L{q[-2]} S{k[-2]} E{q[-1]}")

    def keeps(self) -> Keeps:
        """The fused attention kernels (flash, memory-efficient, CPU flash) save query, key, value, the output and
        the log-sum-exp of each query row (``small``). A mask is saved too: a fourth input is one of the inputs; a
        fixed one (``masked``) is a constant of the model, not an activation, and is not counted here."""
        return Keeps(saves=("inputs", "output", "small"))


@register
class Einsum(Held):
    """``torch.einsum(equation, a, b, …)`` over its inputs, the equation written as torch's with the batch as every
    operand's first letter and the output's (``bghid,bghjd->bghij``: MaxViT's attention scores).

    MACs: the product of the sizes of every letter (each output value sums over the contracted letters, one multiply
    per operand pair: for two operands, b·m·n·k as matmul), FLOPs twice that. No ellipsis (``...``). A held
    ``operand`` is the last term, without the batch letter (MViT's relative-position table per time step).
    """

    family: ClassVar[str] = "merge"

    type: Literal["einsum"]
    equation: str

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Letters bind sizes across the operands (equal, as torch wants without broadcasting); the output's letters
        give its shape."""
        text = self.equation.replace(" ", "")
        if "..." in text or "->" not in text:
            raise ShapeError(f"einsum '{self.equation}' needs an explicit output (->) and no '...'")
        left, out = text.split("->")
        terms = left.split(",")
        held = [] if self.operand is None else [tuple(self.operand)]
        if len(terms) != len(shapes) + len(held):
            raise ShapeError(f"einsum '{self.equation}' names {len(terms)} operands, got {len(shapes)} inputs"
                             + (" and the held operand" if held else ""))
        if len(shapes) + len(held) < 2:
            raise ShapeError("einsum joins at least two operands (one input is a permute or a sum)")
        sizes: dict[str, int] = {}
        batch = terms[0][:1]
        for i, (term, shape) in enumerate(zip(terms, [*shapes, *held], strict=True)):
            own = i >= len(shapes)  # the held operand: no batch
            if len(term) != len(shape) + (0 if own else 1) or not term.isalpha() or len(set(term)) != len(term):
                raise ShapeError(f"einsum term '{term}' does not fit {'the operand' if own else 'an input'} of "
                                 f"{fmt_shape(shape)} (one distinct letter per dim, the batch first on inputs)")
            if not own and term[0] != batch:
                raise ShapeError(f"einsum term '{term}' does not start with the batch letter '{batch}'")
            for letter, size in zip(term if own else term[1:], shape, strict=True):
                if letter == batch:
                    raise ShapeError(f"einsum's held operand '{term}' cannot use the batch letter '{batch}'")
                if sizes.setdefault(letter, size) != size:
                    raise ShapeError(f"einsum letter '{letter}' has sizes {sizes[letter]} and {size}")
        if out[:1] != batch or any(c not in sizes for c in out[1:]) or len(set(out)) != len(out):
            raise ShapeError(f"einsum output '{out}' must start with the batch letter '{batch}' and use input letters")
        shape = tuple(sizes[c] for c in out[1:])
        macs = prod(sizes.values()) * (len(shapes) + len(held) - 1)
        params, buffers = self.held()
        return Evaluation(shape, params=params, buffers=buffers, macs=macs, flops=2 * macs, connections=macs,
                          rf=GLOBAL, summary=text)

    def keeps(self) -> Keeps:
        """einsum (a permuted bmm) saves every input."""
        return Keeps(saves=("inputs",))
