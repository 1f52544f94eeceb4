"""The printed check table drops no text: every derivation and slip in the JSON is in the printed table, whole.

The derivation column wraps (and folds words wider than itself); nothing is cropped or cut with an ellipsis. The
test reads the printed table's last column back (everything right of where its header starts) and compares it
with the JSON of the same check; below ``STACK_BELOW`` columns, where cells are stacked, it reads the whole text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cnncalc.render.homework import STACK_BELOW
from tests.homework.helpers import EXAMPLE, ROOT, SPEC, Cli

CORPUS = Path(__file__).resolve().parent / "corpus"


def _tables() -> list[tuple[str, str]]:
    out = [(str(SPEC), str(EXAMPLE / "table.md")), (str(SPEC), str(EXAMPLE / "table.csv"))]
    for expect in sorted(CORPUS.glob("*.expect.yaml")):
        stem = expect.name.removesuffix(".expect.yaml")
        table = next(p for p in CORPUS.iterdir() if p.name.startswith(stem + ".") and p != expect)
        out.append((yaml.safe_load(expect.read_text(encoding="utf-8"))["spec"], str(table)))
    return out


def _last_column(text: str) -> str:
    """The printed derivation column, whitespace removed, read back from where its header starts."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if "Derivation" in line)
    start = lines[head].index("Derivation")
    rule = next(i for i in range(head, len(lines)) if lines[i].startswith("─"))
    body = [line[start:] for line in lines[rule + 1:] if not line.endswith("✗") or "cells:" not in line]
    return "".join("".join(body).split())


@pytest.mark.parametrize("width", ["100", "80", "60"])
@pytest.mark.parametrize(("spec", "table"), _tables(), ids=lambda v: Path(v).name)
def test_printed_derivations_are_whole(cli: Cli, spec: str, table: str, width: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    printed = cli("check", spec, table, "--width", width).stdout
    cells = json.loads(cli("check", spec, table, "--format", "json").stdout)["cells"]
    column = _last_column(printed) if int(width) >= STACK_BELOW else "".join(printed.split())
    for cell in cells:
        for text in (cell["derivation"], cell["mistake"]):
            assert "".join(text.split()) in column, (width, cell["row"], cell["column"], text)
