"""Byte-for-byte CLI output over the whole zoo, pinned before the package was restructured (issue #8).

Each command's stdout, stderr and exit code for every zoo network are hashed into ``tests/golden/zoo_cli.json``;
a refactoring that changes one byte of what a user sees fails here. Refresh with ``pytest --update-goldens``
only after an intended change, and review the reason in the commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.spec import zoo

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "zoo_cli.json"

#: The views a user sees: every format, a narrow and a wide table, folded blocks, explain, hwc layout.
VIEWS: dict[str, list[str]] = {
    "table": ["--width", "100"],
    "table80": ["--width", "80"],
    "table160": ["--width", "160", "--batch", "4", "--dtype", "float16"],
    "depth1": ["--width", "100", "--depth", "1"],
    "json": ["--format", "json"],
    "csv": ["--format", "csv"],
    "markdown": ["--format", "markdown", "--layout", "hwc"],
    "explain": ["--explain", "--width", "100"],
}


def _digest(args: list[str]) -> str:
    from cnncalc.cli import main

    result = CliRunner().invoke(main, args, catch_exceptions=False)
    blob = f"{result.exit_code}\n{result.stdout}\n--stderr--\n{result.stderr}"
    blob = blob.replace(str(ROOT), "<checkout>")  # verify names spec files by path: CI runs in another folder
    return hashlib.sha256(blob.encode()).hexdigest()


def _cases() -> list[tuple[str, list[str]]]:
    cases = [(f"{name}/{view}", [name, *args]) for name in zoo.names() for view, args in VIEWS.items()]
    # Presets (a spec plus --set values): each in the table view; the two that were spec files before regnet.yaml
    # took them in, in every view (their output did not change by a byte).
    cases += [(f"{name}/{view}", [name, *args]) for name in zoo.presets() for view, args in VIEWS.items()
              if view == "table" or name in ("regnet_x_400mf", "regnet_y_400mf")]
    cases += [("verify", ["verify"]), ("verify-json", ["verify", "--format", "json"]), ("list", ["list"]),
              ("layers", ["layer"]), ("schema", ["schema"]),
              ("check-lenet", ["check", "examples/homework/lenet_homework.yaml", "examples/homework/table.csv"]),
              ("check-lenet-md", ["check", "examples/homework/lenet_homework.yaml", "examples/homework/table.md",
                                  "--format", "json"])]
    return cases


def test_cli_output_is_unchanged_on_the_zoo(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    actual = {key: _digest(args) for key, args in _cases()}
    if request.config.getoption("--update-goldens"):
        GOLDEN.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))
    assert not changed, f"CLI output changed for {len(changed)} case(s): {changed[:20]}"
