"""Helpers shared by the test files: configs on disk, instances, and running the real loop."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pytest
import yaml

from impact_assets.api import run_impact_loop
from impact_assets.config import CONFIG_ENV_VAR
from impact_assets.contracts import AllocateResult, LoopReport, MeasurementRecord
from impact_assets.lib.io_manager import value_store
from impact_assets.lib.keys import LOOP_ID_TAG, LOOP_JOB
from impact_assets.lib.launch import LoopOutcome
from impact_assets.lib.loading import definitions_for
from impact_assets.lib.partitions import partition_range_tags

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RUN_ONCE = PROJECT_ROOT / "scripts" / "run_once.py"

SEED_INITIATIVES = [
    {"initiative_id": "init-001", "cost_to_scale": 10000},
    {"initiative_id": "init-002", "cost_to_scale": 15000},
    {"initiative_id": "init-003", "cost_to_scale": 8000},
]


def portfolio(**overrides: Any) -> dict[str, Any]:
    """The seed's test portfolio (three initiatives, budget 100000, the mock components,
    named: an omitted stage runs the real one), with overrides."""
    config: dict[str, Any] = {
        "budget": 100000,
        "scale_sample_size": 5000,
        "max_workers": 4,
        "seed": 42,
        "measure": {"component": "mock"},
        "evaluate": {"component": "mock"},
        "allocate": {"component": "mock"},
        "initiatives": [dict(i) for i in SEED_INITIATIVES],
    }
    config.update(overrides)
    return config


def write_config(folder: Path, config: Mapping[str, Any] | str, name: str = "config.yaml") -> Path:
    """Write a config (a mapping, or raw YAML text) and return its path."""
    path = folder / name
    text = config if isinstance(config, str) else yaml.safe_dump(dict(config), sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def run_loop(
    instance: dg.DagsterInstance,
    config_path: Path,
    loop_id: str = "20260101T000000Z-test0001",
    monkeypatch: Any = None,
) -> LoopOutcome:
    """Run the real ``impact_loop`` job once on the config, as the Python API does."""
    if monkeypatch is not None:
        monkeypatch.setenv(CONFIG_ENV_VAR, str(config_path))
    else:
        os.environ[CONFIG_ENV_VAR] = str(config_path)
    return run_impact_loop(config_path, instance, loop_id=loop_id).outcome


def loop_job(config_path: Path) -> dg.JobDefinition:
    """The ``impact_loop`` job of the definitions built for the config."""
    return definitions_for(config_path).resolve_job_def(LOOP_JOB)


def loop_tags(ids: list[str], loop_id: str) -> dict[str, str]:
    """A loop run's tags: every initiative partition, and the loop id."""
    return {**partition_range_tags(ids), LOOP_ID_TAG: loop_id}


def stored_pilots(instance: dg.DagsterInstance, ids: list[str]) -> dict[str, MeasurementRecord]:
    return value_store(instance).read_partitions("pilot_results", ids)


def stored_scales(instance: dg.DagsterInstance, ids: list[str]) -> dict[str, MeasurementRecord]:
    return value_store(instance).read_partitions("scale_results", ids)


def stored_allocation(instance: dg.DagsterInstance) -> AllocateResult:
    return value_store(instance).read("allocation")


def stored_report(instance: dg.DagsterInstance) -> LoopReport:
    return value_store(instance).read("outcome_reports")


def run_cli(
    *args: str,
    dagster_home: Path,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run ``scripts/run_once.py`` in a fresh process, as a user would."""
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), **(extra_env or {})}
    env.pop(CONFIG_ENV_VAR, None)
    return subprocess.run(
        [sys.executable, str(RUN_ONCE), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=timeout,
    )


def cli_output_json(
    config_path: Path,
    loop_id: str,
    dagster_home: Path,
    extra_env: Mapping[str, str] | None = None,
    progress: list[str] | None = None,
    extra_args: list[str] | None = None,
) -> bytes:
    """Run ``run_once.py`` on a config with a fixed loop id; the ``--output-json`` bytes.

    Fails the test, with the CLI's stderr, unless the run exits 0. With ``progress``
    (a list), the run is not ``--quiet`` and its stdout is appended to the list.
    """
    output = dagster_home.with_name(dagster_home.name + "-output.json")
    completed = run_cli(
        "--config",
        str(config_path),
        "--output-json",
        str(output),
        "--loop-id",
        loop_id,
        *([] if progress is not None else ["--quiet"]),
        *(extra_args or []),
        dagster_home=dagster_home,
        extra_env=extra_env,
    )
    assert completed.returncode == 0, completed.stderr
    if progress is not None:
        progress.append(completed.stdout)
    return output.read_bytes()


@contextlib.contextmanager
def open_instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance in ``home``, as ``DAGSTER_HOME`` opens it (public API only)."""
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def work_spans(instance: dg.DagsterInstance) -> dict[str, tuple[float, float]]:
    """Each run's first and last materialization: the span in which it changed values.

    A run waiting for its turn has started (its first step waits), but materialises
    nothing until the loop run ahead of it has ended.
    """
    spans = {}
    for run in instance.get_runs():
        stamps = [
            record.timestamp
            for record in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
        ]
        if stamps:
            spans[run.run_id] = (min(stamps), max(stamps))
    return spans


def live_required() -> bool:
    """Under ``IMPACT_REQUIRE_LIVE=1`` (CI) a missing prerequisite fails instead of skipping."""
    return os.environ.get("IMPACT_REQUIRE_LIVE") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip a live test whose prerequisite is missing, or fail when live tests are required."""
    if live_required():
        pytest.fail(f"IMPACT_REQUIRE_LIVE=1 but {reason}")
    pytest.skip(reason)


# -- random portfolios for the allocation rules -----------------------------------------


def random_candidates(rng: np.random.Generator, n: int, *, integer: bool) -> list[dict]:
    """EvaluateResult dicts; integer-valued ones (exact in floating point) make ties likely."""
    candidates = []
    for index in range(n):
        if integer:
            worst = float(rng.integers(-4, 6))
            med = worst + float(rng.integers(0, 4))
            best = med + float(rng.integers(0, 4))
            confidence = float(rng.choice([0.25, 0.5, 1.0]))
            cost = float(rng.integers(1, 6))
        else:
            med = float(rng.normal(3000, 2500))
            halfwidth = abs(float(rng.normal(0, 2000)))
            worst, best = med - halfwidth, med + halfwidth * float(rng.uniform(0.5, 1.5))
            confidence = float(rng.uniform(0.2, 1.0))
            cost = float(rng.uniform(1000, 20000))
        # every third is a predictive interval (the calibrated EVALUATE): never penalised
        interval_kind = "predictive" if index % 3 == 1 else "pilot_ci"
        candidates.append(
            {
                "initiative_id": f"init-{index:02d}-{rng.integers(100)}",
                "confidence": confidence,
                "cost": cost,
                "R_best": best,
                "R_med": med,
                "R_worst": worst,
                "model_type": "experiment",
                "sample_size": 100,
                "interval_kind": interval_kind,
            }
        )
    return candidates


def wide_intervals(n: int, seed: int) -> list[dict]:
    """Pilots whose intervals often cross zero: the hard case (``benchmarks/allocation.py``)."""
    rng = np.random.default_rng([seed, n, 2])
    effect = rng.normal(0.15, 0.10, n)
    halfwidth = np.abs(effect) * rng.uniform(0.2, 1.5, n) + 0.01
    value = rng.uniform(10_000, 50_000, n)
    confidence, cost = rng.uniform(0.2, 1.0, n), rng.uniform(5_000, 50_000, n)
    return [
        {
            "initiative_id": f"initiative-{i:05d}",
            "confidence": float(confidence[i]),
            "cost": float(cost[i]),
            "R_best": float((effect[i] + halfwidth[i]) * value[i]),
            "R_med": float(effect[i] * value[i]),
            "R_worst": float((effect[i] - halfwidth[i]) * value[i]),
            "model_type": "experiment",
            "sample_size": 400,
        }
        for i in range(n)
    ]
