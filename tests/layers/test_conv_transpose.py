"""Transposed convolution (cnncalc/layers/conv_transpose.py): PyTorch's size rule, output padding, SAME, output_size.

PyTorch docs (torch.nn.ConvTranspose2d): H_out = (H_in − 1)·S − 2·P + D·(K − 1) + output_padding + 1, and
"output_padding must be smaller than either stride or dilation". The weight is (C_in, C_out/G, K...), so
params = C_in·(C_out/G)·K + C_out; every input value meets a whole kernel, so MACs = C_in·I·(C_out/G)·K (fvcore);
FLOPs = 2·MACs + C_out·O with bias. Expected numbers are worked by hand in the comments.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation
from cnncalc.errors import ShapeError


def deconv(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a transposed conv spec (``type`` defaults to ``conv_transpose``) on input shape ``x``."""
    fields.setdefault("type", "conv_transpose")
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def torch_out(w: int, k: int, s: int = 1, p: int = 0, d: int = 1, op: int = 0) -> int:
    """The PyTorch docs' formula, restated here so the properties do not lean on cnncalc's own helper."""
    return (w - 1) * s - 2 * p + d * (k - 1) + op + 1


# --------------------------------------------------------------------------------------------------------------
# The PyTorch docs' own examples.


def test_docs_square_kernel_equal_stride() -> None:
    # torch docs: m = nn.ConvTranspose2d(16, 33, 3, stride=2), here on 16x50x100:
    # H = (50 − 1)·2 + 2 + 1 = 101, W = (100 − 1)·2 + 2 + 1 = 201.
    ev = deconv((16, 50, 100), type="conv_transpose2d", out_channels=33, kernel_size=3, stride=2)
    assert ev.shape == (33, 101, 201)
    assert ev.params == 4_785  # 16·33·9 + 33 = 4,752 + 33
    assert ev.biases == 33


def test_docs_non_square_kernel_unequal_stride_with_padding() -> None:
    # torch docs: nn.ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2)) on input (20, 16, 50, 100):
    # H = (50 − 1)·2 − 2·4 + (3 − 1) + 1 = 98 − 8 + 3 = 93; W = (100 − 1)·1 − 2·2 + (5 − 1) + 1 = 99 − 4 + 5 = 100.
    ev = deconv((16, 50, 100), type="conv_transpose2d", out_channels=33, kernel_size=[3, 5], stride=[2, 1],
                padding=[4, 2])
    assert ev.shape == (33, 93, 100)
    assert ev.params == 7_953  # 16·33·15 + 33 = 7,920 + 33
    assert ev.macs == 39_600_000  # C_in·I·C_out·K = 16·5,000·33·15 = 80,000·495
    assert ev.flops == 79_506_900  # 2·39,600,000 + 33·93·100 = 79,200,000 + 306,900


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        # torch docs: downsample Conv2d(16, 16, 3, stride=2, padding=1) takes 12x12 to 6x6; upsample
        # ConvTranspose2d(16, 16, 3, stride=2, padding=1) gives (6 − 1)·2 − 2 + 3 = 11, and
        # upsample(h, output_size=input.size()) gives 12x12 (output_padding 1).
        pytest.param(None, (16, 11, 11), id="no-output_size:11"),
        pytest.param(12, (16, 12, 12), id="output_size=12"),
        pytest.param([12, 11], (16, 12, 11), id="output_size=[12,11]"),
    ],
)
def test_docs_output_size_example(target: int | list[int] | None, expected: tuple[int, ...]) -> None:
    fields: dict[str, Any] = {"out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1}
    if target is not None:
        fields["output_size"] = target
    assert deconv((16, 6, 6), type="conv_transpose2d", **fields).shape == expected


def test_docs_3d_example() -> None:
    # torch docs: nn.ConvTranspose3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2)) on (20, 16, 10, 50, 100):
    # D = 9·2 + 2 + 1 = 21; H = 49 − 8 + 4 + 1 = 46; W = 99 − 4 + 1 + 1 = 97.
    ev = deconv((16, 10, 50, 100), type="conv_transpose3d", out_channels=33, kernel_size=[3, 5, 2],
                stride=[2, 1, 1], padding=[0, 4, 2])
    assert ev.shape == (33, 21, 46, 97)
    assert ev.params == 15_873  # 16·33·30 + 33 = 15,840 + 33
    assert ev.macs == 792_000_000  # 16·(10·50·100)·33·30 = 16·50,000·990


# --------------------------------------------------------------------------------------------------------------
# Decoders in the wild.


@pytest.mark.parametrize(
    ("c_in", "c_out", "size", "stride", "padding", "out", "params", "macs"),
    [
        # PyTorch DCGAN tutorial generator (nz=100, ngf=64), every layer bias=False, kernel 4:
        # ConvTranspose2d(100, 512, 4, 1, 0): 1 → (1 − 1)·1 + 3 + 1 = 4; 100·512·16 = 819,200 weights;
        # MACs 100·1·512·16 = 819,200.
        pytest.param(100, 512, 1, 1, 0, 4, 819_200, 819_200, id="dcgan-1:1->4"),
        # ConvTranspose2d(512, 256, 4, 2, 1): 4 → 3·2 − 2 + 3 + 1 = 8; 512·256·16 = 2,097,152;
        # MACs 512·16·256·16 = 33,554,432.
        pytest.param(512, 256, 4, 2, 1, 8, 2_097_152, 33_554_432, id="dcgan-2:4->8"),
        # ConvTranspose2d(256, 128, 4, 2, 1): 8 → 16; 256·128·16 = 524,288; MACs 256·64·128·16 = 33,554,432.
        pytest.param(256, 128, 8, 2, 1, 16, 524_288, 33_554_432, id="dcgan-3:8->16"),
        # ConvTranspose2d(128, 64, 4, 2, 1): 16 → 32; 131,072; MACs 128·256·64·16 = 33,554,432.
        pytest.param(128, 64, 16, 2, 1, 32, 131_072, 33_554_432, id="dcgan-4:16->32"),
        # ConvTranspose2d(64, 3, 4, 2, 1): 32 → 64; 64·3·16 = 3,072; MACs 64·1,024·3·16 = 3,145,728.
        pytest.param(64, 3, 32, 2, 1, 64, 3_072, 3_145_728, id="dcgan-5:32->64"),
    ],
)
def test_dcgan_generator(
    c_in: int, c_out: int, size: int, stride: int, padding: int, out: int, params: int, macs: int
) -> None:
    ev = deconv((c_in, size, size), out_channels=c_out, kernel_size=4, stride=stride, padding=padding, bias=False)
    assert ev.shape == (c_out, out, out)
    assert ev.params == params
    assert ev.biases == 0
    assert ev.macs == macs
    assert ev.flops == 2 * macs  # no bias additions


@given(w=st.integers(1, 300))
def test_stride_2_kernel_4_pad_1_doubles(w: int) -> None:
    # DCGAN's up-block: (W − 1)·2 − 2 + 3 + 1 = 2W for every W.
    assert deconv((8, w, w), out_channels=4, kernel_size=4, stride=2, padding=1).shape == (4, 2 * w, 2 * w)


@pytest.mark.parametrize(
    ("op", "out"),
    [
        # Loeber's MNIST autoencoder: ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1) on 7x7:
        # (7 − 1)·2 − 2 + 2 + 1 = 13 without output padding, 14 with it ("N,16,13,13 without output_padding").
        pytest.param(0, 13, id="op0:13"),
        pytest.param(1, 14, id="op1:14"),
    ],
)
def test_output_padding_picks_the_larger_size(op: int, out: int) -> None:
    ev = deconv((32, 7, 7), out_channels=16, kernel_size=3, stride=2, padding=1, output_padding=op)
    assert ev.shape == (16, out, out)
    assert ev.params == 4_624  # 32·16·9 + 16 = 4,608 + 16: output padding adds no weights
    assert ev.macs == 225_792  # 32·49·16·9 = 1,568·144: it adds no MACs either (only border outputs)
    assert ("op1" in ev.summary) == bool(op)


def test_output_padding_per_dim() -> None:
    # output_padding [1, 0] with stride 2, kernel 3, padding 1 on 5x5: H (5 − 1)·2 − 2 + 3 + 1 = 10, W 9.
    ev = deconv((4, 5, 5), out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=[1, 0])
    assert ev.shape == (4, 10, 9)


def test_output_padding_below_dilation_is_allowed() -> None:
    # torch: "output_padding must be smaller than either stride or dilation": stride 1, dilation 2 allows 1.
    # K_eff = 2·(3 − 1) + 1 = 5: (5 − 1)·1 + 4 + 1 + 1 = 10.
    ev = deconv((4, 5), type="conv_transpose1d", out_channels=2, kernel_size=3, dilation=2, output_padding=1)
    assert ev.shape == (2, 10)
    assert ev.params == 26  # 4·2·3 + 2: dilation adds no weights


@pytest.mark.parametrize(
    ("fields", "dim"),
    [
        # torch raises "output padding must be smaller than either stride or dilation" for each of these.
        pytest.param({"stride": 2, "output_padding": 2}, 0, id="op2>=stride2"),
        pytest.param({"stride": 1, "output_padding": 1}, 0, id="op1>=stride1,dil1"),
        pytest.param({"stride": 2, "dilation": 2, "output_padding": 2}, 0, id="op2>=max(s2,d2)"),
        pytest.param({"stride": [2, 3], "output_padding": [1, 3]}, 1, id="per-dim:op3>=stride3-in-dim1"),
    ],
)
def test_output_padding_not_below_stride_or_dilation_is_rejected(fields: dict[str, Any], dim: int) -> None:
    with pytest.raises(ShapeError, match=rf"output_padding \d+ in dim {dim} must be smaller than the stride"):
        deconv((4, 6, 6), out_channels=4, kernel_size=3, **fields)


# --------------------------------------------------------------------------------------------------------------
# padding: same (ONNX SAME_UPPER for ConvTranspose: output = W·S).


@pytest.mark.parametrize(
    ("w", "k", "s", "pads"),
    [
        # total padding = S·(W − 1) + K − W·S = K − S, the odd pixel after (SAME_UPPER).
        pytest.param(7, 3, 2, "p[0/1,0/1]", id="W7-K3-S2:total1"),
        pytest.param(5, 4, 2, "p1", id="W5-K4-S2:total2"),
        pytest.param(5, 3, 3, "p0", id="W5-K3-S3:total0"),
        pytest.param(10, 5, 1, "p2", id="W10-K5-S1:total4"),
        # K < S: a negative total cannot come from padding, so it becomes output padding (S − K = 1).
        pytest.param(8, 1, 2, "p0 op1", id="W8-K1-S2:op1"),
        pytest.param(5, 2, 3, "p0 op1", id="W5-K2-S3:op1"),
    ],
)
def test_same_gives_w_times_s(w: int, k: int, s: int, pads: str) -> None:
    ev = deconv((3, w, w), out_channels=2, kernel_size=k, stride=s, padding="same")
    assert ev.shape == (2, w * s, w * s)
    assert pads in ev.summary


@given(w=st.integers(1, 64), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 3),
       lower=st.booleans())
def test_same_gives_w_times_s_always(w: int, k: int, s: int, d: int, lower: bool) -> None:
    padding = "same_lower" if lower else "same"
    ev = deconv((2, w), out_channels=3, kernel_size=k, stride=s, dilation=d, padding=padding)
    assert ev.shape == (3, w * s)


# --------------------------------------------------------------------------------------------------------------
# output_size: the padding (and output padding) is derived from a target size.


@pytest.mark.parametrize(
    ("target", "summary"),
    [
        # 6 → ? with K3, S2: (6 − 1)·2 + 3 = 13 without padding; each pixel of padding takes one away and
        # output padding can add up to S − 1 = 1: every size from 11 to 14 is reachable.
        pytest.param(11, "p1", id="11:pad1+1"),
        pytest.param(12, "p[0/1,0/1]", id="12:pad0+1"),
        pytest.param(13, "p0", id="13:pad0"),
        pytest.param(14, "p0 op1", id="14:op1"),
    ],
)
def test_output_size_derives_the_padding(target: int, summary: str) -> None:
    ev = deconv((16, 6, 6), out_channels=16, kernel_size=3, stride=2, output_size=target)
    assert ev.shape == (16, target, target)
    assert summary in ev.summary
    assert ev.params == 2_320  # 16·16·9 + 16, whatever the target


@given(w=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(1, 4), extra=st.integers(0, 3))
def test_output_size_hits_every_reachable_target(w: int, k: int, s: int, extra: int) -> None:
    # Targets from the unpadded size (W − 1)·S + K up to S − 1 more (torch's output_padding range).
    target = (w - 1) * s + k + min(extra, s - 1)
    assert deconv((1, w), out_channels=1, kernel_size=k, stride=s, output_size=target).shape == (1, target)


@pytest.mark.parametrize("target", [pytest.param(15, id="15=max+1"), pytest.param(20, id="20")])
def test_unreachable_output_size_is_rejected(target: int) -> None:
    # 6 → at most (6 − 1)·2 + 3 + (2 − 1) = 14 with K3, S2 (output padding < stride).
    # torch: "requested an output size of 20, but valid sizes range from 13 to 14".
    with pytest.raises(ShapeError, match=r"at most .* = 14"):
        deconv((16, 6, 6), out_channels=16, kernel_size=3, stride=2, output_size=target)


def test_output_size_rank_must_match() -> None:
    with pytest.raises(ShapeError, match=r"output_size \[12, 12, 12\] has 3 values for 2 spatial dims"):
        deconv((16, 6, 6), out_channels=16, kernel_size=3, stride=2, output_size=[12, 12, 12])


# --------------------------------------------------------------------------------------------------------------
# Groups, ranks, bias, fused activation, errors.


def test_groups() -> None:
    # ConvTranspose2d(8, 16, 3, groups=4): weight (8, 16/4, 3, 3) = 8·4·9 = 288, + 16 biases = 304.
    # On 8x5x5: 5 − 1 + 3 = 7; MACs C_in·I·(C_out/G)·K = 8·25·4·9 = 7,200.
    ev = deconv((8, 5, 5), out_channels=16, kernel_size=3, groups=4)
    assert ev.shape == (16, 7, 7)
    assert ev.params == 304
    assert ev.macs == 7_200
    assert ev.flops == 2 * 7_200 + 16 * 49  # + one bias addition per output
    assert "g4" in ev.summary


def test_depthwise_transposed() -> None:
    # groups = C_in = C_out = 32 (a depthwise up-conv), K4/S2/P1 on 10x10 → 20x20: 32·1·16 + 32 = 544 params;
    # MACs 32·100·1·16 = 51,200.
    ev = deconv((32, 10, 10), out_channels=32, kernel_size=4, stride=2, padding=1, groups=32)
    assert ev.shape == (32, 20, 20)
    assert ev.params == 544
    assert ev.macs == 51_200


def test_conv_transpose1d() -> None:
    # ConvTranspose1d(4, 2, 3, stride=2, padding=1, output_padding=1) on 4x10: 9·2 − 2 + 2 + 1 + 1 = 20.
    ev = deconv((4, 10), type="conv_transpose1d", out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1)
    assert ev.shape == (2, 20)
    assert ev.params == 26  # 4·2·3 + 2
    assert ev.macs == 240  # 4·10·2·3


def test_conv_transpose3d_cube() -> None:
    # ConvTranspose3d(8, 4, 2, stride=2) (V-Net/3D U-Net's up-conv) on 8x4x8x8 → 4x8x16x16 (exact doubling).
    ev = deconv((8, 4, 8, 8), type="conv_transpose3d", out_channels=4, kernel_size=2, stride=2)
    assert ev.shape == (4, 8, 16, 16)
    assert ev.params == 260  # 8·4·8 + 4 = 256 + 4
    assert ev.macs == 65_536  # 8·256·4·8 = 2,048·32


def test_deconv_alias_and_fused_activation() -> None:
    # 'deconv' is the Caffe/MatConvNet name; a fused ReLU adds one FLOP per output and no parameters.
    plain = deconv((4, 3, 3), type="deconv", out_channels=2, kernel_size=3)
    fused = deconv((4, 3, 3), type="deconv", out_channels=2, kernel_size=3, activation="relu")
    assert plain.shape == fused.shape == (2, 5, 5)  # 3 − 1 + 3
    assert fused.params == plain.params == 74  # 4·2·9 + 2
    assert fused.flops == plain.flops + 50  # 2·5·5
    assert fused.summary.endswith("+relu")


def test_bias_off() -> None:
    ev = deconv((4, 3, 3), out_channels=2, kernel_size=3, bias=False)
    assert ev.params == 72  # 4·2·9
    assert ev.biases == 0
    assert ev.flops == 2 * ev.macs


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        pytest.param((3, 8, 8), {"in_channels": 4}, "in_channels=4 but the incoming shape 3x8x8 has 3 channels",
                     id="in_channels-mismatch"),
        pytest.param((6, 8, 8), {"groups": 4}, "groups=4 must divide in_channels=6 and out_channels=8",
                     id="groups-vs-in:6%4"),
        pytest.param((8, 8, 8), {"groups": 4, "out_channels": 6}, "groups=4 must divide in_channels=8",
                     id="groups-vs-out:6%4"),
        pytest.param((3, 8), {"type": "conv_transpose2d"}, "conv_transpose2d needs an input with 2 spatial dims",
                     id="2d-on-1d"),
        pytest.param((3, 8, 8), {"type": "conv_transpose3d"}, "conv_transpose3d needs an input with 3 spatial dims",
                     id="3d-on-2d"),
        pytest.param((3,), {}, "needs a channels-first input with spatial dims", id="on-vector"),
        pytest.param((3, 8, 8), {"kernel_size": [3, 3, 3]}, "kernel_size [3, 3, 3] has 3 values for 2 spatial dims",
                     id="kernel-rank"),
        # (2 − 1)·1 − 2·3 + 3 = −2: padding larger than what the kernel adds leaves nothing.
        pytest.param((3, 2, 2), {"padding": 3}, "output size -2 < 1", id="padding-eats-everything"),
    ],
)
def test_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    spec: dict[str, Any] = {"out_channels": 8, "kernel_size": 3, **fields}
    with pytest.raises(ShapeError) as info:
        deconv(x, **spec)
    assert message in str(info.value)


# --------------------------------------------------------------------------------------------------------------
# Receptive field: an output depends on ⌈K_eff / S⌉ input pixels, and the jump shrinks to 1/S.


@pytest.mark.parametrize(
    ("k", "s", "d", "touched"),
    [
        pytest.param(4, 2, 1, 2, id="K4-S2:2"),  # DCGAN: outputs 2i and 2i+1 each see inputs i−1..i or i..i+1
        pytest.param(2, 2, 1, 1, id="K2-S2:1"),  # U-Net's up-conv: non-overlapping, one input per output
        pytest.param(3, 2, 1, 2, id="K3-S2:2"),  # alternately 1 and 2 inputs; the field takes the larger
        pytest.param(7, 1, 1, 7, id="K7-S1:7"),  # stride 1 is an ordinary (fully padded) convolution
        pytest.param(3, 2, 2, 3, id="K3-S2-D2:3"),  # K_eff 5, ⌈5/2⌉ = 3
    ],
)
def test_receptive_field_step(k: int, s: int, d: int, touched: int) -> None:
    ev = deconv((1, 8, 8), out_channels=1, kernel_size=k, stride=s, dilation=d)
    assert ev.rf is not None and ev.rf != "global"
    for window in ev.rf:
        # Output o reads inputs ⌊(o·step − first)/up⌋ … ⌊(o·step − last)/up⌋; at most ⌈K_eff/S⌉ of them.
        most = max(
            (o * window.step - window.last) // window.up - (o * window.step - window.first) // window.up + 1
            for o in range(2 * s)
        )
        assert most == touched == ceil((d * (k - 1) + 1) / s)
        assert Fraction(window.step, window.up) == Fraction(1, s)


# --------------------------------------------------------------------------------------------------------------
# Properties against the PyTorch docs' formulas.


@st.composite
def deconv_cases(draw: st.DrawFn, *, op_below_stride: bool = False) -> tuple[tuple[int, ...], dict[str, Any]]:
    """A valid transposed conv (any rank, groups, dilation, padding, output padding, bias) and its input."""
    n = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 5)) for _ in range(n)]
    stride = [draw(st.integers(1, 3)) for _ in range(n)]
    dilation = [draw(st.integers(1, 3)) for _ in range(n)]
    output_padding = [draw(st.integers(0, (s if op_below_stride else max(s, d)) - 1))
                      for s, d in zip(stride, dilation, strict=True)]
    sizes = [draw(st.integers(1, 12)) for _ in range(n)]
    padding = []
    for w, k, s, d, op in zip(sizes, kernel, stride, dilation, output_padding, strict=True):
        room = (torch_out(w, k, s, 0, d, op) - 1) // 2  # keep the output at least 1
        padding.append(draw(st.integers(0, max(0, room))))
    fields = {"out_channels": c_out, "kernel_size": kernel, "stride": stride, "padding": padding,
              "dilation": dilation, "output_padding": output_padding, "groups": groups, "bias": draw(st.booleans())}
    return (c_in, *sizes), fields


@given(case=deconv_cases())
def test_follows_the_torch_formulas(case: tuple[tuple[int, ...], dict[str, Any]]) -> None:
    x, f = case
    ev = deconv(x, **f)
    per_input = (f["out_channels"] // f["groups"]) * prod(f["kernel_size"])  # (C_out/G)·K
    expected = tuple(
        torch_out(w, k, s, p, d, op)
        for w, k, s, p, d, op in zip(x[1:], f["kernel_size"], f["stride"], f["padding"], f["dilation"],
                                     f["output_padding"], strict=True)
    )
    bias = f["out_channels"] if f["bias"] else 0
    assert ev.shape == (f["out_channels"], *expected)
    assert ev.params == x[0] * per_input + bias
    assert ev.macs == x[0] * prod(x[1:]) * per_input
    assert ev.flops == 2 * ev.macs + (prod(ev.shape) if f["bias"] else 0)


@given(case=deconv_cases(op_below_stride=True))
def test_transposes_the_forward_convolution(case: tuple[tuple[int, ...], dict[str, Any]]) -> None:
    # The conv with the same hyperparameters maps the transposed conv's output back to its input size (an output
    # padding below the stride only fills what the forward conv's floor drops), and has the same weight count.
    x, f = case
    up = deconv(x, **f)
    conv_fields = {k: v for k, v in f.items() if k != "output_padding"} | {"out_channels": x[0]}
    down = REGISTRY["conv"].model_validate({"type": "conv", **conv_fields}).evaluate(
        (f["out_channels"], *up.shape[1:])
    )
    assert down.shape == x
    assert down.params - down.biases == up.params - up.biases
