"""cnncalc check end to end (proof/homework/marking.py): the example tables, cs231n's numbers, total rows, the
table's shape order, receptive fields and the rendered table."""

from __future__ import annotations

import json
from pathlib import Path

from homework.helpers import EXAMPLE, SPEC, Cli, conv, run


def test_example_table_names_every_mistake(cli: Cli) -> None:
    result = cli("check", str(SPEC), str(EXAMPLE / "table.md"), "--width", "250")
    assert result.exit_code == 1, result.output
    out = result.stdout
    # The example: 8 5x5 filters on a depth-3 input have (5·5·3 + 1)·8 = 608 parameters; the table's 208
    # is (5·5·1 + 1)·8, the input depth left out. Likewise CONV2's 416 = (5·5·1 + 1)·16 instead of 3,216.
    assert "208 = 5·5·1·8 + 8: the input depth 3 seems to be left out" in out
    assert "params = 5·5·3·8 + 8 = 608" in out
    assert "416 = 5·5·1·16 + 16: the input depth 8 seems to be left out" in out
    # FC3: 400·120 + 120 = 48,120; the table's 48,001 puts one bias on the whole layer (and so do 10,081 and 841).
    assert "48,001 = 16·5·5·120 + 1: one bias for the whole layer instead of one per output unit" in out
    assert "10,081 = 120·84 + 1" in out and "841 = 84·10 + 1" in out
    assert "2 per multiply-add counted: 2·10,080 = 20,160" in out  # FC4's MACs written as 2·MACs
    assert "shapes read as H×W×C (cs231n style)" in out
    assert "row 1 is the network's input" in out
    assert "31 cells: 25 ✓, 6 ✗" in out


def test_example_csv_is_all_right(cli: Cli) -> None:
    result = cli("check", str(SPEC), str(EXAMPLE / "table.csv"))
    assert result.exit_code == 0, result.output
    assert "48 cells: 48 ✓, 0 ✗" in result.stdout
    assert "shapes read as C×H×W (channels first)" in result.stdout


def test_quiet_shows_only_wrong_cells(cli: Cli) -> None:
    out = cli("check", str(SPEC), str(EXAMPLE / "table.md"), "-q", "--width", "250").stdout
    assert "✗" in out and "✓    (28,28,8)" not in out and "6,272" not in out


def test_json(cli: Cli) -> None:
    result = cli("check", str(SPEC), str(EXAMPLE / "table.md"), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"] == {"cells": 31, "right": 25, "wrong": 6}
    assert data["layout"] == "hwc"
    assert data["rows"][:2] == [{"row": 1, "layer": "input"}, {"row": 2, "layer": "conv1"}]
    cell = next(c for c in data["cells"] if c["given"] == "208")
    assert (cell["layer"], cell["label"], cell["correct"], cell["ok"], cell["line"]) == (
        "conv1", "CONV1 (f=5, s=1)", "608", False, 9)
    assert cell["mistake"].startswith("208 = 5·5·1·8 + 8")


def test_cs231n_conv_layer_example(tmp_path: Path) -> None:
    # cs231n notes: input 32x32x3, 10 5x5 filters, stride 1, pad 2 → 32x32x10, "(5*5*3+1)*10 = 760" parameters.
    result = run("3x32x32: conv5-10p2", "| layer | output volume | parameters |\n|---|---|---|\n"
                 "| conv_1 | 32x32x10 | (5*5*3+1)*10 = 760 |\n| | | |\n", tmp_path)
    assert [c.ok for c in result.cells] == [True, True]
    assert result.cells[1].derivation == "params = 5·5·3·10 + 10 = 760"


def test_cs231n_alexnet_conv1(tmp_path: Path) -> None:
    # cs231n: 227x227x3 with 96 11x11 filters at stride 4 → 55x55x96 = 290,400 neurons; 11·11·3 = 363 weights per
    # filter, 34,848 weights ("35K") + 96 biases = 34,944.
    spec = conv(input=[3, 227, 227], out_channels=96, kernel_size=11, stride=4)
    text = "shape,size,weights,params\n55x55x96,\"290,400\",35K,3.5e4\n"
    result = run(spec, text, tmp_path, "t.csv")
    assert all(c.ok for c in result.cells), result.cells
    assert result.layout == "hwc"


def test_cs231n_vgg_walkthrough(tmp_path: Path) -> None:
    # The cs231n notes' "VGGNet in detail" rows, as written there: rounded memory ("224*224*64=3.2M") and weights
    # without biases ("(3*3*3)*64 = 1,728"); the label POOL2 repeats, so it names a kind of layer, not pool2.
    rows = [("INPUT", 224, 3, "224*224*3=150K", "0")]
    size, depth = 224, 3
    for width, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            rows.append((f"CONV3-{width}", size, width, f"{size}*{size}*{width}={_rounded(size * size * width)}",
                         f"(3*3*{depth})*{width} = {9 * depth * width:,}"))
            depth = width
        size //= 2
        rows.append(("POOL2", size, depth, f"{size}*{size}*{depth}={_rounded(size * size * depth)}", "0"))
    text = "| Layer | Output | Memory | Weights |\n|---|---|---|---|\n" + "".join(
        f"| {name} | [{s}x{s}x{c}] | {mem} | {w} |\n" for name, s, c, mem, w in rows)
    text += ("| FC | [1x1x4096] | 4096 | 7*7*512*4096 = 102,760,448 |\n| FC | [1x1x4096] | 4096 | "
             "4096*4096 = 16,777,216 |\n| FC | [1x1x1000] | 1000 | 4096*1000 = 4,096,000 |\n")
    text += "| TOTAL | | | 138M |\n"
    result = run("vgg16", text, tmp_path)
    assert result.wrong == 0, [c for c in result.cells if not c.ok]
    assert len(result.cells) == 22 * 3 + 1
    assert any("H×W×C" in n for n in result.notes)
    assert result.matches[-2:] == ((22, "fc8"), (23, "total"))


def _rounded(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{round(n / 1e3)}K"


def test_total_row(tmp_path: Path) -> None:
    text = "layer,params\nconv1,208\npool,0\nfc,15690\ntotal,15898\n"
    result = run("3x32x32: conv5-8 maxpool2 fc-10", text, tmp_path, "t.csv")
    total = result.cells[-1]
    assert (total.layer, total.correct, total.derivation) == ("total", "16,298", "params = 608 + 15,690 = 16,298")
    assert "the sum of the column as written (15,898)" in total.mistake


def test_the_table_shows_the_rows_own_names(cli: Cli, tmp_path: Path) -> None:
    table = tmp_path / "t.md"
    table.write_text("| | # parameters |\n|-|-|\n| Softmax | 841 |\n")
    out = cli("check", str(SPEC), str(table), "--width", "120").stdout
    assert "Derivation · likely mistake" in out
    assert "fc5" in out and "Softmax" in out and "likely: 841 = 84·10 + 1" in out


def test_channels_first_table(tmp_path: Path) -> None:
    result = run(SPEC.as_posix(), "shape\n3x32x32\n8x28x28\n[8, 14, 14]\n16@10x10\n", tmp_path, "t.csv")
    assert result.layout == "chw" and result.wrong == 0


def test_a_row_in_the_other_order_is_wrong(tmp_path: Path) -> None:
    result = run(SPEC.as_posix(), "shape\n32x32x3\n(28,28,8)\n8x14x14\n", tmp_path, "t.csv")
    wrong = [c for c in result.cells if not c.ok]
    assert len(wrong) == 1 and wrong[0].layer == "pool1"
    assert "written C×H×W (channels first), while the table reads H×W×C" in wrong[0].mistake


def test_forced_layout(cli: Cli, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("shape\n8x28x28\n")
    spec = str(SPEC)
    assert cli("check", spec, str(table), "--layout", "chw").exit_code == 0
    result = cli("check", spec, str(table), "--layout", "hwc", "--width", "200")
    assert result.exit_code == 1 and "written C×H×W" in result.stdout
    assert "shapes read" not in result.stdout  # nothing was assumed


def test_vectors_and_unit_dims(tmp_path: Path) -> None:
    # (120,1) and 1x1x120 both write a 120-vector; no shape decides the order, so either is accepted.
    text = "| layer | shape |\n|---|---|\n| fc3 | (120,1) |\n| fc4 | 1x1x84 |\n"
    result = run(SPEC.as_posix(), text, tmp_path)
    assert result.wrong == 0 and result.layout == "either"


def test_receptive_field_column(tmp_path: Path) -> None:
    text = "layer,RF\nconv_1,3\nconv_2,5x5\nmaxpool_1,6\nfc_1,all\n"
    result = run("3x32x32: conv3-8 conv3-8 maxpool2 fc-10", text, tmp_path, "t.csv")
    assert result.wrong == 0
    assert result.cells[1].derivation == "RF_H = 3 + (3 − 1)·1 = 5; RF_W = 3 + (3 − 1)·1 = 5"
