"""Whole-process time and peak memory of ``cnncalc vgg16`` against the bare-import floor.

The floor is ``python -c "import click, rich.console, rich.table, pydantic, yaml"``: what any tool built on these
libraries pays before doing anything (issue #8's definition). Runs are interleaved, and the median of N is reported
(``python benchmarks/bench_startup.py -n 21``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

FLOOR = [sys.executable, "-c", "import click, rich.console, rich.table, pydantic, yaml"]
#: What the libraries cost once actually used: pydantic's BaseModel machinery and rich's console and table
#: (``import pydantic`` and ``import rich`` alone load almost nothing).
USED = [sys.executable, "-c", "import click, yaml; from pydantic import BaseModel; import rich.console, rich.table"]


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall time (s) and peak RSS (KiB) of one run, via wait4 so each child is measured alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return elapsed, usage.ru_maxrss


def main() -> None:
    """Print a Markdown table of medians and the ratios to the floor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=15, help="runs per command (median reported)")
    parser.add_argument("--model", default="vgg16")
    args = parser.parse_args()
    script = shutil.which("cnncalc")
    commands = {"floor: import click, rich.console, rich.table, pydantic, yaml": FLOOR,
                "libraries in use: BaseModel, rich.table": USED}
    if script:
        commands[f"cnncalc {args.model}"] = [script, args.model]
    commands[f"python -m cnncalc {args.model}"] = [sys.executable, "-m", "cnncalc", args.model]
    commands[f"cnncalc {args.model} --format json"] = [sys.executable, "-m", "cnncalc", args.model, "--format", "json"]
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set, so cnncalc's own modules are compiled on every run\n")
    for cmd in commands.values():  # warm the page cache and the .pyc files
        measure(cmd)
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    for _ in range(args.n):
        for name, cmd in commands.items():
            samples[name].append(measure(cmd))
    floor_t = statistics.median(t for t, _ in samples[next(iter(commands))])
    floor_m = statistics.median(m for _, m in samples[next(iter(commands))])
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, median of {args.n} runs\n")
    print("| command | time (ms) | × floor | peak RSS (MiB) | × floor |")
    print("|---|--:|--:|--:|--:|")
    for name, runs in samples.items():
        t = statistics.median(t for t, _ in runs)
        m = statistics.median(m for _, m in runs)
        print(f"| `{name}` | {t * 1000:.0f} | {t / floor_t:.2f} | {m / 1024:.1f} | {m / floor_m:.2f} |")


if __name__ == "__main__":
    main()
