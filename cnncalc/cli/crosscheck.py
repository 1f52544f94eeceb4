"""``cnncalc crosscheck``: compare a spec's analysis with a real PyTorch forward pass (torch is optional)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cnncalc.torch.crosscheck import CrossReport


@click.command()
@click.argument("model")
@click.option("--device", type=click.Choice(("cpu", "meta", "cuda")), default="cpu", show_default=True,
              help="meta runs torch's shape rules and FLOP counting without memory or compute (big networks).")
@click.option("--batch", type=click.IntRange(1, 4096), default=1, show_default=True)
@click.option("--input", "input_text", metavar="SHAPE", help="Override the input shape, e.g. 3x227x227.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Set a spec argument (see its 'args:'), e.g. --set aux=true.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
def crosscheck(model: str, device: str, batch: int, input_text: str | None, settings: tuple[str, ...],
               fmt: str) -> None:
    """Build MODEL as a torch module, run it, and compare shapes, parameters, buffers and MACs layer by layer.

    Exit 0 when everything agrees, 1 on any mismatch, 2 on bad input or when torch is not installed.
    """
    from cnncalc.cli.options import guarded, settings_args

    args = settings_args(settings)

    @guarded
    def run() -> CrossReport:
        from cnncalc.engine.graph import analyze
        from cnncalc.spec.format import parse_shape
        from cnncalc.torch._modules import torch_modules
        from cnncalc.torch.crosscheck import crosscheck as compare

        torch_modules()  # a missing torch is reported before any work
        analysis = analyze(model, args=args or None, input_shape=parse_shape(input_text) if input_text else None,
                           batch=batch)
        if hasattr(analysis, "conditions"):  # a spec with symbolic sizes (input: [3, H, W])
            from cnncalc.errors import SpecError

            raise SpecError("crosscheck runs torch on numbers: give the input sizes, e.g. --input 3x224x224")
        from cnncalc.render.progress import progress

        with progress(f"crosscheck {analysis.model}: building and running it in torch"):  # terminal only (#13)
            return compare(analysis, device=device)

    from cnncalc.render.console import terminal
    from cnncalc.render.crosscheck import text, to_json

    result = run()
    if fmt == "json":
        click.echo(json.dumps(to_json(result), indent=2))
    else:
        term = terminal()
        click.echo(text(result, color=term.color, width=term.width), nl=False)
    if not result.ok:
        sys.exit(1)
