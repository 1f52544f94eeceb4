"""The HTML report: one self-contained file (inline CSS, inline SVG, a few lines of script; no network access).

It shows the headline figures, per-layer charts (activation memory, parameters, MACs, receptive field: the cs231n
point that memory sits early and parameters late, at a glance), the block diagram (:mod:`cnncalc.render.diagram`)
and the full table. ``compare`` gets a page with the side-by-side table and MACs against parameters, one mark per
network; ``compare --layers`` a page with the diff. Deterministic output: the same report gives the same bytes.
"""

from __future__ import annotations

import math
from html import escape

from cnncalc.engine.compare import Comparison, LayerDiff, summarize
from cnncalc.engine.report import Report
from cnncalc.render.diagram import diagram, family, rf_text, sections, tooltip
from cnncalc.render.text import Layout, Options, human, human_bytes, shape_text
from cnncalc.version import __version__

CSS = """
:root{--fg:#1d2430;--mut:#5d6675;--bg:#fff;--line:#e3e6eb;--mem:#2a9d8f;--par:#e76f51;--mac:#4e79a7;--rf:#8e6bbf}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:#f6f7f9}main{max-width:1360px;margin:0 auto;padding:20px 28px 40px}
h1{font-size:26px;margin:0 0 2px}h2{font-size:17px;margin:28px 0 10px}.sub{color:var(--mut);margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:20px}.card span{color:var(--mut);font-size:12px}
.panel{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.charts .lbl{font-size:12px;fill:var(--fg);font-weight:600}.charts .ax{font-size:11px;fill:var(--mut)}
.charts .m{fill:var(--mem)}.charts .p{fill:var(--par)}.charts .c{fill:var(--mac)}
.charts .r{fill:none;stroke:var(--rf);stroke-width:2}.charts .base{stroke:var(--line)}
.charts .hit{fill:transparent}.charts .hit:hover{fill:rgba(0,0,0,.07)}.charts .blk{fill:#f1f3f6}
.split{display:grid;grid-template-columns:auto minmax(0,1fr);gap:18px;align-items:start}
.diagram{display:flex;flex-direction:column;align-items:flex-start;gap:4px}
.diagram details{border:1px solid var(--line);border-radius:8px;background:#fbfbfd;padding:2px 6px}
.diagram summary{cursor:pointer;font-size:12.5px;padding:3px 2px}.diagram summary i{color:var(--mut)}
.diagram summary span{color:var(--mut);margin-left:6px}
.dag .edges path{fill:none;stroke:#9aa3b0;stroke-width:1.4}.dag .edges path.skip{stroke:#e08a3c;stroke-dasharray:4 3}
.dag .node rect{fill:#fff;stroke:#c9ced6}.dag .node:hover rect{stroke:#333}.dag .n{font-size:12px;font-weight:600}
.dag .t{font-weight:400;fill:var(--mut);font-size:10.5px}.dag .d{font-size:10.5px;fill:#39414d}
.dag circle.port{fill:#9aa3b0}.dag text.port{font-size:10.5px;fill:var(--mut)}
.f-conv .k{fill:#4e79a7}.f-fc .k{fill:#b07aa1}.f-pool .k{fill:#59a14f}.f-norm .k{fill:#bab0ac}
.f-act .k,.f-softmax .k,.f-maxout .k{fill:#edc948}.f-merge .k{fill:#f28e2b}.f-upsample .k{fill:#76b7b2}
.dag .k{fill:#d0d4da}.legend span{display:inline-block;margin-right:12px;font-size:12px;color:var(--mut)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:var(--bg);font-size:12px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);white-space:nowrap}th{text-align:left;position:sticky;
top:0;background:#eef0f3}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.blockrow td{font-weight:600;
background:#f7f8fa}tr.warn td:first-child::after{content:" ⚠";color:#c0392b}
.bars{width:72px;min-width:72px}.bar{display:block;height:5px;border-radius:2px;margin:1px 0;min-width:1px}
.bar.m{background:var(--mem)}.bar.p{background:var(--par)}
button{font:inherit;font-size:12px;border:1px solid var(--line);background:#fff;border-radius:5px;padding:2px 9px;
cursor:pointer;margin-right:6px}footer{color:var(--mut);font-size:12px;margin-top:30px}
tr.added td{background:#e9f7ef}tr.removed td{background:#fdecea}tr.changed td{background:#fff8e6}
.note{color:var(--mut);font-size:12.5px}.marks circle{fill:rgba(78,121,167,.35);stroke:#4e79a7}
.marks text{font-size:12px;fill:var(--fg)}.marks .mark:hover circle{fill:rgba(78,121,167,.6)}
"""

#: Folds and unfolds every block of the diagram (the only script; the page reads fine without it).
SCRIPT = ("function fold(o){document.querySelectorAll('details.block').forEach(function(d){d.open=o;});}")

FAMILY_COLORS = (("conv", "#4e79a7"), ("fc", "#b07aa1"), ("pool", "#59a14f"), ("norm", "#bab0ac"),
                 ("act", "#edc948"), ("merge", "#f28e2b"), ("upsample", "#76b7b2"))


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style><script>{SCRIPT}</script></head>\n"
            f"<body><main>{body}<footer>Generated by cnncalc {escape(__version__)}: every figure is computed from "
            "the spec's formulas; nothing is looked up.</footer></main></body></html>\n")


def _cards(items: list[tuple[str, str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card" title="{escape(hint)}"><span>{escape(label)}</span><b>{escape(value)}</b>'
        f"<span>{escape(hint)}</span></div>" for label, value, hint in items) + "</div>"


def _chart_panel(values: list[float], y0: int, height: int, width: float, step: float, cls: str,
                 label: str, top: str) -> str:
    peak = max(values) if values else 0
    bars = []
    for i, v in enumerate(values):
        if v <= 0 or peak <= 0:
            continue
        h = max(v / peak * height, 0.8)
        bars.append(f'<rect x="{i * step:.1f}" y="{y0 + height - h:.1f}" width="{max(step - 0.6, 0.8):.1f}" '
                    f'height="{h:.1f}"/>')
    return (f'<text class="lbl" x="0" y="{y0 - 6}">{escape(label)}</text>'
            f'<text class="ax" x="{width}" y="{y0 - 6}" text-anchor="end">max {escape(top)}</text>'
            f'<g class="{cls}">{"".join(bars)}</g>'
            f'<line class="base" x1="0" x2="{width}" y1="{y0 + height}" y2="{y0 + height}"/>')


def charts(report: Report, layout: Layout = "chw") -> str:
    """Per-layer activation memory, parameters and MACs as bars, and the receptive field as a line, on one axis.

    One column per layer in execution order; hovering a column shows the layer's figures.
    """
    rows = report.layers
    n = max(len(rows), 1)
    width = 1180.0
    step = width / n
    height = 70
    gap = 30
    mem = [float(r.activation_bytes) if r.stores else 0.0 for r in rows]
    par = [float(r.params) for r in rows]
    mac = [float(r.macs) for r in rows]
    rf = [max(r.receptive_field) if r.receptive_field else None for r in rows]
    known = [float(v) for v in rf if v is not None]
    y = 20
    parts = [_chart_panel(mem, y, height, width, step, "m", "Activation memory per layer (stored outputs)",
                          human_bytes(int(max(mem, default=0)))),
             _chart_panel(par, y + height + gap, height, width, step, "p", "Parameters per layer",
                          human(int(max(par, default=0)))),
             _chart_panel(mac, y + 2 * (height + gap), height, width, step, "c", "MACs per layer",
                          human(int(max(mac, default=0))))]
    y_rf = y + 3 * (height + gap)
    top = max(known, default=1.0)
    points = [f"{(i + 0.5) * step:.1f},{y_rf + height - v / top * height:.1f}"
              for i, v in enumerate(rf) if v is not None]
    parts.append(f'<text class="lbl" x="0" y="{y_rf - 6}">Receptive field (pixels of the input)</text>'
                 f'<text class="ax" x="{width}" y="{y_rf - 6}" text-anchor="end">max {top:g}</text>'
                 f'<polyline class="r" points="{" ".join(points)}"/>'
                 f'<line class="base" x1="0" x2="{width}" y1="{y_rf + height}" y2="{y_rf + height}"/>')
    total = y_rf + height + 8
    bands = []  # top-level blocks as faint bands under the bars, named where the name fits
    start = 0
    for k, section in enumerate(sections(report)):
        end = start + len(section.rows)
        if section.block is not None:
            x, w = start * step, (end - start) * step
            shade = ' class="blk"' if k % 2 else ' class="blk" style="fill:#e9ecf1"'
            bands.append(f'<rect{shade} x="{x:.1f}" y="8" width="{w:.1f}" height="{total - 8}"/>')
            name = section.block.name
            if len(name) * 6.5 < w:
                bands.append(f'<text class="ax" x="{x + w / 2:.1f}" y="{total + 12}" text-anchor="middle">'
                             f"{escape(name)}</text>")
        start = end
    parts.insert(0, "".join(bands))
    total += 18
    hits = "".join(f'<rect class="hit" x="{i * step:.1f}" y="0" width="{step:.1f}" height="{total}">'
                   f"<title>{escape(tooltip(r, layout))}</title></rect>" for i, r in enumerate(rows))
    return (f'<svg class="charts" viewBox="-4 0 {width + 8:.0f} {total}" width="100%" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="per-layer charts">{"".join(parts)}{hits}'
            "</svg>")


def _num(value: int) -> str:
    return f"{value:,}" if value else "—"


def layer_table(report: Report, layout: Layout = "chw") -> str:
    """Every layer with its block rows, as the terminal table shows them, with share bars for memory and params.

    The type is the row's tooltip (and on the diagram's node), which keeps the table beside the diagram.
    """
    from cnncalc.render.table import rows

    act_total = max(sum(r.activations for r in report.layers if r.stores), 1)
    par_total = max(report.totals.params, 1)
    head = ("<tr><th>Layer</th><th>Config</th><th>Output</th><th>Params</th><th>MACs</th>"
            "<th>Acts</th><th>RF</th><th>Mem / Par</th></tr>")
    body = []
    for r in rows(report):
        classes = " ".join(c for c in ("blockrow" if r.block else "", "warn" if r.warned else "") if c)
        cls = f' class="{classes}"' if classes else ""
        body.append(
            f'<tr{cls}><td title="{escape(r.type)}">{escape(r.name).replace("  ", "&ensp;&ensp;")}</td>'
            f"<td>{escape(r.summary)}</td><td class=n>{shape_text(r.output_shape, layout)}</td>"
            f"<td class=n>{_num(r.params)}</td><td class=n>{_num(r.macs)}</td>"
            f"<td class=n>{r.activations:,}</td><td class=n>{escape(r.rf)}</td><td class=bars>"
            f'<i class="bar m" style="width:{100 * r.stored / act_total:.1f}%"></i>'
            f'<i class="bar p" style="width:{100 * r.params / par_total:.1f}%"></i></td></tr>')
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def render(report: Report, options: Options) -> str:
    """The HTML report of one network (the ``html`` entry of the renderers registry)."""
    layout = options.layout
    t = report.totals
    s = summarize(report)
    peak = [("Peak memory", human_bytes(s.peak_bytes), "inference peak")] if s.peak_bytes is not None else []
    cards = _cards([
        ("Parameters", human(t.params), f"{t.params:,} ({human_bytes(t.param_bytes)})"),
        ("MACs", human(t.macs), f"{t.macs:,}"),
        ("FLOPs", human(t.flops), f"{t.flops:,}"),
        ("Activations", human_bytes(t.activation_bytes), f"{t.activations:,} values, input + stored outputs"),
        *peak,
        ("Depth", str(s.depth), "weight layers on the longest path"),
        ("Final receptive field", rf_text(s.final_rf), "pixels, last layer that has one"),
        ("Layers", str(len(report.layers)), f"output {shape_text(report.output_shape, layout)}"),
    ])
    legend = '<div class="legend">' + "".join(
        f'<span><i style="background:{c}"></i>{f}</span>' for f, c in FAMILY_COLORS) + "</div>"
    sub = " · ".join(x for x in (report.description, f"input {shape_text(report.input, layout)}",
                                 f"batch {report.batch}", report.dtype) if x)
    warnings = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
    body = (f"<h1>{escape(report.model)}</h1><p class=sub>{escape(sub)}</p>{cards}"
            f'<h2>Where the memory, the parameters and the work are</h2><div class="panel">'
            f"{charts(report, layout)}<p class=note>One column per layer, in execution order; hover for figures. "
            "Memory peaks in the early layers, parameters in the late ones.</p></div>"
            f'<div class="split"><section><h2>Block diagram</h2><p><button onclick="fold(false)">fold all</button>'
            f'<button onclick="fold(true)">unfold all</button></p>{legend}{diagram(report, layout)}</section>'
            f'<section><h2>Layers</h2><div class="scroll">{layer_table(report, layout)}</div></section></div>'
            + (f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else ""))
    return _page(f"{report.model} — cnncalc", body)


def _ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten between ``lo`` and ``hi`` (log axes), at least the two ends."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    return [10.0 ** e for e in range(first, last + 1)]


def scatter(comparison: Comparison) -> str:
    """MACs (x) against parameters (y), log-log, one mark per network; a mark's area follows activation memory."""
    pts = [(s.model, float(max(s.macs, 1)), float(max(s.params, 1)), s.activation_bytes)
           for s in comparison.summaries]
    w, h, left, bottom, top, right = 760, 440, 70, 46, 16, 130
    xt = _ticks(min(p[1] for p in pts), max(p[1] for p in pts))
    yt = _ticks(min(p[2] for p in pts), max(p[2] for p in pts))
    x0, x1 = math.log10(xt[0]), math.log10(xt[-1])
    y0, y1 = math.log10(yt[0]), math.log10(yt[-1])
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(v: float) -> float:
        return left + (math.log10(v) - x0) / (x1 - x0) * (w - left - right)

    def py(v: float) -> float:
        return h - bottom - (math.log10(v) - y0) / (y1 - y0) * (h - top - bottom)

    grid = "".join(f'<line class="base" x1="{px(v):.1f}" x2="{px(v):.1f}" y1="{top}" y2="{h - bottom}"/>'
                   f'<text class="ax" x="{px(v):.1f}" y="{h - bottom + 16}" text-anchor="middle">{human(v)}</text>'
                   for v in xt)
    grid += "".join(f'<line class="base" x1="{left}" x2="{w - right}" y1="{py(v):.1f}" y2="{py(v):.1f}"/>'
                    f'<text class="ax" x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{human(v)}</text>'
                    for v in yt)
    biggest = max((p[3] for p in pts), default=1) or 1
    placed: list[tuple[float, float, float, float]] = []
    marks = []
    for name, macs, params, mem in pts:
        cx, cy, r = px(macs), py(params), 4 + 14 * math.sqrt(mem / biggest)
        label_w = 6.6 * len(name)
        # Greedy label placement: the first of four spots round the mark that overlaps no earlier label.
        spots = [(cx + r + 3, cy - r + 2, "start"), (cx + r + 3, cy + r + 10, "start"),
                 (cx - r - 3, cy - r + 2, "end"), (cx - r - 3, cy + r + 10, "end")]
        for tx, ty, anchor in spots:
            x0_ = tx if anchor == "start" else tx - label_w
            box = (x0_, ty - 11, x0_ + label_w, ty + 2)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        marks.append(f'<g class="mark" data-network="{escape(name)}"><title>{escape(name)}: {human(macs)} MACs, '
                     f"{human(params)} params, {human_bytes(mem)} activations</title>"
                     f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}"/>'
                     f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}">{escape(name)}</text></g>')
    return (f'<svg class="charts scatter" viewBox="0 0 {w} {h}" width="100%" style="max-width:{w * 1.25:g}px" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="MACs against parameters">{grid}'
            f'<text class="lbl" x="{(w - right + left) / 2}" y="{h - 8}" text-anchor="middle">MACs (log)</text>'
            f'<text class="lbl" transform="translate(14 {(h - bottom + top) / 2}) rotate(-90)" '
            f'text-anchor="middle">Parameters (log)</text>'
            f'<g class="marks">{"".join(marks)}</g></svg>')


def compare_page(comparison: Comparison, layout: Layout = "chw") -> str:
    """``compare --format html``: the side-by-side table and the complexity chart."""
    from cnncalc.render.compare import HEADERS, _figure, _rf, _times

    metrics = ("params", "macs", "flops", "activations", "activation_bytes", "peak_bytes", "depth")
    shown = [m for m in metrics if m != "peak_bytes" or any(s.peak_bytes is not None for s in comparison.summaries)]
    head = "<tr><th>Network</th><th>Input</th>" + "".join(f"<th>{HEADERS[m]}</th>" for m in shown) + "<th>RF</th></tr>"
    body = []
    for s in comparison.summaries:
        ratios = comparison.ratios(s)
        cells = "".join(f'<td class=n>{escape(_figure(m, s.value(m)))} <span class="note">'
                        f"{escape(_times(ratios[m]))}</span></td>" for m in shown)
        body.append(f'<tr data-network="{escape(s.model)}"><td>{escape(s.model)}</td>'
                    f"<td>{shape_text(s.input, layout)}</td>{cells}<td class=n>{escape(_rf(s.final_rf))}</td></tr>")
    first = comparison.summaries[0]
    text = (f"<h1>Comparison</h1><p class=sub>{len(comparison.summaries)} networks · batch {first.batch} · "
            f"{first.dtype} · ratios to {escape(first.model)}</p>"
            f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
            f'<h2>Complexity: MACs against parameters</h2><div class="panel">{scatter(comparison)}'
            "<p class=note>One mark per network; a mark's area follows its activation memory.</p></div>")
    return _page("cnncalc compare", text)


def diff_page(d: LayerDiff, layout: Layout = "chw") -> str:
    """``compare --layers --format html``: the changed rows, coloured, and the totals before and after."""
    from cnncalc.render.compare import _cells, _totals

    rows = []
    for c in d.changes:
        if c.status == "same":
            continue
        cells = _cells(c, layout)
        rows.append(f'<tr class="{c.status}"><td>{escape(cells[0])}</td><td>{escape(cells[1])}</td>'
                    f"<td>{escape(cells[2])}</td><td>{escape(cells[3])}</td>"
                    + "".join(f"<td class=n>{escape(x)}</td>" for x in cells[4:]) + "</tr>")
    head = ("<tr><th></th><th>Layer</th><th>Config</th><th>Output</th><th>Δ Params</th><th>Δ MACs</th>"
            "<th>Δ Acts</th></tr>")
    totals = "".join(f"<li><code>{escape(line)}</code></li>" for line in _totals(d))
    text = (f"<h1>{escape(d.before.model)} → {escape(d.after.model)}</h1><p class=sub>{d.count('added')} added · "
            f"{d.count('removed')} removed · {d.count('changed')} changed · {d.count('same')} unchanged</p>"
            f"<ul>{totals}</ul><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")
    return _page(f"{d.before.model} → {d.after.model} — cnncalc", text)


__all__ = ["charts", "compare_page", "diagram", "diff_page", "family", "layer_table", "render", "scatter"]
