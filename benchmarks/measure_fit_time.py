"""Time the statistical MEASURE per method at a pilot-sized and a scale-sized sample.

    python benchmarks/measure_fit_time.py [--repeats 7]

``fit`` is the estimator alone on an already simulated sample; ``execute`` is
one whole StatisticalMeasure call (simulate + fit + contract). Sizes are units,
time points for ITS; a DiD unit is 8 periods, so n = 5000 is 40,000 rows.
Median of ``--repeats`` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from impact_assets.components.measure.estimators import estimate
from impact_assets.components.measure.simulate import simulate, simulated_columns
from impact_assets.components.measure.statistical import StatisticalMeasure
from impact_assets.config.models import SimulatedData
from impact_assets.contracts import Method

SIZES = (400, 5000)


def _median_ms(function, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return 1000 * statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    spec = SimulatedData(source="simulated", true_effect=0.3)
    measure = StatisticalMeasure()
    print(f"{'method':<28}{'n':>6}{'fit ms':>10}{'execute ms':>12}")
    for method in Method:
        for size in SIZES:
            frame = simulate(
                method, spec, root_seed=1, initiative_id="bench", stage="scale", sample_size=size
            )
            columns = simulated_columns(method, size)
            fit = _median_ms(lambda: estimate(method, frame, columns), repeats)  # noqa: B023
            event = {
                "initiative_id": "bench",
                "seed": 1,
                "stage": "scale",
                "sample_size": size,
                "initiative": {
                    "initiative_id": "bench",
                    "cost_to_scale": 1.0,
                    "method": method.value,
                    "data": spec.model_dump(),
                },
            }
            execute = _median_ms(lambda: measure.execute(event), repeats)  # noqa: B023
            print(f"{method.value:<28}{size:>6}{fit:>10.1f}{execute:>12.1f}")


if __name__ == "__main__":
    main()
