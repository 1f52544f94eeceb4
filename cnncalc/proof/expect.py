"""Check a :class:`~cnncalc.engine.report.Report` against a spec's ``expect:`` data, one verdict per published figure.

The rules exist so a zoo spec can carry its sources' numbers verbatim and the test suite can hold the engine to
them: an int must match exactly; a string such as ``"138M"`` holds within the precision it is printed with
(138M means 137.5M–138.5M); a mismatch the spec explains with ``erratum:`` is reported as such rather than as a
failure, so known errors in the literature stay visible without breaking the build. Figures are per sample, as
published, whatever batch the report was run at.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from cnncalc.engine.report import BlockRow, LayerRow, Report
from cnncalc.spec.figures import parse_figure
from cnncalc.spec.format import Expect, LayerExpect

Status = Literal["pass", "fail", "erratum"]
Expected = int | str | list[int]
Actual = int | float | str | list[int] | list[int | float] | None

#: Float slack for parsed figures ("7.609G" is 7609000000.000001 in binary); far below one unit at any scale used.
_REL_SLACK = 1e-14


@dataclass(frozen=True, slots=True)
class Verdict:
    """One published figure's verdict: what it is, as written, what the engine computed, and why it (mis)matches."""

    what: str
    expected: Expected
    actual: Actual
    status: Status
    note: str = ""


def _plain(x: float) -> str:
    """``137,500,000`` or ``2,713.6``: a bound as a reader would write it."""
    return f"{x:,.3f}".rstrip("0").rstrip(".")


def _holds(expected: int | str, actual: int) -> tuple[bool, str]:
    """Exact for ints; within the printed precision (value ± half a unit of the last digit) for strings."""
    if isinstance(expected, int):
        return actual == expected, "" if actual == expected else f"expected exactly {expected:,}, got {actual:,}"
    value, half = parse_figure(expected)
    slack = abs(value) * _REL_SLACK
    ok = value - half - slack <= actual <= value + half + slack
    span = f"{expected!r} means {_plain(value - half)}–{_plain(value + half)}"
    return ok, span if ok else f"{span}; got {actual:,}"


def _verdict(what: str, expected: Expected, actual: Actual, ok: bool, why: str, erratum: str | None) -> Verdict:
    """A mismatch becomes an 'erratum' when the spec explains it, so only unexplained mismatches fail."""
    if ok:
        return Verdict(what, expected, actual, "pass", why)
    if erratum:
        return Verdict(what, expected, actual, "erratum", f"{why} (erratum: {erratum.strip()})")
    return Verdict(what, expected, actual, "fail", why)


def _figure(what: str, expected: int | str, actual: int, erratum: str | None) -> Verdict:
    ok, why = _holds(expected, actual)
    return _verdict(what, expected, actual, ok, why, erratum)


def _shape(what: str, expected: list[int], actual: tuple[int, ...], erratum: str | None) -> Verdict:
    got = list(actual)
    why = "" if got == expected else f"expected {expected}, got {got}"
    return _verdict(what, expected, got, got == expected, why, erratum)


def _receptive_field(
    what: str, expected: list[int] | int, row: LayerRow | BlockRow, erratum: str | None
) -> Verdict:
    """An int means the same field in every spatial dim; a row past flatten/FC/global pooling has none."""
    if row.receptive_field is None:
        why = "the layer has no receptive field (every output sees the whole input)"
        return _verdict(what, expected, None, False, why, erratum)
    got = list(row.receptive_field)
    want = [expected] * len(got) if isinstance(expected, int) else expected
    why = "" if got == want else f"expected {want}, got {got}"
    return _verdict(what, expected, got, got == want, why, erratum)


def _layer(
    name: str, want: LayerExpect, row: LayerRow | BlockRow, batch: int, erratum: str | None
) -> list[Verdict]:
    """Every figure given for one layer or block instance; the layer's own erratum overrides the entry's."""
    why_not = want.erratum or erratum
    out: list[Verdict] = []
    if want.output_shape is not None:
        out.append(_shape(f"{name}.output_shape", want.output_shape, row.output_shape, why_not))
    figures: list[tuple[str, int | str | None, int]] = [
        ("params", want.params, row.params),
        ("weights", want.weights, row.weights),
        ("macs", want.macs, row.macs // batch),
        ("connections", want.connections, row.connections // batch),
        ("activations", want.activations, row.activations // batch),
    ]
    out += [_figure(f"{name}.{key}", exp, act, why_not) for key, exp, act in figures if exp is not None]
    if want.receptive_field is not None:
        out.append(_receptive_field(f"{name}.receptive_field", want.receptive_field, row, why_not))
    return out


def judge(report: Report, expect: Expect) -> list[Verdict]:
    """Verdicts for every figure of one ``expect:`` entry: totals first, then layers in the order written.

    ``weights`` are parameters without biases (cs231n lists them so); MACs, FLOPs and activations are divided by
    the report's batch, since sources print per-image figures. A layer name the report lacks is a failure (a
    typo must not pass silently), even in an entry with an erratum.
    """
    batch = report.batch
    totals = report.totals
    figures: list[tuple[str, int | str | None, int]] = [
        ("params", expect.params, totals.params),
        ("trainable_params", expect.trainable_params, totals.trainable_params),
        ("weights", expect.weights, totals.weights),
        ("buffers", expect.buffers, totals.buffers),
        ("macs", expect.macs, totals.macs // batch),
        ("connections", expect.connections, totals.connections // batch),
        ("flops", expect.flops, totals.flops // batch),
        ("activations", expect.activations, totals.activations // batch),
    ]
    out = [_figure(key, exp, act, expect.erratum) for key, exp, act in figures if exp is not None]
    if expect.output_shape is not None:
        out.append(_shape("output_shape", expect.output_shape, report.output_shape, expect.erratum))
    printed: dict[str, str] = getattr(report, "extras", {})
    for key, line in expect.printed.items():
        got = printed.get(key)
        why = "" if got == line else f"the convention prints {got!r}" if got is not None else "not printed"
        out.append(_verdict(key, line, got, got == line, why, expect.erratum))
    rows: dict[str, LayerRow | BlockRow] = {row.name: row for row in report.layers}
    rows.update({block.name: block for block in report.blocks})
    for name, want in expect.layers.items():
        row = rows.get(name)
        if row is None:
            close = difflib.get_close_matches(name, list(rows), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.append(Verdict(name, name, None, "fail", f"no layer named '{name}' in {report.model}{hint}"))
            continue
        out += _layer(name, want, row, batch, expect.erratum)
    return out


@dataclass(frozen=True, slots=True)
class SourceVerdicts:
    """One ``expect:`` entry's verdicts, with the source it cites."""

    source: str
    args: dict[str, object]
    checks: tuple[Verdict, ...]


def verify(spec: object) -> tuple[Report, list[SourceVerdicts]]:
    """Run every ``expect:`` entry of a spec (a path, zoo name, dict or Network) against fresh analyses.

    Entries that set ``args`` are checked against the network built with those arguments. A preset (a zoo name
    for a spec with ``--set`` values) verifies its spec: every figure of the family, its own among them.
    """
    from cnncalc.engine.graph import analyze
    from cnncalc.spec import zoo

    if isinstance(spec, str) and (preset := zoo.preset(spec)) is not None:
        spec = preset.spec
    report = analyze(spec)  # type: ignore[arg-type]
    net = report.network
    assert net is not None
    results = []
    for entry in net.expect:
        target = report
        if entry.args:
            source = net.file if net.file else spec
            target = analyze(source, args=entry.args)  # type: ignore[arg-type]
        if entry.convention is not None:
            from cnncalc.engine.conventions import apply

            target = apply(target, entry.convention)  # the figures are that tool's count
        results.append(SourceVerdicts(entry.source.strip(), dict(entry.args), tuple(judge(target, entry))))
    return report, results
