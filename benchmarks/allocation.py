"""Time the MILP allocation rules on random portfolios of 10 to 10,000 initiatives.

    python benchmarks/allocation.py [--sizes 10 100 1000 10000] [--seeds 3]

Each portfolio is a list of EvaluateResult dicts drawn from a seed, timed through
the component's ``execute`` (event checks, the three ``V*`` knapsacks for minimax
regret, the MILP and its tie searches). Portfolio kinds:

- ``pilot``: effects of 0.05-0.25 with intervals of 30-60% of the effect (the mock
  MEASURE's ranges), so every worst case is positive;
- ``wide``: effects ~ N(0.15, 0.10) with half-widths of 20-150% of the effect, so
  many intervals cross zero and the scenarios pull apart: the harder case;
- ``wide+floor``: ``wide`` with ``min_portfolio_worst_return = 0``.

Costs are uniform in 5,000-50,000, value per unit in 10,000-50,000, confidence
uniform in 0.2-1.0; the budget is 20% of the total cost. Reported: the median and
the slowest of ``--seeds`` portfolios, in seconds, and the statuses (``optimal``
means proven optimal by CBC with a zero gap).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from impact_assets.components.allocate.bayesian import BayesianAllocate
from impact_assets.components.allocate.minimax_regret import MinimaxRegretAllocate

KINDS = ("pilot", "wide", "wide+floor")
RULES = {"minimax_regret": MinimaxRegretAllocate, "bayesian": BayesianAllocate}


def portfolio(kind: str, n: int, seed: int) -> dict:
    """An ALLOCATE event with ``n`` random initiatives."""
    rng = np.random.default_rng([seed, n, KINDS.index(kind)])
    if kind == "pilot":
        effect = rng.uniform(0.05, 0.25, n)
        halfwidth = effect * rng.uniform(0.3, 0.6, n) / 2
    else:
        effect = rng.normal(0.15, 0.10, n)
        halfwidth = np.abs(effect) * rng.uniform(0.2, 1.5, n) + 0.01
    value_per_unit = rng.uniform(10_000, 50_000, n)
    confidence = rng.uniform(0.2, 1.0, n)
    cost = rng.uniform(5_000, 50_000, n)
    initiatives = [
        {
            "initiative_id": f"initiative-{i:05d}",
            "confidence": float(confidence[i]),
            "cost": float(cost[i]),
            "R_best": float((effect[i] + halfwidth[i]) * value_per_unit[i]),
            "R_med": float(effect[i] * value_per_unit[i]),
            "R_worst": float((effect[i] - halfwidth[i]) * value_per_unit[i]),
            "model_type": "experiment",
            "sample_size": 400,
        }
        for i in range(n)
    ]
    return {
        "initiatives": initiatives,
        "budget": float(0.2 * cost.sum()),
        "min_confidence": 0.0,
        "min_portfolio_worst_return": 0.0 if kind.endswith("+floor") else None,
        "weights": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1_000, 10_000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    args = parser.parse_args()

    print(f"{'portfolio':<11}{'n':>7}  {'rule':<15}{'median s':>9}{'max s':>8}  status")
    for kind in args.kinds:
        for n in args.sizes:
            events = [portfolio(kind, n, seed) for seed in range(args.seeds)]
            for name, rule in RULES.items():
                timings, statuses = [], []
                for event in events:
                    start = time.perf_counter()
                    result = rule().execute(event)
                    timings.append(time.perf_counter() - start)
                    statuses.append(result["status"])
                status = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
                print(
                    f"{kind:<11}{n:>7}  {name:<15}{statistics.median(timings):>9.3f}"
                    f"{max(timings):>8.3f}  {status}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
