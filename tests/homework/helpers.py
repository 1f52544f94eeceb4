"""What the homework tests share: the example spec, and a table written to a file and checked against a spec."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

import cnncalc
from cnncalc.proof.homework import Cell, CheckResult, check

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "homework"
SPEC = EXAMPLE / "lenet_homework.yaml"
Cli = Callable[..., Result]


def run(spec: str | dict[str, object], text: str, tmp_path: Path, name: str = "t.md", layout: str = "auto",
        ) -> CheckResult:
    """Write ``text`` as a table file and check it against ``spec``."""
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
