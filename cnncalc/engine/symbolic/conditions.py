"""Conditions on the sizes: what an undecidable comparison in a formula assumed, attributed to a layer.

:func:`cnncalc.engine.symbolic.expr.collecting` gathers the raw (form, kind) pairs; the symbolic walk turns them
into :class:`Condition`\\ s of the layer that made them, and adds the *exact* ones (a strided window dropping pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from cnncalc.engine.symbolic.expr import Expr
from cnncalc.engine.symbolic.text import atom_text, fmt


@dataclass(frozen=True, slots=True)
class Condition:
    """A requirement on the sizes: ``expr ≥ 0`` or ``expr = 0`` (``kind``), and the layer whose formula set it.

    ``role`` is ``valid`` (the layer cannot be evaluated otherwise) or ``exact`` (a strided layer drops input
    pixels otherwise: a warning, not an error).
    """

    expr: Expr
    kind: Literal[">=", "=="]
    layer: str = ""
    role: Literal["valid", "exact"] = "valid"
    #: A clearer statement of the same condition, where the layer that set it knows one.
    note: str = ""

    def holds(self, env: dict[str, int]) -> bool:
        """Whether the condition holds at concrete sizes."""
        v = self.expr.subs(env)
        return v >= 0 if self.kind == ">=" else v == 0

    def text(self) -> str:
        """Readable form, solved for a lone symbol when the condition is one floor or symbol against a number."""
        if self.note:
            return self.note
        return solve_text(self.expr, self.kind)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the text, the layer, the role, and the expression's tree."""
        return {"layer": self.layer, "role": self.role, "condition": self.text(), "kind": self.kind,
                "expr": str(self.expr), "tree": self.expr.tree()}


def solve_text(e: Expr, kind: str) -> str:
    """``⌊(H + 1) / 2⌋ − 3 ≥ 0`` → ``H ≥ 5``: peel single floors (⌊N/d⌋ ≥ k ⇔ N ≥ k·d)."""
    rel = "≥" if kind == ">=" else "="
    terms = e.terms
    const = dict(terms).get((), 0)
    rest = [(m, c) for m, c in terms if m]
    while kind == ">=" and len(rest) == 1 and len(rest[0][0]) == 1:
        (atom,), c = rest[0]
        bound = Fraction(-const, c)
        if c < 0:  # c·x + k ≥ 0 with c < 0: x ≤ ⌊−k / c⌋
            return f"{atom_text(atom)} ≤ {math.floor(bound)}"
        k = math.ceil(bound)
        if atom[0] == "s":
            return f"{atom[1]} ≥ {k}"
        _, inner, d = atom  # ⌊N / d⌋ ≥ k ⇔ N ≥ k·d
        inner_const = dict(inner).get((), 0)
        const = inner_const - k * d
        rest = [(m, cc) for m, cc in inner if m]
        if not rest:
            break
        if len(rest) == 1 and len(rest[0][0]) == 1 and rest[0][0][0][0] == "s" and rest[0][1] == 1:
            return f"{rest[0][0][0][1]} ≥ {-const}"
    if kind == "==":
        left = [(m, c) for m, c in terms if m]
        right = -const
        return f"{fmt(tuple(left))} {rel} {right}" if left else f"{const} = 0"
    return f"{e} {rel} 0"
