"""What every renderer shares: the display options and how numbers, shapes and receptive fields are written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Layout = Literal["chw", "hwc"]


@dataclass(frozen=True, slots=True)
class Options:
    """How to show a report; ``layout`` only changes how shapes are written, never the JSON contract."""

    layout: Layout = "chw"
    width: int = 100
    color: bool = False
    #: Table rows nested deeper than this are folded into their block's row (None: show everything).
    depth: int | None = None


def shape_text(shape: tuple[int, ...], layout: Layout = "chw") -> str:
    """``64x224x224``, or ``224x224x64`` for the cs231n/TensorFlow ``hwc`` layout."""
    dims = (*shape[1:], shape[0]) if layout == "hwc" and len(shape) > 1 else shape
    return "x".join(map(str, dims))


def human(value: float, *, base: int = 1000, units: tuple[str, ...] = ("", "K", "M", "G", "T", "P")) -> str:
    """``138357544`` → ``138.4M``: four significant digits, SI prefixes (only renderers humanise)."""
    try:
        scaled = float(value)
    except OverflowError:  # beyond any float: only the Python API can get here, as inputs are bounded
        return f"~10^{int(abs(int(value)).bit_length() * 0.30103)}"
    for unit in units:
        if abs(scaled) < base or unit == units[-1]:
            text = f"{scaled:.4g}" if unit else f"{int(scaled)}" if scaled == int(scaled) else f"{scaled:.4g}"
            return text + unit
        scaled /= base
    raise AssertionError("unreachable")


def human_bytes(value: int) -> str:
    """``60950432`` → ``60.95 MB`` (decimal units, as memory figures are usually quoted)."""
    return human(value, units=(" B", " kB", " MB", " GB", " TB", " PB"))


def field_text(values: tuple[int | float, ...] | None, *, whole: str, collapse: bool) -> str:
    """Per-dim receptive-field figures as text: ``whole`` once every output sees the whole input.

    ``collapse`` (the terminal table) writes equal dims once (``212``) and floats short; exports keep every dim.
    """
    if values is None:
        return whole
    text = [f"{v:g}" if collapse and isinstance(v, float) else str(v) for v in values]
    return text[0] if collapse and len(set(text)) == 1 else "x".join(text)
