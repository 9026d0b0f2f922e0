"""Why each initiative was or was not selected: one reason per candidate, one vocabulary.

The same reasons appear in the console, in ``--output-json``
(``allocate_result.candidates``) and in the UI's candidate table. For an
initiative the rule did not select, the first that applies:

- ``excluded``: it was no candidate (a stale or missing evaluation, filtered
  by ``min_confidence``, removed from the config), with the cause;
- ``failed``: its pilot or its evaluation failed, with the cause;
- ``negative or zero expected return``: its median return ``R_med`` is <= 0;
- ``does not fit``: it costs more than what the selection leaves of the budget;
- ``dominated``: it fits, but the rule found a better use of the same budget
  (for the greedy mock rule, which proves nothing: ``passed over``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from impact_assets.contracts import AllocateResult, AllocationStatus, EvaluationRecord

SELECTED = "selected"
EXCLUDED = "excluded"
FAILED = "failed"
NOT_POSITIVE = "negative or zero expected return"
DOES_NOT_FIT = "does not fit"
DOMINATED = "dominated"
PASSED_OVER = "passed over"
NO_DECISION = "no decision"
# The order reasons are listed in when they are counted.
REASON_KINDS = (
    SELECTED,
    EXCLUDED,
    FAILED,
    NOT_POSITIVE,
    DOES_NOT_FIT,
    DOMINATED,
    PASSED_OVER,
    NO_DECISION,
)
# The words that mark an exclusion caused by a failure upstream (see loop/stages.py).
_FAILURE_CAUSES = ("failed", "skipped")


def money(value: float) -> str:
    """An amount in the config's currency for reading: ``$12,345`` or ``-$1,200``."""
    return f"-${abs(value):,.0f}" if value < 0 else f"${value:,.0f}"


@dataclass(frozen=True)
class Candidate:
    """One initiative of the decision: its numbers, whether it was selected, and why (not)."""

    initiative_id: str
    cost: float | None
    R_worst: float | None
    R_med: float | None
    R_best: float | None
    confidence: float | None
    selected: bool
    kind: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


def explain_decision(
    allocation: AllocateResult, evaluations: Mapping[str, EvaluationRecord | None]
) -> list[Candidate]:
    """Every initiative the decision considered or excluded, in id order, with its reason."""
    selected = set(allocation.selected_initiatives)
    budget_left = allocation.budget - allocation.total_allocated
    tolerance = 1e-9 * max(1.0, abs(allocation.budget))
    candidates = []
    for initiative_id in sorted(set(evaluations) | set(allocation.excluded)):
        record = evaluations.get(initiative_id)
        result = record.result if record is not None else None
        if initiative_id in selected:
            kind, reason = SELECTED, SELECTED
        elif initiative_id in allocation.excluded:
            cause = allocation.excluded[initiative_id]
            kind = FAILED if cause.startswith(_FAILURE_CAUSES) else EXCLUDED
            reason = f"{kind}: {cause}"
        elif result is None:
            kind, reason = EXCLUDED, f"{EXCLUDED}: no evaluation"
        elif allocation.status in (AllocationStatus.INFEASIBLE, AllocationStatus.NO_ELIGIBLE):
            kind = NO_DECISION
            reason = f"{NO_DECISION}: the allocation is {allocation.status.value}"
        elif result.R_med <= 0:
            kind, reason = NOT_POSITIVE, f"{NOT_POSITIVE} (R_med {money(result.R_med)})"
        elif result.cost > budget_left + tolerance:
            kind = DOES_NOT_FIT
            reason = (
                f"{DOES_NOT_FIT}: costs {money(result.cost)}, the selection leaves "
                f"{money(budget_left)}"
            )
        elif allocation.status is AllocationStatus.OPTIMAL:
            kind = DOMINATED
            reason = f"{DOMINATED}: {allocation.rule} found a better use of the same budget"
        else:
            kind, reason = PASSED_OVER, f"{PASSED_OVER} by the {allocation.rule} rule"
        candidates.append(
            Candidate(
                initiative_id=initiative_id,
                cost=result.cost if result else None,
                R_worst=result.R_worst if result else None,
                R_med=result.R_med if result else None,
                R_best=result.R_best if result else None,
                confidence=result.confidence if result else None,
                selected=initiative_id in selected,
                kind=kind,
                reason=reason,
            )
        )
    return candidates


def reason_counts(candidates: list[Candidate]) -> dict[str, int]:
    """How many initiatives each kind of reason covers, in :data:`REASON_KINDS` order."""
    counts = Counter(candidate.kind for candidate in candidates)
    return {kind: counts[kind] for kind in REASON_KINDS if counts[kind]}


def closest_misses(candidates: list[Candidate], count: int = 10) -> list[Candidate]:
    """The initiatives not selected that came closest: the best median return per cost."""
    missed = [
        c
        for c in candidates
        if not c.selected and c.R_med is not None and c.cost and c.kind not in (EXCLUDED, FAILED)
    ]
    return sorted(missed, key=lambda c: (-(c.R_med / c.cost), c.initiative_id))[:count]
