"""The quasi-affine form type, the symbolic walk and the symbolic CLI output (issue #12)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.dims import ceildiv, floordiv, window_out
from cnncalc.engine.graph import analyze
from cnncalc.engine.symbolic.analysis import SymbolicAnalysis
from cnncalc.engine.symbolic.bounds import bounds
from cnncalc.engine.symbolic.conditions import Condition
from cnncalc.engine.symbolic.expr import Expr, SymbolicError, collecting, compile_expr, symbol
from cnncalc.errors import SpecError

H, W = symbol("H"), symbol("W")


def _sym(spec: Any, **kw: Any) -> SymbolicAnalysis:
    report = analyze(spec, **kw)
    assert isinstance(report, SymbolicAnalysis)
    return report


# -- canonical forms


def test_resnet_stem_collapses_to_one_floor() -> None:
    """conv 7/2 p3, then four stride-2 stages: ⌊(H + 31) / 32⌋ (ResNet-50 gives 7 at 224: He et al. 2016, Table 1)."""
    x = window_out(H, (3, 3), 7, 2)
    for _ in range(4):
        x = window_out(x, (1, 1), 3, 2)
    assert str(x) == "⌊(H + 31) / 32⌋"
    assert isinstance(x, Expr) and x.subs({"H": 224}) == 7


@given(st.integers(-20, 20), st.integers(1, 8), st.integers(-20, 20), st.integers(1, 8))
def test_nested_floor_rule(a: int, s: int, b: int, t: int) -> None:
    """⌊(⌊(x + a) / s⌋ + b) / t⌋ = ⌊(x + a + s·b) / (s·t)⌋: the same canonical form, not just the same values."""
    nested = ((H + a) // s + b) // t
    flat = (H + a + s * b) // (s * t)
    assert isinstance(nested, Expr) and isinstance(flat, Expr)
    assert nested.terms == flat.terms


def test_ceil_becomes_floor_and_transposed_multiplies_out() -> None:
    assert str(ceildiv(H, 4)) == "⌊(H + 3) / 4⌋"
    assert str((H - 1) * 2 - 2 + 4) == "2·H"  # a 4/2 p1 transposed conv doubles exactly
    assert str(floordiv(2 * H + 5, 2)) == "H + 2"
    assert isinstance(floordiv(H, 1), Expr) and floordiv(H, 1).terms == H.terms
    assert (H - H) == 0 and isinstance(H - H, int)  # constants collapse to ints


@st.composite
def forms(draw: st.DrawFn, depth: int = 3) -> tuple[Any, Callable[[int, int], int]]:
    """A random expression built by the int operators, with the same computation on plain ints."""
    if depth == 0 or draw(st.booleans()):
        kind = draw(st.sampled_from(["H", "W", "c"]))
        if kind == "c":
            c = draw(st.integers(-9, 9))
            return c, lambda h, w: c
        return (H, lambda h, w: h) if kind == "H" else (W, lambda h, w: w)
    op = draw(st.sampled_from(["+", "-", "*", "//", "ceil", "%"]))
    a, fa = draw(forms(depth - 1))
    if op in ("//", "ceil", "%"):
        d = draw(st.integers(1, 7))
        if op == "//":
            return a // d, lambda h, w: fa(h, w) // d
        if op == "%":
            return a % d, lambda h, w: fa(h, w) % d
        return ceildiv(a, d), lambda h, w: -((-fa(h, w)) // d)
    b, fb = draw(forms(depth - 1))
    if op == "+":
        return a + b, lambda h, w: fa(h, w) + fb(h, w)
    if op == "-":
        return a - b, lambda h, w: fa(h, w) - fb(h, w)
    return a * b, lambda h, w: fa(h, w) * fb(h, w)


@given(forms(), st.integers(1, 300), st.integers(1, 300))
def test_forms_evaluate_like_ints_and_bounds_hold(form: tuple[Any, Callable[[int, int], int]], h: int, w: int) -> None:
    x, f = form
    want = f(h, w)
    if isinstance(x, Expr):
        assert x.subs({"H": h, "W": w}) == want
        assert compile_expr(x, ("H", "W"))(h, w) == want
        lo, hi = bounds(x)
        assert (lo is None or lo <= want) and (hi is None or want <= hi)
        assert Expr(x.terms).terms == x.terms
    else:
        assert x == want


def test_undecidable_comparison_answers_no_and_records() -> None:
    with collecting() as found:
        assert not ((H - 5) // 2 + 1 < 1)
        assert H // 4 == W // 4
        assert not (H + 1 < 1)  # decided: H ≥ 1, nothing recorded
    assert [Condition(e, kind).text() for e, kind in found] == ["H ≥ 5", "⌊H / 4⌋ − ⌊W / 4⌋ = 0"]
    with pytest.raises(SymbolicError):
        bool(H - 3)
    with pytest.raises(SymbolicError):
        _ = 10 // H


# -- the symbolic walk


def test_cs231n_conv_formula() -> None:
    """(W − F + 2P)/S + 1 (cs231n notes): AlexNet's conv1, 11/4 p0 on 227, gives 55."""
    report = _sym("3x227x227: conv11-96/4", input_shape=(3, "H", "W"))
    out = report.layers[0].output_shape
    assert str(out[1]) == "⌊(H + 1) / 4⌋ − 2"
    assert report.at({"H": 227, "W": 227}).layers[0].output_shape == (96, 55, 55)


def test_resnet50_at_symbolic_height_and_width() -> None:
    """Params stay integers (25,557,032: torchvision's resnet50); the output is 1000 classes at every size."""
    report = _sym("resnet50", input_shape=(3, "H", "W"), batch="N")
    assert report.totals.params == 25_557_032
    assert report.output_shape == (1000,)
    assert report.symbols == ("H", "W", "N")
    assert not [c for c in report.conditions if c.role == "valid"]
    assert "⌊(H + 31) / 32⌋·⌊(W + 31) / 32⌋" in str(report.totals.macs)
    # torchvision's published 4.09 GMACs at 224 (the 4.1 GFLOPs of He et al. 2016 count multiply-adds).
    assert report.at({"H": 224, "W": 224, "N": 1}).totals.macs == analyze("resnet50").totals.macs


def test_unet_output_and_conditions() -> None:
    """U-Net (Ronneberger et al. 2015, Fig. 1): a 572 tile gives a 388 map; crops need the input large enough."""
    report = _sym("unet", input_shape=(1, "H", "W"))
    assert str(report.output_shape[1]) == "16·⌊(H + 4) / 16⌋ − 188"
    assert report.at({"H": 572, "W": 572}).output_shape == (2, 388, 388)
    texts = [c.text() for c in report.conditions if c.role == "valid"]
    assert "H ≥ 188" in texts and "W ≥ 188" in texts


def test_spec_with_symbolic_input() -> None:
    spec = {"name": "stem", "input": [3, "H", "W"], "layers": [{"type": "conv2d", "out_channels": 768,
                                                                "kernel_size": 16, "stride": 16}]}
    report = _sym(spec)
    assert [str(d) for d in report.output_shape] == ["768", "⌊H / 16⌋", "⌊W / 16⌋"]
    assert report.totals.params == 16 * 16 * 3 * 768 + 768  # ViT-B/16's patch embedding (Dosovitskiy et al. 2021)
    assert [c.text() for c in report.conditions if c.role == "valid"] == ["H ≥ 16", "W ≥ 16"]
    assert [c.text() for c in report.conditions if c.role == "exact"] == ["H ≡ 0 (mod 16)", "W ≡ 0 (mod 16)"]


def test_merge_condition_when_branches_agree_only_for_some_sizes() -> None:
    """A 3/2 p1 branch and a 2/2 branch: ⌊(H + 1) / 2⌋ vs ⌊H / 2⌋ agree only for even H."""
    spec = {"name": "merge", "input": [4, "H", 8], "layers": [
        {"type": "conv2d", "name": "a", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
         "inputs": ["input"]},
        {"type": "conv2d", "name": "b", "out_channels": 4, "kernel_size": 2, "stride": 2, "inputs": ["input"]},
        {"type": "add", "name": "sum", "inputs": ["a", "b"]},
    ]}
    report = _sym(spec)
    merge = [c for c in report.conditions if c.layer == "sum"]
    assert [c.kind for c in merge] == ["=="]
    assert all(merge[0].holds({"H": h}) == (h % 2 == 0) for h in range(1, 50))
    with pytest.raises(SpecError):
        analyze(spec, input_shape=(4, 7, 8))


def test_flatten_then_linear_says_params_are_symbolic() -> None:
    report = _sym("vgg16", input_shape=(3, "H", "W"))
    assert isinstance(report.layer("fc6").params, Expr)
    assert any("fc6: parameters depend on the input size" in n for n in report.notes)
    given = _sym("3x32x32: conv3-8 flatten fc-10", input_shape=(3, "H", "H"))
    assert str(given.layer(given.layers[-1].name).params) == "80·H² − 320·H + 330"


def test_bad_symbolic_input_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="symbol name"):
        analyze("resnet18", input_shape=(3, "H+1", "W"))


# -- CLI


def test_cli_lists_conditions_under_the_table(cli: Callable[..., Result]) -> None:
    result = cli("unet", "--input", "1xHxW")
    assert result.exit_code == 0, result.output
    out = result.stdout
    table, _, tail = out.partition("Conditions (the network is valid only where every one holds):")
    assert "dec1/final" in table or "final" in table
    assert "H ≥ 188" in tail and "W ≥ 188" in tail
    assert "H ≡ 0 (mod 2)" in tail


def test_cli_json_markdown_explain_batch(cli: Callable[..., Result]) -> None:
    import json

    data = json.loads(cli("resnet50", "--input", "3xHxW", "--batch", "N", "--format", "json").stdout)
    assert data["input"] == [3, "H", "W"] and data["batch"] == "N"
    assert data["totals"]["params"] == 25_557_032
    assert data["symbolic"]["symbols"] == ["H", "W", "N"]
    tree = data["symbolic"]["trees"]["totals"]["macs"]
    assert {"symbol": "N"} in tree["sum"][0]["factors"]
    md = cli("resnet18", "--input", "3xHxW", "--format", "markdown").stdout
    assert md.startswith("## resnet18 (symbolic)") and "| conv1 | conv2d | 64x⌊(H + 1) / 2⌋x⌊(W + 1) / 2⌋ |" in md
    explained = cli("resnet18", "--input", "3xHxW", "--explain", "--layer", "conv1").stdout
    assert "conv1 (conv2d, 7x7/2 p3 nobias): 3xHxW → 64x⌊(H + 1) / 2⌋x⌊(W + 1) / 2⌋" in explained
    assert "MACs = 9408·⌊(H + 1) / 2⌋·⌊(W + 1) / 2⌋" in explained
    assert cli("-e", "3x32x32: conv3-8/2", "--input", "3xSxS").exit_code == 0
    bad = cli("resnet18", "--input", "3xH-1xW")
    assert bad.exit_code == 2 and "error:" in bad.stderr


def test_numeric_path_does_not_import_the_symbolic_engine() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cnncalc", "vgg16"], capture_output=True,
                          text=True, check=True)
    assert "symbolic" not in proc.stderr


@pytest.mark.parametrize("option", [["--convention", "fvcore"], ["--conventions"], ["--plot", "x.png"],
                                    ["--depth", "1"], ["--strict"]])
def test_options_that_need_numbers_are_refused_not_ignored(cli: Callable[..., Result], option: list[str]) -> None:
    result = cli("resnet18", "--input", "3xHxW", *option)
    assert result.exit_code == 2
    assert f"{option[0]} needs numeric sizes" in result.stderr
