"""--explain: the formulas are the engine's own (traced), their numbers are the report's, and they evaluate."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.engine.explain import Explanation, explain
from cnncalc.spec import zoo


def lines(exp: Explanation) -> dict[str, str]:
    return {line.label: line.text() for line in exp.lines}


def test_alexnet_conv1_as_the_issue_and_the_notes_write_it() -> None:
    # cs231n: conv1 of AlexNet on 227x227x3, 96 11x11 filters at stride 4, pad 0 → 55x55x96,
    # (11·11·3 + 1)·96 = 34,944 parameters; 55·55·96 outputs × 11·11·3 multiply-adds = 105,415,200.
    net = cnncalc.load("alexnet")
    (conv1,) = explain(cnncalc.analyze(net), "conv1")
    got = lines(conv1)
    assert got["H_out"] == "H_out = ⌊(227 + 0 + 0 − 11) / 4⌋ + 1 = 55"
    assert got["params"] == "params = 11·11·3·96 + 96 = 34,944"
    assert got["MACs"] == "MACs = 55·55·96·11·11·3 = 105,415,200"
    assert got["RF_H"] == "RF_H = 1 + (11 − 1)·1 = 11"
    assert conv1.text().startswith("conv1 (conv2d, 11x11/4 p0 +relu): 3x227x227 → 96x55x55")


def test_dilation_and_ceil_mode_show_in_the_formula() -> None:
    report_spec = {"input": [8, 112, 112], "layers": [
        {"type": "conv2d", "name": "c", "out_channels": 8, "kernel_size": 3, "dilation": 2, "padding": 2},
        {"type": "maxpool2d", "name": "p", "kernel_size": 3, "stride": 2, "ceil_mode": True},
    ]}
    net = cnncalc.load(report_spec)
    c, p = explain(cnncalc.analyze(net))
    assert lines(c)["H_out"] == "H_out = ⌊(112 + 2 + 2 − (2·(3 − 1) + 1)) / 1⌋ + 1 = 112"
    # PyTorch ceil_mode: ⌈(112 − 3)/2⌉ + 1 = 56 (the last window starts inside the input).
    assert lines(p)["H_out"] == "H_out = ⌈(112 + 0 + 0 − 3) / 2⌉ + 1 = 56"


def test_concat_channels_are_summed() -> None:
    net = cnncalc.load("googlenet")
    exps = explain(cnncalc.analyze(net), "inception_3a/*")
    merge = exps[-1]
    # GoogLeNet Table 1, inception (3a): 64 + 128 + 32 + 32 = 256 channels.
    assert lines(merge)["C_out"] == "C_out = 64 + 128 + 32 + 32 = 256"


def _evaluate(formula: str) -> int:
    """Turn the printed formula back into Python and evaluate it: the printed text itself must be right."""
    # a FLOPs term's label, ``(2 per multiply-add)``, ``(bias adds)``, ``(relu)``, is words, not arithmetic
    text = re.sub(r" \((?=[^()]*[a-z])[^()]*\)", "", formula)
    text = text.replace("·", "*").replace("−", "-").replace(" mod ", " % ")
    inner_floor = re.compile(r"⌊([^⌊⌋⌈⌉]*) / ([^⌊⌋⌈⌉]*)⌋")
    inner_ceil = re.compile(r"⌈([^⌊⌋⌈⌉]*) / ([^⌊⌋⌈⌉]*)⌉")
    while "⌊" in text or "⌈" in text:
        text = inner_floor.sub(r"((\1)//(\2))", text)
        text = inner_ceil.sub(r"(-((-(\1))//(\2)))", text)
    assert re.fullmatch(r"(max|[0-9+\-*/%(), ])+", text), text
    return int(eval(text))  # digits, operators and max only, checked above


@given(
    size=st.integers(8, 64), kernel=st.integers(1, 7), stride=st.integers(1, 4), padding=st.integers(0, 3),
    dilation=st.integers(1, 3), channels=st.integers(1, 8), out=st.integers(1, 8), bias=st.booleans(),
    ceil=st.booleans(),
)
def test_printed_formulas_evaluate_to_their_values(
    size: int, kernel: int, stride: int, padding: int, dilation: int, channels: int, out: int, bias: bool, ceil: bool,
) -> None:
    k_eff = dilation * (kernel - 1) + 1
    if k_eff > size + 2 * padding or padding > k_eff // 2:
        return
    net = cnncalc.load({"input": [channels, size, size + 3], "layers": [
        {"type": "conv2d", "out_channels": out, "kernel_size": kernel, "stride": stride, "padding": padding,
         "dilation": dilation, "bias": bias, "activation": "relu"},
        {"type": "maxpool2d", "kernel_size": 1 + (kernel % 3), "stride": stride, "ceil_mode": ceil},
    ]})
    try:
        report = cnncalc.analyze(net)
    except cnncalc.CnncalcError:
        return
    for exp in explain(report):
        for line in exp.lines:
            assert _evaluate(line.formula) == line.value, line.text()


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_network_explains_consistently(name: str) -> None:
    # explain() raises if any traced value differs from the report's: the explanation is the computation.
    net = cnncalc.load(name)
    report = cnncalc.analyze(net)
    exps = explain(report)
    assert [e.name for e in exps] == [row.name for row in report.layers]


def test_cli_explain(cli: Callable[..., Result]) -> None:
    result = cli("alexnet", "--explain", "--layer", "conv1")
    assert result.exit_code == 0
    assert "params = 11·11·3·96 + 96 = 34,944" in result.stdout
    as_json = json.loads(cli("alexnet", "--explain", "--layer", "fc*", "--format", "json").stdout)
    assert [e["name"] for e in as_json] == ["fc6", "fc7", "fc8"]
    # cs231n / Krizhevsky: fc6 takes the 6·6·256 = 9216 pooled values: 9216·4096 + 4096 = 37,752,832.
    assert as_json[0]["lines"][0] == {"label": "params", "formula": "9216·4096 + 4096", "value": 37_752_832}


def test_cli_layer_explain(cli: Callable[..., Result]) -> None:
    result = cli("layer", "conv2d", "--input", "3x32x32", "--out-channels", "8", "--kernel-size", "5", "--explain")
    assert result.exit_code == 0
    # cs231n notes' example: 8 5x5 filters on 32x32x3 → (5·5·3 + 1)·8 = 608 parameters.
    assert "params = 5·5·3·8 + 8 = 608" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [(("alexnet", "--explain", "--layer", "conv9"), "no layer matches 'conv9'"),
     (("alexnet", "--layer", "conv1"), "--layer selects layers for --explain")],
)
def test_cli_explain_errors(cli: Callable[..., Result], args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_same_padding_is_its_own_step() -> None:
    # TF/ONNX SAME: out = ⌈75 / 2⌉ = 38, P = (38 − 1)·2 + 3 − 75 = 2 in all, 1 before and 1 after (SAME_UPPER).
    report = cnncalc.analyze("3x75x75: conv3-8psame/2 maxpool3psame")
    conv, pool = (e.text() for e in explain(report))
    assert "  P_H = max((⌈75 / 2⌉ − 1)·2 + 3 − 75, 0) = 2 (1 before, 1 after)\n" in conv
    assert "  H_out = ⌊(75 + 1 + 1 − 3) / 2⌋ + 1 = 38\n" in conv
    # pooling, stride = kernel 3 on 38: ⌈38 / 3⌉ = 13 outputs need (13 − 1)·3 + 3 − 38 = 1, all after
    assert "  P_W = max((⌈38 / 3⌉ − 1)·3 + 3 − 38, 0) = 1 (0 before, 1 after)\n" in pool
    assert "  W_out = ⌊(38 + 0 + 1 − 3) / 3⌋ + 1 = 13\n" in pool


def test_flops_terms_are_labelled() -> None:
    report = cnncalc.analyze("3x32x32: conv5-8-relu gap fc-10")
    conv, pool, fc = explain(report)
    flops = {e.name: next(line.text() for line in e.lines if line.label == "FLOPs") for e in (conv, pool, fc)}
    # 28·28·8·5·5·3 = 470,400 multiply-adds, 28·28·8 = 6,272 bias adds and as many ReLUs
    assert flops[conv.name] == ("FLOPs = 2·470400 (2 per multiply-add) + 6272 (bias adds) + 6272 (relu) = 953,344")
    # a global pool's window is the whole 28x28 map, written as its size, not as ⌈28 / 1⌉ − ⌊0·28 / 1⌋
    assert flops[pool.name] == "FLOPs = 8·28·28 = 6,272"
    assert flops[fc.name] == "FLOPs = 2·80 (2 per multiply-add) + 10 (bias adds) = 170"
