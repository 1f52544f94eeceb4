"""Padding as the spec writes it, read for torch independently of :mod:`cnncalc.engine.dims`.

The torch bridge must not borrow the engine's window arithmetic, or the cross-check would compare the engine with
itself: these helpers read each padding form as the README's padding table defines it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: (before, after) per spatial dim as read here; engine.dims has its own ``Pads``, which this module must not borrow.
SidePads = list[tuple[int, int]]


def each(value: Any, n: int) -> tuple[int, ...]:
    """An int or a per-dim list, for ``n`` spatial dims (a one-element list counts for every dim)."""
    if isinstance(value, int):
        return (value,) * n
    values = tuple(value)
    return values * n if len(values) == 1 else values


def sides(padding: Any, sizes: Sequence[int], extent: Sequence[int], stride: Sequence[int]) -> SidePads:
    """(before, after) per spatial dim, read as the README's padding table defines each form.

    ``extent`` is the dilated kernel D·(K − 1) + 1. ``same`` follows TensorFlow: the output is ⌈W / S⌉ and the
    padding is what the last window needs, the odd pixel after (``same_lower``: before).
    """
    n = len(sizes)
    if padding == "valid":
        return [(0, 0)] * n
    if padding in ("same", "same_lower"):
        out = []
        for w, k, s in zip(sizes, extent, stride, strict=True):
            total = max((-(-w // s) - 1) * s + k - w, 0)
            half = total // 2
            out.append((half, total - half) if padding == "same" else (total - half, half))
        return out
    if isinstance(padding, int):
        return [(padding, padding)] * n
    if isinstance(padding, list):
        if padding and isinstance(padding[0], list):
            return [(a, b) for a, b in padding]
        if len(padding) == 2 * n:  # MatConvNet: [top, bottom, left, right]
            return [(padding[2 * i], padding[2 * i + 1]) for i in range(n)]
        return [(p, p) for p in each(padding, n)]
    return list(zip(each(padding.before, n), each(padding.after, n), strict=True))


def symmetric(pads: SidePads) -> list[int] | None:
    """The per-dim amounts when every dim pads both sides alike (torch's own ``padding``), else None."""
    return [a for a, _ in pads] if all(a == b for a, b in pads) else None


def torch_order(pads: SidePads) -> list[int]:
    """Per-dim (before, after) → ``F.pad``'s flat list, last dim first."""
    out: list[int] = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


def extent(kernel: Sequence[int], dilation: Sequence[int]) -> list[int]:
    """The dilated kernel D·(K − 1) + 1 per dim."""
    return [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
