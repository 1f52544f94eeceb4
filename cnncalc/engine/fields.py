"""Receptive fields, exactly, through strides, dilation, upsampling, crops and merges.

Per spatial dim, a layer's :class:`~cnncalc.engine.layers.base.Window` says which layer-input positions its output
position ``o`` reads: ``⌊(o·step − first)/up⌋`` to ``⌊(o·step − last)/up⌋``. A regular window (kernel K_eff,
stride S, padding P) is ``step S, up 1, first P, last P − K_eff + 1``; upsampling layers have ``up > 1`` (several
outputs read one input).

The field of every output position is tracked as an interval of network-input pixels on an infinite plane
(padding included, as in Araujo, Norris & Sim, Distill 2019). Without upsampling the intervals of all positions
are translates of one another, and the state is Araujo's (field size r, jump j, first centre c), updated by
``r ← r + (K_eff − 1)·j``, ``j ← j·S``. Upsampling makes the intervals differ by phase (outputs 2i and 2i + 1 of
a ×2 layer copy the same input), so the state keeps one interval per phase over a period T with a shift D per
period; the reported field is the largest interval (not an average), the jump D/T.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import gcd

from cnncalc.engine.layers.base import Window
from cnncalc.model import direct_init

#: Periods longer than this are not tracked (a note says so); real networks stay far below.
MAX_PERIOD = 65_536


def regular_step(r: int, j: int, span: int, stride: int) -> tuple[int, int]:
    """Araujo et al.'s recurrence for a window reading ``span`` consecutive positions: (r + (span − 1)·j, j·S)."""
    return r + (span - 1) * j, j * stride


@direct_init
@dataclass(frozen=True, slots=True)
class DimField:
    """One spatial dim's fields: position ``o`` sees ``[lo[o mod T], hi[o mod T]] + (o div T)·shift``."""

    lo: tuple[int, ...]
    hi: tuple[int, ...]
    shift: int

    @property
    def period(self) -> int:
        """T: after T positions the intervals repeat, moved by ``shift`` pixels."""
        return len(self.lo)

    def at(self, o: int) -> tuple[int, int]:
        """The interval of position ``o`` (any integer, padding positions included)."""
        q, p = divmod(o, self.period)
        return self.lo[p] + q * self.shift, self.hi[p] + q * self.shift

    @property
    def size(self) -> int:
        """The receptive field: the largest interval over all positions."""
        return max(h - lo + 1 for lo, h in zip(self.lo, self.hi, strict=True))

    @property
    def jump(self) -> Fraction:
        """Effective stride: pixels moved per output position, on average."""
        return Fraction(self.shift, self.period)

    @property
    def offset(self) -> Fraction:
        """Centre of the first output's field, in input pixels."""
        return Fraction(self.lo[0] + self.hi[0], 2)

    def centres(self) -> tuple[Fraction, ...]:
        """Centres of one period's intervals (equal centres and jumps mean aligned paths)."""
        return tuple(Fraction(lo + h, 2) for lo, h in zip(self.lo, self.hi, strict=True))


START = DimField((0,), (0,), 1)


def regular_window(field: DimField, w: Window) -> tuple[int, int, int] | None:
    """(first input read by output 0, span, stride) when Araujo's closed form applies: one interval, no upsampling."""
    g = gcd(w.step, w.up)
    if field.period != 1 or w.up != g:
        return None
    first, last = (-w.first) // w.up, (-w.last) // w.up  # the inputs output 0 reads
    return first, last - first + 1, w.step // g


def advance(field: DimField, w: Window) -> DimField | None:
    """The fields after a layer with window ``w`` (``None`` if the period would exceed :data:`MAX_PERIOD`)."""
    if w.up == 1 and len(field.lo) == 1 and type(w.step) is type(w.first) is type(w.last) is int:
        # regular_window's case (one interval, no upsampling) spelled out: every chain's hot path
        lo, shift = field.lo[0] - w.first * field.shift, field.shift
        return DimField((lo,), (lo + field.hi[0] - field.lo[0] + (w.first - w.last) * shift,), shift * w.step)
    closed = regular_window(field, w)
    if closed is not None:
        first, span, stride = closed
        r, shift = regular_step(field.size, field.shift, span, stride)
        lo = field.lo[0] + first * field.shift
        return DimField((lo,), (lo + r - 1,), shift)
    g = gcd(w.step, w.up)
    every, moves = w.up // g, w.step // g  # output positions per period of the map, input positions they move
    period = every * field.period // gcd(field.period, moves)
    if period > MAX_PERIOD:
        return None
    lo_list, hi_list = [], []
    for o in range(period):
        lo_list.append(field.at((o * w.step - w.first) // w.up)[0])
        hi_list.append(field.at((o * w.step - w.last) // w.up)[1])
    shift = period // every * moves // field.period * field.shift
    return DimField(tuple(lo_list), tuple(hi_list), shift)


def merge(fields: list[DimField]) -> tuple[DimField | None, bool]:
    """The hull of several paths' fields per position, and whether the paths are aligned."""
    if all(len(f.lo) == 1 for f in fields):  # one interval each (no upsampling): the hull without fractions
        shifts = {f.shift for f in fields}  # equal jumps (period 1: jump = shift)
        sums = {f.lo[0] + f.hi[0] for f in fields}  # equal centres
        hull = DimField((min(f.lo[0] for f in fields),), (max(f.hi[0] for f in fields),), max(shifts))
        return hull, len(shifts) == 1 and len(sums) == 1
    period = 1
    for f in fields:
        period = period * f.period // gcd(period, f.period)
    if period > MAX_PERIOD:
        return None, False
    jumps = {f.jump for f in fields}
    shift = max(f.shift * period // f.period for f in fields)
    spans = [[f.at(o) for o in range(period)] for f in fields]
    lo = tuple(min(s[o][0] for s in spans) for o in range(period))
    hi = tuple(max(s[o][1] for s in spans) for o in range(period))
    # Aligned: the same jump and, averaged over a period, the same centre. Upsampled paths jitter by half a jump
    # between phases (outputs 2i and 2i + 1 copy one input), which is the layer's nature, not a misalignment.
    centres = {sum(Fraction(a + b, 2) for a, b in s) / period for s in spans}
    return DimField(lo, hi, shift), len(jumps) == 1 and len(centres) == 1
