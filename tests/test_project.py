"""Project hygiene that users rely on: the README's commands are CI's, the core never imports torch."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("```sh") < 40, "the set-up commands must be the README's first lines"
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("cnncalc vgg16")
    assert "[test]" in commands[1] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci
    assert "CNNCALC_REQUIRE_TORCH=1" in ci
    assert "torch==2.13.0" in ci


def test_the_torch_extra_accepts_a_range_of_versions() -> None:
    # A single-version pin in an extra forces a downgrade on users (issue #9): the extra is a range holding CI's pin.
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    (requirement,) = extra["torch"]
    assert "==" not in requirement and ">=" in requirement and "<" in requirement
    from packaging.specifiers import SpecifierSet

    assert "2.13.0" in SpecifierSet(requirement.removeprefix("torch"))


def test_import_stays_light() -> None:
    code = (
        "import sys, cnncalc; cnncalc.analyze('vgg16');"
        "heavy = [m for m in ('torch', 'sympy', 'matplotlib', 'numpy', 'rich') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"analyze() imported {out.stdout.strip()}"


def test_every_zoo_spec_is_in_the_package_data() -> None:
    from cnncalc.spec import zoo

    shipped = {p.stem for p in (ROOT / "specs").glob("*.yaml")}
    assert set(zoo.names()) == shipped
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"specs" = "cnncalc/specs"' in pyproject
