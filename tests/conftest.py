"""Fixtures: a fresh Dagster instance per test, and the live-test switch."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from impact_assets.config import CONFIG_ENV_VAR


@pytest.fixture
def instance(tmp_path):
    """A real, persistent (SQLite) Dagster instance in a temporary folder."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.instance_for_test(temp_dir=str(home)) as test_instance:
        yield test_instance


@pytest.fixture(autouse=True)
def _isolated_config_env(monkeypatch):
    """No test inherits another's config path."""
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)


def live_required() -> bool:
    """Under ``IMPACT_REQUIRE_LIVE=1`` (CI) a missing prerequisite fails instead of skipping."""
    return os.environ.get("IMPACT_REQUIRE_LIVE") == "1"


def skip_or_fail(reason: str) -> None:
    if live_required():
        pytest.fail(f"IMPACT_REQUIRE_LIVE=1 but {reason}")
    pytest.skip(reason)
