"""Receptive fields against brute force: follow every output position's reads back to the input pixels."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.fields import START, DimField, advance, merge
from cnncalc.engine.layers.base import Window


def reads(w: Window, o: int) -> range:
    """The layer-input positions output ``o`` reads (the Window's definition)."""
    return range((o * w.step - w.first) // w.up, (o * w.step - w.last) // w.up + 1)


def brute(windows: list[Window], o: int) -> tuple[int, int]:
    """The network-input pixels output ``o`` of the last layer depends on, by walking back layer by layer."""
    positions = {o}
    for w in reversed(windows):
        positions = {i for p in positions for i in reads(w, p)}
    return min(positions), max(positions)


windows = st.one_of(
    st.builds(Window.regular, st.integers(1, 7), st.integers(1, 3), st.integers(0, 3)),
    st.builds(Window.copy, st.integers(2, 4)),  # nearest upsampling, unpooling, pixel shuffle
    # Transposed convolution: output o reads i with i·S − P ≤ o ≤ i·S − P + K − 1 (K ≥ S: with K < S some
    # outputs read nothing at all, only their bias).
    st.integers(1, 3).flatmap(
        lambda s: st.builds(lambda k, p: Window(1, s, k - p - s, -p), st.integers(s, 5), st.integers(0, 2))
    ),
    st.builds(lambda c: Window(1, 1, -c, -c), st.integers(0, 3)),  # crop
)


@given(chain=st.lists(windows, min_size=1, max_size=6))
def test_every_position_matches_brute_force(chain: list[Window]) -> None:
    field: DimField | None = START
    for w in chain:
        assert field is not None
        field = advance(field, w)
    assert field is not None
    for o in range(-3, 3 * field.period + 3):
        assert field.at(o) == brute(chain, o)
    assert field.size == max(hi - lo + 1 for lo, hi in (brute(chain, o) for o in range(field.period)))


def test_araujo_closed_form_without_upsampling() -> None:
    # VGG16's conv/pool stack: fields 3, 5, 6 (pool), …, 212 at pool5 (Araujo et al. 2019, vgg_16: RF 212).
    field: DimField | None = START
    stack = ([Window.regular(3, 1, 1)] * 2 + [Window.regular(2, 2, 0)]) * 2 + (
        [Window.regular(3, 1, 1)] * 3 + [Window.regular(2, 2, 0)]
    ) * 3
    for w in stack:
        assert field is not None
        field = advance(field, w)
    assert field is not None
    assert (field.size, field.jump, field.period) == (212, 32, 1)


def test_upsampling_takes_the_largest_phase() -> None:
    # Nearest x4, then a 3x3 conv: outputs o..o+2 copy ⌊o/4⌋..⌊(o+2)/4⌋, up to 2 source pixels. The average
    # (1 + 2/4 = 1.5) would be wrong; the field is 2.
    field = advance(START, Window.copy(4))
    assert field is not None
    field = advance(field, Window.regular(3, 1, 1))
    assert field is not None
    assert field.size == 2 and field.jump == Fraction(1, 4)


@pytest.mark.parametrize(
    ("paths", "aligned"),
    [
        ([[Window.regular(1, 1, 0)], [Window.regular(3, 1, 1)]], True),  # Inception: same centre, larger field
        ([[Window.regular(3, 2, 0)], [Window.regular(1, 2, 0)]], False),  # centres 1 and 0 apart
    ],
    ids=["centred", "shifted"],
)
def test_merge_hull_and_alignment(paths: list[list[Window]], aligned: bool) -> None:
    fields = []
    for chain in paths:
        field: DimField | None = START
        for w in chain:
            assert field is not None
            field = advance(field, w)
        assert field is not None
        fields.append(field)
    hull, ok = merge(fields)
    assert hull is not None
    assert ok is aligned
    assert hull.size == max(f.size for f in fields) or not aligned
