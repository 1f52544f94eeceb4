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
from itertools import chain, repeat
from json.encoder import encode_basestring_ascii
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
#: Rows encoded together on the column path.
_CHUNK = 4096


class _UnsupportedError(Exception):
    """Not plain JSON data: the standard library handles (or refuses) it."""


def dumps(obj: Any, end: str = "") -> str:
    """The same text as ``json.dumps(obj, indent=2) + end`` (``end`` saves copying a large result once more)."""
    out: list[str] = []
    try:
        _write(obj, 0, out)
    except (_UnsupportedError, RecursionError):
        return json.dumps(obj, indent=2) + end
    out.append(end)
    return "".join(out)


def _indent(level: int) -> str:
    return "\n" + "  " * level


def _cells(values: list[Any], kinds: set[type] | None = None) -> list[str]:
    """Each scalar's JSON text: ints and strings by the encoder's own functions mapped in C, the rest from one C
    call of the encoder."""
    if not values:
        return []
    kinds = set(map(type, values)) if kinds is None else kinds
    if len(kinds) == 1:
        if int in kinds:
            return list(map(int.__repr__, values))
        if str in kinds:
            return list(map(encode_basestring_ascii, values))
    return _BULK.encode(values)[1:-1].split(_CUT)


def _write(obj: Any, level: int, out: list[str]) -> None:
    """Append ``obj``'s text at nesting ``level`` to ``out``."""
    kind = type(obj)
    if kind in _SCALARS:
        out.append(_ONE.encode(obj))
    elif kind in _LISTS:
        if not obj:
            out.append("[]")
            return
        inner = "," + _indent(level + 1)
        out.append("[" + inner[1:])
        if (kinds := set(map(type, obj))) <= _SCALARS:
            out.append(inner.join(_cells(list(obj), kinds)))
        elif len(obj) >= _RECORDS and (pieces := _records(obj, level + 1, inner)) is not None:
            out += pieces
        else:
            for i, item in enumerate(obj):
                if i:
                    out.append(inner)
                _write(item, level + 1, out)
        out.append(_indent(level) + "]")
    elif kind is dict:
        if not obj:
            out.append("{}")
            return
        inner = "," + _indent(level + 1)
        out.append("{" + inner[1:])
        for i, (key, value) in enumerate(obj.items()):
            if type(key) is not str:
                raise _UnsupportedError
            out.append((inner if i else "") + _ONE.encode(key) + ": ")
            _write(value, level + 1, out)
        out.append(_indent(level) + "}")
    else:
        raise _UnsupportedError


def _records(rows: Any, level: int, between: str) -> list[str] | None:
    """Mappings with the same string keys in the same order (at ``level``), encoded column by column: the text of
    all rows, ``between`` each two, in chunks of :data:`_CHUNK` rows (the temporaries stay small)."""
    if not all(type(row) is dict for row in rows):
        return None
    shapes = set(map(tuple, rows))
    if len(shapes) != 1:
        return None
    keys = shapes.pop()
    if not keys or not all(type(key) is str for key in keys):
        return None
    texts = [_chunk(rows[i : i + _CHUNK], keys, level, between) for i in range(0, len(rows), _CHUNK)]
    texts[-1] = texts[-1][: len(texts[-1]) - len(between)]  # no separator after the last row
    return texts


def _chunk(rows: Any, keys: tuple[str, ...], level: int, between: str) -> str:
    """Some rows' text, each followed by ``between``: literal text and cells interleaved row by row."""
    columns = zip(*map(itemgetter(*keys), rows), strict=True) if len(keys) > 1 else ([row[keys[0]] for row in rows],)
    inner = "," + _indent(level + 1)
    parts: list[Any] = []  # literal text (str) and cell columns (lists), in the order a row is written
    text = "{" + inner[1:]
    for i, (key, column) in enumerate(zip(keys, columns, strict=True)):
        cells, before, after = _column(list(column), level + 1)
        text += (inner if i else "") + _ONE.encode(key) + ": " + before
        if cells is not None:
            parts += [text, cells]
            text = ""
        text += after
    parts.append(text + _indent(level) + "}" + between)
    if len(parts) == 1:  # every value's text is fixed (say, all lists empty): the same row n times
        parts.insert(0, [""] * len(rows))
    return "".join(chain.from_iterable(zip(*(repeat(p) if type(p) is str else p for p in parts), strict=False)))


def _column(values: list[Any], level: int) -> tuple[list[str] | None, str, str]:
    """One key's values over all rows as JSON text at ``level``, with the text around each (``None``: every value's
    text is the text around it, e.g. all lists empty).

    Lists of one length keep their brackets outside the cells, so a row's list costs one join (none for one item).
    """
    kinds = set(map(type, values))
    if kinds <= _SCALARS:
        return _cells(values, kinds), "", ""
    if kinds <= _LISTS | {type(None)}:
        nones = type(None) in kinds
        flat = list(chain.from_iterable(v for v in values if v is not None) if nones else chain.from_iterable(values))
        if (flat_kinds := set(map(type, flat))) <= _SCALARS:
            items = _cells(flat, flat_kinds)
            sizes = set() if nones else set(map(len, values))
            if sizes == {0}:
                return None, "[]", ""
            if len(sizes) == 1:
                size = sizes.pop()
                inner = "," + _indent(level + 1)
                cells = items if size == 1 else list(map(inner.join, zip(*[iter(items)] * size, strict=False)))
                return cells, "[" + inner[1:], _indent(level) + "]"
            return _lists(values, items, level), "", ""
    texts = []
    for value in values:
        part: list[str] = []
        _write(value, level, part)
        texts.append("".join(part))
    return texts, "", ""


def _lists(values: list[Any], flat: list[str], level: int) -> list[str]:
    """Lists of scalars (or ``None``) laid out from their items' texts, in order."""
    inner = "," + _indent(level + 1)
    head, tail = "[" + inner[1:], _indent(level) + "]"
    out = []
    at = 0
    for value in values:
        if value is None:
            out.append("null")
        elif not value:
            out.append("[]")
        else:
            out.append(head + inner.join(flat[at : at + len(value)]) + tail)
            at += len(value)
    return out
