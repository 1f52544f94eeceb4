"""Traced integers: ints that remember the arithmetic that made them, so ``--explain`` shows the engine's own work.

The formulas in ``engine.layers`` and ``engine.dims`` are written for plain ints. Fed with :class:`Traced`
values (an ``int`` subclass, so every comparison, ``isinstance`` check and index works unchanged), they return
Traced results whose :attr:`~Traced.expr` is the formula with the numbers substituted, e.g.
``⌊(227 + 0 + 0 − 11) / 4⌋ + 1``. There is no second copy of any formula to drift from the first.
"""

from __future__ import annotations

from typing import Any, SupportsIndex

# Binding strength, to parenthesise only where needed.
_ATOM, _MUL, _ADD = 3, 2, 1


class Traced(int):
    """An int with the expression that produced it (``expr``) and its precedence (for parentheses)."""

    expr: str
    level: int
    #: A settled value (an output size already explained on its own line) shows as its number inside others.
    settled: bool

    def __new__(cls, value: SupportsIndex, expr: str | None = None, level: int = _ATOM) -> Traced:
        """``Traced(55)`` shows as ``55``; arithmetic builds longer expressions."""
        obj = super().__new__(cls, value)
        obj.expr = str(int(value)) if expr is None else expr
        obj.level = level
        obj.settled = False
        return obj

    def __repr__(self) -> str:
        return f"Traced({int(self)}, {self.expr!r})"

    def __str__(self) -> str:
        return int.__repr__(self)

    def __format__(self, spec: str) -> str:
        return int(self).__format__(spec)

    # -- building expressions

    @staticmethod
    def _wrap(x: Any, level: int) -> str:
        if isinstance(x, Traced) and not x.settled:
            text, own = x.expr, x.level
        else:
            text, own = str(int(x)), _ATOM
        return f"({text})" if own < level else text

    def _bin(
        self, other: Any, value: int, sym: str, level: int, *, swap: bool = False, right: int = 0, tight: bool = False
    ) -> Traced:
        a, b = (other, self) if swap else (self, other)
        gap = "" if tight else " "
        return Traced(value, f"{self._wrap(a, level)}{gap}{sym}{gap}{self._wrap(b, level + right)}", level)

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return int(self) + other
        if not isinstance(other, Traced) and other == 0:
            return self
        return self._bin(other, int(self) + int(other), "+", _ADD)

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, int) and not isinstance(other, Traced) and other == 0:
            return self  # sum() starts from 0
        if not isinstance(other, int):
            return other + int(self)
        return self._bin(other, int(other) + int(self), "+", _ADD, swap=True)

    def __sub__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return int(self) - other
        return self._bin(other, int(self) - int(other), "−", _ADD, right=1)

    def __rsub__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return other - int(self)
        return self._bin(other, int(other) - int(self), "−", _ADD, swap=True, right=1)

    def __mul__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return int(self) * other
        if isinstance(other, bool):
            return self if other else Traced(0)
        if int(other) == 1 and not isinstance(other, Traced):
            return self
        return self._bin(other, int(self) * int(other), "·", _MUL, tight=True)

    def __rmul__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return other * int(self)
        if int(other) == 1 and not isinstance(other, Traced):
            return self
        return self._bin(other, int(other) * int(self), "·", _MUL, swap=True, tight=True)

    def __floordiv__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return int(self) // other
        return Traced(int(self) // int(other), f"⌊{self._wrap(self, _MUL)} / {self._wrap(other, _ATOM)}⌋")

    def __rfloordiv__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return other // int(self)
        return Traced(int(other) // int(self), f"⌊{self._wrap(other, _MUL)} / {self._wrap(self, _ATOM)}⌋")

    def __mod__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return int(self) % other
        return Traced(int(self) % int(other), f"{self._wrap(self, _ATOM)} mod {self._wrap(other, _ATOM)}", _MUL)

    def __neg__(self) -> Traced:
        return Traced(-int(self), f"−{self._wrap(self, _ATOM)}", _ATOM)

    def __pos__(self) -> Traced:
        return self

    def __hash__(self) -> int:
        return int.__hash__(self)


def settle(value: Any) -> Any:
    """Mark a traced result as explained: later expressions use its number (``55``), not its formula again."""
    if not isinstance(value, Traced):
        return value
    out = Traced(value, value.expr, value.level)
    out.settled = True
    return out


def ceil_of(a: int, b: int) -> Traced:
    """⌈a / b⌉ as a traced value (called by :func:`cnncalc.engine.dims.ceildiv`)."""
    return Traced(-((-int(a)) // int(b)), f"⌈{Traced._wrap(a, _MUL)} / {Traced._wrap(b, _ATOM)}⌉")


def term(value: Any, label: str) -> Any:
    """A settled term of a sum with what it counts after it: ``311,904·2 (2 per multiply-add)``.

    A plain int (the engine's own run) is returned as it is, and a zero term is dropped (plain 0), so only a
    derivation gains the words.
    """
    if not isinstance(value, Traced):
        return value
    if int(value) == 0:
        return 0
    return Traced(value, f"{Traced._wrap(value, _MUL)} ({label})", _ADD)


def traced(value: Any) -> Any:
    """Wrap ints (and lists/tuples of them) as Traced; leave everything else (bools, strings, None) alone."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if isinstance(value, Traced) else Traced(value)
    if isinstance(value, list):
        return [traced(v) for v in value]
    if isinstance(value, tuple):
        return tuple(traced(v) for v in value)
    return value


def expr(value: Any) -> str:
    """The expression behind a value, or its plain text."""
    return value.expr if isinstance(value, Traced) else str(value)
