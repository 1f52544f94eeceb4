"""Text and trees of the canonical terms behind :class:`~cnncalc.engine.symbolic.expr.Expr` (pure functions).

A term list is a sorted tuple of (monomial, coefficient); a monomial a sorted tuple of atom keys, each
``("s", name)`` for a symbol or ``("f", terms, d)`` for ``⌊terms / d⌋``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

#: ("s", name) or ("f", numerator terms, d).
AtomKey: TypeAlias = tuple[Any, ...]
Mono: TypeAlias = tuple[AtomKey, ...]
Terms: TypeAlias = tuple[tuple[Mono, int], ...]


SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def atom_text(a: AtomKey) -> str:
    if a[0] == "s":
        return str(a[1])
    inner = a[1]
    text = fmt(inner)
    if len(inner) > 1:
        text = f"({text})"
    return f"⌊{text} / {a[2]}⌋"


def mono_text(m: Mono) -> str:
    m = tuple(sorted(m, key=lambda a: (a[0] == "f", str(a))))  # symbols first: N·H·W, then floors
    out = []
    i = 0
    while i < len(m):
        j = i
        while j < len(m) and m[j] == m[i]:
            j += 1
        text = atom_text(m[i])
        out.append(text + (str(j - i).translate(SUP) if j - i > 1 else ""))
        i = j
    return "·".join(out)


def order(item: tuple[Mono, int]) -> tuple[int, int, str]:
    m, _ = item
    if not m:
        return (1, 0, "")
    return (0, -len(m), mono_text(m))


def fmt(terms: Terms) -> str:
    text = ""
    for m, c in sorted(terms, key=order):
        body = mono_text(m)
        mag = abs(c)
        piece = str(mag) if not body else body if mag == 1 else f"{mag}·{body}"
        if not text:
            text = piece if c > 0 else f"−{piece}"
        else:
            text += f" + {piece}" if c > 0 else f" − {piece}"
    return text or "0"


def tree(terms: Terms) -> dict[str, Any]:
    def atom(a: AtomKey) -> dict[str, Any]:
        if a[0] == "s":
            return {"symbol": a[1]}
        return {"floor": tree(a[1]), "divisor": a[2]}

    return {"sum": [{"coef": c, "factors": [atom(a) for a in m]} for m, c in sorted(terms, key=order)]}
