"""The terminal table: exact figures per layer, humanised totals, and two share bars per row.

Columns are kept by priority until the table fits the width (100 columns by default), so a narrow terminal loses
FLOPs, the layer type and the receptive field before the layer's configuration (kernel/stride/padding), its
parameters or its shape. The lines under the table wrap to the same width, and a legend is printed only for the
columns shown. The bars show each layer's share of activation
memory and of parameters, so "memory sits in the early convs, parameters in the late FCs" is visible at a glance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

from cnncalc.engine.report import Report
from cnncalc.render.text import Options, field_text, human, human_bytes, shape_text

_EIGHTHS = " ▏▎▍▌▋▊▉█"
#: A bar is as wide as its header word ("Mem", "Par"), so the two bars sit on the table's grid like two columns.
BAR_WIDTH = 3
#: Between columns: one padding cell on each side plus the (blank) vertical rule of box.SIMPLE_HEAD.
_GAP = 3
#: The bars column's header: each word exactly over its bar, the bars one column gap apart (with 5-cell bars one
#: space apart, "Mem   Par" read as three columns' spacing over two bars that nearly touched).
_BARS = "Mem".ljust(BAR_WIDTH) + " " * _GAP + "Par".ljust(BAR_WIDTH)


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A left-aligned bar of ``width`` cells, in eighths, for a share in [0, 1]; a visible sliver for tiny shares."""
    eighths = round(max(0.0, min(share, 1.0)) * width * 8)
    if share > 0 and eighths == 0:
        eighths = 1
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return text.ljust(width)


class _Row(NamedTuple):
    """One table line: a layer, or a block instance carrying the sums of the layers inside it."""

    name: str
    type: str
    summary: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    activations: int
    stored: int
    rf: str
    warned: bool = False
    block: bool = False


def _rf(values: tuple[int | float, ...] | None) -> str:
    if values is not None and len(values) == 1 and type(values[0]) is int:
        return str(values[0])  # what field_text writes for one int, without its general case (the chain's hot path)
    return field_text(values, whole="all", collapse=True)


def rows(report: Report, depth: int | None = None) -> list[_Row]:
    """Layers in order with each block's row before its first layer, indented; ``depth`` collapses deeper levels.

    ``depth=1`` shows the top level only (blocks collapsed to their sums), ``depth=2`` one level inside, …
    """
    blocks = {b.name: b for b in report.blocks}
    shown: set[str] = set()
    out: list[_Row] = []
    for row in report.layers:
        for level, group in enumerate(row.groups):
            if group in shown:
                continue
            shown.add(group)
            if depth is not None and level >= depth:
                continue
            b = blocks[group]
            local = group.rsplit("/", 1)[-1]
            out.append(_Row("  " * level + local, b.block, f"{b.layers} layers", b.output_shape, b.params, b.macs,
                            b.flops, b.activations, b.activations, _rf(b.receptive_field), block=True))
        level = len(row.groups)
        if depth is not None and level >= depth:
            continue
        local = row.name[len(row.groups[-1]) + 1 :] if row.groups else row.name
        out.append(_Row("  " * level + local, row.type, row.summary, row.output_shape, row.params, row.macs,
                        row.flops, row.activations, row.activations if row.stores else 0, _rf(row.receptive_field),
                        bool(row.warnings)))  # warned (positional: a keyword costs at 100,000 rows)
    return out


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    #: The column's cells for all rows (one call per column, not per cell: a 100,000-row table has a million).
    cells: Callable[[list[_Row]], list[str]]
    footer: str
    priority: int
    right: bool = True
    style: str | None = None


def _columns(report: Report, options: Options) -> list[_Column]:
    t = report.totals
    act_total = max(report.totals.stored_activations, 1)
    par_total = max(t.params, 1)
    bars: dict[tuple[int, int], str] = {}  # rows with the same sizes (a long chain's) share their bars

    def bars_of(r: _Row) -> str:
        key = (r.stored, r.params)
        if key not in bars:
            bars[key] = bar(r.stored / act_total) + " " * _GAP + bar(r.params / par_total)
        return bars[key]

    def shapes(rs: list[_Row]) -> list[str]:
        seen: dict[tuple[int, ...], str] = {}
        return [seen[r.output_shape] if r.output_shape in seen
                else seen.setdefault(r.output_shape, shape_text(r.output_shape, options.layout)) for r in rs]

    return [
        _Column("Layer", lambda rs: [r.name + " ⚠" if r.warned else r.name for r in rs], "Total", 0, right=False,
                style="bold"),
        _Column("Type", lambda rs: [r.type for r in rs], "", 8, right=False, style="dim"),
        _Column("Config", lambda rs: [r.summary for r in rs], "", 3, right=False),
        _Column("Output", shapes, "", 1, style="cyan"),
        _Column("Params", lambda rs: [f"{r.params:,}" if r.params else "—" for r in rs], human(t.params), 2),
        _Column("MACs", lambda rs: [f"{r.macs:,}" if r.macs else "—" for r in rs], human(t.macs), 4),
        _Column("FLOPs", lambda rs: [f"{r.flops:,}" if r.flops else "—" for r in rs], human(t.flops), 9),
        _Column("Acts", lambda rs: [f"{r.activations:,}" for r in rs], human(t.activations), 5),
        _Column("RF", lambda rs: [r.rf for r in rs], "", 7),
        _Column(_BARS, lambda rs: [bars_of(r) for r in rs], "", 6, right=False),
    ]


_SGR = {"bold": "1", "dim": "2", "cyan": "36", "magenta": "35", "green": "32"}


def _paint(text: str, style: str | None, color: bool) -> str:
    """ANSI colour around already-padded text (widths are measured without it)."""
    if not color or not style or not text.strip():
        return text
    return f"\x1b[{_SGR[style]}m{text}\x1b[0m"


def render(report: Report, options: Options) -> str:
    """The table and a totals block, as text (with ANSI colour codes only when ``options.color``).

    Laid out by hand rather than with rich's Table: the columns are sized here anyway (to drop the least important
    ones first), and a 500-layer ResNet-152 then renders in milliseconds instead of a third of a second.
    """
    columns = _columns(report, options)
    lines_ = rows(report, options.depth)
    cells = [c.cells(lines_) for c in columns]
    widths = [max(len(c.header), len(c.footer), max(map(len, col), default=0))
              for c, col in zip(columns, cells, strict=True)]
    keep: set[int] = set()
    used = 0
    for i in sorted(range(len(columns)), key=lambda i: columns[i].priority):
        extra = widths[i] + (_GAP if keep else 0)
        if used + extra <= options.width:
            keep.add(i)
            used += extra
    shown = sorted(keep)
    color = options.color
    gap = " " * _GAP

    def line(values: list[str], styles: list[str | None]) -> str:
        padded = [
            _paint(v.rjust(widths[i]) if columns[i].right else v.ljust(widths[i]), style, color)
            for i, v, style in zip(shown, values, styles, strict=True)
        ]
        return gap.join(padded).rstrip()

    t = report.totals
    out = [f"{report.model} — input {shape_text(report.input, options.layout)}, batch {report.batch}, {report.dtype}",
           line([columns[i].header for i in shown], ["bold"] * len(shown)), "─" * used]
    if color:
        for j, row in enumerate(lines_):
            styles = ["bold" if row.block else columns[i].style for i in shown]
            out.append(line([cells[i][j] for i in shown], styles))
    elif shown:  # no colour: pad whole columns and join them row by row (the same text as line())
        padded = [map(str.rjust if columns[i].right else str.ljust, cells[i], repeat(widths[i])) for i in shown]
        out += map(str.rstrip, map(gap.join, zip(*padded, strict=True)))
    out += ["", line([columns[i].footer for i in shown], ["bold"] * len(shown))]
    footer = [
        f"Params       {t.params:,} ({human(t.params)}): trainable {t.trainable_params:,}, buffers {t.buffers:,}",
        f"MACs         {t.macs:,} ({human(t.macs)})    FLOPs {t.flops:,} ({human(t.flops)})",
        f"Activations  {t.activations:,} values = {human_bytes(t.activation_bytes)} "
        f"(naive sum: input + stored outputs; batch {report.batch}, {report.dtype})",
        f"Param memory {human_bytes(t.param_bytes)} (parameters and buffers, {report.dtype})",
        *_peak(report),
    ]
    dropped = [columns[i].header if columns[i].header != _BARS else "the Mem/Par bars"
               for i in range(len(columns)) if i not in keep]
    if dropped:
        footer.append(f"(left out to fit {options.width} columns: {', '.join(dropped)}; see --width, --format json)")
    headers = {columns[i].header for i in shown}
    legend = [text for header, text in (("Acts", "Acts = output values per layer"),
                                        (_BARS, "bars = share of activation memory (Mem) and of parameters (Par)"))
              if header in headers]
    if legend:
        footer.append("; ".join(legend))
    out += [_wrap(text, options.width) for text in footer]
    return "\n".join(out) + "\n"


def _peak(report: Report) -> list[str]:
    """The inference peak by liveness, beside the naive sum (an analysed numeric network has one)."""
    from cnncalc.engine.memory import inference_peak

    inf = inference_peak(report)
    if inf is None:
        return []
    return [f"Peak memory  {human_bytes(inf.peak_bytes)} at {inf.peak_layer} (inference, by liveness, with params and "
            "input; cnncalc memory)"]


def _wrap(text: str, width: int) -> str:
    """A footer line wrapped to ``width``; continuation lines indented under the label column."""
    if len(text) <= width:
        return text
    import textwrap

    return textwrap.fill(text, width=width, subsequent_indent=" " * 13, break_on_hyphens=False)
