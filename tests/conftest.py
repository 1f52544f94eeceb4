"""Shared fixtures: the CLI runner, golden files, the torch and browser marker policies and the hypothesis profiles.

Torch-marked tests skip when torch is missing, unless ``CNNCALC_REQUIRE_TORCH=1`` (CI), where they fail instead.
Browser-marked tests (headless Chromium, issue #13) skip when no browser is found, unless
``CNNCALC_REQUIRE_BROWSER=1`` (CI), where they fail instead.
Golden files live in ``tests/golden/``; ``pytest --update-goldens`` rewrites them.
Hypothesis properties run ``CNNCALC_HYPOTHESIS``'s profile: ``dev`` (the default, 200 examples per property) or
``ci`` (2,000, what ``.ci/run`` sets); no property has a deadline, as no test asserts timing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"

_QUIET = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("dev", max_examples=200, **_QUIET)
settings.register_profile("ci", max_examples=2000, **_QUIET)
settings.load_profile(os.environ.get("CNNCALC_HYPOTHESIS", "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-goldens`` rewrites golden files instead of comparing."""
    parser.addoption("--update-goldens", action="store_true", help="rewrite tests/golden/* from the current output")


#: Executable names of a headless-capable Chromium, in the order they are tried.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser_path() -> str | None:
    """The first Chromium found on PATH (``CNNCALC_BROWSER`` overrides), or None."""
    chosen = os.environ.get("CNNCALC_BROWSER")
    if chosen:
        return shutil.which(chosen)
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip torch and browser tests without their tool, or fail them under CNNCALC_REQUIRE_TORCH/BROWSER=1."""
    if browser_path() is None and os.environ.get("CNNCALC_REQUIRE_BROWSER") != "1":
        skip_browser = pytest.mark.skip(reason="no headless Chromium found (apt-get install chromium)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip_browser)
    try:
        import torch  # noqa: F401
    except ImportError:
        if os.environ.get("CNNCALC_REQUIRE_TORCH") == "1":
            return  # let them run and fail on the import: CI must not silently skip
        skip = pytest.mark.skip(reason="torch is not installed (pip install 'cnncalc[torch]')")
        for item in items:
            if "torch" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run the ``cnncalc`` CLI in-process: ``cli("vgg16", "--format", "json")``."""
    from cnncalc.cli import main

    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with ``tests/golden/<name>``, or rewrite it under ``--update-goldens``."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-goldens"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run pytest --update-goldens"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs; run pytest --update-goldens if intended"

    return check


@pytest.fixture
def browser() -> str:
    """The headless Chromium to drive (browser-marked tests only reach here with one, or under REQUIRE, to fail)."""
    path = browser_path()
    if path is None:
        pytest.fail("CNNCALC_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium)")
    return path


@pytest.fixture
def agrees_with_torch() -> Callable[[dict[str, Any]], Any]:
    """Assert that a spec's shapes, parameters and buffers equal those of the torch module built from it (on the
    CPU, batch 2), and return the comparison."""

    def check(spec: dict[str, Any]) -> Any:
        import cnncalc
        from cnncalc.torch.crosscheck import crosscheck as run

        result = run(cnncalc.analyze(spec, batch=2))
        assert result.rejected is None, result.rejected
        assert not result.mismatches, [(r.name, r.shape, r.params, r.buffers) for r in result.mismatches]
        return result

    return check
