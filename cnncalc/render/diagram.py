"""The block diagram of the HTML report: inline SVG laid out by cnncalc itself, no library, no script needed.

Why by hand: the layout is deterministic (a test can read it without a browser), the file stays self-contained
and small, and the DAGs cnncalc sees are layered already (definition order is a topological order).

The layout, per *section* (a run of top-level layers, or one top-level block instance, which folds):

- rows: a layer sits one row below the lowest of its inputs (longest-path layering), so parallel branches share
  rows and stand side by side;
- lanes (columns): a layer continues its first input's lane when nothing has continued it yet, otherwise it takes
  the first free lane (one whose last layer has all its consumers placed) or opens a new one — the way ``git log
  --graph`` assigns lanes;
- inputs from outside the section enter through ports on the top row; a port names its source unless it is just
  the previous section's output;
- edges: straight within a lane, a bypass arc on the lane's right when layers sit between (identity shortcuts),
  and down the source's lane then across into a merge.

Every layer is one ``<g class="node" data-layer="NAME">`` whose ``<title>`` holds its figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.report import BlockRow, LayerRow, Report
from cnncalc.model import INPUT
from cnncalc.render.text import Layout, field_text, human, human_bytes, shape_text

NODE_W = 204
NODE_H = 34
LANE_W = NODE_W + 34
ROW_H = NODE_H + 16
PAD = 8
PORT_R = 4
#: Characters that fit on a node's lines at the diagram's font sizes.
NAME_CHARS = 30
LINE_CHARS = 34


def family(row: LayerRow) -> str:
    """The layer's family from the registry's class roles (``conv``, ``pool``, …; ``other`` if unknown)."""
    cls = REGISTRY.get(row.type)
    return cls.family if cls is not None and cls.family else "other"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rf_text(values: tuple[int | float, ...] | None) -> str:
    """``212`` for a square field, ``7x1`` otherwise, ``all`` once every output sees the whole input.

    The table's writer (:func:`~cnncalc.render.text.field_text`); ``—`` for a network without spatial dims.
    """
    return field_text(values, whole="all", collapse=True) or "—"


def tooltip(row: LayerRow, layout: Layout) -> str:
    """A layer's figures in one short text (SVG ``<title>`` and chart hover)."""
    parts = [f"{row.name} ({row.type} {row.summary})".replace(" )", ")"),
             f"output {shape_text(row.output_shape, layout)}", f"params {row.params:,}", f"MACs {row.macs:,}",
             f"activations {row.activations:,} ({human_bytes(row.activation_bytes)})" if row.stores
             else "activations: none stored (in place or a view)", f"RF {rf_text(row.receptive_field)}"]
    return "\n".join(parts)


@dataclass(slots=True)
class Section:
    """A run of top-level layers, or one top-level block instance (drawn foldable)."""

    rows: list[LayerRow] = field(default_factory=list)
    block: BlockRow | None = None


def sections(report: Report) -> list[Section]:
    """Split the layers into top-level runs and top-level block instances, in order."""
    blocks = {b.name: b for b in report.blocks}
    out: list[Section] = []
    current: str | None = None
    for row in report.layers:
        top = row.groups[0] if row.groups else None
        if not out or top != current:
            out.append(Section(block=blocks.get(top) if top else None))
            current = top
        out[-1].rows.append(row)
    return out


@dataclass(frozen=True, slots=True)
class Placed:
    """A drawn item: a layer, or a port (``row is None``) bringing an input from outside the section."""

    name: str
    lane: int
    level: int
    row: LayerRow | None
    label: str = ""


@dataclass(slots=True)
class Layout2D:
    """Where everything of one section goes, and the edges between them."""

    items: dict[str, Placed]
    edges: list[tuple[str, str]]
    lanes: int
    levels: int


def place(section: Section, previous: str | None, layout: Layout) -> Layout2D:
    """Lay one section out (see the module docstring); ``previous`` is the last layer drawn before it."""
    inside = {r.name for r in section.rows}
    consumers: dict[str, int] = {}
    for r in section.rows:
        for name in r.inputs:
            consumers[name] = consumers.get(name, 0) + 1
    items: dict[str, Placed] = {}
    tips: list[str] = []  # the last item on each lane
    for r in section.rows:
        for name in r.inputs:
            if name not in inside and name not in items:
                label = "" if name == previous else name
                if name == INPUT:
                    label = "input"
                items[name] = Placed(name, len(tips), 0, None, label)
                tips.append(name)
    if not items:  # a section with no inputs from outside (cannot happen for a connected network): one port
        items[""] = Placed("", 0, 0, None)
        tips.append("")
    remaining = dict(consumers)
    edges: list[tuple[str, str]] = []
    for r in section.rows:
        level = 1 + max((items[n].level for n in r.inputs if n in items), default=0)
        # Continue the lane of the first input nothing has continued yet (a merge sits under its main path).
        first = next((n for n in r.inputs if n in items and tips[items[n].lane] == n), "")
        lane = items[first].lane if first else 0
        if not first:
            free = [i for i, t in enumerate(tips) if remaining.get(t, 0) == 0 and items[t].level < level]
            lane = free[0] if free else len(tips)
            if lane == len(tips):
                tips.append(r.name)
        tips[lane] = r.name
        for n in r.inputs:
            remaining[n] = remaining.get(n, 0) - 1
            edges.append((n if n in items else "", r.name))
        items[r.name] = Placed(r.name, lane, level, r)
    return Layout2D(items, edges, len(tips), 1 + max(p.level for p in items.values()))


def _x(lane: int) -> int:
    return PAD + lane * LANE_W


def _y(level: int) -> int:
    return PAD + level * ROW_H


def _edge(a: Placed, b: Placed, occupied: set[tuple[int, int]]) -> str:
    x1 = _x(a.lane) + NODE_W // 2
    x2 = _x(b.lane) + NODE_W // 2
    y1 = _y(a.level) + (NODE_H if a.row is not None else NODE_H // 2 + PORT_R)
    y2 = _y(b.level)
    if a.lane == b.lane:
        between = any((a.lane, lv) in occupied for lv in range(a.level + 1, b.level))
        if not between:
            return f'<path d="M{x1} {y1}V{y2}"/>'
        xr = _x(a.lane) + NODE_W
        ya = _y(a.level) + NODE_H // 2
        yb = _y(b.level) + NODE_H // 2
        xo = xr + 16
        if a.row is None:  # from a port: straight out of the dot
            return (f'<path class="skip" d="M{x1 + PORT_R} {ya}H{xo - 8}C{xo} {ya} {xo} {ya} {xo} {ya + 8}'
                    f'V{yb - 14}C{xo} {yb} {xo} {yb} {xr} {yb}"/>')
        return (f'<path class="skip" d="M{xr} {ya}C{xo} {ya} {xo} {ya} {xo} {ya + 14}V{yb - 14}'
                f'C{xo} {yb} {xo} {yb} {xr} {yb}"/>')
    if b.level - a.level == 1:  # a fan-out or a short merge: one S-curve
        ym = (y1 + y2) / 2
        return f'<path d="M{x1} {y1}C{x1} {ym:g} {x2} {ym:g} {x2} {y2}"/>'
    levels = range(a.level + 1, b.level)
    if not any((a.lane, lv) in occupied for lv in levels):  # a merge from a longer branch: down, then across
        ym = y2 - 10
        return f'<path d="M{x1} {y1}V{ym - 4}C{x1} {ym + 2} {x2} {ym - 4} {x2} {y2}"/>'
    if not any((b.lane, lv) in occupied for lv in levels):  # across first, then down the target's lane
        ym = y1 + 10
        return f'<path d="M{x1} {y1}C{x1} {ym + 4} {x2} {ym - 2} {x2} {ym + 4}V{y2}"/>'
    # Both lanes are busy: arc round the right of the source's lane, then across (a long shortcut).
    xo = _x(max(a.lane, b.lane)) + NODE_W + 16
    ya = _y(a.level) + NODE_H // 2
    return (f'<path class="skip" d="M{_x(a.lane) + NODE_W} {ya}H{xo}V{y2 - 10}'
            f'C{xo} {y2 - 2} {x2} {y2 - 10} {x2} {y2}"/>')


def _node(p: Placed, prefix: str, layout: Layout) -> str:
    row = p.row
    x, y = _x(p.lane), _y(p.level)
    if row is None:
        cx, cy = x + NODE_W // 2, y + NODE_H // 2
        label = f'<text class="port" x="{cx + 8}" y="{cy + 4}">{escape(_clip(p.label, LINE_CHARS))}</text>' \
            if p.label else ""
        return f'<circle class="port" cx="{cx}" cy="{cy}" r="{PORT_R}"/>{label}'
    local = row.name[len(prefix):] if prefix and row.name.startswith(prefix) else row.name
    detail = " ".join(x for x in (row.summary, "→", shape_text(row.output_shape, layout)) if x)
    # The type follows the name where both fit (the colour strip and the tooltip say it anyway).
    fits = 7.2 * len(local) + 5.6 * (len(row.type) + 1) <= NODE_W - 16  # bold 12 px, regular 10.5 px
    kind = f'<tspan class="t"> {escape(row.type)}</tspan>' if fits else ""
    return (f'<g class="node f-{family(row)}" data-layer="{escape(row.name)}" transform="translate({x},{y})">'
            f"<title>{escape(tooltip(row, layout))}</title>"
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="5"/><rect class="k" width="5" height="{NODE_H}" rx="2"/>'
            f'<text x="11" y="14" class="n">{escape(_clip(local, NAME_CHARS))}{kind}</text>'
            f'<text x="11" y="27" class="d">{escape(_clip(detail, LINE_CHARS))}</text></g>')


def section_svg(section: Section, previous: str | None, layout: Layout) -> str:
    """One section as an ``<svg>`` element."""
    placed = place(section, previous, layout)
    prefix = section.block.name + "/" if section.block is not None else ""
    occupied = {(p.lane, p.level) for p in placed.items.values() if p.row is not None}
    width = _x(placed.lanes) - LANE_W + NODE_W + 28 + PAD
    height = _y(placed.levels) - ROW_H + NODE_H + PAD
    edges = "".join(_edge(placed.items[a], placed.items[b], occupied) for a, b in placed.edges)
    nodes = "".join(_node(p, prefix, layout) for p in placed.items.values())
    return (f'<svg class="dag" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'xmlns="http://www.w3.org/2000/svg"><g class="edges">{edges}</g>{nodes}</svg>')


def diagram(report: Report, layout: Layout = "chw", *, open_blocks: bool | None = None) -> str:
    """The whole network: top-level runs as plain SVG, each top-level block as a foldable ``<details>``.

    ``open_blocks`` (default: open when the network has at most 120 layers) sets whether blocks start unfolded.
    """
    if open_blocks is None:
        open_blocks = len(report.layers) <= 120
    parts = []
    previous: str | None = INPUT
    for section in sections(report):
        svg = section_svg(section, previous, layout)
        b = section.block
        if b is None:
            parts.append(f'<div class="run">{svg}</div>')
        else:
            stats = (f"{b.layers} layers · {human(b.params)} params · {human(b.macs)} MACs → "
                     f"{shape_text(b.output_shape, layout)}")
            parts.append(f'<details class="block"{" open" if open_blocks else ""} data-block="{escape(b.name)}">'
                         f'<summary><b>{escape(b.name)}</b> <i>{escape(b.block)}</i> <span>{escape(stats)}</span>'
                         f"</summary>{svg}</details>")
        previous = section.rows[-1].name
    return '<div class="diagram">' + "".join(parts) + "</div>"
