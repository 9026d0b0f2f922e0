"""How good is the decision? Oracle ratio and prediction error of the loop over many seeds.

Runs the loop's stage functions (the same components the Dagster assets call) on a
config once per seed and prints, per seed, the realised true value of the chosen
portfolio as a share of the oracle's, and the mean prediction error among the
selected initiatives (positive: the pilots promised more than scale delivered).

    python benchmarks/decision_quality.py                       # config.yaml, seeds 1-20
    python benchmarks/decision_quality.py --rules minimax_regret bayesian mock
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from impact_assets.config import load_config
from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import PortfolioSummary
from impact_assets.loop.report import build_loop_report
from impact_assets.loop.stages import (
    allocate_portfolio,
    evaluate_pilots,
    measure_at_scale,
    measure_pilots,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_plain_loop(config: PortfolioConfig, loop_id: str) -> PortfolioSummary:
    """One loop through the stage functions, without Dagster."""
    ids = config.initiative_ids
    pilots = measure_pilots(config, ids, loop_id)
    evaluations = evaluate_pilots(config, pilots, loop_id)
    allocation = allocate_portfolio(config, evaluations, loop_id)
    scales = measure_at_scale(config, allocation, ids, loop_id)
    return build_loop_report(config, pilots, evaluations, allocation, scales).summary


def with_changes(config: PortfolioConfig, seed: int, rule: str) -> PortfolioConfig:
    allocate = config.allocate.model_copy(update={"component": rule})
    return config.model_copy(update={"seed": seed, "allocate": allocate})


def money(value: float | None) -> str:
    return "-" if value is None else f"{value:+,.0f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(PROJECT_ROOT / "config.yaml"))
    parser.add_argument("--seeds", type=int, nargs=2, default=(1, 20), metavar=("FIRST", "LAST"))
    parser.add_argument("--rules", nargs="+", default=None, help="allocation components")
    args = parser.parse_args(argv)

    base = load_config(args.config)
    rules = args.rules or [base.allocate.component]
    seeds = range(args.seeds[0], args.seeds[1] + 1)
    for rule in rules:
        print(f"\n{args.config}  rule={rule}")
        print(f"{'seed':>4}  {'selected':>8}  {'oracle ratio':>12}  {'mean pred. error':>16}")
        ratios, errors = [], []
        for seed in seeds:
            summary = run_plain_loop(with_changes(base, seed, rule), f"seed-{seed:04d}")
            ratio = summary.oracle_ratio
            shown = "-" if ratio is None else f"{ratio:.1%}"
            print(
                f"{seed:>4}  {summary.initiatives_selected:>8}  {shown:>12}  "
                f"{money(summary.mean_prediction_error):>16}"
            )
            if ratio is not None:
                ratios.append(ratio)
            if summary.mean_prediction_error is not None:
                errors.append(summary.mean_prediction_error)
        if ratios:
            print(
                f"oracle ratio: mean {statistics.fmean(ratios):.1%}, "
                f"min {min(ratios):.1%}, optimal in {sum(r > 0.9999 for r in ratios)}/{len(ratios)}"
            )
        if errors:
            mean_error = money(statistics.fmean(errors))
            print(
                f"mean prediction error (actual - predicted) among the selected: {mean_error}, "
                f"negative in {sum(e < 0 for e in errors)}/{len(errors)} seeds"
            )


if __name__ == "__main__":
    main()
