"""Fuzzing as a test: whatever a person (or a fuzzer) types, cnncalc answers with its own error or a result.

Positions in the texts are drawn from a fixed range and taken modulo the length, so that no draw depends on an
earlier one and hypothesis can replay and shrink them.

Three front doors are fuzzed, each property bounded by the hypothesis profile (``dev``: 200 examples, ``ci``:
2,000): the spec loader (mutated zoo specs and random YAML values in layer fields), the one-line notation, and
the homework table reader and checker (mutated corpus tables). The only acceptable failure is a
:class:`~cnncalc.errors.CnncalcError` (exit code 2 at the CLI); anything else is a crash, which the CLI would
report as an internal error (exit code 3). Known crashes found this way are the regression cases of
``tests/cases/invalid`` (a string block argument, 1e400, 5,000-digit integers, huge sizes).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.proof.homework import check
from cnncalc.spec.loader import parse_text
from cnncalc.spec.notation import parse as parse_notation

ROOT = Path(__file__).resolve().parent.parent
SMALL_SPECS = [ROOT / "specs" / name for name in ("lenet5.yaml", "alexnet.yaml", "resnet18.yaml")]
CORPUS = ROOT / "tests" / "homework" / "corpus"
TABLES = sorted(p for p in CORPUS.iterdir() if not p.name.endswith(".yaml"))
HOMEWORK_SPEC = ROOT / "examples" / "homework" / "lenet_homework.yaml"

_FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], deadline=None)

#: Fragments that broke or nearly broke the loader and the evaluator: huge numbers, floats, strings where numbers
#: go, expressions, YAML structure characters.
_NASTY = ["1e400", "-1", "0", "10" + "0" * 400, "1" * 5000, "'8'", '"${width * 2}"', "${width // 0}", "[1, 1]",
          "{before: [1, 1]}", "null", "true", "nan", ".inf", "&a [*a]", "*a", "{", "]", ":", "- ", "\t", "\x00",
          "same", "valid", "3x224x224", "${" + "(" * 60 + "1" + ")" * 60 + "}", "${'a' * 99999999}"]


def _analyze_spec_text(text: str) -> None:
    with contextlib.suppress(CnncalcError):
        data = parse_text(text, "fuzz.yaml")
        cnncalc.analyze(data)


@pytest.mark.parametrize("path", SMALL_SPECS, ids=lambda p: p.stem)
@_FUZZ
@given(data=st.data())
def test_mutated_specs_never_crash(path: Path, data: st.DataObject) -> None:
    text = path.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        at = data.draw(st.integers(0, 10**6), label="at") % (len(text) + 1)
        cut = data.draw(st.integers(0, 12), label="cut")
        piece = data.draw(st.sampled_from(_NASTY) | st.text(max_size=8), label="piece")
        text = text[:at] + piece + text[at + cut:]
    _analyze_spec_text(text)


_SCALARS = st.one_of(
    st.integers(-10, 10**20), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.sampled_from(_NASTY), st.text(max_size=12),
)
_VALUES: Any = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_FIELDS = ["out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "out_features", "activation",
           "repeat", "name", "inputs", "scale_factor", "dim", "bias", "ceil_mode", "output_size", "flatten"]
_TYPES = ["conv2d", "maxpool2d", "avgpool2d", "linear", "relu", "batchnorm2d", "concat", "add", "upsample",
          "flatten", "dropout", "softmax", "conv_transpose2d", "adaptive_avgpool2d", "bogus"]


@_FUZZ
@given(
    layers=st.lists(st.fixed_dictionaries({"type": st.sampled_from(_TYPES)},
                                          optional=dict.fromkeys(_FIELDS, _VALUES)), min_size=1, max_size=4),
    shape=st.one_of(st.lists(st.integers(-2, 10**13), max_size=4), st.sampled_from(_NASTY)),
    block_arg=_VALUES,
)
def test_random_layer_fields_never_crash(layers: list[dict[str, Any]], shape: Any, block_arg: Any) -> None:
    spec = {
        "name": "fuzz", "input": shape,
        "blocks": {"b": {"args": {"width": 8}, "layers": [{"type": "conv2d", "out_channels": "${width * 2}",
                                                           "kernel_size": 1}]}},
        "layers": [*layers, {"block": "b", "with": {"width": block_arg}}],
    }
    with contextlib.suppress(CnncalcError):
        cnncalc.analyze(spec)


_NOTATION = st.text(alphabet="0123456789x-:>(),[]+ |@*convpoolmaxavgfcrelubnsoftmax_dropout→.eE${}'\"\\", max_size=60)


@_FUZZ
@given(expr=_NOTATION | st.text(max_size=40))
def test_notation_never_crashes(expr: str) -> None:
    with contextlib.suppress(CnncalcError):
        cnncalc.analyze(parse_notation(expr))


@_FUZZ
@given(expr=st.sampled_from(["3x32x32: conv5-8 maxpool2 fc-10", "1x28x28: conv3-4 relu fc-10",
                             "3x224x224: conv3-64 conv3-64 maxpool2 fc-1000"]), data=st.data())
def test_mutated_notation_never_crashes(expr: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, 10**6)) % (len(expr) + 1)
    piece = data.draw(st.sampled_from(["99999999999999999999", "0", "-", ":", "x", "1e400", "->", ""])
                      | st.text(max_size=4))
    with contextlib.suppress(CnncalcError):
        cnncalc.analyze(parse_notation(expr[:at] + piece + expr[at + data.draw(st.integers(0, 4)):]))


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.name)
@_FUZZ
@given(data=st.data())
def test_mutated_tables_never_crash(path: Path, data: st.DataObject, tmp_path: Path) -> None:
    raw = path.read_bytes()
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        at = data.draw(st.integers(0, 10**6), label="at") % (len(raw) + 1)
        cut = data.draw(st.integers(0, 10), label="cut")
        piece = data.draw(st.sampled_from([b"|", b",", b"\n", b"(", b")", b"x", b"1e400", b"9" * 400, b"\xff",
                                           b"None", b"-1", b"=", b"*", b"Total params: 1", b"\t", b"---"])
                          | st.binary(max_size=6), label="piece")
        raw = raw[:at] + piece + raw[at + cut:]
    table = tmp_path / path.name
    table.write_bytes(raw)
    report = _report()
    with contextlib.suppress(CnncalcError):
        check(report, table)


_REPORT: list[Any] = []


def _report() -> Any:
    if not _REPORT:
        _REPORT.append(cnncalc.analyze(HOMEWORK_SPEC))
    return _REPORT[0]


def _shape_of(data: Any) -> Any:
    """Values, lines and key lines of loaded data, for comparing the two loaders."""
    if isinstance(data, dict):
        return ("map", getattr(data, "line", None), dict(getattr(data, "key_lines", {})),
                {k: _shape_of(v) for k, v in data.items()})
    if isinstance(data, list):
        return ("seq", getattr(data, "line", None), dict(getattr(data, "key_lines", {})), [_shape_of(v) for v in data])
    return (type(data).__name__, "nan" if isinstance(data, float) and math.isnan(data) else data)


def _full_load(text: str) -> Any:
    import yaml

    from cnncalc.spec import loader

    try:
        return _shape_of(yaml.load(text, Loader=loader._Loader))
    except (CnncalcError, yaml.YAMLError) as err:
        return ("error", str(err))


@pytest.mark.parametrize("path", SMALL_SPECS, ids=lambda p: p.stem)
@_FUZZ
@given(data=st.data())
def test_fast_loader_agrees_with_the_full_loader(path: Path, data: st.DataObject) -> None:
    """The event-stream fast path gives the same values and lines as PyYAML's composer, or hands over to it."""
    from cnncalc.spec import loader

    text = path.read_text(encoding="utf-8")
    at = data.draw(st.integers(0, 10**6), label="at") % (len(text) + 1)
    piece = data.draw(st.sampled_from(["1", "'1'", "yes", "~", "1.5", "0x10", "1_000", "{a: 1}", "[1, 2]", "- x",
                                       "a: b", ": ", "\n  ", "name: n", "2001-01-01"]) | st.text(max_size=5))
    text = text[:at] + piece + text[at + data.draw(st.integers(0, 6)):]
    try:
        fast: Any = _shape_of(loader._fast(text))
    except loader._FullLoaderError:
        return
    except CnncalcError as err:
        fast = ("error", str(err))
    assert fast == _full_load(text)
