"""The ``cnncalc`` command: one module per command group; :data:`main` is the console script's entry point."""

from cnncalc.cli.main import main

__all__ = ["main"]
