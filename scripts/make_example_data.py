"""Write the small example data sets in ``data/`` that ``examples/files.yaml`` measures.

One CSV per method (and a scale sample for two of them), drawn from the
simulation designs of :mod:`impact_assets.components.measure.simulate` with a
fixed seed and renamed to look like real data, so the files are reproducible:

    python scripts/make_example_data.py            # writes data/*.csv
    python scripts/make_example_data.py --out DIR  # somewhere else

Files (true effects in outcome units, for checking the estimates):

- experiment_pilot.csv / experiment_scale.csv: a checkout A/B test,
  300 / 800 customers, ``basket_value`` ~ ``new_checkout`` (+ ``prior_spend``,
  ``returning_customer``); effect 0.30 in the pilot, 0.24 at scale.
- did_pilot.csv: 60 stores x 8 months, ``sales`` by ``store`` and ``month``,
  ``treated`` stores get the new layout from month 4; effect 0.40.
- its_pilot.csv / its_scale.csv: weekly ``signups`` (120 / 300 weeks from
  2020-01-06) with a newsletter launched at the midpoint; effect 0.50,
  AR(1) noise with SD 0.5.
- observational_pilot.csv: 400 customers, ``spend`` ~ ``loyalty_member``,
  confounded by ``age_z``, ``visits_z`` and ``urban``; effect 0.25.
- synthetic_control_pilot.csv: weekly ``sales`` of 40 regions for 60 weeks;
  ``region-00`` got the new pricing from week 30; effect 0.6.
- past_pilots.csv: an organisation's pilot-against-scale results from two earlier
  rounds (``calibration.history_file`` in ``examples/complete.yaml``): 16 scaled
  initiatives, experiments keeping their pilot effect at scale, observational studies
  keeping 0.7 of it, in outcome units with ``value_per_unit``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from impact_assets.components.measure.simulate import simulate
from impact_assets.config.models import SimulatedData
from impact_assets.contracts import Method

ROOT = Path(__file__).resolve().parents[1]
SEED = 11
ITS_START = pd.Timestamp("2020-01-06")  # a Monday


def _sample(method: Method, initiative_id: str, stage: str, size: int, **spec) -> pd.DataFrame:
    data = SimulatedData(source="simulated", **spec)
    return simulate(
        method, data, root_seed=SEED, initiative_id=initiative_id, stage=stage, sample_size=size
    )


def _experiment(stage: str, size: int) -> pd.DataFrame:
    frame = _sample(
        Method.EXPERIMENT, "checkout", stage, size, true_effect=0.3, scale_effect_ratio=0.8
    )
    return frame.rename(
        columns={
            "outcome": "basket_value",
            "treatment": "new_checkout",
            "x1": "prior_spend",
            "x2": "returning_customer",
        }
    )


def _did() -> pd.DataFrame:
    frame = _sample(Method.DIFFERENCE_IN_DIFFERENCES, "store-layout", "pilot", 60, true_effect=0.4)
    frame["unit"] = frame["unit"].map(lambda unit: f"store-{unit:03d}")
    return frame.rename(columns={"unit": "store", "period": "month", "outcome": "sales"})


def _its(stage: str, size: int) -> pd.DataFrame:
    frame = _sample(
        Method.INTERRUPTED_TIME_SERIES, "newsletter", stage, size, true_effect=0.5, noise_sd=0.5
    )
    weeks = ITS_START + pd.to_timedelta(7 * frame["time"], unit="D")
    return pd.DataFrame({"week": weeks.dt.strftime("%Y-%m-%d"), "signups": frame["outcome"]})


def _observational() -> pd.DataFrame:
    frame = _sample(Method.OBSERVATIONAL, "loyalty", "pilot", 400, true_effect=0.25)
    return frame.rename(
        columns={
            "outcome": "spend",
            "treatment": "loyalty_member",
            "x1": "age_z",
            "x2": "visits_z",
            "x3": "urban",
        }
    )


def _synthetic_control() -> pd.DataFrame:
    frame = _sample(Method.SYNTHETIC_CONTROL, "regional-pricing", "pilot", 60, true_effect=0.6)
    frame["unit"] = frame["unit"].map(lambda unit: f"region-{unit:02d}")
    frame = frame.drop(columns="treated")  # the config names the treated region
    return frame.rename(columns={"unit": "region", "period": "week", "outcome": "sales"})


def _past_pilots() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    rows = []
    for index in range(16):
        method = "experiment" if index % 2 == 0 else "observational"
        ratio = 1.0 if method == "experiment" else 0.7
        effect = float(rng.normal(0.25, 0.1))
        pilot_se, scale_se = float(rng.uniform(0.04, 0.1)), float(rng.uniform(0.01, 0.03))
        rows.append(
            {
                "initiative_id": f"past-{index:02d}",
                "loop_id": "2025-H1" if index < 8 else "2025-H2",
                "method": method,
                "pilot_estimate": round(effect + pilot_se * float(rng.normal()), 4),
                "pilot_se": round(pilot_se, 4),
                "scale_estimate": round(ratio * effect + scale_se * float(rng.normal()), 4),
                "scale_se": round(scale_se, 4),
                "value_per_unit": 20000,
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data", help="output directory")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "experiment_pilot.csv": _experiment("pilot", 300),
        "experiment_scale.csv": _experiment("scale", 800),
        "did_pilot.csv": _did(),
        "its_pilot.csv": _its("pilot", 120),
        "its_scale.csv": _its("scale", 300),
        "observational_pilot.csv": _observational(),
        "synthetic_control_pilot.csv": _synthetic_control(),
        "past_pilots.csv": _past_pilots(),
    }
    for name, frame in files.items():
        frame.to_csv(out / name, index=False, float_format="%.6g")
        print(f"wrote {out / name} ({len(frame)} rows)")


if __name__ == "__main__":
    main()
