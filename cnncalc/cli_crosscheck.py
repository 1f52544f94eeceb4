"""``cnncalc crosscheck``: compare a spec's analysis with a real PyTorch forward pass (torch is optional)."""

from __future__ import annotations

import click


@click.command()
@click.argument("model")
def crosscheck(model: str) -> None:
    """Build MODEL as a torch module, run it, and compare shapes and parameter counts layer by layer."""
    raise click.ClickException("not implemented yet")
