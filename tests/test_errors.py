"""Bad input gives one located error message, through the API and through the CLI, never a traceback.

Regression cases live in ``tests/cases/invalid/`` (check-jsonschema style): ``<case>.yaml`` is the input and
``<case>.err`` the exact first line of ``SpecError.render()``. Adding a case = adding those two files.

How file paths appear: a message names the file exactly as it was given to ``cnncalc.load`` (or on the command
line). The tests run from the repository root and pass ``tests/cases/invalid/<case>.yaml``, so every ``.err`` line
starts with that relative path (and ``:LINE`` where the line is known).

Cases the engine gets wrong today are listed in ``KNOWN_BAD`` with the reason; their ``.err`` holds the message
it *should* give and the tests are strict xfails, so fixing the engine turns them into failures that ask for the
entry to be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import cnncalc
from cnncalc import SpecError

ROOT = Path(__file__).resolve().parent.parent
CASES = "tests/cases/invalid"  # relative to ROOT, so messages are stable wherever the checkout lives

#: case → why the engine's message differs from the .err today (file, line and expected text are in the .err).
KNOWN_BAD: dict[str, str] = {}


def case_names() -> list[str]:
    return sorted(p.stem for p in (ROOT / CASES).glob("*.yaml"))


def case_params() -> list[object]:
    return [
        pytest.param(name, id=name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BAD[name])])
        if name in KNOWN_BAD
        else pytest.param(name, id=name)
        for name in case_names()
    ]


def expected_line(name: str) -> str:
    text = (ROOT / CASES / f"{name}.err").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) == 1, f"{name}.err must hold exactly one line"
    return lines[0]


def same_first_line(actual: str, expected: str) -> bool:
    """Equality, except that YAML syntax errors are worded by the parser itself.

    The ``.err`` files hold libyaml's wording (PyYAML wheels ship it); the pure-Python parser words the same
    problem differently, so without libyaml only the location and the ``malformed YAML:`` prefix are compared.
    """
    if not yaml.__with_libyaml__ and "malformed YAML: " in expected and "constructor" not in expected:
        prefix = expected.split("malformed YAML: ", maxsplit=1)[0] + "malformed YAML: "
        return actual.startswith(prefix)
    return actual == expected


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def analyze(path: str | Path) -> cnncalc.Report:
    return cnncalc.analyze(cnncalc.load(path))


def test_every_case_has_an_err_file() -> None:
    yamls = {p.stem for p in (ROOT / CASES).glob("*.yaml")}
    errs = {p.stem for p in (ROOT / CASES).glob("*.err")}
    assert yamls == errs
    assert set(KNOWN_BAD) <= yamls
    assert len(yamls) >= 30


@pytest.mark.parametrize("name", case_params())
def test_api_error(name: str) -> None:
    with pytest.raises(SpecError) as info:
        analyze(f"{CASES}/{name}.yaml")
    first = info.value.render().splitlines()[0]
    assert same_first_line(first, expected_line(name)), first
    assert str(info.value) == info.value.render()


@pytest.mark.parametrize("name", case_params())
def test_cli_error(name: str) -> None:
    from cnncalc.cli import main

    result = CliRunner().invoke(main, [f"{CASES}/{name}.yaml"])
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert result.stderr.startswith("error: ")
    assert same_first_line(result.stderr.splitlines()[0].removeprefix("error: "), expected_line(name)), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


# --------------------------------------------------------------------------------------------------------------
# Cases that need the file system rather than a checked-in file. Paths are relative to a temporary directory.


def _non_utf8(tmp: Path) -> str:
    # "µ" in Latin-1 is the lone byte 0xB5, which is not valid UTF-8.
    (tmp / "latin1.yaml").write_bytes(b"name: \xb5net\ninput: [3, 32, 32]\nlayers: [relu]\n")
    return "latin1.yaml"


def _directory(tmp: Path) -> str:
    (tmp / "specs").mkdir()
    return "specs"


def _directory_with_suffix(tmp: Path) -> str:
    (tmp / "net.yaml").mkdir()
    return "net.yaml"


def _missing(tmp: Path) -> str:
    return "missing.yaml"


FS_CASES = [
    pytest.param(_non_utf8, "latin1.yaml: is not UTF-8 text", id="non-utf8"),
    pytest.param(_directory, "specs: is a directory, not a spec file", id="directory"),
    pytest.param(_directory_with_suffix, "net.yaml: is a directory, not a spec file", id="directory-named-yaml"),
    pytest.param(_missing, "missing.yaml: no such file", id="missing-file"),
]


@pytest.mark.parametrize(("make", "expected"), FS_CASES)
def test_api_file_errors(
    make: Callable[[Path], str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = make(tmp_path)
    with pytest.raises(SpecError) as info:
        analyze(path)
    assert info.value.render().splitlines()[0] == expected


@pytest.mark.parametrize(("make", "expected"), FS_CASES)
def test_cli_file_errors(
    make: Callable[[Path], str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cnncalc.cli import main

    monkeypatch.chdir(tmp_path)
    path = make(tmp_path)
    result = CliRunner().invoke(main, [path])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: {expected}"
    assert "Traceback" not in result.stderr


def test_unknown_name_is_neither_zoo_nor_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No suffix and no such file: it is looked up in the zoo, whose error suggests the closest network.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        analyze("lenet55")
    assert info.value.render().splitlines() == [
        "'lenet55' is neither a zoo network nor a spec file",
        "  hint: did you mean 'lenet5'?",
    ]


def test_alias_bomb_is_measured_not_expanded() -> None:
    # 9 levels of 9 aliases would be 9**9 = 387,420,489 leaves; the loader counts shared nodes once (linear time),
    # and stops at MAX_NODES, so this returns at once.
    from cnncalc.spec import loader

    with pytest.raises(SpecError, match="alias bomb"):
        loader.parse_text((ROOT / CASES / "alias_bomb.yaml").read_text(encoding="utf-8"))


def test_repeat_limit_is_checked_before_expanding() -> None:
    # 10**9 copies would take minutes to build; the count is checked first (spec.MAX_LAYERS).
    from cnncalc.spec.format import MAX_LAYERS

    spec = {"input": [3, 8, 8], "layers": [{"type": "relu", "repeat": MAX_LAYERS + 1}]}
    with pytest.raises(SpecError, match=f"repeat: {MAX_LAYERS + 1:,} is more than the limit of {MAX_LAYERS:,}"):
        cnncalc.load(spec)
    ok = cnncalc.load({"input": [3, 8, 8], "layers": [{"type": "relu", "repeat": 3}]})
    assert [n.name for n in ok.nodes] == ["relu_1", "relu_2", "relu_3"]


# --------------------------------------------------------------------------------------------------------------
# Engine bugs whose exact wording is not settled: the assertions are the essentials (a SpecError with a location).


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_fused_activation(tmp_path: Path) -> None:
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, "
                           "activation: relu7}\n")
    with pytest.raises(SpecError) as info:
        analyze(path)
    assert "net.yaml:3:" in info.value.render()
    assert "relu7" in info.value.render()


def test_fused_activation_name_is_case_insensitive_like_type(tmp_path: Path) -> None:
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, "
                           "activation: ReLU}\n")
    # 3·3·3·4 + 4 = 112 params; FLOPs 2·(6·6·4)·27 + 144 bias + 144 relu = 7,776 + 288 = 8,064.
    report = analyze(path)
    assert report.totals.params == 112
    assert report.totals.flops == 8_064


@pytest.mark.parametrize("name", ["conv2d", "flatten", "prelu"])
def test_fused_activation_must_be_an_elementwise_activation(name: str, tmp_path: Path) -> None:
    # conv2d needs its own fields, flatten changes the shape, prelu has parameters: none can be fused.
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, "
                           f"activation: {name}}}\n")
    with pytest.raises(SpecError) as info:
        analyze(path)
    assert "net.yaml:3: layer 'conv2d_1' (conv2d): activation: " in info.value.render()


def test_fused_activation_message_names_the_value_once(tmp_path: Path) -> None:
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, "
                           "activation: relu7}\n")
    with pytest.raises(SpecError) as info:
        analyze(path)
    assert info.value.render().count("relu7") == 1


def test_unknown_field_in_expect(tmp_path: Path) -> None:
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers: [relu]\nexpect:\n  - source: a paper\n    parms: 5\n")
    with pytest.raises(SpecError) as info:
        analyze(path)
    text = info.value.render()
    assert "net.yaml:5:" in text  # the line of 'parms'
    assert "'parms'" in text
    assert "did you mean 'params'" in text


def test_boolean_is_not_a_size(tmp_path: Path) -> None:
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: true, kernel_size: 3}\n")
    with pytest.raises(SpecError, match="out_channels"):
        analyze(path)


@pytest.mark.parametrize("anchor", ["", "&a "], ids=["fast_path", "full_loader"])
def test_nesting_limit_is_exact(anchor: str) -> None:
    """Mappings and lists nest at most ``MAX_DEPTH`` deep on both of the loader's paths; one more is refused at the
    line where it opens (the root mapping is level 1)."""
    from cnncalc.spec import loader

    def doc(depth: int) -> str:
        items = "".join(f"{'  ' * i}- {anchor if i == 0 else ''}\n" for i in range(depth - 1))
        return "name: t\nx:\n" + items[:-1] + "1\n"

    assert loader.parse_text(doc(loader.MAX_DEPTH))["name"] == "t"
    with pytest.raises(SpecError) as info:
        loader.parse_text(doc(loader.MAX_DEPTH + 1), "deep.yaml")
    assert (info.value.file, info.value.line) == ("deep.yaml", 2 + loader.MAX_DEPTH)
