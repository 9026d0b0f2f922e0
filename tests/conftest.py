"""Fixtures: a fresh Dagster instance per test and an isolated config path."""

from __future__ import annotations

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
