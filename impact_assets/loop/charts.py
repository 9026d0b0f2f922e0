"""The predicted-vs-actual chart of a loop's outcome reports, as a PNG (matplotlib, off-screen)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from impact_assets.contracts import EvaluationRecord, LoopReport

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Enough points to read; a portfolio of thousands is summarised by its largest predictions.
MAX_POINTS = 40
MAX_LABELS = 12


@dataclass(frozen=True)
class ChartPoint:
    """One scaled initiative on the chart, every value in currency at scale."""

    initiative_id: str
    predicted: float  # the pilot estimate (R_med)
    predicted_low: float  # the pilot's 95% CI (R_worst .. R_best)
    predicted_high: float
    actual: float  # the scale estimate
    truth: float | None  # the true effect at scale, where known


def chart_points(
    report: LoopReport,
    evaluations: Mapping[str, EvaluationRecord],
    value_per_unit: Mapping[str, float],
) -> list[ChartPoint]:
    """A point per report: the pilot's prediction and CI, the scale estimate, and the truth."""
    points = []
    for r in report.reports:
        record = evaluations.get(r.initiative_id)
        result = record.result if record is not None else None
        low = result.R_worst if result is not None else r.predicted_return
        high = result.R_best if result is not None else r.predicted_return
        truth = None
        if r.true_effect is not None:
            truth = r.true_effect * value_per_unit.get(r.initiative_id, 1.0)
        points.append(
            ChartPoint(
                initiative_id=r.initiative_id,
                predicted=r.predicted_return,
                predicted_low=min(low, r.predicted_return),
                predicted_high=max(high, r.predicted_return),
                actual=r.actual_return,
                truth=truth,
            )
        )
    return points


def predicted_vs_actual_png(points: Sequence[ChartPoint], max_points: int = MAX_POINTS) -> bytes:
    """Render the chart to PNG bytes: x = the pilot's prediction with its 95% CI, y = at scale.

    The scale estimate is a filled dot, the true value (where known) an open
    diamond at the same x, and the diagonal marks a perfect prediction. Beyond
    ``max_points`` initiatives, the largest predictions are drawn.
    """
    # deferred: loading the Definitions stays fast, and pyplot's global state is never touched
    from matplotlib.figure import Figure
    from matplotlib.ticker import StrMethodFormatter

    shown = sorted(points, key=lambda p: p.predicted, reverse=True)[:max_points]
    figure = Figure(figsize=(7.5, 5.2), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    title = "Predicted (pilot) vs actual (scale) return"
    if len(shown) < len(points):
        title += f"\n{len(shown)} of {len(points)} scaled initiatives: the largest predictions"
    axes.set_title(title, fontsize=11)
    axes.set_xlabel("predicted return: pilot estimate with 95% CI")
    axes.set_ylabel("return at scale")
    axes.grid(True, alpha=0.3)

    if not shown:
        axes.text(0.5, 0.5, "no initiative was scaled", ha="center", va="center",
                  transform=axes.transAxes)  # fmt: skip
    else:
        x = [p.predicted for p in shown]
        axes.errorbar(
            x,
            [p.actual for p in shown],
            xerr=[
                [p.predicted - p.predicted_low for p in shown],
                [p.predicted_high - p.predicted for p in shown],
            ],
            fmt="o",
            color="tab:blue",
            ecolor="tab:blue",
            elinewidth=1.2,
            capsize=4,
            alpha=0.9,
            label="scale estimate (bars: pilot 95% CI)",
        )
        known = [p for p in shown if p.truth is not None]
        if known:
            axes.scatter(
                [p.predicted for p in known],
                [p.truth for p in known],
                marker="D",
                facecolors="none",
                edgecolors="tab:green",
                s=55,
                linewidths=1.5,
                label="true value at scale",
                zorder=3,
            )
        values = [v for p in shown for v in (p.predicted_low, p.predicted_high, p.actual, p.truth)]
        values = [v for v in values if v is not None]
        low, high = min(values + [0.0]), max(values + [0.0])
        pad = 0.05 * (high - low or 1.0)
        axes.plot([low - pad, high + pad], [low - pad, high + pad], "--", color="grey",
                  linewidth=1, label="perfect prediction (y = x)")  # fmt: skip
        axes.set_xlim(low - pad, high + pad)
        axes.set_ylim(low - pad, high + pad)
        if len(shown) <= MAX_LABELS:
            # alternate above and below, so neighbouring labels do not overprint
            for rank, p in enumerate(sorted(shown, key=lambda p: p.actual)):
                axes.annotate(p.initiative_id, (p.predicted, p.actual),
                              xytext=(6, 6 if rank % 2 else -12), textcoords="offset points",
                              fontsize=8)  # fmt: skip
        axes.legend(loc="upper left", fontsize=8)
        for axis in (axes.xaxis, axes.yaxis):
            axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def png_markdown(png: bytes, alt: str = "predicted vs actual") -> str:
    """The PNG as a markdown image with a base64 data URI (the Dagster UI renders it inline)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
