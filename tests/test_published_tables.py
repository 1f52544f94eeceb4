"""The published tables shipped as expect data: verdicts for rows that reproduce and for the known errata."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result

from cnncalc.expect import verify


def verdicts(name: str) -> dict[str, list[str]]:
    _, results = verify(name)
    out: dict[str, list[str]] = {}
    for source in results:
        for check in source.checks:
            out.setdefault(check.what, []).append(check.status)
    return out


@pytest.mark.parametrize(
    ("what", "status"),
    [
        # Szegedy et al. 2014, Table 1: inception (3a) 159K params (K = 1024) and 128M ops reproduce from its
        # widths; conv2 112K / 360M too.
        ("inception_3a.weights", "pass"), ("inception_3a.macs", "pass"), ("conv2.weights", "pass"),
        ("conv2.macs", "pass"), ("fc.weights", "pass"),
        # conv1's 2.7K / 34M and 5a's 1072K / 54M do not (published.md §4): explained errata.
        ("conv1.weights", "erratum"), ("conv1.macs", "erratum"), ("inception_5a.macs", "erratum"),
        ("inception_4c.weights", "erratum"), ("inception_4c.macs", "pass"),
    ],
)
def test_googlenet_table_1(what: str, status: str) -> None:
    assert status in verdicts("googlenet")[what]


def test_cs231n_alexnet_walkthrough_rows_pass() -> None:
    # cs231n AlexNet case study: CONV1 [55x55x96] with (11*11*3)*96 = 35K parameters, POOL1 [27x27x96] with 0.
    got = verdicts("alexnet")
    assert got["conv1.weights"] == ["pass", "pass"]  # 34,848 exact and "35K"
    assert "pass" in got["pool1.params"] and got["pool3.output_shape"] == ["pass"]


def test_one_by_one_bottleneck_example() -> None:
    # Lecture notes: 28x28x32 × 5x5x192 ≈ 120M; with the 1x1 bottleneck 2.4M + 10M = 12.4M.
    got = verdicts("cs231n_1x1_bottleneck")
    assert got["macs"] == ["pass", "pass", "pass", "pass"]
    assert got["reduce.macs"] == ["pass"] and got["conv5x5.macs"] == ["pass"]


def test_lenet5_1998_counts() -> None:
    # LeCun et al. 1998: 60,000 trainable parameters and 340,908 connections, layer by layer.
    got = verdicts("lenet5_1998")
    assert got["params"] == ["pass"] and got["connections"] == ["pass"]
    assert got["C3.connections"] == ["pass"]


def test_verify_cli_json_lists_the_errata(cli: Callable[..., Result]) -> None:
    result = cli("verify", "googlenet", "vgg16", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [d["model"] for d in data] == ["googlenet", "vgg16"]
    assert data[0]["summary"]["fail"] == 0 and data[0]["summary"]["erratum"] == 13
    assert data[1]["summary"]["erratum"] == 1  # cs231n's "24M" activations


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
