"""What a calibration learnt from, in the words the console and the UI show."""

from __future__ import annotations

import numpy as np
from synthetic import draw_pilots, evidence, synthetic_history

from impact_assets.calibration.fit import fit_calibration
from impact_assets.calibration.summary import learnt_from, null_share
from impact_assets.contracts import CalibrationHistory
from impact_assets.contracts.calibration import SOURCE_FILE


def current(rng, n=20):
    _, y, s = draw_pilots(rng, n, mu=0.2, tau=0.15, se_range=(0.05, 0.2))
    return evidence(y, s)


def test_a_first_loop_says_it_had_no_earlier_loop():
    calibration = fit_calibration(current(np.random.default_rng(1)), None, "L1")
    assert (calibration.history_loops, calibration.history_pairs) == (0, 0)
    assert learnt_from(calibration) == (
        "no earlier loops: the prior is learnt from this loop's 20 pilots and every ratio "
        "at scale is the neutral 1"
    )


def test_a_later_loop_counts_its_pairs_and_the_loops_they_came_from():
    rng = np.random.default_rng(2)
    history = synthetic_history(rng, {"experiment": 1.0}, loops=3, per_loop=20)
    calibration = fit_calibration(current(rng), history, "now")
    assert calibration.history_loops == 3
    assert calibration.history_pairs == 30 and calibration.history_file_pairs == 0
    assert learnt_from(calibration) == (
        "calibrated on 30 pilot-vs-scale pairs from 3 earlier loops; prior from 80 pilots "
        "(20 of this loop)"
    )
    # the loop's own records never count: a rerun of loop 3 learns from loops 1 and 2
    rerun = fit_calibration(current(rng), history, history.loop_ids[-1])
    assert rerun.history_loops == 2 and rerun.history_pairs == 20
    assert "from 2 earlier loops" in learnt_from(rerun)


def test_pairs_from_the_history_file_are_named_and_loops_without_pairs_say_so():
    rng = np.random.default_rng(3)
    history = synthetic_history(rng, {"experiment": 1.0}, loops=2, per_loop=10)
    from_file = CalibrationHistory(
        [r.__class__(**{**r.to_dict(), "source": SOURCE_FILE}) for r in history.pairs]
    )
    calibration = fit_calibration(current(rng), from_file, "now")
    assert calibration.history_file_pairs == calibration.history_pairs == 10
    assert calibration.history_loops == 0
    assert learnt_from(calibration) == (
        "calibrated on 10 pilot-vs-scale pairs from the history file; prior from 20 pilots "
        "(20 of this loop)"
    )
    unscaled = CalibrationHistory([r for r in history.records if not r.scaled])
    calibration = fit_calibration(current(rng), unscaled, "now")
    assert learnt_from(calibration) == (
        "no pilot-vs-scale pair yet in 2 earlier loops: every ratio at scale is the neutral "
        "1; prior from 30 pilots (20 of this loop)"
    )


def test_the_notes_give_the_prior_s_share_of_nulls():
    rng = np.random.default_rng(4)
    calibration = fit_calibration(current(rng), None, "L1")
    mean, low, high = null_share(calibration.prior)
    assert 0 <= low <= mean <= high <= 1
    assert f"{mean:.0%} of effects null (90%: {low:.0%} to {high:.0%})" in calibration.notes[0]
    few = fit_calibration(current(rng, n=3), None, "L1")
    assert null_share(few.prior) is None
    assert "a weak prior, with no share of null effects" in few.notes[0]


def test_the_console_prints_what_the_calibration_learnt_from_and_each_ratio():
    from impact_assets.cli.console import calibration_lines

    rng = np.random.default_rng(5)
    history = synthetic_history(rng, {"interrupted_time_series": 0.5}, loops=2, per_loop=20)
    calibration = fit_calibration(current(rng), history, "now")
    ratio = calibration.ratios["interrupted_time_series"]
    assert calibration_lines(calibration) == [
        f"  Calibration: {learnt_from(calibration)}",
        f"    interrupted_time_series: ratio at scale {ratio.ratio_mean:.2f} "
        f"(90%: {ratio.ratio_low:.2f} to {ratio.ratio_high:.2f}, 20 pairs)",
    ]
    assert calibration_lines(None) == []
