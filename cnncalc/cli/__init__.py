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
        """Insert ``show`` before arguments that name no subcommand (after the group's own ``--debug``)."""
        lead = [a for a in args[:1] if a == "--debug"]
        rest = args[len(lead):]
        if rest and rest[0] not in COMMANDS and rest[0] not in ("--help", "-h", "--version"):
            args = [*lead, "show", *rest]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; an exception that is not cnncalc's own is a bug: exit code 3, not 1 or a traceback.

        Exit 1 means "checked, and something did not match" and 2 "bad input"; an internal error gets its own
        code and a one-line message, with the traceback only under ``--debug`` (or ``CNNCALC_DEBUG=1``).
        """
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit,
                 KeyboardInterrupt):
            raise
        except BrokenPipeError:  # ``cnncalc layer | head``: the reader has gone, nothing left to say
            import sys

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as err:  # the one place that reports bugs
            internal_error(err, debug=bool(ctx.params.get("debug")))
            raise AssertionError("unreachable") from None


def internal_error(err: BaseException, *, debug: bool) -> None:
    """``error: internal error …`` on stderr and exit code 3; the traceback with ``debug``."""
    import sys

    if debug or os.environ.get("CNNCALC_DEBUG") == "1":
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    detail = str(err)
    detail = detail if len(detail) <= 200 else detail[:199] + "…"
    click.echo(
        f"error: internal error, this is a bug in cnncalc {__version__}: {type(err).__name__}"
        + (f": {detail}" if detail else "")
        + ("" if debug else "\n  run again with --debug (cnncalc --debug …) for the traceback, and please report it"),
        err=True,
    )
    sys.exit(3)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
@click.option("--debug", is_flag=True, help="On an internal error (exit code 3), print the traceback.")
def main(debug: bool) -> None:
    """Exact shapes, parameters, MACs, FLOPs, memory and receptive fields of convolutional networks.

    \b
    cnncalc vgg16                      a zoo network, layer by layer
    cnncalc my_net.yaml --format json  your own spec
    cnncalc -e "3x32x32: conv5-8 maxpool2 fc-10"
    cnncalc layer conv2d --input 3x227x227 --out-channels 96 --kernel-size 11 --stride 4

    A MODEL without a command runs `show`, whose options (--input, --batch, --dtype, --format, --layout,
    --strict, --width, --depth, --explain, --set) `cnncalc show --help` lists. Exit codes: 0 fine, 1 a check
    found a mismatch, 2 bad input, 3 an internal error (a bug: --debug shows its traceback).
    """
