"""Analysis time of generated N-node specs: cost must grow linearly (10,000 layers well under a second).

``chain``: a 1-D chain of ``conv1d`` (kernel 3, padding 1) and ``relu`` entries, one per layer (no ``repeat``), so
loading, validation, the walk and the report all see N entries. ``dag``: residual units written with references
(a conv reading the previous unit by name, an ``add`` of the conv and that unit), N nodes in all.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cnncalc
from cnncalc.render import RENDERERS
from cnncalc.render.text import Options


def spec_text(n: int) -> str:
    """A YAML spec of ``n`` layers, alternating conv1d and relu."""
    lines = ["name: chain", "input: [16, 256]", "layers:"]
    for i in range(n):
        if i % 2:
            lines.append("  - relu")
        else:
            lines.append("  - {type: conv1d, out_channels: 16, kernel_size: 3, padding: 1}")
    return "\n".join(lines) + "\n"


def dag_text(n: int) -> str:
    """A YAML spec of ``n`` nodes: n/2 residual units (conv1d, then add of the conv and the unit's input)."""
    lines = ["name: dag", "input: [16, 256]", "layers:"]
    prev = "input"
    for i in range(n // 2):
        conv = f"type: conv1d, name: c{i}, out_channels: 16, kernel_size: 3, padding: 1, inputs: [{prev}]"
        lines.append(f"  - {{{conv}}}")
        lines.append(f"  - {{type: add, name: a{i}, inputs: [c{i}, {prev}]}}")
        prev = f"a{i}"
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print a Markdown table: nodes, load+analyse time, JSON render time, µs per node."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,2500,5000,10000")
    parser.add_argument("--kind", choices=("chain", "dag"), default="chain")
    parser.add_argument("-n", type=int, default=5, help="repetitions (median reported)")
    args = parser.parse_args()
    make = spec_text if args.kind == "chain" else dag_text
    print(f"{args.kind}:\n")
    print("| nodes | load + analyse (ms) | JSON render (ms) | µs per node |")
    print("|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"{args.kind}_{n}.yaml"
            path.write_text(make(n))
            analyse, render = [], []
            for _ in range(args.n):
                t0 = time.perf_counter()
                report = cnncalc.analyze(path)
                t1 = time.perf_counter()
                RENDERERS["json"](report, Options())
                t2 = time.perf_counter()
                analyse.append(t1 - t0)
                render.append(t2 - t1)
            a, r = statistics.median(analyse), statistics.median(render)
            print(f"| {n:,} | {a * 1000:.1f} | {r * 1000:.1f} | {a / n * 1e6:.1f} |")


if __name__ == "__main__":
    main()
