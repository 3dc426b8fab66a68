"""Rare-class report: how classes fare by their training support, after training.

A model needs on the order of a hundred examples of a class to learn it, and rare
classes vanish inside aggregate scores. :func:`rare_class_report` buckets the classes
(nodes) of every level by training support and reports, per bucket, the number of
classes, their share of the test rows and their macro recall and F1; the gap between
micro and macro scores per level; the worst classes by recall; and the classes never
predicted. :class:`RareClassReport` formats what :mod:`hiercls.metrics` computes as a
DataFrame, Markdown, CSV, JSON and a self-contained HTML page.

Plots need matplotlib (``pip install 'hiercls[plot]'``); without it the HTML page says
so and carries the tables only.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hiercls._compat import import_optional
from hiercls._formatting import html_table, markdown_table
from hiercls.metrics import CalibrationScores, calibration_by_level, evaluate

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

REPORT_FILE_STEM = "rare_class_report"
"""File name, without suffix, of the files :meth:`RareClassReport.write` writes."""

TABLES = (
    "per_class",
    "per_level",
    "per_bucket",
    "worst_classes",
    "never_predicted",
    "calibration",
    "reliability",
)
"""Names of the tables of a :class:`RareClassReport`, for ``to_frame`` and ``to_csv``."""

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


def bucket_labels(buckets: Sequence[int]) -> list[str]:
    """Name the support buckets that the edges ``buckets`` cut.

    Parameters
    ----------
    buckets : sequence of int
        Increasing bucket edges, each >= 1.

    Returns
    -------
    labels : list of str
        One more label than edges: ``<b0``, ``b0–(b1-1)``, ..., ``≥bk``.

    Examples
    --------
    >>> bucket_labels((10, 100, 1000))
    ['<10', '10–99', '100–999', '≥1000']
    """
    labels = [f"<{buckets[0]}"]
    for low, high in zip(buckets[:-1], buckets[1:], strict=True):
        labels.append(str(low) if high - 1 == low else f"{low}–{high - 1}")
    labels.append(f"≥{buckets[-1]}")
    return labels


@dataclass(frozen=True, eq=False, repr=False)
class RareClassReport:
    """How rare classes fare: made by :func:`rare_class_report`.

    Attributes
    ----------
    levels : tuple of str
        Level names, coarsest first.
    n_test_rows : int
        Rows of ``Y_true``.
    n_train_rows : int or None
        Rows of ``Y_train``; None when it was not given.
    support_source : {"train", "test"}
        Which support buckets the classes: training support, or test support when no
        ``Y_train`` was given.
    min_samples : int
        Classes with fewer samples than this are rare.
    buckets : tuple of int
        Bucket edges.
    hierarchical_precision, hierarchical_recall, hierarchical_f1, leaf_accuracy : float
        Overall scores, see :class:`hiercls.metrics.HierarchicalScores`.
    per_class : pandas.DataFrame
        :func:`hiercls.metrics.per_class_table` plus the columns ``support`` (the
        support that buckets the class), ``bucket`` and ``rare``.
    per_level : pandas.DataFrame
        One row per level: ``n_rows``, ``n_classes``, ``n_rare_classes``,
        ``rare_test_share``, ``accuracy`` (micro recall), ``macro_recall``,
        ``recall_gap``, ``micro_f1``, ``macro_f1``, ``f1_gap``, ``rare_macro_recall``
        and ``n_never_predicted``.
    per_bucket : pandas.DataFrame
        One row per level and bucket: ``n_classes``, ``n_tested`` (classes with test
        rows), ``test_rows``, ``test_share``, ``macro_recall``, ``macro_f1`` and
        ``n_never_predicted``.
    worst_classes : pandas.DataFrame
        Per level, the classes with test rows of lowest recall (ties: most test rows
        first).
    never_predicted : pandas.DataFrame
        Classes that have test rows but were never predicted.
    calibration : pandas.DataFrame or None
        Per-level ``n_rows``, ``accuracy``, ``mean_confidence`` and ``ece`` when
        probabilities were given.
    reliability : pandas.DataFrame or None
        Per-level reliability bins when probabilities were given.
    notes : tuple of str
        Sentences that qualify the numbers, e.g. that there are no rare classes.
    """

    levels: tuple[str, ...]
    n_test_rows: int
    n_train_rows: int | None
    support_source: str
    min_samples: int
    buckets: tuple[int, ...]
    hierarchical_precision: float
    hierarchical_recall: float
    hierarchical_f1: float
    leaf_accuracy: float
    per_class: pd.DataFrame
    per_level: pd.DataFrame
    per_bucket: pd.DataFrame
    worst_classes: pd.DataFrame
    never_predicted: pd.DataFrame
    calibration: pd.DataFrame | None = None
    reliability: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return (
            f"RareClassReport(levels={self.levels}, n_test_rows={self.n_test_rows}, "
            f"n_classes={len(self.per_class)}, n_rare_classes={self.n_rare_classes}, "
            f"support_source={self.support_source!r}, min_samples={self.min_samples})"
        )

    @property
    def bucket_labels(self) -> list[str]:
        """Names of the support buckets, e.g. ``['<10', '10–99', '100–999', '≥1000']``."""
        return bucket_labels(self.buckets)

    @property
    def n_rare_classes(self) -> int:
        """Number of classes, over all levels, with fewer than ``min_samples`` samples."""
        return int(self.per_class["rare"].sum())

    # ----------------------------------------------------------------- data formats

    def to_frame(self, table: str = "per_class") -> pd.DataFrame:
        """Return one table of the report.

        Parameters
        ----------
        table : {"per_class", "per_level", "per_bucket", "worst_classes", \
"never_predicted", "calibration", "reliability"}, default="per_class"
            Which table. The per-class table holds everything the others summarise.

        Returns
        -------
        frame : pandas.DataFrame
            A copy, with the level as an ordinary column.
        """
        if table not in TABLES:
            raise ValueError(
                f"The 'table' parameter of RareClassReport.to_frame must be one of "
                f"{list(TABLES)}. Got {table!r} instead."
            )
        frame = getattr(self, table)
        if frame is None:
            raise ValueError(
                f"This report has no {table!r} table: pass proba= and classes= to "
                "rare_class_report to add calibration."
            )
        return frame.copy()

    def to_csv(self, path: str | Path | None = None, table: str = "per_class") -> str:
        """Write one table as CSV (UTF-8), by default the per-class table.

        Parameters
        ----------
        path : str or Path, default=None
            Where to write; with None, only return the text.
        table : str, default="per_class"
            Which table, see :meth:`to_frame`.

        Returns
        -------
        text : str
            The CSV text.
        """
        text = self.to_frame(table).to_csv(index=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the whole report as JSON-ready Python objects.

        Returns
        -------
        report : dict
            Settings, notes, overall scores, and every table as a list of records
            (missing values as None).
        """
        return {
            "report": REPORT_FILE_STEM,
            "levels": list(self.levels),
            "n_test_rows": self.n_test_rows,
            "n_train_rows": self.n_train_rows,
            "support_source": self.support_source,
            "min_samples": self.min_samples,
            "buckets": list(self.buckets),
            "bucket_labels": self.bucket_labels,
            "n_rare_classes": self.n_rare_classes,
            "notes": list(self.notes),
            "overall": self._overall(),
            "tables": {name: _records(getattr(self, name)) for name in TABLES},
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """Write the whole report as JSON.

        Parameters
        ----------
        path : str or Path, default=None
            Where to write; with None, only return the text.

        Returns
        -------
        text : str
            The JSON text.
        """
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    # ----------------------------------------------------------------- documents

    def to_markdown(self, path: str | Path | None = None, *, max_rows: int = 25) -> str:
        """Write the report as Markdown, without pictures.

        Parameters
        ----------
        path : str or Path, default=None
            Where to write; with None, only return the text.
        max_rows : int, default=25
            Longest list of never-predicted classes to show; the JSON has all of them.

        Returns
        -------
        text : str
            The Markdown text.
        """
        lines = ["# Rare-class report", ""]
        lines += [f"- {item}" for item in self._settings()] + [""]
        for note in self.notes:
            lines += [f"> {note}", ""]
        for title, body, frame in self._sections(max_rows):
            lines += [f"## {title}", ""]
            if body:
                lines += [body, ""]
            if frame is not None:
                lines += [_markdown_table(frame), ""]
        text = "\n".join(lines)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None, *, max_rows: int = 25) -> str:
        """Write the report as one self-contained HTML page, pictures embedded.

        The pictures (recall against support, per-level bars, reliability) need
        matplotlib; without it the page says how to install it and shows the tables.

        Parameters
        ----------
        path : str or Path, default=None
            Where to write; with None, only return the text.
        max_rows : int, default=25
            Longest list of never-predicted classes to show; the JSON has all of them.

        Returns
        -------
        text : str
            The HTML text.
        """
        try:
            images = _render_figures(self)
            missing_plot = ""
        except ImportError:
            images = {}
            missing_plot = (
                "<p class='note'>The pictures need matplotlib, which is not installed: "
                f"<code>{html.escape(_PLOT_HINT)}</code></p>"
            )
        figure_after = {
            "Per level": ["levels"],
            "By training support": ["recall", "buckets"],
            "By test support": ["recall", "buckets"],
            "Calibration": ["reliability"],
        }
        parts = [
            "<!DOCTYPE html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            "<title>Rare-class report</title>",
            f"<style>{_CSS}</style></head><body><main>",
            "<h1>Rare-class report</h1>",
            "<ul class='settings'>",
            *[f"<li>{html.escape(item)}</li>" for item in self._settings()],
            "</ul>",
            *[f"<p class='note'>{html.escape(note)}</p>" for note in self.notes],
            missing_plot,
        ]
        for title, body, frame in self._sections(max_rows):
            parts.append(f"<h2>{html.escape(title)}</h2>")
            if body:
                parts.append(f"<p>{html.escape(body)}</p>")
            if frame is not None:
                parts.append(_html_table(frame))
            for name in figure_after.get(title, []):
                if name in images:
                    alt, data = images[name]
                    parts.append(
                        f"<figure><img alt='{html.escape(alt)}' "
                        f"src='data:image/png;base64,{data}'></figure>"
                    )
        parts.append("</main></body></html>")
        text = "\n".join(part for part in parts if part)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write the report in every format into a directory.

        The files are ``rare_class_report.md``, ``.csv`` (the per-class table),
        ``.json`` and ``.html``.

        Parameters
        ----------
        directory : str or Path
            Created if missing.

        Returns
        -------
        paths : dict
            Path written, by format: ``"md"``, ``"csv"``, ``"json"``, ``"html"``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {suffix: directory / f"{REPORT_FILE_STEM}.{suffix}" for suffix in _SUFFIXES}
        self.to_markdown(paths["md"])
        self.to_csv(paths["csv"])
        self.to_json(paths["json"])
        self.to_html(paths["html"])
        return paths

    # ----------------------------------------------------------------- pieces

    def _overall(self) -> dict[str, float]:
        return {
            "hierarchical_precision": self.hierarchical_precision,
            "hierarchical_recall": self.hierarchical_recall,
            "hierarchical_f1": self.hierarchical_f1,
            "leaf_accuracy": self.leaf_accuracy,
        }

    def _settings(self) -> list[str]:
        train = "not given" if self.n_train_rows is None else f"{self.n_train_rows:,}"
        return [
            f"Test rows: {self.n_test_rows:,}; training rows: {train}",
            f"Levels: {', '.join(self.levels)}",
            f"Rare: fewer than {self.min_samples:,} {_support_name(self)} samples "
            f"(min_samples={self.min_samples}); {self.n_rare_classes:,} of "
            f"{len(self.per_class):,} classes are rare",
            f"Support buckets: {', '.join(self.bucket_labels)}",
        ]

    def _sections(self, max_rows: int) -> list[tuple[str, str, pd.DataFrame | None]]:
        """(title, sentence, table) for each section, shared by Markdown and HTML."""
        support = _support_name(self)
        hidden = ["depth", "class"] + (["train_support"] if self.support_source == "test" else [])
        overall = pd.DataFrame(
            {
                "metric": [
                    "hierarchical precision",
                    "hierarchical recall",
                    "hierarchical F1",
                    "leaf accuracy (exact path)",
                ],
                "value": list(self._overall().values()),
            }
        )
        sections: list[tuple[str, str, pd.DataFrame | None]] = [
            ("Overall", "", overall),
            (
                "Per level",
                "Micro scores weigh every test row, macro scores every class; a large gap "
                "means the frequent classes carry the score.",
                self.per_level.rename(columns={"accuracy": "accuracy (micro recall)"}),
            ),
        ]
        buckets = self.per_bucket[self.per_bucket["n_classes"] > 0].drop(columns="depth")
        sentence = "Classes bucketed by their support; buckets without classes are left out."
        if not self.n_rare_classes:
            sentence += (
                f" No rare classes: every class has at least {self.min_samples:,} {support} "
                "samples."
            )
        sections.append((f"By {support} support", sentence, buckets))
        worst = self.worst_classes
        sections.append(
            (
                "Worst classes by recall",
                f"Per level, the {support} support and scores of the classes with the "
                "lowest recall."
                if len(worst)
                else "No class has test rows.",
                worst.drop(columns=hidden) if len(worst) else None,
            )
        )
        never = self.never_predicted
        if len(never) == 0:
            sections.append(
                ("Never predicted", "Every class with test rows was predicted at least once.", None)
            )
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
                    f"{_n_classes(len(never))} with test rows, never predicted.{more}",
                    shown,
                )
            )
        if self.calibration is None:
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
                    self.calibration,
                )
            )
        return sections


_SUFFIXES = ("md", "csv", "json", "html")


def _n_classes(n: int) -> str:
    return "1 class" if n == 1 else f"{n:,} classes"


def _support_name(report: RareClassReport) -> str:
    return "training" if report.support_source == "train" else "test"


_CSS = """
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


# --------------------------------------------------------------------------- tables


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    return json.loads(frame.to_json(orient="records", default_handler=str, force_ascii=False))


def _markdown_table(frame: pd.DataFrame) -> str:
    return markdown_table(frame, _HEADERS)


def _html_table(frame: pd.DataFrame) -> str:
    return html_table(frame, _HEADERS)


# --------------------------------------------------------------------------- the report


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(
            f"The '{name}' parameter of rare_class_report must be an int >= {minimum}. "
            f"Got {value!r} instead."
        )
    return int(value)


def _check_buckets(buckets: object) -> tuple[int, ...]:
    edges = tuple(buckets) if isinstance(buckets, Sequence | np.ndarray) else ()
    valid = (
        len(edges) > 0
        and all(isinstance(e, int | np.integer) and not isinstance(e, bool) for e in edges)
        and all(e >= 1 for e in edges)
        and all(a < b for a, b in zip(edges[:-1], edges[1:], strict=True))
    )
    if not valid:
        raise ValueError(
            "The 'buckets' parameter of rare_class_report must be a non-empty sequence of "
            f"strictly increasing ints >= 1, such as (10, 100, 1000). Got {buckets!r} instead."
        )
    return tuple(int(e) for e in edges)


def _per_bucket(
    per_class: pd.DataFrame, labels: list[str], n_rows: pd.Series, levels: tuple[str, ...]
) -> pd.DataFrame:
    tested = per_class["test_support"] > 0
    frame = per_class.assign(tested=tested, never=tested & (per_class["n_predicted"] == 0)).groupby(
        ["depth", "level", "bucket"], sort=False, observed=True
    )
    table = pd.DataFrame(
        {
            "n_classes": frame.size(),
            "n_tested": frame["tested"].sum(),
            "test_rows": frame["test_support"].sum(),
            "macro_recall": frame["recall"].mean(),
            "macro_f1": frame["f1"].mean(),
            "n_never_predicted": frame["never"].sum(),
        }
    ).reset_index()
    grid = pd.DataFrame({"depth": range(len(levels)), "level": levels}).merge(
        pd.DataFrame({"bucket": pd.Categorical(labels, categories=labels)}), how="cross"
    )
    table = grid.merge(table, on=["depth", "level", "bucket"], how="left")
    counts = ["n_classes", "n_tested", "test_rows", "n_never_predicted"]
    table[counts] = table[counts].fillna(0).astype(np.int64)
    table.insert(
        table.columns.get_loc("test_rows") + 1,
        "test_share",
        table["test_rows"] / table["level"].map(n_rows).to_numpy(),
    )
    return table.sort_values(["depth", "bucket"], ignore_index=True)


def _per_level(scores_per_level: pd.DataFrame, per_class: pd.DataFrame) -> pd.DataFrame:
    rare = per_class[per_class["rare"]]
    by_level = per_class.groupby("level", sort=False)
    never = per_class["test_support"].gt(0) & per_class["n_predicted"].eq(0)
    frame = pd.DataFrame(
        {
            "n_rows": scores_per_level["n_rows"],
            "n_classes": by_level.size(),
            "n_rare_classes": rare.groupby("level").size(),
            "rare_test_share": rare.groupby("level")["test_support"].sum(),
            "accuracy": scores_per_level["accuracy"],
            "macro_recall": scores_per_level["macro_recall"],
            "recall_gap": scores_per_level["accuracy"] - scores_per_level["macro_recall"],
            "micro_f1": scores_per_level["micro_f1"],
            "macro_f1": scores_per_level["macro_f1"],
            "f1_gap": scores_per_level["micro_f1"] - scores_per_level["macro_f1"],
            "rare_macro_recall": rare.groupby("level")["recall"].mean(),
            "n_never_predicted": never.groupby(per_class["level"]).sum(),
        },
        index=scores_per_level.index,
    )
    counts = ["n_classes", "n_rare_classes", "n_never_predicted"]
    frame[counts] = frame[counts].fillna(0).astype(np.int64)
    rare_rows = frame["rare_test_share"].fillna(0).to_numpy()
    frame["rare_test_share"] = rare_rows / frame["n_rows"].to_numpy().clip(min=1)
    frame.loc[frame["n_rows"] == 0, "rare_test_share"] = np.nan
    return frame.reset_index()


def rare_class_report(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    Y_train: ArrayLike | None = None,
    levels: Sequence[str] | None = None,
    hierarchy: object = None,
    min_samples: int = 100,
    buckets: Sequence[int] = (10, 100, 1000),
    n_worst: int = 10,
    proba: Sequence[ArrayLike] | ArrayLike | None = None,
    classes: Sequence[ArrayLike] | ArrayLike | None = None,
    n_bins: int = 15,
) -> RareClassReport:
    """Report how rare classes fare, level by level.

    Every class (node) of every level is put in a bucket by its training support, and
    the report gives, per level and bucket, the number of classes, their share of the
    test rows and their macro recall and F1; per level the micro and macro scores and
    their gap; the worst classes by recall; and the classes never predicted. With
    ``proba`` and ``classes`` it adds the calibration of each level.

    Parameters
    ----------
    Y_true : array-like of shape (n_samples, n_levels) or (n_samples,)
        True root-to-leaf label paths, level 0 the coarsest; a numpy array, a list of
        lists or a DataFrame (its columns name the levels). Missing trailing labels
        (``None``, NaN, ``""``) end a path early.
    Y_pred : array-like of the same shape as ``Y_true``
        Predicted paths; a prediction that stopped at an internal node has missing
        labels below it.
    Y_train : array-like of shape (n_train_samples, n_levels), default=None
        Training targets, for the training support of each class. Without them the
        classes are bucketed by test support, and the report says so.
    levels : sequence of str, default=None
        Level names. By default the DataFrame column names, else ``level0``, ...
    hierarchy : array-like or iterable of paths, default=None
        Further paths the model may predict. Predicted paths must be paths of
        ``Y_true``, ``Y_train`` or ``hierarchy``.
    min_samples : int, default=100
        Classes with fewer samples are rare. At least 1.
    buckets : sequence of int, default=(10, 100, 1000)
        Increasing support edges; the default gives ``<10``, ``10–99``, ``100–999``,
        ``≥1000``.
    n_worst : int, default=10
        Number of worst classes by recall to list per level.
    proba : list of array-like, default=None
        ``predict_proba(X)``: one (n_samples, n_classes_j) array per level.
    classes : list of array-like, default=None
        ``classes_``: the labels of the columns of each ``proba`` array.
    n_bins : int, default=15
        Number of confidence bins for the calibration.

    Returns
    -------
    report : RareClassReport
        Tables and notes, with ``to_frame``, ``to_markdown``, ``to_csv``,
        ``to_json``, ``to_html`` and ``write``.

    Raises
    ------
    ValueError
        If the inputs are empty, their shapes or level counts differ, or a parameter
        is out of range.
    HierarchyError
        If a path has a gap, or ``Y_pred`` predicts a path the hierarchy does not know.

    Examples
    --------
    >>> from hiercls.reports import rare_class_report
    >>> Y_train = [["A", "x"]] * 150 + [["A", "y"]] * 5 + [["B", "z"]] * 20
    >>> Y_true = [["A", "x"], ["A", "y"], ["B", "z"]]
    >>> Y_pred = [["A", "x"], ["A", "x"], ["B", "z"]]
    >>> report = rare_class_report(Y_true, Y_pred, Y_train=Y_train)
    >>> report.per_bucket.query("level == 'level1'")[["bucket", "n_classes", "macro_recall"]]
      bucket  n_classes  macro_recall
    4    <10          1           0.0
    5  10–99          1           1.0
    6  100–999        1           1.0
    7  ≥1000          0           NaN
    >>> report.never_predicted["path"].tolist()
    ['A / y']
    """
    min_samples = _check_int(min_samples, "min_samples", 1)
    edges = _check_buckets(buckets)
    n_worst = _check_int(n_worst, "n_worst", 0)
    if (proba is None) != (classes is None):
        raise ValueError(
            "rare_class_report needs both proba= and classes= for calibration, or neither; "
            f"got {'proba' if classes is None else 'classes'} only."
        )
    scores = evaluate(Y_true, Y_pred, Y_train=Y_train, hierarchy=hierarchy, levels=levels)
    calibration: CalibrationScores | None = None
    if proba is not None and classes is not None:
        calibration = calibration_by_level(
            Y_true, proba, classes, levels=scores.levels, n_bins=n_bins
        )

    source = "test" if Y_train is None else "train"
    per_class = scores.per_class.copy()
    support = per_class[f"{source}_support"].astype(np.int64)
    labels = bucket_labels(edges)
    per_class["support"] = support
    per_class["bucket"] = pd.Categorical.from_codes(
        np.searchsorted(edges, support.to_numpy(), side="right"), categories=labels
    )
    per_class["rare"] = support < min_samples

    tested = per_class[per_class["test_support"] > 0]
    order = ["depth", "recall", "test_support", "path"]
    worst = (
        tested.sort_values(order, ascending=[True, True, False, True], kind="stable")
        .groupby("depth", sort=False)
        .head(n_worst)
    )
    worst_columns = [
        "level",
        "depth",
        "class",
        "path",
        "train_support",
        "test_support",
        "n_predicted",
        "recall",
        "precision",
        "f1",
    ]
    never = tested[tested["n_predicted"] == 0].sort_values(
        ["depth", "test_support", "path"], ascending=[True, False, True], kind="stable"
    )
    never_columns = ["level", "depth", "class", "path", "train_support", "test_support"]

    notes = []
    if Y_train is None:
        notes.append(
            "No Y_train given: classes are bucketed by their test support, not their "
            "training support."
        )
    n_classes = len(per_class)
    n_rare = int(per_class["rare"].sum())
    if n_rare == 0:
        notes.append(
            f"No rare classes: all {n_classes:,} classes have at least "
            f"min_samples={min_samples} {'training' if Y_train is not None else 'test'} "
            "samples."
        )
    if Y_train is not None:
        unseen = int(((per_class["train_support"] == 0) & (per_class["test_support"] > 0)).sum())
        if unseen:
            notes.append(f"{_n_classes(unseen)} in Y_true but not in Y_train (training support 0).")

    n_train_rows = (
        None
        if Y_train is None
        else int(per_class.loc[per_class["depth"] == 0, "train_support"].sum())
    )
    return RareClassReport(
        levels=scores.levels,
        n_test_rows=scores.n_samples,
        n_train_rows=n_train_rows,
        support_source=source,
        min_samples=min_samples,
        buckets=edges,
        hierarchical_precision=scores.hierarchical_precision,
        hierarchical_recall=scores.hierarchical_recall,
        hierarchical_f1=scores.hierarchical_f1,
        leaf_accuracy=scores.leaf_accuracy,
        per_class=per_class,
        per_level=_per_level(scores.per_level, per_class),
        per_bucket=_per_bucket(per_class, labels, scores.per_level["n_rows"], scores.levels),
        worst_classes=worst[worst_columns].reset_index(drop=True),
        never_predicted=never[never_columns].reset_index(drop=True),
        calibration=None if calibration is None else calibration.summary.reset_index(),
        reliability=None if calibration is None else calibration.bins,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- plots


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
    support_name = _support_name(report)
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
        ax.fill_between(
            [], [], color="#d62728", alpha=0.07, label=f"rare (< {report.min_samples:,})"
        )
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
    support_name = _support_name(report)
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
    figure.suptitle(
        f"Macro recall and F1 per {support_name}-support bucket (n = classes with test rows)"
    )
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
    if isinstance(calibration, RareClassReport):
        if calibration.calibration is None or calibration.reliability is None:
            raise ValueError(
                "This report has no calibration: pass proba= and classes= to rare_class_report."
            )
        summary = calibration.calibration.set_index("level")
        bins = calibration.reliability
    else:
        summary, bins = calibration.summary, calibration.bins
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


def _png_base64(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _render_figures(report: RareClassReport) -> dict[str, tuple[str, str]]:
    """Return (alt text, base64 PNG) per picture; ImportError without matplotlib."""
    support_name = _support_name(report)
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
    return {name: (alt, _png_base64(figure)) for name, (alt, figure) in images.items()}
