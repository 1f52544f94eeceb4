"""Real-world tables, each with planted slips: exactly the planted cells are flagged, with the slip named.

Every table in ``tests/homework/corpus/`` is written as a student, a Keras user, a torchsummary/torchinfo user or a
cs231n reader would paste it; its ``<table>.expect.yaml`` says which spec it is checked against, the exact cells
(table row, column header) that must be flagged, and optionally words the slip or the notes must contain. The
figures the tables plant are wrong by construction (a bias left out, a depth left out, a + 1 forgotten), so the
correct values they are compared with are the spec's, derived by the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.homework.helpers import ROOT, Cli

CORPUS = Path(__file__).resolve().parent / "corpus"


def cases() -> list[Path]:
    return sorted(CORPUS.glob("*.expect.yaml"))


def table_of(expect: Path) -> Path:
    stem = expect.name.removesuffix(".expect.yaml")
    found = [p for p in CORPUS.iterdir() if p.name.startswith(stem + ".") and not p.name.endswith(".expect.yaml")]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("expect", cases(), ids=lambda p: p.name.removesuffix(".expect.yaml"))
def test_corpus_table(cli: Cli, expect: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    want = yaml.safe_load(expect.read_text(encoding="utf-8"))
    result = cli("check", want["spec"], str(table_of(expect)), "--format", "json", *want.get("args", []))
    assert result.exit_code == (1 if want["flagged"] else 0), result.output
    got = json.loads(result.stdout)
    flagged = sorted((c["row"], c["column"]) for c in got["cells"] if not c["ok"])
    assert flagged == sorted(tuple(f) for f in want["flagged"]), got["notes"]
    by_cell = {(c["row"], c["column"]): c for c in got["cells"]}
    for row, column, words in want.get("mistakes", []):
        assert words in by_cell[(row, column)]["mistake"], by_cell[(row, column)]
    for words in want.get("notes", []):
        assert any(words in note for note in got["notes"]), got["notes"]
    rows = {r["row"]: r["layer"] for r in got["rows"]}
    for row, layer in want.get("layers", []):
        assert rows[row] == layer, got["rows"]


def test_every_table_has_expectations() -> None:
    tables = {p.name.split(".")[0] for p in CORPUS.iterdir() if not p.name.endswith(".yaml")}
    assert tables == {p.name.removesuffix(".expect.yaml") for p in cases()}
    assert {"keras2_lenet", "keras3_lenet", "torchsummary_lenet", "torchinfo_lenet", "cs231n_vgg16",
            "course_ordinals", "partial_lenet", "flops_2macs"} <= tables
