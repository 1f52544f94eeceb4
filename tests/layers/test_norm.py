"""Normalisation (cnncalc/layers/norm.py): batch norm's parameters and buffers, LRN, and their errors.

torch.nn.BatchNorm2d(C) holds weight and bias (2·C parameters) and running_mean, running_var and the scalar
num_batches_tracked (2·C + 1 buffers). FLOPs at inference: 2 per element; LRN 2·size + 3 per element.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation
from cnncalc.errors import ShapeError

#: The ``agrees_with_torch`` fixture (tests/conftest.py).
Check = Callable[[dict[str, Any]], Any]


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


# --- layer, group and instance norm, layer scale ---------------------------------------------------------------------


def test_convnext_tiny_stem_layernorm2d() -> None:
    # ConvNeXt-T (Liu et al. 2022, Fig. 2 / torchvision's LayerNorm2d(96)): γ and β over the 96 channels.
    ev = norm((96, 56, 56), type="layernorm2d")
    assert (ev.shape, ev.params, ev.biases, ev.buffers) == ((96, 56, 56), 192, 96, 0)
    # fvcore's norm_flop_counter: 5 per element with an affine transform.
    assert ev.flops == 5 * 96 * 56 * 56


def test_layernorm_over_the_last_dims() -> None:
    # torch.nn.LayerNorm([10, 10]) on (20, 5, 10, 10) (torch docs): γ and β of 10x10 each.
    assert norm((5, 10, 10), type="layernorm", normalized_shape=[10, 10]).params == 200
    # Default: the last dim (a channels-last section after a permute).
    assert norm((56, 56, 96), type="layernorm").params == 192
    ev = norm((56, 56, 96), type="layernorm", elementwise_affine=False)
    assert (ev.params, ev.flops) == (0, 4 * 56 * 56 * 96)
    assert norm((7, 96), type="layer_norm", bias=False).params == 96  # torch ≥ 2.1: LayerNorm(..., bias=False)


def test_groupnorm() -> None:
    # Wu & He (2018): GN with 32 groups; torch.nn.GroupNorm(32, 256) holds weight and bias of 256 each, no buffers.
    ev = norm((256, 14, 14), type="groupnorm", num_groups=32)
    assert (ev.params, ev.buffers, ev.flops) == (512, 0, 5 * 256 * 14 * 14)
    assert norm((256, 14, 14), type="group_norm", num_groups=32, affine=False).params == 0


def test_instancenorm_defaults_as_torch() -> None:
    # torch.nn.InstanceNorm2d(64): affine=False and track_running_stats=False by default, so nothing is held.
    ev = norm((64, 32, 32), type="instancenorm2d")
    assert (ev.params, ev.buffers, ev.flops) == (0, 0, 4 * 64 * 32 * 32)
    # With both flags: γ, β (128) and running mean, var, num_batches_tracked (129), as BatchNorm.
    ev = norm((64, 32, 32), type="instancenorm2d", affine=True, track_running_stats=True)
    assert (ev.params, ev.buffers) == (128, 129)


def test_layer_scale() -> None:
    # ConvNeXt's γ: one per channel (torchvision: nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)).
    ev = norm((96, 56, 56), type="layer_scale")
    assert (ev.params, ev.flops) == (96, 96 * 56 * 56)
    assert norm((56, 56, 96), type="layer_scale", dim=-1).params == 96  # channels last (timm's LayerScale)


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        # torch: "Given normalized_shape=[96], expected input with shape [*, 96], but got input of size[2, 96, 7, 7]".
        pytest.param((96, 7, 7), {"type": "layernorm", "normalized_shape": 96}, "is not the last dims",
                     id="layernorm-channels-first"),
        pytest.param((96, 7, 7), {"type": "layernorm2d", "normalized_shape": 64}, "has 96 channels",
                     id="layernorm2d-width"),
        # torch: "num_channels must be divisible by num_groups".
        pytest.param((30, 7, 7), {"type": "groupnorm", "num_groups": 4}, "do not divide into num_groups=4",
                     id="groupnorm-groups"),
        pytest.param((30,), {"type": "instancenorm"}, "spatial dims", id="instancenorm-vector"),
        pytest.param((30, 7, 7), {"type": "layer_scale", "dim": 0}, "not a non-batch dim", id="layer-scale-batch"),
    ],
)
def test_modern_norm_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        norm(x, **fields)


# --- against torch ---------------------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("layer", [
    {"type": "layernorm2d"}, {"type": "layernorm2d", "elementwise_affine": False},
    {"type": "groupnorm", "num_groups": 4}, {"type": "groupnorm", "num_groups": 2, "affine": False},
    {"type": "instancenorm2d"}, {"type": "instancenorm2d", "affine": True, "track_running_stats": True},
    {"type": "layer_scale"},
], ids=lambda f: "-".join(str(v) for v in f.values()))
def test_against_torch_channels_first(agrees_with_torch: Check, layer: dict[str, Any]) -> None:
    agrees_with_torch({"input": [8, 6, 5], "layers": [layer]})


@pytest.mark.torch
def test_against_torch_channels_last(agrees_with_torch: Check) -> None:
    # ConvNeXt's block: permute → LayerNorm → Linear → layer scale over the last dim → permute back.
    agrees_with_torch({"input": [8, 6, 5], "layers": [
        {"type": "permute", "dims": [0, 2, 3, 1]}, {"type": "layernorm"}, {"type": "linear", "out_features": 12},
        {"type": "layernorm", "normalized_shape": [5, 12], "bias": False},
        {"type": "layer_scale", "dim": -1}, {"type": "permute", "dims": [0, 3, 1, 2]},
        {"type": "instancenorm", "affine": True, "inputs": ["input"], "name": "in1"}]})
