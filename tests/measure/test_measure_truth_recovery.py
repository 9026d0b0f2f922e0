"""Truth recovery by simulation: bias and 95% CI coverage of each method over 1,000 samples.

Each repetition is one StatisticalMeasure pilot run on simulated data (true
effect 0.3, noise SD 1) with root seed ``ROOT_SEED`` and initiative id
``mc-<method>-<rep>``, so every sample is an independent, reproducible draw.
Pass criteria: |mean estimate - 0.3| <= 3 Monte Carlo standard errors
(sd of the estimates / sqrt(1000)); coverage within [0.93, 0.97] (Monte Carlo
SD of the coverage at 0.95 is 0.0069), and within [0.92, 0.99] for synthetic
control (40 units observed for 40 periods), whose placebo ranks are discrete.
The simulated DiD has AR(1) errors within units and the observational outcome
is non-linear, so dropping the clustering or the propensity model fails here.
Designs with few units or short series: test_measure_coverage.py. Run with
``-s`` to see the figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from impact_assets.components.measure.statistical import StatisticalMeasure

ROOT_SEED = 20260301
REPETITIONS = 1000
TRUE_EFFECT = 0.3
CASES = [
    # method, sample size (units; time points for ITS), coverage interval
    ("experiment", 200, (0.93, 0.97)),
    ("difference_in_differences", 200, (0.93, 0.97)),
    ("interrupted_time_series", 100, (0.93, 0.97)),
    ("observational", 200, (0.93, 0.97)),
    ("synthetic_control", 40, (0.92, 0.99)),
]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "sample_size", "coverage_interval"), CASES)
def test_bias_and_coverage(method, sample_size, coverage_interval, make_event):
    data = {"source": "simulated", "true_effect": TRUE_EFFECT, "pilot_sample_size": sample_size}
    measure = StatisticalMeasure()
    estimates, covered = [], []
    for rep in range(REPETITIONS):
        event = make_event(method, data, seed=ROOT_SEED, initiative_id=f"mc-{method}-{rep}")
        result = measure.execute(event)
        estimates.append(result["effect_estimate"])
        covered.append(result["ci_lower"] <= TRUE_EFFECT <= result["ci_upper"])
    estimates_array = np.array(estimates)
    bias = float(estimates_array.mean() - TRUE_EFFECT)
    mc_se = float(estimates_array.std(ddof=1) / np.sqrt(REPETITIONS))
    coverage = float(np.mean(covered))
    print(
        f"\n{method} (n={sample_size}, {REPETITIONS} reps, seed {ROOT_SEED}): "
        f"bias {bias:+.4f} (MC SE {mc_se:.4f}, {abs(bias) / mc_se:.2f} SE), "
        f"coverage {coverage:.3f} (interval {coverage_interval[0]}-{coverage_interval[1]})"
    )
    assert abs(bias) <= 3 * mc_se
    low, high = coverage_interval
    assert low <= coverage <= high
