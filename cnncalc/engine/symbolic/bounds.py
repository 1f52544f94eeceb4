"""Bounds of a form over every size ≥ 1, used to decide comparisons without assuming anything.

Each floor ⌊N / d⌋ is replaced by (N − r) / d with a fresh r ∈ [0, d − 1], which keeps the correlation between a
floor and its numerator (``2·⌊(H + 1) / 2⌋ − H`` is bounded to [0, 1], not to (−∞, ∞)); products of atoms are
bounded by interval arithmetic.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from cnncalc.engine.symbolic.text import Terms

#: Every symbol stands for an integer ≥ 1 (a size or a batch).
SYMBOL_MIN = 1

Bound = Fraction | None


def _interval_mul(a: tuple[Bound, Bound], b: tuple[Bound, Bound]) -> tuple[Bound, Bound]:
    if None in a or None in b:
        if a[0] is not None and b[0] is not None and a[0] >= 0 and b[0] >= 0:
            return a[0] * b[0], None
        return None, None
    products = [x * y for x in (a[0], a[1]) for y in (b[0], b[1]) if x is not None and y is not None]
    return min(products), max(products)


def _relax(terms: Terms, out: dict[Any, Fraction], ranges: dict[Any, tuple[Bound, Bound]], scale: Fraction) -> Fraction:
    """Add ``scale · terms`` to the affine relaxation ``out`` (floors become (N − r)/d, r ∈ [0, d − 1]); returns
    the constant."""
    const = Fraction(0)
    for m, c in terms:
        k = scale * c
        if not m:
            const += k
        elif len(m) == 1 and m[0][0] == "s":
            out[m[0]] = out.get(m[0], Fraction(0)) + k
            ranges[m[0]] = (Fraction(SYMBOL_MIN), None)
        elif len(m) == 1:
            _, inner, d = m[0]
            const += _relax(inner, out, ranges, k / d)
            r = ("r", len(ranges))
            ranges[r] = (Fraction(0), Fraction(d - 1))
            out[r] = -k / d
        else:
            interval: tuple[Bound, Bound] = (Fraction(1), Fraction(1))
            for a in m:
                lo, hi = terms_bounds((((a,), 1),))
                interval = _interval_mul(interval, (None if lo is None else Fraction(lo),
                                                    None if hi is None else Fraction(hi)))
            v = ("m", len(ranges))
            ranges[v] = interval
            out[v] = k
    return const


def bounds(x: Any) -> tuple[int | None, int | None]:
    """Integer lower and upper bounds of ``x`` (a form or an int) over all symbol values ≥ 1 (``None``: unbounded)."""
    terms = getattr(x, "terms", None)
    if terms is None:
        return int(x), int(x)
    return terms_bounds(terms)


def terms_bounds(terms: Terms) -> tuple[int | None, int | None]:
    """:func:`bounds` of a term list: floors relaxed to (N − r)/d with r ∈ [0, d − 1], symbols ≥ 1."""
    coefs: dict[Any, Fraction] = {}
    ranges: dict[Any, tuple[Bound, Bound]] = {}
    const = _relax(terms, coefs, ranges, Fraction(1))
    lo: Bound = const
    hi: Bound = const
    for var, k in coefs.items():
        if not k:
            continue
        vlo, vhi = ranges[var]
        low, high = (vlo, vhi) if k > 0 else (vhi, vlo)
        lo = None if lo is None or low is None else lo + k * low
        hi = None if hi is None or high is None else hi + k * high
    return (None if lo is None else math.ceil(lo)), (None if hi is None else math.floor(hi))
