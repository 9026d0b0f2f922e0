"""The learning loop end to end, with known truth: loops of new initiatives, evidence against
calibrated, through the same stage functions the assets call (history kept as the
``calibration_history`` asset keeps it).

Six sequences of four loops; each loop brings twelve new simulated initiatives
(experiments, and time series whose effect halves at scale; a third do nothing).
"""

from __future__ import annotations

import numpy as np
import pytest

from impact_assets.config import parse_config
from impact_assets.loop import stages
from impact_assets.loop.calibration import calibrate, update_history
from impact_assets.loop.report import build_loop_report

RATIOS = {"experiment": 1.0, "interrupted_time_series": 0.5}
SIZES = {"experiment": (150, 600), "interrupted_time_series": (200, 500)}
SEEDS = range(1, 7)
LOOPS = 4


def portfolio(seed: int, loop: int, evaluate: str, rule: str) -> dict:
    rng = np.random.default_rng([seed, loop, 99])
    methods = rng.choice(list(RATIOS), size=12, p=[0.6, 0.4])
    effects = np.where(rng.uniform(size=12) < 1 / 3, 0.0, rng.normal(0.25, 0.15, 12))
    costs = np.round(rng.uniform(5000, 30000, 12), -2)
    return {
        "budget": float(0.3 * costs.sum()),
        "scale_sample_size": 3000,
        "seed": 1000 * seed + loop,
        "measure": {"component": "statistical"},
        "evaluate": {"component": evaluate},
        "allocate": {"component": rule},
        "initiatives": [
            {
                "initiative_id": f"s{seed}-l{loop}-{k:02d}",
                "cost_to_scale": float(costs[k]),
                "value_per_unit": 100_000,
                "method": str(methods[k]),
                "data": {
                    "source": "simulated",
                    "true_effect": float(effects[k]),
                    "pilot_sample_size": int(rng.integers(*SIZES[methods[k]])),
                    "scale_effect_ratio": RATIOS[methods[k]],
                },
            }
            for k in range(12)
        ],
    }


def sequence(seed: int, evaluate: str, rule: str):
    """Per loop: the (error, interval covers the truth) of each scaled initiative; and the
    last calibration."""
    history = report = calibration = None
    loops = []
    for loop in range(1, LOOPS + 1):
        config = parse_config(portfolio(seed, loop, evaluate, rule))
        ids, loop_id = config.initiative_ids, f"2026010{loop}T000000Z-s{seed:07d}"
        history = update_history(history, report, config, loop_id)
        pilots = stages.measure_pilots(config, ids, loop_id)
        calibration = calibrate(config, pilots, history, loop_id)
        evaluations = stages.evaluate_pilots(config, pilots, loop_id, calibration)
        allocation = stages.allocate_portfolio(config, evaluations, loop_id)
        scales = stages.measure_at_scale(config, allocation, ids, loop_id)
        report = build_loop_report(config, pilots, evaluations, allocation, scales)
        loops.append([(r.prediction_error, r.interval_covers_truth) for r in report.reports])
    return loops, calibration


@pytest.mark.slow
def test_calibrated_predictions_correct_the_curse_and_the_decay_and_stay_honest():
    errors = {"evidence": [], "calibrated": []}
    covered = []
    ratio_covered = []
    for seed in SEEDS:
        for evaluate, rule in (("evidence", "minimax_regret"), ("calibrated", "expected_return")):
            loops, calibration = sequence(seed, evaluate, rule)
            errors[evaluate] += [error for loop in loops[2:] for error, _ in loop]
            if evaluate == "calibrated":
                covered += [flag for loop in loops for _, flag in loop]
                ratio = calibration.ratio_for("interrupted_time_series")
                ratio_covered.append(ratio.ratio_low <= 0.5 <= ratio.ratio_high)
    evidence, calibrated = np.mean(errors["evidence"]), np.mean(errors["calibrated"])
    # evidence overshoots (curse and decay): its mean error is many standard errors below 0
    assert evidence < -4 * np.std(errors["evidence"]) / np.sqrt(len(errors["evidence"]))
    assert abs(calibrated) < 0.4 * abs(evidence), (calibrated, evidence)
    # 90% intervals over ~100 selections: 0.80 is about 3 binomial standard errors below 0.9
    assert np.mean(covered) >= 0.80, np.mean(covered)
    # each sequence's final 90% interval of the decaying method's ratio holds the truth;
    # 4 or more of 6 has probability 0.98 when each holds it with probability 0.9
    assert sum(ratio_covered) >= 4, ratio_covered
