"""The CLI under bad input and internal errors (issue #11): exit codes, --debug, and messages that say the right thing.

Exit codes: 0 fine, 1 a check found a mismatch, 2 bad input, 3 an internal error (a bug), which prints one line
and, with ``--debug``, the traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Cli = Callable[..., Result]
ROOT = Path(__file__).resolve().parent.parent


def _boom(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("planted")


def test_an_internal_error_exits_3_without_a_traceback(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cnncalc.cli.show._emit", _boom)
    result = cli("vgg16")
    assert result.exit_code == 3
    assert "internal error, this is a bug in cnncalc" in result.stderr
    assert "ZeroDivisionError: planted" in result.stderr and "--debug" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_prints_the_traceback(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cnncalc.cli.show._emit", _boom)
    result = cli("--debug", "vgg16")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr and "_boom" in result.stderr


def test_debug_before_a_model_still_runs_show(cli: Cli) -> None:
    result = cli("--debug", "lenet5")
    assert result.exit_code == 0 and "lenet5" in result.stdout


def test_bad_input_stays_exit_2(cli: Cli, tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\ninput: 3x32x32\nlayers:\n  - {type: conv2d, out_channels: 1" + "0" * 400 +
                    ", kernel_size: 3}\n")
    result = cli(str(spec))
    assert result.exit_code == 2
    assert f"{spec}:4: a number of 401 digits; integers in a spec are limited to 18 digits" in result.stderr


@pytest.mark.parametrize(("size", "words"), [("1" + "0" * 13, "a size of 10,000,000,000,000, over the limit of"),
                                             ("1" + "0" * 400, "a number of 401 digits"),
                                             ("1" + "0" * 5000, "a number of 5,001 digits")])
def test_layer_with_a_huge_size_exits_2(cli: Cli, size: str, words: str) -> None:
    result = cli("layer", "linear", "--input", "10", "--out-features", size)
    assert result.exit_code == 2, result.output
    assert words in result.stderr and len(result.stderr) < 300


def test_help_points_at_the_show_options(cli: Cli) -> None:
    out = cli("--help").stdout
    assert "--input" in out and "cnncalc show --help" in out and "--debug" in out
    assert "3 an internal error" in out


def test_layer_without_options_lists_its_fields(cli: Cli) -> None:
    result = cli("layer", "conv2d")
    assert result.exit_code == 0
    assert "--out-channels  required" in result.stdout and "--stride        default 1" in result.stdout
    assert "--bias          default true" in result.stdout
    assert "None" not in result.stdout and "connection" not in result.stdout  # no Python reprs, no LeNet-1998 field


def test_layer_list_fits_100_columns_without_rst(cli: Cli) -> None:
    out = cli("layer").stdout
    assert all(len(line) <= 100 for line in out.splitlines())
    assert "``" not in out
    assert "    Transposed convolution; padding: same gives W·S (ONNX SAME_UPPER), output_size derives the\n" \
           "    padding.\n" in out  # the whole summary, wrapped, never cut mid-sentence


def test_layer_takes_padding_as_a_mapping(cli: Cli) -> None:
    result = cli("layer", "conv2d", "--input", "3x8x8", "--out-channels", "4", "--kernel-size", "3",
                 "--padding", '{"before": [1, 0], "after": [1, 0]}', "--format", "json")
    assert result.exit_code == 0, result.output
    # H: 8 + 1 + 1 − 3 + 1 = 8; W: 8 + 0 + 0 − 3 + 1 = 6 (the sides as a spec's padding: {before, after} reads them)
    assert json.loads(result.stdout)["layers"][0]["output_shape"] == [4, 8, 6]


@pytest.mark.parametrize("expr", ["3x32x32 -> conv3-8 maxpool2 fc-10", "3x32x32 → conv3-8 maxpool2 fc-10",
                                  "3x32x32, conv3-8 maxpool2 fc-10", "3x32x32 conv3-8 maxpool2 fc-10"])
def test_notation_shape_before_any_separator(cli: Cli, expr: str) -> None:
    result = cli("-e", expr, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["input"] == [3, 32, 32]


def test_missing_shape_hint_names_the_cli_option(cli: Cli) -> None:
    result = cli("-e", "conv3-8 fc-10")
    assert result.exit_code == 2 and "--input on the command line" in result.stderr


def test_hwc_layout_failure_says_how_the_input_was_read(cli: Cli) -> None:
    result = cli("vgg16", "--layout", "hwc", "--input", "3x224x224")
    assert result.exit_code == 2
    assert "--layout hwc read --input 3x224x224 as height x width x channels, i.e. 224x3x224" in result.stderr


def test_padding_mapping_message_names_the_missing_side(cli: Cli, tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\ninput: 3x32x32\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3, "
                    "padding: {before: [1, 1]}}\n")
    result = cli(str(spec))
    assert result.exit_code == 2
    assert "s.yaml:4: layer 'conv2d_1' (conv2d): padding: missing required field 'after'" in result.stderr


def test_check_json_on_bad_input(cli: Cli, tmp_path: Path) -> None:
    table = tmp_path / "t.md"
    table.write_bytes(b"| layer | params |\n|---|---|\n| conv1 | 608 \xff |\n")
    result = cli("check", str(ROOT / "examples/homework/lenet_homework.yaml"), str(table), "--format", "json")
    assert result.exit_code == 2
    got = json.loads(result.stdout)
    assert got["table"] == str(table) and "t.md:3: is not UTF-8 text (byte 0xff cannot be read)" in got["error"]


@pytest.mark.parametrize(("cell", "words"), [("1e400", "is too large"), ("2" + "0" * 400, "is too large")])
def test_check_huge_cells_exit_2(cli: Cli, tmp_path: Path, cell: str, words: str) -> None:
    table = tmp_path / "t.csv"
    table.write_text(f"layer,params\nconv1,{cell}\n")
    result = cli("check", str(ROOT / "examples/homework/lenet_homework.yaml"), str(table))
    assert result.exit_code == 2, result.output
    assert words in result.stderr and len(result.stderr) < 400


def test_check_huge_shape_cell_exits_2(cli: Cli, tmp_path: Path) -> None:
    # found by the table fuzzer: a 400-digit size in a shape cell was carried through the slips into a float overflow
    table = tmp_path / "t.csv"
    table.write_text("layer,shape,params\ninput,32x32x3,0\nconv1,28x28x" + "9" * 400 + ",608\n")
    result = cli("check", str(ROOT / "examples/homework/lenet_homework.yaml"), str(table))
    assert result.exit_code == 2, result.output
    assert "has a size over the limit of 1,000,000,000,000" in result.stderr
