"""Crop, pad and channel shuffle (cnncalc/layers/reshape.py).

Crop is a view (no new memory): a centre crop to ``size``, to the spatial size of the layer named by ``to`` (U-Net's
crop-and-concatenate), or by explicit ``crop: {before, after}``. Pad follows torch.nn.functional.pad's modes
(constant, reflect: padding < size, replicate, circular: padding ≤ size) and makes a new tensor. Channel shuffle
(ShuffleNet) permutes channels across groups. None has parameters or FLOPs. Expected numbers are worked by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation, Window
from cnncalc.engine.report import Report
from cnncalc.errors import ShapeError, SpecError


def layer(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a layer spec on input shape ``x``."""
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def net(x: tuple[int, ...], *layers: dict[str, Any]) -> Report:
    """Analyse a small spec dict through the public API."""
    return cnncalc.analyze({"input": list(x), "layers": list(layers)})


# --------------------------------------------------------------------------------------------------------------
# Crop.


@pytest.mark.parametrize(
    ("x", "size", "shape", "cut_before"),
    [
        # 7x7 → 4x5: H cuts 3 = 1 before + 2 after, W cuts 2 = 1 + 1 (the odd pixel goes after).
        pytest.param((3, 7, 7), [4, 5], (3, 4, 5), (1, 1), id="7x7->4x5"),
        # U-Net's first skip: 568 → 392 cuts 176 = 88 + 88.
        pytest.param((64, 568, 568), 392, (64, 392, 392), (88, 88), id="unet:568->392"),
        # Nothing to cut.
        pytest.param((3, 5, 5), 5, (3, 5, 5), (0, 0), id="same-size"),
        # 1-D and 3-D.
        pytest.param((2, 10), 6, (2, 6), (2,), id="1d:10->6"),
        pytest.param((2, 6, 8, 8), [4, 6, 6], (2, 4, 6, 6), (1, 1, 1), id="3d"),
    ],
)
def test_centre_crop_to_size(x: tuple[int, ...], size: int | list[int], shape: tuple[int, ...],
                             cut_before: tuple[int, ...]) -> None:
    ev = layer(x, type="crop", size=size)
    assert ev.shape == shape
    assert ev.params == ev.macs == ev.flops == 0
    assert ev.stores is False  # a view
    assert ev.rf == tuple(Window(1, 1, -a, -a) for a in cut_before)  # the centre moves by the amount cut before
    assert layer(x, type="center_crop", size=size).shape == shape


def test_explicit_crop_amounts() -> None:
    # 8x8 with before [1, 2], after [0, 3]: H 8 − 1 − 0 = 7, W 8 − 2 − 3 = 3.
    ev = layer((3, 8, 8), type="crop", crop={"before": [1, 2], "after": [0, 3]})
    assert ev.shape == (3, 7, 3)
    assert ev.rf == (Window(1, 1, -1, -1), Window(1, 1, -2, -2))


def test_crop_to_a_named_layer_unet_style() -> None:
    # U-Net's lowest skip: enc 512x64x64, up-conv of a 1024x28x28 map → 512x56x56; crop the skip to it (cut 4 + 4),
    # then concatenate to 1024x56x56 (Ronneberger et al. Fig. 1).
    report = net(
        (512, 64, 64),
        {"type": "identity", "name": "skip"},
        {"type": "conv2d", "name": "down", "out_channels": 1024, "kernel_size": 9},  # 64 − 9 + 1 = 56 …
        {"type": "maxpool2d", "kernel_size": 2},  # … → 28
        {"type": "conv_transpose2d", "name": "up", "out_channels": 512, "kernel_size": 2, "stride": 2},  # 28 → 56
        {"type": "crop", "name": "crop", "inputs": ["skip"], "to": "up"},
        {"type": "concat", "name": "cat", "inputs": ["crop", "up"]},
    )
    crop = report.layer("crop")
    assert crop.output_shape == (512, 56, 56)
    assert crop.activation_bytes == 0  # a view
    assert crop.inputs == ("skip",)
    assert report.layer("cat").output_shape == (1024, 56, 56)
    assert "as up" in crop.summary


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        pytest.param((3, 7, 7), {"size": 9}, "cannot crop 3x7x7 to 9x9: crops must shrink the input", id="grow"),
        pytest.param((3, 7, 7), {"size": [4, 9]}, "crops must shrink the input", id="grow-one-dim"),
        pytest.param((3, 7, 7), {}, "give exactly one of size, to (a layer name) and crop", id="none-given"),
        pytest.param((3, 7, 7), {"size": 4, "crop": {"before": [1], "after": [1]}}, "give exactly one of size",
                     id="two-given"),
        pytest.param((3, 4, 4), {"crop": {"before": [2], "after": [2]}}, "cannot crop 3x4x4 to 0x0", id="crop-all"),
        pytest.param((3, 7, 7), {"size": [4, 4, 4]}, "size [4, 4, 4] has 3 values for 2 spatial dims", id="size-rank"),
        pytest.param((3,), {"size": 1}, "crop needs a channels-first input with spatial dims", id="vector"),
    ],
)
def test_crop_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        layer(x, type="crop", **fields)
    assert message in str(info.value)


def test_crop_to_a_layer_of_another_rank_is_an_error() -> None:
    with pytest.raises(SpecError, match="cannot crop 3x8x8 to the rank of 'v'"):
        net((3, 8, 8), {"type": "flatten", "name": "v"}, {"type": "crop", "inputs": ["input"], "to": "v"})


def test_crop_to_a_larger_layer_is_an_error() -> None:
    with pytest.raises(SpecError, match="crops must shrink the input"):
        net((3, 8, 8), {"type": "pad", "name": "big", "padding": 1},
            {"type": "crop", "inputs": ["input"], "to": "big"})


def test_crop_to_the_network_input() -> None:
    # FCN (Long et al. 2015, Caffe 'Crop' layer): pad, then crop back to the data's size.
    report = net((3, 7, 7), {"type": "pad", "padding": 2}, {"type": "crop", "name": "crop", "to": "input"})
    assert report.layer("crop").output_shape == (3, 7, 7)


@given(w=st.integers(1, 64), t=st.integers(1, 64))
def test_centre_crop_property(w: int, t: int) -> None:
    if t > w:
        with pytest.raises(ShapeError):
            layer((1, w), type="crop", size=t)
        return
    ev = layer((1, w), type="crop", size=t)
    assert ev.shape == (1, t)
    assert ev.rf == (Window(1, 1, -((w - t) // 2), -((w - t) // 2)),)  # the smaller half is cut before


# --------------------------------------------------------------------------------------------------------------
# Pad.


@pytest.mark.parametrize(
    ("padding", "shape", "before"),
    [
        # int: 2 on every side of 8x8 → 12x12.
        pytest.param(2, (3, 12, 12), (2, 2), id="int:8+4"),
        # one per dim: H 1 + 1, W 3 + 3 → 10x14.
        pytest.param([1, 3], (3, 10, 14), (1, 3), id="per-dim[1,3]"),
        # a flat list of 2·n is MatConvNet's [top bottom left right] (as for convs), not F.pad's last-dim-first
        # (left, right, top, bottom): H 1 + 2, W 3 + 4 → 11x15.
        pytest.param([1, 2, 3, 4], (3, 11, 15), (1, 3), id="flat:[t,b,l,r]"),
        pytest.param([[1, 2], [3, 4]], (3, 11, 15), (1, 3), id="pairs[[1,2],[3,4]]"),
        pytest.param({"before": [0, 1], "after": [1, 0]}, (3, 9, 9), (0, 1), id="sides:SAME-style"),
        pytest.param(0, (3, 8, 8), (0, 0), id="zero"),
    ],
)
def test_pad(padding: Any, shape: tuple[int, ...], before: tuple[int, int]) -> None:
    ev = layer((3, 8, 8), type="pad", padding=padding)
    assert ev.shape == shape
    assert ev.params == ev.flops == 0
    assert ev.stores  # a new tensor
    assert ev.rf == tuple(Window(1, 1, b, b) for b in before)


@pytest.mark.parametrize(
    ("fields", "x", "shape"),
    [
        # reflect needs padding < size: 2 < 3 on 3x3 → 7x7 (torch.nn.ReflectionPad2d(2)).
        pytest.param({"type": "reflection_pad", "padding": 2}, (3, 3, 3), (3, 7, 7), id="reflection_pad-2<3"),
        pytest.param({"type": "pad", "mode": "reflect", "padding": [2, 0]}, (3, 3, 1), (3, 7, 1),
                     id="reflect-only-H"),
        # replicate has no limit: 5 on 3 → 13 (torch.nn.ReplicationPad2d(5)).
        pytest.param({"type": "replication_pad", "padding": 5}, (3, 3, 3), (3, 13, 13), id="replication_pad-5"),
        # circular may wrap once: 3 on 3 → 9.
        pytest.param({"type": "pad", "mode": "circular", "padding": 3}, (3, 3, 3), (3, 9, 9), id="circular-3<=3"),
        pytest.param({"type": "zero_pad", "padding": 1}, (3, 3, 3), (3, 5, 5), id="zero_pad"),
        pytest.param({"type": "pad", "padding": 1, "value": 2.5}, (3, 4), (3, 6), id="constant-1d"),
    ],
)
def test_pad_modes(fields: dict[str, Any], x: tuple[int, ...], shape: tuple[int, ...]) -> None:
    assert layer(x, **fields).shape == shape


@pytest.mark.parametrize(
    ("fields", "x", "message"),
    [
        # torch: "Argument #4: Padding size should be less than the corresponding input dimension, but got:
        # padding (3, 3) at dimension 3 of input [1, 3, 3, 3]"
        pytest.param({"type": "pad", "mode": "reflect", "padding": 3}, (3, 3, 3),
                     "reflect padding must be smaller than the input size 3x3x3", id="reflect-3>=3"),
        pytest.param({"type": "reflection_pad", "padding": [0, 4]}, (3, 8, 4), "reflect padding must be smaller",
                     id="reflection_pad-W4>=4"),
        pytest.param({"type": "pad", "padding": "same"}, (3, 3, 3), "pad needs explicit amounts", id="same"),
        pytest.param({"type": "pad", "padding": [1, 1, 1]}, (3, 3, 3), "padding [1, 1, 1] has 3 values",
                     id="rank"),
    ],
)
def test_pad_errors(fields: dict[str, Any], x: tuple[int, ...], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        layer(x, **fields)
    assert message in str(info.value)


def test_circular_pad_may_not_wrap_twice() -> None:
    with pytest.raises(ShapeError):
        layer((3, 3, 3), type="pad", mode="circular", padding=5)


def test_pad_then_crop_is_the_identity() -> None:
    report = net((4, 7, 7), {"type": "conv2d", "name": "a", "out_channels": 4, "kernel_size": 1},
                 {"type": "pad", "name": "pad", "padding": 2},
                 {"type": "crop", "name": "crop", "to": "a"})
    assert report.layer("pad").output_shape == (4, 11, 11)
    crop = report.layer("crop")
    assert crop.output_shape == (4, 7, 7)
    assert crop.rf_offset == report.layer("a").rf_offset == (0, 0)  # pad's −2 and crop's +2 cancel


# --------------------------------------------------------------------------------------------------------------
# Channel shuffle.


@pytest.mark.parametrize(
    ("x", "groups"),
    [
        # ShuffleNet v1 (Zhang et al. 2018) stage 2 with g = 3: 240 channels, 28x28.
        pytest.param((240, 28, 28), 3, id="shufflenet-g3:240"),
        # ShuffleNet v2 shuffles the two halves: groups 2 on 116 channels.
        pytest.param((116, 28, 28), 2, id="shufflenet-v2-g2:116"),
        pytest.param((8, 4), 8, id="1d-g=C"),
        pytest.param((8, 2, 2), 1, id="g1-noop"),
    ],
)
def test_channel_shuffle(x: tuple[int, ...], groups: int) -> None:
    ev = layer(x, type="channel_shuffle", groups=groups)
    assert ev.shape == x
    assert ev.params == ev.flops == 0
    assert ev.stores  # torch materialises the permuted copy
    assert ev.rf is None  # per-position: the field is unchanged
    assert ev.summary == f"g{groups}"


@pytest.mark.parametrize(
    ("x", "groups"),
    [pytest.param((12, 3, 3), 5, id="12%5"), pytest.param((116, 28, 28), 3, id="116%3")],
)
def test_channel_shuffle_needs_divisible_channels(x: tuple[int, ...], groups: int) -> None:
    with pytest.raises(ShapeError, match=f"not divisible by groups={groups}"):
        layer(x, type="channel_shuffle", groups=groups)
