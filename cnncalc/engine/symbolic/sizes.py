"""The input sizes a network accepts, solved from the closed forms of one symbolic analysis.

Every condition of a :class:`~cnncalc.engine.symbolic.analysis.SymbolicAnalysis` in one size symbol S is
quasi-affine: a sum of integer multiples of S and of floors of S. With P the lcm of the floors' periods,
``E(S + P) = E(S) + Δ`` for a constant Δ, so on each residue class ``S = S₀ + k·P`` the condition is affine in k and
holds on one interval of k (``E ≥ 0``) or at most one k / every k (``E = 0``). The solver evaluates each condition
twice per residue class instead of analysing every size; a condition of higher degree (a flatten fixing S·S) is
evaluated per member of the class (still closed forms, not analyses).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cnncalc.engine.symbolic.analysis import SymbolicAnalysis, analyze_symbolic
from cnncalc.engine.symbolic.conditions import Condition
from cnncalc.engine.symbolic.expr import compile_expr
from cnncalc.errors import SpecError
from cnncalc.model import Network

#: Symbol of the varied size (a square or cube input when every spatial dim takes it).
SIZE = "S"
#: Names of the spatial dims by rank (channels first, batch excluded).
DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

Span = tuple[int, int]  # inclusive k interval


def _clip(spans: list[Span], lo: int, hi: int) -> list[Span]:
    return [(max(a, lo), min(b, hi)) for a, b in spans if max(a, lo) <= min(b, hi)]


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    out = []
    for x0, x1 in a:
        for y0, y1 in b:
            lo, hi = max(x0, y0), min(x1, y1)
            if lo <= hi:
                out.append((lo, hi))
    return out


def _minus(a: list[Span], b: list[Span]) -> list[Span]:
    out = a
    for y0, y1 in b:
        nxt = []
        for x0, x1 in out:
            if y1 < x0 or y0 > x1:
                nxt.append((x0, x1))
                continue
            if x0 < y0:
                nxt.append((x0, y0 - 1))
            if y1 < x1:
                nxt.append((y1 + 1, x1))
        out = nxt
    return out


def _holding(cond: Condition, fn: Callable[[int], int], n0: int, period: int, count: int) -> list[Span]:
    """The k in [0, count) for which ``cond`` holds at S = n0 + k·period."""
    if count <= 0:
        return []
    if cond.expr.degree > 1 or (period == 1 and count < 3):
        ok = [k for k in range(count) if _test(cond, fn(n0 + k * period))]
        return _runs(ok)
    v0 = fn(n0)
    delta = fn(n0 + period) - v0
    last = count - 1
    if cond.kind == "==":
        if delta == 0:
            return [(0, last)] if v0 == 0 else []
        if (-v0) % delta:
            return []
        k = -v0 // delta
        return [(k, k)] if 0 <= k <= last else []
    if delta == 0:
        return [(0, last)] if v0 >= 0 else []
    if delta > 0:  # v0 + k·Δ ≥ 0 ⇔ k ≥ ⌈−v0 / Δ⌉
        return _clip([(-(v0 // delta), last)], 0, last)
    return _clip([(0, v0 // -delta)], 0, last)


def _test(cond: Condition, v: int) -> bool:
    return v >= 0 if cond.kind == ">=" else v == 0


def _runs(ks: Iterable[int]) -> list[Span]:
    out: list[Span] = []
    for k in ks:
        if out and out[-1][1] == k - 1:
            out[-1] = (out[-1][0], k)
        else:
            out.append((k, k))
    return out


@dataclass(frozen=True)
class Rejection:
    """Sizes that one layer's condition is the first to reject."""

    layer: str
    condition: str
    role: str
    sizes: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"layer": self.layer, "condition": self.condition, "role": self.role, "sizes": list(self.sizes)}


@dataclass(frozen=True)
class Sizes:
    """The answer of ``cnncalc sizes``: valid and exact sizes in a range, the smallest, and why others fail."""

    model: str
    dim: str
    lo: int
    hi: int
    valid: tuple[int, ...]
    exact: tuple[int, ...]
    smallest: int | None
    smallest_exact: int | None
    period: int
    excluded: tuple[Rejection, ...] = ()
    inexact: tuple[Rejection, ...] = ()
    notes: tuple[str, ...] = field(default=())
    #: The symbol the conditions are written in (S for a square or cube input, else the dim's name).
    symbol: str = SIZE

    def why(self, size: int) -> str:
        """Why ``size`` is excluded (or not exact), or that it is fine."""
        for group, what in ((self.excluded, "invalid"), (self.inexact, "not exact")):
            for r in group:
                if size in r.sizes:
                    verb = "rejects" if what == "invalid" else "drops input pixels at"
                    return f"{size} is {what}: '{r.layer}' {verb} it (needs {r.condition})"
        if size in self.exact:
            return f"{size} is valid and exact: no strided layer drops a pixel"
        if size in self.valid:
            return f"{size} is valid"
        return f"{size} is outside the range {self.lo}..{self.hi}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``cnncalc sizes --format json``."""
        return {
            "model": self.model, "dim": self.dim, "range": [self.lo, self.hi], "valid": list(self.valid),
            "exact": list(self.exact), "smallest": self.smallest, "smallest_exact": self.smallest_exact,
            "period": self.period, "excluded": [r.to_dict() for r in self.excluded],
            "inexact": [r.to_dict() for r in self.inexact], "notes": list(self.notes), "symbol": self.symbol,
        }


def symbolic_input(net: Network, dim: str | None) -> tuple[tuple[int | str, ...], str]:
    """The input shape with the varied size as a symbol, and the label of what varies (``HxW`` or ``H``)."""
    shape = tuple(net.input)
    if any(isinstance(d, str) for d in shape):
        raise SpecError("sizes needs a spec with a numeric input shape (it varies the sizes itself)")
    rank = len(shape) - 1
    names = DIM_NAMES.get(rank)
    if not names:
        raise SpecError(f"sizes needs an input with 1 to 3 spatial dims, got {rank}")
    if dim is None:
        return (shape[0], *(SIZE for _ in names)), "x".join(names)
    if dim.upper() not in names:
        raise SpecError(f"--dim {dim}: the input's spatial dims are {', '.join(names)}")
    i = names.index(dim.upper())
    return tuple(names[i] if j == i + 1 else d for j, d in enumerate(shape)), names[i]


def _narrow(conds: list[Condition], fns: list[Any], role: str, left: list[Span], sink: dict[int, list[int]],
            n0: int, period: int, count: int) -> list[Span]:
    """The sizes n0 + k·period (k in ``left``) that every condition of ``role`` allows; ``sink`` gets the rest."""
    for i, (c, fn) in enumerate(zip(conds, fns, strict=True)):
        if c.role != role or not left:
            continue
        ok = _holding(c, fn, n0, period, count)
        bad = _minus(left, ok)
        if bad:
            sink.setdefault(i, []).extend(n0 + k * period for a, b in bad for k in range(a, b + 1))
        left = _intersect(left, ok)
    return left


def solve(report: SymbolicAnalysis, lo: int, hi: int, *, name: str = SIZE, dim: str = SIZE) -> Sizes:
    """Valid and exact sizes in [lo, hi] from the report's conditions in the one symbol ``name``."""
    if lo < 1 or hi < lo:
        raise SpecError(f"the range must be 1 ≤ lo ≤ hi, got {lo}..{hi}")
    conds = [c for c in report.conditions if c.expr.symbols <= {name}]
    period = 1
    for c in conds:
        period = math.lcm(period, c.expr.period)
    start = 1  # solve from 1 so the smallest size is found even below lo
    span = hi - start + 1
    period = min(period, span)  # one class per size: still closed forms, evaluated once each
    fns = [compile_expr(c.expr, (name,)) for c in conds]
    valid: list[int] = []
    exact: list[int] = []
    rejected: dict[int, list[int]] = {}
    inexact: dict[int, list[int]] = {}
    for r in range(period):
        n0 = start + r
        count = (hi - n0) // period + 1
        if count <= 0:
            continue
        left = _narrow(conds, fns, "valid", [(0, count - 1)], rejected, n0, period, count)
        valid += [n0 + k * period for a, b in left for k in range(a, b + 1)]
        left = _narrow(conds, fns, "exact", left, inexact, n0, period, count)
        exact += [n0 + k * period for a, b in left for k in range(a, b + 1)]
    valid.sort()
    exact.sort()

    def groups(found: dict[int, list[int]]) -> tuple[Rejection, ...]:
        out = []
        for i in sorted(found):
            sizes = tuple(sorted(s for s in found[i] if lo <= s <= hi))
            if sizes:
                c = conds[i]
                out.append(Rejection(c.layer, c.text(), c.role, sizes))
        return tuple(out)

    notes = tuple(n for n in report.notes if "parameters depend" in n)
    if report.warnings:  # dims kept at the spec's sizes (--dim) drop pixels whatever the varied size
        notes += (f"the dims kept at the spec's sizes are not exact themselves: {report.warnings[0]}",)
    return Sizes(
        model=report.model, dim=dim, lo=lo, hi=hi, valid=tuple(s for s in valid if s >= lo),
        exact=tuple(s for s in exact if s >= lo), smallest=valid[0] if valid else None,
        smallest_exact=exact[0] if exact else None, period=period, excluded=groups(rejected),
        inexact=groups(inexact), notes=notes, symbol=name,
    )


def sizes(net: Network, *, dim: str | None = None, lo: int = 32, hi: int = 4096) -> Sizes:
    """Analyse ``net`` once with the varied size as a symbol and solve for the sizes it accepts."""
    shape, label = symbolic_input(net, dim)
    from cnncalc.engine.graph import run

    report = analyze_symbolic(net, run, input_shape=shape)
    return solve(report, lo, hi, name=SIZE if dim is None else label, dim=label)


def runs(values: tuple[int, ...]) -> list[str]:
    """Compact text for a sorted size list: ``32..4096``, ``188..4092 step 16``, single values."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i + 1
        step = values[j] - values[i] if j < len(values) else 0
        while j + 1 < len(values) and values[j + 1] - values[j] == step:
            j += 1
        if j < len(values) and j - i >= 2:
            text = f"{values[i]}..{values[j]}" + (f" step {step}" if step != 1 else "")
            out.append(text)
            i = j + 1
        else:
            out.append(str(values[i]))
            i += 1
    return out


def describe(values: tuple[int, ...], period: int, name: str = SIZE) -> str:
    """The shorter of :func:`runs` and a periodic description (``33..4068 with S mod 32 ∈ {1, 2, 3, 4}``)."""
    listed = ", ".join(runs(values)) or "none"
    if len(values) < 3 or period < 2:
        return listed
    first, last = values[0], values[-1]
    residues = sorted({v % period for v in values})
    if len(values) != sum(1 for n in range(first, last + 1) if n % period in set(residues)):
        return listed
    periodic = f"{first}..{last} with {name} mod {period} ∈ {{{', '.join(map(str, residues))}}}"
    return periodic if len(periodic) < len(listed) else listed
