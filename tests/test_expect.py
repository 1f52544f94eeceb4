"""The rules of :func:`cnncalc.proof.expect.judge`, on a hand-built report, so the checker itself can fail.

The report here is written out by hand (no engine involved): a conv, a pool, a flatten and an FC layer; the
total parameter count is set per test to probe the precision boundaries.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cnncalc.engine.report import LayerRow, Report, Totals
from cnncalc.proof.expect import Verdict, judge
from cnncalc.spec.format import Expect


def _row(name: str, shape: tuple[int, ...], *, params: int = 0, biases: int = 0, macs: int = 0, batch: int = 1,
         rf: tuple[int, ...] | None = None) -> LayerRow:
    size = batch
    for d in shape:
        size *= d
    return LayerRow(
        name=name, type=name.rstrip("0123456789"), summary="", output_shape=shape, params=params, biases=biases,
        trainable_params=params, buffers=0, macs=macs * batch, flops=2 * macs * batch, activations=size,
        activation_bytes=4 * size, stores=True, receptive_field=rf, jump=None, rf_offset=None,
    )


def _report(batch: int = 1, params: int = 138_357_544) -> Report:
    rows = (
        _row("conv", (8, 4, 4), params=224, biases=8, macs=3_456, batch=batch, rf=(3, 3)),
        _row("pool", (8, 2, 2), batch=batch, rf=(4, 4)),
        _row("flatten", (32,), batch=batch),
        _row("fc", (10,), params=330, biases=10, macs=320, batch=batch),
    )
    totals = Totals(
        params=params, trainable_params=params, buffers=0, macs=3_776 * batch, flops=7_552 * batch,
        activations=278 * batch, activation_bytes=1_112 * batch, param_bytes=4 * params, biases=18,
    )
    return Report(model="toy", input=(3, 6, 6), batch=batch, dtype="float32", layers=rows, totals=totals)


def _check(entry: dict[str, Any], report: Report | None = None) -> list[Verdict]:
    return judge(report or _report(), Expect.model_validate({"source": "test", **entry}))


def _one(entry: dict[str, Any], report: Report | None = None) -> Verdict:
    (result,) = _check(entry, report)
    return result


def test_exact_int_matches_only_exactly() -> None:
    assert _one({"params": 138_357_544}).status == "pass"
    off = _one({"params": 138_357_545})
    assert off.status == "fail"
    assert off.expected == 138_357_545
    assert off.actual == 138_357_544
    assert "138,357,545" in off.note


@pytest.mark.parametrize(
    ("actual", "status"),
    [
        (138_357_544, "pass"),
        (137_500_000, "pass"),  # lower bound of 138M ± 0.5M, inclusive
        (138_500_000, "pass"),  # upper bound
        (137_499_999, "fail"),
        (138_500_001, "fail"),
        (138_600_000, "fail"),
    ],
)
def test_approximate_figure_holds_at_its_printed_precision(actual: int, status: str) -> None:
    assert _one({"params": "138M"}, _report(params=actual)).status == status


@pytest.mark.parametrize(
    ("figure", "actual", "status"),
    [
        ("138.4M", 138_357_544, "pass"),  # one decimal: ± 0.05M
        ("138.3M", 138_357_544, "fail"),
        ("7.609G", 7_609_500_000, "pass"),  # ± 0.0005G, boundary inclusive despite binary floats
        ("7.609G", 7_609_500_001, "fail"),
        ("1.2e6", 1_250_000, "pass"),  # ± half of the last digit: 0.05e6
        ("1.2e6", 1_250_001, "fail"),
        ("61,706", 61_706, "pass"),  # commas are digit separators: an exact figure
        ("61,706", 61_707, "fail"),
    ],
)
def test_precision_follows_the_digits_written(figure: str, actual: int, status: str) -> None:
    assert _one({"params": figure}, _report(params=actual)).status == status


@pytest.mark.parametrize(
    ("figure", "actual", "status"),
    [
        ("2.7Ki", 2_764, "pass"),  # 2.7·1024 = 2764.8 ± 51.2
        ("2.7K", 2_764, "fail"),  # 2700 ± 50
        ("2.7K", 2_700, "pass"),
        ("2.7Ki", 2_700, "fail"),  # below 2713.6
        ("2.7Ki", 2_816, "pass"),  # upper bound 2764.8 + 51.2
        ("2.7Ki", 2_817, "fail"),
    ],
)
def test_binary_and_decimal_prefixes(figure: str, actual: int, status: str) -> None:
    assert _one({"params": figure}, _report(params=actual)).status == status


def test_weights_are_params_without_biases() -> None:
    # totals: 138,357,544 params − 18 biases; layers: conv 224 − 8, fc 330 − 10
    assert _one({"weights": 138_357_526}).status == "pass"
    assert _one({"weights": 138_357_544}).status == "fail"
    checks = _check({"layers": {"conv": {"weights": 216}, "fc": {"weights": 330}}})
    assert [(c.what, c.status) for c in checks] == [("conv.weights", "pass"), ("fc.weights", "fail")]


def test_totals_come_first_then_layers_in_written_order() -> None:
    checks = _check({"layers": {"fc": {"params": 330}, "conv": {"params": 224}}, "macs": 3_776, "params": "138M"})
    assert [c.what for c in checks] == ["params", "macs", "fc.params", "conv.params"]
    assert all(c.status == "pass" for c in checks)


def test_output_shapes_compare_lists() -> None:
    assert _one({"output_shape": [10]}).status == "pass"
    assert _one({"output_shape": [1, 10]}).status == "fail"
    good = _one({"layers": {"pool": {"output_shape": [8, 2, 2]}}})
    assert (good.what, good.status, good.actual) == ("pool.output_shape", "pass", [8, 2, 2])
    assert _one({"layers": {"pool": {"output_shape": [2, 2, 8]}}}).status == "fail"  # channels first


def test_receptive_field_int_means_every_dim() -> None:
    assert _one({"layers": {"pool": {"receptive_field": 4}}}).status == "pass"
    assert _one({"layers": {"pool": {"receptive_field": [4, 4]}}}).status == "pass"
    assert _one({"layers": {"pool": {"receptive_field": [4, 5]}}}).status == "fail"
    assert _one({"layers": {"conv": {"receptive_field": 4}}}).status == "fail"
    global_field = _one({"layers": {"fc": {"receptive_field": 4}}})
    assert (global_field.status, global_field.actual) == ("fail", None)


def test_layer_macs_and_activations() -> None:
    checks = _check({"layers": {"conv": {"macs": 3_456, "activations": 128}, "pool": {"activations": "32"}}})
    assert [c.status for c in checks] == ["pass", "pass", "pass"]
    assert _one({"layers": {"conv": {"macs": "3.4K"}}}).status == "fail"


def test_figures_are_per_sample_at_any_batch() -> None:
    report = _report(batch=4)
    entry = {"macs": 3_776, "activations": 278, "layers": {"conv": {"macs": 3_456, "activations": 128}}}
    checks = _check(entry, report)
    assert [c.status for c in checks] == ["pass"] * 4


def test_erratum_on_the_entry_turns_mismatches_into_errata() -> None:
    entry = {"params": "24M", "macs": 3_776, "erratum": "the rows sum to 15.2M", "layers": {"fc": {"params": 1}}}
    checks = _check(entry)
    assert [(c.what, c.status) for c in checks] == [("params", "erratum"), ("macs", "pass"), ("fc.params", "erratum")]
    assert "the rows sum to 15.2M" in checks[0].note


def test_erratum_on_a_layer_covers_only_that_layer() -> None:
    checks = _check({
        "params": 1,
        "layers": {"conv": {"activations": 253_440, "erratum": "55x55x96 = 290,400"}, "fc": {"params": 2}},
    })
    assert [(c.what, c.status) for c in checks] == [
        ("params", "fail"), ("conv.activations", "erratum"), ("fc.params", "fail"),
    ]


def test_unknown_layer_fails_with_a_hint() -> None:
    result = _one({"layers": {"conv1": {"params": 224}}})
    assert (result.what, result.status, result.actual) == ("conv1", "fail", None)
    assert "did you mean 'conv'?" in result.note
    # a typo is never excused by an erratum
    assert _one({"erratum": "known", "layers": {"fc9": {"params": 330}}}).status == "fail"


def test_an_empty_entry_checks_nothing() -> None:
    assert _check({}) == []


def test_figure_check_is_frozen() -> None:
    result = _one({"params": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "pass"  # type: ignore[misc]


def test_totals_carry_biases_and_stored_activations_outside_the_json() -> None:
    # conv 8 5x5 on 3x32x32: 5·5·3·8 weights + 8 biases = 608 (cs231n's formula); fc on the pooled 8x14x14:
    # 1,568·10 + 10 = 15,690. Weights are the 16,298 parameters less the 18 biases.
    from cnncalc.engine.graph import analyze

    report = analyze({"input": [3, 32, 32], "layers": [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 5}, {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"}, {"type": "linear", "out_features": 10}]})
    totals = report.totals
    assert (totals.params, totals.biases, totals.weights) == (16_298, 18, 16_280)
    # The input's 3·32·32 values, then the stored outputs: 8·28·28 + 8·14·14 + 10 (flatten is a view).
    assert (totals.input_activations, totals.stored_activations) == (3_072, 6_272 + 1_568 + 10)
    assert totals.activations == 3_072 + 7_850
    assert list(totals.to_dict()) == ["params", "trainable_params", "buffers", "macs", "flops", "activations",
                                      "activation_bytes", "param_bytes", "connections"]
