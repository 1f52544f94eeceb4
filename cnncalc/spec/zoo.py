"""The model zoo: the spec files under ``specs/``, found both in a checkout and inside the installed wheel.

A *preset* is a zoo name that stands for a spec plus ``--set`` values, so a family written once (``regnet``) still
answers to every member's own name (``cnncalc regnet_x_400mf``). ``specs/presets/<spec>.yaml`` maps each preset
name of spec ``<spec>`` to its ``set:`` values and an optional ``description``. A spec file of the same name wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cnncalc.errors import SpecError

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Preset:
    """A zoo name for spec ``spec`` with ``args`` (its ``--set`` values); the user's own ``--set`` wins over them."""

    name: str
    spec: str
    args: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def spec_dir() -> Path:
    """``cnncalc/specs`` in an installed wheel, else the checkout's top-level ``specs/``."""
    bundled = _HERE.parent / "specs"
    return bundled if bundled.is_dir() else _HERE.parent.parent / "specs"


def names() -> list[str]:
    """Every zoo network's name (spec files, not presets), sorted."""
    return sorted(p.stem for p in spec_dir().glob("*.yaml"))


@cache
def _presets(folder: Path) -> dict[str, Preset]:
    import yaml

    found: dict[str, Preset] = {}
    for file in sorted((folder / "presets").glob("*.yaml")):
        shown = str(file)
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if not isinstance(data, dict):
            raise SpecError("a presets file maps each preset name to {set: {...}, description: ...}", file=shown)
        for name, entry in data.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("set", {}), dict) or \
                    set(entry) - {"set", "description"}:
                raise SpecError(f"preset '{name}' must be a mapping with set: {{name: value}} and an optional "
                                "description", file=shown)
            if name in found:
                raise SpecError(f"preset '{name}' is also defined for spec '{found[name].spec}'", file=shown)
            found[str(name)] = Preset(str(name), file.stem, dict(entry.get("set") or {}),
                                      str(entry.get("description") or ""))
    return found


def presets() -> dict[str, Preset]:
    """Every preset of the zoo by name, in the order of their files (one file per spec, sorted) and entries."""
    return _presets(spec_dir())


def preset(name: str) -> Preset | None:
    """The preset called ``name``, or None when it is a spec file or unknown."""
    if (spec_dir() / f"{name.lower()}.yaml").is_file():
        return None
    return presets().get(name.lower())


def path(name: str) -> Path:
    """The spec file of zoo network ``name``, with a did-you-mean when it is unknown."""
    found = spec_dir() / f"{name.lower()}.yaml"
    if found.is_file():
        return found
    import difflib

    close = difflib.get_close_matches(name.lower(), names() + list(presets()), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "`cnncalc list` shows the zoo"
    raise SpecError(f"'{name}' is neither a zoo network nor a spec file", hint=hint)
