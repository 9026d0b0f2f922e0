"""``scripts/run_once.py`` as a user runs it: output, determinism across processes, exit codes."""

from __future__ import annotations

import json

from helpers import PROJECT_ROOT, cli_output_json, portfolio, run_cli, write_config

LOOP_ID = "20260101T000000Z-cli00000"


def test_default_config_prints_progress_and_the_seed_report(tmp_path):
    completed = run_cli("--output-json", str(tmp_path / "out.json"), dagster_home=tmp_path / "h")
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for line in (
        "Running pipeline with 5 initiatives...",
        "[1/5] MEASURE (pilot)...",
        "[2/5] EVALUATE...",
        "[3/5] ALLOCATE...",
        "[4/5] MEASURE (scale)...",
        "[5/5] Generating reports...",
        "OUTCOME REPORTS",
        "SUMMARY",
        "Initiatives evaluated: 5",
    ):
        assert line in out
    assert out.index("[3/5]") < out.index("Selected") < out.index("[4/5]")
    document = json.loads((tmp_path / "out.json").read_text())
    assert set(document) >= {
        "loop_id",
        "pilot_results",
        "evaluate_results",
        "allocate_result",
        "scale_results",
        "outcome_reports",
        "summary",
    }
    assert all(isinstance(r["model_type"], str) for r in document["pilot_results"])
    assert (tmp_path / "h" / "dagster.yaml").exists()  # the run was recorded in DAGSTER_HOME
    # each report in words a reader needs no docs for: the chance the return is positive,
    # the cost to scale, each sample in its design's own units
    scaled = {r["initiative_id"]: r for r in document["outcome_reports"]}
    for initiative_id, report in scaled.items():
        block = out.split(f"\n{initiative_id}\n", 1)[1].split("\n\n", 1)[0]
        p = report["confidence_score"]
        # a whole percentage, never a certain 100% (or 0%) that the probability is not
        chance = "over 99%" if 0.995 <= p < 1 else "under 1%" if 0 < p < 0.005 else f"{p:.0%}"
        assert f"Chance the return at scale is positive: {chance}\n" in block + "\n"
        assert f"Cost to scale: ${report['budget_allocated']:,.0f}" in block
        assert "Budget:" not in block and "Samples:" not in block
    # the config's DiD (60 stores over 8 periods) and its experiment (400 units) were scaled
    assert {"checkout-flow-optimization", "product-desc-enhancement"} <= set(scaled)
    assert "Sample:    60 units x 8 periods in the pilot" in out
    assert "Sample:    400 units in the pilot → 5,000 units at scale" in out


def test_identical_output_in_processes_with_different_hash_seeds(tmp_path):
    config_path = write_config(tmp_path, portfolio())
    outputs = []
    for hash_seed in ("1", "987654"):
        home = tmp_path / f"home-{hash_seed}"
        environment = {"PYTHONHASHSEED": hash_seed}
        outputs.append(cli_output_json(config_path, LOOP_ID, home, extra_env=environment))
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["outcome_reports"]


def test_empty_allocation_writes_empty_lists(tmp_path):
    config_path = write_config(tmp_path, portfolio(budget=1))
    output = tmp_path / "out.json"
    completed = run_cli(
        "--config", str(config_path), "--output-json", str(output), dagster_home=tmp_path / "h"
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(output.read_text())
    assert document["allocate_result"]["selected_initiatives"] == []
    assert document["scale_results"] == []
    assert document["outcome_reports"] == []
    assert "No initiatives selected for scaling." in completed.stdout


def test_readme_commands_are_the_ones_tested():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "python scripts/run_once.py" in readme
    assert 'pip install -e ".[dev]"' in readme
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "pytest" in ci
