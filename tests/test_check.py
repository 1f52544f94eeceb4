"""cnncalc check: homework tables cell by cell, with the correct values, derivations and the slip behind each error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import cnncalc
from cnncalc.proof.homework import Cell, CheckResult, check, classify, name_key, read_number, read_shape

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "homework"
SPEC = EXAMPLE / "lenet_homework.yaml"
Cli = Callable[..., Result]


def run(spec: str | dict[str, object], text: str, tmp_path: Path, name: str = "t.md", layout: str = "auto",
        ) -> CheckResult:
    table = tmp_path / name
    table.write_text(text, encoding="utf-8")
    net = cnncalc.load(spec)  # type: ignore[arg-type]
    return check(cnncalc.analyze(net), table, layout)  # type: ignore[arg-type]


def only(result: CheckResult, column: str | None = None) -> Cell:
    """The one cell (of ``column``) in a result."""
    cells = [c for c in result.cells if column is None or c.column == column]
    assert len(cells) == 1, cells
    return cells[0]


def conv(**fields: object) -> dict[str, object]:
    """A one-conv spec named conv1 (input 3x32x32 unless given)."""
    shape = fields.pop("input", [3, 32, 32])
    return {"input": shape, "layers": [{"type": "conv2d", "name": "conv1", **fields}]}


# --- the example ------------------------------------------------------------------------------------------------


def test_example_table_names_every_mistake(cli: Cli) -> None:
    result = cli("check", str(SPEC), str(EXAMPLE / "table.md"), "--width", "250")
    assert result.exit_code == 1, result.output
    out = result.stdout
    # The issue's example: 8 5x5 filters on a depth-3 input have (5·5·3 + 1)·8 = 608 parameters; the table's 208
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


# --- the cs231n notes' numbers ---------------------------------------------------------------------------------


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


# --- the catalogue of mistakes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "table", "mistake"),
    [
        # LeNet-5's C1 (LeCun 1998): 6 5x5 maps on 1x32x32, 156 parameters = 150 weights + 6 biases.
        (conv(input=[1, 32, 32], out_channels=6, kernel_size=5), "params\n150\n",
         "150 = 5·5·1·6: the biases seem to be left out"),
        (conv(out_channels=8, kernel_size=5), "params\n601\n",
         "601 = 5·5·3·8 + 1: one bias for the whole layer instead of one per filter"),
        (conv(out_channels=10, kernel_size=5, padding=2), "shape\n28x28x10\n",
         "the padding 2 seems to be ignored: H_out = ⌊(32 + 0 + 0 − 5) / 1⌋ + 1 = 28"),
        (conv(out_channels=10, kernel_size=5, padding=2), "shape\n30x30x10\n",
         "the padding seems counted on one side only (P, not 2P): H_out = ⌊(32 + 0 + 2 − 5) / 1⌋ + 1 = 30"),
        (conv(out_channels=4, kernel_size=3), "shape\n32x32x4\n", "'same' padding seems assumed"),
        (conv(out_channels=4, kernel_size=5, stride=2), "shape\n15x15x4\n",
         "ceil seems used instead of floor: H_out = ⌈(32 + 0 + 0 − 5) / 2⌉ + 1 = 15"),
        # cs231n's AlexNet CONV1: (227 − 11)/4 + 1 = 55; without the + 1 it is 54, without the stride 217.
        (conv(input=[3, 227, 227], out_channels=96, kernel_size=11, stride=4), "shape\n54x54x96\n",
         "the + 1 of ⌊(W + 2P − K) / S⌋ + 1 seems forgotten: H_out = ⌊(227 + 0 + 0 − 11) / 4⌋ = 54"),
        (conv(input=[3, 227, 227], out_channels=96, kernel_size=11, stride=4), "shape\n217x217x96\n",
         "the stride 4 seems to be ignored"),
        (conv(out_channels=4, kernel_size=3, padding=1, stride=2), "shape\n8x8x4\n",
         "the stride 2 seems applied twice: H_out = ⌊(32 + 1 + 1 − 3) / 4⌋ + 1 = 8"),
        (conv(out_channels=4, kernel_size=3, dilation=2), "shape\n30x30x4\n", "the dilation seems ignored"),
        (conv(input=[8, 16, 16], out_channels=16, kernel_size=3), "params\n400\n",
         "400 = 3·1·8·16 + 16: the kernel seems counted as 3, not 3·3"),
        ({"input": [32, 16, 16], "layers": [{"type": "conv2d", "out_channels": 32, "kernel_size": 3,
                                             "groups": "depthwise", "padding": 1}]}, "params\n9248\n",
         "9248 = 3·3·32·32 + 32: the groups seem ignored"),
        ({"input": [64, 56, 56], "layers": [{"type": "maxpool2d", "kernel_size": 3, "stride": 2}]},
         "shape\n28x28x64\n", "ceil seems used instead of floor: H_out = ⌈(56 + 0 + 0 − 3) / 2⌉ + 1 = 28"),
        ({"input": [8, 28, 28], "layers": [{"type": "maxpool2d", "kernel_size": 2}]}, "params\n8\n",
         "a bias per channel seems counted, but pooling learns nothing"),
        ({"input": [8, 28, 28], "layers": [{"type": "maxpool2d", "kernel_size": 2}]}, "params\n264\n",
         "264 = 2·2·8·8 + 8: the pooling window seems counted as a convolution's weights"),
        ({"input": [6, 28, 28], "layers": [{"type": "avgpool2d", "kernel_size": 2}]}, "params\n12\n",
         "LeNet-5's trainable subsampling"),
        ("3x32x32: conv5-8 maxpool2 flatten fc-10", "params\n608\n0\n0\n90\n",
         "90 = 8·10 + 10: only the 8 channels seem taken as the fan-in, not all 8·14·14 = 1,568"),
        ("3x32x32: conv5-8 maxpool2 fc-10", "params\n608\n0\n1970\n",
         "1970 = 1·14·14·10 + 10: the input depth 8 seems to be left out"),
        (conv(out_channels=8, kernel_size=5), "size\n784\n", "the depth 8 seems left out of the size"),
        (conv(out_channels=8, kernel_size=5), "layer,size\nconv1,3072\n",
         "the size of the layer's input, not of its output"),
        (conv(out_channels=8, kernel_size=5), "MACs\n947072\n", "that is a FLOPs count (2 per multiply-add)"),
        (conv(out_channels=8, kernel_size=5), "FLOPs\n470400\n", "that is the MACs count"),
        (conv(out_channels=8, kernel_size=5), "weights\n608\n", "608 = 5·5·3·8 + 8: the biases seem counted"),
        (conv(out_channels=8, kernel_size=5), "memory (bytes)\n6272\n", "that is the number of values"),
    ],
    ids=["bias", "one-bias", "padding", "padding-once", "same", "ceil-conv", "plus-one", "stride-ignored",
         "stride-twice", "dilation", "kernel-once", "groups", "ceil-pool", "pool-bias",
         "pool-weights", "subsampling", "fc-channels", "fc-depth", "size-depth", "size-input", "macs-flops",
         "flops-macs", "weights-bias", "bytes"],
)
def test_mistakes_are_named(spec: str | dict[str, object], table: str, mistake: str, tmp_path: Path) -> None:
    result = run(spec, table, tmp_path, "t.csv")
    wrong = [c for c in result.cells if not c.ok]
    assert len(wrong) == 1, result.cells
    assert mistake in wrong[0].mistake, wrong[0].mistake


def test_the_issue_example_depth_left_out(tmp_path: Path) -> None:
    # The issue: conv 8 5x5 on 3x32x32; 208 = (5·5·1 + 1)·8, the input depth 3 left out.
    cell = only(run("3x32x32: conv5-8", "| layer | # parameters |\n|-|-|\n| conv_1 | 208 |\n", tmp_path))
    assert (cell.ok, cell.correct, cell.derivation) == (False, "608", "params = 5·5·3·8 + 8 = 608")
    assert cell.mistake == "208 = 5·5·1·8 + 8: the input depth 3 seems to be left out"


def test_no_slip_reproduces_a_random_number(tmp_path: Path) -> None:
    cell = only(run("3x32x32: conv5-8", "params\n1234\n", tmp_path, "t.csv"))
    assert not cell.ok and cell.mistake == ""


def test_a_wrong_shape_carries_over(tmp_path: Path) -> None:
    # conv1 pads by 2 (32x32 out); the table ignores the padding (28x28) and then pools its own 28x28 correctly.
    result = run("3x32x32: conv5-8p2 maxpool2 conv3-16", "shape\n28x28x8\n14x14x8\n12x12x16\n", tmp_path, "t.csv")
    pool, conv3 = result.cells[1], result.cells[2]
    assert "carried over from row 1's shape 28x28x8 (itself wrong)" in pool.mistake
    assert "carried over from row 2's shape 14x14x8" in conv3.mistake
    assert result.layout == "hwc"  # no shape is right, but the channels are written last


def test_total_row(tmp_path: Path) -> None:
    text = "layer,params\nconv1,208\npool,0\nfc,15690\ntotal,15898\n"
    result = run("3x32x32: conv5-8 maxpool2 fc-10", text, tmp_path, "t.csv")
    total = result.cells[-1]
    assert (total.layer, total.correct, total.derivation) == ("total", "16,298", "params = 608 + 15,690 = 16,298")
    assert "the sum of the column as written (15,898)" in total.mistake


# --- matching rows ---------------------------------------------------------------------------------------------


def test_rows_skip_layers_a_table_leaves_out(tmp_path: Path) -> None:
    # The table lists conv, pool and fc; the spec also has a ReLU, a flatten and a dropout layer.
    result = run("3x32x32: conv5-6 relu maxpool2 flatten fc-10 dropout", "shape,params\n6x28x28,456\n6x14x14,0\n"
                 "10,11770\n", tmp_path, "t.csv")
    assert all(c.ok for c in result.cells)
    assert [m[1] for m in result.matches] == ["conv_1", "maxpool_1", "fc_1"]
    assert any("not in the table (activations, dropout, flatten, normalisation): relu_1, flatten_1, dropout_1" in n
               for n in result.notes)


@pytest.mark.parametrize("named", [True, False], ids=["by-name", "in-order"])
def test_fused_activation_rows(named: bool, tmp_path: Path) -> None:
    # The spec fuses ReLU into the conv; the table gives the ReLU its own row (params 0, FLOPs 1 per value).
    rows = [("conv1", "28x28x8", "608", "947072"), ("relu1", "28x28x8", "0", "6272"), ("pool1", "14x14x8", "0",
                                                                                         "4704")]
    head = "layer,shape,params,FLOPs\n" if named else "shape,params,FLOPs\n"
    text = head + "".join((f"{n}," if named else "") + ",".join(r) + "\n" for n, *r in rows)
    result = run("3x32x32: conv5-8-relu maxpool2", text, tmp_path, "t.csv")
    assert result.wrong == 0, [c for c in result.cells if not c.ok]
    assert [m[1] for m in result.matches] == ["conv_1", "conv_1/relu", "maxpool_1"]
    assert any("row 2 is conv_1's fused relu" in n for n in result.notes)


def test_a_row_named_after_a_fused_softmax_is_the_layer(tmp_path: Path) -> None:
    # Ng's table calls the last FC row "Softmax" and gives it the FC's 84·10 + 10 = 850 parameters.
    cell = only(run(SPEC.as_posix(), "| | # parameters |\n|-|-|\n| Softmax | 850 |\n", tmp_path))
    assert (cell.layer, cell.ok) == ("fc5", True)


def test_names_match_in_any_order(tmp_path: Path) -> None:
    text = "| Layer | params |\n|---|---|\n| fc5 | 850 |\n| **conv1** | 608 |\n"
    result = run(SPEC.as_posix(), text, tmp_path)
    assert [m[1] for m in result.matches] == ["fc5", "conv1"] and result.wrong == 0


def test_unknown_names_fall_back_to_order(tmp_path: Path) -> None:
    text = "| Layer | params |\n|---|---|\n| first | 608 |\n| second | 0 |\n"
    result = run("3x32x32: conv5-8 maxpool2", text, tmp_path)
    assert result.wrong == 0
    assert any("match no layer of the spec; rows were matched in order" in n for n in result.notes)


def test_rows_naming_blocks_check_their_sums(tmp_path: Path) -> None:
    # GoogLeNet (Szegedy et al. 2014, Table 1) names its modules "inception (3a)": 28x28x256 out; the spec's module
    # has 163,696 parameters with biases, and a row with those sums is right.
    text = "| type | output size | params |\n|---|---|---|\n| inception (3a) | 28x28x256 | 163,696 |\n"
    result = run("googlenet", text, tmp_path)
    assert result.wrong == 0 and result.matches == ((1, "inception_3a"),)
    assert "(the 8 layers of inception_3a)" in result.cells[1].derivation
    assert any("row 1 is block inception_3a" in n for n in result.notes)


@pytest.mark.parametrize(
    ("label", "key"),
    [("CONV1 (f=5, s=1)", "conv1"), ("Input:", "input"), ("inception (3a)", "inception3a"), ("**FC3**", "fc3"),
     ("conv2d_1 (Conv2D)", "conv2d1"), ("CONV3-64", "conv364")],
)
def test_name_keys(label: str, key: str) -> None:
    assert name_key(label) == key


def test_the_table_shows_the_rows_own_names(cli: Cli, tmp_path: Path) -> None:
    table = tmp_path / "t.md"
    table.write_text("| | # parameters |\n|-|-|\n| Softmax | 841 |\n")
    out = cli("check", str(SPEC), str(table), "--width", "120").stdout
    assert "Derivation · likely mistake" in out
    assert "fc5" in out and "Softmax" in out and "likely: 841 = 84·10 + 1" in out


# --- shapes and their order ------------------------------------------------------------------------------------


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


# --- reading tables, numbers and headers -----------------------------------------------------------------------


def test_markdown_table_inside_prose_and_csv_with_semicolons(tmp_path: Path) -> None:
    md = "# Homework 2\n\nMy answers:\n\n| Layer | Params |\n| :--- | ---: |\n| conv_1 | 608 |\n\nThanks!\n"
    assert only(run("3x32x32: conv5-8", md, tmp_path)).ok
    assert only(run("3x32x32: conv5-8", "layer;params;shape\nconv_1;608;(28,28,8)\n", tmp_path, "s.csv"),
                "params").ok


def test_unquoted_shape_in_csv(tmp_path: Path) -> None:
    result = run("3x32x32: conv5-8", "shape,params\n(28,28,8),608\n", tmp_path, "t.csv")
    assert result.wrong == 0 and len(result.cells) == 2


@pytest.mark.parametrize(
    ("header", "kind", "scale"),
    [("Activation shape", "shape", 1), ("Activation Size", "activations", 1), ("# parameters", "params", 1),
     ("params", "params", 1), ("Param #", "params", 1), ("MACs", "macs", 1), ("Mult-Adds", "macs", 1),
     ("Million Mult-Adds", "macs", 1e6), ("GFLOPs", "flops", 1e9), ("FLOPs", "flops", 1),
     ("receptive field", "receptive_field", 1), ("RF", "receptive_field", 1), ("Output volume", "shape", 1),
     ("Output Shape", "shape", 1), ("memory", "activations", 1), ("Memory (MB)", "bytes", 1e6),
     ("# activations", "activations", 1), ("weights", "weights", 1), ("Params (M)", "params", 1e6),
     ("Layer", "name", 1), ("favourite colour", None, 1)],
)
def test_headers(header: str, kind: str | None, scale: float) -> None:
    assert classify(header) == (kind, scale)


@pytest.mark.parametrize(
    ("text", "value"),
    [("3,072", (3072.0, 0.0)), ("35K", (35000.0, 500.0)), ("138M", (138e6, 0.5e6)), ("0", (0.0, 0.0)),
     ("1.2e6", (1.2e6, 0.05e6)), ("~62K", (62000.0, 500.0)), ("800K", (800e3, 50e3)),
     ("224*224*64=3.2M", (3.2e6, 0.05e6)),
     ("(5*5*3+1)*8", (608.0, 0.0)), ("5·5·3·8 + 8", (608.0, 0.0)), ("1.2 × 10^6", (1.2e6, 0.05e6)),
     ("—", None), ("-", None), ("", None)],
)
def test_numbers(text: str, value: tuple[float, float] | None) -> None:
    assert read_number(text) == value


@pytest.mark.parametrize("text", ["(28,28,8)", "28x28x8", "[28, 28, 8]", "28 x 28 x 8", "(None, 28, 28, 8)"])
def test_shapes(text: str) -> None:
    assert read_shape(text) == ((28, 28, 8), "either")


def test_rounded_numbers_hold_at_their_precision(tmp_path: Path) -> None:
    spec = conv(input=[3, 227, 227], out_channels=96, kernel_size=11, stride=4)  # 34,944 params
    result = run(spec, "params,MACs\n34.9K,105.4M\n", tmp_path, "t.csv")
    assert result.wrong == 0
    assert not only(run(spec, "params\n34.8K\n", tmp_path, "u.csv")).ok


# --- bad input: exit 2, naming the table and the row -----------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("| layer | colour |\n|---|---|\n| conv1 | red |\n", "no column to check among 'layer', 'colour'"),
        ("params\n" + "0\n" * 14, "cannot match the table's 14 rows to the spec's 7 layers in order"),
        ("| layer | params |\n|---|---|\n| conv1 | lots |\n", "t.md:3: row 1: column 'params': 'lots' is not a number"),
        ("| layer | shape |\n|---|---|\n| conv1 | big |\n", "'big' is not a shape"),
        ("shape,params\n28,28,8,608\n", "t.csv:2: row 1: 4 cells under 2 headers"),
        ("| layer | params |\n|---|---|\n| pool1 | 0 |\n| pool2 | 0 |\n| pool3 | 0 |\n",
         "row 3: cannot place ('pool3')"),
        ("", "the table is empty"),
        ("| layer | params |\n|---|---|\n", "the table has a header but no rows"),
    ],
    ids=["no-known-column", "too-many-rows", "bad-number", "bad-shape", "csv-cells", "name-order", "empty",
         "no-rows"],
)
def test_bad_tables_exit_2(cli: Cli, tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / ("t.csv" if not table.startswith("|") and table else "t.md")
    path.write_text(table)
    result = cli("check", str(SPEC), str(path))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_table_exits_2(cli: Cli, tmp_path: Path) -> None:
    result = cli("check", str(SPEC), str(tmp_path / "nope.md"))
    assert result.exit_code == 2 and "nope.md: cannot read the table" in result.stderr
