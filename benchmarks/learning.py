"""Does the loop learn? A sequence of loops on one instance, ``evidence`` against ``calibrated``.

    python benchmarks/learning.py                                  # the default population
    python benchmarks/learning.py --population mostly-nulls --seeds 1 20
    python benchmarks/learning.py --null-share 0.6 --ratios interrupted_time_series=0.5 \\
        --effect-shape lognormal --costs 10000 20000 --pilot-scale 0.5
    python benchmarks/learning.py --list-populations

Each seed runs ``--loops`` loops twice, through the real asset graph (``impact_loop``
in this process, on one temporary Dagster instance per evaluator): once with
``evaluate: evidence`` (and its rule, ``--evidence-rule``), once with
``evaluate: calibrated`` (and ``--rule``). Every loop brings ``--initiatives`` new
initiatives drawn from the population below (simulated data, so the truth is known);
the calibrated instance's history grows loop after loop. Both sequences see the same
initiatives and the same pilot samples.

The population (every option also has a named preset, ``--population``):

- ``--mix``: the share of each method; ``--ratios``: each method's ratio of the true
  effect at scale to the pilot's (decay below 1), ``--ratio-spread``: the SD of a
  per-initiative deviation from it;
- ``--null-share``: the share of initiatives whose true effect is 0; the others are
  drawn from ``--effect-shape`` (normal, exponential, lognormal or t with 3 df) with
  ``--effect-mean`` and ``--effect-spread`` (outcome units; the outcome noise SD is 1);
- ``--costs LOW HIGH``: cost to scale, uniform; ``--budget-share``: the budget as a share
  of the loop's total cost; ``--value-per-unit LOW HIGH``: uniform;
- ``--pilot-scale``: multiplies each method's pilot sample sizes (experiment 100-800
  units, DiD 40-150 units x 8 periods, ITS 100-400 points, observational 300-1500
  units, synthetic control 40-100 periods); ``--scale-sample-size``.

Per loop, averaged over seeds: the mean prediction error among the selected
(actual - predicted, currency, pooled over the selected of every seed), the share of
selected initiatives whose ``[R_worst, R_best]`` covers the true return at scale, and
the oracle capture (realised true value / the oracle's). ``raw`` is the capture of the
raw-estimate portfolio (the largest sum of raw pilot estimates within the budget, on
the same pilots); ``alt:`` columns are the other allocation rules run on the same
calibrated evaluations (what the calibrated loop would have captured with them).
``--engine stages`` runs the same stage functions without Dagster (faster, same numbers).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from impact_assets.components.allocate.oracle import oracle_value
from impact_assets.config import load_config
from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import CalibrationHistory, EvaluationRecord, LoopReport
from impact_assets.registry import create_component

METHODS = (
    "experiment",
    "difference_in_differences",
    "interrupted_time_series",
    "observational",
    "synthetic_control",
)
PILOT_SIZES = {  # units (time points for ITS, periods for synthetic control), at --pilot-scale 1
    "experiment": (100, 800),
    "difference_in_differences": (40, 150),
    "interrupted_time_series": (100, 400),
    "observational": (300, 1500),
    "synthetic_control": (40, 100),
}
MIN_PILOT_SIZES = {"difference_in_differences": 22, "synthetic_control": 30}
ALTERNATIVE_RULES = ("minimax_regret", "bayesian", "expected_return")
TARGET_ERROR_SHARE = 0.25
TARGET_COVERAGE = (0.80, 0.97)
TARGET_CAPTURE_GAP = 0.02


@dataclass(frozen=True)
class Population:
    """Where each loop's new initiatives come from (outcome units; noise SD 1)."""

    mix: dict[str, float] = field(
        default_factory=lambda: {
            "experiment": 0.4,
            "difference_in_differences": 0.2,
            "interrupted_time_series": 0.15,
            "observational": 0.15,
            "synthetic_control": 0.1,
        }
    )
    ratios: dict[str, float] = field(
        default_factory=lambda: {
            "experiment": 1.0,
            "difference_in_differences": 0.9,
            "interrupted_time_series": 0.6,
            "observational": 0.8,
            "synthetic_control": 0.9,
        }
    )
    ratio_spread: float = 0.0
    null_share: float = 0.4
    effect_shape: str = "normal"
    effect_mean: float = 0.2
    effect_spread: float = 0.15
    costs: tuple[float, float] = (5_000.0, 30_000.0)
    budget_share: float = 0.3
    value_per_unit: tuple[float, float] = (100_000.0, 100_000.0)
    pilot_scale: float = 1.0
    scale_sample_size: int = 5000
    initiatives: int = 20


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-nulls": {"null_share": 0.0, "effect_mean": 0.15, "effect_spread": 0.1},
    "mostly-nulls": {"null_share": 0.7, "effect_shape": "exponential", "effect_mean": 0.25},
    "skewed": {"null_share": 0.5, "effect_shape": "lognormal", "effect_mean": 0.2},
    "heavy-tails": {
        "null_share": 0.3,
        "effect_shape": "t",
        "effect_mean": 0.1,
        "effect_spread": 0.1,
    },
    "strong-decay": {
        "ratios": {m: r for m, r in zip(METHODS, (0.7, 0.6, 0.4, 0.5, 0.6), strict=True)},
        "ratio_spread": 0.15,
    },
    "small-pilots": {"pilot_scale": 0.5},
    "experiments-only": {"mix": {"experiment": 1.0}},
    "varied-value": {"value_per_unit": (40_000.0, 160_000.0), "costs": (2_000.0, 40_000.0)},
}


def _draw_effects(population: Population, rng: np.random.Generator, n: int) -> np.ndarray:
    shape, mean, spread = population.effect_shape, population.effect_mean, population.effect_spread
    if shape == "normal":
        effects = rng.normal(mean, spread, n)
    elif shape == "exponential":
        effects = rng.exponential(mean, n)
    elif shape == "lognormal":
        sigma = 0.6
        effects = rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, n)
    elif shape == "t":
        effects = mean + spread * rng.standard_t(3, n)
    else:
        raise ValueError(f"--effect-shape: unknown shape {shape!r}")
    return np.where(rng.uniform(size=n) < population.null_share, 0.0, effects)


def draw_portfolio(
    population: Population, seed: int, loop: int, evaluate: str, rule: str
) -> dict[str, Any]:
    """One loop's config: new initiatives from the population (the same for every evaluator)."""
    rng = np.random.default_rng([seed, loop])
    n = population.initiatives
    methods = sorted(population.mix)
    shares = np.array([population.mix[m] for m in methods], dtype=float)
    chosen = rng.choice(methods, size=n, p=shares / shares.sum())
    effects = _draw_effects(population, rng, n)
    deviations = rng.normal(0.0, 1.0, n) * population.ratio_spread
    costs = np.round(rng.uniform(*population.costs, n), -2)
    values = np.round(rng.uniform(*population.value_per_unit, n), -2)
    initiatives = []
    for index in range(n):
        method = str(chosen[index])
        low, high = PILOT_SIZES[method]
        size = int(rng.integers(low, high + 1) * population.pilot_scale)
        size = max(size, MIN_PILOT_SIZES.get(method, 30), 30)
        ratio = max(0.0, population.ratios.get(method, 1.0) + float(deviations[index]))
        initiatives.append(
            {
                "initiative_id": f"s{seed:03d}-l{loop:02d}-{index:03d}",
                "cost_to_scale": float(costs[index]),
                "value_per_unit": float(values[index]),
                "method": method,
                "data": {
                    "source": "simulated",
                    "true_effect": float(effects[index]),
                    "pilot_sample_size": size,
                    "scale_effect_ratio": ratio,
                },
            }
        )
    return {
        "budget": float(population.budget_share * costs.sum()),
        "scale_sample_size": population.scale_sample_size,
        "max_workers": 2,
        "seed": seed * 1000 + loop,
        "measure": {"component": "statistical"},
        "evaluate": {"component": evaluate},
        "allocate": {"component": rule},
        "initiatives": initiatives,
    }


@dataclass
class LoopResult:
    """What one loop of one evaluator's sequence gave."""

    seed: int
    loop: int
    evaluator: str
    errors: list[float]
    covered: list[bool]
    capture: float | None
    raw_capture: float | None = None
    alternatives: dict[str, float | None] = field(default_factory=dict)


class DagsterSequence:
    """Loops through the real ``impact_loop`` job on one temporary instance."""

    def __init__(self, folder: Path):
        import dagster as dg

        home = folder / "dagster_home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        self._context = dg.instance_for_test(temp_dir=str(home))
        self.instance = self._context.__enter__()

    def run(self, config_path: Path, loop_id: str):
        from impact_assets.api import run_impact_loop

        run = run_impact_loop(config_path, self.instance, loop_id=loop_id)
        if not run.outcome.success:
            raise RuntimeError(f"loop {loop_id} failed: {run.outcome.step_failures}")
        return run.values.evaluations, run.values.report

    def close(self) -> None:
        self._context.__exit__(None, None, None)


class StageSequence:
    """The same loops through the stage functions, history kept in memory."""

    def __init__(self, folder: Path):
        self.history: CalibrationHistory | None = None
        self.report: LoopReport | None = None

    def run(self, config_path: Path, loop_id: str):
        from impact_assets.loop.calibration import calibrate, update_history
        from impact_assets.loop.report import build_loop_report
        from impact_assets.loop.stages import (
            allocate_portfolio,
            evaluate_pilots,
            measure_at_scale,
            measure_pilots,
        )

        config = load_config(config_path)
        ids = config.initiative_ids
        self.history = update_history(self.history, self.report, config, loop_id)
        pilots = measure_pilots(config, ids, loop_id)
        calibration = calibrate(config, pilots, self.history, loop_id)
        evaluations = evaluate_pilots(config, pilots, loop_id, calibration)
        allocation = allocate_portfolio(config, evaluations, loop_id)
        scales = measure_at_scale(config, allocation, ids, loop_id)
        self.report = build_loop_report(config, pilots, evaluations, allocation, scales)
        return evaluations, self.report

    def close(self) -> None:
        pass


def _true_returns(config: PortfolioConfig) -> dict[str, float]:
    return {
        i.initiative_id: i.data.true_effect * i.data.scale_effect_ratio * i.value_per_unit
        for i in config.initiatives
    }


def capture_of_rule(
    rule: str, evaluations: dict[str, EvaluationRecord | None], config: PortfolioConfig
) -> float | None:
    """The oracle capture of ``rule`` run on ``evaluations`` (a counterfactual allocation)."""
    results = [r.result.to_dict() for r in evaluations.values() if r is not None and r.ok]
    event = {"initiatives": results, "budget": config.budget, "min_confidence": 0.0}
    selected = create_component("allocate", rule).execute(event)["selected_initiatives"]
    truth = _true_returns(config)
    costs = {i.initiative_id: i.cost_to_scale for i in config.initiatives}
    _, best = oracle_value(truth, costs, config.budget)
    return sum(truth[i] for i in selected) / best if best > 0 else None


def run_sequence(
    population: Population,
    seed: int,
    loops: int,
    evaluator: str,
    rule: str,
    folder: Path,
    engine: str,
    alternatives: bool,
) -> list[LoopResult]:
    """``loops`` loops of one evaluator on one instance."""
    folder.mkdir(parents=True, exist_ok=True)
    sequence = (DagsterSequence if engine == "dagster" else StageSequence)(folder / evaluator)
    results = []
    try:
        for loop in range(1, loops + 1):
            raw = draw_portfolio(population, seed, loop, evaluator, rule)
            path = folder / f"{evaluator}-{loop:02d}.yaml"
            path.write_text(yaml.safe_dump(raw, sort_keys=False))
            config = load_config(path)
            loop_id = f"2026{loop:02d}01T000000Z-s{seed:05d}"
            evaluations, report = sequence.run(path, loop_id)
            result = LoopResult(
                seed=seed,
                loop=loop,
                evaluator=evaluator,
                errors=[r.prediction_error for r in report.reports],
                covered=[bool(r.interval_covers_truth) for r in report.reports],
                capture=report.summary.oracle_ratio,
            )
            if evaluator == "evidence":
                result.raw_capture = capture_of_rule("expected_return", evaluations, config)
            elif alternatives:
                result.alternatives = {
                    name: capture_of_rule(name, evaluations, config) for name in ALTERNATIVE_RULES
                }
            results.append(result)
    finally:
        sequence.close()
    return results


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _pooled(results: list[LoopResult], name: str) -> float | None:
    values = [v for r in results for v in getattr(r, name)]
    return statistics.fmean(values) if values else None


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "money":
        return f"{value:+,.0f}"
    return f"{value:.1%}"


def summarise(results: list[LoopResult], loops: int) -> dict[str, Any]:
    """Per-loop rows and the target checks, from every seed's results."""
    evidence = [r for r in results if r.evaluator == "evidence"]
    calibrated = [r for r in results if r.evaluator == "calibrated"]
    rows = []
    for loop in range(1, loops + 1):
        ev = [r for r in evidence if r.loop == loop]
        cal = [r for r in calibrated if r.loop == loop]
        rows.append(
            {
                "loop": loop,
                "evidence_error": _pooled(ev, "errors"),
                "evidence_coverage": _pooled(ev, "covered"),
                "evidence_capture": _mean([r.capture for r in ev]),
                "calibrated_error": _pooled(cal, "errors"),
                "calibrated_coverage": _pooled(cal, "covered"),
                "calibrated_capture": _mean([r.capture for r in cal]),
                "raw_capture": _mean([r.raw_capture for r in ev]),
                **{
                    f"alt_{name}": _mean([r.alternatives.get(name) for r in cal])
                    for name in ALTERNATIVE_RULES
                },
            }
        )

    def block(selection: list[LoopResult]) -> dict[str, Any]:
        return {
            "error": _pooled(selection, "errors"),
            "coverage": _pooled(selection, "covered"),
            "capture": _mean([r.capture for r in selection]),
            "raw_capture": _mean([r.raw_capture for r in selection]),
            "selected": sum(len(r.errors) for r in selection),
        }

    def paired_gap(first: list[LoopResult], second: list[LoopResult], attr: str) -> tuple:
        """Mean and standard error over seeds of ``first``'s capture minus ``second``'s ``attr``."""
        by_seed: dict[int, list[float]] = {}
        for a, b in zip(first, second, strict=True):
            value = getattr(b, attr)
            if a.capture is not None and value is not None:
                by_seed.setdefault(a.seed, []).append(a.capture - value)
        gaps = [statistics.fmean(v) for v in by_seed.values()]
        if len(gaps) < 2:
            return (gaps[0] if gaps else None, None)
        return statistics.fmean(gaps), statistics.stdev(gaps) / len(gaps) ** 0.5

    checks = {}
    windows = (("from loop 3", lambda r: r.loop >= 3), ("loop 1", lambda r: r.loop == 1))
    for label, loops_in in windows:
        ev = sorted((r for r in evidence if loops_in(r)), key=lambda r: (r.seed, r.loop))
        cal = sorted((r for r in calibrated if loops_in(r)), key=lambda r: (r.seed, r.loop))
        e, c = block(ev), block(cal)
        checks[label] = {
            "evidence": e,
            "calibrated": c,
            "capture_minus_evidence": paired_gap(cal, ev, "capture"),
            "capture_minus_raw": paired_gap(cal, ev, "raw_capture"),
        }
    checks["all loops coverage"] = {"calibrated": _pooled(calibrated, "covered")}
    return {"rows": rows, "checks": checks}


def print_summary(summary: dict[str, Any], population: Population, seeds: range, rule: str) -> None:
    print(f"\npopulation: {json.dumps(asdict(population))}")
    print(f"seeds {seeds.start}-{seeds.stop - 1}; calibrated rule: {rule}")
    header = (
        f"{'loop':>4} | {'evidence: error':>15} {'cover':>6} {'capture':>7} | "
        f"{'calibrated: error':>17} {'cover':>6} {'capture':>7} | {'raw':>6} | "
        + " ".join(f"{'alt:' + n[:8]:>13}" for n in ALTERNATIVE_RULES)
    )
    print(header)
    print("-" * len(header))
    for row in summary["rows"]:
        print(
            f"{row['loop']:>4} | {_fmt(row['evidence_error'], 'money'):>15} "
            f"{_fmt(row['evidence_coverage'], 'share'):>6} "
            f"{_fmt(row['evidence_capture'], 'share'):>7} | "
            f"{_fmt(row['calibrated_error'], 'money'):>17} "
            f"{_fmt(row['calibrated_coverage'], 'share'):>6} "
            f"{_fmt(row['calibrated_capture'], 'share'):>7} | "
            f"{_fmt(row['raw_capture'], 'share'):>6} | "
            + " ".join(f"{_fmt(row['alt_' + n], 'share'):>13}" for n in ALTERNATIVE_RULES)
        )
    for label in ("from loop 3", "loop 1"):
        check = summary["checks"][label]
        e, c = check["evidence"], check["calibrated"]
        print(f"\n{label}: {c['selected']} calibrated and {e['selected']} evidence selections")
        if e["error"] is not None and c["error"] is not None:
            share = abs(c["error"]) / abs(e["error"]) if e["error"] else float("inf")
            verdict = "met" if share <= TARGET_ERROR_SHARE else "NOT met"
            print(
                f"  mean prediction error: calibrated {_fmt(c['error'], 'money')}, evidence "
                f"{_fmt(e['error'], 'money')}: |ratio| {share:.2f} "
                f"(target <= {TARGET_ERROR_SHARE}: {verdict})"
            )
        if c["coverage"] is not None:
            low, high = TARGET_COVERAGE
            verdict = "met" if low <= c["coverage"] <= high else "NOT met"
            print(
                f"  90% interval covers the truth at scale: {_fmt(c['coverage'], 'share')} "
                f"(target {low:.0%}-{high:.0%}: {verdict})"
            )
        gap, se = check["capture_minus_evidence"]
        if gap is not None:
            verdict = "met" if gap >= 0 else "NOT met"
            shown = f" +/- {se:.1%}" if se is not None else ""
            print(
                f"  capture: calibrated {_fmt(c['capture'], 'share')}, evidence "
                f"{_fmt(e['capture'], 'share')}, raw-estimate portfolio "
                f"{_fmt(e['raw_capture'], 'share')}; calibrated - evidence {gap:+.1%}{shown} "
                f"(target >= 0: {verdict})"
            )
        gap, se = check["capture_minus_raw"]
        if gap is not None:
            verdict = "met" if gap >= -TARGET_CAPTURE_GAP else "NOT met"
            shown = f" +/- {se:.1%}" if se is not None else ""
            print(
                f"  calibrated - raw-estimate portfolio {gap:+.1%}{shown} "
                f"(target >= -{TARGET_CAPTURE_GAP:.0%}: {verdict})"
            )
    coverage = summary["checks"]["all loops coverage"]["calibrated"]
    print(f"\ncalibrated coverage over every loop: {_fmt(coverage, 'share')}")


def _pairs(text: str) -> dict[str, float]:
    pairs = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        if name.strip() not in METHODS:
            raise SystemExit(f"unknown method {name!r}; choose among {', '.join(METHODS)}")
        pairs[name.strip()] = float(value)
    return pairs


def population_from(args: argparse.Namespace) -> Population:
    population = replace(Population(), **PRESETS[args.population])
    overrides: dict[str, Any] = {}
    for name in (
        "null_share",
        "effect_shape",
        "effect_mean",
        "effect_spread",
        "ratio_spread",
        "budget_share",
        "pilot_scale",
        "scale_sample_size",
        "initiatives",
    ):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.mix:
        overrides["mix"] = _pairs(args.mix)
    if args.ratios:
        overrides["ratios"] = {**population.ratios, **_pairs(args.ratios)}
    if args.costs:
        overrides["costs"] = tuple(args.costs)
    if args.value_per_unit:
        overrides["value_per_unit"] = tuple(args.value_per_unit)
    return replace(population, **overrides)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", default="default", choices=sorted(PRESETS))
    parser.add_argument("--list-populations", action="store_true")
    parser.add_argument("--seeds", type=int, nargs=2, default=(1, 10), metavar=("FIRST", "LAST"))
    parser.add_argument("--loops", type=int, default=6)
    parser.add_argument("--initiatives", type=int)
    parser.add_argument("--null-share", type=float)
    parser.add_argument("--effect-shape", choices=("normal", "exponential", "lognormal", "t"))
    parser.add_argument("--effect-mean", type=float)
    parser.add_argument("--effect-spread", type=float)
    parser.add_argument("--mix", help="e.g. experiment=0.5,observational=0.5")
    parser.add_argument("--ratios", help="e.g. interrupted_time_series=0.5 (others keep theirs)")
    parser.add_argument("--ratio-spread", type=float)
    parser.add_argument("--costs", type=float, nargs=2, metavar=("LOW", "HIGH"))
    parser.add_argument("--budget-share", type=float)
    parser.add_argument("--value-per-unit", type=float, nargs=2, metavar=("LOW", "HIGH"))
    parser.add_argument("--pilot-scale", type=float)
    parser.add_argument("--scale-sample-size", type=int)
    parser.add_argument("--rule", default="expected_return", help="the calibrated loop's rule")
    parser.add_argument("--evidence-rule", default="minimax_regret")
    parser.add_argument("--engine", choices=("dagster", "stages"), default="dagster")
    parser.add_argument("--no-alternatives", action="store_true", help="skip the alt: columns")
    parser.add_argument("--output", help="also write the per-loop rows and checks as JSON here")
    args = parser.parse_args(argv)
    if args.list_populations:
        for name, preset in PRESETS.items():
            print(f"{name}: {json.dumps(preset) if preset else 'the defaults'}")
        print(f"defaults: {json.dumps(asdict(Population()))}")
        return 0

    population = population_from(args)
    seeds = range(args.seeds[0], args.seeds[1] + 1)
    results: list[LoopResult] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="impact-learning-") as folder:
        for seed in seeds:
            for evaluator, rule in (("evidence", args.evidence_rule), ("calibrated", args.rule)):
                results += run_sequence(
                    population,
                    seed,
                    args.loops,
                    evaluator,
                    rule,
                    Path(folder) / f"seed-{seed}",
                    args.engine,
                    not args.no_alternatives,
                )
            elapsed = time.monotonic() - started
            print(f"seed {seed} done ({elapsed:.0f} s)", file=sys.stderr, flush=True)
    summary = summarise(results, args.loops)
    print_summary(summary, population, seeds, args.rule)
    if args.output:
        document = {"population": asdict(population), "seeds": list(seeds), **summary}
        Path(args.output).write_text(json.dumps(document, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
