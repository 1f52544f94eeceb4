"""Machine- and document-friendly renderings: JSON (the stable contract), CSV and Markdown."""

from __future__ import annotations

import csv as _csv
import io

from cnncalc.engine.report import Report
from cnncalc.render.text import Options, field_text, human, human_bytes, shape_text

CSV_COLUMNS = (
    "name", "type", "summary", "output_shape", "params", "biases", "trainable_params", "buffers", "macs", "flops",
    "activations", "activation_bytes", "receptive_field", "jump",
)


def json(report: Report, options: Options) -> str:
    """``report.to_dict()`` as indented JSON; shapes stay channels-first whatever the layout."""
    from cnncalc.render.jsontext import dumps

    return dumps(report.to_dict(), end="\n")


def csv(report: Report, options: Options) -> str:
    """One row per layer, exact integers, no totals row (sum the columns or use JSON)."""
    out = io.StringIO()
    writer = _csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.layers:
        writer.writerow([
            row.name, row.type, row.summary, shape_text(row.output_shape, options.layout), row.params, row.biases,
            row.trainable_params, row.buffers, row.macs, row.flops, row.activations, row.activation_bytes,
            field_text(row.receptive_field, whole="", collapse=False), field_text(row.jump, whole="", collapse=False),
        ])
    return out.getvalue()


def markdown(report: Report, options: Options) -> str:
    """A GitHub table with the totals underneath, for READMEs and homework write-ups."""
    t = report.totals
    lines = [
        f"**{report.model}** — input {shape_text(report.input, options.layout)}, batch {report.batch}, {report.dtype}",
        "",
        "| layer | type | config | output | params | MACs | activations | RF |",
        "|---|---|---|---|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {r.name} | {r.type} | {r.summary} | {shape_text(r.output_shape, options.layout)} | {r.params:,} | "
        f"{r.macs:,} | {r.activations:,} | {field_text(r.receptive_field, whole='', collapse=False)} |"
        for r in report.layers
    ]
    lines += [
        "",
        f"- params: {t.params:,} ({human(t.params)}); trainable {t.trainable_params:,}; buffers {t.buffers:,}",
        f"- MACs: {t.macs:,} ({human(t.macs)}); FLOPs: {t.flops:,} ({human(t.flops)})",
        f"- activations: {t.activations:,} ({human_bytes(t.activation_bytes)}); "
        f"parameter memory: {human_bytes(t.param_bytes)}",
    ]
    return "\n".join(lines) + "\n"
