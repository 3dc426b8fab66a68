"""A rare-class report as text: Markdown, CSV, JSON and one self-contained HTML page.

The functions here take a :class:`~hiercls.reports.RareClassReport` and return text;
the report's ``to_markdown``, ``to_csv``, ``to_json``, ``to_html`` and ``write``
methods call them. The HTML page embeds the figures of :mod:`hiercls.reports.plots`
unless asked not to draw them, or when matplotlib is missing; the page then says so.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from hiercls import _atomic
from hiercls._formatting import html_table, markdown_table
from hiercls.reports.plots import draw_report_figures

if TYPE_CHECKING:
    from hiercls.reports.build import RareClassReport

__all__ = [
    "PAGE_CSS",
    "REPORT_FILE_STEM",
    "format_class_count",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "write_report",
    "write_text",
]

REPORT_FILE_STEM = "rare_class_report"
"""File name, without suffix, of the files :meth:`RareClassReport.write` writes."""

_SUFFIXES = ("md", "csv", "json", "html")

_PLOT_HINT = "pip install 'hiercls[plot]'"

# Column headers for Markdown and HTML; CSV and JSON keep the column names.
_HEADERS = {
    "n_rows": "test rows",
    "n_classes": "classes",
    "n_tested": "classes with test rows",
    "n_rare_classes": "rare classes",
    "rare_test_share": "rare share of test rows",
    "macro_recall": "macro recall",
    "recall_gap": "recall gap",
    "micro_f1": "micro F1",
    "macro_f1": "macro F1",
    "f1_gap": "F1 gap",
    "rare_macro_recall": "rare macro recall",
    "n_never_predicted": "never predicted",
    "train_support": "training support",
    "test_support": "test support",
    "test_rows": "test rows",
    "test_share": "share of test rows",
    "n_predicted": "predicted",
    "mean_confidence": "mean confidence",
    "ece": "ECE",
    "f1": "F1",
}

# Which figures follow which section of the HTML page.
_FIGURES_AFTER = {
    "Per level": ["levels"],
    "By training support": ["recall", "buckets"],
    "By test support": ["recall", "buckets"],
    "Calibration": ["reliability"],
}


def format_class_count(n: int) -> str:
    """Say how many classes: ``"1 class"``, ``"1,234 classes"``."""
    return "1 class" if n == 1 else f"{n:,} classes"


def write_text(text: str, path: str | Path | None) -> str:
    """Write ``text`` to ``path`` as UTF-8 (atomically) unless ``path`` is None; return ``text``."""
    if path is not None:
        _atomic.write_text(path, text)
    return text


def render_csv(report: RareClassReport, table: str = "per_class") -> str:
    """Return one table of the report as CSV, see :meth:`RareClassReport.to_frame`."""
    return report.to_frame(table).to_csv(index=False)


def render_json(report: RareClassReport) -> str:
    """Return the whole report as JSON, see :meth:`RareClassReport.to_dict`."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def render_markdown(report: RareClassReport, *, max_rows: int = 25) -> str:
    """Return the report as Markdown, without pictures.

    Parameters
    ----------
    report : RareClassReport
        The report.
    max_rows : int, default=25
        Longest list of never-predicted classes to show; the JSON has all of them.

    Returns
    -------
    text : str
        The Markdown text.
    """
    lines = ["# Rare-class report", ""]
    lines += [f"- {item}" for item in _settings(report)] + [""]
    for note in report.notes:
        lines += [f"> {note}", ""]
    for title, body, frame in _sections(report, max_rows):
        lines += [f"## {title}", ""]
        if body:
            lines += [body, ""]
        if frame is not None:
            lines += [markdown_table(frame, _HEADERS), ""]
    return "\n".join(lines)


def render_html(report: RareClassReport, *, max_rows: int = 25, figures: bool = True) -> str:
    """Return the report as one self-contained HTML page, pictures embedded.

    Parameters
    ----------
    report : RareClassReport
        The report.
    max_rows : int, default=25
        Longest list of never-predicted classes to show; the JSON has all of them.
    figures : bool, default=True
        Whether to draw the pictures (with matplotlib). Without them, or without
        matplotlib, the page says why and shows the tables only.

    Returns
    -------
    text : str
        The HTML text.
    """
    images: dict[str, tuple[str, str]] = {}
    if not figures:
        missing = "The pictures were not drawn (figures=False); the tables hold every number."
        figures_note = f"<p class='note'>{html.escape(missing)}</p>"
    else:
        try:
            images = draw_report_figures(report)
            figures_note = ""
        except ImportError:
            figures_note = (
                "<p class='note'>The pictures need matplotlib, which is not installed: "
                f"<code>{html.escape(_PLOT_HINT)}</code></p>"
            )
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Rare-class report</title>",
        f"<style>{PAGE_CSS}</style></head><body><main>",
        "<h1>Rare-class report</h1>",
        "<ul class='settings'>",
        *[f"<li>{html.escape(item)}</li>" for item in _settings(report)],
        "</ul>",
        *[f"<p class='note'>{html.escape(note)}</p>" for note in report.notes],
        figures_note,
    ]
    for title, body, frame in _sections(report, max_rows):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if body:
            parts.append(f"<p>{html.escape(body)}</p>")
        if frame is not None:
            parts.append(html_table(frame, _HEADERS))
        for name in _FIGURES_AFTER.get(title, []):
            if name in images:
                alt, data = images[name]
                parts.append(
                    f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'></figure>"
                )
    parts.append("</main></body></html>")
    return "\n".join(part for part in parts if part)


def write_report(report: RareClassReport, directory: str | Path, *, figures: bool = True) -> dict[str, Path]:
    """Write the report in every format into a directory, see :meth:`RareClassReport.write`.

    Parameters
    ----------
    report : RareClassReport
        The report.
    directory : str or Path
        Created if missing.
    figures : bool, default=True
        Whether the HTML page gets its pictures.

    Returns
    -------
    paths : dict
        Path written, by format: ``"md"``, ``"csv"``, ``"json"``, ``"html"``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {suffix: directory / f"{REPORT_FILE_STEM}.{suffix}" for suffix in _SUFFIXES}
    write_text(render_markdown(report), paths["md"])
    write_text(render_csv(report), paths["csv"])
    write_text(render_json(report), paths["json"])
    write_text(render_html(report, figures=figures), paths["html"])
    return paths


def _settings(report: RareClassReport) -> list[str]:
    train = "not given" if report.n_train_rows is None else f"{report.n_train_rows:,}"
    return [f"{name}: {value}" for name, value in report.about] + [
        f"Test rows: {report.n_test_rows:,}; training rows: {train}",
        f"Levels: {', '.join(report.levels)}",
        f"Rare: fewer than {report.min_samples:,} {report.support_name} samples "
        f"(min_samples={report.min_samples}); {report.n_rare_classes:,} of "
        f"{len(report.per_class):,} classes are rare",
        f"Support buckets: {', '.join(report.bucket_labels)}",
    ]


def _sections(report: RareClassReport, max_rows: int) -> list[tuple[str, str, pd.DataFrame | None]]:
    """(title, sentence, table) for each section, shared by Markdown and HTML."""
    support = report.support_name
    hidden = ["depth", "class"] + (["train_support"] if report.support_source == "test" else [])
    overall = pd.DataFrame(
        {
            "metric": [
                "hierarchical precision",
                "hierarchical recall",
                "hierarchical F1",
                "leaf accuracy (exact path)",
            ],
            "value": list(report.overall_scores.values()),
        }
    )
    sections: list[tuple[str, str, pd.DataFrame | None]] = [
        ("Overall", "", overall),
        (
            "Per level",
            "Micro scores weigh every test row, macro scores every class; a large gap "
            "means the frequent classes carry the score.",
            report.per_level.rename(columns={"accuracy": "accuracy (micro recall)"}),
        ),
    ]
    buckets = report.per_bucket[report.per_bucket["n_classes"] > 0].drop(columns="depth")
    sentence = "Classes bucketed by their support; buckets without classes are left out."
    if not report.n_rare_classes:
        sentence += f" No rare classes: every class has at least {report.min_samples:,} {support} samples."
    sections.append((f"By {support} support", sentence, buckets))
    worst = report.worst_classes
    sections.append(
        (
            "Worst classes by recall",
            f"Per level, the {support} support and scores of the classes with the lowest recall."
            if len(worst)
            else "No class has test rows.",
            worst.drop(columns=hidden) if len(worst) else None,
        )
    )
    if report.worst_class_features is not None:
        sections.append(_features_section(report.worst_class_features))
    never = report.never_predicted
    if len(never) == 0:
        sections.append(("Never predicted", "Every class with test rows was predicted at least once.", None))
    else:
        shown = never.head(max_rows).drop(columns=hidden)
        more = (
            f" The first {max_rows} are shown; {REPORT_FILE_STEM}.json lists all."
            if len(never) > max_rows
            else ""
        )
        sections.append(
            (
                "Never predicted",
                f"{format_class_count(len(never))} with test rows, never predicted.{more}",
                shown,
            )
        )
    if report.calibration is None:
        sections.append(
            (
                "Calibration",
                "No probabilities given: pass proba= and classes= for calibration.",
                None,
            )
        )
    else:
        sections.append(
            (
                "Calibration",
                "Expected calibration error (ECE) of the most probable label per level: "
                "0 means a confidence of p is right a share p of the time.",
                report.calibration,
            )
        )
    return sections


def _features_section(features: pd.DataFrame) -> tuple[str, str, pd.DataFrame | None]:
    """The worst classes' most weighted features, one line per class (the CSV/JSON keep one per feature)."""
    title = "Most weighted features of the worst classes"
    if not len(features):
        return title, "No node model of the worst classes keeps per-class weights (linear or LightGBM).", None
    text = features["feature"].astype(str) + " (" + features["weight"].map("{:.3g}".format) + ")"
    keys = ["level", "path", "node", "basis"]
    table = text.groupby([features[k] for k in keys], sort=False).agg(", ".join).rename("features")
    table = table.reset_index().rename(columns={"node": "chosen at node"})
    table["chosen at node"] = table["chosen at node"].replace("", "(root)")
    sentence = (
        "For each worst class, the features that weigh most toward it in the model that "
        "chooses it among its siblings: for linear models the class's weight minus its "
        "siblings' mean weight, for LightGBM the split gain of the class's trees. An only "
        "child, chosen by no model, has none."
    )
    return title, sentence, table


#: The style sheet of every HTML report page.
PAGE_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222;
       background: #fff; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 28px; margin-bottom: 8px; }
h2 { font-size: 21px; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
ul.settings { color: #444; padding-left: 20px; line-height: 1.5; }
p.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e5e5; }
th { background: #f4f6f8; text-align: left; vertical-align: bottom; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 16px 0; }
figure img { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 1px 4px; }
"""
