"""The ``cnncalc`` command: a click group whose commands live one module per group and load only when used.

``cnncalc vgg16`` imports the group, the options and the ``show`` module — not verify, check, the torch bridge or
anything else — so start-up stays close to the cost of its libraries. A new command is one module here plus one
line in :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import os

import click

from cnncalc.version import __version__

# cnncalc's models use no pydantic plugins; looking them up costs an importlib.metadata scan (~12 ms) per run.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

#: Command name → ``module:attribute`` of its click command, in the order ``--help`` lists them.
COMMANDS: dict[str, str] = {
    "show": "cnncalc.cli.show:show",
    "verify": "cnncalc.cli.proof:verify",
    "check": "cnncalc.cli.proof:check",
    "list": "cnncalc.cli.zoo:list_",
    "layer": "cnncalc.cli.layer:layer",
    "schema": "cnncalc.cli.zoo:schema",
    "crosscheck": "cnncalc.cli.crosscheck:crosscheck",
    "import": "cnncalc.cli.importer:import_",
    "compare": "cnncalc.cli.compare:compare",
    "conventions": "cnncalc.cli.conventions:conventions",
    "sizes": "cnncalc.cli.sizes:sizes",
    "memory": "cnncalc.cli.memory:memory",
    "fit": "cnncalc.cli.memory:fit",
}


class _LazyGroup(click.Group):
    """Commands imported on first use; ``cnncalc vgg16`` means ``cnncalc show vgg16``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, in :data:`COMMANDS` order."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module only now."""
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``show`` before arguments that name no subcommand."""
        if args and args[0] not in COMMANDS and args[0] not in ("--help", "-h", "--version"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def main() -> None:
    """Exact shapes, parameters, MACs, FLOPs, memory and receptive fields of convolutional networks.

    \b
    cnncalc vgg16                      a zoo network, layer by layer
    cnncalc my_net.yaml --format json  your own spec
    cnncalc -e "3x32x32: conv5-8 maxpool2 fc-10"
    cnncalc layer conv2d --input 3x227x227 --out-channels 96 --kernel-size 11 --stride 4
    """
