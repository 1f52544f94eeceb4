"""What makes a 100,000-layer spec fast (issue #11) must not change a byte or share anything mutable.

The fast JSON writer is compared with ``json.dumps(indent=2)`` on generated data; the validation memo must never
hand two nodes one object that could change, nor confuse values YAML spells differently (``true`` is not ``1``).
"""

from __future__ import annotations

import json
import math
from enum import IntEnum
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc import SpecError
from cnncalc.render import jsontext
from cnncalc.render.jsontext import dumps

# Strings with what a JSON writer must escape or a template could trip on: quotes, backslashes, control characters
# (the bulk encoder's cut is NUL), percent signs, non-ASCII.
_text = st.text(alphabet=st.sampled_from(['a', 'Z', '"', '\\', '\x00', '\x01', '\n', '%', 's', 'é', '→', '😀', ' ']),
                max_size=6)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), _text,
                    st.floats(allow_nan=True, allow_infinity=True))
_leaf_list = st.lists(_scalar, max_size=4) | st.tuples(_scalar, _scalar)
_value = st.one_of(_scalar, _leaf_list, st.none(), st.dictionaries(_text, _scalar, max_size=2))


@st.composite
def _records(draw: Any) -> list[dict[str, Any]]:
    """Rows with the same keys in the same order, long enough for the column path; each column of one kind."""
    keys = draw(st.lists(_text, min_size=1, max_size=5, unique=True))
    kinds = {k: draw(st.sampled_from([_scalar, _leaf_list, st.lists(st.integers(), min_size=2, max_size=2),
                                      st.just([]), _leaf_list | st.none(), _value])) for k in keys}
    n = draw(st.integers(8, 14))
    return [{k: draw(kinds[k]) for k in keys} for _ in range(n)]


_json = st.recursive(
    _value | _records(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4) | _records(),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_json_writer_is_json_dumps_indent_2(data: Any) -> None:
    want = json.dumps(data, indent=2)
    assert dumps(data) == want
    with patch.object(jsontext, "_CHUNK", 3):  # rows written in several chunks
        assert dumps(data) == want


@pytest.mark.parametrize("data", [
    {1: "a", "b": [1.5, None]},  # a non-string key: json.dumps converts it
    [IntEnum("E", "X").X] * 9,  # an int subclass
    {"rows": [{"a": True, "b": [math.inf]}] * 10},  # one row object, repeated
    [{"a": 1}, {"b": 1}] * 5,  # records whose keys differ
    [{"a": 1, "b": 2}] * 5 + [{"b": 2, "a": 1}] * 5,  # the same keys in another order
])
def test_json_writer_matches_on_what_it_hands_to_the_standard_library(data: Any) -> None:
    assert dumps(data, end="\n") == json.dumps(data, indent=2) + "\n"


def test_json_writer_refuses_a_cycle_as_the_standard_library_does() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(loop)


def test_json_output_of_a_long_chain_is_json_dumps(tmp_path: Any) -> None:
    entries = ["  - {type: conv1d, out_channels: 16, kernel_size: 3, padding: 1}", "  - relu"] * 150
    path = tmp_path / "chain.yaml"  # benchmarks/bench_scale.py's chain, 300 layers
    path.write_text("\n".join(["name: chain", "input: [16, 256]", "layers:", *entries]) + "\n")
    report = cnncalc.analyze(path)
    assert cnncalc.render.RENDERERS["json"](report, cnncalc.render.text.Options()) == json.dumps(
        report.to_dict(), indent=2) + "\n"


def _net(layers: list[Any]) -> Any:
    return cnncalc.load({"name": "t", "input": [3, 8, 8], "layers": layers})


def test_equal_scalar_entries_share_one_immutable_layer() -> None:
    conv = {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}
    net = _net([dict(conv), "relu", dict(conv), "relu"])
    a, b = net.nodes[0].layer, net.nodes[2].layer
    assert a is b  # the memo is in use (else the next assertion tests nothing)
    assert all(isinstance(v, str | int | float | bool | type(None)) for v in a.__dict__.values())
    assert [n.name for n in net.nodes] == ["conv2d_1", "relu_1", "conv2d_2", "relu_2"]


def test_entries_with_lists_get_layers_of_their_own() -> None:
    conv = {"type": "conv2d", "out_channels": 3, "kernel_size": [3, 3], "padding": [1, 1]}
    net = _net([dict(conv), dict(conv)])
    a, b = net.nodes[0].layer, net.nodes[1].layer
    assert a == b and a is not b
    assert a.kernel_size is not b.kernel_size  # a list one node could change under the other's feet


def test_memo_tells_true_from_1() -> None:
    # YAML's true equals 1 in Python (and hashes alike); strict sizes refuse it (cnncalc.engine.layers.base.PosInt).
    conv = {"type": "conv2d", "out_channels": 3, "kernel_size": 1}
    with pytest.raises(SpecError, match="kernel_size"):
        _net([conv, {**conv, "kernel_size": True}])


def test_memo_keeps_each_named_layer() -> None:
    net = _net([{"type": "relu", "name": "a"}, {"type": "relu", "name": "b"}, "relu"])
    assert [n.layer.name for n in net.nodes] == ["a", "b", None]


def test_direct_init_builds_what_the_dataclass_would() -> None:
    from dataclasses import FrozenInstanceError, dataclass, field

    from cnncalc.model import direct_init

    def make() -> Any:
        @dataclass(frozen=True, slots=True)
        class Row:
            name: str
            size: int
            dims: tuple[int, ...] = ()
            line: int | None = None

        return Row

    plain, direct = make(), direct_init(make())
    for args, kwargs in [(("a", 1), {}), (("a", 1, (2, 3)), {"line": 4}), ((), {"size": 5, "name": "b"})]:
        want, got = plain(*args, **kwargs), direct(*args, **kwargs)
        assert [getattr(got, f) for f in ("name", "size", "dims", "line")] == \
               [getattr(want, f) for f in ("name", "size", "dims", "line")]
    with pytest.raises(FrozenInstanceError):
        direct("a", 1).size = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        direct("a")  # a field without a default is still required

    @dataclass(frozen=True, slots=True)
    class Factory:
        items: list[int] = field(default_factory=list)

    with pytest.raises(TypeError, match="needs dataclasses' own __init__"):
        direct_init(Factory)

    @dataclass(frozen=True)
    class Unslotted:
        size: int

    with pytest.raises(TypeError, match="no slots"):
        direct_init(Unslotted)
