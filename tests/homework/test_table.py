"""Reading a table (proof/homework/table.py): Markdown and CSV, headers, and bad tables (exit 2, naming the row)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc.proof.homework import classify
from homework.helpers import SPEC, Cli, only, run


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
