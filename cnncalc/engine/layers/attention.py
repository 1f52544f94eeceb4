"""Multi-head attention (``torch.nn.MultiheadAttention``; Vaswani et al. 2017), as ViT and hybrid CNNs use it.

Shapes per sample (batch excluded, so torch's ``batch_first=True`` layout): query (L, E), key (S, kdim), value
(S, vdim) → (L, E). One input is self-attention (query = key = value, as ``self.attn(x, x, x)``); three inputs
(``inputs: [query, key, value]``, key and value may name the same node) are cross-attention. ``add_bias_kv`` and
``add_zero_attn`` each add one key/value row, so the scores see S' = S + add_bias_kv + add_zero_attn positions.

- params  = E·E + E·kdim + E·vdim (query, key, value projections: torch's packed ``in_proj_weight`` 3E·E when
  kdim = vdim = E) + E·E (``out_proj``) + [3E + E biases] + [2E: ``bias_k``, ``bias_v``, counted with the
  biases as torch names them]
- MACs    = L·E·E + S·E·kdim + S·E·vdim (projections) + L·S'·E (scores q·kᵀ, all heads) + L·S'·E (weighted sum
  of the values) + L·E·E (output projection)
- FLOPs   = 2·MACs + bias additions (L·E + 2·S·E + L·E with ``bias``) + 4 per score (num_heads·L·S' scores:
  scale, exp, sum, divide, as the ``sdpa`` layer counts them)

torch's own default is ``batch_first=False``, a (L, N, E) layout whose batch is not the first dim; cnncalc's shapes
exclude a leading batch, so a spec accepts only ``batch_first: true`` (the default here) and ``cnncalc import``
leaves a ``batch_first=False`` module opaque, saying why. Attention masks are not modelled (no product changes,
but a mask adds work per score and changes the path torch takes): an imported call with a mask stays opaque.
"""


from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from cnncalc.engine.layers.base import GLOBAL, Evaluation, Keeps, Merge, PosInt
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape


@register
class MultiheadAttention(Merge):
    """``nn.MultiheadAttention(embed_dim, num_heads, …, batch_first=True)`` called as ``attn(q, k, v)[0]``."""

    family: ClassVar[str] = "attention"

    type: Literal["multihead_attention", "mha"]
    embed_dim: PosInt
    num_heads: PosInt
    #: Dropout on the attention weights in training: no count changes (torch's field, kept for the bridge).
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    bias: bool = True
    add_bias_kv: bool = False
    add_zero_attn: bool = False
    #: Features of the key and value inputs (torch's default: embed_dim).
    kdim: PosInt | None = None
    vdim: PosInt | None = None
    batch_first: bool = True

    @field_validator("batch_first")
    @classmethod
    def _batch_first(cls, value: bool) -> bool:
        """(L, N, E) puts the batch second: cnncalc's per-sample shapes cannot say that."""
        if not value:
            raise ValueError("only batch_first: true is supported: cnncalc's shapes exclude a leading batch, and "
                             "torch's batch_first=False layout (L, N, E) has the batch second")
        return value

    @model_validator(mode="after")
    def _heads(self) -> "MultiheadAttention":
        """torch asserts it too: each head gets embed_dim / num_heads features."""
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        return self

    def evaluate(self, x: Shape) -> Evaluation:
        """Self-attention: query, key and value are the one input."""
        return self.merge([x])

    def merge(self, shapes: list[Shape]) -> Evaluation:
        """Query (L, E), key (S, kdim), value (S, vdim) → (L, E): projections, scores, weighted sum, output."""
        if len(shapes) not in (1, 3):
            raise ShapeError(f"{self.type} takes one input (self-attention) or three (query, key, value), got "
                             f"{len(shapes)}")
        q, k, v = shapes * 3 if len(shapes) == 1 else shapes
        e, kdim, vdim = self.embed_dim, self.kdim or self.embed_dim, self.vdim or self.embed_dim
        if any(len(s) != 2 for s in (q, k, v)):
            raise ShapeError(f"{self.type} takes (L, E) sequences per sample (batch_first), got "
                             f"{', '.join(map(fmt_shape, shapes))}")
        for what, shape, want in (("query", q, e), ("key", k, kdim), ("value", v, vdim)):
            if shape[1] != want:
                field = {"query": "embed_dim", "key": "kdim", "value": "vdim"}[what]
                raise ShapeError(f"the {what} {fmt_shape(shape)} has {shape[1]} features where {field} is {want}")
        if k[0] != v[0]:
            raise ShapeError(f"key {fmt_shape(k)} and value {fmt_shape(v)} have different lengths")
        return self._counts(q[0], k[0], e, kdim, vdim)

    def _counts(self, length: int, source: int, e: int, kdim: int, vdim: int) -> Evaluation:
        from cnncalc.engine.trace import settle, term

        extra = int(self.add_bias_kv) + int(self.add_zero_attn)
        seen = source + extra  # S': the key/value rows the scores see
        projections = length * e * e + source * e * kdim + source * e * vdim + length * e * e
        products = length * seen * e + length * seen * e
        biases = (4 * e if self.bias else 0) + (2 * e if self.add_bias_kv else 0)
        ev = Evaluation.weighted(
            (length, e),
            weights=e * e + e * kdim + e * vdim + e * e,
            biases=biases,
            macs=projections + products,
            bias_adds=(length * e + source * e + source * e + length * e) if self.bias else 0,
            rf=GLOBAL,
            summary=f"E{e} h{self.num_heads} L{length} S{source}" + ("" if self.bias else " nobias"),
        )
        scores = self.num_heads * length * seen
        return Evaluation(ev.shape, params=ev.params, biases=ev.biases, macs=ev.macs,
                          flops=ev.flops + term(4 * settle(scores), "softmax: 4 per score"),
                          connections=ev.connections, rf=ev.rf, summary=ev.summary)

    def keeps(self) -> Keeps:
        """torch's training path (``F.multi_head_attention_forward``, ``need_weights=False``, batch first) saves a
        contiguous copy of the (transposed) input for the in-projection, the projected query, key and value (one
        packed 3·L·E storage), the attention output (which the out-projection reads as a view) and each query row's
        log-sum-exp (``small``): five output-sized copies, none of the input's own storage. Exact for self-attention
        without ``add_bias_kv``/``add_zero_attn`` (tests/test_memory_torch.py pins it); cross-attention also copies
        the key and value inputs and projects them to S·E each, which this counts as for self-attention.

        Inference (eval, no grad): where the fields allow torch's fused ``_native_multi_head_attention`` (even
        heads, biases, no extra key/value rows, kdim = vdim = E) and the call is self-attention, it is one op whose
        temporaries no storage tracker sees; otherwise the decomposed path holds the same five copies while it runs
        (measured on the CPU: exact for L = S).
        """
        fused = (self.num_heads % 2 == 0 and self.bias and not self.add_bias_kv and not self.add_zero_attn
                 and self.kdim in (None, self.embed_dim) and self.vdim in (None, self.embed_dim))
        return Keeps(saves=("copy",) * 5 + ("small",), workspace=() if fused else ("copy",) * 5)
