"""UI metadata: the chart, the tables, and what a real loop attaches to each asset."""

from __future__ import annotations

import base64
import io
import re

import dagster as dg
import pytest
from helpers import PROJECT_ROOT, portfolio, run_loop

from impact_assets.components.measure.simulate import observations
from impact_assets.config import CONFIG_ENV_VAR, load_config, parse_config
from impact_assets.contracts import (
    AllocateResult,
    AllocationStatus,
    CalibrationHistory,
    CalibrationRecord,
    EvaluateResult,
    EvaluationRecord,
    LoopReport,
    ModelType,
    OutcomeReport,
    PortfolioSummary,
    RecordStatus,
)
from impact_assets.lib.metadata import (
    allocation_metadata,
    diagnostics_summary,
    history_metadata,
    report_metadata,
)
from impact_assets.loop import stages
from impact_assets.loop.charts import (
    MAX_POINTS,
    PNG_SIGNATURE,
    ChartPoint,
    PairPoint,
    chart_points,
    pilot_vs_scale_png,
    png_markdown,
    predicted_vs_actual_png,
)
from impact_assets.loop.tables import (
    ALLOCATION_COLUMNS,
    HISTORY_COLUMNS,
    RATIO_COLUMNS,
    REPORT_COLUMNS,
    allocation_rows,
    report_rows,
    scenario_rows,
    summary_rows,
)

LOOP = "20260101T000000Z-meta0001"
CONFIG = PROJECT_ROOT / "config.yaml"


def evaluation(initiative_id: str, cost: float, r_med: float, confidence: float = 0.9):
    return EvaluationRecord(
        initiative_id=initiative_id,
        loop_id=LOOP,
        status=RecordStatus.EVALUATED,
        result=EvaluateResult(
            initiative_id=initiative_id,
            confidence=confidence,
            cost=cost,
            R_best=r_med + abs(r_med),
            R_med=r_med,
            R_worst=r_med - abs(r_med) / 2,
            model_type=ModelType.EXPERIMENT,
            sample_size=200,
            loop_id=LOOP,
        ),
    )


def outcome(initiative_id: str, predicted: float, actual: float, truth: float | None):
    return OutcomeReport(
        initiative_id=initiative_id,
        predicted_return=predicted,
        actual_return=actual,
        prediction_error=actual - predicted,
        sample_size_pilot=200,
        sample_size_scale=5000,
        budget_allocated=10.0,
        confidence_score=0.9,
        model_type=ModelType.EXPERIMENT,
        true_effect=truth,
        pilot_ci_covers_pilot_truth=None if truth is None else True,
        pilot_ci_covers_scale_truth=None if truth is None else True,
        pilot_ci_covers_actual=True,
        loop_id=LOOP,
    )


def loop_report(reports: list[OutcomeReport], **summary_overrides) -> LoopReport:
    summary = {
        "loop_id": LOOP,
        "rule": "minimax_regret",
        "budget": 100.0,
        "initiatives_evaluated": len(reports),
        "initiatives_selected": len(reports),
        "initiatives_scaled": len(reports),
        "total_budget_used": 10.0 * len(reports),
        "mean_abs_prediction_error": 1.5,
        "mean_prediction_error": 0.5,
        "pilot_ci_coverage_pilot_truth": 1.0,
        "pilot_ci_coverage_scale_truth": 1.0,
        "pilot_ci_coverage_actual": 1.0,
        "realised_value": 9.0,
        "oracle_value": 10.0,
        "oracle_ratio": 0.9,
        "oracle_omitted_reason": None,
        **summary_overrides,
    }
    return LoopReport(loop_id=LOOP, reports=reports, summary=PortfolioSummary(**summary))


def table_rows(table: dg.TableMetadataValue) -> int:
    """Records of a Dagster table (each record's fields are the schema's columns)."""
    assert isinstance(table, dg.TableMetadataValue), type(table)
    columns = {column.name for column in table.schema.columns}
    assert all(set(record.data) == columns for record in table.records), columns
    return len(table.records)


def column_names(table: dg.TableMetadataValue) -> list[str]:
    return [column.name for column in table.schema.columns]


def decode_png(png: bytes):
    assert png.startswith(PNG_SIGNATURE)
    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")


# -- the chart ---------------------------------------------------------------------------


def test_chart_renders_a_valid_png_with_every_element():
    points = [
        ChartPoint("a", 10.0, 5.0, 20.0, 12.0, 11.0),
        ChartPoint("b", 30.0, 15.0, 60.0, 25.0, None),
    ]
    image = decode_png(predicted_vs_actual_png(points))
    height, width = image.shape[:2]
    assert (width, height) == (750, 520)
    assert image.std() > 0.05  # drawn on, not blank


def test_chart_with_no_scaled_initiative_still_renders():
    image = decode_png(predicted_vs_actual_png([]))
    assert image.shape[0] > 100


def test_chart_caps_the_points_it_draws():
    many = [ChartPoint(f"i{n:04d}", float(n), n - 1.0, n + 1.0, n + 0.5, None) for n in range(500)]
    decode_png(predicted_vs_actual_png(many))
    assert len(many) > MAX_POINTS


def test_chart_points_carry_ci_and_truth_in_currency():
    report = loop_report([outcome("a", 100.0, 120.0, 0.5)])
    (point,) = chart_points(report, {"a": evaluation("a", 10.0, 100.0)}, {"a": 200.0})
    assert (point.predicted_low, point.predicted, point.predicted_high) == (50.0, 100.0, 200.0)
    assert point.actual == 120.0
    assert point.truth == pytest.approx(100.0)


def test_png_markdown_is_an_inline_data_uri_image():
    markdown = png_markdown(b"\x89PNG\r\n\x1a\nrest", alt="chart")
    match = re.fullmatch(r"!\[chart\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert match and base64.b64decode(match.group(1)).startswith(PNG_SIGNATURE)


# -- the tables ---------------------------------------------------------------------------


def test_allocation_rows_say_why_each_candidate_was_or_was_not_selected():
    # The real ALLOCATE stage (minimax regret, min_confidence 0.5) on hand-made evaluations.
    costs = {"chosen": 60, "left-out": 50, "too-dear": 150, "doubtful": 10, "losing": 5}
    config = parse_config(
        portfolio(
            budget=100,
            allocate={"component": "minimax_regret", "min_confidence": 0.5},
            initiatives=[
                {"initiative_id": i, "cost_to_scale": cost, "value_per_unit": 1000}
                for i, cost in {**costs, "broken": 10}.items()
            ],
        )
    )
    evaluations = {
        "chosen": evaluation("chosen", 60.0, 500.0),
        "left-out": evaluation("left-out", 50.0, 300.0),
        "too-dear": evaluation("too-dear", 150.0, 400.0),
        "doubtful": evaluation("doubtful", 10.0, 300.0, confidence=0.1),
        "losing": evaluation("losing", 5.0, -20.0),
        "broken": EvaluationRecord(
            "broken", LOOP, RecordStatus.FAILED, cause="RuntimeError: singular design"
        ),
    }
    result = stages.allocate_portfolio(config, evaluations, LOOP)
    assert result.selected_initiatives == ["chosen"]
    rows = allocation_rows(result, evaluations)
    # selected first, then the rule's closest misses, the others left out, the excluded
    assert [r["initiative_id"] for r in rows] == [
        "chosen", "left-out", "too-dear", "losing", "doubtful", "broken",
    ]  # fmt: skip
    assert all(list(r) == list(ALLOCATION_COLUMNS) for r in rows)
    why = {r["initiative_id"]: r["reason"] for r in rows}
    kinds = {r["initiative_id"]: r["kind"] for r in rows}
    assert why["chosen"] == kinds["chosen"] == "selected"
    assert why["doubtful"] == "below min_confidence: its confidence 0.100 is below 0.5"
    assert why["broken"] == "failed: failed: RuntimeError: singular design"
    assert why["losing"].startswith(
        "negative or zero return: its largest effective return across the scenarios is -$"
    )
    assert why["too-dear"] == ("over budget: it costs $150, more than the whole budget of $100")
    # "left-out" only fits without "chosen": its portfolio is itself, the worst regret rises
    (left_out,) = (c for c in result.candidates if c["initiative_id"] == "left-out")
    assert kinds["left-out"] == left_out["kind"] == "better without it"
    assert left_out["displaces"] == ["chosen"] and left_out["adds"] == []
    rise = left_out["value_with_it"] - result.objective
    assert left_out["value_difference"] == pytest.approx(rise)
    assert left_out["value_difference"] > 0
    assert why["left-out"] == (
        f"better without it: including it, the least worst regret rises from "
        f"${result.objective:,.0f} to ${left_out['value_with_it']:,.0f}; it would displace chosen"
    )
    assert {r["initiative_id"] for r in rows if r["selected"]} == {"chosen"}

    assert [r["scenario"] for r in scenario_rows(result)] == ["best", "med", "worst"]
    metadata = allocation_metadata(result, evaluations)
    assert metadata["row_count"] == 6 and metadata["budget_left"] == 40.0
    assert table_rows(metadata["candidates"].value) == 6
    assert column_names(metadata["candidates"]) == list(ALLOCATION_COLUMNS)
    records = {r.data["initiative_id"]: r.data for r in metadata["candidates"].records}
    assert records["chosen"]["selected"] is True and records["chosen"]["reason"] == "selected"
    assert records["too-dear"]["selected"] is False
    assert records["left-out"]["value_difference"] > 0
    assert column_names(metadata["scenarios"]) == ["scenario", "V*", "portfolio_value", "regret"]
    assert [r.data["scenario"] for r in metadata["scenarios"].records] == ["best", "med", "worst"]
    assert {"V*_best", "V*_med", "V*_worst", "regret_best", "regret_med", "regret_worst"} <= set(
        metadata
    )


def test_infeasible_allocation_names_its_status_for_every_candidate():
    result = AllocateResult([], {}, {}, 100.0, "minimax_regret", AllocationStatus.INFEASIBLE)
    rows = allocation_rows(result, {"a": evaluation("a", 10.0, 5.0)})
    assert rows[0]["reason"] == "no decision: the allocation is infeasible"


def test_report_and_summary_tables_have_a_row_per_report():
    report = loop_report(
        [outcome("a", 10.0, 12.0, 0.1), outcome("b", 20.0, 18.0, None)],
        oracle_value=None,
        oracle_ratio=None,
        realised_value=None,
        oracle_omitted_reason="the true effect is unknown for 1 of 2 candidates",
    )
    rows = report_rows(report)
    assert [r["initiative_id"] for r in rows] == ["a", "b"]
    assert all(list(r) == list(REPORT_COLUMNS) for r in rows)
    measures = {r["measure"]: r["value"] for r in summary_rows(report.summary)}
    assert measures["mean absolute prediction error"] == 1.5
    assert measures["no oracle comparison because"].startswith("the true effect is unknown")


def test_tables_show_rounded_numbers_and_the_values_keep_full_precision():
    evaluations = {"a": evaluation("a", 1234.5678, 0.123456789), "b": evaluation("b", 10.0, 5.0)}
    result = AllocateResult(
        selected_initiatives=["a"],
        predicted_returns={"a": 0.123456789},
        budget_allocated={"a": 1234.5678},
        budget=2000.0,
        rule="bayesian",
        status=AllocationStatus.OPTIMAL,
        objective=85190.03217032991,
        scenarios={j: {"weight": 1 / 3, "portfolio_value": 0.1} for j in ("best", "med", "worst")},
        loop_id=LOOP,
    )
    metadata = allocation_metadata(result, evaluations)
    record = metadata["candidates"].records[0].data
    assert record["cost"] == 1235.0 and record["R_med"] == 0.1235 and record["R_worst"] == 0.06173
    # every number in the UI is rounded for reading; the stored value keeps full precision
    assert metadata["budget_used"] == 1235.0 and metadata["objective"].value == 85190.0
    assert result.total_allocated == 1234.5678 and result.objective == 85190.03217032991
    assert column_names(metadata["scenarios"]) == ["scenario", "weight", "portfolio_value"]
    assert metadata["scenarios"].records[0].data["weight"] == 0.3333

    report = loop_report([outcome("a", 10.123456, 12.0, None)], mean_abs_prediction_error=1.23456)
    tables = report_metadata(report, evaluations, load_config(CONFIG))
    assert column_names(tables["reports"]) == list(REPORT_COLUMNS)
    assert tables["reports"].records[0].data["predicted_return"] == 10.12
    assert tables["reports"].records[0].data["true_effect"] is None
    summary = {r.data["measure"]: r.data["value"] for r in tables["summary"].records}
    assert summary["mean absolute prediction error"] == 1.235
    assert tables["mean_abs_prediction_error"].value == 1.235
    assert summary["realised / oracle"] == "90%"


def test_diagnostics_summary_lists_each_pass_or_fail():
    diagnostics = {
        "r_squared": 0.2,
        "pre_trend": {"value": 0.03, "passed": False},
        "few_treated_clusters": {"value": 30.0, "passed": True},
    }
    assert diagnostics_summary(diagnostics) == (
        "few_treated_clusters: passed (30); pre_trend: FAILED (0.03)"
    )
    assert diagnostics_summary({"r_squared": 0.5}) == "none"


def test_report_metadata_embeds_the_chart_once():
    report = loop_report([outcome("a", 10.0, 12.0, 0.1)])
    config = load_config(CONFIG)
    metadata = report_metadata(report, {"a": evaluation("a", 10.0, 10.0)}, config)
    chart = metadata["predicted_vs_actual"].value
    (uri,) = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", chart)
    decode_png(base64.b64decode(uri))


# -- the real Definitions --------------------------------------------------------------------


@pytest.fixture(scope="module")
def materialised(tmp_path_factory):
    """The default config's loop, run once through the real Definitions."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test(temp_dir=str(home)) as inst:
        patch.setenv(CONFIG_ENV_VAR, str(CONFIG))
        assert run_loop(inst, CONFIG, loop_id=LOOP, monkeypatch=patch).success
        yield inst


def latest_metadata(instance, asset: str, partition: str | None = None) -> dict:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset),
            asset_partitions=[partition] if partition else None,
        ),
        limit=1,
    ).records
    return dict(records[0].asset_materialization.metadata)


def test_each_partition_carries_its_own_numbers(materialised):
    config = load_config(CONFIG)
    for initiative in config.initiatives:
        pilot = latest_metadata(materialised, "pilot_results", initiative.initiative_id)
        assert {
            "status", "estimate", "ci_lower", "ci_upper", "ci_95", "p_value", "method",
            "model_type", "sample_size", "diagnostics", "diagnostics_summary", "loop_id",
        } <= set(pilot)  # fmt: skip
        assert pilot["status"].value == "measured"
        assert pilot["method"].value == initiative.method.value
        # the local profile measures on threads: one process measured
        assert (pilot["measure_pool"].value, pilot["measure_workers"].value) == ("threads", 1)
        scale = latest_metadata(materialised, "scale_results", initiative.initiative_id)
        assert scale["status"].value in {"scaled", "not_selected"}
        # not_selected partitions share one entry; each still shows its own status and method
        assert (scale["loop_id"].value, scale["method"].value) == (LOOP, initiative.method.value)
        assert (scale["measure_pool"].value, scale["measure_workers"].value) == ("threads", 1)
        if scale["status"].value == "scaled":
            expected = observations(initiative.method, config.scale_sample_size)
            assert scale["sample_size"].value == expected  # unit-period rows for DiD
            assert {"estimate", "ci_95", "p_value", "diagnostics"} <= set(scale)
        else:
            assert "estimate" not in scale
    statuses = [
        latest_metadata(materialised, "scale_results", i)["status"].value
        for i in config.initiative_ids
    ]
    assert statuses.count("not_selected") >= 2  # so the shared entry was used


def test_allocation_and_reports_metadata_on_materialize(materialised):
    allocation = latest_metadata(materialised, "allocation")
    assert {
        "candidates", "scenarios", "rule", "status", "budget", "budget_used", "budget_left",
        "dagster/row_count",
    } <= set(allocation)  # fmt: skip
    assert allocation["rule"].value == "expected_return"  # the default config's rule
    assert allocation["status"].value == "optimal"
    assert table_rows(allocation["candidates"].value) == 5  # one row per candidate
    assert table_rows(allocation["scenarios"].value) == 3  # best, med, worst
    assert column_names(allocation["scenarios"]) == ["scenario", "portfolio_value"]

    reports = latest_metadata(materialised, "outcome_reports")
    assert {
        "reports", "summary", "predicted_vs_actual", "budget_used", "mean_abs_prediction_error",
        "pilot_ci_coverage_pilot_truth", "pilot_ci_coverage_scale_truth", "realised_value",
        "oracle_value", "oracle_ratio", "mean_prediction_error", "interval_coverage_actual",
        "interval_coverage_truth",
    } <= set(reports)  # fmt: skip
    selected = allocation["selected_count"].value
    assert selected >= 2
    assert table_rows(reports["reports"].value) == reports["row_count"].value == selected
    assert reports["summary"].records[0].data == {"measure": "rule", "value": "expected_return"}
    assert reports["summary"].records[1].data == {"measure": "evaluation", "value": "calibrated"}
    assert 0 <= reports["interval_coverage_truth"].value <= 1
    assert reports["oracle_value"].value is not None  # simulated data: the truth is known
    (uri,) = re.findall(r"base64,([A-Za-z0-9+/=]+)\)", reports["predicted_vs_actual"].value)
    decode_png(base64.b64decode(uri))


def test_the_calibration_assets_say_what_was_learnt_and_from_how_much(materialised):
    history = latest_metadata(materialised, "calibration_history")
    assert {"row_count", "pairs", "loops", "history_file", "by_loop", "newest_pairs"} <= set(
        history
    )
    assert history["row_count"].value == 0  # the first loop has no earlier loop to learn from
    assert history["added_loop"].value == "none (first loop)"

    calibration = latest_metadata(materialised, "calibration")
    assert {
        "ratios", "notes", "prior_pilots", "prior_mean_effect", "prior_sd_effect",
        "history_pairs", "neutral_methods", "pilot_vs_scale", "dagster/row_count",
    } <= set(calibration)  # fmt: skip
    assert calibration["prior_pilots"].value == 5
    assert calibration["history_pairs"].value == 0
    assert calibration["history_loops"].value == 0
    assert calibration["learnt_from"].value == (
        "no earlier loops: the prior is learnt from this loop's 5 pilots and every ratio at "
        "scale is the neutral 1"
    )
    ratios = calibration["ratios"].value
    assert column_names(calibration["ratios"]) == list(RATIO_COLUMNS)
    methods = {initiative.method.value for initiative in load_config(CONFIG).initiatives}
    assert {record.data["method"] for record in ratios.records} == methods
    assert all(record.data["pairs"] == 0 for record in ratios.records)  # neutral: no history
    assert "no pilot-against-scale pair yet" in calibration["notes"].value
    (uri,) = re.findall(r"base64,([A-Za-z0-9+/=]+)\)", calibration["pilot_vs_scale"].value)
    decode_png(base64.b64decode(uri))


def test_the_calibration_chart_draws_pairs_and_ratios():
    points = [PairPoint("experiment", 10.0 * k, 9.0 * k + 1) for k in range(30)]
    points += [PairPoint("observational", 5.0 * k, 3.0 * k) for k in range(20)]
    ratios = {"experiment": (0.9, 0.8, 1.0), "observational": (0.6, 0.4, 0.8)}
    image = decode_png(pilot_vs_scale_png(points, ratios))
    assert image.shape[:2] == (520, 750) and image.std() > 0.05
    assert decode_png(pilot_vs_scale_png([], {})).shape[0] > 100  # no pair yet: still renders


def test_history_and_ratio_tables_follow_their_columns():
    records = [
        CalibrationRecord("a", "L1", "experiment", "experiment", 10.0, 0.3, 0.1, selected=True,
                          scale_estimate=0.2, scale_se=0.02),
        CalibrationRecord("b", "L1", "observational", "observational", 10.0, 0.1, 0.1),
        CalibrationRecord("c", "L2", "experiment", "experiment", 10.0, 0.2, 0.1),
    ]  # fmt: skip
    history = CalibrationHistory(records, loop_id="L3")
    metadata = history_metadata(history)
    assert metadata["row_count"] == 3 and metadata["pairs"] == 1 and metadata["loops"] == 2
    assert column_names(metadata["newest_pairs"]) == list(HISTORY_COLUMNS)
    by_loop = {r.data["loop_id"]: r.data for r in metadata["by_loop"].records}
    assert by_loop == {
        "L1": {"loop_id": "L1", "source": "loop", "pilots": 2, "pairs": 1},
        "L2": {"loop_id": "L2", "source": "loop", "pilots": 1, "pairs": 0},
    }


def test_definitions_describe_every_asset_and_check():
    from impact_assets.definitions import defs

    groups = dict.fromkeys(
        [
            "pilot_results", "calibration_history", "calibration", "evaluations", "allocation",
            "scale_results", "outcome_reports",
        ],
        "impact_loop",
    )  # fmt: skip
    graph = defs.resolve_asset_graph()
    for name, group in groups.items():
        node = graph.get(dg.AssetKey(name))
        assert node.group_name == group, name
        assert node.tags["stage"] in {
            "1-measure-pilot", "2-evaluate-calibration", "2-evaluate", "3-allocate",
            "4-measure-scale", "5-report",
        }, name  # fmt: skip
        assert node.owners, name
        assert node.kinds, name
        assert node.description and node.description.count(". ") == 0, name  # one sentence
        schema = node.metadata["dagster/column_schema"]
        assert schema.columns and all(c.description for c in schema.columns), name
    checks = list(graph.asset_check_keys)
    assert len(checks) == 5
    for key in checks:
        assert graph.get_check_spec(key).description, key


def test_partitions_that_share_their_metadata_share_one_entry():
    from impact_assets.lib.metadata import split_shared_metadata

    def shown(shared, own):  # what each partition's page shows: the step's, overlaid by its own
        return {key: {**shared, **own.get(key, {})} for key in by_partition}

    not_selected = {"status": "not_selected", "loop_id": LOOP, "method": "experiment"}
    by_partition = {
        "a": dict(not_selected),
        "b": {**not_selected, "status": "scaled", "estimate": 0.3},
        "c": dict(not_selected),
        "d": {**not_selected, "method": "observational"},
    }
    shared, own = split_shared_metadata(by_partition)
    # the loop id everyone has; then the not_selected group's status and method
    assert shared == not_selected
    # each other partition keeps only what differs from the shared entries
    assert own == {"b": {"status": "scaled", "estimate": 0.3}, "d": {"method": "observational"}}
    assert shown(shared, own) == by_partition

    # a partition without the group's keys would show the group's value: only the common
    # entries are shared, every partition names the rest itself
    by_partition["e"] = {"loop_id": LOOP, "cause": "stale"}
    shared, own = split_shared_metadata(by_partition)
    assert shared == {"loop_id": LOOP}
    assert shown(shared, own) == by_partition
    assert set(own) == set(by_partition)
    # all different, nothing in common: every partition keeps all of its own
    different = {"a": {"x": 1}, "b": {"x": 2}}
    assert split_shared_metadata(different) == ({}, different)
    # all equal: one call for the step, none per partition
    same = {"a": {"x": 1}, "b": {"x": 1}}
    assert split_shared_metadata(same) == ({"x": 1}, {})


def test_the_candidates_table_holds_the_top_of_a_large_ranking_and_says_where_the_rest_is():
    from impact_assets.lib.metadata import CANDIDATE_ROWS_SHOWN

    ids = [f"i{n:04d}" for n in range(CANDIDATE_ROWS_SHOWN + 50)]
    evaluations = {i: evaluation(i, 10.0, 100.0 + n) for n, i in enumerate(ids)}
    chosen = ids[-3:]  # the best median returns per cost
    result = AllocateResult(
        selected_initiatives=chosen,
        predicted_returns={i: evaluations[i].result.R_med for i in chosen},
        budget_allocated=dict.fromkeys(chosen, 10.0),
        budget=30.0,
        rule="minimax_regret",
        status=AllocationStatus.OPTIMAL,
        objective=0.0,
        loop_id=LOOP,
    )
    metadata = allocation_metadata(result, evaluations)
    rows = metadata["candidates"].records
    assert len(rows) == metadata["candidates_shown"] == CANDIDATE_ROWS_SHOWN
    assert metadata["row_count"] == len(ids)  # the asset still counts every candidate
    assert [r.data["initiative_id"] for r in rows[:3]] == chosen[::-1]  # selected first
    assert [r.data["initiative_id"] for r in rows] == [
        row["initiative_id"] for row in allocation_rows(result, evaluations)
    ][:CANDIDATE_ROWS_SHOWN]
    note = metadata["candidates_full_table"].value
    assert f"first {CANDIDATE_ROWS_SHOWN} of {len(ids)}" in note and "--output-json" in note


def test_a_small_ranking_shows_every_candidate_and_no_note():
    metadata = allocation_metadata(
        AllocateResult(
            selected_initiatives=["a"],
            predicted_returns={"a": 100.0},
            budget_allocated={"a": 10.0},
            budget=10.0,
            rule="minimax_regret",
            status=AllocationStatus.OPTIMAL,
            objective=0.0,
            loop_id=LOOP,
        ),
        {"a": evaluation("a", 10.0, 100.0), "b": evaluation("b", 10.0, 50.0)},
    )
    assert len(metadata["candidates"].records) == metadata["candidates_shown"] == 2
    assert "candidates_full_table" not in metadata


def test_the_full_candidates_note_reads_the_allocation_as_it_says(materialised):
    from impact_assets.definitions import defs

    allocation = defs.load_asset_value("allocation", instance=materialised)
    assert isinstance(allocation, AllocateResult) and len(allocation.candidates) == 5
