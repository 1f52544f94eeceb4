"""``cnncalc memory`` (peaks as torch allocates them) and ``cnncalc fit`` (the largest batch that fits)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from cnncalc.engine.report import DTYPE_BYTES
from cnncalc.errors import CnncalcError

if TYPE_CHECKING:
    from cnncalc.engine.memory import MemoryReport
    from cnncalc.engine.report import Analysis

F = TypeVar("F", bound=Callable[..., Any])

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "k": 2**10, "kib": 2**10,
          "m": 2**20, "mib": 2**20, "g": 2**30, "gib": 2**30, "t": 2**40, "tib": 2**40}


def parse_bytes(text: str) -> int:
    """``16GiB``, ``24GB``, ``24G`` (binary, as cards are quoted), ``512MiB`` or a plain number of bytes."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise CnncalcError(f"--memory: cannot read {text!r}; write e.g. 16GiB, 24GB, 24G or 512MiB")
    return int(float(match.group(1)) * _UNITS[unit])


def _train_options(fn: F) -> F:
    options = [
        click.option("--input", "input_text", metavar="SHAPE", help="Override the input shape, e.g. 3x224x224."),
        click.option("--dtype", type=click.Choice(tuple(DTYPE_BYTES)), default="float32", show_default=True,
                     help="Bytes per value of parameters and activations."),
        click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Set a spec argument."),
        click.option("--train", is_flag=True, help="Also one training step (forward, out.sum(), backward, step)."),
        click.option("--optimizer", type=click.Choice(("sgd", "adam", "adamw")), default="sgd", show_default=True),
        click.option("--momentum", type=click.FloatRange(0), default=0.9, show_default=True,
                     help="SGD's momentum; 0 keeps no optimizer state."),
        click.option("--amp", type=click.Choice(("bf16", "fp16")), help="Mixed precision: 2-byte activations and "
                     "gradients, fp32 master weights and optimizer state (modelled, not measured)."),
        click.option("--checkpoint", multiple=True, metavar="BLOCK", help="Checkpoint a block (instance path or "
                     "block type; repeatable): only its inputs are kept, backward recomputes the rest (as "
                     "torch.utils.checkpoint)."),
        click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _analysis(model: str, input_text: str | None, dtype: str, settings: tuple[str, ...], batch: int) -> Analysis:
    from cnncalc.cli.options import settings_args
    from cnncalc.engine.graph import analyze
    from cnncalc.spec.format import parse_shape

    args = settings_args(settings)
    shape = parse_shape(input_text) if input_text else None
    return analyze(model, args=args or None, input_shape=shape, batch=batch, dtype=cast(Any, dtype))


def _memory(report: Analysis, options: dict[str, Any], batch: int | None = None) -> MemoryReport:
    from cnncalc.engine.memory import analyze_memory

    return analyze_memory(report, train=options["train"], optimizer=options["optimizer"],
                          momentum=options["momentum"], amp=options["amp"], checkpoint=tuple(options["checkpoint"]),
                          batch=batch)


def _peak(mem: MemoryReport) -> int:
    return mem.training.peak_bytes if mem.training is not None else mem.inference.peak_bytes


def _check(options: dict[str, Any]) -> None:
    if not options["train"] and (options["amp"] or options["checkpoint"] or options["optimizer"] != "sgd"):
        raise click.UsageError("--optimizer, --amp and --checkpoint describe a training step; add --train")


@click.command()
@click.argument("model")
@click.option("--batch", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@_train_options
def memory(model: str, batch: int, input_text: str | None, dtype: str, settings: tuple[str, ...], fmt: str,
           **options: Any) -> None:
    """Peak memory as torch allocates it: one inference pass and, with --train, one training step.

    Every peak counts everything alive at that moment (parameters, buffers, the input, and in training gradients
    and optimizer state): the number that must fit in the device's memory.
    """
    from cnncalc.cli.options import guarded
    from cnncalc.render.console import terminal

    _check(options)

    @guarded
    def run() -> MemoryReport:
        return _memory(_analysis(model, input_text, dtype, settings, batch), options)

    result = run()
    from cnncalc.render.memory import text, to_json

    if fmt == "json":
        click.echo(to_json(result))
    else:
        click.echo(text(result, width=terminal().width), nl=False)


def largest_batch(report: Analysis, budget: int, peak: Callable[[int], int], limit: int = 1 << 24) -> int | None:
    """The largest batch whose peak fits in ``budget`` (peaks grow with the batch), or None if batch 1 does not."""
    if peak(1) > budget:
        return None
    lo, hi = 1, 2
    while hi <= limit and peak(hi) <= budget:
        lo, hi = hi, hi * 2
    if hi > limit:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if peak(mid) <= budget else (lo, mid)
    return lo


@click.command()
@click.argument("model")
@click.option("--memory", "budget_text", required=True, metavar="SIZE", help="Device memory, e.g. 16GiB or 24G.")
@click.option("--resolution", is_flag=True, help="Also search the largest square input that fits at --batch.")
@click.option("--batch", type=click.IntRange(1, 1_000_000), default=1, show_default=True,
              help="The batch --resolution searches at.")
@_train_options
def fit(model: str, budget_text: str, resolution: bool, batch: int, input_text: str | None, dtype: str,
        settings: tuple[str, ...], fmt: str, **options: Any) -> None:
    """The largest batch whose peak fits in --memory, with the peak there and at the next batch.

    Exit 1 when not even batch 1 fits.
    """
    from cnncalc.cli.options import guarded

    _check(options)

    @guarded
    def run() -> dict[str, Any]:
        budget = parse_bytes(budget_text)
        report = _analysis(model, input_text, dtype, settings, 1)

        def peak(b: int) -> int:
            return _peak(_memory(report, options, batch=b))

        best = largest_batch(report, budget, peak)
        out: dict[str, Any] = {
            "model": report.model, "input": list(report.input), "dtype": dtype, "memory": budget_text,
            "memory_bytes": budget,
            "train": options["train"], "optimizer": options["optimizer"] if options["train"] else None,
            "batch": best, "peak_bytes": None if best is None else peak(best),
            "peak_bytes_next": peak(1 if best is None else best + 1),
        }
        if resolution:
            out["resolution"] = _resolution(model, report, budget, batch, dtype, settings, options)
        return out

    result = run()
    from cnncalc.render.memory import fit_text

    click.echo(json.dumps(result, indent=2) if fmt == "json" else fit_text(result), nl=fmt == "json")
    if result["batch"] is None:
        sys.exit(1)


def _resolution(model: str, report: Analysis, budget: int, batch: int, dtype: str, settings: tuple[str, ...],
                options: dict[str, Any]) -> dict[str, Any]:
    """The largest square input (bisection over the sizes the network accepts) whose peak fits at ``batch``."""
    if len(report.input) < 3:
        raise CnncalcError("--resolution searches square image inputs (C×H×W); this network takes "
                           f"{'x'.join(map(str, report.input))}")
    channels, size = report.input[0], report.input[1]
    dims = len(report.input) - 1

    def fits(s: int) -> bool:
        try:
            analysis = _analysis(model, "x".join(map(str, (channels, *[s] * dims))), dtype, settings, batch)
        except CnncalcError:
            return False
        return _peak(_memory(analysis, options)) <= budget

    lo, hi = 0, size
    if fits(size):
        lo, hi = size, size * 2
        while hi <= 1 << 16 and fits(hi):
            lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    best = lo or None
    return {"batch": batch, "size": best,
            "input": None if best is None else [channels, *[best] * dims]}
