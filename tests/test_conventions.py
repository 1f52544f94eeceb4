"""Counting conventions (#13): each tool's total, reproduced from the spec, held to the tools' own output.

The figures are measurements, not ours: fvcore 0.1.5.post20221221, ptflops 0.7.5, thop 0.1.1-2209072238 and
torchinfo 1.8.0 run on torch 2.14.1 / torchvision 0.29.1 (weights=None, eval, float32, batch 1), outside CI.
The zoo's live in the specs' ``expect:`` entries (``convention:``, ``tool:``); the toy modules' below, also as
``expect:`` data, each isolating one rule (measured by toys.py on the same versions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from click.testing import Result

from cnncalc.cli.conventions import functional_names
from cnncalc.engine.conventions import CONVENTIONS, apply, compare
from cnncalc.engine.graph import analyze
from cnncalc.proof.expect import verify
from cnncalc.spec.zoo import path as zoo_path

TOOLS = ("fvcore", "ptflops", "ptflops-aten", "thop", "torchinfo")
VERSIONS = {
    "fvcore": "fvcore 0.1.5.post20221221", "ptflops": "ptflops 0.7.5", "ptflops-aten": "ptflops 0.7.5",
    "thop": "thop 0.1.1-2209072238", "torchinfo": "torchinfo 1.8.0", "keras": "keras 3.15.1",
}
#: The zoo networks torchvision builds (parameters equal torchvision's; inception_v3 with aux=false).
ZOO = ("vgg11", "vgg13", "vgg16", "vgg19", "alexnet_torchvision", "resnet18", "resnet34", "resnet50", "resnet101",
       "resnet152", "resnext50_32x4d", "densenet121", "mobilenet_v2", "googlenet_torchvision", "inception_v3",
       "convnext_tiny")  # LayerNorm (module, and LayerNorm2d's F.layer_norm) and layer scale under each tool
#: Tool × network pairs the spec cannot reproduce, each explained by an erratum in the spec.
ERRATA = {
    *{(vgg, tool) for vgg in ("vgg11", "vgg13", "vgg16", "vgg19") for tool in ("fvcore", "ptflops", "thop")},
    ("densenet121", "ptflops"), ("densenet121", "thop"), ("mobilenet_v2", "ptflops"), ("mobilenet_v2", "thop"),
    ("googlenet_torchvision", "ptflops"), ("inception_v3", "ptflops"), ("inception_v3", "thop"),
}


def _entries(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load(zoo_path(name).read_text(encoding="utf-8"))
    return [e for e in data["expect"] if e.get("convention")]


# --- the zoo, against the tools' measured totals -----------------------------------------------------------------

@pytest.mark.parametrize("name", ZOO)
def test_zoo_totals_reproduce_every_tool(name: str) -> None:
    """Every measured tool total holds exactly, except the pairs an erratum explains (and no other)."""
    entries = _entries(name)
    assert set(TOOLS) <= {e["convention"] for e in entries} <= {*TOOLS, "keras"}
    _, results = verify(name)
    by_source = {r.source: r for r in results}
    for entry in entries:
        assert VERSIONS[entry["convention"]] in entry["tool"]
        checks = by_source[entry["source"].strip()].checks
        statuses = {c.what: c.status for c in checks}
        assert "fail" not in statuses.values(), (entry["convention"], statuses)
        if entry["convention"] == "keras":  # Keras' model.summary() parameters (TensorFlow was not at hand)
            assert statuses == {"params": "pass"}
            continue
        macs = statuses["macs"]
        assert macs == ("erratum" if (name, entry["convention"]) in ERRATA else "pass"), entry["convention"]
        assert statuses.get("params", "pass") == "pass"


@pytest.mark.parametrize(("name", "tool"), sorted(p for p in ERRATA if not p[0].startswith("vgg")))
def test_functional_calls_explain_the_errata(name: str, tool: str) -> None:
    """The erratum's reason is checked: naming the layers torchvision calls as F.* reproduces the tool exactly."""
    entry = next(e for e in _entries(name) if e["convention"] == tool)
    globs = re.search(r"--functional '([^']+)'", entry["erratum"])
    assert globs is not None
    analysis = analyze(name, args=entry.get("args"))
    functional = functional_names(analysis, (globs.group(1),))
    assert functional
    assert apply(analysis, tool, functional).totals.macs == entry["macs"]
    assert apply(analysis, tool).totals.macs != entry["macs"]


@pytest.mark.parametrize("name", ["vgg11", "vgg13", "vgg16", "vgg19"])
def test_vgg_errata_are_torchvisions_extra_pool(name: str) -> None:
    """With torchvision's AdaptiveAvgPool2d((7, 7)) added, the paper's VGG gives fvcore's, ptflops', thop's totals."""
    data = yaml.safe_load(zoo_path(name).read_text(encoding="utf-8"))
    at = next(i for i, layer in enumerate(data["layers"]) if layer.get("type") == "flatten")
    data["layers"].insert(at, {"type": "adaptive_avgpool2d", "name": "avgpool", "output_size": 7})
    analysis = analyze({k: v for k, v in data.items() if k != "expect"})
    for entry in _entries(name):
        if "macs" in entry:
            assert apply(analysis, entry["convention"]).totals.macs == entry["macs"], entry["convention"]


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "mobilenet_v2", "inception_v3", "lenet5_1998", "unet"])
def test_terms_add_up(name: str) -> None:
    """Per tool, the terms sum to its total, and their differences from cnncalc's to the difference."""
    analysis = analyze(name)
    for c in compare(analysis):
        assert sum(c.terms.values()) == c.total
        assert sum(c.deltas().values()) == c.difference
        counted = apply(analysis, c.name)
        unit = counted.totals.macs if c.unit == "macs" else counted.totals.flops
        assert sum(row.macs if c.unit == "macs" else row.flops for row in counted.layers) == unit


def test_cnncalc_convention_changes_nothing() -> None:
    analysis = analyze("resnet50")
    counted = apply(analysis, "cnncalc")
    assert counted.totals == analysis.totals
    assert counted.layers == analysis.layers


@pytest.mark.parametrize("tool", ["fvcore", "ptflops-aten", "thop", "torchinfo", "keras"])
def test_batch_scales_every_term(tool: str) -> None:
    """Every rule is per element (or per sample for torchinfo): batch 3 counts three times batch 1."""
    one = apply(analyze("resnet18"), tool)
    three = apply(analyze("resnet18", batch=3), tool)
    assert three.terms == {k: 3 * v for k, v in one.terms.items()}


def test_keras_params_measured_where_keras_builds_the_same_network() -> None:
    """keras.applications' VGG16/19, DenseNet121 and MobileNetV2 are torchvision's networks; their summaries hold."""
    measured = {name for name in ZOO for e in _entries(name) if e["convention"] == "keras"}
    assert measured == {"vgg16", "vgg19", "densenet121", "mobilenet_v2"}


def test_keras_params_count_batchnorm_moving_statistics() -> None:
    """Keras' BatchNormalization holds moving mean and variance as weights (2·C non-trainable params each)."""
    analysis = analyze("resnet50")
    channels = sum(row.output_shape[0] for row in analysis.layers if row.type == "batchnorm2d")
    assert apply(analysis, "keras").totals.params == analysis.totals.params + 2 * channels
    # TensorFlow's profiler: Conv2D 2·o·kh·kw·C_in, MatMul 2·k·o, BiasAdd o; BN and ReLU have no statistics.
    vgg = analyze("vgg16")
    biases = sum(row.activations for row in vgg.layers if row.biases)  # one BiasAdd per output element
    pools = sum(4 * row.activations for row in vgg.layers if row.type == "maxpool2d")
    assert apply(vgg, "keras").totals.flops == 2 * vgg.totals.macs + biases + pools


# --- toy modules: one rule each, as the tools printed them ---------------------------------------------------------

def _toy(name: str, shape: list[int], layers: list[dict[str, Any]], measured: dict[str, int]) -> dict[str, Any]:
    return {
        "name": name, "input": shape, "layers": layers,
        "expect": [{"source": f"toys.py {name}, measured", "convention": tool, "macs": macs,
                    "tool": f"{VERSIONS[tool]}, torch 2.14.1"} for tool, macs in measured.items()],
    }


def _row(*macs: int) -> dict[str, int]:
    return dict(zip(TOOLS, macs, strict=True))


CONV = {"type": "conv2d", "name": "conv", "out_channels": 8, "kernel_size": 3, "padding": 1}
TOYS = [
    _toy("a_conv_relu_maxpool_modules", [3, 16, 16], [CONV, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2}],
         _row(55296, 65536, 57344, 55296, 57344)),
    _toy("c_conv_bn_relu6", [3, 16, 16], [{**CONV, "bias": False}, {"type": "batchnorm2d"}, {"type": "relu6"}],
         _row(59392, 61440, 55296, 63488, 55312)),
    _toy("d_residual_plus", [8, 8, 8], [{**CONV, "bias": False}, {"type": "add", "inputs": ["conv", "input"]}],
         _row(36864, 36864, 36864, 36864, 36864)),
    _toy("f_linear_10_5_bias", [10], [{"type": "linear", "out_features": 5}], _row(50, 55, 55, 50, 55)),
    _toy("f_linear_10_5_bias_3d", [4, 10], [{"type": "linear", "out_features": 5}], _row(200, 220, 220, 200, 55)),
    _toy("g_avgpool2d_k2_8x7x7", [8, 7, 7], [{"type": "avgpool2d", "kernel_size": 2}], _row(0, 784, 0, 72, 0)),
    _toy("g_adaptiveavgpool_1x1_8x7x7", [8, 7, 7], [{"type": "adaptive_avgpool2d", "output_size": 1}],
         _row(392, 784, 0, 400, 0)),
    _toy("g_adaptiveavgpool_3x3_8x7x7", [8, 7, 7], [{"type": "adaptive_avgpool2d", "output_size": 3}],
         _row(392, 784, 0, 464, 0)),
    _toy("g_maxpool2d_k2_8x7x7", [8, 7, 7], [{"type": "maxpool2d", "kernel_size": 2}], _row(0, 784, 0, 0, 0)),
    _toy("g_adaptivemaxpool_1x1_8x7x7", [8, 7, 7], [{"type": "adaptive_maxpool2d", "output_size": 1}],
         _row(0, 784, 0, 0, 0)),
    *[_toy(f"h_{act}", [8, 16, 16], [{"type": act}], _row(0, pt, 0, 0, 0)) for act, pt in [
        ("relu", 4096), ("relu6", 2048), ("silu", 2048), ("hardswish", 0), ("gelu", 4096), ("sigmoid", 0),
        ("leaky_relu", 2048), ("elu", 4096)]],
    _toy("k_conv_depthwise_bias", [8, 8, 8], [{**CONV, "groups": 8}], _row(4608, 5120, 5120, 4608, 5120)),
    _toy("k_conv_stride2", [3, 16, 16], [{**CONV, "out_channels": 4, "stride": 2}], _row(6912, 7168, 7168, 6912, 7168)),
    # thop and torchinfo count a transposed conv's weights at every *output* position: 4x the true 2,048
    _toy("k_convtranspose_k2s2", [8, 4, 4], [{"type": "conv_transpose2d", "out_channels": 4, "kernel_size": 2,
                                              "stride": 2}], _row(2048, 2304, 2304, 8192, 8448)),
    _toy("z_dropout", [10], [{"type": "dropout"}], _row(0, 0, 0, 0, 0)),
    _toy("n_batchnorm2d_affine", [8, 4, 4], [{"type": "batchnorm2d"}], _row(256, 256, 0, 512, 16)),
    _toy("n_batchnorm2d_noaffine", [8, 4, 4], [{"type": "batchnorm2d", "affine": False}], _row(128, 128, 0, 256, 0)),
    _toy("u_upsample_nearest_x2", [8, 4, 4], [{"type": "upsample", "scale_factor": 2}], _row(512, 1024, 0, 512, 0)),
    _toy("u_upsample_bilinear_x2", [8, 4, 4],
         [{"type": "upsample", "scale_factor": 2, "mode": "bilinear", "align_corners": False}],
         _row(2048, 1024, 0, 5632, 0)),
]


@pytest.mark.parametrize("spec", TOYS, ids=[t["name"] for t in TOYS])
def test_toy_rules(spec: dict[str, Any]) -> None:
    _, results = verify(spec)
    bad = [(r.source, c.what, c.expected, c.actual) for r in results for c in r.checks if c.status != "pass"]
    assert not bad


def test_functional_calls_count_once_in_ptflops() -> None:
    """toys.py b (F.relu, F.max_pool2d in forward) measured 61,440 in ptflops; d with torch.add 37,376."""
    a = analyze(TOYS[0])
    calls = functional_names(a, ("relu*,maxpool*",))
    assert apply(a, "ptflops", calls).totals.macs == 61440
    assert apply(a, "thop", calls).totals.macs == 55296
    d = analyze(TOYS[2])
    assert apply(d, "ptflops", functional_names(d, ("add*",))).totals.macs == 37376


def test_every_convention_says_what_it_counts() -> None:
    for conv in CONVENTIONS.values():
        assert conv.counts and conv.assumes and conv.tool and conv.__module__.startswith("cnncalc.engine.conventions")
        assert (conv.__doc__ or "").strip()


# --- the command line -------------------------------------------------------------------------------------------

def test_show_convention_json(cli: Callable[..., Result]) -> None:
    fvcore = next(e for e in _entries("resnet50") if e["convention"] == "fvcore")
    out = json.loads(cli("resnet50", "--convention", "fvcore", "--format", "json").stdout)
    assert out["totals"]["macs"] == fvcore["macs"]
    assert sum(row["macs"] for row in out["layers"]) == fvcore["macs"]
    assert out["convention"]["name"] == "fvcore"
    assert out["convention"]["terms"]["batchnorm"] == out["totals"]["macs"] - analyze("resnet50").totals.macs - \
        out["convention"]["terms"]["pooling"]


def test_show_convention_table_names_the_tool(cli: Callable[..., Result]) -> None:
    result = cli("resnet18", "--convention", "torchinfo", "--width", "120")
    assert result.exit_code == 0
    assert "MACs as torchinfo 1.8.0 counts them: 1,814,083,944" in result.output
    assert "Estimated Total Size (MB) 87.11" in result.output


def test_conventions_table(cli: Callable[..., Result]) -> None:
    result = cli("resnet50", "--conventions")
    assert result.exit_code == 0
    for name in CONVENTIONS:
        assert f"\n{name} " in result.output
    assert "double counts +10,511,872" in result.output  # ptflops: nn.ReLU and nn.MaxPool2d counted twice
    assert result.output == cli("conventions", "resnet50").output


def test_conventions_json_and_functional(cli: Callable[..., Result]) -> None:
    entry = next(e for e in _entries("densenet121") if e["convention"] == "ptflops")
    out = json.loads(cli("conventions", "densenet121", "--functional", "relu,avgpool", "--format", "json").stdout)
    by_name = {c["name"]: c for c in out["conventions"]}
    assert by_name["ptflops"]["total"] == entry["macs"]
    assert sum(by_name["thop"]["differences"].values()) == by_name["thop"]["difference"]


def test_bad_convention_is_a_usage_error(cli: Callable[..., Result]) -> None:
    result = cli("resnet18", "--convention", "flopco")
    assert result.exit_code == 2
    assert "unknown convention 'flopco'" in result.output
    assert cli("resnet18", "--convention", "thop", "--conventions").exit_code == 2
    assert cli("resnet18", "--convention", "thop", "--explain").exit_code == 2


def test_layers_no_tool_can_see_keep_cnncalcs_count() -> None:
    """LeNet-5 (1998)'s trainable subsampling, sparse C3 and RBF output have no torch module: counted as cnncalc
    does, and said so."""
    analysis = analyze("lenet5_1998")
    counted = apply(analysis, "fvcore")
    kept = {w.split(":")[0] for w in counted.warnings if "is no torch module" in w}
    assert {row.type for row in analysis.layers if row.name in kept} == {"subsample", "rbf", "conv2d"}
    assert counted.terms["other"] == sum(row.macs for row in analysis.layers if row.name in kept)


# --- a torch module at hand: its fx graph says how each layer is called -------------------------------------------

def _toy_modules() -> dict[str, Any]:
    """toys.py's modules (torch 2.14.1 measurements above and in test_functional_calls_count_once_in_ptflops)."""
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812

    class Modules(nn.Module):  # toys.py a
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.relu, self.pool = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)

        def forward(self, x: Any) -> Any:
            return self.pool(self.relu(self.conv(x)))

    class Functional(Modules):  # toys.py b
        def forward(self, x: Any) -> Any:
            return F.max_pool2d(F.relu(self.conv(x)), 2)

    class TorchRelu(Modules):  # torch.relu is not patched (toys.py h_torch_relu: ptflops 0)
        def forward(self, x: Any) -> Any:
            return self.pool(torch.relu(self.conv(x)))

    class Residual(nn.Module):  # toys.py d
        def __init__(self, how: str) -> None:
            super().__init__()
            self.conv, self.how = nn.Conv2d(8, 8, 3, padding=1, bias=False), how

        def forward(self, x: Any) -> Any:
            return self.conv(x) + x if self.how == "plus" else torch.add(self.conv(x), x)

    return {"a": Modules(), "b": Functional(), "torch_relu": TorchRelu(), "plus": Residual("plus"),
            "torch_add": Residual("torch_add")}


@pytest.mark.torch
def test_traced_calls_reproduce_ptflops_and_thop() -> None:
    from cnncalc.torch.conventions import from_module

    toys = _toy_modules()
    expected = {t["name"]: {e["convention"]: e["macs"] for e in t["expect"]} for t in TOYS}
    a, calls = from_module(toys["a"], (3, 16, 16))
    assert not calls
    assert {tool: apply(a, tool, calls).totals.macs for tool in TOOLS} == expected["a_conv_relu_maxpool_modules"]
    b, calls = from_module(toys["b"], (3, 16, 16))
    assert set(calls.values()) == {"function"}
    assert apply(b, "ptflops", calls).totals.macs == 61440  # toys.py b, measured
    assert apply(b, "thop", calls).totals.macs == 55296
    r, calls = from_module(toys["torch_relu"], (3, 16, 16))
    assert set(calls.values()) == {"operator"}
    assert apply(r, "ptflops", calls).totals.macs == 65536 - 2 * 2048  # the relu's n, twice, is gone
    plus, calls = from_module(toys["plus"], (8, 8, 8))
    assert set(calls.values()) == {"operator"}
    assert apply(plus, "ptflops", calls).totals.macs == expected["d_residual_plus"]["ptflops"]
    added, calls = from_module(toys["torch_add"], (8, 8, 8))
    assert set(calls.values()) == {"function"}
    assert apply(added, "ptflops", calls).totals.macs == 37376  # toys.py d_residual_torch_add, measured


@pytest.mark.torch
def test_conventions_command_on_a_torch_factory(cli: Callable[..., Result], tmp_path: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "toynet.py").write_text(
        "import torch.nn.functional as F\nfrom torch import nn\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n\n"
        "    def forward(self, x):\n        return F.max_pool2d(F.relu(self.conv(x)), 2)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = cli("conventions", "toynet:Net", "--input", "3x16x16", "--format", "json")
    assert result.exit_code == 0, result.output
    totals = {c["name"]: c["total"] for c in json.loads(result.stdout)["conventions"]}
    assert totals["ptflops"] == 61440  # toys.py b, measured
    assert cli("conventions", "toynet:Net").exit_code == 2  # no --input


@pytest.mark.parametrize(
    ("macs", "line"),
    [
        # VGG16 at 224x224: torchinfo 1.8.0 measured 15,483,821,032 mult-adds (specs/vgg16.yaml's expect:) and
        # printed "Total mult-adds (G): 15.48".
        (15_483_821_032, ("G", "15.48")),
        # torchinfo 1.8.0 model_statistics.py to_readable/format_output_num: M below 10^9, a whole number as an
        # integer, T from 10^12 with a thousands separator.
        (857_406, ("M", "0.86")),
        (2 * 10**9, ("G", "2")),
        (1_234_560 * 10**9, ("T", "1,234.56")),
    ],
)
def test_torchinfo_mult_adds_line(macs: int, line: tuple[str, str]) -> None:
    from cnncalc.engine.conventions.torchinfo import printed_mult_adds

    assert printed_mult_adds(macs) == line


def test_torchinfo_total_of_vgg16_is_checked_as_torchinfo_prints_it(tmp_path: Any) -> None:
    """A torchinfo summary's last lines against the vgg16 spec: 15.48 (G) is right, 15.47 (cnncalc's MACs) is not."""
    from cnncalc.proof.homework import check

    report = analyze(yaml.safe_load(zoo_path("vgg16").read_text()))
    for printed, ok in (("15.48", True), ("15.47", False)):
        table = tmp_path / "vgg16.txt"
        table.write_text("Layer (type:depth-idx)      Output Shape      Param #\n"
                         "├─Linear: 2-7               [1, 1000]         4,097,000\n"
                         f"Total params: 138,357,544\nTotal mult-adds (G): {printed}\n")
        marks = {c.column: c.ok for c in check(report, table).cells if c.layer == "total"}
        assert marks == {"Param #": True, "Total mult-adds (G)": ok}
