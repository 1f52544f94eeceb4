"""Pooling (cnncalc/layers/pool.py): max, average, ceil_mode, adaptive and global pooling, and their errors.

FLOPs convention (module docstring): max pooling K − 1 comparisons per output, average pooling K (K − 1 additions
and a division), adaptive pooling counted per window. Numbers are worked in the comments or quoted from the source.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import GLOBAL, Evaluation, Window
from cnncalc.engine.layers.pool import adaptive_windows
from cnncalc.errors import ShapeError

#: The ``agrees_with_torch`` fixture (tests/conftest.py).
Check = Callable[[dict[str, Any]], Any]


def pool(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a pooling layer spec on input shape ``x``."""
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def test_alexnet_pool1() -> None:
    # cs231n (seeds/004): POOL1 3x3 at stride 2 on 55x55x96 → 27x27x96, "Parameters: 0!".
    ev = pool((96, 55, 55), type="maxpool2d", kernel_size=3, stride=2)
    assert ev.shape == (96, 27, 27)  # (55 − 3)/2 + 1 = 27
    assert ev.params == 0
    assert ev.macs == 0
    assert ev.flops == 559_872  # 27·27·96 outputs · (9 − 1) comparisons = 69,984 · 8
    assert ev.rf == (Window.regular(3, 2, 0), Window.regular(3, 2, 0))


def test_alexnet_pool3() -> None:
    # cs231n: "[6x6x256] MAX POOL3: 3x3 filters at stride 2" on 13x13x256: (13 − 3)/2 + 1 = 6.
    assert pool((256, 13, 13), type="maxpool", kernel_size=3, stride=2).shape == (256, 6, 6)


def test_stride_defaults_to_the_window() -> None:
    # VGG's 2x2 max pool (torch: stride defaults to kernel_size): 224 → (224 − 2)/2 + 1 = 112.
    ev = pool((64, 224, 224), type="maxpool2d", kernel_size=2)
    assert ev.shape == (64, 112, 112)
    assert ev.flops == 2_408_448  # 112·112·64 · (4 − 1) = 802,816 · 3


def test_googlenet_ceil_mode() -> None:
    # GoogLeNet Table 1 "max pool 3x3/2" 112x112x64 → 56x56x64; torchvision: MaxPool2d(3, 2, ceil_mode=True).
    # ceil((112 − 3)/2) + 1 = 55 + 1 = 56 (floor would give 55).
    ev = pool((64, 112, 112), type="maxpool2d", kernel_size=3, stride=2, ceil_mode=True)
    assert ev.shape == (64, 56, 56)
    assert "ceil" in ev.summary
    assert ev.warnings == ()
    floor = pool((64, 112, 112), type="maxpool2d", kernel_size=3, stride=2)
    assert floor.shape == (64, 55, 55)
    assert floor.warnings  # (112 − 3) = 109 is odd: the last pixel is never read


def test_ceil_mode_last_window_must_start_inside() -> None:
    # pytorch/pytorch#45357, fixed by PR #46558: max_pool2d(6x7, kernel 1, stride 2, ceil_mode=True) is 3x4:
    # H ceil(5/2) + 1 = 4, but the 4th window would start at 6, past the input; W ceil(6/2) + 1 = 4, start 6 < 7.
    ev = pool((1, 6, 7), type="maxpool2d", kernel_size=1, stride=2, ceil_mode=True)
    assert ev.shape == (1, 3, 4)


def test_ceil_mode_with_padding() -> None:
    # torch docs note on MaxPool: windows that would start in the right padding are ignored.
    # W=6, padding 1, K=2, S=4: padded 8; ceil((8 − 2)/4) + 1 = 3, but the 3rd start 8 >= 6 + 1 → 2.
    ev = pool((1, 6), type="maxpool1d", kernel_size=2, stride=4, padding=1, ceil_mode=True)
    assert ev.shape == (1, 2)


def test_avgpool() -> None:
    # 2x2 average pool on 4x8x8: 4x4x4 = 64 outputs, each 3 additions + 1 division = 4 FLOPs → 256.
    ev = pool((4, 8, 8), type="avgpool2d", kernel_size=2)
    assert ev.shape == (4, 4, 4)
    assert ev.flops == 256
    assert ev.params == 0


def test_avgpool_padded() -> None:
    # 3x3/1 with padding 1 keeps 5x5: (5 + 2 − 3)/1 + 1 = 5; FLOPs 2·25 outputs · 9 = 450.
    ev = pool((2, 5, 5), type="avgpool", kernel_size=3, stride=1, padding=1)
    assert ev.shape == (2, 5, 5)
    assert ev.flops == 450


def test_dilated_maxpool() -> None:
    # K=3, D=2 → K_eff 5; stride 1 on 9: (9 − 5)/1 + 1 = 5 outputs, each 3 − 1 = 2 comparisons → 10 FLOPs.
    ev = pool((1, 9), type="maxpool1d", kernel_size=3, dilation=2, stride=1)
    assert ev.shape == (1, 5)
    assert ev.flops == 10
    assert ev.rf == (Window.regular(5, 1, 0),)
    # torch bounds the padding by half the kernel, not the dilated window: max_pool1d(3, padding=2, dilation=2)
    # raises "padding should be at most half of kernel size, but got padding=2 and kernel_size=3".
    assert pool((1, 9), type="maxpool1d", kernel_size=3, dilation=2, stride=1, padding=1).shape == (1, 7)
    with pytest.raises(ShapeError, match="more than half the kernel 3"):
        pool((1, 9), type="maxpool1d", kernel_size=3, dilation=2, stride=1, padding=2)


@pytest.mark.parametrize(
    ("size", "out", "expected"),
    [
        # PyTorch: window i spans floor(i·W/O) .. ceil((i+1)·W/O).
        # 5 → 3: [0, ceil(5/3)=2) len 2; [floor(5/3)=1, ceil(10/3)=4) len 3; [floor(10/3)=3, 5) len 2.
        pytest.param(5, 3, [2, 3, 2], id="5->3:non-divisible:[2,3,2]"),
        # 7 → 3: [0,3) [2,5) [4,7): all 3 (overlapping).
        pytest.param(7, 3, [3, 3, 3], id="7->3:[0,3),[2,5),[4,7)"),
        # 3 → 5 (upsampling): [0,1) [0,2) [1,2) [1,3) [2,3).
        pytest.param(3, 5, [1, 2, 1, 2, 1], id="3->5:[0,1),[0,2),[1,2),[1,3),[2,3)"),
        # torchvision alexnet's AdaptiveAvgPool2d(6) on conv5's 13x13: starts 0,2,4,6,8,10, ends 3,5,7,9,11,13.
        pytest.param(13, 6, [3] * 6, id="13->6:all-3"),
        # Divisible: 8 → 4 is 2x2/2 pooling.
        pytest.param(8, 4, [2] * 4, id="8->4:divisible:2"),
        pytest.param(6, 6, [1] * 6, id="6->6:identity"),
        pytest.param(7, 1, [7], id="7->1:global"),
    ],
)
def test_adaptive_windows(size: int, out: int, expected: list[int]) -> None:
    assert adaptive_windows(size, out) == expected


def test_adaptive_avgpool_non_divisible() -> None:
    # 5x5 → 3x3, windows [2, 3, 2] per dim: total window volume per channel (2 + 3 + 2)² = 49.
    avg = pool((2, 5, 5), type="adaptive_avgpool2d", output_size=3)
    assert avg.shape == (2, 3, 3)
    assert avg.flops == 98  # 2 channels · 49 window elements (additions + one division per output)
    mx = pool((2, 5, 5), type="adaptive_maxpool2d", output_size=3)
    assert mx.flops == 80  # 98 − 2·9 outputs: len − 1 comparisons per window
    assert mx.params == 0


def test_adaptive_keeps_a_dim_with_none() -> None:
    # output_size [None, 1] on 8x5x7: H kept (5 windows of 1), W pooled to 1 (one window of 7).
    ev = pool((8, 5, 7), type="adaptive_avgpool2d", output_size=[None, 1])
    assert ev.shape == (8, 5, 1)
    assert ev.flops == 280  # 8 · (5·1) · 7


def test_torchvision_alexnet_avgpool_is_identity_at_224() -> None:
    # torchvision alexnet: AdaptiveAvgPool2d((6, 6)) on 256x6x6 (224 input): windows of 1, 256·36 = 9,216 FLOPs.
    ev = pool((256, 6, 6), type="adaptive_avgpool", output_size=[6, 6])
    assert ev.shape == (256, 6, 6)
    assert ev.flops == 9_216


def test_global_pooling() -> None:
    # ResNet's final average pool on 512x7x7: 512 outputs, each 49 elements → 25,088 FLOPs.
    avg = pool((512, 7, 7), type="global_avgpool")
    assert avg.shape == (512, 1, 1)
    assert avg.flops == 25_088  # 512 · 49
    assert avg.rf == GLOBAL
    mx = pool((512, 7, 7), type="global_maxpool")
    assert mx.flops == 24_576  # 512 · (49 − 1)


def test_adaptive_receptive_field_step() -> None:
    # 8 → 4 is exactly 2x2/2 pooling.
    window = Window.regular(2, 2, 0)
    assert pool((1, 8, 8), type="adaptive_maxpool2d", output_size=4).rf == (window, window)


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        # torch: "pad should be at most half of effective kernel size": 2 > 3 // 2 = 1.
        pytest.param((3, 8, 8), {"type": "maxpool2d", "kernel_size": 3, "padding": 2},
                     "padding 2 is more than half the kernel 3", id="maxpool-pad2-k3"),
        pytest.param((3, 8, 8), {"type": "avgpool2d", "kernel_size": 2, "padding": 2},
                     "padding 2 is more than half the kernel 2", id="avgpool-pad2-k2"),
        pytest.param((3, 8, 8), {"type": "maxpool2d", "kernel_size": 3, "padding": [[0, 2], [0, 0]]},
                     "padding 2 is more than half the kernel 3", id="asymmetric-pad"),
        pytest.param((3, 8), {"type": "maxpool2d", "kernel_size": 2}, "maxpool2d needs an input with 2 spatial dims",
                     id="maxpool2d-on-1d"),
        pytest.param((3, 8, 8), {"type": "avgpool1d", "kernel_size": 2}, "avgpool1d needs an input with 1 spatial dims",
                     id="avgpool1d-on-2d"),
        pytest.param((3,), {"type": "maxpool", "kernel_size": 2}, "maxpool needs a channels-first input",
                     id="maxpool-on-vector"),
        pytest.param((3, 2, 2), {"type": "maxpool", "kernel_size": 3}, "kernel 3 is larger than the padded input 2",
                     id="window>input"),
        pytest.param((3, 8, 8), {"type": "global_avgpool", "output_size": 2}, "global_avgpool always outputs size 1",
                     id="global-output-size"),
        pytest.param((3, 8, 8, 8), {"type": "adaptive_avgpool", "output_size": [2, 2]},
                     "output_size [2, 2] has 2 values for 3 spatial dims", id="adaptive-rank"),
        pytest.param((3, 8), {"type": "adaptive_avgpool2d"}, "adaptive_avgpool2d needs an input with 2 spatial dims",
                     id="adaptive2d-on-1d"),
    ],
)
def test_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        pool(x, **fields)
    assert message in str(info.value)


# --------------------------------------------------------------------------------------------------------------
# Properties.


@given(size=st.integers(1, 200), out=st.integers(1, 60))
def test_adaptive_windows_cover_the_input(size: int, out: int) -> None:
    lengths = adaptive_windows(size, out)
    assert len(lengths) == out
    assert all(n >= 1 for n in lengths)
    assert sum(lengths) >= size  # windows overlap or tile, never leave a pixel out
    # Window i is ceil(x + W/O) − floor(x) long with x = i·W/O: ceil(W/O) or one more (when x is fractional).
    assert set(lengths) <= {-(-size // out), -(-size // out) + 1}
    if size % out == 0:
        assert lengths == [size // out] * out


@given(
    c=st.integers(1, 8),
    size=st.integers(1, 40),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    pad=st.integers(0, 3),
    ceil_mode=st.booleans(),
    kind=st.sampled_from(["maxpool1d", "avgpool1d"]),
)
def test_pool_counts(c: int, size: int, kernel: int, stride: int, pad: int, ceil_mode: bool, kind: str) -> None:
    assume(pad <= kernel // 2 and kernel <= size + 2 * pad)
    ev = pool((c, size), type=kind, kernel_size=kernel, stride=stride, padding=pad, ceil_mode=ceil_mode)
    assert ev.shape[0] == c  # channels pass through
    assert ev.params == ev.macs == ev.buffers == 0
    per_output = kernel - 1 if kind.startswith("max") else kernel
    assert ev.flops == prod(ev.shape) * per_output


@pytest.mark.parametrize(
    ("x", "params", "connections"),
    [
        # LeCun et al. 1998, Sec. II.B: S2 has 12 trainable parameters and 5,880 connections (14·14·6·(4 + 1));
        # S4 has 32 parameters and 2,000 connections (5·5·16·5).
        ((6, 28, 28), 12, 5_880),
        ((16, 10, 10), 32, 2_000),
    ],
    ids=["lenet-S2", "lenet-S4"],
)
def test_trainable_subsampling(x: tuple[int, ...], params: int, connections: int) -> None:
    ev = pool(x, type="subsample", kernel_size=2)
    assert ev.shape == (x[0], x[1] // 2, x[2] // 2)
    assert (ev.params, ev.biases, ev.connections) == (params, x[0], connections)
    assert ev.macs == prod(ev.shape)  # one coefficient multiply per output


# --- Lp pooling and dilated average pooling (ONNX) -------------------------------------------------------------------


def test_lppool_as_torch() -> None:
    # torch.nn.LPPool2d(2, 3, stride=2) (torch docs) on 16x50x32: ⌊(50 − 3)/2⌋ + 1 = 24, ⌊(32 − 3)/2⌋ + 1 = 15.
    ev = pool((16, 50, 32), type="lppool2d", norm_type=2, kernel_size=3, stride=2)
    assert ev.shape == (16, 24, 15)
    assert ev.flops == 16 * 24 * 15 * 2 * 9  # 9 powers, 8 additions, 1 root per output
    assert ev.params == ev.macs == 0


def test_onnx_lppool_and_averagepool_take_dilation() -> None:
    # ONNX AveragePool (opset 19) dilations: effective window d·(k − 1) + 1 = 5 for k 3, d 2; on 8: 8 − 5 + 1 = 4.
    assert pool((4, 8, 8), type="avgpool", kernel_size=3, stride=1, dilation=2).shape == (4, 4, 4)
    assert pool((4, 8, 8), type="lppool", kernel_size=3, stride=1, dilation=2, padding=1).shape == (4, 6, 6)


@pytest.mark.parametrize(("kind", "fields", "message"), [
    pytest.param("avgpool2d", {"dilation": 2}, "PyTorch's AvgPool2d has no dilation", id="avgpool2d-dilation"),
    pytest.param("lppool2d", {"dilation": 2}, "PyTorch's LPPool2d has no dilation", id="lppool2d-dilation"),
    pytest.param("lppool1d", {"padding": 1}, "PyTorch's LPPool1d has no padding", id="lppool1d-padding"),
])
def test_pytorch_names_refuse_onnx_fields(kind: str, fields: dict[str, Any], message: str) -> None:
    x = (4, 8) if kind.endswith("1d") else (4, 8, 8)
    with pytest.raises(ShapeError, match=message):
        pool(x, type=kind, kernel_size=3, **fields)


@pytest.mark.torch
@pytest.mark.parametrize("layer", [
    {"type": "lppool1d", "norm_type": 2, "kernel_size": 3, "stride": 2},
    {"type": "lppool2d", "norm_type": 1, "kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"type": "lppool3d", "norm_type": 3, "kernel_size": 2},
    {"type": "avgpool", "kernel_size": 3, "stride": 2, "dilation": 2, "padding": 1, "count_include_pad": False},
], ids=lambda f: f["type"] + str(f.get("dilation", "")))
def test_against_torch(agrees_with_torch: Check, layer: dict[str, Any]) -> None:
    n = int(layer["type"][-2]) if layer["type"][-1] == "d" else 2
    agrees_with_torch({"input": [3, *[9] * n], "layers": [layer]})


@pytest.mark.torch
def test_dilated_average_is_the_average_of_the_dilated_window() -> None:
    # ONNX AveragePool with dilations 2 on a 1x1x5 ramp 0..4, kernel 2, stride 1: windows {0,2}, {1,3}, {2,4}.
    from cnncalc.torch._modules import lib

    t = lib()
    module = t.DilatedAvgPool(1, [2], [1], [2], [(0, 0)], True)
    out = module(t.torch.arange(5.0).reshape(1, 1, 5))
    assert out.flatten().tolist() == [1.0, 2.0, 3.0]
