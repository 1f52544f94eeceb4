"""Symbolic sizes (issue #12): ``cnncalc sizes unet --range 32..4096`` and the symbolic ResNet-152 report.

Whole-process medians (interleaved runs, as ``bench_startup.py``) next to the numeric ``cnncalc resnet152``, and
in-process medians of the work itself: the symbolic walk and the sizes solver, without the interpreter's start-up.
``--sympy`` adds the measurement behind the choice of a small form type over sympy (a ResNet stem's five
strided layers: sympy's time, import and whether its result is one floor).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def wall(cmd: list[str]) -> float:
    """Seconds one whole process takes."""
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
    return time.perf_counter() - start


def inproc(fn: Callable[[], object], n: int) -> float:
    """Median seconds of ``fn`` in this process (after one warm-up call)."""
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sympy_stem() -> None:
    """The ResNet stem (7/2 p3, then four 3/2 p1) in sympy and in cnncalc's forms."""
    start = time.perf_counter()
    import sympy as sp

    imported = time.perf_counter() - start
    h = sp.Symbol("H", integer=True, positive=True)
    start = time.perf_counter()
    x = sp.floor((h - 1) / sp.Integer(2)) + 1
    for _ in range(4):
        x = sp.floor((x - 1) / sp.Integer(2)) + 1
    built = time.perf_counter() - start
    start = time.perf_counter()
    simple = sp.simplify(x)
    simplified = time.perf_counter() - start
    from cnncalc.engine.dims import window_out
    from cnncalc.engine.symbolic.expr import symbol

    start = time.perf_counter()
    y = window_out(symbol("H"), (3, 3), 7, 2)
    for _ in range(4):
        y = window_out(y, (1, 1), 3, 2)
    ours = time.perf_counter() - start
    print(f"sympy: import {imported * 1e3:.0f} ms, chain {built * 1e3:.1f} ms, simplify {simplified * 1e3:.0f} ms → "
          f"{simple}")
    print(f"cnncalc forms: chain {ours * 1e3:.2f} ms → {y}")


def main() -> None:
    """Print a Markdown table of medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=9, help="runs per command (median reported)")
    parser.add_argument("--sympy", action="store_true", help="also time the sympy alternative")
    args = parser.parse_args()
    py = [sys.executable, "-m", "cnncalc"]
    commands = {
        "`cnncalc sizes unet --range 32..4096`": [*py, "sizes", "unet", "--range", "32..4096"],
        "`cnncalc sizes unet --range 32..4096 --exact --format json`": [*py, "sizes", "unet", "--range", "32..4096",
                                                                         "--exact", "--format", "json"],
        "`cnncalc resnet152` (numeric, for reference)": [*py, "resnet152"],
        "`cnncalc resnet152 --input 3xHxW --batch N`": [*py, "resnet152", "--input", "3xHxW", "--batch", "N"],
    }
    for cmd in commands.values():
        wall(cmd)
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.n):
        for name, cmd in commands.items():
            samples[name].append(wall(cmd))
    from cnncalc.engine.graph import analyze
    from cnncalc.engine.symbolic.sizes import sizes
    from cnncalc.spec.load import load

    unet = load("unet")
    resnet = load("resnet152")
    work = {
        "in process: `sizes(unet, lo=32, hi=4096)` (symbolic walk + solver)": lambda: sizes(unet, lo=32, hi=4096),
        "in process: `analyze(resnet152, input_shape=(3, 'H', 'W'), batch='N')`":
            lambda: analyze(resnet, input_shape=(3, "H", "W"), batch="N"),
        "in process: `analyze(resnet152)` (numeric, for reference)": lambda: analyze(resnet),
    }
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, median of {args.n} runs\n")
    print("| what | time (ms) |")
    print("|---|--:|")
    for name, runs in samples.items():
        print(f"| {name} | {statistics.median(runs) * 1e3:.0f} |")
    for name, fn in work.items():
        print(f"| {name} | {inproc(fn, args.n) * 1e3:.1f} |")
    if args.sympy:
        print()
        sympy_stem()


if __name__ == "__main__":
    main()
