"""Placing a table's rows on the spec's layers (proof/homework/align.py): by name, by family, in order, blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.proof.homework import name_key
from homework.helpers import SPEC, Cli, only, run


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


def test_the_order_fallback_never_puts_a_layer_row_on_the_input(cli: Cli, tmp_path: Path) -> None:
    # Names that contradict the spec in order fall back to an order alignment, but a row named after a layer is
    # never the network's input: the one alignment that fits these cells would put 'pool1' (the input's shape, 0
    # parameters) on the input (an earlier order fallback did exactly that), so the table is refused instead.
    path = tmp_path / "t.csv"
    path.write_text("layer,shape,params\npool1,32x32x3,0\nconv1,28x28x8,608\npool2,14x14x8,0\nconv2,10x10x16,3216\n"
                    "pool3,5x5x16,0\nfc3,120,48120\n")
    result = cli("check", str(SPEC), str(path), "--format", "json")
    assert result.exit_code == 2, result.output
    assert "cannot place" in json.loads(result.stdout)["error"]
