"""Importing today's CNN building blocks, written the way model code writes them (no torchvision here).

Each module below is a hand-written block in the style of its paper's reference code: squeeze-excitation (Hu et al.
2018), ShuffleNetV2's split-and-shuffle unit (Ma et al. 2018), a ConvNeXt block (Liu et al. 2022), a DenseNet layer
fed by a one-tensor cat, an Inception net whose auxiliary head exists only in training, ReLU(inplace=True). The
expected numbers are torch's own (``sum(p.numel())``, the forward's output shape) or worked by hand in comments.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import cnncalc

pytestmark = pytest.mark.torch


def imported(module: Any, shape: tuple[int, ...], **options: Any) -> tuple[dict[str, Any], Any]:
    """Import strictly (nothing opaque), analyse, and hold output shape and parameters to torch's."""
    import torch

    spec = cnncalc.from_torch(module, shape, strict=True, **options)
    report = cnncalc.analyze(spec)
    training = module.training
    with torch.no_grad():
        y = module.eval()(torch.zeros(2, *shape))
    module.train(training)
    assert report.output_shape == tuple(y.shape[1:])
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    return spec, report


def squeeze_excitation(channels: int, squeezed: int) -> Any:
    from torch import nn

    class SqueezeExcitation(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(channels, squeezed, 1)
            self.fc2 = nn.Conv2d(squeezed, channels, 1)
            self.act = nn.ReLU()
            self.gate = nn.Hardsigmoid()

        def forward(self, x: Any) -> Any:
            scale = self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))
            return scale * x

    return SqueezeExcitation()


def test_squeeze_excitation_gate_broadcasts() -> None:
    spec, report = imported(squeeze_excitation(16, 4), (16, 8, 8))
    assert [layer["type"] for layer in spec["layers"]] == ["adaptive_avgpool2d", "conv2d", "relu", "conv2d",
                                                           "hardsigmoid", "mul"]
    mul = report.layers[-1]
    # 16x1x1 gate times the 16x8x8 map: one multiply per output value, 16·8·8 = 1,024.
    assert (mul.output_shape, mul.flops, mul.summary) == ((16, 8, 8), 1_024, "2 inputs broadcast")


def test_shufflenet_v2_unit() -> None:
    from torch import nn

    def channel_shuffle(x: Any, groups: int) -> Any:
        n, c, h, w = x.size()
        x = x.view(n, groups, c // groups, h, w)
        x = x.transpose(1, 2).contiguous()
        return x.view(n, -1, h, w)

    class Unit(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            half = c // 2
            self.branch = nn.Sequential(nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half),
                                        nn.ReLU(inplace=True), nn.Conv2d(half, half, 3, padding=1, groups=half))

        def forward(self, x: Any) -> Any:
            x1, x2 = x.chunk(2, dim=1)
            return channel_shuffle(torch_cat((x1, self.branch(x2))), 2)

    spec, report = imported(Unit(116), (116, 28, 28))
    types = [layer["type"] for layer in spec["layers"]]
    assert types == ["chunk", "chunk", "chunk", "conv2d", "batchnorm2d", "relu", "conv2d", "concat",
                     "channel_shuffle"]
    assert spec["layers"][-1]["groups"] == 2
    rows = {r.name: r for r in report.layers}
    assert rows["getitem"].output_shape == rows["getitem_1"].output_shape == (58, 28, 28)
    assert "maxout" not in types  # the stand-in the issue describes is gone
    # No stand-in activations: conv 45,472 + bn 45,472 (relu in place) + dw 45,472 + cat 90,944 + shuffle 90,944;
    # the pieces are views.
    assert report.totals.stored_activations == 45_472 * 3 + 90_944 * 2


def torch_cat(parts: tuple[Any, ...]) -> Any:
    import torch

    return torch.cat(parts, dim=1)


def test_convnext_block() -> None:
    import torch
    from torch import nn

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x: Any) -> Any:
            x = x.permute(0, 2, 3, 1)
            x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class Block(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, 4 * dim)
            self.act = nn.GELU()
            self.pwconv2 = nn.Linear(4 * dim, dim)
            self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

        def forward(self, x: Any) -> Any:
            shortcut = x
            x = self.dwconv(x).permute(0, 2, 3, 1)
            x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
            x = self.gamma * x
            return shortcut + x.permute(0, 3, 1, 2)

    class Stage(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.Sequential(LayerNorm2d(16), nn.Conv2d(16, 32, 2, stride=2))
            self.block = Block(32)

        def forward(self, x: Any) -> Any:
            return self.block(self.down(x))

    spec, report = imported(Stage(), (16, 8, 8))
    types = [layer["type"] for layer in spec["layers"]]
    # The LayerNorm2d subclass is read as a layer (its shape says it normalises the channels of a C×H×W map).
    assert types == ["layernorm2d", "conv2d", "conv2d", "permute", "layernorm", "linear", "gelu", "linear",
                     "layer_scale", "permute", "add"]
    rows = {r.name: r for r in report.layers}
    # The linears act on the 32 channels at each of 4x4 positions: 16·32·128 MACs each way.
    assert rows["block.pwconv1"].macs == rows["block.pwconv2"].macs == 16 * 32 * 128
    assert [r.params for r in report.layers if r.type == "layer_scale"] == [32]


def test_densenet_first_layer_cat_of_one() -> None:
    from torch import nn

    class DenseLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(8, 4, 3, padding=1)

        def forward(self, features: list[Any]) -> Any:
            return self.conv(torch_cat(tuple(features)))

    class Dense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = DenseLayer()

        def forward(self, x: Any) -> Any:
            return torch_cat((x, self.layer([x])))

    spec, _ = imported(Dense(), (8, 6, 6))
    assert [layer["type"] for layer in spec["layers"]] == ["conv2d", "concat"]


def inception_with_aux() -> Any:
    from torch import nn

    class Net(nn.Module):
        """An Inception-style net whose auxiliary classifier runs only in training (as torchvision's GoogLeNet)."""

        def __init__(self, aux_logits: bool = True) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.aux = nn.Linear(8 * 6 * 6, 5) if aux_logits else None
            self.fc = nn.Linear(8 * 6 * 6, 10)

        def forward(self, x: Any) -> Any:
            y = self.conv(x).flatten(1)
            if self.training and self.aux is not None:
                return self.fc(y), self.aux(y)
            return self.fc(y)

    return Net


def test_eval_mode_by_default_and_the_module_is_left_as_it_was() -> None:
    net = inception_with_aux()()
    net.train()
    spec = cnncalc.from_torch(net, (3, 8, 8))
    assert net.training and all(m.training for m in net.modules())  # left in training mode
    assert [layer["type"] for layer in spec["layers"]] == ["conv2d", "flatten", "linear"]
    # No aux output in eval mode: its 1,445 parameters (288·5 + 5) are held but unused, and the notes say so
    # (conv 224 + fc 2,890 = 3,114 used).
    assert spec["notes"] == "the spec counts 3,114 parameters, the module holds 4,559"
    trained = cnncalc.from_torch(net, (3, 8, 8), train=True)
    assert "returns 2 values" in trained["notes"] and "training mode" in trained["description"]


def test_training_mode_leaves_running_statistics_alone() -> None:
    import torch
    from torch import nn

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cnncalc.from_torch(net, (3, 8, 8), train=True)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # num_batches_tracked still 0


def test_inplace_activations_are_kept() -> None:
    from torch import nn

    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3), nn.ReLU())
    spec, report = imported(net, (3, 10, 10))
    assert [layer.get("inplace", False) for layer in spec["layers"]] == [False, True, False, False]
    # Stored activations: conv 8·8·8 = 512 (its ReLU writes in place), conv 8·6·6 = 288 and its ReLU 288.
    assert report.totals.stored_activations == 512 + 288 + 288


def test_functional_forms_of_the_new_layers() -> None:
    import torch
    from torch import nn

    def drop_path(x: Any, drop_prob: float = 0.0, training: bool = False) -> Any:
        """timm's drop_path, as it is written there (the identity at inference)."""
        if drop_prob == 0.0 or not training:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - drop_prob)
        return x * keep / (1 - drop_prob)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x: Any) -> Any:
            y = nn.functional.mish(self.conv(x))
            y = drop_path(y, 0.1, self.training)
            y = nn.functional.group_norm(y, 4)
            y = nn.functional.lp_pool2d(y, 2, 2)
            y = torch.transpose(y, 2, 3) * 0.2 + 1
            return y.reshape(y.shape[0], 2, 4, 3, 3)

    spec, _ = imported(Net(), (3, 8, 8))
    assert [layer["type"] for layer in spec["layers"]] == ["conv2d", "mish", "groupnorm", "lppool2d", "permute",
                                                           "mul", "add", "reshape"]


def test_cli_factory_arguments_strict_and_opaque(cli: Callable[..., Result], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mymodels2.py").write_text(
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, width=4, aux_logits=True, head=None):\n"
        "        super().__init__()\n"
        "        assert aux_logits is False and head is None\n"
        "        self.conv = nn.Conv2d(3, width, 3)\n"
        "    def forward(self, x):\n"
        "        return self.conv(x).cumsum(1)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        result = cli("import", "mymodels2:Net", "--input", "3x8x8", "--arg", "width=6", "--arg", "aux_logits=false",
                     "--arg", "head=None", "-o", "net.yaml")
        assert result.exit_code == 0, result.output
        assert "warning: 1 opaque node(s)" in result.stderr and "cumsum (cumsum)" in result.stderr
        assert cnncalc.analyze(tmp_path / "net.yaml").totals.params == (27 + 1) * 6
        result = cli("import", "mymodels2:Net(width=6, aux_logits=False)", "--input", "3x8x8", "--strict")
        assert result.exit_code == 2
        assert "no mapping for: cumsum" in result.stderr and "Traceback" not in result.stderr
        result = cli("import", "mymodels2:Net(6)", "--input", "3x8x8")
        assert result.exit_code == 2 and "keyword=literal pairs" in result.stderr
        result = cli("import", "mymodels2:Net", "--input", "3x8x8", "--arg", "width")
        assert result.exit_code == 2 and "--arg needs KEY=VALUE" in result.stderr
    finally:
        sys.modules.pop("mymodels2", None)


def test_constants_computed_by_a_module_are_held_by_their_user() -> None:
    # Swin V2's continuous position bias: an MLP applied to a fixed coordinate table (a buffer), whose output is
    # then added to the input. The MLP computes a constant at every call; the addition that uses it holds it as its
    # operand, with the MLP's parameters, the table, and the MLP's multiply-adds, so the import counts torch's
    # totals and torch's products.
    import torch
    from torch import nn

    class Biased(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.register_buffer("coords", torch.zeros(36, 2))
            self.mlp = nn.Linear(2, 4)  # 12 params

        def forward(self, x: Any) -> Any:
            bias = self.mlp(self.coords).t().reshape(1, 4, 6, 6)
            return self.conv(x) + bias

    module = Biased()
    spec, report = imported(module, (3, 8, 8))
    add = spec["layers"][-1]
    assert {k: add[k] for k in ("type", "operand", "operand_params", "operand_buffers", "operand_macs")} == {
        "type": "add", "operand": [4, 6, 6], "operand_params": 12, "operand_buffers": 72,
        "operand_macs": 36 * 2 * 4}  # the MLP: 36 rows of 2 inputs times 4 outputs
    assert report.totals.params == 112 + 12
    assert report.totals.buffers == 72
    assert report.totals.macs == 36 * 4 * 27 + 36 * 2 * 4  # the conv's 6x6x4 outputs of 27 weights, and the MLP


def test_attention_in_a_hybrid_cnn() -> None:
    # A self-attention block over a conv feature map, as hybrid CNNs write it (BoTNet-style, 2 heads): q, k, v by
    # 1x1 convs, heads by reshape, scores by q @ kᵀ times a Python scale, softmax, @ v; then once more with F.sdpa.
    from torch import nn

    class SelfAttention(nn.Module):
        def __init__(self, c: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.qkv = nn.Conv2d(c, 3 * c, 1)

        def forward(self, x: Any) -> Any:
            n, c, h, w = x.shape
            q, k, v = self.qkv(x).reshape(n, 3 * self.heads, c // self.heads, h * w).chunk(3, dim=1)
            attn = (q.transpose(-2, -1) @ k * (c // self.heads) ** -0.5).softmax(dim=-1)
            y = (attn @ v.transpose(-2, -1)).transpose(-2, -1)
            y = y + nn.functional.scaled_dot_product_attention(q.transpose(-2, -1), k.transpose(-2, -1),
                                                               v.transpose(-2, -1)).transpose(-2, -1)
            return y.reshape(n, c, h, w)

    _, report = imported(SelfAttention(8, 2), (8, 4, 4))
    products = [r for r in report.layers if r.type in ("matmul", "sdpa")]
    # 2 heads, 16 tokens, 4 dims: scores 2·16·16·4 = 2,048 MACs, weighted values 2,048; sdpa both: 4,096.
    assert [r.macs for r in products] == [2_048, 2_048, 4_096]
    assert report.totals.macs == 16 * 8 * 24 + 8_192  # the qkv 1x1 conv (16 positions · 8 in · 24 out) + products


def test_a_frozen_list_argument_is_thawed_and_a_graph_that_fails_falls_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Video Swin's pattern: a function fx keeps as a leaf assigns into a list argument, which fx freezes into an
    # immutable_list. The import hands such arguments over as plain lists, as eager mode does; and should a traced
    # graph still fail where the module runs, it falls back to a recorded forward pass instead of saying the module
    # does not run.
    (tmp_path / "frozen_list.py").write_text(
        "import torch\n"
        "from torch import nn\n"
        "def shift(x, sizes):\n"
        "    sizes[0] = 0  # fine in eager mode, a TypeError on fx's immutable_list\n"
        "    return x\n"
        "torch.fx.wrap('shift')\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n"
        "        return self.conv(shift(x, [1, 2]))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import frozen_list  # type: ignore[import-not-found]

        spec = cnncalc.from_torch(frozen_list.Net(), (3, 8, 8))
        # fx keeps shift() as one opaque call; the recorded pass sees into it (it computes nothing) and maps more.
        assert [layer["type"] for layer in spec["layers"]] == ["conv2d"]
        assert "from a recorded forward pass" in spec["description"]
        from cnncalc.torch import importer

        monkeypatch.setattr(importer, "_thaw", lambda value: value)  # the graph fails again: the fallback
        spec = cnncalc.from_torch(frozen_list.Net(), (3, 8, 8))
    finally:
        sys.modules.pop("frozen_list", None)
    assert [layer["type"] for layer in spec["layers"]] == ["conv2d"]
    assert "its torch.fx graph does not run" in spec["notes"] and "recorded from a forward pass" in spec["notes"]


def test_in_place_ops_without_rebinding() -> None:
    # MViT's positional encoding: pos = repeat_interleave(temporal) then pos.add_(tile(spatial)) without rebinding,
    # and x.add_(pos) the same way. Both parameters must be held; later layers must read the updated x.
    import torch
    from torch import nn

    class Encoded(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)  # 16 params
            self.temporal = nn.Parameter(torch.zeros(1, 4, 1, 1))  # 4
            self.spatial = nn.Parameter(torch.zeros(1, 1, 8, 8))  # 64
            self.head = nn.Conv2d(4, 2, 1)  # 10

        def forward(self, x: Any) -> Any:
            y = self.conv(x)
            pos = self.temporal.repeat(1, 1, 8, 8)
            pos.add_(self.spatial)
            y.add_(pos)
            return self.head(y)

    module = Encoded()
    spec = cnncalc.from_torch(module, (3, 8, 8))
    report = cnncalc.analyze(spec)
    assert report.totals.params == sum(p.numel() for p in module.parameters()) == 16 + 4 + 64 + 10
    names = [layer["name"] for layer in spec["layers"]]
    assert names == ["conv", "add__1", "head"]  # the add_ holds both parameters; the head reads its result
    assert "inputs" not in spec["layers"][-1]  # (fed by the layer before it, the updated y)
    assert {k: spec["layers"][1][k] for k in ("type", "operand", "operand_params", "inplace")} == {
        "type": "add", "operand": [4, 8, 8], "operand_params": 68, "inplace": True}


def test_functional_convolutions() -> None:
    # F.conv2d with the module's own parameters is a conv layer (MACs known), and so is one with weights computed
    # from them (weight standardisation, Qiao et al. 2019); a fixed blur kernel held as a buffer (anti-aliased
    # downsampling, Zhang 2019) is a conv with ``fixed: true``, its 72 values buffers.
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(8, 3, 3, 3))
            self.bias = nn.Parameter(torch.zeros(8))
            self.register_buffer("blur", torch.ones(8, 1, 3, 3) / 9)
            self.std = nn.Parameter(torch.ones(4, 8, 1, 1))

        def forward(self, x: Any) -> Any:
            y = nn.functional.conv2d(x, self.weight, self.bias, 2, 1)
            y = nn.functional.conv2d(y, self.blur, None, 1, 1, 1, 8)
            w = self.std - self.std.mean(dim=(1, 2, 3), keepdim=True)
            return nn.functional.conv2d(y, w)

    module = Net()
    spec = cnncalc.from_torch(module, (3, 16, 16), strict=True)
    conv, blur, standardised = spec["layers"]
    assert (conv["type"], conv["out_channels"], conv["kernel_size"], conv["stride"], conv["padding"]) == (
        "conv2d", 8, 3, 2, 1)
    assert (blur["type"], blur["groups"], blur["fixed"], blur["bias"]) == ("conv2d", 8, True, False)
    assert (standardised["out_channels"], standardised["bias"], "fixed" in standardised) == (4, False, False)
    report = cnncalc.analyze(spec)
    assert report.totals.params == sum(p.numel() for p in module.parameters()) == 8 * 27 + 8 + 32
    assert report.totals.buffers == sum(b.numel() for b in module.buffers()) == 72
    assert report.layers[1].macs == 8 * 8 * 8 * 9  # the blur: 8x8 outputs per channel, 9 MACs each
    assert report.layers[0].macs == 8 * 8 * 8 * 27  # 8x8 outputs per filter, 27 MACs each
