"""Normalisation (cnncalc/layers/norm.py): batch norm's parameters and buffers, LRN, and their errors.

torch.nn.BatchNorm2d(C) holds weight and bias (2·C parameters) and running_mean, running_var and the scalar
num_batches_tracked (2·C + 1 buffers). FLOPs at inference: 2 per element; LRN 2·size + 3 per element.
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


def norm(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a normalisation layer spec on input shape ``x``."""
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def test_batchnorm2d_resnet_stem() -> None:
    # ResNet's bn1 after the 7x7/2 stem: BatchNorm2d(64) on 64x112x112.
    ev = norm((64, 112, 112), type="batchnorm2d")
    assert ev.shape == (64, 112, 112)
    assert ev.params == 128  # γ and β: 2·64
    assert ev.buffers == 129  # running mean 64 + running var 64 + num_batches_tracked 1
    assert ev.macs == 0
    assert ev.flops == 1_605_632  # 2 · 64·112·112 = 2 · 802,816


def test_vgg16_bn_adds_8448_params() -> None:
    # published.md §1: vgg16_bn = 138,365,992 = vgg16 + 8,448; VGG16's conv widths 64×2, 128×2, 256×3, 512×6
    # sum to 4,224 channels, 2 parameters each.
    widths = [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6
    assert sum(norm((c, 14, 14), type="bn").params for c in widths) == 8_448


@pytest.mark.parametrize(
    ("fields", "params", "buffers"),
    [
        pytest.param({}, 64, 65, id="default:2C-and-2C+1"),
        pytest.param({"affine": False}, 0, 65, id="affine-false:no-gamma-beta"),
        pytest.param({"track_running_stats": False}, 64, 0, id="no-running-stats"),
        pytest.param({"affine": False, "track_running_stats": False}, 0, 0, id="neither"),
    ],
)
def test_batchnorm_flags(fields: dict[str, Any], params: int, buffers: int) -> None:
    # C = 32: 2·32 = 64 parameters, 2·32 + 1 = 65 buffers.
    ev = norm((32, 8, 8), type="batchnorm", **fields)
    assert (ev.params, ev.buffers) == (params, buffers)


def test_batchnorm1d_on_vectors_and_sequences() -> None:
    # torch.nn.BatchNorm1d takes (N, C) or (N, C, L): here (100,) and (100, 20) without the batch.
    vec = norm((100,), type="batchnorm1d")
    assert (vec.params, vec.buffers, vec.flops) == (200, 201, 200)  # 2·100, 2·100 + 1, 2·100
    seq = norm((100, 20), type="batchnorm1d", num_features=100)
    assert seq.flops == 4_000  # 2 · 100·20


def test_batchnorm3d() -> None:
    ev = norm((16, 4, 8, 8), type="batchnorm3d")
    assert ev.params == 32  # 2·16
    assert ev.flops == 8_192  # 2 · 16·4·8·8 = 2 · 4,096


def test_lrn_alexnet_norm1() -> None:
    # cs231n: "[27x27x96] NORM1: Normalization layer" (no parameters); size 5 (Krizhevsky et al. 2012, Sec. 3.3).
    ev = norm((96, 27, 27), type="lrn")
    assert ev.shape == (96, 27, 27)
    assert ev.params == 0
    assert ev.buffers == 0
    assert ev.flops == 909_792  # 27·27·96 · (2·5 + 3) = 69,984 · 13


def test_lrn_size_changes_flops() -> None:
    # size 3: 2·3 + 3 = 9 FLOPs per element on 4x2x2 (16 elements) → 144.
    assert norm((4, 2, 2), type="local_response_norm", size=3).flops == 144


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        pytest.param((64, 8, 8), {"type": "batchnorm2d", "num_features": 32},
                     "num_features=32 but the incoming shape 64x8x8 has 64 channels", id="num_features-mismatch"),
        pytest.param((64, 8), {"type": "batchnorm2d"}, "batchnorm2d needs an input with 2 spatial dims",
                     id="batchnorm2d-on-1d"),
        pytest.param((64, 8, 8), {"type": "batchnorm3d"}, "batchnorm3d needs an input with 3 spatial dims",
                     id="batchnorm3d-on-2d"),
    ],
)
def test_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        norm(x, **fields)
    assert message in str(info.value)


def test_batchnorm1d_rejects_an_image() -> None:
    # torch.nn.BatchNorm1d raises "expected 2D or 3D input (got 4D input)" on (N, C, H, W).
    with pytest.raises(ShapeError, match="batchnorm1d"):
        norm((64, 8, 8), type="batchnorm1d")


@given(shape=st.lists(st.integers(1, 16), min_size=1, max_size=4))
def test_batchnorm_counts(shape: list[int]) -> None:
    x = tuple(shape)
    ev = norm(x, type="batchnorm")
    c = x[0]
    assert ev.shape == x
    assert (ev.params, ev.buffers) == (2 * c, 2 * c + 1)  # independent of the spatial size
    assert ev.flops == 2 * prod(x)
