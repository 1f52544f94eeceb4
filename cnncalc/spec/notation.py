"""A one-line notation for plain CNNs, as the VGG paper and the cs231n notes write them.

``3x32x32: conv5-8 maxpool2 conv5-16 maxpool2 fc-120 fc-84 fc-10`` is parsed into the same spec dict a YAML
file would hold and validated by :func:`cnncalc.spec.format.build`, so both forms give identical reports. Parsing
never guesses: anything ambiguous or unknown is a :class:`~cnncalc.errors.NotationError` quoting the text with a
caret under the token.

Grammar
-------
``[SHAPE:] ITEM ITEM ...`` — case-insensitive; items are separated by spaces, commas, ``->`` or ``→``.
SHAPE is channels first (``3x224x224``); it may be left out when ``input_shape`` is given, which overrides it.

==========================  ===========================================================================
``conv{K}-{C}``              conv, K×K kernel, C filters, stride 1, padding 0, bias (PyTorch defaults);
                             K per dim: ``conv1x7-64``
  suffixes, any order        ``s{S}`` or ``/{S}`` stride, ``p{P}`` padding (``psame``, ``pvalid``,
                             ``psame_lower``), ``d{D}`` dilation, ``g{G}`` groups, ``nb``/``nobias``
  ``-{act}`` at the end      fused activation: ``conv3-64p1-relu`` (a type the registry marks fusable:
                             shape-keeping and parameterless; ``prelu`` is not, write ``conv3-64 prelu``)
``dwconv{K}[-{C}]``          depthwise (groups: depthwise); without C it keeps the channels
                             (``out_channels: same``): ``dwconv3s2``
``maxpool{K}``               max pooling, stride = K unless ``s``/``/`` given; ``p``, ``d``, ``ceil`` too;
                             ``pool{K}`` is the same, ``M`` (VGG's Table 1) is ``maxpool2``
``avgpool{K}``               average pooling (``s``, ``p``, ``ceil``)
``gap`` / ``gmp``            global average / max pooling (also ``globalavgpool``, ``globalmaxpool``)
``adaptive_avgpool{N}``      adaptive pooling to N (per dim ``7x7``); also ``adaptive_maxpool{N}``
``fc-{N}`` / ``fc{N}``       linear layer with N outputs that flattens its input first; ``linear-{N}``;
                             ``nb`` and ``-{act}`` as for conv
``dropout`` ``dropout0.4``   dropout (p = 0.5 by default)
any registered type name     a layer that needs no fields: ``relu``, ``tanh``, ``bn``, ``lrn``, ``flatten``,
                             ``softmax``, ``batchnorm2d``… (new registered types work as they are)
``[ ... ]xN``                the group N times; groups nest: ``[[conv3-64p1]x2 M]x2``
``ITEM xN``                  a separate ``xN`` (or ``×N``, ``*N``) repeats the item before it: ``conv3-64 x2``
``ITEM*N``                   ``*N`` may also be glued to a token: ``conv3-64p1*2``; ``]*N``, ``]×N`` too
==========================  ===========================================================================

Repetition: inside a token, ``x`` always joins per-dimension sizes (``conv3x3-64``, ``conv1x7-64p0x3``), never
a repeat count, so a token repeats only with a glued ``*N``, a separate ``xN`` or brackets. A per-dimension
stride, padding or dilation needs a kernel written per dimension with as many sizes; so ``conv3-64p1x2`` is an
error (repeat, or padding 1x2?) instead of a silent guess, as is ``conv3-64x2``.

A ``dwconv`` without C keeps its input's channels: it is written ``out_channels: same``, which the conv resolves
when the network is analysed (the notation itself never evaluates a layer). A fused ``-{act}`` must be a type the
registry marks ``fusable`` (parameterless, shape-keeping); any other layer type is its own item: ``conv3-64 prelu``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError

from cnncalc.engine.layers import REGISTRY, suggest
from cnncalc.errors import NotationError, SpecError
from cnncalc.model import Network, Shape
from cnncalc.spec.format import MAX_LAYERS, build, parse_shape

__all__ = ["describe_grammar", "parse", "to_spec"]

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


def describe_grammar() -> str:
    """The grammar section of this module's docstring, for ``--help`` texts and the README."""
    doc = __doc__ or ""
    return doc[doc.index("Grammar") :].strip()


def parse(text: str, *, input_shape: tuple[int, ...] | None = None, name: str = "expression") -> Network:
    """A validated :class:`Network` from a one-line notation (see the module docstring for the grammar)."""
    data = to_spec(text, input_shape=input_shape, name=name)
    try:
        return build(data)
    except NotationError:
        raise
    except SpecError as err:  # to_spec validated every layer, so this is a limit the builder knows better
        raise NotationError(f"{err.reason}\n{_pointer(text, 0, len(text))}", hint=err.hint) from None


def to_spec(text: str, *, input_shape: tuple[int, ...] | None = None, name: str = "expression") -> dict[str, Any]:
    """The spec dict (as a YAML file would hold it) that ``text`` stands for; repeats stay ``repeat`` entries."""
    if not text.strip():
        raise NotationError(f"empty notation: expected an input shape and layers, like '{_EXAMPLE}'")
    shape, body_start = _shape(text, input_shape)
    tokens = _tokens(text, body_start)
    if not tokens:
        raise _error(text, 0, body_start, "no layers after the input shape")
    items, _ = _items(text, tokens, 0, None)
    return {"name": name, "input": list(shape), "layers": _emit(items)}


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


# --- one token ----------------------------------------------------------------------------------------------


def _leaf(text: str, tok: _Token) -> _Leaf:
    """One layer token → its spec entry, validated by its layer class so errors point at the token."""
    word = tok.text.lower().replace("×", "x")
    try:
        entry = _entry(word)
        cls = REGISTRY[entry["type"]]
        try:
            cls.model_validate(entry)
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "value"
            raise _TokenError(f"{where}: {first['msg'][0].lower()}{first['msg'][1:]}") from None
    except _TokenError as bad:
        why = str(bad)
        if repeat := re.fullmatch(r"(.+?)x([0-9]+)", word):
            base, times = repeat.groups()
            why += f"; to repeat it, write '{base} x{times}', '{base}*{times}' or '[{base}]x{times}'"
        raise _error(text, tok.start, tok.end, f"cannot read '{tok.text}' at column {tok.start + 1}: {why}") from None
    return _Leaf(entry, tok.start, tok.end)


def _entry(word: str) -> dict[str, Any]:
    """Spec entry for a lower-cased token."""
    name = _registered(word)
    if name is not None and _parameterless(name):
        return {"type": name}
    if word == "m":
        return {"type": "maxpool", "kernel_size": 2}
    if word in ("gap", "globalavgpool"):
        return {"type": "global_avgpool"}
    if word in ("gmp", "globalmaxpool"):
        return {"type": "global_maxpool"}
    try:
        if m := re.match(r"(dw)?conv", word):
            return _conv(_Cursor(word, m.end()), depthwise=bool(m.group(1)))
        if m := re.match(r"adaptive_?(avg|max)pool", word):
            return _adaptive(_Cursor(word, m.end()), m.group(1))
        if m := re.match(r"(max|avg)?pool", word):
            return _pool(_Cursor(word, m.end()), "avgpool" if m.group(1) == "avg" else "maxpool")
        if m := re.match(r"(fc|linear)", word):
            return _linear(_Cursor(word, m.end()), m.group(1))
        if m := re.fullmatch(r"dropout-?([0-9]*\.?[0-9]+)", word):
            return {"type": "dropout", "p": float(m.group(1))}
    except _TokenError:
        if name is None:
            raise
        raise _TokenError(_needs(name)) from None
    if name is not None:
        raise _TokenError(_needs(name))
    stem = re.match(r"[a-z_]*", word)
    close = suggest(stem.group() if stem and stem.group() else word) or next(
        iter(difflib.get_close_matches(stem.group() if stem else word, _KEYWORDS, n=1)), None
    )
    raise _TokenError("unknown layer" + (f" (did you mean '{close}'?)" if close else ""))


def _needs(name: str) -> str:
    """Why a registered type name alone is not a layer, and how the notation writes one."""
    needs = ", ".join(k for k, f in REGISTRY[name].model_fields.items() if f.is_required() and k != "type")
    example = next((ex for kind, ex in _EXAMPLES.items() if REGISTRY[name] is REGISTRY.get(kind)), None)
    how = f"write it like {example}" if example else "the notation has no syntax for them; use a YAML or dict spec"
    return f"type '{name}' needs {needs}: {how}"


def _registered(word: str) -> str | None:
    for candidate in (word, word.replace("-", "_")):
        if candidate in REGISTRY:
            return candidate
    return None


@cache
def _parameterless(name: str) -> bool:
    """Whether a registered type validates with no fields, so its bare name is a complete layer."""
    try:
        REGISTRY[name].model_validate({"type": name})
    except ValidationError:
        return False
    return True


@cache
def _fusable() -> tuple[str, ...]:
    """Types a conv or fc may fuse: the registry's ``fusable`` role, the same rule the spec's ``activation:`` uses."""
    return tuple(name for name, cls in REGISTRY.items() if cls.fusable)


def _activation(cur: _Cursor) -> str:
    """The fused activation after the last ``-``: a fusable type, or a clear refusal that says how to write it."""
    layer = cur.text[: cur.pos - 1]
    name = cur.rest().replace("-", "_")
    cur.pos = len(cur.text)
    if name in _fusable():
        return name
    if _registered(name) is not None:
        raise _TokenError(f"'-{name}' cannot be fused: only parameterless, shape-keeping activations can; "
                          f"make it a layer of its own: '{layer} {name}'")
    close = difflib.get_close_matches(name, _fusable(), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f"; one of {', '.join(_fusable())}"
    raise _TokenError(f"'-{name}' is not an activation that can be fused{hint}")


def _suffix(cur: _Cursor, entry: dict[str, Any], allowed: str) -> bool:
    """One option suffix out of ``allowed`` (``s p d g b c`` = stride, padding, dilation, groups, bias, ceil)."""
    if "b" in allowed and (cur.eat("nobias") or cur.eat("nb")):
        cur.once("bias")
        entry["bias"] = False
    elif "c" in allowed and cur.eat("ceil"):
        cur.once("ceil")
        entry["ceil_mode"] = True
    elif "p" in allowed and cur.eat("p"):
        cur.once("padding")
        mode = re.compile(r"same_lower|same|valid").match(cur.text, cur.pos)
        if mode:
            cur.pos = mode.end()
            entry["padding"] = mode.group()
        else:
            entry["padding"] = cur.sizes("padding after 'p'", "p1 or psame", minimum=0)
    elif "s" in allowed and (cur.eat("s") or cur.eat("/")):
        cur.once("stride")
        entry["stride"] = cur.sizes("stride after 's' or '/'", "s2")
    elif "d" in allowed and cur.eat("d"):
        cur.once("dilation")
        entry["dilation"] = cur.sizes("dilation after 'd'", "d2")
    elif "g" in allowed and cur.eat("g"):
        cur.once("groups")
        entry["groups"] = cur.number("groups after 'g'", "g2")
    else:
        return False
    return True


def _per_dim(entry: dict[str, Any]) -> None:
    """Several sizes for stride/padding/dilation need a kernel with as many: else ``p1x2`` may mean a repeat."""
    kernel = entry["kernel_size"]
    for key in ("stride", "padding", "dilation"):
        value = entry.get(key)
        if isinstance(value, list) and (not isinstance(kernel, list) or len(kernel) != len(value)):
            sizes = "x".join(map(str, value))
            raise _TokenError(
                f"{key} {sizes} has {len(value)} sizes but the kernel has "
                f"{len(kernel) if isinstance(kernel, list) else 1}; per-dim sizes need a per-dim kernel (like 3x3)"
            )


def _conv(cur: _Cursor, *, depthwise: bool) -> dict[str, Any]:
    """``conv{K}-{C}`` plus suffixes and an activation; ``dwconv{K}`` may leave C out (``out_channels: same``)."""
    entry: dict[str, Any] = {"type": "conv"}
    entry["kernel_size"] = cur.sizes(f"a kernel size after '{cur.text[: cur.pos]}'", "conv3-64")
    if depthwise:
        entry["groups"] = "depthwise"
    while not cur.done():
        if cur.eat("-"):
            if cur.at_digit() and "out_channels" not in entry:
                entry["out_channels"] = cur.number("channels", "conv3-64")
                if cur.text.startswith("x", cur.pos):
                    raise _TokenError("channels are one number")
            elif cur.at_digit():
                raise _TokenError("channels are given twice")
            elif "out_channels" in entry:
                if cur.done():
                    raise _TokenError("expected an activation after '-' (like conv3-64-relu)")
                entry["activation"] = _activation(cur)
            elif depthwise and not cur.done():
                entry["activation"] = _activation(cur)
            elif depthwise:
                raise _TokenError("expected channels or an activation after '-' (like dwconv3-64 or dwconv3-relu)")
            else:
                raise _TokenError("expected channels after '-' (like conv3-64)")
        elif not _suffix(cur, entry, "spdgb" if not depthwise else "spdb"):
            raise _TokenError(
                f"unexpected '{cur.rest()}' (options: s2 or /2 stride, p1 padding, d2 dilation, g2 groups, "
                "nb no bias, -relu activation)"
            )
    if "out_channels" not in entry and not depthwise:
        raise _TokenError("expected channels after the kernel (like conv3-64)")
    _per_dim(entry)
    if "out_channels" not in entry:
        entry = {"type": "conv", "kernel_size": entry["kernel_size"], "out_channels": "same",
                 **{k: v for k, v in entry.items() if k not in ("type", "kernel_size")}}
    return entry


def _pool(cur: _Cursor, kind: str) -> dict[str, Any]:
    """``maxpool{K}`` / ``avgpool{K}`` with stride, padding, dilation (max only) and ``ceil``."""
    entry: dict[str, Any] = {"type": kind}
    entry["kernel_size"] = cur.sizes(f"a window size after '{cur.text[: cur.pos]}'", "maxpool2")
    while not cur.done():
        if not _suffix(cur, entry, "spdc" if kind == "maxpool" else "spc"):
            raise _TokenError(
                f"unexpected '{cur.rest()}' (options: s2 or /2 stride, p1 padding, "
                f"{'d2 dilation, ' if kind == 'maxpool' else ''}ceil)"
            )
    _per_dim(entry)
    return entry


def _adaptive(cur: _Cursor, kind: str) -> dict[str, Any]:
    """``adaptive_avgpool7`` / ``adaptive_maxpool7x7``: the output size."""
    entry: dict[str, Any] = {"type": f"adaptive_{kind}pool"}
    if not cur.done():
        entry["output_size"] = cur.sizes("an output size", "adaptive_avgpool7")
    if not cur.done():
        raise _TokenError(f"unexpected '{cur.rest()}'")
    return entry


def _linear(cur: _Cursor, kind: str) -> dict[str, Any]:
    """``fc-{N}`` / ``fc{N}`` / ``linear-{N}``: flattens first (as VGG's FCs), optional ``nb`` and activation."""
    cur.eat("-")
    entry: dict[str, Any] = {"type": kind, "out_features": cur.number(f"outputs after '{kind}'", f"{kind}-10")}
    if cur.text.startswith("x", cur.pos):
        raise _TokenError("the output size is one number")
    entry["flatten"] = True
    while not cur.done():
        if cur.eat("-"):
            if cur.done():
                raise _TokenError("expected an activation after '-' (like fc-10-relu)")
            entry["activation"] = _activation(cur)
        elif not _suffix(cur, entry, "b"):
            raise _TokenError(f"unexpected '{cur.rest()}' (options: nb no bias, -relu activation)")
    return entry


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
