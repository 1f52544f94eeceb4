"""Measured against predicted memory peaks on the whole zoo: the table in benchmarks/README.md.

For every zoo network at its smallest practical square input (``cnncalc.torch.measure.small_input``), batch 1 and
4: the peak of live tensor storages torch really has during one ``no_grad`` forward pass and during the first
training step with SGD (momentum 0.9) and with Adam, against ``cnncalc memory``'s prediction. The profiler's
peak (which also sees kernel scratch inside an operator) is shown beside it. Run by hand:

    python benchmarks/bench_memory.py [MODEL ...] > table.md
"""

from __future__ import annotations

import argparse
import sys
import warnings


def main() -> int:
    """Print the markdown table (and a summary) for the named zoo networks, or all of them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="zoo networks (default: the whole zoo)")
    parser.add_argument("--batch", type=int, nargs="*", default=[1, 4])
    parser.add_argument("--no-profiler", action="store_true", help="skip the profiler's (slower) measurement")
    parser.add_argument("--size", type=int, help="square input size instead of the smallest practical one")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from cnncalc.spec import zoo
    from cnncalc.spec.load import load
    from cnncalc.torch.measure import MODES, TorchRefusedError, compare, small_input

    limits = {"inference": 0.02, "sgd": 0.05, "adam": 0.05}
    print("| model | input | batch | pass | measured (B) | predicted (B) | error | peak phase | profiler (B) "
          "| scratch (B) |")
    print("|---|---|--:|---|--:|--:|--:|---|--:|--:|")
    inside = total = 0
    worst: list[tuple[float, str]] = []
    for name in args.models or zoo.names():
        net = load(name)
        shape = small_input(net) if args.size is None else (net.input[0], args.size, args.size)
        for batch in args.batch:
            for mode in MODES:
                try:
                    c = compare(net, batch=batch, mode=mode, input_shape=shape, profiler=not args.no_profiler)
                except TorchRefusedError:
                    print(f"| {name} | {'x'.join(map(str, shape))} | {batch} | {mode} | torch refuses "
                          "(batch norm on one value per channel) | | | | | |", flush=True)
                    continue
                m = c.measured
                ok = abs(c.error) <= limits[mode]
                inside += ok
                total += 1
                worst.append((abs(c.error), f"{name} b{batch} {mode} {c.error:+.2%}"))
                prof = "" if m.profiler_peak_bytes is None else f"{m.profiler_peak_bytes:,}"
                scratch = "" if m.scratch_bytes is None else f"{m.scratch_bytes:,}"
                print(f"| {name} | {'x'.join(map(str, shape))} | {batch} | {mode} | {m.peak_bytes:,} | "
                      f"{c.predicted:,} | {c.error:+.2%}{'' if ok else ' ✗'} | {m.peak_phase} | {prof} | {scratch} |",
                      flush=True)
    print(f"\n{inside} of {total} within the goal (2% inference, 5% a training step).", file=sys.stderr)
    for _err, what in sorted(worst, reverse=True)[:5]:
        print(f"  {what}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
