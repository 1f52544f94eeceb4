"""Layers that move data without arithmetic (cnncalc/layers/reshape.py): flatten, dropout, identity.

Flatten's dims are torch-indexed with the batch as dim 0, like torch.nn.Flatten(start_dim=1, end_dim=-1).
"""

from __future__ import annotations

from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import GLOBAL, Evaluation
from cnncalc.errors import ShapeError


def layer(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a layer spec on input shape ``x``."""
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


@pytest.mark.parametrize(
    ("x", "start", "end", "expected"),
    [
        # torch.nn.Flatten() on (N, 512, 7, 7) → (N, 25088): VGG's pool5 into fc6; 512·7·7 = 25,088.
        pytest.param((512, 7, 7), 1, -1, (25_088,), id="default:512*7*7=25088"),
        # start_dim=2 keeps channels: (N, 64, 8, 8) → (N, 64, 64), e.g. tokens for attention.
        pytest.param((64, 8, 8), 2, -1, (64, 64), id="start2:(64,8*8)"),
        # start 1, end 2 merges C and H: (N, 64, 8, 8) → (N, 512, 8).
        pytest.param((64, 8, 8), 1, 2, (512, 8), id="start1-end2:(64*8,8)"),
        # end_dim −2 on rank 4 is dim 2: same as above.
        pytest.param((64, 8, 8), 1, -2, (512, 8), id="end-2==end2"),
        # start == end changes nothing.
        pytest.param((64, 8, 8), 3, 3, (64, 8, 8), id="start3-end3:noop"),
        # Flattening a vector is the identity: (N, 10) → (N, 10).
        pytest.param((10,), 1, -1, (10,), id="vector:noop"),
        # 3-D: (N, 16, 4, 8, 8) start 2 → (N, 16, 256).
        pytest.param((16, 4, 8, 8), 2, -1, (16, 256), id="3d-start2:4*8*8=256"),
    ],
)
def test_flatten(x: tuple[int, ...], start: int, end: int, expected: tuple[int, ...]) -> None:
    ev = layer(x, type="flatten", start_dim=start, end_dim=end)
    assert ev.shape == expected
    assert ev.params == ev.macs == ev.flops == 0
    assert ev.stores is False  # a view


def test_flatten_merging_spatial_dims_makes_the_field_global() -> None:
    assert layer((512, 7, 7), type="flatten").rf == GLOBAL
    assert layer((64, 8, 8), type="flatten", start_dim=3, end_dim=3).rf is None


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        pytest.param(0, -1, "flatten would merge the batch dim", id="start0-merges-batch"),
        pytest.param(-4, -1, "flatten would merge the batch dim", id="start-4-is-batch-on-rank4"),
        pytest.param(3, 2, "start_dim=3, end_dim=2 do not fit an input of rank 4", id="start>end"),
        pytest.param(1, 4, "start_dim=1, end_dim=4 do not fit an input of rank 4", id="end-out-of-range"),
        pytest.param(-5, -1, "start_dim=-5, end_dim=-1 do not fit an input of rank 4", id="start-out-of-range"),
    ],
)
def test_flatten_errors(start: int, end: int, message: str) -> None:
    with pytest.raises(ShapeError) as info:
        layer((64, 8, 8), type="flatten", start_dim=start, end_dim=end)
    assert message in str(info.value)


@pytest.mark.parametrize("kind", ["dropout", "dropout2d", "identity"])
def test_pass_through(kind: str) -> None:
    ev = layer((4096,), type=kind)
    assert ev.shape == (4096,)
    assert ev.params == ev.macs == ev.flops == ev.buffers == 0
    assert ev.stores is False


def test_dropout_probability_is_checked() -> None:
    assert "p=0.4" in layer((1024,), type="dropout", p=0.4).summary  # GoogLeNet's "dropout (40%)"
    with pytest.raises(ValidationError):
        REGISTRY["dropout"].model_validate({"type": "dropout", "p": 1.5})


@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), data=st.data())
def test_flatten_keeps_the_element_count(shape: list[int], data: st.DataObject) -> None:
    x = tuple(shape)
    rank = len(x) + 1  # with the batch
    start = data.draw(st.integers(1, rank - 1))
    end = data.draw(st.integers(start, rank - 1))
    ev = layer(x, type="flatten", start_dim=start, end_dim=end)
    assert prod(ev.shape) == prod(x)
    assert len(ev.shape) == len(x) - (end - start)
