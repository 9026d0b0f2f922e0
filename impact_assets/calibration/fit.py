"""Fit a loop's calibration: the effect-size prior, then each method's scale ratio."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from impact_assets.calibration.assumptions import FEW_PILOTS, RATIO_PRIOR_MEAN
from impact_assets.calibration.history import other_loops_records, records_for_fit
from impact_assets.calibration.pilots import PilotEvidence, evidence_from_record
from impact_assets.calibration.prior import effect_posterior, fit_effect_prior, new_effect_moments
from impact_assets.calibration.ratio import fit_method_ratio, neutral_ratio
from impact_assets.calibration.summary import loop_count, null_share
from impact_assets.contracts.calibration import (
    SOURCE_FILE,
    Calibration,
    CalibrationHistory,
    CalibrationRecord,
    EffectPrior,
    MethodRatio,
)


def reference_scale(prior: EffectPrior, pilots: Sequence[PilotEvidence]) -> float:
    """The prior's root-mean-square effect (currency); the pilots' when the prior is flat."""
    mean, variance = new_effect_moments(prior)
    if np.isfinite(variance):
        return float(np.sqrt(mean**2 + variance))
    if pilots:
        return float(np.sqrt(np.mean([p.estimate**2 for p in pilots])))
    return 0.0


def fit_ratios(
    prior: EffectPrior, pairs: Sequence[CalibrationRecord], reference: float
) -> dict[str, MethodRatio]:
    """One ratio per method that has pairs, each pair's pilot seen through the prior."""
    by_method: dict[str, list[CalibrationRecord]] = defaultdict(list)
    for record in pairs:
        by_method[record.method].append(record)
    ratios = {}
    for method, records in sorted(by_method.items()):
        evidence = [evidence_from_record(r) for r in records]
        posterior = effect_posterior(
            prior, np.array([e.estimate for e in evidence]), np.array([e.se for e in evidence])
        )
        ratios[method] = fit_method_ratio(
            method,
            posterior,
            np.array([r.scale_estimate * r.value_per_unit for r in records]),
            np.array([r.scale_se * r.value_per_unit for r in records]),
            reference,
        )
    return ratios


def _notes(
    prior: EffectPrior,
    ratios: dict[str, MethodRatio],
    neutral: MethodRatio,
    current_methods: Sequence[str],
) -> list[str]:
    notes = []
    earlier = prior.pilots - prior.current_pilots
    if prior.flat:
        notes.append("prior: no pilot to learn from; each pilot speaks for itself (flat prior)")
    else:
        weak = (
            f" (fewer than {FEW_PILOTS}: a weak prior, with no share of null effects)"
            if prior.pilots < FEW_PILOTS
            else ""
        )
        nulls = null_share(prior)
        share = (
            f": {nulls[0]:.0%} of effects null (90%: {nulls[1]:.0%} to {nulls[2]:.0%})"
            if nulls
            else ""
        )
        notes.append(
            f"prior: learnt from {prior.pilots} pilots ({prior.current_pilots} of this loop, "
            f"{earlier} from earlier loops){weak}{share}"
        )
    for method, ratio in sorted(ratios.items()):
        notes.append(
            f"{method}: ratio at scale {ratio.ratio_mean:.2f} "
            f"(90%: {ratio.ratio_low:.2f} to {ratio.ratio_high:.2f}) from {ratio.pairs} pairs"
        )
    for method in sorted(set(current_methods) - set(ratios)):
        notes.append(
            f"{method}: no pilot-against-scale pair yet: neutral ratio {RATIO_PRIOR_MEAN:g} "
            f"(90%: {neutral.ratio_low:.2f} to {neutral.ratio_high:.2f})"
        )
    return notes


def fit_calibration(
    current: Sequence[PilotEvidence], history: CalibrationHistory | None, loop_id: str
) -> Calibration:
    """The calibration of a loop: a prior on this loop's and earlier pilots, ratios on the pairs."""
    current_ids = {pilot.initiative_id for pilot in current}
    prior_records, pairs = records_for_fit(history, current_ids, loop_id)
    sample = list(current) + [evidence_from_record(r) for r in prior_records]
    prior = fit_effect_prior(sample, current_pilots=len(current))
    reference = reference_scale(prior, sample)
    ratios = fit_ratios(prior, pairs, reference)
    neutral = neutral_ratio(reference)
    usable = other_loops_records(history, loop_id)
    return Calibration(
        loop_id=loop_id,
        prior=prior,
        ratios=ratios,
        neutral_ratio=neutral,
        history_records=len(usable),
        history_pairs=len(pairs),
        notes=_notes(prior, ratios, neutral, [p.method for p in current]),
        history_loops=loop_count(usable),
        history_file_pairs=sum(1 for r in pairs if r.source == SOURCE_FILE),
    )
