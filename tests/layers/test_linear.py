"""Fully connected layers (cnncalc/layers/linear.py): PyTorch's last-dim semantics, ``flatten: true``, errors.

params = in·out + out; MACs = rows·in·out; FLOPs = 2·MACs + rows·out. Numbers are worked in the comments or quoted
from published.md (/work/shared/reference) and the sources it names.
"""

from __future__ import annotations

from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import GLOBAL, Evaluation
from cnncalc.errors import ShapeError


def linear(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a linear layer spec (``type`` defaults to ``linear``) on input shape ``x``."""
    fields.setdefault("type", "linear")
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def test_vgg_fc6_flattens_pool5() -> None:
    # published.md §1: 25088·4096 + 4096 = 102,764,544; cs231n walk-through "weights: 7*7*512*4096 = 102,760,448".
    ev = linear((512, 7, 7), out_features=4096, flatten=True)
    assert ev.shape == (4096,)
    assert ev.params == 102_764_544
    assert ev.params - ev.biases == 102_760_448
    assert ev.macs == 102_760_448  # one row: 25,088 · 4,096
    assert ev.flops == 2 * 102_760_448 + 4096
    assert ev.rf == GLOBAL  # every output sees all of the 7x7 map


@pytest.mark.parametrize(
    ("fan_in", "fan_out", "params"),
    [
        # published.md §1: 4096·4096 + 4096 = 16,781,312 (fc7) and 4096·1000 + 1000 = 4,097,000 (fc8).
        pytest.param(4096, 4096, 16_781_312, id="vgg-fc7:4096*4096+4096"),
        pytest.param(4096, 1000, 4_097_000, id="vgg-fc8:4096*1000+1000"),
        # LeNet-5 F6 (LeCun et al. 1998; published.md §6): 84·(120 + 1) = 10,164 trainable parameters.
        pytest.param(120, 84, 10_164, id="lenet5-f6:84*(120+1)"),
        # GoogLeNet Table 1 "linear" row: 1024 → 1000, 1,024,000 weights ("1000K") + 1000 biases.
        pytest.param(1024, 1000, 1_025_000, id="googlenet-linear:1024*1000+1000"),
    ],
)
def test_vector_in_vector_out(fan_in: int, fan_out: int, params: int) -> None:
    ev = linear((fan_in,), out_features=fan_out)
    assert ev.shape == (fan_out,)
    assert ev.params == params
    assert ev.macs == fan_in * fan_out
    assert ev.rf is None  # a vector has no spatial dims left


def test_last_dim_like_torch() -> None:
    # torch.nn.Linear(64, 32) on (10, 3, 64) → (10, 3, 32): 30 rows of 64 → 32.
    ev = linear((10, 3, 64), out_features=32)
    assert ev.shape == (10, 3, 32)
    assert ev.params == 2_080  # 64·32 + 32
    assert ev.macs == 61_440  # 30 rows · 64 · 32 = 30 · 2,048
    assert ev.flops == 123_840  # 2·61,440 + 30·32 = 122,880 + 960


def test_flatten_true_on_the_same_input() -> None:
    # flatten: true on (10, 3, 64): one row of 1,920 → 32.
    ev = linear((10, 3, 64), out_features=32, flatten=True)
    assert ev.shape == (32,)
    assert ev.params == 61_472  # 1,920·32 + 32 = 61,440 + 32
    assert ev.macs == 61_440  # the same multiplies as the last-dim form, with 16x the weights


def test_flatten_true_equals_flatten_layer_then_linear() -> None:
    flat = REGISTRY["flatten"].model_validate({"type": "flatten"}).evaluate((512, 7, 7))
    assert flat.shape == (25_088,)  # 512·7·7
    a = linear((512, 7, 7), out_features=4096, flatten=True)
    b = linear(flat.shape, out_features=4096)
    assert (a.shape, a.params, a.macs, a.flops) == (b.shape, b.params, b.macs, b.flops)


def test_fc_alias_bias_off_and_fused_activation() -> None:
    plain = linear((4096,), type="fc", out_features=4096)
    assert plain.params == 16_781_312  # same as "linear"
    nobias = linear((4096,), type="fc", out_features=4096, bias=False)
    assert nobias.params == 16_777_216  # cs231n: "FC: [1x1x4096] weights: 4096*4096 = 16,777,216"
    assert nobias.biases == 0
    assert nobias.flops == 2 * 16_777_216
    assert "nobias" in nobias.summary
    fused = linear((4096,), out_features=4096, activation="relu")
    assert fused.params == plain.params
    assert fused.flops == plain.flops + 4096  # one max per output


def test_in_features_that_matches_is_accepted() -> None:
    assert linear((512, 7, 7), out_features=10, in_features=25_088, flatten=True).shape == (10,)
    assert linear((5, 64), out_features=10, in_features=64).shape == (5, 10)


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        # VGG's fc6 fed 224-input pool5 but declared for a 6x6 map (AlexNet's): 512·6·6 = 18,432 ≠ 25,088.
        pytest.param((512, 7, 7), {"in_features": 18_432, "flatten": True},
                     "in_features=18432 but the flattened input 512x7x7 has 25088", id="flattened-mismatch"),
        # Without flatten the last dim (7) is the fan-in, as in torch.
        pytest.param((512, 7, 7), {"in_features": 25_088},
                     "in_features=25088 but the last dim of the input 512x7x7 has 7", id="last-dim-mismatch"),
    ],
)
def test_in_features_mismatch(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        linear(x, out_features=10, **fields)
    assert message in str(info.value)


@given(
    lead=st.lists(st.integers(1, 6), max_size=3),
    fan_in=st.integers(1, 64),
    fan_out=st.integers(1, 64),
    bias=st.booleans(),
)
def test_counts_follow_the_formulas(lead: list[int], fan_in: int, fan_out: int, bias: bool) -> None:
    x = (*lead, fan_in)
    ev = linear(x, out_features=fan_out, bias=bias)
    rows = prod(lead)
    assert ev.shape == (*lead, fan_out)
    assert ev.params == fan_in * fan_out + (fan_out if bias else 0)
    assert ev.macs == rows * fan_in * fan_out
    assert ev.flops == 2 * ev.macs + (rows * fan_out if bias else 0)
    flat = linear(x, out_features=fan_out, bias=bias, flatten=True)
    assert flat.shape == (fan_out,)
    assert flat.params == rows * fan_in * fan_out + (fan_out if bias else 0)
    assert flat.macs == ev.macs  # same multiplies, rows-times the weights


def test_rbf_output_layer_is_fixed() -> None:
    # LeCun et al. 1998: the 10 Euclidean RBF units read the 84 F6 units: 840 connections, no trainable parameters
    # (the centres are fixed, so they are buffers here).
    ev = REGISTRY["rbf"].model_validate({"type": "rbf", "out_features": 10}).evaluate((84,))
    assert ev.shape == (10,)
    assert (ev.params, ev.buffers, ev.connections, ev.macs) == (0, 840, 840, 840)
    assert ev.rf == GLOBAL


def test_rbf_needs_a_vector() -> None:
    with pytest.raises(ShapeError, match="rbf takes a vector"):
        REGISTRY["rbf"].model_validate({"type": "rbf", "out_features": 10}).evaluate((84, 2))


def test_linear_connections() -> None:
    # LeCun et al. 1998: F6 (84 units on 120) has 10,164 parameters and as many connections: 84·(120 + 1).
    ev = linear((120,), out_features=84)
    assert (ev.params, ev.connections) == (10_164, 10_164)
