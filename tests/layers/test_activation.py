"""Activations (cnncalc/layers/activation.py): per-element FLOP costs, in-place, PReLU, softmax, maxout.

The per-element costs are the convention written in the module docstring (relu 1, relu6 2, leaky_relu 2, prelu 2,
elu 4, selu 5, sigmoid 4, tanh 5, silu/swish 5, hardswish 4, hardsigmoid 3, gelu 5, softmax/log_softmax 3);
the table below restates that documented convention, it is not read from the code.
"""

from __future__ import annotations

from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation
from cnncalc.errors import ShapeError


def act(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate an activation layer spec on input shape ``x``."""
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


COST = {
    "relu": 1, "relu6": 2, "leaky_relu": 2, "prelu": 2, "elu": 4, "selu": 5, "sigmoid": 4, "tanh": 5, "silu": 5,
    "swish": 5, "hardswish": 4, "hardsigmoid": 3, "gelu": 5, "softmax": 3, "log_softmax": 3,
    # mish(x) = x · tanh(softplus(x)) (Misra 2019): softplus 3 (exp, add, log), tanh 5 (as above), a multiply.
    "mish": 9,
}


@pytest.mark.parametrize(("kind", "per_element"), [pytest.param(k, v, id=f"{k}:{v}") for k, v in COST.items()])
def test_flops_per_element(kind: str, per_element: int) -> None:
    # 64x112x112 = 802,816 elements (ResNet's stem output).
    ev = act((64, 112, 112), type=kind)
    assert ev.shape == (64, 112, 112)
    assert ev.flops == 802_816 * per_element
    assert ev.macs == 0
    assert ev.params == (1 if kind == "prelu" else 0)  # prelu's default: one shared slope


def test_relu_on_alexnet_conv1() -> None:
    # 55·55·96 = 290,400 elements, one max each.
    assert act((96, 55, 55), type="relu").flops == 290_400


def test_inplace_stores_nothing() -> None:
    assert act((8, 4, 4), type="relu", inplace=True).stores is False
    assert act((8, 4, 4), type="relu").stores is True


def test_prelu_per_channel() -> None:
    # torch.nn.PReLU(num_parameters=64): one slope per channel.
    ev = act((64, 56, 56), type="prelu", num_parameters=64)
    assert ev.params == 64
    assert ev.flops == 401_408  # 2 · 64·56·56 = 2 · 200,704
    assert act((64, 56, 56), type="prelu").params == 1


def test_prelu_channel_mismatch() -> None:
    with pytest.raises(ShapeError, match="num_parameters=32 but the incoming shape 64x8x8 has 64 channels"):
        act((64, 8, 8), type="prelu", num_parameters=32)


def test_maxout() -> None:
    # Goodfellow et al. 2013: max over `pieces` channels. 64 channels, 2 pieces → 32, one comparison each.
    ev = act((64, 8, 8), type="maxout", pieces=2)
    assert ev.shape == (32, 8, 8)
    assert ev.params == 0
    assert ev.flops == 2_048  # 32·8·8 outputs · (2 − 1)
    # 4 pieces on a 96-vector: 24 outputs · 3 comparisons = 72.
    four = act((96,), type="maxout", pieces=4)
    assert four.shape == (24,)
    assert four.flops == 72


def test_maxout_needs_divisible_channels() -> None:
    with pytest.raises(ShapeError, match="maxout with 3 pieces needs channels divisible by 3, got 64"):
        act((64, 8, 8), type="maxout", pieces=3)  # 64 mod 3 = 1


@pytest.mark.parametrize(
    ("x", "dim", "ok"),
    [
        # dims are torch-indexed with the batch: (N, 1000) has rank 2, so dim ∈ [−2, 1].
        pytest.param((1000,), 1, True, id="classes:dim=1"),
        pytest.param((1000,), -1, True, id="classes:dim=-1"),
        pytest.param((1000,), -2, True, id="batch:dim=-2"),
        pytest.param((1000,), 2, False, id="rank2:dim=2-out-of-range"),
        pytest.param((1000,), -3, False, id="rank2:dim=-3-out-of-range"),
        pytest.param((21, 8, 8), 3, True, id="segmentation:dim=3"),
        pytest.param((21, 8, 8), 4, False, id="rank4:dim=4-out-of-range"),
    ],
)
def test_softmax_dim(x: tuple[int, ...], dim: int, ok: bool) -> None:
    if ok:
        assert act(x, type="softmax", dim=dim).flops == 3 * prod(x)
    else:
        with pytest.raises(ShapeError, match=f"dim={dim} is out of range"):
            act(x, type="softmax", dim=dim)


@given(shape=st.lists(st.integers(1, 12), min_size=1, max_size=4), kind=st.sampled_from(sorted(COST)))
def test_activations_keep_the_shape(shape: list[int], kind: str) -> None:
    x = tuple(shape)
    ev = act(x, type=kind)
    assert ev.shape == x
    assert ev.flops == prod(x) * COST[kind]
