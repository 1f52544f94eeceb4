"""cnncalc against a real torch forward pass: every zoo network and every layer type, layer by layer.

The bridge sizes every module from the shapes torch itself produces and reads padding independently of the engine,
so an agreement here is torch's, not cnncalc's agreeing with itself. Big networks run on the meta device (torch's
shape rules and FlopCounterMode without memory); the hand-made specs run on the CPU with real values too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import cnncalc
from cnncalc.engine.layers import layer_classes
from cnncalc.spec import zoo

pytestmark = pytest.mark.torch


def check(spec: Any, *, device: str = "cpu", batch: int = 2, args: dict[str, Any] | None = None) -> Any:
    from cnncalc.torch.crosscheck import crosscheck

    net = cnncalc.load(spec, args=args)
    return crosscheck(cnncalc.analyze(net, batch=batch), device=device)


def assert_agrees(result: Any) -> None:
    assert result.rejected is None, result.rejected
    bad = result.mismatches
    assert not bad, "\n".join(f"{r.name} ({r.type}): cnncalc {r.shape[0]} {r.params[0]} {r.buffers[0]} {r.macs[0]} / "
                              f"torch {r.shape[1]} {r.params[1]} {r.buffers[1]} {r.macs[1]}" for r in bad)
    assert result.ok, (result.params, result.trainable_params, result.buffers, result.macs)


def test_every_layer_class_has_a_torch_mapping() -> None:
    from cnncalc.torch.build import BUILDERS

    assert set(layer_classes()) <= set(BUILDERS), set(layer_classes()) - set(BUILDERS)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_network_agrees_with_torch(name: str) -> None:
    result = check(name, device="meta", batch=1)
    assert_agrees(result)
    report = cnncalc.analyze(name)
    assert result.params == (report.totals.params, report.totals.params)
    assert result.counted > 0  # FlopCounterMode counted every convolution and matrix product ...
    assert all(r.macs[1] is not None for r in result.rows if r.type.startswith(("conv", "linear", "fc", "deconv")))
    counted = sum(r.macs[0] for r in result.rows if r.macs[1] is not None)
    assert result.macs == (counted, counted)  # ... and they are all of the network's MACs but subsample's and rbf's
    assert counted == report.totals.macs or name == "lenet5_1998"


@pytest.mark.parametrize(("name", "args"), [
    ("googlenet", {"aux": True}), ("googlenet_torchvision", {"aux": True}), ("inception_v3", {"aux": False}),
    ("bottleneck_1x1", {"bottleneck": True}),
    ("regnet_x_400mf", {}), ("regnet_x_1_6gf", {}),  # presets: RegNetX is the regnet spec with se=0
])
def test_zoo_arguments_agree_with_torch(name: str, args: dict[str, Any]) -> None:
    assert_agrees(check(name, device="meta", batch=1, args=args))


@pytest.mark.parametrize("name", ["fcn_resnet50", "deeplabv3_resnet50"])
def test_segmentation_nets_at_another_input_size(name: str) -> None:
    # Their logits come back at the input's size (size_like: input), 21x480x640, as torch's own F.interpolate gives.
    from cnncalc.torch.crosscheck import crosscheck

    report = cnncalc.analyze(name, input_shape=(3, 480, 640))
    assert_agrees(crosscheck(report, device="meta"))
    assert report.output_shape == (21, 480, 640)


@pytest.mark.parametrize("name", ["lenet5", "lenet5_1998", "cs231n_two_layer", "autoencoder", "espcn"])
def test_small_zoo_networks_on_the_cpu(name: str) -> None:
    assert_agrees(check(name, device="cpu", batch=3))


def _conv(c: int = 4, k: Any = 3, **kw: Any) -> dict[str, Any]:
    return {"type": "conv2d", "out_channels": c, "kernel_size": k, **kw}


LAYER_SPECS: dict[str, dict[str, Any]] = {
    "padding-forms": {"input": [3, 41, 47], "layers": [
        _conv(k=3, stride=2, padding="same"), _conv(k=4, stride=2, padding="same_lower"),
        _conv(k=[3, 5], padding=[0, 1, 2, 0]),  # MatConvNet [top, bottom, left, right]
        _conv(k=4, padding={"before": [1, 2], "after": [2, 1]}), _conv(k=2, padding=[[1, 0], [0, 1]]),
        _conv(k=4, padding="same"),  # stride 1: torch's own padding='same', even kernel
        _conv(k=3, padding="valid", dilation=[1, 2]), _conv(k=3, padding=[1, 0], stride=[1, 2])]},
    "pooling": {"input": [4, 19, 18], "layers": [
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": "same"},
        {"type": "maxpool2d", "kernel_size": 2, "stride": 1, "padding": "same_lower"},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "avgpool2d", "kernel_size": 2, "ceil_mode": True, "padding": [[0, 1], [1, 0]]},
        {"type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False},
        {"type": "subsample", "kernel_size": 2, "padding": [[0, 1], [0, 0]], "ceil_mode": True},
        {"type": "adaptive_maxpool2d", "output_size": [3, None]}, {"type": "adaptive_avgpool", "output_size": 2},
        {"type": "global_avgpool"}]},
    "grouped-depthwise-dilated": {"input": [8, 20, 20], "layers": [
        _conv(8, 3, groups="depthwise", padding=1, activation="relu6"),
        _conv(16, 3, dilation=2, groups=4, bias=False),
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "dilation": 2, "ceil_mode": True},
        {"type": "batchnorm2d", "affine": False}, {"type": "prelu", "num_parameters": 16},
        {"type": "channel_shuffle", "groups": 4}, {"type": "batchnorm", "track_running_stats": False}]},
    "connection-table": {"input": [6, 14, 14], "layers": [
        _conv(5, 5, padding="same", connection_table=[[0, 1, 2], [1, 2, 3], [3, 4, 5, 0], [0, 5], [0, 1, 2, 3, 4, 5]],
              activation="tanh"),
        _conv(3, 3, stride=2, padding=[0, 1, 0, 1], connection_table=[[0], [1, 4], [2, 3]], bias=False),
        {"type": "subsample", "kernel_size": 2}, {"type": "flatten"}, {"type": "rbf", "out_features": 4}]},
    "one-and-three-d": {"input": [2, 9, 10, 11], "layers": [
        {"type": "conv3d", "out_channels": 4, "kernel_size": [3, 1, 3], "stride": [1, 2, 2], "padding": "same"},
        {"type": "batchnorm3d"}, {"type": "maxpool3d", "kernel_size": 2, "ceil_mode": True},
        {"type": "upsample", "scale_factor": [1, 2, 1.5], "mode": "trilinear"},
        {"type": "adaptive_avgpool3d", "output_size": [2, None, 3]}, {"type": "flatten", "start_dim": 2},
        {"type": "conv1d", "out_channels": 6, "kernel_size": 2, "padding": [0, 1]}, {"type": "batchnorm1d"},
        {"type": "maxpool1d", "kernel_size": 2, "padding": "same"},
        {"type": "upsample", "size": 7, "mode": "linear", "align_corners": True},
        {"type": "linear", "out_features": 5, "activation": "silu"}, {"type": "log_softmax", "dim": -1}]},
    "transposed": {"input": [4, 6, 7], "layers": [
        {"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
         "output_padding": 1, "activation": "relu"},
        {"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "output_size": [25, 28]},
        {"type": "conv_transpose2d", "out_channels": 2, "kernel_size": 4, "stride": 2, "padding": "same"},
        {"type": "conv_transpose2d", "out_channels": 2, "kernel_size": 3, "stride": 3, "padding": "same_lower"},
        {"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 3, "padding": [[0, 1], [2, 0]],
         "dilation": 2, "groups": 2},
        {"type": "deconv", "out_channels": 2, "kernel_size": [2, 3], "stride": [2, 1], "output_padding": [1, 0],
         "dilation": [1, 2], "bias": False}]},
    "upsampling": {"input": [4, 6, 7], "layers": [
        {"type": "upsample", "scale_factor": 2, "mode": "bilinear", "align_corners": False},
        {"type": "upsample_nearest", "scale_factor": 1.5}, {"type": "upsample_bilinear", "size": [7, 9]},
        {"type": "upsample", "size": [9, 11], "mode": "bicubic"}, {"type": "interpolate", "scale_factor": [2, 3]},
        {"type": "unpool", "scale_factor": [2, 2]}, {"type": "pixel_unshuffle", "downscale_factor": 2},
        {"type": "pixel_shuffle", "upscale_factor": 2}, {"type": "depth_to_space", "upscale_factor": 2}]},
    "unpool-crop-pad": {"input": [3, 15, 15], "layers": [
        _conv(4, 3, name="a"),
        {"type": "maxpool2d", "name": "pool", "kernel_size": 2, "ceil_mode": True},
        {"type": "max_unpool2d", "indices": "pool", "kernel_size": 2},
        {"type": "maxpool2d", "name": "pool2", "kernel_size": 2, "padding": [[0, 1], [1, 0]]},
        {"type": "max_unpool2d", "indices": "pool2", "kernel_size": 2},
        {"type": "pad", "padding": [1, 2], "mode": "reflect"}, {"type": "crop", "name": "cropped", "to": "a"},
        {"type": "pad", "padding": [[0, 1], [2, 3]], "mode": "circular"},
        {"type": "replication_pad", "padding": 1}, {"type": "zero_pad", "padding": [0, 1, 0, 2], "value": 1.5},
        {"type": "crop", "size": [9, 8]}, {"type": "center_crop", "crop": {"before": [1, 0], "after": [0, 2]}},
        {"type": "crop", "inputs": ["input"], "to": "a"}]},
    "branches-references-blocks": {
        "input": [3, 16, 16],
        "blocks": {"res": {"args": {"width": None, "stride": 1, "project": False}, "layers": [
            {"type": "add", "name": "add", "branches": [
                [_conv("$width", 3, stride="$stride", padding=1, bias=False), {"type": "batchnorm2d"},
                 {"type": "relu"}],
                [{"if": "$project", **_conv("$width", 1, stride="$stride")}]]},
            {"type": "relu", "name": "relu", "inplace": True}]}},
        "layers": [
            _conv(8, 3, name="stem", padding=1),
            {"block": "res", "name": "stage", "repeat": 2, "with": {"width": 8}, "first": {"stride": 2,
                                                                                       "project": True}},
            {"type": "concat", "name": "cat", "branches": [
                [], [_conv(2, 1)], [{"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1}]]},
            {"type": "add", "inputs": ["cat", "cat", "cat"]},
            {"type": "mul", "branches": [[], [{"type": "sigmoid"}]]},
            {"type": "concat", "inputs": ["input", "input"], "dim": 2, "name": "tall"},
            {"type": "lrn", "size": 3, "inputs": ["mul_1"]}, {"type": "maxout", "pieces": 3},
            {"type": "dropout2d", "p": 0.2}, {"type": "identity", "name": "keys"}, {"type": "leaky_relu"},
            {"type": "elu", "alpha": 0.5}, {"type": "gelu", "approximate": "tanh"}, {"type": "selu"},
            {"type": "hardswish"}, {"type": "hardsigmoid"}, {"type": "softmax"},
            {"type": "global_maxpool"},
            {"type": "linear", "out_features": 3, "flatten": True, "activation": "gelu", "trainable": False},
            {"type": "fc", "out_features": 2, "bias": False}]},
    # Issue #9's layers: a squeeze-excitation gate, split pieces, a ConvNeXt channels-last section, norms, pooling.
    "todays-cnns": {"input": [8, 9, 9], "layers": [
        {"type": "global_avgpool", "name": "squeeze"}, _conv(8, 1), {"type": "hardsigmoid", "name": "gate"},
        {"type": "mul", "inputs": ["input", "gate"], "name": "excite"},
        {"type": "chunk", "chunks": 2, "name": "halves"}, {"type": "relu", "inputs": ["halves.1"]},
        {"type": "maximum", "inputs": ["halves.0", "relu_1"]}, {"type": "sub", "scalar": 1.0},
        {"type": "div", "inputs": ["excite", "excite"]}, {"type": "minimum", "inputs": ["div_1", "input"]},
        {"type": "split", "split_size": [4, 5], "dim": 2, "index": 1},
        {"type": "layernorm2d"}, {"type": "permute", "dims": [0, 2, 3, 1]}, {"type": "layernorm"},
        {"type": "linear", "out_features": 6}, {"type": "layer_scale", "dim": -1},
        {"type": "permute", "dims": [0, 3, 1, 2]}, {"type": "reshape", "shape": [3, 2, -1]},
        {"type": "view", "shape": [6, 5, 9]}, {"type": "groupnorm", "num_groups": 3},
        {"type": "instancenorm", "affine": True, "track_running_stats": True}, {"type": "mish"},
        {"type": "drop_path", "p": 0.1}, {"type": "lppool2d", "kernel_size": 2},
        {"type": "avgpool", "kernel_size": 2, "stride": 1, "dilation": 2, "padding": 1},
        {"type": "opaque", "module": "Measured", "output_shape": [6, 3, 5], "params": 7, "buffers": 2},
        {"type": "reshape", "shape": [2, 3, 15], "name": "heads"}, {"type": "permute", "dims": [0, 1, 3, 2]},
        {"type": "matmul", "inputs": ["permute_3", "heads"], "name": "scores"},
        {"type": "sdpa", "inputs": ["scores", "scores", "permute_3"]}]},
    # Transformer-style pieces: tokens, a held operand, indexing, shifted windows, cosine attention, einsum.
    "transformer-pieces": {"input": [6, 8, 5], "layers": [
        {"type": "conv2d", "out_channels": "same", "kernel_size": 3, "padding": 1, "groups": "depthwise",
         "fixed": True},  # a blur: 54 buffer values, no parameters
        {"type": "token", "count": 2, "dim": 2}, {"type": "add", "operand": [6, 1, 5]},
        {"type": "mul", "operand": [1, 10, 5], "operand_params": 3, "operand_buffers": 4, "name": "biased"},
        {"type": "roll", "shifts": [2, -1], "dims": [2, 3]}, {"type": "slice", "dim": 2, "start": 1, "step": 2},
        {"type": "pad", "padding": [[0, 1], [1, 0], [0, 2]]}, {"type": "normalize", "dim": -1},
        {"type": "einsum", "equation": "bchw,bcgw->bchg", "inputs": ["normalize_1", "pad_1"]},
        {"type": "token", "at": "end"}, {"type": "select", "dim": 1, "index": -1, "name": "picked"},
        {"type": "einsum", "equation": "bhk,kj->bhj", "operand": [6, 3], "operand_params": 5, "name": "table"},
        {"type": "slice", "dim": 2, "start": 1, "name": "part"}, {"type": "mul", "scalar": 2.0},
        {"type": "assign", "region": [None, [1, None, None]], "inputs": ["table", "mul_1"]}]},
    # A ViT encoder block (self-attention, one input), then cross-attention to a shorter, narrower memory.
    "attention": {"input": [7, 16], "layers": [
        {"type": "layernorm", "name": "ln_1"}, {"type": "mha", "embed_dim": 16, "num_heads": 4, "name": "attn"},
        {"type": "add", "inputs": ["input", "attn"], "name": "res"}, {"type": "layernorm"},
        {"type": "linear", "out_features": 64}, {"type": "gelu"}, {"type": "linear", "out_features": 16},
        {"type": "add", "inputs": ["res", "linear_2"], "name": "block"},
        {"type": "split", "split_size": [3, 4], "dim": 1, "index": 0, "name": "first"},
        {"type": "linear", "out_features": 6, "name": "memory"},
        {"type": "multihead_attention", "embed_dim": 16, "num_heads": 2, "kdim": 6, "vdim": 6, "add_bias_kv": True,
         "add_zero_attn": True, "bias": False, "inputs": ["block", "memory", "memory"]}]},
}


@pytest.mark.parametrize("name", list(LAYER_SPECS))
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_layer_types_agree_with_torch(name: str, device: str) -> None:
    assert_agrees(check(LAYER_SPECS[name], device=device))


def test_the_hand_made_specs_cover_every_layer_class() -> None:
    used = {type(n.layer) for spec in LAYER_SPECS.values() for n in cnncalc.load(spec).nodes}
    assert set(layer_classes()) <= used, set(layer_classes()) - used


def test_ceil_mode_with_per_side_padding_follows_torchs_rule() -> None:
    # cnncalc drops a last window that would start in the right padding, as torch's pooling does (its docs and
    # pooling_output_shape). A literal F.pad + pool sees that padding as input and keeps the window; the bridge
    # drops it by the same rule, and this test pins why.
    import torch
    from torch.nn import functional

    spec = {"input": [1, 4, 4], "layers": [
        {"type": "maxpool2d", "kernel_size": 2, "ceil_mode": True, "padding": [[0, 1], [0, 1]]}]}
    assert cnncalc.analyze(spec).layers[0].output_shape == (1, 2, 2)
    padded = functional.pad(torch.zeros(1, 1, 4, 4), [0, 1, 0, 1], value=float("-inf"))
    assert torch.nn.MaxPool2d(2, ceil_mode=True)(padded).shape[2:] == (3, 3)
    assert torch.nn.MaxPool2d(2, padding=1, ceil_mode=True)(torch.zeros(1, 1, 4, 4)).shape[2:] == (3, 3)
    assert_agrees(check(spec))


@pytest.mark.parametrize("kind", ["adaptive_avgpool1d", "adaptive_maxpool"])
def test_adaptive_pool_1d_keeping_the_size(kind: str) -> None:
    # torch's AdaptiveAvg/MaxPool1d take no None (only the 2-D and 3-D classes do): cnncalc rejects it too.
    spec = {"input": [2, 10], "layers": [{"type": kind, "output_size": [None]}]}
    with pytest.raises(cnncalc.CnncalcError, match="1-D adaptive pool needs a size"):
        cnncalc.analyze(spec)


def test_flop_counter_conventions() -> None:
    # cnncalc's MACs leave out bias additions, as FlopCounterMode does (it counts 2 FLOPs per multiply-add of the
    # convolution or matrix product only); a transposed convolution is counted per *input* position:
    # C_in · I · (C_out / G) · K, which is cnncalc's formula too.
    result = check({"input": [4, 5, 6], "layers": [
        {"type": "conv_transpose2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "groups": 2},
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3},
        {"type": "linear", "out_features": 7}]}, batch=3)
    assert_agrees(result)
    up, down, fc = result.rows
    assert up.macs == (3 * 4 * 5 * 6 * 3 * 3 * 3,) * 2
    assert down.shape[1] == (2, 9, 11) and down.macs == (3 * 2 * 9 * 11 * 6 * 9,) * 2
    assert fc.macs == (3 * 2 * 9 * 11 * 7,) * 2


def test_the_module_is_a_plain_torch_module() -> None:
    import torch

    from cnncalc.torch.build import build_module

    net = cnncalc.load({"input": [6, 8, 8], "layers": [
        _conv(4, 3, name="block/conv.1", padding="same", activation="relu", connection_table=[[0, 1], [2], [3, 4, 5],
                                                                                            [0, 5]]),
        {"type": "identity", "name": "train"}, {"type": "linear", "out_features": 3, "flatten": True}]})
    module = build_module(net)
    assert isinstance(module, torch.nn.Module) and not module.training
    assert list(module.layers) == ["block__conv_1", "train_2", "linear_1"]
    assert module.node_name == {"block__conv_1": "block/conv.1", "train_2": "train", "linear_1": "linear_1"}
    sparse = module.layers["block__conv_1"]
    assert isinstance(sparse, torch.nn.Sequential) and isinstance(sparse[1], torch.nn.ReLU)
    assert sum(p.numel() for p in sparse.parameters()) == (2 + 1 + 3 + 2) * 9 + 4  # only the connected weights
    assert module(torch.randn(2, 6, 8, 8)).shape == (2, 3)
    assert build_module(net, "meta")(torch.randn(5, 6, 8, 8, device="meta")).shape == (5, 3)


SMALL = {"name": "small", "input": [1, 8, 8], "layers": [_conv(2, 3), "relu", {"type": "fc", "out_features": 2}]}


def _refusing(kind: str) -> Callable[..., Any]:
    """A builder whose module torch 'refuses': always, or only outside the meta device."""
    import torch

    class Refuse(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            if kind == "always" or x.device.type != "meta":
                raise RuntimeError("made up by the test\nsecond line")
            return x

    return lambda t, layer, x, keep: Refuse()


@pytest.mark.parametrize("kind", ["always", "outside-meta"])
def test_a_layer_torch_refuses_is_a_disagreement(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    from cnncalc.engine.layers.activation import Activation
    from cnncalc.torch.build import BUILDERS

    monkeypatch.setitem(BUILDERS, Activation, _refusing(kind))
    result = check(SMALL, batch=1)
    assert not result.ok and result.rows == ()
    assert result.rejected == "torch rejects layer 'relu_1' (relu), which cnncalc accepts: made up by the test"


def test_missing_torch_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.torch._modules import torch_modules

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(cnncalc.CnncalcError, match=r"pip install 'cnncalc\[torch\]'"):
        torch_modules()


# --- the command ---------------------------------------------------------------------------------------------------


def test_cli_crosscheck_vgg16_on_meta(cli: Callable[..., Result]) -> None:
    result = cli("crosscheck", "vgg16", "--device", "meta")
    assert result.exit_code == 0, result.output
    assert "24 layers: 24 ✓, 0 ✗; MACs compared on 16 layers" in result.stdout
    assert "✓ params     cnncalc 138,357,544  torch 138,357,544" in result.stdout
    assert not any(line.startswith("✗") for line in result.stdout.splitlines())


def test_cli_crosscheck_lenet5_1998_on_the_cpu(cli: Callable[..., Result]) -> None:
    result = cli("crosscheck", "lenet5_1998", "--batch", "2")
    assert result.exit_code == 0, result.output
    c3 = next(line for line in result.stdout.splitlines() if " C3 " in line)
    assert c3.split() == ["✓", "C3", "conv2d", "16x10x10", "1,516", "0", "300,000"]  # LeCun 1998: 1,516 params


def test_cli_json_input_and_set(cli: Callable[..., Result]) -> None:
    result = cli("crosscheck", "googlenet_torchvision", "--device", "meta", "--set", "aux=true", "--input",
                 "3x160x160", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["input"] == [3, 160, 160] and data["rejected"] is None
    assert data["totals"]["params"]["torch"] == 13004888  # torchvision googlenet(aux_logits=True, init_weights=True)
    assert any(layer["name"].startswith("aux1") for layer in data["layers"])
    first = data["layers"][0]
    assert first["output_shape"] == {"cnncalc": [64, 80, 80], "torch": [64, 80, 80], "ok": True}


def test_cli_reports_a_mismatch(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from cnncalc.torch import crosscheck as torch_crosscheck

    original = torch_crosscheck.crosscheck

    def wrong(*args: Any, **kwargs: Any) -> Any:
        real = original(*args, **kwargs)
        first = replace(real.rows[0], params=(real.rows[0].params[0] + 1, real.rows[0].params[1]))
        return replace(real, rows=(first, *real.rows[1:]))

    monkeypatch.setattr(torch_crosscheck, "crosscheck", wrong)
    result = cli("crosscheck", "lenet5")
    assert result.exit_code == 1
    line = next(line for line in result.stdout.splitlines() if "conv1" in line)
    assert line.startswith("✗") and "157 ≠ 156" in line
    assert "8 layers: 7 ✓, 1 ✗" in result.stdout


def test_cli_reports_a_layer_torch_refuses(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    from cnncalc.engine.layers.activation import Activation
    from cnncalc.torch.build import BUILDERS

    monkeypatch.setitem(BUILDERS, Activation, _refusing("always"))
    spec = tmp_path / "small.json"
    spec.write_text(json.dumps(SMALL), encoding="utf-8")
    result = cli("crosscheck", str(spec), "--device", "meta")
    assert result.exit_code == 1
    assert "✗ torch rejects layer 'relu_1' (relu)" in result.stdout


@pytest.mark.parametrize("args", [
    ("nonexistent_net",), ("lenet5", "--set", "novalue"), ("lenet5", "--input", "3xA"), ("lenet5", "--batch", "0"),
    ("lenet5", "--device", "tpu"), ("lenet5", "--input", "1x4x4"),
])
def test_cli_bad_input_exits_2(cli: Callable[..., Result], args: tuple[str, ...]) -> None:
    result = cli("crosscheck", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_cli_cuda_without_a_gpu_exits_2(cli: Callable[..., Result]) -> None:
    import torch

    if torch.cuda.is_available():
        result = cli("crosscheck", "lenet5", "--device", "cuda")
        assert result.exit_code == 0, result.output
        return
    result = cli("crosscheck", "lenet5", "--device", "cuda")
    assert result.exit_code == 2
    assert "no CUDA device" in result.stderr


def test_without_torch_the_command_says_how_to_install(cli: Callable[..., Result],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    result = cli("crosscheck", "lenet5")
    assert result.exit_code == 2
    assert "pip install 'cnncalc[torch]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_out_channels_same_and_fused_activations_agree_with_torch() -> None:
    # dwconv3 writes out_channels: same; torch's Conv2d(6, 6, 3, groups=6) is sized from the channels torch sees.
    from cnncalc.spec.notation import to_spec

    assert_agrees(check(to_spec("3x9x9: conv3-6-gelu dwconv3s2-leaky_relu fc-4-log_softmax")))
