"""Figures of a rare-class report, drawn with matplotlib.

matplotlib (a dependency of hiercls) is imported when a figure is drawn, never when
this module is imported, so that importing the reports stays cheap; where it is
missing, the functions here raise an ImportError that names the extra to install.
"""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hiercls._compat import import_optional
from hiercls.metrics import CalibrationScores

if TYPE_CHECKING:
    from hiercls.reports.build import RareClassReport

__all__ = [
    "png_base64",
    "draw_report_figures",
    "plot_bucket_scores",
    "plot_level_scores",
    "plot_recall_vs_support",
    "plot_reliability",
]


def _new_figure(n_panels: int, panel_size: tuple[float, float], max_columns: int = 3) -> Any:
    """Return a figure and a flat list of its axes, without touching pyplot's state."""
    figure_module = import_optional("matplotlib.figure", extra="plot")
    n_columns = min(n_panels, max_columns)
    n_rows = math.ceil(n_panels / n_columns)
    figure = figure_module.Figure(
        figsize=(panel_size[0] * n_columns, panel_size[1] * n_rows), layout="constrained"
    )
    axes = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    for extra in axes[n_panels:]:
        extra.set_visible(False)
    return figure, list(axes[:n_panels])


def plot_recall_vs_support(report: RareClassReport) -> Any:
    """Plot each class's recall against its support, one panel per level (log scale).

    Classes without test rows have no recall and are left out; classes with support 0
    are drawn at the left edge, labelled "0". Dashed lines mark the bucket edges, the
    shaded band the rare classes, and the step line each bucket's macro recall.

    Parameters
    ----------
    report : RareClassReport
        The report to draw.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Save it with ``figure.savefig(path)``.
    """
    figure, axes = _new_figure(len(report.levels), (5.0, 3.8))
    support_name = report.support_name
    tested = report.per_class[report.per_class["test_support"] > 0]
    top = max(10.0, float(report.per_class["support"].max()) * 2)
    # Support 0 has no place on a log axis: draw it a little left of 1, labelled "0".
    zero_at = 0.25
    edges = [zero_at, *report.buckets, top]
    for depth, (ax, level) in enumerate(zip(axes, report.levels, strict=True)):
        classes = tested[tested["depth"] == depth]
        x = np.where(classes["support"] > 0, classes["support"], zero_at)
        ax.axvspan(zero_at * 0.8, report.min_samples, color="#d62728", alpha=0.07, lw=0)
        ax.scatter(x, classes["recall"], s=12, alpha=0.35, color="#1f77b4", lw=0, label="a class")
        for edge in report.buckets:
            ax.axvline(edge, color="#888", ls="--", lw=0.8)
        buckets = report.per_bucket[report.per_bucket["depth"] == depth]
        for (low, high), recall in zip(
            zip(edges[:-1], edges[1:], strict=True), buckets["macro_recall"], strict=True
        ):
            if not np.isnan(recall):
                ax.hlines(recall, low, high, color="#ff7f0e", lw=2.2)
        ax.plot([], [], color="#ff7f0e", lw=2.2, label="bucket macro recall")
        ax.fill_between([], [], color="#d62728", alpha=0.07, label=f"rare (< {report.min_samples:,})")
        ax.set_xscale("log")
        ax.set_xlim(zero_at * 0.8, top)
        ticks = [zero_at] + [10.0**k for k in range(0, int(math.log10(top)) + 1)]
        ax.set_xticks(ticks)
        ax.set_xticklabels(["0"] + [f"{t:,.0f}" for t in ticks[1:]])
        ax.minorticks_off()
        ax.set_ylim(-0.04, 1.04)
        ax.set_title(f"{level}: {len(classes):,} classes with test rows")
        ax.set_xlabel(f"{support_name} support (log scale)")
        ax.set_ylabel("recall")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8, framealpha=0.9)
    return figure


def plot_bucket_scores(report: RareClassReport) -> Any:
    """Plot macro recall and macro F1 per support bucket, one panel per level.

    Each group of bars is annotated with its number of classes with test rows.

    Parameters
    ----------
    report : RareClassReport
        The report to draw.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Save it with ``figure.savefig(path)``.
    """
    figure, axes = _new_figure(len(report.levels), (5.0, 3.4))
    support_name = report.support_name
    labels = report.bucket_labels
    position = np.arange(len(labels))
    width = 0.38
    for depth, (ax, level) in enumerate(zip(axes, report.levels, strict=True)):
        buckets = report.per_bucket[report.per_bucket["depth"] == depth]
        recall = buckets["macro_recall"].fillna(0).to_numpy()
        f1 = buckets["macro_f1"].fillna(0).to_numpy()
        ax.bar(position - width / 2, recall, width, label="macro recall", color="#1f77b4")
        ax.bar(position + width / 2, f1, width, label="macro F1", color="#9ecae1")
        for x, n, n_classes, top in zip(
            position,
            buckets["n_tested"],
            buckets["n_classes"],
            np.maximum(recall, f1),
            strict=True,
        ):
            text = f"n={n:,}" if n else ("no test rows" if n_classes else "no classes")
            ax.text(
                x,
                top + 0.02,
                text,
                ha="center",
                va="bottom",
                fontsize=8,
                color="#333" if n else "#999",
            )
        ax.set_xticks(position)
        ax.set_xticklabels(labels)
        ax.set_ylim(0, 1.15)
        ax.set_xlabel(f"{support_name} support")
        ax.set_title(level)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("score")
    axes[0].legend(loc="upper left", fontsize=8, ncols=2, framealpha=0.9)
    figure.suptitle(f"Macro recall and F1 per {support_name}-support bucket (n = classes with test rows)")
    return figure


def plot_level_scores(report: RareClassReport) -> Any:
    """Plot micro against macro scores per level, as grouped bars.

    Parameters
    ----------
    report : RareClassReport
        The report to draw.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Save it with ``figure.savefig(path)``.
    """
    figure, (ax,) = _new_figure(1, (max(6.0, 1.6 * len(report.levels) + 3), 3.4))
    series = [
        ("accuracy", "accuracy (micro recall)", "#1f77b4"),
        ("macro_recall", "macro recall", "#9ecae1"),
        ("micro_f1", "micro F1", "#ff7f0e"),
        ("macro_f1", "macro F1", "#fdd0a2"),
    ]
    position = np.arange(len(report.levels))
    width = 0.2
    for k, (column, label, color) in enumerate(series):
        values = report.per_level[column].fillna(0).to_numpy()
        ax.bar(position + (k - 1.5) * width, values, width, label=label, color=color)
    ax.set_xticks(position)
    ax.set_xticklabels(report.levels)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("score")
    ax.set_title("Micro against macro scores per level")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return figure


def plot_reliability(calibration: CalibrationScores | RareClassReport) -> Any:
    """Plot a reliability diagram per level: accuracy against confidence.

    Bars show the accuracy of each confidence bin, dots its mean confidence; a
    calibrated model's bars reach the diagonal.

    Parameters
    ----------
    calibration : CalibrationScores or RareClassReport
        From :func:`hiercls.metrics.calibration_by_level`, or a report made with
        ``proba=`` and ``classes=``.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Save it with ``figure.savefig(path)``.

    Examples
    --------
    >>> import numpy as np
    >>> from hiercls.metrics import calibration_by_level
    >>> proba = [np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]])]
    >>> figure = plot_reliability(calibration_by_level(["A", "A", "B"], proba, [["A", "B"]]))
    >>> len(figure.axes)
    1
    """
    if isinstance(calibration, CalibrationScores):
        summary, bins = calibration.summary, calibration.bins
    elif calibration.calibration is None or calibration.reliability is None:
        raise ValueError("This report has no calibration: pass proba= and classes= to rare_class_report.")
    else:
        summary = calibration.calibration.set_index("level")
        bins = calibration.reliability
    levels = list(summary.index)
    figure, axes = _new_figure(len(levels), (4.0, 3.8))
    for ax, level in zip(axes, levels, strict=True):
        level_bins = bins[bins["level"] == level]
        width = level_bins["bin_upper"] - level_bins["bin_lower"]
        center = (level_bins["bin_upper"] + level_bins["bin_lower"]) / 2
        ax.bar(
            center,
            level_bins["accuracy"].fillna(0),
            width * 0.92,
            color="#1f77b4",
            alpha=0.8,
            label="accuracy",
        )
        ax.plot(
            level_bins["mean_confidence"],
            level_bins["mean_confidence"],
            "o",
            color="#ff7f0e",
            ms=4,
            label="mean confidence",
        )
        ax.plot([0, 1], [0, 1], ls="--", color="#555", lw=1, label="calibrated")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ece = summary.loc[level, "ece"]
        ax.set_title(f"{level}: ECE {ece:.3f}")
        ax.set_xlabel("confidence (max probability)")
        ax.set_ylabel("accuracy")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9)
    return figure


def draw_report_figures(report: RareClassReport) -> dict[str, tuple[str, str]]:
    """Draw every figure of a report as a PNG, for embedding in its HTML page.

    Parameters
    ----------
    report : RareClassReport
        The report to draw.

    Returns
    -------
    figures : dict
        ``(alt text, base64-encoded PNG)`` by figure name: ``"levels"``, ``"recall"``,
        ``"buckets"`` and, when the report has calibration, ``"reliability"``.

    Raises
    ------
    ImportError
        Without matplotlib; the message names the extra to install.
    """
    support_name = report.support_name
    images = {
        "levels": ("Micro and macro scores per level", plot_level_scores(report)),
        "recall": (
            f"Recall of each class against its {support_name} support",
            plot_recall_vs_support(report),
        ),
        "buckets": (
            f"Macro recall and F1 per {support_name} support bucket",
            plot_bucket_scores(report),
        ),
    }
    if report.calibration is not None:
        images["reliability"] = ("Reliability diagram per level", plot_reliability(report))
    return {name: (alt, png_base64(figure)) for name, (alt, figure) in images.items()}


def png_base64(figure: Any) -> str:
    """A figure as a base64-encoded PNG, to embed in an HTML page."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
