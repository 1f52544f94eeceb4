"""Renderers: golden snapshots (refresh with ``pytest --update-goldens``) and the pieces they are built from."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest

import cnncalc
from cnncalc.render import RENDERERS
from cnncalc.render.table import BAR_WIDTH, bar
from cnncalc.render.text import Options, human, human_bytes, shape_text

Golden = Callable[[str, str], None]


@pytest.mark.parametrize(
    ("fmt", "width", "name"),
    [("table", 100, "vgg16_table_100.txt"), ("table", 140, "vgg16_table_140.txt"),
     ("markdown", 100, "vgg16.md"), ("csv", 100, "vgg16.csv")],
)
def test_vgg16_snapshots(golden: Golden, fmt: str, width: int, name: str) -> None:
    golden(name, RENDERERS[fmt](cnncalc.analyze("vgg16"), Options(width=width)))


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
def test_table_fits_its_width(width: int) -> None:
    text = RENDERERS["table"](cnncalc.analyze("vgg16"), Options(width=width))
    table_lines = text.split("\nParams ")[0].splitlines()
    assert max(len(line) for line in table_lines) <= width
    assert "138.4M" in text  # the params total survives every width


def test_table_bars_show_where_memory_and_parameters_sit() -> None:
    # cs231n notes on VGG16: most memory is in the early CONV layers, most parameters in the last FC layers.
    text = RENDERERS["table"](cnncalc.analyze("vgg16"), Options(width=100))
    rows = {line.split()[0]: line for line in text.splitlines() if line[:1].isalpha()}
    mem_conv1, par_conv1 = rows["conv1_1"].split()[-2:]
    mem_fc6, par_fc6 = rows["fc6"].split()[-2:]
    assert mem_conv1 == "▋" and par_conv1 == "▏"  # 21% of memory (3,211,264 of 15,237,608): 5 eighths of 24
    assert mem_fc6 == "▏" and par_fc6 == "██▎"  # 74.3% of params (102,764,544 of 138,357,544): 18 eighths of 24
    assert BAR_WIDTH == 3


@pytest.mark.parametrize("width", [80, 100, 160])
def test_bar_headers_sit_on_the_grid(width: int) -> None:
    # Each of "Mem" and "Par" is exactly as wide as its bar, and the bars are one column gap (3) apart like every
    # other column: a full memory bar never runs into the gap under the header (5-cell bars one space apart did).
    text = RENDERERS["table"](cnncalc.analyze("lenet5"), Options(width=width))
    header, *lines = text.splitlines()[1:]
    mem, par = header.rindex("Mem"), header.rindex("Par")
    assert par - mem == BAR_WIDTH + 3 and header.endswith("Par")
    full = bar(1.0) + "   " + bar(1.0)
    assert len(full) == len("Mem   Par")
    rows = [line for line in lines if line.startswith(("conv1", "fc1"))]
    assert rows and all(line[mem + BAR_WIDTH: par].strip() == "" for line in rows)
    assert all(line[par:].strip() for line in rows)  # each of these layers has a parameter bar under "Par"


def test_csv_is_exact_and_parseable() -> None:
    text = RENDERERS["csv"](cnncalc.analyze("vgg16"), Options())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(int(r["params"]) for r in rows) == 138_357_544  # torchvision vgg16 num_params
    assert rows[0]["output_shape"] == "64x224x224"


def test_json_is_to_dict() -> None:
    report = cnncalc.analyze("vgg16")
    assert json.loads(RENDERERS["json"](report, Options(layout="hwc"))) == report.to_dict()


def test_rows_sum_to_totals() -> None:
    report = cnncalc.analyze("vgg16", batch=3)
    t = report.totals
    assert sum(r.params for r in report.layers) == t.params
    assert sum(r.macs for r in report.layers) == t.macs
    assert sum(r.flops for r in report.layers) == t.flops
    stored = sum(r.activations for r in report.layers if r.stores)
    assert stored + 3 * 3 * 224 * 224 == t.activations


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (1000, "1K"), (34_944, "34.94K"), (138_357_544, "138.4M"),
     (15_470_264_320, "15.47G"), (1_500, "1.5K")],
)
def test_human(value: int, text: str) -> None:
    assert human(value) == text


def test_human_bytes() -> None:
    assert human_bytes(60_950_432) == "60.95 MB"
    assert human_bytes(512) == "512 B"


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.0, " " * 3), (1.0, "█" * 3), (0.5, "█▌ "), (0.0001, "▏  ")],
)
def test_bar(share: float, text: str) -> None:
    assert bar(share) == text


def test_shape_text_layouts() -> None:
    assert shape_text((64, 224, 224)) == "64x224x224"
    assert shape_text((64, 224, 224), "hwc") == "224x224x64"
    assert shape_text((4096,), "hwc") == "4096"
