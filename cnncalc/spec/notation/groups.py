"""The notation's structure: the input shape, the token stream, brackets and repeats, and the emitted entries."""

from __future__ import annotations

import re
from typing import Any

from cnncalc.errors import NotationError, SpecError
from cnncalc.model import Shape
from cnncalc.spec.format import MAX_LAYERS, parse_shape
from cnncalc.spec.notation.syntax import (
    _EXAMPLE,
    _MAX_DIGITS,
    _REPEAT_WORD,
    _TOKEN,
    _error,
    _Group,
    _Item,
    _Leaf,
    _Token,
)
from cnncalc.spec.notation.words import _leaf

# --- shape and tokens ---------------------------------------------------------------------------------------


def _shape(text: str, given: tuple[int, ...] | None) -> tuple[Shape, int]:
    """The input shape (``given`` wins over a written one) and where the layers start."""
    colon = text.find(":")
    written: Shape | None = None
    lead = re.match(r"\s*(\d+(?:\s*[x×]\s*\d+)*)\s*(?:->|→|,|\s|$)", text) if colon < 0 else None
    if lead:
        # ``3x32x32 -> conv3-8 …``: the shape followed by any item separator is the shape, as with a colon
        try:
            written = parse_shape(lead.group(1).lower())
        except SpecError as err:
            raise _error(text, lead.start(1), lead.end(1), f"cannot read the input shape: {err.reason}") from None
        colon = lead.end() - 1
    elif colon >= 0:
        raw = text[:colon]
        start = len(raw) - len(raw.lstrip())
        try:
            written = parse_shape(raw.strip().lower())
        except SpecError:
            end = max(len(raw.rstrip()), start + 1)
            raise _error(
                text, start, end, f"cannot read the input shape '{raw.strip()}': expected sizes channels first, "
                "like 3x224x224"
            ) from None
    if given is not None:
        try:
            return parse_shape(list(given)), colon + 1
        except SpecError as err:
            raise NotationError(f"input_shape {given!r}: {err.reason}") from None
    if written is None:
        first = re.search(r"\S+", text)
        raise _error(
            text, first.start() if first else 0, first.end() if first else 1, "missing input shape",
            hint=f"start with it, channels first, like '{_EXAMPLE}' (a colon, '->' or a space after it), or "
                 "give it apart (--input on the command line, input_shape in Python)",
        )
    return written, colon + 1


def _tokens(text: str, start: int) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(text, start):
        kind = m.lastgroup or "sep"
        if kind == "sep":
            continue
        if kind == "word" and _REPEAT_WORD.match(m.group()):
            kind = "repeat"
        out.append(_Token(kind, m.group(), m.start(), m.end()))
    return out


# --- structure: groups and repeats --------------------------------------------------------------------------


def _items(text: str, tokens: list[_Token], index: int, opening: _Token | None) -> tuple[list[_Item], int]:
    """Items up to the ``]`` closing ``opening`` (or the end); returns the index after that ``]``."""
    items: list[_Item] = []
    total = 0
    while index < len(tokens):
        tok = tokens[index]
        index += 1
        if tok.kind == "close":
            if opening is None:
                raise _error(text, tok.start, tok.end, f"']' at column {tok.start + 1} has no matching '['")
            if not items:
                raise _error(text, opening.start, tok.end, f"empty brackets at column {opening.start + 1}")
            return items, index
        if tok.kind == "open":
            inner, index = _items(text, tokens, index, tok)
            group = _Group(inner, tok.start, tokens[index - 1].end, size_once=sum(i.size for i in inner))
            items.append(group)
            total += group.size
        elif tok.kind in ("repeat", "star"):
            if not items:
                raise _error(text, tok.start, tok.end, f"'{tok.text}' at column {tok.start + 1} has nothing to repeat")
            last = items[-1]
            if last.count > 1:
                raise _error(
                    text, tok.start, tok.end, f"'{tok.text}' at column {tok.start + 1} repeats an item that is "
                    "already repeated; nest brackets instead: [[...]x2]x3"
                )
            total -= last.size
            last.count = _count(text, tok)
            if last.size > MAX_LAYERS:
                raise _error(
                    text, tok.start, tok.end, f"'{tok.text}' at column {tok.start + 1} makes {last.size:,} layers; "
                    f"the limit is {MAX_LAYERS:,}"
                )
            total += last.size
        else:
            items.append(_leaf(text, tok))
            total += 1
        if total > MAX_LAYERS:
            raise _error(
                text, tok.start, tok.end, f"the layers up to column {tok.end} expand to {total:,} layers; the limit "
                f"is {MAX_LAYERS:,}"
            )
    if opening is not None:
        raise _error(text, opening.start, opening.end, f"'[' at column {opening.start + 1} is never closed")
    return items, index


def _count(text: str, tok: _Token) -> int:
    """The N of ``xN``, ``×N`` or ``*N``."""
    digits = tok.text[1:]
    if not digits.isdigit() or not digits.isascii():
        raise _error(
            text, tok.start, tok.end,
            f"cannot read '{tok.text}' at column {tok.start + 1}: expected a whole repeat count like {tok.text[0]}2",
        )
    if len(digits) > _MAX_DIGITS or int(digits) > MAX_LAYERS:
        raise _error(
            text, tok.start, tok.end, f"'{tok.text}' at column {tok.start + 1} repeats more than the limit of "
            f"{MAX_LAYERS:,} layers"
        )
    if int(digits) < 1:
        raise _error(text, tok.start, tok.end, f"'{tok.text}' at column {tok.start + 1}: the repeat count must be "
                     "at least 1")
    return int(digits)


def _emit(items: list[_Item]) -> list[dict[str, Any]]:
    """Spec entries: a repeated token gets ``repeat``, a repeated group becomes ``{repeat, layers}``."""
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, _Leaf):
            out.append(item.entry if item.count == 1 else {**item.entry, "repeat": item.count})
        elif item.count == 1:
            out.extend(_emit(item.items))
        elif len(item.items) == 1 and isinstance(item.items[0], _Leaf) and item.items[0].count == 1:
            out.append({**item.items[0].entry, "repeat": item.count})
        else:
            out.append({"repeat": item.count, "layers": _emit(item.items)})
    return out
