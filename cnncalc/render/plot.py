"""PNG/SVG/PDF plots with matplotlib, an optional extra (``pip install 'cnncalc[plot]'``), imported only here.

The format follows the file's extension. Same figures as the HTML report: per-layer activation memory,
parameters, MACs and receptive field for one network; MACs against parameters for a comparison.
"""

from __future__ import annotations

from typing import Any

from cnncalc.engine.compare import Comparison
from cnncalc.engine.report import Report
from cnncalc.errors import CnncalcError

INSTALL = "--plot needs matplotlib: pip install 'cnncalc[plot]'"


def require() -> None:
    """Fail before any output is written when matplotlib is missing (the CLI calls this first)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise CnncalcError(INSTALL)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise CnncalcError(INSTALL) from err
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except (OSError, ValueError) as err:  # an unknown extension is a ValueError
        raise CnncalcError(f"cannot write the plot {path}: {err}") from err


def layer_plot(report: Report, path: str) -> None:
    """Four panels on one axis of layers: activation memory, parameters, MACs, receptive field."""
    plt = _pyplot()
    rows = report.layers
    x = list(range(len(rows)))
    fig, axes = plt.subplots(4, 1, figsize=(11, 7.5), sharex=True)
    series = [
        ([r.activation_bytes / 1e6 if r.stores else 0 for r in rows], "activation memory (MB)", "#2a9d8f"),
        ([r.params / 1e6 for r in rows], "parameters (M)", "#e76f51"),
        ([r.macs / 1e6 for r in rows], "MACs (M)", "#4e79a7"),
    ]
    for ax, (values, label, color) in zip(axes, series, strict=False):
        ax.bar(x, values, width=0.9, color=color)
        ax.set_ylabel(label, fontsize=9)
    rf = [max(r.receptive_field) if r.receptive_field else float("nan") for r in rows]
    axes[3].plot(x, rf, color="#8e6bbf")
    axes[3].set_ylabel("receptive field (px)", fontsize=9)
    axes[3].set_xlabel("layer, in execution order")
    if len(rows) <= 40:
        axes[3].set_xticks(x, [r.name for r in rows], rotation=90, fontsize=7)
    fig.suptitle(f"{report.model} — input {'x'.join(map(str, report.input))}, batch {report.batch}, {report.dtype}")
    _save(fig, path)
    plt.close(fig)


def compare_plot(comparison: Comparison, path: str) -> None:
    """MACs against parameters, log-log, one labelled mark per network (area: activation memory)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    biggest = max((s.activation_bytes for s in comparison.summaries), default=1) or 1
    for s in comparison.summaries:
        ax.scatter([s.macs], [s.params], s=40 + 600 * s.activation_bytes / biggest, alpha=0.45, color="#4e79a7",
                   edgecolors="#4e79a7")
        ax.annotate(s.model, (s.macs, s.params), textcoords="offset points", xytext=(7, 7), fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MACs")
    ax.set_ylabel("parameters")
    ax.set_title("Complexity: one mark per network (area: activation memory)")
    ax.grid(True, which="major", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
