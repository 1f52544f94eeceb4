"""Shared fixtures: the CLI runner, golden files, the torch marker policy and the hypothesis profiles.

Torch-marked tests skip when torch is missing, unless ``CNNCALC_REQUIRE_TORCH=1`` (CI), where they fail instead.
Golden files live in ``tests/golden/``; ``pytest --update-goldens`` rewrites them.
Hypothesis properties run ``CNNCALC_HYPOTHESIS``'s profile: ``dev`` (the default, 200 examples per property) or
``ci`` (2,000, what ``.ci/run`` sets); no property has a deadline, as no test asserts timing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip torch tests without torch, or fail them under CNNCALC_REQUIRE_TORCH=1."""
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
