"""Progress bars (issue #13): drawn on a terminal's stderr only, never in captured or piped output."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import pytest
from click.testing import Result

import cnncalc.render.progress as progress_module
from cnncalc.render.console import progress_wanted as enabled
from cnncalc.render.progress import progress

CLI = Callable[..., Result]


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(cli: CLI) -> None:
    result = cli("verify", "vgg16", "alexnet")
    assert result.exit_code == 0
    assert result.stderr == ""  # no spinner frames, no carriage returns, no escape codes
    assert "\r" not in result.stdout and "\x1b" not in result.stdout


def test_a_terminal_gets_a_transient_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.delenv("CNNCALC_NO_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert enabled()
    with progress("verify", total=2) as advance:
        advance("vgg16")
        advance("alexnet")
    assert "verify" in fake.getvalue()  # rich drew (and then cleared) the bar on the terminal


@pytest.mark.parametrize(("name", "value"), [("CNNCALC_NO_PROGRESS", "1"), ("TERM", "dumb")])
def test_bars_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    fake = _Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv(name, value)
    assert not enabled()
    with progress("verify", total=1) as advance:
        advance("vgg16")
    assert fake.getvalue() == ""
    assert advance is progress_module._nothing
