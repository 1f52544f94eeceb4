"""Comparison data: one summary line per network, and a layer-by-layer diff of two variants of one network.

Pure data (renderers in :mod:`cnncalc.render.compare` format it). Every figure comes from the reports' own rows
and totals; nothing is recomputed here except two derived quantities, ``depth`` and ``final_rf``, defined below.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.report import LayerRow, Report
from cnncalc.model import INPUT

#: Layer families that count towards depth, as papers count it ("16 weight layers", "50-layer ResNet").
WEIGHT_FAMILIES = frozenset({"conv", "fc"})

#: The numeric columns of a comparison, in order; ratios are taken to the first network's value.
METRICS = ("params", "macs", "flops", "activations", "activation_bytes", "peak_bytes", "depth")


def depth(report: Report) -> int:
    """Weight layers (convolution, fully connected) on the longest path from the input to any output.

    This is how the papers count: VGG-16 has 16, ResNet-50 50 (its projection shortcuts sit on a shorter
    path), GoogLeNet 22 ("22 layers deep when counting only layers with parameters"). The family comes from the
    registry's class roles, never from the type name.
    """
    longest: dict[str, int] = {INPUT: 0}
    for row in report.layers:
        cls = REGISTRY.get(row.type)
        weight = 1 if cls is not None and cls.family in WEIGHT_FAMILIES else 0
        longest[row.name] = weight + max((longest.get(name, 0) for name in row.inputs), default=0)
    return max(longest.values())


def final_rf(report: Report) -> tuple[int | float, ...] | None:
    """The receptive field of the last layer that still has one (the field before flatten or global pooling).

    ``None`` as well for a network without spatial dims (its fields are empty tuples).
    """
    for row in reversed(report.layers):
        if row.receptive_field:
            return row.receptive_field
    return None


def peak_bytes(report: Report) -> int | None:
    """The inference peak by liveness (:mod:`cnncalc.engine.memory`); ``None`` where it is not one number."""
    from cnncalc.engine.memory import inference_peak

    inf = inference_peak(report)
    return None if inf is None else inf.peak_bytes


@dataclass(frozen=True, slots=True)
class Summary:
    """One network's headline figures, as a comparison table shows them."""

    model: str
    input: tuple[int, ...]
    output_shape: tuple[int, ...]
    batch: int
    dtype: str
    layers: int
    params: int
    macs: int
    flops: int
    activations: int
    activation_bytes: int
    peak_bytes: int | None
    depth: int
    final_rf: tuple[int | float, ...] | None

    def value(self, metric: str) -> int | None:
        """A numeric column by name (one of :data:`METRICS`)."""
        value: int | None = getattr(self, metric)
        return value

    def to_dict(self) -> dict[str, Any]:
        """The summary's part of ``compare --format json``."""
        return {
            "model": self.model, "input": list(self.input), "output_shape": list(self.output_shape),
            "batch": self.batch, "dtype": self.dtype, "layers": self.layers, "params": self.params,
            "macs": self.macs, "flops": self.flops, "activations": self.activations,
            "activation_bytes": self.activation_bytes, "peak_bytes": self.peak_bytes, "depth": self.depth,
            "final_rf": None if self.final_rf is None else list(self.final_rf),
        }


def summarize(report: Report) -> Summary:
    """The headline figures of one report."""
    t = report.totals
    return Summary(
        model=report.model, input=report.input, output_shape=report.output_shape, batch=report.batch,
        dtype=report.dtype, layers=len(report.layers), params=t.params, macs=t.macs, flops=t.flops,
        activations=t.activations, activation_bytes=t.activation_bytes, peak_bytes=peak_bytes(report),
        depth=depth(report), final_rf=final_rf(report),
    )


def ratio(value: int | None, base: int | None) -> float | None:
    """``value / base``, or ``None`` where either is unknown or the base is zero."""
    if value is None or base is None or base == 0:
        return None
    return value / base


@dataclass(frozen=True, slots=True)
class Comparison:
    """Several networks side by side; the first is the reference the ratios are taken to."""

    summaries: tuple[Summary, ...]

    def ratios(self, summary: Summary) -> dict[str, float | None]:
        """Each metric of ``summary`` divided by the first network's."""
        first = self.summaries[0]
        return {m: ratio(summary.value(m), first.value(m)) for m in METRICS}

    def to_dict(self) -> dict[str, Any]:
        """``compare --format json``: one object per network, with its ratios to the first."""
        return {
            "reference": self.summaries[0].model if self.summaries else None,
            "networks": [{**s.to_dict(), "ratios": self.ratios(s)} for s in self.summaries],
        }


def compare(reports: list[Report]) -> Comparison:
    """Summaries of ``reports``, in the order given."""
    return Comparison(tuple(summarize(r) for r in reports))


Status = Literal["added", "removed", "changed", "same"]

#: What makes two rows of the same name differ, in the order a reviewer reads them. The receptive field is left
#: out on purpose: a layer added early changes every field after it, which says nothing about those layers.
DIFF_FIELDS = ("type", "summary", "output_shape", "params", "macs", "flops", "activations")
#: Fields whose change is given as a signed delta.
DELTA_FIELDS = ("params", "macs", "flops", "activations")


@dataclass(frozen=True, slots=True)
class LayerChange:
    """One row of a layer diff: a layer only in the first network, only in the second, or in both."""

    status: Status
    name: str
    before: LayerRow | None
    after: LayerRow | None
    #: The fields of :data:`DIFF_FIELDS` that differ (empty unless ``changed``).
    changed: tuple[str, ...] = ()

    def delta(self, metric: str) -> int:
        """``after − before`` for a counted field, a missing side counting as 0."""
        before: int = getattr(self.before, metric) if self.before is not None else 0
        after: int = getattr(self.after, metric) if self.after is not None else 0
        return after - before

    def to_dict(self) -> dict[str, Any]:
        """The change's part of ``compare --layers --format json``."""
        return {
            "status": self.status,
            "name": self.name,
            "changed": list(self.changed),
            "before": None if self.before is None else self.before.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
            "delta": {m: self.delta(m) for m in DELTA_FIELDS},
        }


@dataclass(frozen=True, slots=True)
class LayerDiff:
    """Two variants of one network, layer by layer, in execution order (removed rows where they stood)."""

    before: Summary
    after: Summary
    changes: tuple[LayerChange, ...]

    def count(self, status: Status) -> int:
        """How many rows have ``status``."""
        return sum(1 for c in self.changes if c.status == status)

    @property
    def differs(self) -> bool:
        """True when any layer was added, removed or changed."""
        return any(c.status != "same" for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        """``compare --layers --format json``."""
        return {
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "counts": {s: self.count(s) for s in ("added", "removed", "changed", "same")},
            "delta": {m: _sub(self.after.value(m), self.before.value(m)) for m in METRICS},
            "layers": [c.to_dict() for c in self.changes],
        }


def _sub(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


def _changed(a: LayerRow, b: LayerRow) -> tuple[str, ...]:
    return tuple(f for f in DIFF_FIELDS if getattr(a, f) != getattr(b, f))


def diff(before: Report, after: Report) -> LayerDiff:
    """Match layers by name (aligned in order, as ``diff`` aligns lines) and say what each change did.

    Names are the spec's stable handles, so a renamed layer reads as one removed and one added, as in a code
    review; rows whose figures or config differ under the same name are ``changed``.
    """
    a_names = [r.name for r in before.layers]
    b_names = [r.name for r in after.layers]
    changes: list[LayerChange] = []
    matcher = difflib.SequenceMatcher(a=a_names, b=b_names, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for a, b in zip(before.layers[i1:i2], after.layers[j1:j2], strict=True):
                fields = _changed(a, b)
                changes.append(LayerChange("changed" if fields else "same", a.name, a, b, fields))
            continue
        changes += [LayerChange("removed", a.name, a, None) for a in before.layers[i1:i2]]
        changes += [LayerChange("added", b.name, None, b) for b in after.layers[j1:j2]]
    return LayerDiff(summarize(before), summarize(after), tuple(changes))
