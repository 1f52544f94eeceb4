"""The torch.fx walk's reader of ``nn.MultiheadAttention`` calls: which tensors are query, key and value, and the
call arguments that keep it opaque.

The module's fields are read by :mod:`cnncalc.torch.imports` (``multihead_attention``); a call needs more than its
module, so the walk hands the whole fx node here. Self-attention (``attn(x, x, x)``) becomes a one-input layer;
cross-attention (``attn(q, kv, kv)``) a layer with ``inputs: [query, key, value]``. The module returns (output,
weights or None); the walk follows ``[0]``. The attention weights (``need_weights=True``, torch's default) are a
second output the spec does not follow: unread, they are passed over; read by later code, they stay an opaque node.
"""

from __future__ import annotations

import operator
from typing import Any

from cnncalc.torch.imports import module_layer

#: ``nn.MultiheadAttention.forward``'s parameters, in order.
_PARAMS = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
           "is_causal")


def attention_call(walk: Any, node: Any, m: Any, x: Any, y: Any) -> bool | str:
    """Emit the layer of one ``nn.MultiheadAttention`` call; why not (text) when it stays opaque."""
    if not m.batch_first:
        return ("batch_first=False: torch's (L, N, E) layout has the batch second, and cnncalc's shapes exclude a "
                "leading batch (build it with batch_first=True)")
    bound = dict(zip(_PARAMS, node.args, strict=False)) | dict(node.kwargs)
    masks = [k for k in ("key_padding_mask", "attn_mask") if walk.value(bound.get(k)) is not None]
    if masks:
        return f"called with {' and '.join(masks)}: masked attention is not modelled"
    if walk.value(bound.get("is_causal")):
        return "called with is_causal=True: masked attention is not modelled"
    q, k, v = (bound.get(name) for name in ("query", "key", "value"))
    if any(t not in walk.refs for t in (q, k, v)):
        return "query, key or value is not a tensor computed from the input"
    entry = module_layer(m, walk.nn, x, y)
    if entry is None:
        return False
    params = list(m.parameters())
    if params and not any(p.requires_grad for p in params):
        entry["trainable"] = False
    sources = [q] if q is k is v else [q, k, v]
    walk.emit(node, entry, sources, merge=len(sources) > 1)
    for user in node.users:  # ``out, _ = attn(...)``: weights nobody reads (an empty tensor on the fused path)
        if user.target is operator.getitem and user.args[1] != 0 and not user.users:
            walk.values[user] = None  # not data: the walk passes over it
    return True
