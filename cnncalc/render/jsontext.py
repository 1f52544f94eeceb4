"""``json.dumps(obj, indent=2)``, byte for byte, at the speed of the standard library's C encoder.

With ``indent`` set, the standard library encodes in pure Python (about 17 µs per layer row of a report); without
it, in C. So the values are encoded in C, many at a time, and only the layout is done here: a list of scalars is
one C call, and a list of mappings with the same keys (a report's layer rows) is encoded column by column, each
row then filled into one template. Anything else is laid out by a small recursive writer, and anything that is
not plain JSON data (another type, a non-string key, a cycle) goes to ``json.dumps`` itself, so the output and the
errors are always the standard library's.
"""

from __future__ import annotations

import json
from itertools import chain
from operator import itemgetter
from typing import Any

__all__ = ["dumps"]

#: JSON scalars (exact types: a subclass of int or str is left to the standard library).
_SCALARS = frozenset({str, int, float, bool, type(None)})
_LISTS = frozenset({list, tuple})
#: Item separator of the bulk encoder: a control character, which the encoder escapes inside strings, so the
#: encoded list splits into one cell per value exactly.
_CUT = "\x00"
_BULK = json.JSONEncoder(separators=(_CUT, ": "), check_circular=False)
_ONE = json.JSONEncoder(check_circular=False)
#: Lists at least this long take the column path (below it the recursive writer is as fast).
_RECORDS = 8


class _Unsupported(Exception):
    """Not plain JSON data: the standard library handles (or refuses) it."""


def dumps(obj: Any) -> str:
    """The same text as ``json.dumps(obj, indent=2)``."""
    try:
        return _text(obj, 0)
    except (_Unsupported, RecursionError):
        return json.dumps(obj, indent=2)


def _indent(level: int) -> str:
    return "\n" + "  " * level


def _cells(values: list[Any]) -> list[str]:
    """Each scalar's JSON text, from one C call."""
    if not values:
        return []
    return _BULK.encode(values)[1:-1].split(_CUT)


def _text(obj: Any, level: int) -> str:
    kind = type(obj)
    if kind in _SCALARS:
        return _ONE.encode(obj)
    if kind in _LISTS:
        if not obj:
            return "[]"
        inner = _indent(level + 1)
        if set(map(type, obj)) <= _SCALARS:
            items = _cells(list(obj))
        elif len(obj) >= _RECORDS and (rows := _records(obj, level + 1)) is not None:
            items = rows
        else:
            items = [_text(item, level + 1) for item in obj]
        return "[" + inner + ("," + inner).join(items) + _indent(level) + "]"
    if kind is dict:
        if not obj:
            return "{}"
        if not all(type(key) is str for key in obj):
            raise _Unsupported
        inner = _indent(level + 1)
        items = [_ONE.encode(key) + ": " + _text(value, level + 1) for key, value in obj.items()]
        return "{" + inner + ("," + inner).join(items) + _indent(level) + "}"
    raise _Unsupported


def _records(rows: Any, level: int) -> list[str] | None:
    """Mappings with the same string keys in the same order (at ``level``), encoded column by column."""
    if not all(type(row) is dict for row in rows):
        return None
    shapes = set(map(tuple, rows))
    if len(shapes) != 1:
        return None
    keys = shapes.pop()
    if not keys or not all(type(key) is str for key in keys):
        return None
    columns = zip(*map(itemgetter(*keys), rows)) if len(keys) > 1 else ([row[keys[0]] for row in rows],)
    cells = [_column(list(column), level + 1) for column in columns]
    inner = _indent(level + 1)
    template = "{" + inner + ("," + inner).join(_ONE.encode(key).replace("%", "%%") + ": %s" for key in keys)
    template += _indent(level) + "}"
    return list(map(template.__mod__, zip(*cells)))


def _column(values: list[Any], level: int) -> list[str]:
    """One key's values over all rows, as JSON text at ``level``."""
    kinds = set(map(type, values))
    if kinds <= _SCALARS:
        return _cells(values)
    if kinds <= _LISTS | {type(None)}:
        lists = [v for v in values if v is not None]
        flat = list(chain.from_iterable(lists))
        if set(map(type, flat)) <= _SCALARS:
            return _lists(values, _cells(flat), level)
    return [_text(value, level) for value in values]


def _lists(values: list[Any], flat: list[str], level: int) -> list[str]:
    """Lists of scalars (or ``None``) laid out from their items' cells, in order."""
    inner = _indent(level + 1)
    join = ("," + inner).join
    wrap = ("[" + inner + "{}" + _indent(level) + "]").format
    sizes = set(map(len, values)) if None not in values else None
    if sizes is not None and len(sizes) == 1:
        size = sizes.pop()
        if size == 0:
            return ["[]"] * len(values)
        items = iter(flat)
        return list(map(wrap, map(join, zip(*[items] * size))))
    out = []
    at = 0
    for value in values:
        if value is None:
            out.append("null")
        elif not value:
            out.append("[]")
        else:
            out.append(wrap(join(flat[at : at + len(value)])))
            at += len(value)
    return out
