"""Numbers as people write them, read in one place: figures and small arithmetic.

Two readers share this module. A spec's ``expect:`` data holds published figures (``"138M"``, ``"2.7Ki"``) that
hold at the precision they are printed with; a homework table holds figures written by hand (``3,072``, ``35K``,
``(5*5*3+1)*8``). Both come down to :func:`parse_figure`. The one safe arithmetic evaluator, :func:`evaluate`,
serves a spec's ``${expr}`` (block arguments, comparisons, and/or/not) and a table's ``(5*5*3+1)*8``: it walks
Python's syntax tree and allows a few operations, so nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ExpressionError", "FigureTooLargeError", "evaluate", "integer_expression", "parse_figure", "read_figure"]

#: The most digits a figure (a published number, a table cell) may have: far beyond any real count, and it keeps
#: every figure a finite float (a 309-digit integer is not one).
MAX_FIGURE_DIGITS = 30
#: The largest magnitude an expression may reach (``${...}`` in specs, arithmetic in table cells).
MAX_EXPRESSION_VALUE = 10**18
#: The longest expression read (``${...}`` or a table cell's arithmetic).
MAX_EXPRESSION_CHARS = 200

_FIGURE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([KMGT]i?)?\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def parse_figure(text: str) -> tuple[float, float]:
    """A published figure ``"138M"`` / ``"2.7Ki"`` / ``"1.2e6"`` → (value, half-width of its last digit).

    ``K, M, G, T`` are powers of 1000; ``Ki, Mi, Gi, Ti`` powers of 1024 (GoogLeNet's "2.7K" params are Ki).
    """
    m = _FIGURE.match(text.replace(",", "")) if len(text) <= 10_000 else None
    if not m:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"{shown!r} is not a number like 138357544, '138M', '2.7Ki' or '1.2e6'")
    digits, unit = m.group(1), (m.group(2) or "").lower()
    scale = _SCALE[unit]
    mantissa = digits.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(digits.lower().split("e")[1]) if "e" in digits.lower() else 0
    if len(mantissa.replace(".", "")) > MAX_FIGURE_DIGITS or abs(exponent) > MAX_FIGURE_DIGITS:
        raise FigureTooLargeError(f"is too large: figures are limited to {MAX_FIGURE_DIGITS} digits and exponents to "
                         f"e±{MAX_FIGURE_DIGITS}")
    return float(digits) * scale, 0.5 * 10.0 ** (exponent - decimals) * scale


class FigureTooLargeError(ValueError):
    """A figure past :data:`MAX_FIGURE_DIGITS` digits: said as such, never read as "not a number"."""


def read_figure(text: str) -> tuple[float, float] | None:
    """A hand-written figure → (value, half-width), or None when ``text`` is not one.

    Unlike a published figure, plain digits (``3,072``) and arithmetic (``(5*5*3+1)*8``, ``5·5·3·8 + 8``) are
    exact; ``1.2 × 10^6`` is ``1.2e6``; and trailing zeros before a unit are not taken as significant: ``800K``
    holds from 750K to 850K, as cs231n's 802,816 is often written so.
    """
    t = re.sub(r"(\d(?:\.\d+)?)\s*[x×·*]\s*10\s*\^\s*([+-]?\d+)", r"\1e\2", text)
    compact = t.replace(" ", "").replace("\u202f", "").replace("\u2009", "")
    try:
        value, half = parse_figure(compact)
    except FigureTooLargeError:
        raise
    except ValueError:
        exact = integer_expression(compact)
        return None if exact is None else (float(exact), 0.0)
    if re.fullmatch(r"[\d,]+", compact):
        return value, 0.0
    zeros = re.fullmatch(r"\d*?(0+)[KMGTkmgt]i?", compact)
    if zeros:
        half *= 10 ** len(zeros.group(1))
    return value, half


def integer_expression(text: str) -> int | None:
    """The value of ``(5*5*3+1)*8``, ``5x5x3x8+8``, ``5·5·3·8 + 8``: integers, + − × and parentheses only."""
    source = re.sub(r"[x×·]", "*", text.replace("−", "-"))
    if len(source) > MAX_EXPRESSION_CHARS:
        return None
    if not re.fullmatch(r"[\d+\-*()]+", source) or not re.search(r"[+*\-]", source):
        return None
    try:
        value = evaluate(source)
    except (ExpressionError, RecursionError, ZeroDivisionError):
        return None
    return value if isinstance(value, int) else None


# --- the evaluator ----------------------------------------------------------------------------------------------


class ExpressionError(ValueError):
    """Why an expression cannot be evaluated.

    ``reason`` is ``syntax``, ``name``, ``operation``, ``type`` (an operand that is not a number: ``name`` says
    which, so a block argument given as ``"8"`` is named) or ``size`` (beyond :data:`MAX_EXPRESSION_VALUE`, or
    longer than :data:`MAX_EXPRESSION_CHARS`).
    """

    def __init__(self, reason: str, name: str = "") -> None:
        super().__init__(f"{reason}: {name}" if name else reason)
        self.reason = reason
        #: The unknown name, for ``reason == "name"``.
        self.name = name


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "Add": operator.add, "Sub": operator.sub, "Mult": operator.mul, "FloorDiv": operator.floordiv, "Mod": operator.mod,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "Eq": operator.eq, "NotEq": operator.ne, "Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt,
    "GtE": operator.ge,
}


def evaluate(expr: str, names: Mapping[str, Any] | None = None) -> Any:
    """Numbers, ``names``, + - * // %, ``round(x)``, comparisons and and/or/not; nothing else (no eval).

    ``round`` is Python's (halves to even, an int), so a width written ``round(0.25 * w)`` is the one a model's
    ``int(round(se_ratio * w))`` computes (torchvision's RegNet squeeze-excitation).

    Operands must be numbers (int, float, bool): a string, list or mapping bound to a name is an ``ExpressionError``
    of reason ``type`` naming it, never Python's ``"8" * 2 == "88"``; any intermediate value beyond
    :data:`MAX_EXPRESSION_VALUE` is reason ``size``. Raises :class:`ExpressionError` for what it cannot read or
    does not allow, and lets ``ZeroDivisionError`` through for the caller to word.
    """
    import ast  # only specs with ${...} expressions and tables with arithmetic pay for it

    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ExpressionError("size", f"longer than {MAX_EXPRESSION_CHARS} characters")
    bound = names or {}

    def number(value: Any, what: str) -> Any:
        if not isinstance(value, int | float):  # bool is an int
            raise ExpressionError("type", what)
        if abs(value) > MAX_EXPRESSION_VALUE:
            raise ExpressionError("size", f"beyond {MAX_EXPRESSION_VALUE:.0e}")
        return value

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | bool):
            return number(node.value, repr(node.value))
        if isinstance(node, ast.Name):
            if node.id not in bound:
                raise ExpressionError("name", node.id)
            return number(bound[node.id], node.id)
        if isinstance(node, ast.BinOp) and type(node.op).__name__ in _BINOPS:
            return number(_BINOPS[type(node.op).__name__](walk(node.left), walk(node.right)), "the result")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -number(walk(node.operand), "the operand of -")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not walk(node.operand)
        if isinstance(node, ast.BoolOp):
            values = [walk(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "round"
                and len(node.args) == 1 and not node.keywords):
            return number(round(number(walk(node.args[0]), "the argument of round")), "the result")
        if isinstance(node, ast.Compare) and all(type(op).__name__ in _COMPARE for op in node.ops):
            left, ok = walk(node.left), True
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = walk(right_node)
                ok = ok and _COMPARE[type(op).__name__](left, right)
                left = right
            return ok
        raise ExpressionError("operation")

    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, ValueError, MemoryError):  # ValueError: a NUL byte; MemoryError: the parser's own limit
        raise ExpressionError("syntax") from None
    except RecursionError:
        raise ExpressionError("size", "nested too deeply") from None
    try:
        return walk(tree)
    except RecursionError:
        raise ExpressionError("size", "nested too deeply") from None
    except OverflowError:
        raise ExpressionError("size", f"beyond {MAX_EXPRESSION_VALUE:.0e}") from None
