"""``cnncalc compare``: networks side by side, and the layer-by-layer diff of two variants (issue #13)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from cnncalc.engine.compare import compare, depth, diff, final_rf, summarize
from cnncalc.engine.graph import analyze
from cnncalc.engine.memory import analyze_memory
from cnncalc.engine.report import Report

CLI = Callable[..., Result]


@pytest.mark.parametrize(
    ("model", "layers"),
    [
        ("vgg16", 16),  # Simonyan & Zisserman 2015, Table 1: configuration D has 16 weight layers
        ("vgg19", 19),  # ibid., configuration E
        ("alexnet", 8),  # Krizhevsky et al. 2012, §3.5: "eight learned layers — five convolutional and three FC"
        ("resnet50", 50),  # He et al. 2016, Table 1 (projection shortcuts sit on a shorter path)
        ("resnet152", 152),  # ibid.
        ("googlenet", 22),  # Szegedy et al. 2015, §5: "22 layers deep when counting only layers with parameters"
        ("densenet121", 121),  # Huang et al. 2017, Table 1: DenseNet-121
    ],
)
def test_depth_counts_weight_layers_on_the_longest_path_as_the_papers_do(model: str, layers: int) -> None:
    assert depth(analyze(model)) == layers


def test_final_receptive_field_is_the_last_one_before_the_classifier() -> None:
    # VGG-16's pool5 sees 212x212 input pixels (Araujo, Norris & Sim, Distill 2019, Table 1: vgg_16 r = 212).
    assert final_rf(analyze("vgg16")) == (212, 212)
    # A network without spatial dims has no field at all.
    assert final_rf(analyze({"name": "mlp", "input": [10], "layers": [{"type": "linear", "out_features": 2}]})) is None


def test_ratios_are_to_the_first_network() -> None:
    # torchvision's model docs: VGG16 138,357,544 params, ResNet-50 25,557,032.
    result = compare([analyze("vgg16"), analyze("resnet50")])
    first, second = (result.ratios(s) for s in result.summaries)
    assert first["params"] == 1.0
    assert second["params"] == pytest.approx(25_557_032 / 138_357_544)
    peaks = [s.peak_bytes for s in result.summaries]  # the inference peaks by liveness (tests/test_memory*.py)
    assert second["peak_bytes"] == pytest.approx(peaks[1] / peaks[0])


def test_an_unknown_peak_has_no_ratio() -> None:
    # A bare Report (no analysed network) has no peak: its ratio is None, never 0 or inf.
    full = analyze("resnet50")
    bare = Report(**{f.name: getattr(full, f.name) for f in dataclasses.fields(Report)})
    result = compare([analyze("vgg16"), bare])
    assert result.summaries[1].peak_bytes is None
    assert result.ratios(result.summaries[1])["peak_bytes"] is None


def test_compare_table_lists_every_network_with_ratios(cli: CLI) -> None:
    result = cli("compare", "vgg16", "resnet50", "1x32x32: conv5-6 maxpool2 conv5-16 maxpool2 fc-120 fc-84 fc-10")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["Network", "Input", "Params", "×"]
    assert lines[2].split()[:4] == ["vgg16", "3x224x224", "138.4M", "1.00×"]
    assert lines[3].split()[:4] == ["resnet50", "3x224x224", "25.56M", "0.18×"]
    # The notation network is LeNet-5 as in the PyTorch tutorial: 61,706 parameters, 4.5e-4 of VGG16's.
    assert lines[4].split()[:4] == ["expression", "1x32x32", "61.71K", "0.00045×"]


def test_compare_json_and_csv_hold_exact_figures(cli: CLI) -> None:
    data = json.loads(cli("compare", "vgg16", "resnet50", "--format", "json").stdout)
    assert data["reference"] == "vgg16"
    vgg, resnet = data["networks"]
    assert (vgg["params"], vgg["depth"], vgg["final_rf"]) == (138_357_544, 16, [212, 212])
    assert resnet["ratios"]["params"] == pytest.approx(25_557_032 / 138_357_544)
    rows = list(csv.DictReader(io.StringIO(cli("compare", "vgg16", "resnet50", "--format", "csv").stdout)))
    assert [r["model"] for r in rows] == ["vgg16", "resnet50"]
    peak = analyze_memory(analyze("resnet50")).inference.peak_bytes
    assert rows[1]["params"] == "25557032" and rows[1]["peak_bytes"] == str(peak)
    markdown = cli("compare", "vgg16", "resnet50", "--format", "markdown").stdout
    assert "| resnet50 | 3x224x224 | 25.56M (0.18×) |" in markdown


def test_compare_applies_input_batch_and_dtype_to_every_network(cli: CLI) -> None:
    data = json.loads(cli("compare", "alexnet", "vgg11", "--input", "3x256x256", "--batch", "2", "--dtype",
                          "float16", "--format", "json").stdout)
    for net in data["networks"]:
        assert (net["input"], net["batch"], net["dtype"]) == ([3, 256, 256], 2, "float16")
        assert net["activation_bytes"] == 2 * net["activations"]


def test_compare_bad_input_is_exit_2(cli: CLI) -> None:
    result = cli("compare", "vgg16", "no_such_net")
    assert result.exit_code == 2 and "no_such_net" in result.stderr
    result = cli("compare", "vgg16", "vgg19", "alexnet", "--layers")
    assert result.exit_code == 2 and "exactly two" in result.stderr


# --- layer diff -------------------------------------------------------------------------------------------------

LENET = {
    "name": "lenet",
    "input": [1, 32, 32],
    "layers": [
        {"type": "conv2d", "name": "conv1", "out_channels": 6, "kernel_size": 5, "activation": "relu"},
        {"type": "maxpool2d", "name": "pool1", "kernel_size": 2},
        {"type": "conv2d", "name": "conv2", "out_channels": 16, "kernel_size": 5, "activation": "relu"},
        {"type": "maxpool2d", "name": "pool2", "kernel_size": 2},
        "flatten",
        {"type": "linear", "name": "fc1", "out_features": 120, "activation": "relu"},
        {"type": "dropout", "name": "drop"},
        {"type": "linear", "name": "fc2", "out_features": 10},
    ],
}


def _variant() -> dict[str, object]:
    layers = list(LENET["layers"])  # type: ignore[call-overload]
    layers[2] = {**layers[2], "out_channels": 32}  # wider conv2
    layers.insert(3, {"type": "batchnorm2d", "name": "bn2"})  # one layer added
    layers = [layer for layer in layers if not (isinstance(layer, dict) and layer.get("name") == "drop")]
    return {**LENET, "name": "lenet_wide", "layers": layers}


def test_diff_says_what_was_added_removed_and_changed() -> None:
    d = diff(analyze(LENET), analyze(_variant()))
    status = {c.name: c.status for c in d.changes}
    assert status["bn2"] == "added" and status["drop"] == "removed"
    assert status["conv1"] == "same" and status["pool1"] == "same"
    assert status["conv2"] == status["pool2"] == status["flatten_1"] == status["fc1"] == "changed"
    assert status["fc2"] == "same"
    conv2 = next(c for c in d.changes if c.name == "conv2")
    # conv2 5x5 over 6 channels: (6·25 + 1) per filter, 16 → 32 filters adds 16·151 = 2,416 parameters.
    assert conv2.delta("params") == 16 * 151
    assert "output_shape" in conv2.changed and "summary" not in conv2.changed
    fc1 = next(c for c in d.changes if c.name == "fc1")
    # fc1 reads 16·5·5 = 400 then 32·5·5 = 800 inputs: 400 more weights for each of its 120 outputs.
    assert fc1.delta("params") == 400 * 120
    # Removed rows stay where they stood, in execution order.
    assert [c.name for c in d.changes].index("drop") == [c.name for c in d.changes].index("fc2") - 1


def test_diff_of_identical_networks_is_empty_and_exits_0(cli: CLI) -> None:
    result = cli("compare", "lenet5", "lenet5", "--layers")
    assert result.exit_code == 0, result.output
    assert "0 added, 0 removed, 0 changed" in result.stdout
    assert not diff(analyze("lenet5"), analyze("lenet5")).differs


def test_diff_cli_exits_1_and_renders_every_format(cli: CLI, tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump(LENET), encoding="utf-8")
    b.write_text(yaml.safe_dump(_variant()), encoding="utf-8")
    result = cli("compare", str(a), str(b), "--layers")
    assert result.exit_code == 1  # like diff(1): the variants differ
    lines = result.stdout.splitlines()
    assert lines[0] == "lenet → lenet_wide: 1 added, 1 removed, 4 changed, 3 unchanged"
    conv2 = next(line for line in lines if " conv2 " in line)
    assert conv2.split()[:2] == ["~", "conv2"] and "16x10x10 → 32x10x10" in conv2 and "+2,416" in conv2
    assert any(line.split()[:2] == ["+", "bn2"] for line in lines)
    assert any(line.split()[:2] == ["-", "drop"] for line in lines)
    assert not any(" conv1 " in line for line in lines)  # unchanged rows only with --all
    assert any(" conv1 " in line for line in cli("compare", str(a), str(b), "--layers", "--all").stdout.splitlines())
    data = json.loads(cli("compare", str(a), str(b), "--layers", "--format", "json").stdout)
    assert data["counts"] == {"added": 1, "removed": 1, "changed": 4, "same": 3}
    assert data["delta"]["params"] == summarize(analyze(_variant())).params - summarize(analyze(LENET)).params
    rows = list(csv.DictReader(io.StringIO(cli("compare", str(a), str(b), "--layers", "--format", "csv").stdout)))
    assert {r["name"]: r["status"] for r in rows} == {"conv2": "changed", "bn2": "added", "pool2": "changed",
                                                      "flatten_1": "changed", "fc1": "changed", "drop": "removed"}
    assert "| ~ | conv2 |" in cli("compare", str(a), str(b), "--layers", "--format", "markdown").stdout


def test_a_renamed_layer_reads_as_removed_and_added() -> None:
    renamed = {**LENET, "layers": [{**LENET["layers"][0], "name": "stem"}, *LENET["layers"][1:]]}  # type: ignore[index, misc, dict-item]
    d = diff(analyze(LENET), analyze(renamed))
    assert [(c.status, c.name) for c in d.changes[:2]] == [("removed", "conv1"), ("added", "stem")]
