"""``cnncalc import``: turn a PyTorch module into a cnncalc spec (torch is optional)."""

from __future__ import annotations

import click


@click.command("import")
@click.argument("target", metavar="MODULE:FACTORY")
def import_(target: str) -> None:
    """Import MODULE:FACTORY (an nn.Module class or a function returning one) as a spec."""
    raise click.ClickException("not implemented yet")
