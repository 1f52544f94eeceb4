"""Layers that move data without arithmetic (cnncalc/layers/reshape.py): flatten, dropout, identity, split, permute,
stochastic depth.

Flatten's dims are torch-indexed with the batch as dim 0, like torch.nn.Flatten(start_dim=1, end_dim=-1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import cnncalc
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import GLOBAL, Evaluation, Window
from cnncalc.errors import ShapeError, SpecError

#: The ``agrees_with_torch`` fixture (tests/conftest.py).
Check = Callable[[dict[str, Any]], Any]


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


# --- split / chunk, permute, stochastic depth ------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "fields", "expected"), [
    # ShuffleNetV2's unit (Ma et al. 2018, Fig. 3c): x.chunk(2, dim=1) on 116 channels → 58 | 58.
    pytest.param(116, {"chunks": 2}, [58, 58], id="shufflenet:chunk2"),
    # torch.chunk docs: torch.arange(11).chunk(6) → pieces of ⌈11/6⌉ = 2: 2, 2, 2, 2, 2, 1.
    pytest.param(11, {"chunks": 6}, [2, 2, 2, 2, 2, 1], id="chunk-11-6"),
    # torch.arange(12).chunk(6) gives 6 pieces of 2; torch.arange(6).chunk(4) gives only 3 (⌈6/4⌉ = 2).
    pytest.param(6, {"chunks": 4}, [2, 2, 2], id="chunk-fewer-pieces"),
    # torch.split docs: torch.arange(10).reshape(5, 2).split(2) → 2, 2, 1 rows.
    pytest.param(5, {"split_size": 2}, [2, 2, 1], id="split-size"),
    pytest.param(5, {"split_size": [1, 4]}, [1, 4], id="split-sections"),
])
def test_split_sizes_as_torch(size: int, fields: dict[str, Any], expected: list[int]) -> None:
    from cnncalc.engine.layers.reshape import split_sizes

    assert split_sizes(size, fields.get("split_size"), fields.get("chunks")) == expected


def test_split_pieces_are_views() -> None:
    whole = layer((116, 28, 28), type="chunk", chunks=2)
    assert (whole.shape, whole.stores, whole.summary) == ((116, 28, 28), False, "58|58")
    piece = layer((116, 28, 28), type="chunk", chunks=2, index=1)
    assert (piece.shape, piece.stores, piece.flops) == ((58, 28, 28), False, 0)
    # Along W (dim 3): the second piece starts at column 3, so its field's centre moves by 3, as a crop.
    ev = layer((4, 6, 6), type="split", split_size=3, dim=3, index=1)
    assert ev.shape == (4, 6, 3)
    assert ev.rf == (Window(1, 1, 0, 0), Window(1, 1, -3, -3))


def test_split_pieces_are_addressable_by_name() -> None:
    # ShuffleNetV2's basic unit: one half passes, the other goes through the branch; concat; shuffle.
    report = cnncalc.analyze({"input": [116, 28, 28], "layers": [
        {"type": "chunk", "chunks": 2, "name": "halves"},
        {"type": "conv2d", "out_channels": 58, "kernel_size": 1, "inputs": ["halves.1"], "name": "branch"},
        {"type": "concat", "inputs": ["halves.0", "branch"]},
        {"type": "channel_shuffle", "groups": 2}]})
    rows = {r.name: r for r in report.layers}
    assert list(rows) == ["halves", "halves.1", "branch", "halves.0", "concat_1", "channel_shuffle_1"]
    assert rows["halves.0"].output_shape == rows["halves.1"].output_shape == (58, 28, 28)
    assert rows["concat_1"].output_shape == (116, 28, 28)
    # The views add no memory: input 90,944 + branch 45,472 + concat 90,944 + shuffle 90,944.
    assert report.totals.activations == 318_304


@pytest.mark.parametrize(("spec", "message"), [
    pytest.param([{"type": "chunk", "chunks": 2, "name": "h"}, {"type": "relu", "inputs": ["h.2"]}],
                 "piece 2 does not exist: 8x4x4 splits into 2 pieces", id="no-such-piece"),
    pytest.param([{"type": "relu", "name": "h"}, {"type": "relu", "inputs": ["h.0"]}],
                 "inputs names 'h.0', which is not an earlier layer", id="not-a-split"),
    pytest.param([{"type": "split", "split_size": [3, 3]}], "sections [3, 3] add up to 6, not the dim's size 8",
                 id="sections"),
    pytest.param([{"type": "split"}], "give exactly one of split_size", id="neither"),
])
def test_split_errors(spec: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        cnncalc.analyze({"input": [8, 4, 4], "layers": spec})


def test_permute() -> None:
    # ConvNeXt (torchvision CNBlock): x.permute(0, 2, 3, 1) makes 96x56x56 channels last, 56x56x96; a view.
    ev = layer((96, 56, 56), type="permute", dims=[0, 2, 3, 1])
    assert (ev.shape, ev.stores, ev.rf) == ((56, 56, 96), False, None)  # spatial order kept: fields pass through
    assert layer((56, 56, 96), type="permute", dims=[0, 3, 1, 2]).shape == (96, 56, 56)
    # Swapping H and W reorders the spatial dims: the fields are no longer tracked.
    assert layer((8, 5, 6), type="permute", dims=[0, 1, 3, 2]).rf == "global"
    with pytest.raises(ShapeError, match="moves the batch dim"):
        layer((8, 5, 6), type="permute", dims=[1, 0, 2, 3])
    with pytest.raises(ShapeError, match="is not a permutation"):
        layer((8, 5, 6), type="permute", dims=[0, 1, 2, 2])


def test_receptive_field_through_a_channels_last_section() -> None:
    # A 7x7 depthwise conv, then permute → layernorm → permute back: the 7x7 field survives the section.
    report = cnncalc.analyze({"input": [8, 16, 16], "layers": [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 7, "padding": 3, "groups": 8},
        {"type": "permute", "dims": [0, 2, 3, 1]}, {"type": "layernorm"}, {"type": "permute", "dims": [0, 3, 1, 2]},
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}]})
    assert [r.receptive_field for r in report.layers] == [(7, 7), (7, 7), (7, 7), (7, 7), (9, 9)]


def test_stochastic_depth_is_the_identity_at_inference() -> None:
    # torchvision.ops.StochasticDepth(p, mode): input * noise in training only; eval returns the input.
    ev = layer((96, 56, 56), type="stochastic_depth", p=0.1)
    assert (ev.shape, ev.stores, ev.flops, ev.summary) == ((96, 56, 56), False, 0, "p=0.1 row")
    assert layer((8,), type="drop_path", p=0.2, mode="batch").summary == "p=0.2 batch"


@pytest.mark.torch
def test_against_torch(agrees_with_torch: Check) -> None:
    agrees_with_torch({"input": [12, 6, 5], "layers": [
        {"type": "chunk", "chunks": 3, "name": "c"}, {"type": "relu", "inputs": ["c.2"]},
        {"type": "split", "split_size": [2, 4], "dim": -2, "name": "s"},
        {"type": "concat", "inputs": ["s.1", "s.0"], "dim": 2}, {"type": "add", "inputs": ["concat_1", "c.0"]},
        {"type": "permute", "dims": [0, 2, 3, 1]}, {"type": "stochastic_depth", "p": 0.5},
        {"type": "permute", "dims": [0, 3, 1, 2]}]})
