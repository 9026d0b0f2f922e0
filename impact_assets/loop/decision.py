"""Why each initiative was or was not selected: one reason per initiative, one vocabulary.

The same reasons appear in the console, in ``--output-json``
(``allocate_result.candidates``) and in the UI's candidate table. The loop names what
kept an initiative from being a candidate (``excluded``, ``failed``) or a decision
from being made (``no decision``); for every other initiative left out, the rule
itself computed why (:mod:`impact_assets.components.allocate.left_out`): the best
portfolio that includes it, or the constraint no such portfolio meets. This module
words those findings; docs/decision.md, "Why an initiative was not selected", says
what each kind means and how it was computed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from impact_assets.components.allocate.left_out import (
    BELOW_MIN_CONFIDENCE,
    MISSES_FLOOR,
    NOT_COMPUTED,
    NOT_POSITIVE,
    OVER_BUDGET,
    PASSED_OVER,
    TIED,
    WORSE,
    LeftOut,
    LeftOutReport,
)
from impact_assets.contracts import AllocateResult, AllocationStatus, EvaluationRecord

if TYPE_CHECKING:
    from impact_assets.config import PortfolioConfig

SELECTED = "selected"
EXCLUDED = "excluded"
FAILED = "failed"
NO_DECISION = "no decision"
# Every kind of reason, in the order they are counted.
REASON_KINDS = (
    SELECTED,
    EXCLUDED,
    FAILED,
    BELOW_MIN_CONFIDENCE,
    OVER_BUDGET,
    MISSES_FLOOR,
    NOT_POSITIVE,
    TIED,
    WORSE,
    NOT_COMPUTED,
    PASSED_OVER,
    NO_DECISION,
)
# The words that mark an exclusion caused by a failure upstream (see loop/stages.py).
_FAILURE_CAUSES = ("failed", "skipped")
# A reason names at most this many displaced (or added) initiatives; the JSON lists all.
NAMES_SHOWN = 5


def money(value: float) -> str:
    """An amount in the config's currency for reading: ``$12,345`` or ``-$1,200``."""
    return f"-${abs(value):,.0f}" if value < 0 else f"${value:,.0f}"


def returns_in_currency(config: PortfolioConfig) -> bool:
    """Whether returns are in the budget's currency: some initiative sets ``value_per_unit``."""
    return any(i.value_per_unit != 1 for i in config.initiatives)


def return_formatter(in_currency: bool) -> Callable[..., str]:
    """Formats a return as currency, or as a percentage of the outcome when there is none."""

    def amount(value: float, signed: bool = False) -> str:
        if in_currency:
            return ("+" if signed and value >= 0 else "") + money(value)
        return f"{value:+.2%}" if signed else f"{value:.2%}"

    return amount


@dataclass(frozen=True)
class Candidate:
    """One initiative of the decision: its numbers, whether it was selected, and why (not).

    Where the rule solved its problem again with the initiative held in:
    ``value_with_it`` (the rule's objective of the best portfolio that includes it),
    ``value_difference`` (how much worse that is than the chosen portfolio's),
    ``displaces`` and ``adds`` (how that portfolio differs from the chosen one besides
    the initiative). Where it did not: ``value_difference_bound``, a lower bound on the
    difference. ``miss_rank``: 1 for the closest miss.
    """

    initiative_id: str
    cost: float | None
    R_worst: float | None
    R_med: float | None
    R_best: float | None
    confidence: float | None
    selected: bool
    kind: str
    reason: str
    value_with_it: float | None = None
    value_difference: float | None = None
    value_difference_bound: float | None = None
    displaces: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    miss_rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        values = {name: data.get(name) for name in cls.__dataclass_fields__}
        values["displaces"] = list(data.get("displaces") or [])
        values["adds"] = list(data.get("adds") or [])
        return cls(**values)


def explain_decision(
    allocation: AllocateResult,
    evaluations: Mapping[str, EvaluationRecord | None],
    left_out: LeftOutReport | None = None,
    in_currency: bool = True,
) -> list[Candidate]:
    """Every initiative the decision considered or excluded, in id order, with its reason.

    ``left_out``: the rule's own account of what it left out (None for a rule that
    gives none); ``in_currency``: whether returns are in currency (else outcome units).
    """
    selected = set(allocation.selected_initiatives)
    reasons = left_out.left_out if left_out is not None else {}
    amount = return_formatter(in_currency)
    candidates = []
    for initiative_id in sorted(set(evaluations) | set(allocation.excluded)):
        record = evaluations.get(initiative_id)
        result = record.result if record is not None else None
        found = reasons.get(initiative_id)
        numbers: dict[str, Any] = {}
        if initiative_id in selected:
            kind, reason = SELECTED, SELECTED
        elif found is not None and result is not None:
            kind, reason = found.kind, _rule_reason(found, left_out, allocation, result, amount)
            numbers = _numbers(found)
        elif initiative_id in allocation.excluded:
            cause = allocation.excluded[initiative_id]
            kind = FAILED if cause.startswith(_FAILURE_CAUSES) else EXCLUDED
            reason = f"{kind}: {cause}"
        elif result is None:
            kind, reason = EXCLUDED, f"{EXCLUDED}: no evaluation"
        elif allocation.status in (AllocationStatus.INFEASIBLE, AllocationStatus.NO_ELIGIBLE):
            kind = NO_DECISION
            reason = f"{NO_DECISION}: the allocation is {allocation.status.value}"
        else:
            kind = PASSED_OVER
            reason = f"{PASSED_OVER} by the {allocation.rule} rule (no reason recorded)"
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
                **numbers,
            )
        )
    return candidates


def _numbers(found: LeftOut) -> dict[str, Any]:
    """The structured fields a Candidate carries of the rule's finding."""
    return {
        "value_with_it": found.value_with_it,
        "value_difference": found.value_difference,
        "value_difference_bound": found.value_difference_bound,
        "displaces": list(found.displaces),
        "adds": list(found.adds),
        "miss_rank": found.miss_rank,
    }


def _rule_reason(
    found: LeftOut,
    report: LeftOutReport,
    allocation: AllocateResult,
    result: Any,
    amount: Callable[..., str],
) -> str:
    """The sentence for one initiative the rule left out (its kind first)."""
    kind = found.kind
    if kind == BELOW_MIN_CONFIDENCE:
        return f"{kind}: its confidence {result.confidence:.3f} is below {found.threshold:g}"
    if kind == OVER_BUDGET:
        return (
            f"{kind}: it costs {money(result.cost)}, more than the whole budget of "
            f"{money(allocation.budget)}"
        )
    if kind == MISSES_FLOOR:
        return (
            f"{kind}: no portfolio within the budget that includes it has a summed R_worst "
            f"of at least {amount(found.threshold)} (min_portfolio_worst_return)"
        )
    if kind == NOT_POSITIVE:
        return (
            f"{kind}: its {report.own_value} is {amount(found.own_value)}, so every "
            "portfolio is at least as good without it"
        )
    if kind in (TIED, WORSE):
        return f"{kind}: {_with_it(found, report, amount)}{_changes(found)}"
    if kind == NOT_COMPUTED:
        text = f"{kind}: beyond the {report.limit} closest by the LP bound, solved again"
        if found.value_difference_bound:
            text += f"; {_at_least(report, amount(found.value_difference_bound))}"
        return text
    if kind == PASSED_OVER:
        return (
            f"{kind}: the greedy rule ranked it {_ordinal(found.rank)} of {report.eligible} "
            f"by {report.own_value} ({amount(found.score)}); when its turn came "
            f"{money(found.budget_left)} of the budget was left, less than its cost "
            f"{money(result.cost)}"
        )
    raise ValueError(f"left_out: unknown kind of reason {kind!r} for {result.initiative_id}")


def _with_it(found: LeftOut, report: LeftOutReport, amount: Callable[..., str]) -> str:
    """How the best portfolio that includes it compares with the chosen one."""
    objective = report.objective
    if found.kind == TIED:
        rule = (
            f"the cheaper portfolio ({money(report.chosen_cost)} against "
            f"{money(found.cost_with_it)})"
            if found.tie_broken_by == "cost"
            else "the portfolio with the earlier ids"
        )
        return (
            f"including it, the best portfolio's {objective} is the same "
            f"{amount(found.value_with_it)}; the tie rule prefers {rule}"
        )
    if report.minimised:
        return (
            f"including it, the least {objective} rises from {amount(report.chosen_value)} "
            f"to {amount(found.value_with_it)}"
        )
    return (
        f"including it, the best portfolio's {objective} is {amount(found.value_with_it)}, "
        f"{amount(found.value_difference)} less"
    )


def _changes(found: LeftOut) -> str:
    """What else the best portfolio that includes it changes in the chosen one."""
    if found.displaces and found.adds:
        return f"; it would displace {_names(found.displaces)} and add {_names(found.adds)}"
    if found.displaces:
        return f"; it would displace {_names(found.displaces)}"
    if found.adds:
        return f"; it would add {_names(found.adds)}"
    return "; nothing else would change"


def _at_least(report: LeftOutReport, bound: str) -> str:
    """What the LP bound says of an initiative not solved again."""
    if report.minimised:
        return f"including it, the least {report.objective} is at least {bound} higher (LP bound)"
    objective = report.objective
    return f"including it, the best portfolio's {objective} is at least {bound} less (LP bound)"


def _names(ids: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(ids[:NAMES_SHOWN])
    rest = len(ids) - NAMES_SHOWN
    return f"{shown} and {rest:,} more" if rest > 0 else shown


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number:,}{'th' if 10 <= number % 100 <= 20 else suffix}"


def reason_counts(candidates: list[Candidate]) -> dict[str, int]:
    """How many initiatives each kind of reason covers, in :data:`REASON_KINDS` order."""
    counts = Counter(candidate.kind for candidate in candidates)
    return {kind: counts[kind] for kind in REASON_KINDS if counts[kind]}


def closest_misses(candidates: list[Candidate], count: int = 10) -> list[Candidate]:
    """The initiatives not selected that came closest, by the rule's own ranking.

    ``miss_rank`` orders those the rule weighed against the chosen portfolio: the
    smallest loss of its objective first (the greedy rule: its ranking).
    """
    missed = [c for c in candidates if not c.selected and c.miss_rank is not None]
    return sorted(missed, key=lambda c: (c.miss_rank, c.initiative_id))[:count]


def not_computed_summary(candidates: list[Candidate], amount: Callable[..., str]) -> str | None:
    """One line on the left-out initiatives whose reason was not computed, or None."""
    rest = [c for c in candidates if c.kind == NOT_COMPUTED]
    if not rest:
        return None
    text = (
        f"Not computed: {len(rest):,} others, ranked below the closest misses by a lower "
        "bound from the LP relaxation"
    )
    least = min(c.value_difference_bound or 0.0 for c in rest)
    if least > 0:
        text += f"; each would worsen the rule's objective by at least {amount(least)}"
    return text
