"""Error messages for specs: one short message, with its source line, out of pydantic's list of errors.

Pydantic reports one error per member of a union and per failed constraint; a person fixing a spec wants the one
that names their typo (with a did-you-mean) or the field that is wrong, and the line it is on.
"""

import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from cnncalc.engine.layers.base import Layer
from cnncalc.model import clip
from cnncalc.spec.loader import line_of

__all__ = ["describe_validation_error"]


def _model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last field of ``loc`` (to suggest that model's field names)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, str) and isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        while get_origin(current) is not None or isinstance(current, type(int | None)):
            args = [a for a in get_args(current) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            current = models[0] if models else args[-1] if args else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _data_at(data: Any, loc: tuple[Any, ...]) -> Any:
    """The mapping or list that holds the last part of ``loc`` (for its line numbers)."""
    for part in loc[:-1]:
        in_dict = isinstance(data, dict) and part in data
        if in_dict or (isinstance(data, list) and isinstance(part, int) and part < len(data)):
            data = data[part]
    return data


def _is_field(part: Any) -> bool:
    """Pydantic adds union-member tags ('constrained-int', 'list[...]', 'PadSides') to error locations: drop them."""
    return isinstance(part, int) or (isinstance(part, str) and part.isidentifier() and not part[:1].isupper())


def describe_validation_error(err: ValidationError, data: Any, model: type[BaseModel]) -> tuple[str, int | None]:
    """The most useful single message, and its source line, out of a pydantic error list."""
    import difflib

    errors = err.errors(include_url=False, include_context=True, include_input=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in first["loc"] if _is_field(p))
    given = _data_at(data, (*loc, None)) if loc else None
    if isinstance(given, dict):
        # A mapping was written (padding: {before: [1, 1]}): the member of the union that takes a mapping says
        # what is wrong with it, not the members that wanted a number or 'same'.
        inner = [e for e in errors if len(tuple(p for p in e["loc"] if _is_field(p))) > len(loc)]
        if inner:
            first = inner[0]
            loc = tuple(p for p in first["loc"] if _is_field(p))
    holder = _data_at(data, loc)
    line = line_of(holder, loc[-1] if loc else None) or line_of(data)
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    where = path.rsplit(".", 1)[0] + ": " if "." in path else (path.split("[")[0] + ": " if "[" in path else "")
    name = str(loc[-1]) if loc else ""
    if first["type"] == "extra_forbidden":
        owner = _model_at(model, loc)
        fields = [f for f in (owner.model_fields if owner else {}) if f != "type"]
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        is_layer = owner is not None and issubclass(owner, Layer) and isinstance(data, dict)
        what = str(data.get("type")) if is_layer else getattr(owner, "noun", None) or getattr(owner, "__name__", "it")
        takes = f"; {what} takes: {', '.join(fields)}" if fields and not close else ""
        return f"{where}unknown field '{name}'{hint}{takes}", line
    if first["type"] == "missing":
        return f"{where}missing required field '{name}'", line_of(holder) or line
    value = None
    if isinstance(holder, dict) and loc:
        value = holder.get(loc[-1])
    elif isinstance(holder, list) and loc and isinstance(loc[-1], int) and loc[-1] < len(holder):
        value = holder[loc[-1]]
    same = [e for e in errors if tuple(p for p in e["loc"] if _is_field(p)) == loc]
    literal = next((e for e in same if e["type"] == "literal_error"), None)
    specific = next((e for e in same if not e["type"].endswith("_type") and e["type"] != "literal_error"), None)
    best = (literal if isinstance(value, str) and literal else None) or specific or literal or first
    msg = best["msg"].removeprefix("Value error, ")
    if best["type"] == "literal_error" and isinstance(value, str):
        close = difflib.get_close_matches(value, re.findall(r"'([^']*)'", msg), n=1)
        if close:
            msg += f" (did you mean '{close[0]}'?)"
    shown = f" {clip(repr(value), 40)}" if value is not None and not isinstance(value, dict | list) else ""
    return f"{path or 'value'}:{shown} {msg[0].lower()}{msg[1:]}", line
