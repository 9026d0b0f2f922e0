"""The decision explained where a user looks: the console and ``--output-json``."""

from __future__ import annotations

import json
import re

import yaml
from helpers import PROJECT_ROOT, portfolio, run_cli, write_config

from impact_assets.loop.decision import REASON_KINDS

CANDIDATE_FIELDS = {
    "initiative_id", "cost", "R_worst", "R_med", "R_best", "confidence", "selected", "reason",
}  # fmt: skip
REASON_START = re.compile(
    r"^(selected|excluded: |failed: |negative or zero expected return|does not fit: |"
    r"dominated: |passed over )"
)


def decision_section(stdout: str) -> str:
    assert "\nDECISION\n" in stdout, stdout
    return stdout.split("\nDECISION\n", 1)[1]


def test_the_console_and_the_json_say_why_each_initiative_was_left_out(tmp_path):
    raw = yaml.safe_load((PROJECT_ROOT / "config.yaml").read_text())
    raw["initiatives"].append(
        {
            "initiative_id": "harmful-banner",
            "cost_to_scale": 5000,
            "value_per_unit": 40000,
            "method": "experiment",
            "data": {"source": "simulated", "true_effect": -0.6, "pilot_sample_size": 500},
        }
    )
    for initiative in raw["initiatives"]:
        data = initiative.get("data") or {}
        if data.get("path"):
            data["path"] = str(PROJECT_ROOT / data["path"])
    config_path = write_config(tmp_path, raw)
    output = tmp_path / "out.json"
    home = tmp_path / "home"

    completed = run_cli("--config", str(config_path), "--output-json", str(output),
                        dagster_home=home)  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    stdout = completed.stdout
    assert f"ALLOCATE: {raw['allocate']['component']}" in stdout
    assert "returns in the budget's currency" in stdout
    document = json.loads(output.read_text())
    allocation = document["allocate_result"]
    candidates = {c["initiative_id"]: c for c in allocation["candidates"]}
    assert set(candidates) == {i["initiative_id"] for i in raw["initiatives"]}
    assert all(set(c) >= CANDIDATE_FIELDS for c in candidates.values())
    assert {i for i, c in candidates.items() if c["selected"]} == set(
        allocation["selected_initiatives"]
    )
    assert all(REASON_START.match(c["reason"]) for c in candidates.values())
    assert candidates["harmful-banner"]["R_med"] < 0
    assert candidates["harmful-banner"]["reason"].startswith("negative or zero expected return")

    decision = decision_section(stdout)
    assert f"Rule:         {allocation['rule']} ({allocation['status']})" in decision
    budget = allocation["budget"]
    used = sum(allocation["budget_allocated"].values())
    assert f"Budget used:  ${used:,.0f} of ${budget:,.0f} (${budget - used:,.0f} left)" in decision
    for initiative_id, candidate in candidates.items():
        if not candidate["selected"]:  # every one left out, with the JSON's reason
            assert f"    {initiative_id}: {candidate['reason']}" in decision
    assert f"Loop:         {document['loop_id']}" in decision
    assert f"DAGSTER_HOME={home} dagster dev -w {PROJECT_ROOT / 'workspace.yaml'}" in decision


def test_a_mock_loop_says_its_components_are_mocks_and_quiet_keeps_the_decision_silent(tmp_path):
    config_path = write_config(tmp_path, portfolio(evaluate={"component": "mock"}))
    loud = run_cli("--config", str(config_path), dagster_home=tmp_path / "home")
    quiet = run_cli("--config", str(config_path), "--quiet", dagster_home=tmp_path / "home")

    assert loud.returncode == 0 and quiet.returncode == 0, loud.stderr + quiet.stderr
    assert "EVALUATE: mock (random confidence)" in loud.stdout
    assert "MEASURE: mock (random effects)" in loud.stdout
    assert "returns in outcome units" in loud.stdout
    assert "DECISION" in loud.stdout
    assert "Mean absolute prediction error:" in loud.stdout
    assert "Mean prediction error (actual - predicted):" in loud.stdout
    assert "Avg prediction error" not in loud.stdout
    assert "DECISION" not in quiet.stdout and "EVALUATE: mock" not in quiet.stdout
    assert "SUMMARY" in quiet.stdout  # the report itself still prints


def test_a_large_portfolio_gets_counts_per_reason_and_the_closest_misses(tmp_path):
    initiatives = [
        {"initiative_id": f"store-{index:03d}", "cost_to_scale": 1000 + 37 * index}
        for index in range(45)
    ]
    config_path = write_config(tmp_path, portfolio(budget=9000, initiatives=initiatives))
    output = tmp_path / "out.json"

    completed = run_cli("--config", str(config_path), "--output-json", str(output),
                        dagster_home=tmp_path / "home")  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    decision = decision_section(completed.stdout)
    candidates = json.loads(output.read_text())["allocate_result"]["candidates"]
    missed = [c for c in candidates if not c["selected"]]
    assert len(candidates) == 45 and missed
    counts = re.search(r"Not selected \(([\d,]+)\): (.+)", decision)
    assert counts and int(counts.group(1)) == len(missed)
    for part in counts.group(2).split(", "):
        number, kind = part.split(" ", 1)
        assert kind in REASON_KINDS
        assert int(number) == sum(1 for c in missed if c["reason"].startswith(kind))
    assert "closest misses" in decision
    shown = re.findall(r"^    (store-\d{3}): R_med", decision, flags=re.MULTILINE)
    assert len(shown) == 10
    # no initiative left out is listed one by one beyond the ten
    assert sum(f"    {c['initiative_id']}: " in decision for c in missed) == 10
    assert f"{output} (allocate_result.candidates)" in decision
