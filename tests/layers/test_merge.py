"""Merges (cnncalc/layers/merge.py): concatenation (torch.cat) and element-wise sum and product.

torch.cat(tensors, dim) needs every dim but ``dim`` equal and adds the sizes along it; ``dim`` counts the batch as
dim 0, so the default 1 is the channels. Element-wise arithmetic costs n − 1 operations per output for n inputs,
broadcasting as torch (``torch.broadcast_shapes``, non-batch dims only).
No merge has parameters. Expected numbers are worked by hand.
"""

from __future__ import annotations

from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation, Merge
from cnncalc.errors import ShapeError, SpecError


def merge(shapes: list[tuple[int, ...]], **fields: Any) -> Evaluation:
    """Merge ``shapes`` with a merge layer spec."""
    layer = REGISTRY[fields["type"]].model_validate(fields)
    assert isinstance(layer, Merge)
    return layer.merge(shapes)


# --------------------------------------------------------------------------------------------------------------
# Concatenation.


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        # U-Net's last skip (Ronneberger et al. Fig. 1): cropped 64x392x392 + up-conv 64x392x392 → 128x392x392.
        pytest.param([(64, 392, 392), (64, 392, 392)], (128, 392, 392), id="unet:64+64"),
        # GoogLeNet inception (3a) (Szegedy et al. Table 1): 64 + 128 + 32 + 32 = 256 maps of 28x28.
        pytest.param([(64, 28, 28), (128, 28, 28), (32, 28, 28), (32, 28, 28)], (256, 28, 28),
                     id="inception3a:64+128+32+32=256"),
        # DenseNet: input 64 plus a growth of 32 → 96.
        pytest.param([(64, 56, 56), (32, 56, 56)], (96, 56, 56), id="densenet:64+32"),
        # Vectors (after flatten): 120 + 84 along dim 1.
        pytest.param([(120,), (84,)], (204,), id="vectors:120+84"),
    ],
)
def test_concat_adds_the_channels(shapes: list[tuple[int, ...]], expected: tuple[int, ...]) -> None:
    ev = merge(shapes, type="concat")
    assert ev.shape == expected
    assert ev.params == ev.macs == ev.flops == 0  # a copy
    assert ev.summary == f"{len(shapes)} inputs"


@pytest.mark.parametrize(
    ("dim", "shapes", "expected"),
    [
        # dim 2 is H (batch = dim 0): 3x4x5 and 3x6x5 → 3x10x5.
        pytest.param(2, [(3, 4, 5), (3, 6, 5)], (3, 10, 5), id="dim2:H4+6"),
        # dim 3 is W: 3x4x5 and 3x4x7 → 3x4x12.
        pytest.param(3, [(3, 4, 5), (3, 4, 7)], (3, 4, 12), id="dim3:W5+7"),
        # dim −1 is the last (W) as in torch.
        pytest.param(-1, [(3, 4, 5), (3, 4, 7)], (3, 4, 12), id="dim-1==W"),
        # dim −3 on rank 4 is dim 1, the channels.
        pytest.param(-3, [(3, 4, 5), (2, 4, 5)], (5, 4, 5), id="dim-3==C"),
        pytest.param(1, [(1, 2, 2), (1, 2, 2), (1, 2, 2)], (3, 2, 2), id="three-inputs"),
    ],
)
def test_concat_dim(dim: int, shapes: list[tuple[int, ...]], expected: tuple[int, ...]) -> None:
    assert merge(shapes, type="cat", dim=dim).shape == expected  # 'cat' is torch's name for concat


@pytest.mark.parametrize(
    ("shapes", "dim", "message"),
    [
        # U-Net without its crop: the skip 64x568x568 cannot join the up-conv's 64x392x392.
        pytest.param([(64, 568, 568), (64, 392, 392)], 1,
                     "cannot concatenate 64x568x568 and 64x392x392 along dim 1: every other dim must be equal",
                     id="spatial-mismatch-names-both"),
        pytest.param([(64, 56, 56), (64, 56, 56), (32, 28, 28)], 1,
                     "cannot concatenate 64x56x56 and 64x56x56 and 32x28x28 along dim 1", id="three-one-off"),
        # Along H the channels must agree.
        pytest.param([(3, 4, 5), (2, 4, 5)], 2, "cannot concatenate 3x4x5 and 2x4x5 along dim 2", id="dim2-C-differs"),
        pytest.param([(3, 4, 5), (3, 4)], 1, "cannot concatenate 3x4x5 and 3x4 along dim 1", id="rank-mismatch"),
        pytest.param([(3, 4, 5), (3, 4, 5)], 0, "dim=0 is the batch: cnncalc does not concatenate along the batch",
                     id="dim0-is-the-batch"),
        pytest.param([(3, 4, 5), (3, 4, 5)], 4, "dim=4 is out of range for inputs of rank 4", id="dim4"),
        pytest.param([(3, 4, 5), (3, 4, 5)], -5, "dim=-5 is out of range", id="dim-5"),
        pytest.param([(3, 4, 5)], 1, "concat needs at least two inputs, got 1", id="one-input"),
    ],
)
def test_concat_errors(shapes: list[tuple[int, ...]], dim: int, message: str) -> None:
    with pytest.raises(ShapeError) as info:
        merge(shapes, type="concat", dim=dim)
    assert message in str(info.value)


@given(chans=st.lists(st.integers(1, 64), min_size=2, max_size=6), h=st.integers(1, 32), w=st.integers(1, 32))
def test_concat_channel_sum(chans: list[int], h: int, w: int) -> None:
    ev = merge([(c, h, w) for c in chans], type="concat")
    assert ev.shape == (sum(chans), h, w)
    assert prod(ev.shape) == sum(c * h * w for c in chans)  # nothing lost, nothing added


# --------------------------------------------------------------------------------------------------------------
# Addition and product.


@pytest.mark.parametrize(
    ("kind", "n", "flops"),
    [
        # ResNet-18's first residual add on 64x56x56: one addition per output, 200,704.
        pytest.param("add", 2, 200_704, id="add-2:64*56*56"),
        # Three inputs: two additions per output.
        pytest.param("sum", 3, 401_408, id="sum-3:2*200704"),
        # SE-style gating with equal shapes: one multiply per output.
        pytest.param("mul", 2, 200_704, id="mul-2"),
    ],
)
def test_elementwise(kind: str, n: int, flops: int) -> None:
    ev = merge([(64, 56, 56)] * n, type=kind)
    assert ev.shape == (64, 56, 56)
    assert ev.flops == flops
    assert ev.params == ev.macs == 0
    assert ev.stores


def test_inplace_add_stores_nothing_new() -> None:
    # x += identity (torchvision's `out += identity`) writes into an existing tensor.
    assert merge([(8, 4, 4), (8, 4, 4)], type="add", inplace=True).stores is False


@pytest.mark.parametrize(
    ("kind", "shapes", "message"),
    [
        # A stride-2 block without its projection: 64x56x56 + 128x28x28.
        pytest.param("add", [(64, 56, 56), (128, 28, 28)],
                     "cannot add 64x56x56 and 128x28x28: dim 1 (C) has sizes 64 and 128, which do not broadcast",
                     id="add:resnet-missing-projection"),
        pytest.param("add", [(64, 56, 56), (64, 56, 55)],
                     "cannot add 64x56x56 and 64x56x55: dim 3 (W) has sizes 56 and 55, which do not broadcast",
                     id="add:one-pixel-off"),
        # torch.broadcast_shapes((2, 64, 1, 1), (2, 32, 56, 56)) fails on dim 1: a gate of the wrong width.
        pytest.param("mul", [(64, 1, 1), (32, 56, 56)],
                     "cannot mul 64x1x1 and 32x56x56: dim 1 (C) has sizes 64 and 32, which do not broadcast",
                     id="mul:wrong-gate"),
        # The batch is never broadcast: a 56x56 map without channels has another rank.
        pytest.param("add", [(64, 56, 56), (56, 56)], "cannot add 64x56x56 and 56x56: different ranks",
                     id="add:rank"),
        # torch: "output with shape [2, 64, 1, 1] doesn't match the broadcast shape [2, 64, 56, 56]".
        pytest.param("mul", [(64, 1, 1), (64, 56, 56)], "in-place mul cannot write the broadcast shape 64x56x56",
                     id="mul:inplace-into-gate"),
        pytest.param("add", [(8, 4, 4)], "add needs at least two inputs, got 1", id="add:one-input"),
    ],
)
def test_elementwise_errors(kind: str, shapes: list[tuple[int, ...]], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        merge(shapes, type=kind, **({"inplace": True} if "in-place" in message else {}))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("kind", "shapes", "expected"),
    [
        # Squeeze-excitation (Hu et al. 2018, Fig. 2): the C×1×1 gate scales each channel of the C×H×W map.
        pytest.param("mul", [(16, 8, 8), (16, 1, 1)], (16, 8, 8), id="se:16x8x8*16x1x1"),
        pytest.param("mul", [(16, 1, 1), (16, 8, 8)], (16, 8, 8), id="se:gate-first"),
        # A spatial map shared by every channel (CBAM's spatial attention, Woo et al. 2018): C×H×W · 1×H×W.
        pytest.param("mul", [(32, 7, 7), (1, 7, 7)], (32, 7, 7), id="cbam:1xHxW"),
        pytest.param("add", [(1, 7, 1), (4, 1, 5)], (4, 7, 5), id="both-sides"),
        pytest.param("sub", [(8, 4, 4), (8, 4, 4)], (8, 4, 4), id="sub"),
        pytest.param("div", [(8, 4, 4), (1, 1, 1)], (8, 4, 4), id="div"),
        pytest.param("maximum", [(8, 4, 4), (8, 1, 4)], (8, 4, 4), id="maximum"),
        pytest.param("minimum", [(8,), (1,)], (8,), id="minimum-vectors"),
    ],
)
def test_broadcasting(kind: str, shapes: list[tuple[int, ...]], expected: tuple[int, ...]) -> None:
    ev = merge(shapes, type=kind)
    assert ev.shape == expected
    assert ev.flops == prod(expected)  # one operation per output value (two inputs)
    assert ev.summary == "2 inputs" + (" broadcast" if any(s != expected for s in shapes) else "")


def test_inplace_gate_keeps_the_map() -> None:
    # torchvision's SqueezeExcitation returns scale * input (new memory); x.mul_(gate) writes into the map.
    assert merge([(16, 8, 8), (16, 1, 1)], type="mul", inplace=True).stores is False


def test_scalar_operand() -> None:
    # x * 0.2 (a Python scalar): one multiply per element of the one input.
    ev = merge([(8, 4, 4)], type="mul", scalar=0.2)
    assert (ev.shape, ev.flops, ev.summary) == ((8, 4, 4), 128, "mul 0.2")
    with pytest.raises(ShapeError, match="takes one input, got 2"):
        merge([(8, 4, 4)] * 2, type="add", scalar=1.0)


@given(n=st.integers(2, 6), c=st.integers(1, 16), h=st.integers(1, 16), w=st.integers(1, 16))
def test_add_costs_n_minus_one_per_output(n: int, c: int, h: int, w: int) -> None:
    assert merge([(c, h, w)] * n, type="add").flops == (n - 1) * c * h * w


# --------------------------------------------------------------------------------------------------------------
# Merges in a network: branches and references.


def test_merge_of_a_single_input_is_an_error() -> None:
    with pytest.raises(ShapeError, match="concat joins several inputs; give it 'branches' or 'inputs"):
        REGISTRY["concat"].model_validate({"type": "concat"}).evaluate((3, 4, 4))


def test_concat_over_branches_and_add_over_references() -> None:
    report = cnncalc.analyze({
        "input": [16, 8, 8],
        "layers": [
            {"type": "conv2d", "name": "a", "out_channels": 8, "kernel_size": 3, "padding": 1},
            # branches: a 1x1 path (4 maps) and the identity (8 maps) → 12 maps.
            {"type": "concat", "name": "cat", "branches": [[{"type": "conv2d", "out_channels": 4, "kernel_size": 1}],
                                                           []]},
            {"type": "conv2d", "name": "b", "out_channels": 8, "kernel_size": 1},
            # a skip across any distance by name: a (8x8x8) + b (8x8x8).
            {"type": "add", "name": "sum", "inputs": ["a", "b"]},
        ],
    })
    assert report.layer("cat").output_shape == (12, 8, 8)
    assert report.layer("sum").output_shape == (8, 8, 8)
    assert report.layer("sum").inputs == ("a", "b")
    assert report.layer("sum").flops == 512  # 8·8·8 additions


def test_merge_error_in_a_network_names_each_path() -> None:
    with pytest.raises(SpecError) as info:
        cnncalc.analyze({
            "input": [3, 8, 8],
            "layers": [
                {"type": "conv2d", "name": "a", "out_channels": 4, "kernel_size": 3},
                {"type": "concat", "name": "cat", "inputs": ["input", "a"]},
            ],
        })
    text = str(info.value)
    assert "cannot concatenate 3x8x8 and 4x6x6 along dim 1" in text
    assert "'input' gives 3x8x8" in text and "'a' gives 4x6x6" in text


# --------------------------------------------------------------------------------------------------------------
# Matrix products: matmul and scaled dot-product attention.


def test_matmul_macs_are_b_m_n_k() -> None:
    # Self-attention scores of 4 heads over 49 tokens of 32 dims: (4, 49, 32) @ (4, 32, 49) → 4·49·49·32 MACs.
    ev = merge([(4, 49, 32), (4, 32, 49)], type="matmul")
    assert (ev.shape, ev.macs, ev.flops) == ((4, 49, 49), 4 * 49 * 49 * 32, 2 * 4 * 49 * 49 * 32)
    # Leading dims broadcast as torch.matmul: (1, 5, 3) @ (6, 3, 2) → (6, 5, 2).
    assert merge([(1, 5, 3), (6, 3, 2)], type="bmm").shape == (6, 5, 2)
    with pytest.raises(ShapeError, match="the first's last dim 32 is not the second's next-to-last 49"):
        merge([(4, 49, 32), (4, 49, 32)], type="matmul")


def test_attention_macs() -> None:
    # torch.nn.functional.scaled_dot_product_attention: q·kᵀ (L·S·E) then the weights times v (L·S·Ev).
    ev = merge([(8, 49, 16), (8, 64, 16), (8, 64, 24)], type="sdpa")
    assert ev.shape == (8, 49, 24)
    assert ev.macs == 8 * 49 * 64 * (16 + 24)
    assert ev.flops == 2 * ev.macs + 4 * 8 * 49 * 64
    with pytest.raises(ShapeError, match="do not fit"):
        merge([(8, 49, 16), (8, 64, 8), (8, 64, 24)], type="scaled_dot_product_attention")
