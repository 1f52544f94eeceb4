"""Counting conventions: the totals fvcore, ptflops, thop, torchinfo and Keras print for a network, from its spec.

Tools disagree about the same network (ResNet-50: 4.09 G multiply-adds in one, 4.11–4.13 G in others) because
each adds different things on top of the conv and linear products. Each tool here is one module whose rules
cite the tool's source; :func:`apply` recounts an analysis the tool's way, row by row, and :func:`compare` lists
every tool's total with the terms that make it differ from cnncalc's.

What the spec cannot know is how the torch code calls a layer: ptflops counts ``nn.ReLU`` twice but ``F.relu``
once, thop counts ``nn.AvgPool2d`` but not ``F.avg_pool2d``. The rules assume module calls; ``calls`` says which
layers the torch code calls otherwise (:data:`~cnncalc.engine.conventions.base.Call`): a set of names means
``function`` calls (``--functional`` globs); :func:`cnncalc.torch.conventions.traced_calls` reads them, exactly, from
a torch module's fx graph.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from cnncalc.engine.conventions.base import TERMS, Call, Convention, Site, Terms, Unit, add, bias_adds, has_torch_module
from cnncalc.engine.conventions.default import Cnncalc
from cnncalc.engine.conventions.fvcore import Fvcore
from cnncalc.engine.conventions.keras import Keras
from cnncalc.engine.conventions.ptflops import Ptflops, PtflopsAten
from cnncalc.engine.conventions.thop import Thop
from cnncalc.engine.conventions.torchinfo import Torchinfo
from cnncalc.engine.graph import _blocks
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Activated
from cnncalc.engine.layers.merge import Add
from cnncalc.engine.report import Analysis, LayerRow
from cnncalc.errors import CnncalcError

__all__ = ["CONVENTIONS", "TERMS", "Call", "Calls", "Comparison", "Convention", "Counted", "apply", "compare", "get"]

#: Layer name → how torch calls it; a plain collection of names means ``function`` calls. Unnamed: ``module``.
Calls = Mapping[str, Call] | Collection[str]

#: Every convention by its ``--convention`` name, cnncalc's own first.
CONVENTIONS: dict[str, Convention] = {
    c.name: c for c in (Cnncalc(), Fvcore(), Ptflops(), PtflopsAten(), Thop(), Torchinfo(), Keras())
}


def get(name: str) -> Convention:
    """The convention called ``name``; an unknown name is a usage error with the list of known ones."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise CnncalcError(f"unknown convention {name!r}; known: {', '.join(CONVENTIONS)}") from None


@dataclass(frozen=True)
class Counted(Analysis):
    """An analysis recounted under a tool's convention: rows' and totals' MACs (or FLOPs, params) are the tool's.

    ``to_dict()`` adds a ``convention`` object: the tool, what it counts, what is assumed, the total split into
    terms, and the tool's other printed figures.
    """

    convention: str = "cnncalc"
    terms: dict[str, int] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON plus the convention's description and terms."""
        out = super().to_dict()
        conv = CONVENTIONS[self.convention]
        out["convention"] = {
            "name": conv.name, "tool": conv.tool, "unit": conv.unit, "counts": conv.counts, "assumes": conv.assumes,
            "terms": dict(self.terms), "printed": dict(self.extras),
        }
        return out


def _sites(analysis: Analysis, calls: Calls) -> list[tuple[LayerRow, Site]]:
    kinds: Mapping[str, Call] = calls if isinstance(calls, Mapping) else dict.fromkeys(calls, "function")
    net = analysis.network
    if net is None:
        raise CnncalcError("a convention needs the analysed network (use engine.graph.analyze)")
    shapes = analysis.context.shapes
    return [
        (row, Site.of(row, node.layer, tuple(shapes[i] for i in node.inputs), analysis.batch,
                      kinds.get(node.name, "module")))
        for row, node in zip(analysis.layers, net.nodes, strict=True)
    ]


def apply(analysis: Analysis, name: str, calls: Calls = ()) -> Counted:
    """Recount ``analysis`` as the tool ``name`` would; ``calls``: the layers torch calls as functions."""
    conv = get(name)
    rows: list[LayerRow] = []
    total: Terms = {}
    warnings = list(analysis.warnings)
    for row, site in _sites(analysis, calls):
        terms = conv.terms(site)
        add(total, terms)
        count = sum(terms.values())
        flops = count if conv.unit == "flops" else row.flops
        macs = count if conv.unit == "macs" else row.macs
        rows.append(replace(row, macs=macs, flops=flops, params=conv.params(site)))
        if name != "cnncalc" and not has_torch_module(site.layer):
            warnings.append(f"{row.name}: {site.layer.type} is no torch module {conv.tool} could count; "
                            f"its cnncalc {'FLOPs' if conv.unit == 'flops' else 'MACs'} are kept")
    totals = analysis.totals
    figure = sum(total.values())
    params = sum(r.params for r in rows)
    new_totals = replace(totals, params=params, macs=figure if conv.unit == "macs" else totals.macs,
                         flops=figure if conv.unit == "flops" else totals.flops)
    base = {f.name: getattr(analysis, f.name) for f in fields(Analysis)}
    base.update(layers=tuple(rows), totals=new_totals, warnings=tuple(warnings))
    if analysis.network is not None:
        base["blocks"] = _blocks(analysis.network, rows)
    counted = Counted(**base, convention=conv.name, terms=total)
    return replace(counted, extras=conv.extras(counted))


@dataclass(frozen=True, slots=True)
class Comparison:
    """One tool's total next to cnncalc's, and the terms that make the difference."""

    name: str
    tool: str
    unit: Unit
    total: int
    #: cnncalc's figure in the same unit (its MACs, or its FLOPs for a FLOPs convention).
    baseline: int
    terms: dict[str, int]
    baseline_terms: dict[str, int]
    params: int
    extras: dict[str, str]

    @property
    def difference(self) -> int:
        """The tool's total minus cnncalc's."""
        return self.total - self.baseline

    def deltas(self) -> dict[str, int]:
        """Per term, the tool's count minus cnncalc's, in :data:`TERMS` order; zeros left out. They sum to
        :attr:`difference`."""
        keys = [k for k in TERMS if k in self.terms or k in self.baseline_terms]
        out = {k: self.terms.get(k, 0) - self.baseline_terms.get(k, 0) for k in keys}
        return {k: v for k, v in out.items() if v}

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name, "tool": self.tool, "unit": self.unit, "total": self.total, "cnncalc": self.baseline,
            "difference": self.difference, "terms": dict(self.terms), "differences": self.deltas(),
            "params": self.params, "printed": dict(self.extras),
        }


def flops_terms(site: Site, flops: int) -> Terms:
    """cnncalc's FLOPs of one layer, split into the same terms (the baseline a FLOPs convention is compared with)."""
    layer = site.layer
    if layer.family in ("conv", "fc"):
        act = site.fused()
        fused = 0
        if act is not None and isinstance(layer, Activated) and layer.activation is not None:
            act_layer = REGISTRY[layer.activation].model_validate({"type": layer.activation})
            fused = act_layer.evaluate(site.output).flops * site.batch
        products, biases = 2 * site.macs, bias_adds(site)
        return add({}, {"products": products, "biases": biases, "activations": fused,
                        "other": flops - products - biases - fused})
    key = {"norm": "batchnorm", "pool": "pooling", "act": "activations", "softmax": "softmax",
           "upsample": "upsampling"}.get(layer.family, "other")
    if isinstance(layer, Add):
        key = "residual adds"
    return add({}, {key: flops})


def compare(analysis: Analysis, calls: Calls = ()) -> list[Comparison]:
    """Every convention's total for ``analysis``, with cnncalc's figure in the same unit and the terms."""
    sites = _sites(analysis, calls)
    base_macs: Terms = {}
    base_flops: Terms = {}
    for row, site in sites:
        add(base_macs, CONVENTIONS["cnncalc"].terms(site))
        add(base_flops, flops_terms(site, row.flops))
    out = []
    for conv in CONVENTIONS.values():
        counted = apply(analysis, conv.name, calls)
        flops = conv.unit == "flops"
        out.append(Comparison(
            conv.name, conv.tool, conv.unit,
            counted.totals.flops if flops else counted.totals.macs,
            analysis.totals.flops if flops else analysis.totals.macs,
            counted.terms, base_flops if flops else base_macs, counted.totals.params, counted.extras,
        ))
    return out
