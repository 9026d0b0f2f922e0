"""What every allocation rule shares: candidate order and the confidence filter."""

from __future__ import annotations

from typing import Any


def split_eligible(
    candidates: list[dict[str, Any]], min_confidence: float
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Candidates sorted by id, minus those below ``min_confidence`` (returned with reasons).

    Sorting first makes every rule independent of the order partitions arrive in.
    """
    eligible: list[dict[str, Any]] = []
    excluded: dict[str, str] = {}
    for candidate in sorted(candidates, key=lambda c: c["initiative_id"]):
        if candidate["confidence"] < min_confidence:
            excluded[candidate["initiative_id"]] = (
                f"confidence {candidate['confidence']:.3f} below min_confidence {min_confidence:g}"
            )
        else:
            eligible.append(candidate)
    return eligible, excluded
