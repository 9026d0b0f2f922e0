"""Time the MILP allocation rules on random portfolios of 10 to 10,000 initiatives.

    python benchmarks/allocation.py [--sizes 10 100 1000 10000] [--seeds 3] [--reasons]

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

With ``--reasons``, also the time the rule then takes to say why it left each
initiative out (``left_out``: the closest misses solved again with each held in, the
rest ranked by the LP bound; docs/decision.md, "Why an initiative was not
selected"): its median and slowest, how many were solved and how many left with a
bound (medians), and the fewest of the solved closest misses proven closer than every
one not computed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from impact_assets.components.allocate.bayesian import BayesianAllocate
from impact_assets.components.allocate.expected_return import ExpectedReturnAllocate
from impact_assets.components.allocate.left_out import NOT_COMPUTED, TIED, WORSE
from impact_assets.components.allocate.minimax_regret import MinimaxRegretAllocate
from impact_assets.contracts import AllocateResult

KINDS = ("pilot", "wide", "wide+floor")
RULES = {
    "minimax_regret": MinimaxRegretAllocate,
    "bayesian": BayesianAllocate,
    "expected_return": ExpectedReturnAllocate,
}


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
    parser.add_argument("--rules", nargs="+", choices=list(RULES), default=list(RULES))
    parser.add_argument("--reasons", action="store_true", help="also time the left-out reasons")
    args = parser.parse_args()

    header = f"{'portfolio':<11}{'n':>7}  {'rule':<16}{'median s':>9}{'max s':>8}"
    if args.reasons:
        header += f"{'reasons s':>10}{'max s':>8}{'solved':>7}{'bound':>7}{'proven':>7}"
    print(header + "  status")
    for kind in args.kinds:
        for n in args.sizes:
            events = [portfolio(kind, n, seed) for seed in range(args.seeds)]
            for name in args.rules:
                rule = RULES[name]()
                timings, statuses, reasons = [], [], []
                for event in events:
                    start = time.perf_counter()
                    result = rule.execute(event)
                    timings.append(time.perf_counter() - start)
                    statuses.append(result["status"])
                    if args.reasons:
                        reasons.append(left_out_figures(rule, event, result))
                status = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
                row = (
                    f"{kind:<11}{n:>7}  {name:<16}{statistics.median(timings):>9.3f}"
                    f"{max(timings):>8.3f}"
                )
                if reasons:
                    seconds, solved, bounded, proven = zip(*reasons, strict=True)
                    row += (
                        f"{statistics.median(seconds):>10.3f}{max(seconds):>8.3f}"
                        f"{statistics.median(solved):>7.0f}{statistics.median(bounded):>7.0f}"
                        f"{min(proven):>7}"
                    )
                print(f"{row}  {status}", flush=True)


def left_out_figures(rule, event: dict, raw: dict) -> tuple[float, int, int, int]:
    """Seconds the rule takes to explain what it left out; solved, bounded, proven closest."""
    result = AllocateResult.from_dict(raw)
    start = time.perf_counter()
    report = rule.left_out(event, result)
    seconds = time.perf_counter() - start
    kinds = [reason.kind for reason in report.left_out.values()]
    solved = sum(kind in (TIED, WORSE) for kind in kinds)
    return seconds, solved, kinds.count(NOT_COMPUTED), report.proven_closest


if __name__ == "__main__":
    main()
