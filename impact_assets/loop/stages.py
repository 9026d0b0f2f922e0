"""MEASURE, EVALUATE, ALLOCATE and the scale MEASURE over a portfolio, one record per initiative.

Each initiative is computed in isolation: its error becomes a ``failed`` record
naming the cause, and the others proceed.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from impact_assets.components.allocate.left_out import ExplainsLeftOut
from impact_assets.components.base import DataNotAvailable, PipelineComponent
from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import (
    AllocateResult,
    Calibration,
    EvaluateResult,
    EvaluationRecord,
    MeasurementRecord,
    MeasureResult,
    RecordStatus,
    Stage,
)
from impact_assets.loop.decision import explain_decision, returns_in_currency
from impact_assets.loop.execution import (
    call_with_retries,
    describe_error,
    fan_out,
    process_fan_out,
)
from impact_assets.loop.measure_pool import MeasurePool, this_worker
from impact_assets.registry import create_component


def measure_event(config: PortfolioConfig, initiative_id: str, stage: Stage) -> dict[str, Any]:
    """The MEASURE event for one initiative (see :mod:`impact_assets.components.base`)."""
    event: dict[str, Any] = {
        "initiative_id": initiative_id,
        "seed": config.seed,
        "stage": stage.value,
        "initiative": config.initiative(initiative_id).model_dump(mode="json"),
        "config_dir": str(config.base_dir),
    }
    if stage is Stage.SCALE:
        event["sample_size"] = config.scale_sample_size
    return event


# How one measurement ended, in a form that crosses process boundaries:
# ("result", the component's dict), ("missing", why) or ("failed", the cause).
Outcome = tuple[str, Any]


def measure_outcome(component: PipelineComponent, event: dict[str, Any]) -> Outcome:
    """Call the MEASURE component on one event (retrying transient errors)."""
    try:
        return "result", call_with_retries(component.execute, event)
    except DataNotAvailable as missing:
        return "missing", str(missing)
    except Exception as error:  # one initiative's failure must not stop the others
        return "failed", describe_error(error)


def _measure_in_worker(task: tuple[type[PipelineComponent], dict[str, Any]]) -> Outcome:
    """:func:`measure_outcome` in a worker process (module level, so it pickles)."""
    component_class, event = task
    return measure_outcome(component_class(), event)


def _measure_in_process(
    task: tuple[type[PipelineComponent], dict[str, Any]],
) -> tuple[Outcome, str]:
    """:func:`_measure_in_worker`, and which process measured."""
    return _measure_in_worker(task), this_worker()


def _runs_in_processes(
    config: PortfolioConfig, component: PipelineComponent, pool_name: str | None = None
) -> bool:
    """Whether this measurement fans out to other processes (``processes`` or ``dask``).

    ``pool_name``: the pool chosen for the step (default: the config's).
    A component class a worker cannot import by name (one defined in a notebook,
    in the script run as ``__main__`` or inside a function) stays on threads.
    """
    if (pool_name or config.measure.pool) not in ("processes", "dask"):
        return False
    component_class = type(component)
    if component_class.__module__ == "__main__":
        return False
    try:
        pickle.dumps(component_class)  # by reference: its module and qualified name
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _measure_many(
    component: PipelineComponent,
    config: PortfolioConfig,
    initiative_ids: Sequence[str],
    stage: Stage,
    loop_id: str,
    pool: MeasurePool | None = None,
) -> list[MeasurementRecord]:
    """One record per id, in order: each measured on the config's pool, else ``pool``'s.

    ``pool`` (the profile's) also receives the pool used and the worker processes.
    """
    pool = pool if pool is not None else MeasurePool()
    known = set(config.initiative_ids)
    measured = [initiative_id for initiative_id in initiative_ids if initiative_id in known]
    events = [measure_event(config, initiative_id, stage) for initiative_id in measured]
    chosen = pool.choose(config.measure.pool)
    if not _runs_in_processes(config, component, chosen):
        chosen = "threads"
    tasks = [(type(component), event) for event in events]
    if chosen == "dask":
        from impact_assets.loop.dask_fan_out import dask_fan_out

        ran = dask_fan_out(
            _measure_in_worker,
            tasks,
            pool.address(config.measure.scheduler_address),
            lost=lambda error: ("failed", describe_error(error)),
            names=[f"{stage.value}-{initiative_id}" for initiative_id in measured],
        )
    elif chosen == "processes":
        ran = process_fan_out(_measure_in_process, tasks, config.max_workers)
    else:
        from threadpoolctl import threadpool_limits

        # one BLAS thread, as in worker processes: a large fit's last bits depend on how
        # many threads split it, and the records must not depend on the pool
        with threadpool_limits(limits=1):
            outcomes = fan_out(
                lambda event: measure_outcome(component, event), events, config.max_workers
            )
        ran = [(outcome, this_worker()) for outcome in outcomes]
    outcomes = [outcome for outcome, _ in ran]
    pool.record(chosen, {worker for _, worker in ran if worker is not None})
    by_id = dict(zip(measured, outcomes, strict=True))
    return [
        _measure_record(initiative_id, stage, loop_id, by_id.get(initiative_id))
        for initiative_id in initiative_ids
    ]


def _measure_record(
    initiative_id: str, stage: Stage, loop_id: str, outcome: Outcome | None
) -> MeasurementRecord:
    def record(status: RecordStatus, **fields: Any) -> MeasurementRecord:
        return MeasurementRecord(initiative_id, loop_id, stage, status, **fields)

    if outcome is None:
        return record(RecordStatus.FAILED, cause="not in the current config")
    kind, value = outcome
    if kind == "missing":
        if stage is Stage.SCALE:
            return record(RecordStatus.AWAITING_DATA, cause=value or "no scale data yet")
        return record(RecordStatus.FAILED, cause=describe_error(DataNotAvailable(value)))
    if kind == "failed":
        return record(RecordStatus.FAILED, cause=value)
    try:
        result = MeasureResult.from_dict({**value, "loop_id": loop_id})
        if result.initiative_id != initiative_id:
            raise ValueError(f"the component answered for {result.initiative_id!r}")
    except Exception as error:  # a malformed answer fails this initiative only
        return record(RecordStatus.FAILED, cause=describe_error(error))
    ok_status = RecordStatus.MEASURED if stage is Stage.PILOT else RecordStatus.SCALED
    return record(ok_status, result=result)


def measure_pilots(
    config: PortfolioConfig,
    initiative_ids: Sequence[str],
    loop_id: str,
    pool: MeasurePool | None = None,
) -> dict[str, MeasurementRecord]:
    """MEASURE each initiative's pilot; every id gets a ``measured`` or ``failed`` record.

    ``pool``: where to measure when the config names no pool (threads by default);
    it records the pool used and the worker processes that measured.
    """
    component = create_component("measure", config.measure.component)
    records = _measure_many(component, config, initiative_ids, Stage.PILOT, loop_id, pool)
    return {record.initiative_id: record for record in records}


def evaluate_pilots(
    config: PortfolioConfig,
    pilot_records: Mapping[str, MeasurementRecord | None],
    fallback_loop_id: str,
    calibration: Calibration | None = None,
) -> dict[str, EvaluationRecord]:
    """EVALUATE each measured pilot; the record keeps the pilot's loop id.

    A pilot that failed (or is missing) gives a ``skipped`` record saying why. A
    component that needs a calibration (``calibrated``) gets ``calibration`` in its
    event; without one, it is fitted here on these pilots alone (no history).
    """
    component = create_component("evaluate", config.evaluate.component)
    if getattr(component, "needs_calibration", False) and calibration is None:
        from impact_assets.loop.calibration import calibrate

        calibration = calibrate(config, pilot_records, None, fallback_loop_id)

    def evaluate_one(item: tuple[str, MeasurementRecord | None]) -> EvaluationRecord:
        initiative_id, pilot = item
        if pilot is None:
            return EvaluationRecord(
                initiative_id,
                fallback_loop_id,
                RecordStatus.SKIPPED,
                cause="no pilot record to evaluate",
            )
        if not pilot.ok:
            return EvaluationRecord(
                initiative_id,
                pilot.loop_id,
                RecordStatus.SKIPPED,
                cause=f"pilot {pilot.status.value}: {pilot.cause}",
            )
        try:
            initiative = config.initiative(initiative_id)
        except KeyError:
            return EvaluationRecord(
                initiative_id, pilot.loop_id, RecordStatus.FAILED, cause="not in the current config"
            )
        event = {
            **pilot.result.to_dict(),
            "cost_to_scale": initiative.cost_to_scale,
            "value_per_unit": initiative.value_per_unit,
            "seed": config.seed,
            "method": initiative.method.value if initiative.method else None,
        }
        if calibration is not None:
            event["calibration"] = calibration
        try:
            raw = call_with_retries(component.execute, event)
            result = EvaluateResult.from_dict({**raw, "loop_id": pilot.loop_id})
        except Exception as error:  # isolate this initiative
            return EvaluationRecord(
                initiative_id, pilot.loop_id, RecordStatus.FAILED, cause=describe_error(error)
            )
        return EvaluationRecord(initiative_id, pilot.loop_id, RecordStatus.EVALUATED, result=result)

    records = fan_out(evaluate_one, list(pilot_records.items()), config.max_workers)
    return {record.initiative_id: record for record in records}


def current_loop_id(records: Sequence[Any]) -> str | None:
    """The newest loop among records (loop ids sort by start time)."""
    loop_ids = [record.loop_id for record in records if record is not None]
    return max(loop_ids) if loop_ids else None


def allocate_portfolio(
    config: PortfolioConfig,
    evaluation_records: Mapping[str, EvaluationRecord],
    fallback_loop_id: str,
) -> AllocateResult:
    """ALLOCATE the budget over the current config's initiatives evaluated in the current loop.

    Anything that is not a candidate is listed in ``excluded`` with its reason: a
    failed or skipped evaluation, a stale record from an earlier loop, an id no
    longer in the config, or a missing evaluation.
    """
    current_ids = config.initiative_ids
    in_config = [evaluation_records[i] for i in current_ids if i in evaluation_records]
    loop_id = current_loop_id(in_config) or fallback_loop_id

    candidates: list[dict[str, Any]] = []
    excluded: dict[str, str] = {}
    for initiative_id in current_ids:
        record = evaluation_records.get(initiative_id)
        if record is None:
            excluded[initiative_id] = "no evaluation record"
        elif record.loop_id != loop_id:
            excluded[initiative_id] = f"stale: evaluated in loop {record.loop_id}, not {loop_id}"
        elif not record.ok:
            excluded[initiative_id] = f"{record.status.value}: {record.cause}"
        else:
            candidates.append(record.result.to_dict())
    for initiative_id in sorted(set(evaluation_records) - set(current_ids)):
        excluded[initiative_id] = "removed from the config"

    settings = config.allocate
    event = {
        "initiatives": candidates,
        "budget": config.budget,
        "min_confidence": settings.min_confidence,
        "min_portfolio_worst_return": settings.min_portfolio_worst_return,
        "weights": settings.weights.model_dump() if settings.weights else None,
    }
    component = create_component("allocate", settings.component)
    raw = component.execute(event)
    merged_excluded = {**excluded, **(raw.get("excluded") or {})}
    result = AllocateResult.from_dict(
        {**raw, "excluded": dict(sorted(merged_excluded.items())), "loop_id": loop_id}
    )
    # The rule's own account of each initiative it left out (a plug-in may give none).
    left_out = component.left_out(event, result) if isinstance(component, ExplainsLeftOut) else None
    candidates = explain_decision(
        result, evaluation_records, left_out, in_currency=returns_in_currency(config)
    )
    return replace(result, candidates=[candidate.to_dict() for candidate in candidates])


def measure_at_scale(
    config: PortfolioConfig,
    allocation: AllocateResult,
    initiative_ids: Sequence[str],
    fallback_loop_id: str,
    pool: MeasurePool | None = None,
) -> dict[str, MeasurementRecord]:
    """MEASURE the selected initiatives again on a new, larger sample; a record for every id.

    ``scaled`` exactly for the selected initiatives with data, ``awaiting_data``
    for selected ones whose scale data does not exist yet, ``not_selected`` for
    the rest, ``failed`` when the scale measurement raised. ``pool`` as for
    :func:`measure_pilots`.
    """
    component = create_component("measure", config.measure.component)
    loop_id = allocation.loop_id or fallback_loop_id
    selected = set(allocation.selected_initiatives)
    chosen = [initiative_id for initiative_id in initiative_ids if initiative_id in selected]
    records = {
        record.initiative_id: record
        for record in _measure_many(component, config, chosen, Stage.SCALE, loop_id, pool)
    }
    return {
        initiative_id: records.get(initiative_id)
        or MeasurementRecord(initiative_id, loop_id, Stage.SCALE, RecordStatus.NOT_SELECTED)
        for initiative_id in initiative_ids
    }
