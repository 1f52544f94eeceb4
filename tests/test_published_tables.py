"""The published tables shipped as expect data: exact verdicts for rows that reproduce and for the known errata.

Each case lists, for one figure, every expect entry that gives it, in the spec's order, as (figure as written,
what cnncalc computes, verdict). Published strings hold at their printed precision ("159Ki" is 159 ± 0.5 × 1024);
ints are exact derivations (published.md; the arithmetic is in the specs' source and notes fields).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from cnncalc.proof.expect import verify

Verdict = tuple[Any, Any, str]


def verdicts(name: str) -> dict[str, list[Verdict]]:
    """Every figure of a spec's expect data: ``what`` → [(expected, actual, status), ...] in entry order."""
    _, results = verify(name)
    out: dict[str, list[Verdict]] = {}
    for source in results:
        for check in source.checks:
            out.setdefault(check.what, []).append((check.expected, check.actual, check.status))
    return out


# --- GoogLeNet, Szegedy et al. 2014 (arXiv:1409.4842), Table 1 -------------------------------------------------
# Each row's params cell is weights without biases in K = 1024, its ops cell multiply-adds in M = 10^6; conv2 (1x1
# reduce + 3x3) and the inception rows are block sums. The second figure of each pair is the exact derivation from
# the row's own printed widths (published.md §4, "derived weights" / "derived MACs").

GOOGLENET = [
    ("conv1.output_shape", [([64, 112, 112], [64, 112, 112], "pass")]),
    # 7·7·3·64 = 9,408 weights, ·112² = 118,013,952 MACs: not 2.7K / 34M (a separable first layer would give both).
    ("conv1.weights", [("2.7Ki", 9_408, "erratum"), (9_408, 9_408, "pass")]),
    ("conv1.macs", [("34M", 118_013_952, "erratum"), (118_013_952, 118_013_952, "pass")]),
    ("pool1.output_shape", [([64, 56, 56], [64, 56, 56], "pass")]),
    # 1·1·64·64 + 3·3·64·192 = 4,096 + 110,592 = 114,688 = 112.0Ki; ·56² = 359,661,568 = 359.7M.
    ("conv2.weights", [("112Ki", 114_688, "pass"), (114_688, 114_688, "pass")]),
    ("conv2.macs", [("360M", 359_661_568, "pass"), (359_661_568, 359_661_568, "pass")]),
    ("inception_3a.output_shape", [([256, 28, 28], [256, 28, 28], "pass")]),
    ("inception_3a.weights", [("159Ki", 163_328, "pass"), (163_328, 163_328, "pass")]),
    ("inception_3a.macs", [("128M", 128_049_152, "pass"), (128_049_152, 128_049_152, "pass")]),
    # 3b: 388,096 = 379.0Ki, one below 380K; its ops cell reproduces.
    ("inception_3b.weights", [("380Ki", 388_096, "erratum"), (388_096, 388_096, "pass")]),
    ("inception_3b.macs", [("304M", 304_267_264, "pass"), (304_267_264, 304_267_264, "pass")]),
    # 4a: 73.6M printed as 73M (truncated), and 366.8Ki printed as 364K.
    ("inception_4a.macs", [("73M", 73_608_192, "erratum"), (73_608_192, 73_608_192, "pass")]),
    ("inception_4c.weights", [("463Ki", 509_440, "erratum"), (509_440, 509_440, "pass")]),
    ("inception_4c.macs", [("100M", 99_850_240, "pass"), (99_850_240, 99_850_240, "pass")]),
    ("inception_4d.output_shape", [([528, 14, 14], [528, 14, 14], "pass")]),
    # 5a: 1018.0Ki and 51.1M from the printed widths, not 1072K and 54M (the two cells agree with each other).
    ("inception_5a.weights", [("1072Ki", 1_042_432, "erratum"), (1_042_432, 1_042_432, "pass")]),
    ("inception_5a.macs", [("54M", 51_079_168, "erratum"), (51_079_168, 51_079_168, "pass")]),
    ("inception_5b.macs", [("71M", 70_697_984, "pass"), (70_697_984, 70_697_984, "pass")]),
    ("pool5.output_shape", [([1024, 1, 1], [1024, 1, 1], "pass")]),
    ("fc.weights", [("1000Ki", 1_024_000, "pass"), (1_024_000, 1_024_000, "pass")]),
    ("fc.macs", [("1M", 1_024_000, "pass"), (1_024_000, 1_024_000, "pass")]),
    # Totals: the Caffe count (derived), and the round figures of the paper's budget, cs231n's slides and notes.
    ("macs", [("1.5G", 1_582_671_872, "erratum")]),
    ("params", [(6_998_552, 6_998_552, "pass"), ("5M", 6_998_552, "erratum"), ("4M", 6_998_552, "erratum")]),
]


@pytest.mark.parametrize(("what", "expected"), GOOGLENET, ids=[what for what, _ in GOOGLENET])
def test_googlenet_table_1(what: str, expected: list[Verdict]) -> None:
    assert verdicts("googlenet")[what] == expected


def test_googlenet_table_1_errata_are_the_irreproducible_cells() -> None:
    # published.md §4: params cells of 3b (≈), 4a, 4b (≈), 4c, 4d, 4e, 5a, 5b; conv1's two cells; 5a's ops; 4a's ops
    # (73.6M, which the paper truncates). Every other cell, and all 18 output sizes, reproduce.
    _, results = verify("googlenet")
    table = next(r for r in results if r.source.startswith("Szegedy et al. 2014, Table 1"))
    errata = [c.what for c in table.checks if c.status == "erratum"]
    assert errata == [
        "conv1.weights", "conv1.macs", "inception_3b.weights", "inception_4a.weights", "inception_4a.macs",
        "inception_4b.weights", "inception_4c.weights", "inception_4d.weights", "inception_4e.weights",
        "inception_5a.weights", "inception_5a.macs", "inception_5b.weights",
    ]
    shapes = [c for c in table.checks if c.what.endswith(".output_shape")]
    assert len(shapes) == 18 and all(c.status == "pass" for c in shapes)
    assert sum(c.status == "pass" for c in table.checks) == 18 + 12  # 12 of the 24 params/ops cells


# --- AlexNet as cs231n simplifies it -----------------------------------------------------------------------------


def test_cs231n_alexnet_case_study() -> None:
    # cs231n 2017 lecture 9, Case Study: AlexNet (shared/seeds/004): "Full (simplified) AlexNet architecture",
    # [55x55x96] CONV1 ... [1000] FC8, channels first; CONV1 "Parameters: (11*11*3)*96 = 35K"; POOL1 "Parameters: 0!".
    _, results = verify("alexnet")
    lecture = next(r for r in results if r.source.startswith("cs231n 2017 lecture 9 \"CNN Architectures\""))
    rows = [(c.what, c.actual, c.status) for c in lecture.checks]
    assert rows == [
        ("conv1.output_shape", [96, 55, 55], "pass"), ("conv1.weights", 34_848, "pass"),
        ("pool1.output_shape", [96, 27, 27], "pass"), ("pool1.params", 0, "pass"),
        ("norm1.output_shape", [96, 27, 27], "pass"), ("conv2.output_shape", [256, 27, 27], "pass"),
        ("pool2.output_shape", [256, 13, 13], "pass"), ("norm2.output_shape", [256, 13, 13], "pass"),
        ("conv3.output_shape", [384, 13, 13], "pass"), ("conv4.output_shape", [384, 13, 13], "pass"),
        ("conv5.output_shape", [256, 13, 13], "pass"), ("pool3.output_shape", [256, 6, 6], "pass"),
        ("fc6.output_shape", [4096], "pass"), ("fc7.output_shape", [4096], "pass"),
        ("fc8.output_shape", [1000], "pass"),
    ]
    # The notes' exact 96·11·11·3 = 34,848 weights and the lecture's "35K" both hold.
    assert verdicts("alexnet")["conv1.weights"] == [(34_848, 34_848, "pass"), ("35K", 34_848, "pass")]


# --- The 1x1 bottleneck example ----------------------------------------------------------------------------------


def test_one_by_one_bottleneck_example() -> None:
    # shared/seeds/003, "The problem of computational cost": 28x28x32 × 5x5x192 ≈ 120M multiplications directly;
    # "Using 1x1 convolution": 28x28x16 × 192 ≈ 2.4M plus 28x28x32 × 5x5x16 ≈ 10M, total ≈ 12.4M. Ints: derived.
    got = verdicts("bottleneck_1x1")
    assert got["macs"] == [
        ("120M", 120_422_400, "pass"), (120_422_400, 120_422_400, "pass"),
        ("12.4M", 12_443_648, "pass"), (12_443_648, 12_443_648, "pass"),
    ]
    assert got["reduce.macs"] == [("2.4M", 2_408_448, "pass"), (2_408_448, 2_408_448, "pass")]
    assert got["conv5x5.macs"] == [
        (120_422_400, 120_422_400, "pass"), ("10M", 10_035_200, "pass"), (10_035_200, 10_035_200, "pass"),
    ]
    assert got["output_shape"] == [([32, 28, 28], [32, 28, 28], "pass")] * 2


# --- Other tables ------------------------------------------------------------------------------------------------


def test_lenet5_1998_counts() -> None:
    # LeCun et al. 1998: 60,000 trainable parameters and 340,908 connections, layer by layer.
    got = verdicts("lenet5_1998")
    assert [v[2] for v in got["params"]] == ["pass"] and [v[2] for v in got["connections"]] == ["pass"]
    assert [v[2] for v in got["C3.connections"]] == ["pass"]


# --- The CLI -----------------------------------------------------------------------------------------------------


def test_verify_cli_json_lists_the_errata(cli: Callable[..., Result]) -> None:
    result = cli("verify", "googlenet", "vgg16", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [d["model"] for d in data] == ["googlenet", "vgg16"]
    googlenet = data[0]
    assert googlenet["summary"] == {"pass": 57, "fail": 0, "erratum": 15}
    errata = [c["what"] for s in googlenet["sources"] for c in s["checks"] if c["status"] == "erratum"]
    assert errata == [
        "macs",  # the paper's "1.5 billion multiply-adds" budget
        "conv1.weights", "conv1.macs", "inception_3b.weights", "inception_4a.weights", "inception_4a.macs",
        "inception_4b.weights", "inception_4c.weights", "inception_4d.weights", "inception_4e.weights",
        "inception_5a.weights", "inception_5a.macs", "inception_5b.weights",
        "params", "params",  # cs231n's "5M" (slides) and "4M" (notes)
    ]
    checks = [c for s in googlenet["sources"] for c in s["checks"]]
    assert all("(erratum: " in c["note"] for c in checks if c["status"] == "erratum")
    # cs231n's "24M" activations for VGG16, and fvcore, ptflops and thop counting torchvision's extra
    # AdaptiveAvgPool2d((7, 7)), which the paper's VGG16 lacks (#13)
    assert data[1]["summary"]["erratum"] == 4


def test_verify_exit_codes(cli: Callable[..., Result], tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    good = base / "good.yaml"
    good.write_text("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3}\n"
                    "expect:\n  - source: budget\n    params: 112\n")  # 3·3·3·4 + 4 = 112
    bad = base / "bad.yaml"
    bad.write_text(good.read_text().replace("params: 112", "params: 113"))
    none = base / "none.yaml"
    none.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    assert cli("verify", str(good)).exit_code == 0
    failed = cli("verify", str(bad))
    assert failed.exit_code == 1 and "expected exactly 113, got 112" in failed.stdout
    missing = cli("verify", str(none))
    assert missing.exit_code == 2 and "has no expect: data" in missing.stderr
    assert cli("verify", "vgg61").exit_code == 2


def test_whole_zoo_verifies(cli: Callable[..., Result]) -> None:
    result = cli("verify", "-q")
    assert result.exit_code == 0, result.stdout
    assert " 0 ✗" in result.stdout.splitlines()[-1]
