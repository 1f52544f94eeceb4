"""The notation's tokens and cursor, its limits, and its caret messages: what every other part reads with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cnncalc.errors import NotationError

#: Separators, brackets, a ``*N`` repeat, and words (anything else up to a separator; ``->`` ends a word).
_TOKEN = re.compile(
    r"(?P<sep>\s+|,|->|→)|(?P<open>\[)|(?P<close>\])|(?P<star>\*(?:(?!->)[^\s,\[\]*→])*)"
    r"|(?P<word>(?:(?!->)[^\s,\[\]*→])+)"
)
_REPEAT_WORD = re.compile(r"^[x×](?:[0-9]|$)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = 9
_WIDTH = 100
_EXAMPLE = "3x32x32: conv5-8 maxpool2 conv5-16 maxpool2 fc-120 fc-84 fc-10"
#: How the notation writes the registered types that need fields (matched by class: conv2d is conv's).
_EXAMPLES = {"conv": "conv3-64", "maxpool": "maxpool2", "avgpool": "avgpool2", "fc": "fc-10", "linear": "linear-10"}
#: Notation words that are not type names, offered as did-you-mean hints next to the registry's names.
_KEYWORDS = ("conv", "dwconv", "maxpool", "avgpool", "pool", "fc", "linear", "gap", "gmp", "dropout", "m")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


@dataclass(slots=True)
class _Leaf:
    entry: dict[str, Any]
    start: int
    end: int
    count: int = 1

    @property
    def size(self) -> int:
        return self.count


@dataclass(slots=True)
class _Group:
    items: list[_Leaf | _Group]
    start: int
    end: int
    count: int = 1
    size_once: int = 0

    @property
    def size(self) -> int:
        return self.count * self.size_once


_Item = _Leaf | _Group


class _TokenError(Exception):
    """A token could not be read; the caller knows where the token is and turns this into a NotationError."""


@dataclass
class _Cursor:
    """Reads one lower-cased token left to right."""

    text: str
    pos: int = 0
    seen: set[str] = field(default_factory=set)

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def rest(self) -> str:
        return self.text[self.pos :]

    def eat(self, prefix: str) -> bool:
        if self.text.startswith(prefix, self.pos):
            self.pos += len(prefix)
            return True
        return False

    def at_digit(self) -> bool:
        return not self.done() and self.text[self.pos] in "0123456789"

    def number(self, what: str, like: str, *, minimum: int = 1) -> int:
        """A decimal number (ASCII digits only: ``int()`` takes others), ``like`` showing how it is written."""
        m = _DIGITS.match(self.text, self.pos)
        if not m:
            raise _TokenError(f"expected {what} (like {like})")
        if len(m.group()) > _MAX_DIGITS:
            raise _TokenError(f"{what} {m.group()} is too large")
        self.pos = m.end()
        value = int(m.group())
        if value < minimum:
            raise _TokenError(f"{what} must be at least {minimum}, got {value}")
        return value

    def sizes(self, what: str, like: str, *, minimum: int = 1) -> int | list[int]:
        """``3`` → 3, ``1x7`` → [1, 7]: one size, or one per spatial dim (at most 3)."""
        values = [self.number(what, like, minimum=minimum)]
        while _DIGITS.match(self.text, self.pos + 1) and self.text.startswith("x", self.pos):
            self.pos += 1
            values.append(self.number(what, like, minimum=minimum))
        if len(values) > 3:
            raise _TokenError(f"{what} has {len(values)} sizes; at most 3 (one per spatial dim)")
        return values[0] if len(values) == 1 else values

    def once(self, key: str) -> None:
        if key in self.seen:
            raise _TokenError(f"{key} is given twice")
        self.seen.add(key)


# --- messages -----------------------------------------------------------------------------------------------


def _pointer(text: str, start: int, end: int) -> str:
    """The text (a window of it when long) with carets under ``text[start:end]``."""
    shown = re.sub(r"\s", " ", text)
    lo, hi = 0, len(shown)
    if len(shown) > _WIDTH:
        lo = max(0, min(start - 30, len(shown) - _WIDTH))
        hi = min(len(shown), lo + _WIDTH)
    before = "…" if lo else ""
    after = "…" if hi < len(shown) else ""
    carets = "^" * max(1, min(end, hi) - start)
    return f"  {before}{shown[lo:hi]}{after}\n  {' ' * (len(before) + start - lo)}{carets}"


def _error(text: str, start: int, end: int, reason: str, *, hint: str | None = None) -> NotationError:
    return NotationError(f"{reason}\n{_pointer(text, start, end)}", hint=hint)
