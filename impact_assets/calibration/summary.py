"""A calibration in words: what it learnt from, and the prior's share of null effects."""

from __future__ import annotations

import numpy as np

from impact_assets.contracts.calibration import SOURCE_LOOP, Calibration, EffectPrior


def null_share(prior: EffectPrior) -> tuple[float, float, float] | None:
    """The prior's share of null effects: its posterior mean, 5th and 95th percentiles.

    None when the prior has no spike (flat, or normal: fewer than five pilots).
    """
    if prior.flat or not prior.null_shares:
        return None
    shares = np.asarray(prior.null_shares)
    weights = np.asarray(prior.tau_weights)
    order = np.argsort(shares)
    cumulative = np.cumsum(weights[order]) - weights[order] / 2
    low, high = np.interp([0.05, 0.95], cumulative, shares[order])
    return float(weights @ shares), float(low), float(high)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def learnt_from(calibration: Calibration) -> str:
    """One sentence: the history the calibration learnt from, or that it had none.

    e.g. "calibrated on 240 pilot-vs-scale pairs from 3 earlier loops; prior from 80
    pilots (20 of this loop)", or "no earlier loops: the prior is learnt from this
    loop's 20 pilots and every ratio at scale is the neutral 1".
    """
    prior = calibration.prior
    loop_pairs = calibration.history_pairs - calibration.history_file_pairs
    if calibration.history_records == 0:
        if prior.flat:
            return "no earlier loops and no pilot: the prior is flat and every ratio is neutral"
        return (
            f"no earlier loops: the prior is learnt from this loop's "
            f"{_plural(prior.current_pilots, 'pilot')} and every ratio at scale is the neutral 1"
        )
    loops = _plural(calibration.history_loops, "earlier loop")
    sources = []
    if loop_pairs:
        sources.append(f"{loops}" if calibration.history_loops else "earlier loops")
    if calibration.history_file_pairs:
        sources.append("the history file")
    prior_part = (
        f"prior from {_plural(prior.pilots, 'pilot')} ({prior.current_pilots:,} of this loop)"
    )
    if not calibration.history_pairs:
        where = loops if calibration.history_loops else "the history"
        return (
            f"no pilot-vs-scale pair yet in {where}: every ratio at scale is the neutral 1; "
            f"{prior_part}"
        )
    return (
        f"calibrated on {_plural(calibration.history_pairs, 'pilot-vs-scale pair')} from "
        f"{' and '.join(sources)}; {prior_part}"
    )


def loop_count(records) -> int:
    """The number of distinct loops of this instance among ``records``."""
    return len({r.loop_id for r in records if r.source == SOURCE_LOOP})
