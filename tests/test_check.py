"""cnncalc check: homework tables, cell by cell, with the correct values, derivations and likely mistakes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import cnncalc
from cnncalc.homework import CheckResult, check, classify, dims, number

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "homework"
Cli = Callable[..., Result]


def run(
    spec: str | dict[str, object], table_text: str, tmp_path: Path, name: str = "t.md", layout: str = "auto"
) -> CheckResult:
    table = tmp_path / name
    table.write_text(table_text)
    net = cnncalc.load(spec)  # type: ignore[arg-type]
    return check(net, cnncalc.analyze(net), table, layout)  # type: ignore[arg-type]


def test_example_table_finds_every_planted_mistake(cli: Cli) -> None:
    result = cli("check", str(EXAMPLE / "net.yaml"), str(EXAMPLE / "table.md"))
    assert result.exit_code == 1
    out = result.stdout
    # The example: 8 5x5 filters on a depth-3 input have (5·5·3 + 1)·8 = 608 parameters; 208 is
    # (5·5·1 + 1)·8, the depth left out.
    assert "✗ # parameters: 208 → should be 608" in out
    assert "likely: the input depth 3 seems to be left out: params = 5·5·1·8 + 8 = 208" in out
    # conv2 has padding 2: (14 + 2 + 2 − 5)/1 + 1 = 14, not (14 − 5) + 1 = 10.
    assert "likely: the padding seems to be ignored" in out
    # fc1 flattens 16·7·7 = 784 inputs: 784·120 + 120 = 94,200; 2,040 = 16·120 + 120 takes only the channels.
    assert "params = 16·7·7·120 + 120 = 94,200" in out
    assert "the flatten seems forgotten" in out
    # fc2: 120·84 + 84 = 10,164; 10,081 = 120·84 + 1 puts one bias on the whole layer.
    assert "one bias per layer instead of one per output unit" in out
    assert "shapes read as H×W×C (cs231n style)" in out
    assert "21 cells: 16 ✓, 5 ✗" in out


def test_correct_csv_passes(cli: Cli) -> None:
    result = cli("check", str(EXAMPLE / "net.yaml"), str(EXAMPLE / "table.csv"))
    assert result.exit_code == 0, result.stdout
    assert "28 cells: 28 ✓, 0 ✗" in result.stdout  # shapes, sizes, params and MACs of 7 layers


def test_json_output(cli: Cli) -> None:
    data = json.loads(cli("check", str(EXAMPLE / "net.yaml"), str(EXAMPLE / "table.md"), "--format", "json").stdout)
    assert data["wrong"] == 5
    first = data["cells"][2]
    assert (first["layer"], first["given"], first["correct"], first["ok"]) == ("conv1", "208", "608", False)


def test_cs231n_notes_example(tmp_path: Path) -> None:
    # cs231n notes: input 32x32x3, 10 5x5 filters, stride 1, pad 2 → 32x32x10; "(5*5*3+1)*10 = 760" parameters.
    result = run("3x32x32: conv5-10p2", "| layer | output volume | parameters |\n|---|---|---|\n"
                 "| conv_1 | 32x32x10 | 760 |\n", tmp_path)
    assert [c.ok for c in result.cells] == [True, True]


@pytest.mark.parametrize(
    ("given", "mistake"),
    [
        ("27x27x96", "the + 1 of (W − F + 2P)/S + 1 seems forgotten"),  # (227 − 11)/4 = 54 → 54 + 1 = 55
        ("96x55x55", "H·W·C and C·H·W seem swapped"),
    ],
)
def test_shape_mistakes(given: str, mistake: str, tmp_path: Path) -> None:
    # AlexNet conv1 (cs231n): 227x227x3, 96 11x11 filters at stride 4 → 55x55x96.
    text = f"| layer | shape |\n|---|---|\n| conv1 | 55x55x96 |\n| conv2 | {given} |\n"
    spec = {"input": [3, 227, 227], "layers": [
        {"type": "conv2d", "name": "conv1", "out_channels": 96, "kernel_size": 11, "stride": 4},
        {"type": "conv2d", "name": "conv2", "out_channels": 96, "kernel_size": 1}]}
    if mistake.startswith("the + 1"):
        text = "| layer | shape |\n|---|---|\n| conv1 | 54x54x96 |\n"
    result = run(spec, text, tmp_path, layout="hwc")  # the table writes H×W×C, as cs231n does
    wrong = [c for c in result.cells if not c.ok]
    assert wrong and mistake in wrong[0].mistake


def test_bias_left_out_and_flops_for_macs(tmp_path: Path) -> None:
    # LeNet-5 C1 (LeCun 1998): 6 maps 5x5 on 1x32x32: 156 parameters = 150 weights + 6 biases;
    # 28·28·6·25 = 117,600 multiply-adds.
    spec = {"input": [1, 32, 32], "layers": [{"type": "conv2d", "name": "C1", "out_channels": 6, "kernel_size": 5}]}
    result = run(spec, "| layer | params | MACs |\n|---|---|---|\n| C1 | 150 | 235,200 |\n", tmp_path)
    params, macs = result.cells
    assert "the bias seems to be left out" in params.mistake
    assert "that is the FLOPs count" in macs.mistake


def test_rounded_numbers_hold_at_their_precision(tmp_path: Path) -> None:
    # cs231n: AlexNet conv1 has (11·11·3)·96 = 34,848 weights, written "35K".
    spec = {"input": [3, 227, 227], "layers": [
        {"type": "conv2d", "name": "conv1", "out_channels": 96, "kernel_size": 11, "stride": 4}]}
    result = run(spec, "| layer | weights | params |\n|---|---|---|\n| conv1 | 35K | 3.5e4 |\n", tmp_path)
    assert [c.ok for c in result.cells] == [True, True]


def test_rows_match_the_main_layers_when_counts_differ(tmp_path: Path) -> None:
    # The table lists conv, pool and fc only; the spec also has ReLU, flatten and dropout layers.
    spec = ("3x32x32: conv5-6 relu maxpool2 flatten fc-10 dropout")
    result = run(spec, "shape,params\n6x28x28,456\n6x14x14,0\n10,11770\n", tmp_path, "t.csv")
    assert all(c.ok for c in result.cells)
    assert any("not activations" in n for n in result.notes)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("| layer | colour |\n|---|---|\n| a | red |\n", "no column to check"),
        ("| layer | params |\n|---|---|\n| nope | 3 |\n", "no layer named 'nope'"),
        ("params\n1\n2\n3\n4\n5\n", "add a 'layer' column"),
        ("| layer | params |\n|---|---|\n| conv2d_1 | lots |\n", "'lots' is not a number"),
    ],
    ids=["no-known-column", "unknown-name", "row-count", "bad-number"],
)
def test_bad_tables_exit_2(cli: Cli, tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / ("t.csv" if table.startswith("params") else "t.md")
    path.write_text(table)
    spec = _small_spec(tmp_path) if "conv2d_1" in table else EXAMPLE / "net.yaml"
    result = cli("check", str(spec), str(path))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _small_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "n.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 2, kernel_size: 3}\n")
    return spec


@pytest.mark.parametrize(
    ("header", "kind"),
    [("Activation shape", "shape"), ("Activation Size", "activations"), ("# parameters", "params"),
     ("params", "params"), ("MACs", "macs"), ("FLOPs", "flops"), ("receptive field", "receptive_field"),
     ("Output volume", "shape"), ("Layer", "name"), ("weights", "weights"), ("favourite colour", None)],
)
def test_headers(header: str, kind: str | None) -> None:
    assert classify(header) == kind


@pytest.mark.parametrize(
    ("text", "value"),
    [("3,072", (3072.0, 0.0)), ("35K", (35000.0, 500.0)), ("138M", (138e6, 0.5e6)), ("0", (0.0, 0.0)),
     ("—", None), ("", None)],
)
def test_numbers(text: str, value: tuple[float, float] | None) -> None:
    assert number(text) == value


@pytest.mark.parametrize("text", ["(28,28,8)", "28x28x8", "[28, 28, 8]", "28 x 28 x 8"])
def test_shapes(text: str) -> None:
    assert dims(text) == (28, 28, 8)
