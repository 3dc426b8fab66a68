"""Rare-class report: how classes fare by their training support, after training.

:func:`rare_class_report` builds a :class:`RareClassReport` from true and predicted
paths (:mod:`hiercls.reports.build`); the report writes itself as Markdown, CSV, JSON
and a self-contained HTML page (:mod:`hiercls.reports.render`), with figures drawn by
:mod:`hiercls.reports.plots`.

Plots need matplotlib, which hiercls installs; without it the HTML page says so and
carries the tables only.
"""

from hiercls.reports.build import TABLES, RareClassReport, bucket_labels, rare_class_report
from hiercls.reports.plots import (
    plot_bucket_scores,
    plot_level_scores,
    plot_recall_vs_support,
    plot_reliability,
)
from hiercls.reports.render import REPORT_FILE_STEM

__all__ = [
    "REPORT_FILE_STEM",
    "TABLES",
    "RareClassReport",
    "bucket_labels",
    "plot_bucket_scores",
    "plot_level_scores",
    "plot_recall_vs_support",
    "plot_reliability",
    "rare_class_report",
]
