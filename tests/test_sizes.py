"""``cnncalc sizes``: the input sizes a network accepts, solved from the closed forms (issue #12)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.graph import analyze, run
from cnncalc.engine.symbolic.analysis import analyze_symbolic
from cnncalc.engine.symbolic.sizes import SIZE, Sizes, runs, sizes, solve, symbolic_input
from cnncalc.errors import SpecError
from cnncalc.spec.load import load


def test_unet_sizes() -> None:
    """Ronneberger et al. (2015) use 572×572 tiles: valid, and exact (every 2x2 pooling sees an even size)."""
    s = sizes(load("unet"), lo=32, hi=4096)
    assert s.smallest == 188
    assert s.valid == tuple(range(188, 4097))
    assert 572 in s.exact
    assert s.exact == tuple(range(188, 4097, 16))
    assert s.why(570).startswith("570 is not exact: 'enc3/pool'")
    assert s.why(100) == "100 is invalid: 'enc5/conv1' rejects it (needs S ≥ 108)"
    assert [r.layer for r in s.excluded][:2] == ["enc4/pool", "enc4/conv1"]


def test_resnet50_takes_every_size_and_one_dim() -> None:
    s = sizes(load("resnet50"), lo=32, hi=4096)
    assert s.valid == tuple(range(32, 4097)) and s.smallest == 1
    # Every size is exact: the stride-2 1x1 downsample convolutions read only even positions, so the last row of
    # an even-sized input is skipped like every other odd row, a gap of S − K = 1 by design, not a dropped pixel
    # (issue #11); the 3x3/2 p1 and 7x7/2 p3 windows lose only padding. The numeric walk agrees: no warning.
    assert 224 in s.exact and 225 in s.exact and s.exact == s.valid
    one = sizes(load("resnet50"), dim="W", lo=32, hi=64)
    assert one.dim == "W" and one.valid == tuple(range(32, 65))


def test_exact_sizes_match_the_numeric_warnings() -> None:
    """Exact means no strided layer drops a pixel: where the numeric walk warns of a stride that does not fit."""
    s = sizes(load("resnet50"), lo=200, hi=260)
    for n in range(200, 261):
        assert (n in s.exact) == (not analyze("resnet50", input_shape=(3, n, n)).warnings), n


@cache
def _sizes(name: str) -> Sizes:
    return sizes(load(name), lo=1, hi=400)


@given(st.sampled_from(["unet", "alexnet", "googlenet", "inception_v3", "vgg11", "zfnet", "lenet5", "espcn",
                        "deconvnet", "dilated_context"]), st.integers(1, 400))
def test_solver_agrees_with_the_numeric_analysis(name: str, n: int) -> None:
    """A size is valid exactly when the numeric analysis of that size succeeds."""
    net = load(name)
    s = _sizes(name)
    try:
        analyze(net, input_shape=(net.input[0], *(n for _ in net.input[1:])))
        ok = True
    except SpecError:
        ok = False
    assert (n in s.valid) == ok


def test_solver_equals_checking_every_size() -> None:
    """Periodicity gives the same answer as testing each condition at each size."""
    for name in ("unet", "inception_v3", "googlenet", "alexnet"):
        net = load(name)
        shape, _ = symbolic_input(net, None)
        report = analyze_symbolic(net, run, input_shape=shape)
        s = solve(report, 1, 1500)
        brute = tuple(n for n in range(1, 1501) if report.holds({SIZE: n}) is None)
        assert s.valid == brute, name
        exact = tuple(n for n in brute if report.holds({SIZE: n}, "exact") is None)
        assert s.exact == exact, name


def test_runs_text() -> None:
    assert runs((1, 2, 3, 4)) == ["1..4"]
    assert runs((188, 204, 220, 300)) == ["188..220 step 16", "300"]
    assert runs((5, 9)) == ["5", "9"]


def test_errors() -> None:
    with pytest.raises(SpecError, match="spatial dims are H, W"):
        sizes(load("unet"), dim="D")
    with pytest.raises(SpecError, match="range"):
        sizes(load("unet"), lo=10, hi=5)


def test_cli_sizes(cli: Callable[..., Result]) -> None:
    result = cli("sizes", "unet", "--range", "32..4096", "--exact")
    assert result.exit_code == 0, result.output
    assert "Valid (3909): 188..4096" in result.stdout
    assert "Exact, no strided layer drops a pixel (245): 188..4092 step 16" in result.stdout
    assert "32..35: 'enc4/pool' needs S ≥ 36" in result.stdout
    data: dict[str, Any] = json.loads(cli("sizes", "unet", "--format", "json").stdout)
    assert {"model", "dim", "range", "valid", "exact", "smallest", "excluded"} <= set(data)
    assert data["range"] == [32, 4096] and data["smallest"] == 188 and 572 in data["exact"]
    assert data["excluded"][0] == {"layer": "enc4/pool", "condition": "S ≥ 36", "role": "valid",
                                   "sizes": [32, 33, 34, 35]}
    why = cli("sizes", "unet", "--why", "571")
    assert why.stdout.strip() == "571 is not exact: 'enc2/pool' drops input pixels at it (needs S ≡ 0 (mod 2))"
    assert cli("sizes", "unet", "--dim", "H", "--format", "markdown").stdout.startswith("## unet")
    assert cli("sizes", "unet", "--range", "9..3").exit_code == 2
