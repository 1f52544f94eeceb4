"""What a person wrote in a cell: a figure (``3,072``, ``35K``, ``(5*5*3+1)*8``), a shape, or a receptive field.

Figures are read by :mod:`cnncalc.spec.figures`, the one reader of written numbers; this module adds what only
a table cell has (``~62K``, ``224*224*64=3.2M``, a trailing unit, a blank) and compares a written value with a
correct one: within the precision it is written with, and shapes in either order (H×W×C or C×H×W).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cnncalc.model import MAX_DIM, Shape
from cnncalc.proof.homework.table import BLANK, Column, Table, dims_in
from cnncalc.spec.figures import FigureTooLargeError, read_figure

#: How a table writes shapes (``auto``: read from its cells); the renderers' ``Layout`` has no ``auto``.
TableLayout = Literal["auto", "chw", "hwc"]
#: What the table turned out to use: ``either`` when no cell tells H×W×C from C×H×W.
Order = Literal["chw", "hwc", "either"]

#: What a receptive-field cell may say for "the whole input".
_ALL = {"all", "global", "whole", "entire", "full", "whole input", "everything"}


def read_number(text: str) -> tuple[float, float] | None:
    """A written number and its half-precision: ``3,072`` exact, ``35K`` ± 500, ``1.2e6`` ± 5e4; None if blank.

    Also ``~60K``, ``= 608`` (the part after the last ``=``), ``1.2 × 10^6`` and ``(5*5*3+1)*8`` (exact).
    Raises ValueError for anything else.
    """
    t = text.strip()
    if t.lower() in BLANK:
        return None
    if "=" in t:
        t = t.rsplit("=", 1)[1]
    t = t.strip().lstrip("~≈").strip().rstrip(".")
    t = re.sub(r"(?i)\s*(bytes?|values|params|parameters|macs|flops|b)$", "", t)
    shown = text if len(text) <= 40 else text[:37] + "..."
    try:
        figure = read_figure(t)
    except FigureTooLargeError as err:
        raise ValueError(f"'{shown}' {err}") from None
    if figure is None:
        raise ValueError(f"'{shown}' is not a number like 3,072, 35K, 138M, 1.2e6 or (5*5*3+1)*8")
    return figure


def read_shape(text: str) -> tuple[tuple[int, ...], Order] | None:
    """The sizes of a written shape and the order it states (``6@28x28`` is C@H×W), or None if blank."""
    t = text.strip()
    if t.lower() in BLANK:
        return None
    shown = text if len(text) <= 40 else text[:37] + "..."
    if any(len(d) > 13 for d in re.findall(r"\d+", t)):
        raise ValueError(f"'{shown}' has a size over the limit of {MAX_DIM:,}")
    dims = tuple(dims_in(t))
    if not dims:
        raise ValueError(f"'{shown}' is not a shape like (28,28,8), 28x28x8 or 8x28x28")
    if any(d > MAX_DIM for d in dims):
        raise ValueError(f"'{shown}' has a size over the limit of {MAX_DIM:,}")
    return dims, "chw" if "@" in t else "either"


@dataclass(frozen=True, slots=True)
class Given:
    """A parsed cell."""

    column: Column
    text: str
    number: tuple[float, float] | None = None
    shape: tuple[tuple[int, ...], Order] | None = None
    everything: bool = False


def parse_cells(table: Table, columns: list[Column]) -> list[list[Given]]:
    """Every non-blank cell of the checked columns, row by row; a cell that cannot be read is an error."""
    out = []
    for i, (_, cells) in enumerate(table.rows, start=1):
        parsed = []
        for col in columns:
            text = cells[col.index] if col.index < len(cells) else ""
            if text.strip().lower() in BLANK:
                continue
            try:
                if col.kind == "shape":
                    parsed.append(Given(col, text, shape=read_shape(text)))
                elif col.kind == "receptive_field":
                    if text.strip().lower() in _ALL:
                        parsed.append(Given(col, text, everything=True))
                    else:
                        parsed.append(Given(col, text, shape=read_shape(text)))
                else:
                    number = read_number(text)
                    if number is not None:
                        value, half = number
                        parsed.append(Given(col, text, number=(value * col.scale, half * col.scale)))
            except ValueError as err:
                raise table.fail(f"column '{col.header}': {err}", i) from None
        out.append(parsed)
    return out


def number_ok(value: int, number: tuple[float, float]) -> bool:
    """Whether a written number (value, half-precision) holds for ``value``."""
    given, half = number
    return abs(value - given) <= half + 1e-9 * max(abs(given), 1.0)


def in_order(shape: Shape, order: Literal["chw", "hwc"]) -> Shape:
    """A channels-first shape as a table in ``order`` writes it."""
    return (*shape[1:], shape[0]) if order == "hwc" and len(shape) > 1 else shape


def _same_dims(correct: Shape, given: tuple[int, ...]) -> bool:
    if tuple(given) == tuple(correct):
        return True
    squeeze = tuple(d for d in correct if d != 1)
    return bool(squeeze) and tuple(d for d in given if d != 1) == squeeze


def shape_orders(correct: Shape, given: tuple[int, ...]) -> set[str]:
    """The orders in which ``given`` writes ``correct`` (empty: it does not)."""
    orders: tuple[Literal["chw", "hwc"], ...] = ("chw", "hwc")
    return {o for o in orders if _same_dims(in_order(correct, o), given)}


def closer(shape: Shape, written: tuple[int, ...] | list[int]) -> Literal["chw", "hwc"]:
    """The order in which ``written`` agrees with ``shape`` in more places (channels first on a tie)."""
    hwc = sum(a == b for a, b in zip(in_order(shape, "hwc"), written, strict=False))
    chw = sum(a == b for a, b in zip(shape, written, strict=False))
    return "hwc" if hwc > chw else "chw"
