"""cnncalc against a real torch forward pass: every zoo network and every layer type, layer by layer."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

import cnncalc
from cnncalc import zoo
from cnncalc.layers import layer_classes

pytestmark = pytest.mark.torch


def rows(spec: Any, device: str = "cpu", batch: int = 2) -> list[Any]:
    from cnncalc.torch_bridge import crosscheck

    net = cnncalc.load(spec)
    return crosscheck(net, cnncalc.analyze(net, batch=batch), device=device)


def assert_agrees(found: list[Any]) -> None:
    bad = [r for r in found if not r.ok]
    assert not bad, "\n".join(f"{r.name}: cnncalc {r.shape[0]} {r.params[0]} {r.buffers[0]} {r.macs[0]} / "
                              f"torch {r.shape[1]} {r.params[1]} {r.buffers[1]} {r.macs[1]}" for r in bad)


def test_every_layer_class_has_a_torch_mapping() -> None:
    from cnncalc.torch_bridge import BUILDERS

    assert set(layer_classes()) <= set(BUILDERS), set(layer_classes()) - set(BUILDERS)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_network_agrees_with_torch(name: str) -> None:
    # meta tensors: torch's own shape rules and FlopCounterMode, without memory or compute.
    found = rows(name, device="meta", batch=1)
    assert_agrees(found)
    assert any(r.macs[1] for r in found)  # torch counted the convolutions and matrix products


LAYER_SPECS: dict[str, dict[str, Any]] = {
    "asymmetric-and-same-padding": {"input": [3, 17, 23], "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"},
        {"type": "conv2d", "out_channels": 4, "kernel_size": [3, 5], "padding": [0, 1, 2, 0]},
        {"type": "conv2d", "out_channels": 4, "kernel_size": 4, "padding": {"before": [1, 2], "after": [2, 1]}},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": "same_lower"},
        {"type": "avgpool2d", "kernel_size": 2, "ceil_mode": True}]},
    "depthwise-dilated-grouped": {"input": [8, 20, 20], "layers": [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "groups": "depthwise", "padding": 1},
        {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "dilation": 2, "groups": 4, "bias": False},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "dilation": 2, "ceil_mode": True},
        {"type": "batchnorm2d"}, {"type": "prelu", "num_parameters": 16}, {"type": "channel_shuffle", "groups": 4}]},
    "one-and-three-d": {"input": [2, 9, 10, 11], "layers": [
        {"type": "conv3d", "out_channels": 4, "kernel_size": [3, 1, 3], "stride": [1, 2, 2]},
        {"type": "batchnorm3d"}, {"type": "adaptive_avgpool3d", "output_size": [2, None, 3]},
        {"type": "flatten", "start_dim": 2},
        {"type": "conv1d", "out_channels": 6, "kernel_size": 2, "padding": 1}, {"type": "maxpool1d", "kernel_size": 2},
        {"type": "linear", "out_features": 5}]},
    "transposed-and-upsampling": {"input": [4, 6, 7], "layers": [
        {"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
         "output_padding": 1},
        {"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "output_size": [25, 28]},
        {"type": "conv_transpose2d", "out_channels": 2, "kernel_size": 4, "stride": 2, "padding": "same"},
        {"type": "upsample", "scale_factor": 2, "mode": "bilinear", "align_corners": False},
        {"type": "upsample", "size": [7, 9], "mode": "bicubic"},
        {"type": "unpool", "scale_factor": 2},
        {"type": "pixel_unshuffle", "downscale_factor": 2}, {"type": "pixel_shuffle", "upscale_factor": 2}]},
    "unpool-crop-pad-merges": {"input": [3, 15, 15], "layers": [
        {"type": "conv2d", "name": "a", "out_channels": 4, "kernel_size": 3},
        {"type": "maxpool2d", "name": "pool", "kernel_size": 2, "ceil_mode": True},
        {"type": "max_unpool2d", "indices": "pool", "kernel_size": 2},
        {"type": "pad", "padding": [1, 2], "mode": "reflect"},
        {"type": "crop", "name": "cropped", "to": "a"},
        {"type": "concat", "branches": [[], [{"type": "conv2d", "out_channels": 2, "kernel_size": 1}]]},
        {"type": "add", "inputs": ["concat_1", "concat_1"]},
        {"type": "mul", "branches": [[], [{"type": "sigmoid"}]]},
        {"type": "lrn", "size": 3}, {"type": "maxout", "pieces": 3}, {"type": "dropout"},
        {"type": "global_maxpool"}, {"type": "linear", "out_features": 3, "flatten": True, "activation": "gelu"},
        {"type": "softmax"}]},
}


@pytest.mark.parametrize("name", list(LAYER_SPECS))
def test_layer_types_agree_with_torch(name: str) -> None:
    assert_agrees(rows(LAYER_SPECS[name]))


def test_cli_crosscheck(cli: Callable[..., Result]) -> None:
    result = cli("crosscheck", "lenet5_1998")
    assert result.exit_code == 0, result.output
    assert "7 layers: 7 ✓, 0 ✗" in result.stdout
    assert "✓ C3: 16x10x10, 1,516 params" in result.stdout  # LeCun et al. 1998: C3 has 1,516 parameters


def test_cli_reports_a_mismatch(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc import torch_bridge

    def wrong_shape(*args: Any, **kwargs: Any) -> list[Any]:
        real = original(*args, **kwargs)
        first = real[0]
        return [torch_bridge.Row(first.name, first.type, (first.shape[0], (1,)), first.params, first.buffers,
                                 first.macs), *real[1:]]

    original = torch_bridge.crosscheck
    monkeypatch.setattr(torch_bridge, "crosscheck", wrong_shape)
    result = cli("crosscheck", "lenet5")
    assert result.exit_code == 1
    assert "✗ conv1" in result.stdout


def test_without_torch_the_command_says_how_to_install(cli: Callable[..., Result],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    result = cli("crosscheck", "lenet5")
    assert result.exit_code == 2
    assert "pip install 'cnncalc[torch]'" in result.stderr
    assert "Traceback" not in result.stderr
