"""The CLI through click's runner: exit codes 0/2, stdout vs stderr, every format, the default command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cnncalc.cli import main

Cli = Callable[..., Result]


def test_vgg16_table_shows_the_exact_total(cli: Cli) -> None:
    # 138,357,544: torchvision vgg16 num_params; Simonyan & Zisserman Table 2 "138M".
    result = cli("vgg16")
    assert result.exit_code == 0
    assert "138,357,544" in result.stdout
    assert "conv5_3" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when not a TTY


def test_show_is_the_default_command(cli: Cli) -> None:
    assert cli("vgg16", "--format", "json").stdout == cli("show", "vgg16", "--format", "json").stdout


def test_json_contract(cli: Cli) -> None:
    data = json.loads(cli("vgg16", "--format", "json").stdout)
    assert list(data) == ["model", "input", "batch", "dtype", "layers", "totals", "blocks"]
    assert list(data["totals"]) == [
        "params", "trainable_params", "buffers", "macs", "flops", "activations", "activation_bytes", "param_bytes",
        "connections",
    ]
    first = data["layers"][0]
    for key in ("name", "type", "output_shape", "params", "buffers", "macs", "flops", "activations",
                "receptive_field", "jump"):
        assert key in first
    assert data["totals"]["params"] == 138_357_544  # torchvision vgg16 num_params
    assert data["layers"][0]["output_shape"] == [64, 224, 224]  # cs231n walk-through CONV3-64: 224x224x64


def test_batch_and_dtype_scale_memory(cli: Cli) -> None:
    one = json.loads(cli("vgg16", "--format", "json").stdout)["totals"]
    many = json.loads(cli("vgg16", "--format", "json", "--batch", "8", "--dtype", "float16").stdout)["totals"]
    assert many["params"] == one["params"]
    assert many["macs"] == 8 * one["macs"]
    assert many["activations"] == 8 * one["activations"]
    assert many["activation_bytes"] == 8 * one["activations"] * 2
    assert many["param_bytes"] == one["param_bytes"] // 2


def test_input_override_and_hwc_layout(cli: Cli) -> None:
    # AlexNet-style conv1 on the cs231n 227x227x3 input: (227 − 11)/4 + 1 = 55.
    args = ("layer", "conv2d", "--out-channels", "96", "--kernel-size", "11", "--stride", "4")
    chw = cli(*args, "--input", "3x227x227", "--format", "csv")
    hwc = cli(*args, "--input", "227x227x3", "--layout", "hwc", "--format", "csv")
    assert chw.exit_code == hwc.exit_code == 0
    assert ",96x55x55," in chw.stdout
    assert ",55x55x96," in hwc.stdout


def test_layer_calculator_numbers(cli: Cli) -> None:
    # cs231n notes: conv1 of AlexNet has 11·11·3·96 = 34,848 weights + 96 biases = 34,944 parameters.
    result = cli("layer", "conv2d", "--input", "3x227x227", "--out-channels", "96", "--kernel-size", "11",
                 "--stride", "4", "--format", "json")
    row = json.loads(result.stdout)["layers"][0]
    assert row["params"] == 34_944
    assert row["macs"] == 105_415_200  # 55·55·96 · 11·11·3
    assert row["output_shape"] == [96, 55, 55]


def test_layer_without_input_lists_fields(cli: Cli) -> None:
    result = cli("layer", "conv2d")  # README: "with TYPE and no options, lists its fields" (not an error)
    assert result.exit_code == 0
    assert "--out-channels" in result.stdout and "--kernel-size" in result.stdout


def test_layer_with_options_but_no_input_is_a_usage_error(cli: Cli) -> None:
    result = cli("layer", "conv2d", "--out-channels", "8")
    assert result.exit_code == 2
    assert "give --input SHAPE" in result.stderr and "--kernel-size (required)" in result.stderr


def test_layer_lists_types(cli: Cli) -> None:
    result = cli("layer")
    assert result.exit_code == 0
    assert "conv2d" in result.stdout and "maxpool" in result.stdout


def test_layer_unknown_type(cli: Cli) -> None:
    result = cli("layer", "convv2d", "--input", "3x8x8")
    assert result.exit_code == 2
    assert "did you mean 'conv2d'" in result.stderr
    assert "Traceback" not in result.stderr


def test_layer_bad_field(cli: Cli) -> None:
    result = cli("layer", "conv2d", "--input", "3x8x8", "--out-channels", "4", "--kernal-size", "3")
    assert result.exit_code == 2
    assert "kernel_size" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_every_format_renders(cli: Cli, fmt: str) -> None:
    result = cli("vgg16", "--format", fmt)
    assert result.exit_code == 0
    assert result.stdout.strip()


def test_list_shows_the_zoo(cli: Cli) -> None:
    result = cli("list", "--format", "json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["vgg16"]["params"] == 138_357_544  # torchvision vgg16 num_params


def test_schema_is_json_schema(cli: Cli) -> None:
    schema = json.loads(cli("schema").stdout)
    assert schema["type"] == "object"
    assert {"input", "layers"} <= set(schema["required"])
    assert "Conv" in schema["$defs"]
    assert "repeat" in schema["$defs"]["Conv"]["properties"]


def test_missing_model_is_a_usage_error(cli: Cli) -> None:
    result = cli("show")
    assert result.exit_code == 2


def test_unknown_zoo_name_suggests(cli: Cli) -> None:
    result = cli("vgg16x")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "did you mean 'vgg16'" in result.stderr


def test_strict_turns_a_misfit_stride_into_an_error(cli: Cli, tmp_path: Path) -> None:
    # cs231n notes: a 3x3 filter with stride 3 on a 7x7 input "doesn't fit": (7 − 3)/3 + 1 = 2.33.
    spec = tmp_path / "misfit.yaml"
    spec.write_text("input: [1, 7, 7]\nlayers:\n  - {type: conv2d, out_channels: 1, kernel_size: 3, stride: 3}\n")
    relaxed = cli(str(spec))
    assert relaxed.exit_code == 0
    assert "warning:" in relaxed.stderr and "stride 3 does not fit" in relaxed.stderr
    strict = cli(str(spec), "--strict")
    assert strict.exit_code == 2
    assert f"{spec}:3: layer 'conv2d_1' (conv2d): stride 3 does not fit" in strict.stderr


def test_version() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "cnncalc" in result.stdout
