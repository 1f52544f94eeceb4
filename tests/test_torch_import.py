"""Importing torch modules: reference networks written by hand (no torchvision), round-tripped through a spec."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import cnncalc

pytestmark = pytest.mark.torch


def _nets() -> dict[str, tuple[Any, tuple[int, ...], int]]:
    import torch
    from torch import nn
    from torch.nn import functional

    class LeNet(nn.Module):
        """The PyTorch tutorial's Net (beginner_source/blitz/neural_networks_tutorial.py)."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

        def forward(self, x: Any) -> Any:
            x = functional.max_pool2d(functional.relu(self.conv1(x)), (2, 2))
            x = functional.max_pool2d(functional.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc3(functional.relu(self.fc2(functional.relu(self.fc1(x)))))

    def vgg16() -> Any:
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
        layers: list[Any] = []
        c = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU(inplace=True)]
                c = int(v)
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(), nn.Linear(25088, 4096), nn.ReLU(),
                             nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000))

    class Basic(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                               if stride != 1 or cin != cout else None)

        def forward(self, x: Any) -> Any:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + identity)

    class ResNet18(nn.Module):
        """torchvision's resnet18 layout, written out (He et al. 2015, Table 1; option B shortcuts)."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1, self.relu, self.maxpool = nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
            widths, cin, stages = [64, 128, 256, 512], 64, []
            for i, w in enumerate(widths):
                stages.append(nn.Sequential(Basic(cin, w, 1 if i == 0 else 2), Basic(w, w, 1)))
                cin = w
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.avgpool, self.fc = nn.AdaptiveAvgPool2d((1, 1)), nn.Linear(512, 1000)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    class Inception(nn.Module):
        """GoogLeNet's inception (3a) without ReLUs: 64, 96→128, 16→32, pool→32 on 192x28x28 (Table 1)."""

        def __init__(self) -> None:
            super().__init__()
            self.b1 = nn.Conv2d(192, 64, 1)
            self.b2 = nn.Sequential(nn.Conv2d(192, 96, 1), nn.Conv2d(96, 128, 3, padding=1))
            self.b3 = nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2))
            self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(192, 32, 1))

        def forward(self, x: Any) -> Any:
            return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)

    class Skip(nn.Module):
        """U-Net's crop-and-concatenate: a valid conv path, an up-conv, the skip cropped to match."""

        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Conv2d(1, 8, 3)
            self.pool = nn.MaxPool2d(2)
            self.mid = nn.Conv2d(8, 16, 3)
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)

        def forward(self, x: Any) -> Any:
            e = self.enc(x)
            u = self.up(self.mid(self.pool(e)))
            return torch.cat([e[:, :, 2:-2, 2:-2], u], dim=1)

    return {
        # 61,706: the tutorial network's parameters (published.md §6).
        "lenet": (LeNet(), (1, 32, 32), 61_706),
        # 138,357,544: torchvision vgg16 num_params.
        "vgg16": (vgg16(), (3, 224, 224), 138_357_544),
        # 11,689,512: torchvision resnet18 num_params.
        "resnet18": (ResNet18(), (3, 224, 224), 11_689_512),
        # 163,328 weights (GoogLeNet Table 1, 3a: 159K in K = 1024) + 368 biases.
        "inception_3a": (Inception(), (192, 28, 28), 163_696),
        "unet_skip": (Skip(), (1, 20, 20), 80 + 1168 + 520),
    }


@pytest.mark.parametrize("name", ["lenet", "vgg16", "resnet18", "inception_3a", "unet_skip"])
def test_import_matches_torch(name: str) -> None:
    import torch

    module, shape, params = _nets()[name]
    assert sum(p.numel() for p in module.parameters()) == params  # the reference count holds in torch itself
    spec = cnncalc.from_torch(module, shape)
    report = cnncalc.analyze(spec)
    assert report.totals.params == params
    with torch.no_grad():
        out = module.eval()(torch.zeros(1, *shape))
    assert report.output_shape == tuple(out.shape[1:])
    buffers = sum(b.numel() for b in module.buffers())
    assert report.totals.buffers == buffers


def test_resnet_import_keeps_the_graph() -> None:
    module, shape, _ = _nets()["resnet18"]
    report = cnncalc.analyze(cnncalc.from_torch(module, shape))
    adds = [row for row in report.layers if row.type == "add"]
    assert len(adds) == 8  # one residual sum per basic block
    assert all(len(row.inputs) == 2 for row in adds)
    assert report.totals.macs == 1_814_073_344  # torchvision resnet18 _ops 1.814 GFLOPS (published.md §5)


def test_unmappable_modules_are_opaque_or_listed_with_strict() -> None:
    import torch
    from torch import nn

    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.rnn = nn.GRU(6, 5, batch_first=True)  # no cnncalc layer: (3·5·6 + 3·5·5 + 2·3·5) = 195 params
            self.fc = nn.Linear(5, 3)

        def forward(self, x: Any) -> Any:
            y = self.conv(x).cumsum(1)  # 2x6x6
            out, _ = self.rnn(y.flatten(1, 2))  # 12 steps of 6 → 12x5
            return self.fc(out)

    with pytest.raises(cnncalc.CnncalcError, match=r"no mapping for: cumsum \(cumsum\); rnn \(GRU\)"):
        cnncalc.from_torch(Odd(), (1, 8, 8), strict=True)
    module = Odd()
    spec = cnncalc.from_torch(module, (1, 8, 8))
    opaque = [layer for layer in spec["layers"] if layer["type"] == "opaque"]
    # torch.fx also leaves the pick of the GRU's output tuple opaque; the recorded pass reads it, so it is chosen.
    assert [(o["name"], o["module"], o["params"]) for o in opaque] == [("cumsum", "cumsum", 0), ("rnn", "GRU", 195)]
    assert "2 opaque node(s)" in spec["notes"] and "rnn (GRU)" in spec["notes"]
    assert "from a recorded forward pass" in spec["description"]
    report = cnncalc.analyze(spec)
    # The rest is analysed: conv 20 + GRU 195 (measured) + fc 18 = torch's own count.
    assert report.totals.params == sum(p.numel() for p in module.parameters()) == 233
    assert report.output_shape == tuple(module(torch.zeros(2, 1, 8, 8)).shape[1:])
    rows = {r.name: r for r in report.layers}
    assert rows["rnn"].warnings == ("opaque: MACs and FLOPs unknown (not counted in the totals)",)
    assert report.totals.macs == 2 * 36 * 9 + 12 * 5 * 3  # conv and fc only: the GRU's are unknown


def test_cli_import(cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mymodels.py").write_text(
        "from torch import nn\n"
        "def tiny():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = cli("import", "mymodels:tiny", "--input", "3x4x4", "-o", "tiny.yaml")
    assert result.exit_code == 0, result.output
    # (3·3·3 + 1)·8 = 224 and 128·10 + 10 = 1,290.
    assert "1,514 params" in result.stderr
    assert cnncalc.analyze(tmp_path / "tiny.yaml").totals.params == 1_514
    sys.modules.pop("mymodels", None)


@pytest.mark.parametrize(
    ("target", "message"),
    [("nocolon", "give MODULE:FACTORY"), ("no_such_module_xyz:f", "cannot import no_such_module_xyz"),
     ("os:no_such_factory", "os has no no_such_factory")],
)
def test_cli_import_errors(cli: Callable[..., Result], target: str, message: str) -> None:
    result = cli("import", target, "--input", "3x8x8")
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_untraceable_control_flow_is_recorded_from_a_forward_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from torch import nn

    class Branchy(nn.Module):
        """Data-dependent control flow: fx cannot trace it; the pass takes the branch this input takes."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.relu = nn.ReLU()
            self.fc = nn.Linear(4 * 6 * 6, 5)
            self.flat = nn.Flatten()

        def forward(self, x: Any) -> Any:
            y = self.relu(self.conv(x))
            if y.sum() > 1e9:  # depends on the data (the sum and the test are dropped: the output does not use them)
                y = y * 2
            return self.fc(self.flat(y))

    spec = cnncalc.from_torch(Branchy(), (3, 8, 8), strict=True)
    assert "from a recorded forward pass" in spec["description"]
    assert "torch.fx could not trace the module" in spec["notes"]
    assert [layer["name"] for layer in spec["layers"]] == ["conv", "relu", "flat", "fc"]
    # (3·3·3 + 1)·4 = 112 and 144·5 + 5 = 725.
    assert cnncalc.analyze(spec).totals.params == 112 + 725 == sum(p.numel() for p in Branchy().parameters())

    class NotAChain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

        def forward(self, x: Any) -> Any:
            if x.sum() > 1e9:
                return x
            return self.a(x) + self.b(x)

    spec = cnncalc.from_torch(NotAChain(), (3, 4, 4), strict=True)  # what hooks could not see, the pass records
    assert [(layer["type"], layer.get("inputs")) for layer in spec["layers"]] == [
        ("conv2d", None), ("conv2d", ["input"]), ("add", ["a", "b"])]

    # Forward hooks stay the last resort, for a pass that cannot be mapped: they need a chain of modules.
    without_recording(monkeypatch)
    spec = cnncalc.from_torch(Branchy(), (3, 8, 8))
    assert "forward hooks" in spec["description"]
    assert [layer["name"] for layer in spec["layers"]] == ["conv", "relu", "flat", "fc"]
    with pytest.raises(cnncalc.CnncalcError, match="not a plain chain"):
        cnncalc.from_torch(NotAChain(), (3, 4, 4))
    assert torch.zeros(1).shape == (1,)


# --------------------------------------------------------------------------------------------------------------
# The hard cases: each was silently wrong, crashed, or was refused by the first importer.


def matches_torch(module: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """Import, analyse, and compare output shape and parameters with a torch forward pass; returns the spec."""
    import torch

    spec = cnncalc.from_torch(module, shape)
    report = cnncalc.analyze(spec)
    with torch.no_grad():
        y = module.eval()(torch.zeros(2, *shape))
    assert report.output_shape == tuple(y.shape[1:])
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    return spec


def test_transposed_conv_called_with_output_size() -> None:
    from torch import nn

    class Up(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)

        def forward(self, x: Any) -> Any:
            return self.up(self.down(x), output_size=x.shape[2:])

    # 8 → 4 → (4 − 1)·2 − 2 + 3 = 7, and output_size=8 makes torch add an output padding of 1.
    spec = matches_torch(Up(), (3, 8, 8))
    assert spec["layers"][-1]["output_padding"] == 1


def test_batch_norm_in_training_mode_is_left_unchanged() -> None:
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5))  # training mode, one value per channel at batch 1
    with torch.no_grad():
        model[1].running_mean.fill_(1.0)
    matches_torch(model.train(), (4,))
    model.train()
    cnncalc.from_torch(model, (4,))
    assert model.training and model[1].training
    assert model[1].running_mean.tolist() == [1.0] * 5  # no forward pass updated the statistics
    assert int(model[1].num_batches_tracked) == 0


def test_functional_calls() -> None:
    from torch import nn
    from torch.nn import functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, 10)

        def forward(self, x: Any) -> Any:
            x = functional.leaky_relu(self.conv(x), 0.2)
            x = functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = functional.max_pool2d(x, 3, 1, 1)
            x = functional.pad(x, (1, 0, 2, 0), mode="replicate")
            return functional.log_softmax(self.fc(x.mean((2, 3))), dim=1)

    spec = matches_torch(Net(), (3, 5, 5))
    types = [layer["type"] for layer in spec["layers"]]
    assert types == ["conv2d", "leaky_relu", "upsample", "maxpool2d", "pad", "global_avgpool", "flatten", "linear",
                     "log_softmax"]
    assert spec["layers"][4]["padding"] == [[2, 0], [1, 0]]  # torch's last-dim-first order, turned round


def test_max_unpool_with_the_pools_indices() -> None:
    from torch import nn

    class SegNetStage(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2, return_indices=True)
            self.unpool = nn.MaxUnpool2d(2)

        def forward(self, x: Any) -> Any:
            y, indices = self.pool(self.conv(x))
            return self.unpool(y, indices)

    spec = matches_torch(SegNetStage(), (3, 6, 6))
    assert spec["layers"][-1]["indices"] == "pool"


def test_crop_with_offsets_computed_from_sizes() -> None:
    import torch
    from torch import nn

    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc, self.pool, self.mid = nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3)
            self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)

        def forward(self, x: Any) -> Any:
            e = self.enc(x)
            u = self.up(self.mid(self.pool(e)))
            dh, dw = (e.size(2) - u.size(2)) // 2, (e.size(3) - u.size(3)) // 2
            return torch.cat([e[:, :, dh:dh + u.size(2), dw:dw + u.size(3)], u], 1)

    # 20 → 18 → 9 → 7 → 14; the skip is cropped from 18 to 14, 2 on each side.
    spec = matches_torch(Skip(), (1, 20, 20))
    crop = next(layer for layer in spec["layers"] if layer["type"] == "crop")
    assert crop["crop"] == {"before": [2, 2], "after": [2, 2]}


def test_modules_mapped_despite_their_options() -> None:
    from torch import nn

    matches_torch(nn.Conv2d(3, 8, 3), (3, 8, 8))  # a bare layer as the whole model
    matches_torch(nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, padding_mode="reflect"), nn.CircularPad2d(1),
                                nn.Flatten(), nn.Softmax()), (3, 5, 5))  # Softmax() picks dim 1 as torch does


def test_shared_module_is_noted() -> None:
    from torch import nn

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: Any) -> Any:
            return self.conv(self.conv(x))

    spec = cnncalc.from_torch(Twice(), (4, 6, 6))
    assert cnncalc.analyze(spec).totals.params == 2 * 148  # (3·3·4 + 1)·4 = 148, counted at each of 2 calls
    assert "module 'conv' is called 2 times" in spec["notes"]


def excite(y: Any) -> Any:
    """Squeeze-excitation without its FCs: the map times its own channel means (a C×1×1 gate)."""
    return y * y.mean((2, 3), keepdim=True)


def swap_halves(m: Any, y: Any) -> Any:
    """ShuffleNetV2's split, as model code writes it: ``a, b = y.chunk(2, dim=1)``."""
    a, b = y.chunk(2, dim=1)
    return m.torch.cat([b, a], 1)


@pytest.mark.parametrize(
    ("forward", "types"),
    [
        (lambda m, x: m.conv(x) + 1, ["conv2d", "add"]),
        (lambda m, x: 0.5 * m.conv(x), ["conv2d", "mul"]),
        (lambda m, x: m.conv(x).sub_(2.0), ["conv2d", "sub"]),
        # Squeeze-excitation's gate: a C×1×1 mean times the C×H×W map (broadcast).
        (lambda m, x: excite(m.conv(x)), ["conv2d", "global_avgpool", "mul"]),
        # Layer scale: a per-channel parameter used directly (ConvNeXt's self.layer_scale * x).
        (lambda m, x: m.gamma * m.conv(x), ["conv2d", "layer_scale"]),
        (lambda m, x: m.F.layer_norm(m.conv(x).permute(0, 2, 3, 1), (4,), m.w, m.b),
         ["conv2d", "permute", "layernorm"]),
        (lambda m, x: m.F.group_norm(m.conv(x), 2, m.w, m.b), ["conv2d", "groupnorm"]),
        (lambda m, x: m.torch.cat([m.conv(x)], 1), ["conv2d"]),  # DenseNet's one-tensor cat: the identity
        (lambda m, x: m.conv(x)[:, :3], ["conv2d", "split"]),  # a channel slice: piece 0 of 3|1
        (lambda m, x: swap_halves(m, m.conv(x)), ["conv2d", "chunk", "chunk", "chunk", "concat"]),
    ],
    ids=["scalar", "reflected-scalar", "inplace-scalar", "broadcast", "parameter", "layer_norm", "group_norm",
         "cat-one", "channel-slice", "chunk"],
)
def test_arithmetic_and_functions_map_to_layers(forward: Callable[[Any, Any], Any], types: list[str]) -> None:
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.gamma = nn.Parameter(torch.full((4, 1, 1), 1e-6))
            self.w = nn.Parameter(torch.ones(4))
            self.b = nn.Parameter(torch.zeros(4))
            self.torch, self.F = torch, torch.nn.functional

        def forward(self, x: Any) -> Any:
            return forward(self, x)

    net = Net()
    spec = cnncalc.from_torch(net, (3, 8, 8), strict=True)
    assert [layer["type"] for layer in spec["layers"]] == types
    report = cnncalc.analyze(spec)
    with torch.no_grad():
        assert report.output_shape == tuple(forward(net, torch.zeros(2, 3, 8, 8)).shape[1:])
    used = {"parameter": 4, "layer_norm": 8, "group_norm": 8}  # the parameters the forward reads beyond conv's 112
    held = 112 + sum(n for key, n in used.items() if any(t in types for t in
                                                         {"parameter": ["layer_scale"], "layer_norm": ["layernorm"],
                                                          "group_norm": ["groupnorm"]}[key]))
    assert report.totals.params == held


def without_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the recorded forward pass fail, so that the import falls back to forward hooks."""
    from cnncalc.torch import importer

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise cnncalc.CnncalcError("no")

    monkeypatch.setattr(importer, "_eager", fails)


def test_hooks_refuse_a_hidden_residual_addition(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch import nn

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: Any) -> Any:
            if x.sum() >= 0:  # data-dependent: fx cannot trace it
                return x + self.conv(x)  # same shape as a chain would give: the hooks must not hide the addition
            return x

    spec = cnncalc.from_torch(Residual(), (4, 6, 6), strict=True)  # the recorded pass sees the addition
    assert [layer["type"] for layer in spec["layers"]] == ["conv2d", "add"]
    without_recording(monkeypatch)
    with pytest.raises(cnncalc.CnncalcError, match="not a plain chain"):
        cnncalc.from_torch(Residual(), (4, 6, 6))


def test_hooks_read_a_reshape_between_modules_as_flatten(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch import nn

    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(4 * 6 * 6, 3)

        def forward(self, x: Any) -> Any:
            if x.sum() >= 0:
                x = self.conv(x)
            return self.fc(x.flatten(1))

    spec = matches_torch(Branchy(), (3, 8, 8))
    assert [layer["type"] for layer in spec["layers"]] == ["conv2d", "flatten", "linear"]
    assert "recorded from a forward pass" in spec["notes"]
    without_recording(monkeypatch)
    spec = matches_torch(Branchy(), (3, 8, 8))
    assert [layer["type"] for layer in spec["layers"]] == ["conv2d", "flatten", "linear"]
    assert "read as a flatten" in spec["notes"]


def test_cli_import_prints_notes(cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    (tmp_path / "twice.py").write_text(
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(1, 1, 3, padding=1)\n"
        "    def forward(self, x):\n"
        "        return self.conv(self.conv(x))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = cli("import", "twice:Net", "--input", "1x32x32")
    assert result.exit_code == 0, result.output
    assert "warning: module 'conv' is called 2 times" in result.stderr
    assert "{type: conv2d, name: conv, out_channels: 1, kernel_size: 3, padding: 1}" in result.stdout
    sys.modules.pop("twice", None)


def test_cli_import_without_torch(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    result = cli("import", "mymodels:Net", "--input", "3x8x8")
    assert result.exit_code == 2
    assert "pip install 'cnncalc[torch]'" in result.stderr and "Traceback" not in result.stderr


def test_every_import_mapping_reads_its_torch_modules() -> None:
    # The torch side of the registry names torch.nn classes by path (it imports without torch): each path must be a
    # torch module class, and one instance of each must import as the layer class that declares it.
    from torch import nn

    from cnncalc.engine.layers import REGISTRY
    from cnncalc.torch.imports import IMPORTS, module_layer, resolve

    instances = [
        nn.Conv2d(2, 4, 3), nn.ConvTranspose1d(2, 4, 3), nn.MaxPool1d(2), nn.MaxPool2d(2), nn.MaxPool3d(2),
        nn.AvgPool1d(2), nn.AvgPool2d(2), nn.AvgPool3d(2), *(getattr(nn, f"Adaptive{k}Pool{n}d")(1) for k in
                                                              ("Avg", "Max") for n in (1, 2, 3)),
        nn.Linear(3, 4), nn.BatchNorm1d(3), nn.BatchNorm2d(3), nn.BatchNorm3d(3), nn.SyncBatchNorm(3),
        nn.LocalResponseNorm(2), nn.ReLU(), nn.ReLU6(), nn.Sigmoid(), nn.Tanh(), nn.SiLU(), nn.SELU(), nn.Hardswish(),
        nn.Hardsigmoid(), nn.LeakyReLU(), nn.ELU(), nn.GELU(), nn.PReLU(), nn.Softmax(1), nn.LogSoftmax(1),
        nn.Softmax2d(), nn.Flatten(), nn.Dropout(), nn.AlphaDropout(), nn.Identity(), nn.ZeroPad2d(1),
        nn.ReflectionPad1d(1), nn.ReplicationPad2d(1), nn.CircularPad2d(1), nn.ChannelShuffle(2),
        nn.Upsample(scale_factor=2), nn.UpsamplingBilinear2d(scale_factor=2), nn.MaxUnpool2d(2), nn.PixelShuffle(2),
        nn.PixelUnshuffle(2), nn.LPPool1d(2, 2), nn.LPPool2d(2, 2), nn.LPPool3d(2, 2), nn.LayerNorm(3),
        nn.GroupNorm(1, 3), nn.InstanceNorm1d(3), nn.InstanceNorm2d(3), nn.InstanceNorm3d(3), nn.Mish(),
        nn.MultiheadAttention(4, 2, batch_first=True),
    ]
    declared = {resolve(nn, path): (cls, path) for cls, imp in IMPORTS.items() for path in imp.modules}
    assert all(isinstance(c, type) and issubclass(c, nn.Module) for c in declared), declared
    hit: set[str] = set()
    for m in instances:
        cls, path = next(declared[c] for c in type(m).__mro__ if c in declared)  # the most specific, as imported
        entry = module_layer(m, nn, None, None)
        assert entry is not None and REGISTRY[entry["type"]] is cls, (m, entry)
        cls.model_validate({**entry, **dict.fromkeys(cls.links, "node")})  # links are wired by the walk
        hit.add(path)
    assert hit == {path for _, path in declared.values()}  # every declared path has an instance above
