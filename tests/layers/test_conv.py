"""Convolution (cnncalc/layers/conv.py): 1-, 2-, 3-D, grouped, depthwise, bias off, fused activation, errors.

Expected numbers are worked by hand in the comments (params = C_out·(C_in/G)·K + C_out, MACs = C_out·O·(C_in/G)·K,
FLOPs = 2·MACs + C_out·O) or quoted from the source named there (published.md = /work/shared/reference).
"""

from __future__ import annotations

import re
from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation, Window
from cnncalc.errors import ShapeError


def conv(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a conv layer spec (``type`` defaults to ``conv``) on input shape ``x``."""
    fields.setdefault("type", "conv")
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def test_alexnet_conv1() -> None:
    # cs231n / published.md §3(b): 96 filters 11x11x3, stride 4, pad 0 on 3x227x227 → 96x55x55.
    ev = conv((3, 227, 227), type="conv2d", out_channels=96, kernel_size=11, stride=4)
    assert ev.shape == (96, 55, 55)  # (227 − 11)/4 + 1 = 55
    assert ev.params == 34_944  # (11·11·3 + 1)·96 = 364·96 = 34,944 (cs231n: 34,848 weights + 96 biases)
    assert ev.biases == 96
    assert ev.macs == 105_415_200  # 55·55·96 · 11·11·3 = 290,400 · 363 = 105,415,200 (published.md)
    assert ev.flops == 211_120_800  # 2·105,415,200 + 290,400 bias additions
    assert ev.rf == (Window.regular(11, 4, 0), Window.regular(11, 4, 0))


def test_alexnet_conv2_two_groups() -> None:
    # published.md §3(a), Caffe bvlc_alexnet: conv2 256 × 5x5x48, groups 2, pad 2, on 96x27x27.
    ev = conv((96, 27, 27), type="conv2d", out_channels=256, kernel_size=5, padding=2, groups=2)
    assert ev.shape == (256, 27, 27)  # (27 + 4 − 5)/1 + 1 = 27
    assert ev.params == 307_456  # 5·5·48·256 + 256 = 307,200 + 256
    assert ev.macs == 223_948_800  # 27·27·256 · 5·5·48 = 186,624 · 1,200 (published.md)


def test_torchvision_alexnet_conv1() -> None:
    # published.md §3(c): torchvision alexnet conv1 = Conv2d(3, 64, 11, stride 4, padding 2) on 224: 23,296 params.
    ev = conv((3, 224, 224), out_channels=64, kernel_size=11, stride=4, padding=2)
    assert ev.shape == (64, 55, 55)  # floor((224 + 4 − 11)/4) + 1 = 54 + 1
    assert ev.params == 23_296  # 11·11·3·64 + 64 = 23,232 + 64


@pytest.mark.parametrize(("groups", "out"), [pytest.param("depthwise", 32, id="depthwise"),
                                             pytest.param(32, 32, id="groups=32"),
                                             pytest.param("depthwise", "same", id="depthwise-out=same")])
def test_depthwise_3x3(groups: str | int, out: int | str) -> None:
    # MobileNet v1 (Howard et al. 2017, Table 1) "Conv dw / s1, 3x3x32 dw" on 112x112x32; ``out_channels: same``
    # keeps the 32 channels without naming them.
    ev = conv((32, 112, 112), out_channels=out, kernel_size=3, padding=1, groups=groups)
    assert ev.shape == (32, 112, 112)
    assert ev.params == 320  # 32·(32/32)·9 + 32 = 288 + 32
    assert ev.macs == 3_612_672  # 112·112·32 · 1·9 = 401,408 · 9
    assert "g32" in ev.summary


def test_out_channels_same_follows_the_input() -> None:
    # MobileNet v1 (Howard et al. 2017, Table 1): "Conv dw / s2, 3x3x64 dw" on 112x112x64 → 56x56x64; the depthwise
    # cost is D_K·D_K·M·D_F·D_F (their eq. 3) = 9·64·56·56 = 1,806,336 MACs, 9·64 weights + 64 biases.
    ev = conv((64, 112, 112), out_channels="same", kernel_size=3, stride=2, padding=1, groups="depthwise")
    assert ev.shape == (64, 56, 56)
    assert (ev.macs, ev.params) == (1_806_336, 640)
    with pytest.raises(ShapeError, match="connection_table has 1 rows for 2 output channels"):
        conv((2, 4, 4), out_channels="same", kernel_size=1, connection_table=[[0]])
    with pytest.raises(ValueError, match="out_channels"):
        conv((2, 4, 4), out_channels="keep", kernel_size=1)


def test_lenet5_c1_and_c5() -> None:
    # LeCun et al. 1998, Sec. II.B (published.md §6): C1 has 156 trainable parameters and 122,304 connections.
    c1 = conv((1, 32, 32), out_channels=6, kernel_size=5)
    assert c1.shape == (6, 28, 28)  # 32 − 5 + 1
    assert c1.params == 156  # 6·(25 + 1)
    assert c1.macs + 6 * 28 * 28 == 122_304  # connections = MACs + one bias link per output: 28·28·6·26
    # C5: 120 maps of 5x5 on S4's 16@5x5 → 120@1x1, 48,120 parameters = connections (120·(400 + 1)).
    c5 = conv((16, 5, 5), out_channels=120, kernel_size=5)
    assert c5.shape == (120, 1, 1)
    assert c5.params == 48_120
    assert c5.macs + 120 == 48_120


def test_pointwise_1x1() -> None:
    # MobileNet v1's next row, "Conv / s1, 1x1x32x64" on 112x112x32.
    ev = conv((32, 112, 112), out_channels=64, kernel_size=1)
    assert ev.params == 2_112  # 32·64 + 64
    assert ev.macs == 25_690_112  # 112·112·64 · 32 = 802,816 · 32


def test_conv1d() -> None:
    # 16 channels × 100 samples, 32 filters of width 5: length (100 − 5)/1 + 1 = 96.
    ev = conv((16, 100), type="conv1d", out_channels=32, kernel_size=5)
    assert ev.shape == (32, 96)
    assert ev.params == 2_592  # 16·5·32 + 32 = 2,560 + 32
    assert ev.macs == 245_760  # 96·32 · 16·5 = 3,072 · 80
    assert ev.flops == 494_592  # 2·245,760 + 96·32 = 491,520 + 3,072


def test_conv1d_dilated_strided() -> None:
    # K=3, D=2 → K_eff = 2·(3 − 1) + 1 = 5; padding 2, stride 2 on 50: floor((50 + 4 − 5)/2) + 1 = 24 + 1 = 25.
    ev = conv((4, 50), type="conv1d", out_channels=8, kernel_size=3, dilation=2, padding=2, stride=2)
    assert ev.shape == (8, 25)
    assert ev.params == 104  # 4·3·8 + 8: dilation adds no weights
    assert ev.macs == 2_400  # 25·8 · 4·3 = 200 · 12
    assert ev.rf == (Window.regular(5, 2, 2),)


def test_conv3d_c3d_conv1a() -> None:
    # C3D conv1a (Tran et al. 2015): 64 filters 3x3x3, padding 1, on a 3x16x112x112 clip.
    ev = conv((3, 16, 112, 112), type="conv3d", out_channels=64, kernel_size=3, padding=1)
    assert ev.shape == (64, 16, 112, 112)
    assert ev.params == 5_248  # 3·27·64 + 64 = 5,184 + 64
    assert ev.macs == 1_040_449_536  # 16·112·112·64 · 3·27 = 12,845,056 · 81


def test_conv3d_anisotropic() -> None:
    # kernel [1, 3, 3] (a "(2+1)D" spatial conv), stride [1, 2, 2], padding [0, 1, 1] on 8x4x16x16:
    # T (4 − 1)/1 + 1 = 4; H, W floor((16 + 2 − 3)/2) + 1 = 7 + 1 = 8.
    ev = conv((8, 4, 16, 16), type="conv3d", out_channels=16, kernel_size=[1, 3, 3], stride=[1, 2, 2],
              padding=[0, 1, 1])
    assert ev.shape == (16, 4, 8, 8)
    assert ev.params == 1_168  # 8·1·3·3·16 + 16 = 1,152 + 16


def test_rectangular_kernel_inception() -> None:
    # Inception-v3's 1x7 conv: 128 → 192 channels on 17x17 with padding [0, 3].
    ev = conv((128, 17, 17), out_channels=192, kernel_size=[1, 7], padding=[0, 3])
    assert ev.shape == (192, 17, 17)
    assert ev.params == 172_224  # 128·7·192 + 192 = 172,032 + 192


def test_bias_off() -> None:
    # cs231n VGG16 walk-through (weights without biases): CONV3-64 on 224x224x3, "weights: (3*3*3)*64 = 1,728".
    ev = conv((3, 224, 224), out_channels=64, kernel_size=3, padding=1, bias=False)
    assert ev.params == 1_728
    assert ev.biases == 0
    assert ev.macs == 86_704_128  # 224·224·64 · 27 = 3,211,264 · 27
    assert ev.flops == 2 * 86_704_128  # no bias additions
    assert "nobias" in ev.summary


def test_fused_activation_adds_flops_not_params() -> None:
    # VGG conv1_1 with its ReLU fused: + 224·224·64 = 3,211,264 FLOPs (relu is 1 per element), no params.
    plain = conv((3, 224, 224), out_channels=64, kernel_size=3, padding=1)
    fused = conv((3, 224, 224), out_channels=64, kernel_size=3, padding=1, activation="relu")
    assert fused.params == plain.params == 1_792  # 1,728 + 64
    assert fused.macs == plain.macs
    assert fused.flops == plain.flops + 3_211_264
    assert fused.shape == plain.shape
    assert fused.summary.endswith("+relu")


def test_same_padding_stride_2() -> None:
    # TF SAME on 224 with a 7x7/2 conv (ResNet's stem in TF): out ceil(224/2) = 112; pads (2, 3).
    ev = conv((3, 224, 224), out_channels=64, kernel_size=7, stride=2, padding="same")
    assert ev.shape == (64, 112, 112)
    assert ev.rf == (Window.regular(7, 2, 2), Window.regular(7, 2, 2))


def test_stride_that_does_not_fit_warns() -> None:
    # cs231n: 7x7 input, 3x3 filter, stride 3 "doesn't fit"; PyTorch floors to 2.
    ev = conv((1, 7, 7), out_channels=1, kernel_size=3, stride=3)
    assert ev.shape == (1, 2, 2)
    assert ev.warnings


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        pytest.param((3, 32, 32), {"in_channels": 4}, "in_channels=4 but the incoming shape 3x32x32 has 3 channels",
                     id="in_channels-mismatch"),
        pytest.param((6, 8, 8), {"groups": 4}, "groups=4 does not divide in_channels=6", id="groups-vs-in:6%4=2"),
        pytest.param((4, 8, 8), {"groups": 2, "out_channels": 3}, "groups=2 does not divide out_channels=3",
                     id="groups-vs-out:3%2=1"),
        pytest.param((4, 8, 8), {"groups": "depthwise", "out_channels": 6},
                     "groups=4 does not divide out_channels=6", id="depthwise-out-not-multiple:6%4=2"),
        pytest.param((3, 100), {"type": "conv2d"}, "conv2d needs an input with 2 spatial dims", id="conv2d-on-1d"),
        pytest.param((3, 8, 8), {"type": "conv1d"}, "conv1d needs an input with 1 spatial dims", id="conv1d-on-2d"),
        pytest.param((3, 8, 8), {"type": "conv3d"}, "conv3d needs an input with 3 spatial dims", id="conv3d-on-2d"),
        pytest.param((3,), {}, "conv needs a channels-first input with spatial dims", id="conv-on-vector"),
        pytest.param((3, 8, 8), {"kernel_size": [3, 3, 3]}, "kernel_size [3, 3, 3] has 3 values for 2 spatial dims",
                     id="kernel-rank"),
        pytest.param((3, 5, 5), {"kernel_size": 7}, "kernel 7 is larger than the padded input 5", id="kernel>input"),
    ],
)
def test_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    spec: dict[str, Any] = {"out_channels": 8, "kernel_size": 3, **fields}
    with pytest.raises(ShapeError) as info:
        conv(x, **spec)
    assert message in str(info.value)


def test_in_channels_that_matches_is_accepted() -> None:
    assert conv((3, 8, 8), out_channels=8, kernel_size=3, in_channels=3).shape == (8, 6, 6)  # 8 − 3 + 1 = 6


# --------------------------------------------------------------------------------------------------------------
# Properties.


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], dict[str, Any]]:
    """A valid conv (any rank, groups, dilation, padding, bias) and an input it fits."""
    n = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 4))
    c_in = groups * draw(st.integers(1, 4))
    c_out = groups * draw(st.integers(1, 4))
    kernel = [draw(st.integers(1, 5)) for _ in range(n)]
    dilation = [draw(st.integers(1, 3)) for _ in range(n)]
    padding = [draw(st.integers(0, 3)) for _ in range(n)]
    stride = [draw(st.integers(1, 4)) for _ in range(n)]
    sizes = []
    for k, d, p in zip(kernel, dilation, padding, strict=True):
        k_eff = d * (k - 1) + 1
        sizes.append(draw(st.integers(max(1, k_eff - 2 * p), max(1, k_eff - 2 * p) + 20)))
    fields = {"out_channels": c_out, "kernel_size": kernel, "stride": stride, "padding": padding,
              "dilation": dilation, "groups": groups, "bias": draw(st.booleans())}
    return (c_in, *sizes), fields


@given(case=conv_cases(), grow=st.integers(0, 9))
def test_params_do_not_depend_on_input_size(case: tuple[tuple[int, ...], dict[str, Any]], grow: int) -> None:
    x, fields = case
    bigger = (x[0], *(s + grow for s in x[1:]))
    assert conv(x, **fields).params == conv(bigger, **fields).params


@given(case=conv_cases())
def test_counts_follow_the_formulas(case: tuple[tuple[int, ...], dict[str, Any]]) -> None:
    x, fields = case
    ev = conv(x, **fields)
    per_output = (x[0] // fields["groups"]) * prod(fields["kernel_size"])  # (C_in/G)·K
    outputs = prod(ev.shape)  # C_out · O
    bias = fields["out_channels"] if fields["bias"] else 0
    assert ev.shape[0] == fields["out_channels"]
    assert ev.params == fields["out_channels"] * per_output + bias
    assert ev.biases == bias
    assert ev.macs == outputs * per_output
    assert ev.flops == 2 * ev.macs + (outputs if fields["bias"] else 0)


# LeCun et al. 1998, Table I: C3's 16 maps read 3 (six maps), 4 (nine maps) or all 6 of S2's maps.
LENET_C3 = [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5], [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5],
    [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5], [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5],
]


def test_connection_table_is_lenet_c3() -> None:
    # Sec. II.B: C3 has 1,516 trainable parameters and 151,600 connections:
    # 60 input-map links (6·3 + 9·4 + 1·6) · 25 weights + 16 biases = 1,516; × 10·10 outputs = 151,600.
    ev = conv((6, 14, 14), out_channels=16, kernel_size=5, connection_table=LENET_C3)
    assert ev.shape == (16, 10, 10)
    assert ev.params == 1_516 and ev.biases == 16
    assert ev.connections == 151_600
    assert ev.macs == 150_000  # the 1,500 weights at 100 positions; the bias adds are not MACs


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([[0]] * 15, "connection_table has 15 rows for 16 output channels"),
        ([[0, 6]] + [[0]] * 15, "rows must list distinct input channels 0–5, at least one each (got 6)"),
        ([[]] + [[0]] * 15, "at least one each"),
        ([[1, 1]] + [[0]] * 15, "distinct input channels"),
    ],
    ids=["rows", "out-of-range", "empty-row", "repeated"],
)
def test_connection_table_errors(table: list[list[int]], message: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(message)):
        conv((6, 14, 14), out_channels=16, kernel_size=5, connection_table=table)


def test_connection_table_and_groups_exclude_each_other() -> None:
    with pytest.raises(ShapeError, match="connection_table replaces groups"):
        conv((6, 14, 14), out_channels=6, kernel_size=5, groups=2, connection_table=[[0]] * 6)


def test_connections_of_a_dense_conv() -> None:
    # LeCun et al. 1998: C1 (6 maps 5x5 on 32x32) has 156 parameters and 122,304 connections = 156 · 28·28.
    ev = conv((1, 32, 32), out_channels=6, kernel_size=5)
    assert (ev.params, ev.connections) == (156, 122_304)
