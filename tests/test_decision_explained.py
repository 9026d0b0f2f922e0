"""The decision explained where a user looks: the console and ``--output-json``."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import yaml
from helpers import PROJECT_ROOT, portfolio, random_candidates, run_cli, write_config

from impact_assets.api import LoopValues
from impact_assets.cli.console import print_decision
from impact_assets.components.allocate.scenarios import SCENARIOS
from impact_assets.components.allocate.solver import TIE_RTOL
from impact_assets.config import parse_config
from impact_assets.contracts import EvaluateResult, EvaluationRecord, RecordStatus
from impact_assets.loop import stages
from impact_assets.loop.decision import REASON_KINDS, money

CANDIDATE_FIELDS = {
    "initiative_id", "cost", "R_worst", "R_med", "R_best", "confidence", "selected", "reason",
    "kind", "value_with_it", "value_difference", "value_difference_bound", "displaces", "adds",
    "miss_rank",
}  # fmt: skip
# A reason starts with its kind, and only the rule's own findings carry numbers after it.
REASON_START = re.compile(r"^(" + "|".join(re.escape(kind) for kind in REASON_KINDS) + r")\b")
LOOP = "20260301T000000Z-reasons01"


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
    assert all(c["reason"].startswith(c["kind"]) for c in candidates.values())
    assert candidates["harmful-banner"]["R_med"] < 0
    assert candidates["harmful-banner"]["kind"] == "negative or zero return"
    assert candidates["harmful-banner"]["reason"] == (
        f"negative or zero return: its R_med is {money(candidates['harmful-banner']['R_med'])}, "
        "so every portfolio is at least as good without it"
    )

    decision = decision_section(stdout)
    assert f"Rule:         {allocation['rule']} ({allocation['status']})" in decision
    budget = allocation["budget"]
    used = sum(allocation["budget_allocated"].values())
    assert f"Budget used:  ${used:,.0f} of ${budget:,.0f} (${budget - used:,.0f} left)" in decision
    for initiative_id, candidate in candidates.items():
        if not candidate["selected"]:  # every one left out: its prediction and the JSON's reason
            predicted = money(candidate["R_med"])
            assert f"    {initiative_id}: R_med {predicted}; {candidate['reason']}" in decision
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
        assert int(number) == sum(1 for c in missed if c["kind"] == kind)
    assert "closest misses" in decision
    shown = re.findall(r"^    (store-\d{3}): R_med", decision, flags=re.MULTILINE)
    # the greedy rule's own ranking: the first ten it passed over
    ranked = sorted((c for c in missed if c["miss_rank"]), key=lambda c: c["miss_rank"])
    assert shown == [c["initiative_id"] for c in ranked[:10]]
    # no initiative left out is listed one by one beyond the ten
    assert sum(f"    {c['initiative_id']}: " in decision for c in missed) == 10
    assert f"{output} (allocate_result.candidates)" in decision


# -- the console and the JSON document through their builders ------------------------------


def _evaluations(rng: np.random.Generator, n: int, *, integer: bool) -> dict[str, EvaluationRecord]:
    """Evaluated initiatives with random returns; integer-valued ones tie often."""
    return {
        c["initiative_id"]: EvaluationRecord(
            c["initiative_id"],
            LOOP,
            RecordStatus.EVALUATED,
            result=EvaluateResult.from_dict({**c, "loop_id": LOOP}),
        )
        for c in random_candidates(rng, n, integer=integer)
    }


def _decide(rule: str, records: dict[str, EvaluationRecord], budget_share: float, **allocate):
    """The real ALLOCATE stage over ``records``, and the config it ran under."""
    total = sum(r.result.cost for r in records.values())
    config = parse_config(
        portfolio(
            budget=round(budget_share * total),
            allocate={"component": rule, **allocate},
            initiatives=[
                {"initiative_id": i, "cost_to_scale": r.result.cost, "value_per_unit": 1000}
                for i, r in records.items()
            ],
        )
    )
    return config, stages.allocate_portfolio(config, records, LOOP)


def _rule_value(rule: str, allocation, records, members: set[str]) -> float:
    """The rule's objective for ``members``, from the evaluations (docs/decision.md §2)."""
    results = [records[i].result for i in members]
    if rule == "expected_return":
        return sum(r.R_med for r in results)

    def effective(r, j: str) -> float:
        trust = 1.0 if r.interval_kind == "predictive" else r.confidence  # no second penalty
        return trust * getattr(r, f"R_{j}") + (1 - trust) * r.R_worst

    if rule == "bayesian":
        return sum(effective(r, j) / 3 for r in results for j in SCENARIOS)
    v_star = {j: allocation.scenarios[j]["v_star"] for j in SCENARIOS}
    return max(v_star[j] - sum(effective(r, j) for r in results) for j in SCENARIOS)


@pytest.mark.parametrize("rule", ["expected_return", "bayesian", "minimax_regret", "mock"])
@pytest.mark.parametrize("seed", range(6))
def test_the_console_and_the_document_carry_each_computed_reason(rule, seed, tmp_path):
    rng = np.random.default_rng(seed)
    records = _evaluations(rng, 12, integer=seed % 2 == 0)
    results = [r.result for r in records.values()]
    floor = -sum(abs(r.R_worst) for r in results) / 4
    scale = max(max(abs(r.R_best), abs(r.R_worst)) for r in results)
    settings = {} if rule == "mock" else {"min_portfolio_worst_return": floor}
    config, allocation = _decide(rule, records, 0.4, min_confidence=0.3, **settings)
    document = json.loads(
        json.dumps(LoopValues(LOOP, {}, records, allocation, {}, None).to_document())
    )
    candidates = document["allocate_result"]["candidates"]
    out = io.StringIO()
    print_decision(allocation, config, tmp_path, out=out)
    console = out.getvalue()

    selected = set(allocation.selected_initiatives)
    assert [c["initiative_id"] for c in candidates] == sorted(records)
    for candidate in candidates:
        assert set(candidate) == CANDIDATE_FIELDS and REASON_START.match(candidate["reason"])
        if candidate["selected"]:
            continue
        # the console: every one left out, its predicted return and the document's reason
        line = f"    {candidate['initiative_id']}: R_med {money(candidate['R_med'])}; "
        assert line + candidate["reason"] + "\n" in console
        kind = candidate["kind"]
        assert kind != "not computed"  # 12 initiatives are within every limit
        if rule == "mock":
            assert kind in ("passed over", "over budget", "below min_confidence")
            continue
        assert kind not in ("passed over", "no decision")
        if kind in ("tied", "better without it"):
            # the portfolio it describes is feasible and worth what it says under the rule
            members = selected - set(candidate["displaces"]) | set(candidate["adds"])
            members |= {candidate["initiative_id"]}
            assert sum(records[i].result.cost for i in members) <= config.budget
            assert sum(records[i].result.R_worst for i in members) >= floor - 1e-6 * scale
            value = _rule_value(rule, allocation, records, members)
            assert value == pytest.approx(candidate["value_with_it"], abs=1e-9 * scale)
            assert money(candidate["value_with_it"]) in candidate["reason"]
            assert candidate["value_difference"] >= -TIE_RTOL * scale
            assert (kind == "tied") == (candidate["value_difference"] <= TIE_RTOL * scale)


def test_a_large_portfolio_shows_the_closest_misses_with_numbers_and_counts_the_rest(tmp_path):
    records = _evaluations(np.random.default_rng(7), 120, integer=False)
    config, allocation = _decide("expected_return", records, 0.15)
    out = io.StringIO()
    print_decision(allocation, config, tmp_path, out=out)
    decision = out.getvalue()
    candidates = {c["initiative_id"]: c for c in allocation.candidates}

    kinds = [c["kind"] for c in candidates.values() if not c["selected"]]
    assert kinds.count("better without it") + kinds.count("tied") == 50  # the limit
    not_computed = kinds.count("not computed")
    assert not_computed > 0
    assert f"  Not computed: {not_computed:,} others, ranked below the closest misses" in decision
    lines = re.findall(r"^    (init-\d+-\d+): R_med (\S+); cost (\S+); (.+)$", decision, re.M)
    assert len(lines) == 10
    ranked = sorted(
        (c for c in candidates.values() if c["miss_rank"]), key=lambda c: c["miss_rank"]
    )
    assert [initiative_id for initiative_id, *_ in lines] == [
        c["initiative_id"] for c in ranked[:10]
    ]
    differences = [candidates[i]["value_difference"] for i, *_ in lines]
    assert differences == sorted(differences)  # the least loss of summed R_med first
    for initiative_id, predicted, cost, reason in lines:
        candidate = candidates[initiative_id]
        assert predicted == money(candidate["R_med"]) and cost == money(candidate["cost"])
        assert reason == candidate["reason"]
        assert reason.startswith(
            "better without it: including it, the best portfolio's summed R_med"
        )
        assert money(candidate["value_difference"]) + " less" in reason
    # those not computed come after every solved one, each with its lower bound (the bound
    # is checked against brute force in tests/decision/test_left_out.py)
    rest = [c for c in candidates.values() if c["kind"] == "not computed"]
    assert min(c["miss_rank"] for c in rest) == 51
    for candidate in rest:
        bound = candidate["value_difference_bound"]
        assert bound is not None and bound >= 0 and candidate["value_difference"] is None
        assert (f"at least {money(bound)} less (LP bound)" in candidate["reason"]) == (bound > 0)
