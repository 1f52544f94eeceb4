"""The model zoo: the spec files under ``specs/``, found both in a checkout and inside the installed wheel."""

from __future__ import annotations

from pathlib import Path

from cnncalc.errors import SpecError

_HERE = Path(__file__).resolve().parent


def spec_dir() -> Path:
    """``cnncalc/specs`` in an installed wheel, else the checkout's top-level ``specs/``."""
    bundled = _HERE.parent / "specs"
    return bundled if bundled.is_dir() else _HERE.parent.parent / "specs"


def names() -> list[str]:
    """Every zoo network's name, sorted."""
    return sorted(p.stem for p in spec_dir().glob("*.yaml"))


def path(name: str) -> Path:
    """The spec file of zoo network ``name``, with a did-you-mean when it is unknown."""
    found = spec_dir() / f"{name.lower()}.yaml"
    if found.is_file():
        return found
    import difflib

    close = difflib.get_close_matches(name.lower(), names(), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "`cnncalc list` shows the zoo"
    raise SpecError(f"'{name}' is neither a zoo network nor a spec file", hint=hint)
