"""Quasi-polynomials in size symbols: integer polynomials whose atoms are symbols and canonical floors.

An :class:`Expr` is an immutable, canonical form: a sum of integer multiples of monomials, each a product of
*atoms*, an atom being a symbol (``H``) or a floor ``⌊N / d⌋`` of another form N by a positive integer d. The
floors are canonical, so structurally equal forms are equal and the printed form is the same for every path that
reaches it:

- integer parts come out: ``⌊(2·H + 5) / 2⌋ = H + 2 + ⌊1 / 2⌋``; every coefficient and the constant inside a floor
  lie in ``[0, d)``; a common factor of the coefficients and d is cancelled;
- nested floors collapse: ``⌊(⌊(x + a) / s⌋ + b) / t⌋ = ⌊(x + a + s·b) / (s·t)⌋`` (exact for integers), so a chain
  of strided layers is one floor, e.g. ResNet's ``⌊(H + 31) / 32⌋``;
- a ceiling is a floor: ``⌈x / d⌉ = ⌊(x + d − 1) / d⌋``.

The formulas in :mod:`cnncalc.engine.dims` and the layers are written for plain ints; fed with Exprs they return
Exprs. Arithmetic whose result is a constant returns a plain ``int``, so kernels, paddings and channel counts stay
numbers. A comparison the form cannot decide for every size ≥ 1 (``if out < 1: raise``) is answered as the *valid*
branch (no error) and the assumption is recorded as a :class:`Condition` in the active :func:`collecting` scope:
the formulas themselves say where a network's validity depends on the input size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

from cnncalc.engine.symbolic.bounds import bounds
from cnncalc.engine.symbolic.text import AtomKey, Mono, Terms, fmt, tree
from cnncalc.errors import ShapeError


class SymbolicError(ShapeError):
    """An operation the closed forms cannot express (division by a symbol, an undecidable branch)."""


def _norm(acc: dict[Mono, int]) -> Terms:
    return tuple(sorted((m, c) for m, c in acc.items() if c))


def _make(terms: Terms) -> Any:
    """An Expr, or a plain int when the form is constant."""
    if not terms:
        return 0
    if len(terms) == 1 and terms[0][0] == ():
        return terms[0][1]
    return Expr(terms)


def _terms(x: Any) -> Terms:
    if isinstance(x, Expr):
        return x.terms
    if isinstance(x, bool) or not isinstance(x, int):
        if isinstance(x, float) and x.is_integer():
            return _terms(int(x))
        raise SymbolicError(f"cannot combine a symbolic size with {x!r}")
    return (((), int(x)),) if x else ()


def _add(a: Terms, b: Terms, sign: int = 1) -> Terms:
    acc = dict(a)
    for m, c in b:
        acc[m] = acc.get(m, 0) + sign * c
    return _norm(acc)


def _mul(a: Terms, b: Terms) -> Terms:
    acc: dict[Mono, int] = {}
    for ma, ca in a:
        for mb, cb in b:
            m = tuple(sorted(ma + mb))
            acc[m] = acc.get(m, 0) + ca * cb
    return _norm(acc)


def _scale(a: Terms, k: int) -> Terms:
    return _norm({m: c * k for m, c in a}) if k else ()


def _floor(num: Terms, d: int) -> Terms:
    """Canonical ⌊num / d⌋ for d ≥ 1 (see the module docstring)."""
    if d <= 0:
        raise SymbolicError(f"division of a symbolic size by {d}")
    if d == 1:
        return num
    const = dict(num).get((), 0)
    g = d
    for m, c in num:
        if m:
            g = math.gcd(g, c)
    if g > 1:  # ⌊(g·N' + c) / (g·d')⌋ = ⌊(N' + ⌊c / g⌋) / d'⌋
        reduced = {m: c // g for m, c in num if m}
        reduced[()] = const // g
        return _floor(_norm(reduced), d // g)
    whole: dict[Mono, int] = {}
    rest: dict[Mono, int] = {}
    for m, c in num:
        q, r = divmod(c, d)
        whole[m] = q
        rest[m] = r
    rest_terms = _norm(rest)
    if all(not m for m, _ in rest_terms):  # ⌊r0 / d⌋ = 0 for 0 ≤ r0 < d
        return _norm(whole)
    # ⌊(⌊E / s⌋ + R) / d⌋ = ⌊(E + s·R) / (s·d)⌋ for any integer-valued R.
    for m, c in rest_terms:
        if c == 1 and len(m) == 1 and m[0][0] == "f":
            _, inner, s = m[0]
            others = tuple((mm, cc) for mm, cc in rest_terms if mm != m)
            return _add(_norm(whole), _floor(_add(inner, _scale(others, s)), s * d))
    return _add(_norm(whole), (((("f", rest_terms, d),), 1),))


class Expr:
    """A canonical quasi-polynomial in size symbols; see the module docstring. Build with :func:`symbol`."""

    __slots__ = ("_hash", "terms")

    terms: Terms

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self._hash = hash(terms)

    # -- arithmetic (int-like; constants collapse to ints)

    def __add__(self, other: Any) -> Any:
        return _make(_add(self.terms, _terms(other)))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return _make(_add(self.terms, _terms(other), -1))

    def __rsub__(self, other: Any) -> Any:
        return _make(_add(_terms(other), self.terms, -1))

    def __mul__(self, other: Any) -> Any:
        return _make(_mul(self.terms, _terms(other)))

    __rmul__ = __mul__

    def __neg__(self) -> Any:
        return _make(_scale(self.terms, -1))

    def __pos__(self) -> Expr:
        return self

    def __floordiv__(self, other: Any) -> Any:
        if isinstance(other, Expr):
            raise SymbolicError(f"cannot divide by the symbolic size {other}")
        return _make(_floor(self.terms, int(other)))

    def __rfloordiv__(self, other: Any) -> Any:
        raise SymbolicError(f"cannot divide by the symbolic size {self}")

    def __mod__(self, other: Any) -> Any:
        return self - self // other * other

    def __truediv__(self, other: Any) -> Any:
        exact = isinstance(other, int) and not isinstance(other, bool) and other != 0
        if exact and not any(c % other for _, c in self.terms):
            return _make(_norm({m: c // other for m, c in self.terms}))
        raise SymbolicError(f"cannot divide the symbolic size {self} by {other}")

    def __rtruediv__(self, other: Any) -> Any:
        raise SymbolicError(f"cannot divide by the symbolic size {self}")

    def __floor__(self) -> Expr:
        return self

    def __ceil__(self) -> Expr:
        return self

    def ceil_div(self, d: int) -> Any:
        """⌈self / d⌉ written as the floor ⌊(self + d − 1) / d⌋ (:func:`cnncalc.engine.dims.ceildiv` asks for it)."""
        return (self + (d - 1)) // d

    # -- comparisons: decided from bounds, or assumed valid and recorded

    def _compare(self, other: Any, op: str) -> bool:
        """Decide ``self op other`` from bounds; if the sizes decide it, answer *no* and record the opposite.

        Formulas test for the error case (``if out < 1: raise``), so "no" is the branch that keeps evaluating.
        """
        diff = self - other
        if not isinstance(diff, Expr):
            return bool({"<": diff < 0, "<=": diff <= 0, ">": diff > 0, ">=": diff >= 0}[op])
        lo, hi = bounds(diff)
        decided = {
            "<": (hi is not None and hi < 0, lo is not None and lo >= 0),
            "<=": (hi is not None and hi <= 0, lo is not None and lo > 0),
            ">": (lo is not None and lo > 0, hi is not None and hi <= 0),
            ">=": (lo is not None and lo >= 0, hi is not None and hi < 0),
        }[op]
        if decided[0]:
            return True
        if decided[1]:
            return False
        negation = {"<": diff, "<=": diff - 1, ">": -diff, ">=": -diff - 1}[op]
        _record(negation, ">=")
        return False

    def __lt__(self, other: Any) -> bool:
        return self._compare(other, "<")

    def __le__(self, other: Any) -> bool:
        return self._compare(other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self._compare(other, ">")

    def __ge__(self, other: Any) -> bool:
        return self._compare(other, ">=")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Expr) and other.terms == self.terms:
            return True
        if not isinstance(other, Expr | int) or isinstance(other, bool):
            return NotImplemented
        diff = self - other
        if not isinstance(diff, Expr):
            return bool(diff == 0)
        lo, hi = bounds(diff)
        if (lo is not None and lo > 0) or (hi is not None and hi < 0):
            return False
        _record(diff, "==")  # merges and crops compare sizes: equality is the valid branch
        return True

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return self._hash

    def __bool__(self) -> bool:
        lo, hi = bounds(self)
        if (lo is not None and lo > 0) or (hi is not None and hi < 0):
            return True
        raise SymbolicError(f"whether {self} is zero depends on the input size")

    def __index__(self) -> int:
        raise SymbolicError(f"a symbolic size ({self}) cannot be used as a count")

    # -- reading

    def __str__(self) -> str:
        return fmt(self.terms)

    def __repr__(self) -> str:
        return f"Expr({fmt(self.terms)!r})"

    def __format__(self, spec: str) -> str:
        return str(self)

    @property
    def symbols(self) -> frozenset[str]:
        """The symbols the form depends on."""
        return frozenset(_symbols(self.terms))

    def subs(self, env: Mapping[str, int]) -> int:
        """The value at concrete sizes (exact integer arithmetic)."""
        return _eval(self.terms, env)

    def tree(self) -> dict[str, Any]:
        """Machine-readable form: ``{"sum": [{"coef": c, "factors": [atom, ...]}, ...]}``; atoms are
        ``{"symbol": "H"}`` or ``{"floor": tree, "divisor": d}``."""
        return tree(self.terms)

    @property
    def degree(self) -> int:
        """Largest number of atoms in one monomial (1: quasi-affine)."""
        return max(len(m) for m, _ in self.terms)

    @property
    def period(self) -> int:
        """A period of the form's floors: shifting every symbol by a multiple of it shifts each floor by an
        integer (the lcm of the divisors, times the inner periods)."""
        return _period(self.terms)


def symbol(name: str) -> Expr:
    """The size symbol ``name`` (an integer ≥ 1)."""
    return Expr(((((("s", name),)), 1),))


def value(x: Any, env: Mapping[str, int]) -> Any:
    """``x`` at concrete sizes: Exprs evaluate, tuples and lists map, everything else is returned as is."""
    if isinstance(x, Expr):
        return x.subs(env)
    if isinstance(x, tuple):
        return tuple(value(v, env) for v in x)
    if isinstance(x, list):
        return [value(v, env) for v in x]
    return x


def is_symbolic(x: Any) -> bool:
    """True for an Expr, or a tuple/list holding one."""
    if isinstance(x, Expr):
        return True
    if isinstance(x, tuple | list):
        return any(is_symbolic(v) for v in x)
    return False


# -- evaluation, compilation, bounds


def _atom_value(a: AtomKey, env: Mapping[str, int]) -> int:
    if a[0] == "s":
        try:
            return int(env[a[1]])
        except KeyError:
            raise SymbolicError(f"no value given for the symbol {a[1]}") from None
    return int(_eval(a[1], env) // a[2])


def _eval(terms: Terms, env: Mapping[str, int]) -> int:
    total = 0
    for m, c in terms:
        v = c
        for a in m:
            v *= _atom_value(a, env)
        total += v
    return total


def _py(terms: Terms) -> str:
    parts = []
    for m, c in terms:
        factors = [str(c)] + [(f"{a[1]}" if a[0] == "s" else f"(({_py(a[1])})//{a[2]})") for a in m]
        parts.append("*".join(factors))
    return " + ".join(parts) or "0"


def compile_expr(x: Any, names: tuple[str, ...]) -> Callable[..., int]:
    """A fast Python function of ``names`` computing ``x`` (the sizes solver evaluates forms this way)."""
    body = _py(x.terms) if isinstance(x, Expr) else str(int(x))
    code = f"lambda {', '.join(names)}: {body}"
    fn: Callable[..., int] = eval(code, {"__builtins__": {}})
    return fn


def _symbols(terms: Terms) -> Iterator[str]:
    for m, _ in terms:
        for a in m:
            if a[0] == "s":
                yield a[1]
            else:
                yield from _symbols(a[1])


def _period(terms: Terms) -> int:
    p = 1
    for m, _ in terms:
        for a in m:
            if a[0] == "f":
                p = math.lcm(p, _period(a[1]) * a[2])
    return p


_active: list[list[tuple[Expr, Literal[">=", "=="]]]] = []


def _record(e: Any, kind: Literal[">=", "=="]) -> None:
    if isinstance(e, Expr) and _active:
        _active[-1].append((e, kind))


@contextmanager
def collecting() -> Iterator[list[tuple[Expr, Literal[">=", "=="]]]]:
    """Collect what undecidable comparisons assume, as (form, kind) pairs meaning ``form ≥ 0`` or ``form = 0``,
    in the order they are made (:class:`~cnncalc.engine.symbolic.conditions.Condition` names the layer)."""
    found: list[tuple[Expr, Literal[">=", "=="]]] = []
    _active.append(found)
    try:
        yield found
    finally:
        _active.pop()
