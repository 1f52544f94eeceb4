"""One exception root for cnncalc, so the CLI can turn every user mistake into exit code 2.

Formulas raise short, location-free errors (``ShapeError("kernel 7 > padded input 5")``); the code that knows
*where* (the loader, the graph walk) adds the file, line and layer once, einops-style.
"""

from __future__ import annotations


def _middle(text: str, limit: int) -> str:
    """``text`` with its middle cut past ``limit`` characters: a 10,000-character name is not echoed whole, and
    the end (a layer's ``(conv2d)``, a reason's hint) survives."""
    if len(text) <= limit:
        return text
    keep = (limit - 1) // 4
    return text[: limit - 1 - keep] + "…" + text[-keep:]


class CnncalcError(Exception):
    """Base of every error cnncalc raises on purpose; anything else is a bug."""


class ShapeError(CnncalcError):
    """A layer cannot be applied to its input (sizes, channels, kernel larger than input, ...)."""


class SpecError(CnncalcError):
    """Bad input, with where it was found: file, line, layer path; rendered like a compiler message."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        layer: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.layer = layer
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """``file:line: layer 'x': reason`` followed by an optional hint line."""
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        elif self.line:
            where = f"line {self.line}: "
        layer = f"layer {_middle(self.layer, 80)}: " if self.layer else ""
        text = f"{where}{layer}{_middle(self.reason, 600)}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def located(self, *, file: str | None = None, line: int | None = None, layer: str | None = None) -> SpecError:
        """A copy with missing location parts filled in (inner knowledge wins)."""
        return SpecError(
            self.reason,
            file=self.file or file,
            line=self.line or line,
            layer=self.layer or layer,
            hint=self.hint,
        )


class NotationError(SpecError):
    """The one-line notation could not be parsed; the message carries a caret under the bad token."""
