"""The loop's charts as PNGs (matplotlib, off-screen): predicted against actual, and the
calibration's pilot against scale."""

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
    predicted: float  # the evaluation's prediction (R_med)
    predicted_low: float  # its interval (R_worst .. R_best)
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
    """Render the chart to PNG bytes: x = the prediction with its interval, y = at scale.

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
    title = "Predicted vs actual (scale) return"
    if len(shown) < len(points):
        title += f"\n{len(shown)} of {len(points)} scaled initiatives: the largest predictions"
    axes.set_title(title, fontsize=11)
    axes.set_xlabel("predicted return (R_med) with its interval [R_worst, R_best]")
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
            label="scale estimate (bars: [R_worst, R_best])",
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


@dataclass(frozen=True)
class PairPoint:
    """One pilot-against-scale pair on the calibration chart, in currency."""

    method: str
    pilot: float  # the pilot's effect shrunk towards the prior (its posterior mean)
    scale: float  # the estimate at scale


MAX_PAIRS = 400


def pilot_vs_scale_png(
    points: Sequence[PairPoint],
    ratios: Mapping[str, tuple[float, float, float]],
    max_points: int = MAX_PAIRS,
) -> bytes:
    """The calibration chart: each pair's pilot (shrunk) against its scale estimate, by method.

    ``ratios`` maps a method to its fitted ratio (mean, 5th, 95th percentile), drawn as
    the line ``scale = ratio x pilot`` with its 90% band; the grey diagonal is a ratio
    of 1. Beyond ``max_points`` pairs, the last ``max_points`` are drawn.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import StrMethodFormatter

    shown = list(points)[-max_points:]
    figure = Figure(figsize=(7.5, 5.2), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    title = "Pilot against scale, by method, with the fitted ratios"
    if len(shown) < len(points):
        title += f"\nthe last {len(shown)} of {len(points)} pairs"
    axes.set_title(title, fontsize=11)
    axes.set_xlabel("pilot effect, shrunk towards the prior (posterior mean)")
    axes.set_ylabel("estimate at scale")
    axes.grid(True, alpha=0.3)
    if not shown:
        axes.text(0.5, 0.5, "no pilot-against-scale pair yet: the ratios are neutral (1)",
                  ha="center", va="center", transform=axes.transAxes)  # fmt: skip
    else:
        values = [v for p in shown for v in (p.pilot, p.scale)] + [0.0]
        low, high = min(values), max(values)
        pad = 0.05 * (high - low or 1.0)
        span = [low - pad, high + pad]
        axes.plot(span, span, "--", color="grey", linewidth=1, label="ratio 1")
        colours = {}
        for method in sorted({p.method for p in shown}):
            mine = [p for p in shown if p.method == method]
            dots = axes.scatter([p.pilot for p in mine], [p.scale for p in mine], s=22,
                                alpha=0.75, label=method)  # fmt: skip
            colours[method] = dots.get_facecolor()[0]
        for method, (mean, ratio_low, ratio_high) in sorted(ratios.items()):
            colour = colours.get(method, "black")
            axes.plot(span, [mean * x for x in span], color=colour, linewidth=1.5,
                      label=f"{method}: ratio {mean:.2f}")  # fmt: skip
            axes.fill_between(span, [ratio_low * x for x in span], [ratio_high * x for x in span],
                              color=colour, alpha=0.12, linewidth=0)  # fmt: skip
        axes.set_xlim(*span)
        axes.set_ylim(*span)
        axes.legend(loc="upper left", fontsize=8)
        for axis in (axes.xaxis, axes.yaxis):
            axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
