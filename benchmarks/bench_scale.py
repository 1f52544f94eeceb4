"""Analysis time of generated N-layer specs: cost must grow linearly (10,000 layers well under a second).

Each spec is a 1-D chain of ``conv1d`` (kernel 3, padding 1) and ``relu`` layers written out one entry per layer
(no ``repeat``), so loading, validation, the walk and the report all see N entries.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cnncalc
from cnncalc.render import RENDERERS, Options


def spec_text(n: int) -> str:
    """A YAML spec of ``n`` layers, alternating conv1d and relu."""
    lines = ["name: chain", "input: [16, 256]", "layers:"]
    for i in range(n):
        if i % 2:
            lines.append("  - relu")
        else:
            lines.append("  - {type: conv1d, out_channels: 16, kernel_size: 3, padding: 1}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print a Markdown table: layers, load+analyse time, JSON render time, µs per layer."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,2500,5000,10000")
    parser.add_argument("-n", type=int, default=5, help="repetitions (median reported)")
    args = parser.parse_args()
    print("| layers | load + analyse (ms) | JSON render (ms) | µs per layer |")
    print("|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"chain_{n}.yaml"
            path.write_text(spec_text(n))
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
