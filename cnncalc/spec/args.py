"""Block and network arguments: ``$name`` stands for a value, ``"${expr}"`` for arithmetic on them, ``if:`` tests.

Expressions go through :mod:`cnncalc.spec.figures`' one safe evaluator; this module words its errors for specs.
"""

from __future__ import annotations

from typing import Any

from cnncalc.errors import SpecError
from cnncalc.spec.figures import MAX_EXPRESSION_CHARS, MAX_EXPRESSION_VALUE, ExpressionError, evaluate


def _evaluate(expr: str, args: dict[str, Any]) -> Any:
    """Arithmetic, round(), comparisons and and/or/not on block arguments (spec.figures' evaluator), for specs."""
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise SpecError(f"a block expression is limited to {MAX_EXPRESSION_CHARS} characters")
    try:
        return evaluate(expr, args)
    except ExpressionError as err:
        if err.reason == "name":
            known = ", ".join(args)
            raise SpecError(f"'{err.name}' in '${{{expr}}}' is not an argument of this block ({known})") from None
        if err.reason == "type":
            value = args.get(err.name)
            kind = next((word for cls, word in ((str, "a string"), (list, "a list"), (dict, "a mapping"))
                         if isinstance(value, cls)), "not a number" if value is None else type(value).__name__)
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise SpecError(
                f"'${{{expr}}}' computes with '{err.name}', which is {kind} ({shown}), not a number",
                hint=f"give {err.name} as a number, e.g. with: {{{err.name}: 8}} rather than \"8\"",
            ) from None
        if err.reason == "size":
            raise SpecError(
                f"'${{{expr}}}' is out of range: {err.name} (block expressions are limited to "
                f"{MAX_EXPRESSION_CHARS} characters and values up to {MAX_EXPRESSION_VALUE:.0e})"
            ) from None
        if err.reason == "syntax":
            raise SpecError(f"cannot read the expression '${{{expr}}}'") from None
        raise SpecError(
            f"'${{{expr}}}' may only use + - * // %, round(), comparisons, and/or/not on block arguments and numbers"
        ) from None
    except ZeroDivisionError:
        raise SpecError(f"'${{{expr}}}' divides by zero") from None


def substitute(value: Any, args: dict[str, Any]) -> Any:
    """Replace ``$name`` and ``${expr}`` strings (recursively), keeping line information on mappings."""
    if isinstance(value, str) and value.startswith("$"):
        if value.startswith("${") and value.endswith("}"):
            return _evaluate(value[2:-1], args)
        key = value[1:]
        if key not in args:
            raise SpecError(f"'{value}' is not an argument of this block (it takes: {', '.join(args) or 'none'})")
        return args[key]
    if isinstance(value, dict):
        out = type(value)()
        for attr in ("line", "key_lines"):
            if hasattr(value, attr):
                setattr(out, attr, getattr(value, attr))
        out.update({k: substitute(v, args) for k, v in value.items()})
        return out
    if isinstance(value, list):
        items = [substitute(v, args) for v in value]
        if hasattr(value, "key_lines"):
            out_list: Any = type(value)(items)
            out_list.line, out_list.key_lines = getattr(value, "line", 0), getattr(value, "key_lines", {})
            return out_list
        return items
    return value
