"""One token of the notation → one spec entry: conv, pool, fc, dropout, registered type names, fused activations."""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import Any

from pydantic import ValidationError

from cnncalc.engine.layers import REGISTRY, suggest
from cnncalc.spec.notation.syntax import (
    _EXAMPLES,
    _KEYWORDS,
    _Cursor,
    _error,
    _Leaf,
    _Token,
    _TokenError,
)

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
