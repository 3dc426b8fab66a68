"""Rare-class report: how classes fare by their training support, after training.

A model needs on the order of a hundred examples of a class to learn it, and rare
classes vanish inside aggregate scores. :func:`rare_class_report` buckets the classes
(nodes) of every level by training support and reports, per bucket, the number of
classes, their share of the test rows and their macro recall and F1; the gap between
micro and macro scores per level; the worst classes by recall; and the classes never
predicted. This module builds the :class:`RareClassReport` tables from what
:mod:`hiercls.metrics` computes; :mod:`hiercls.reports.render` writes them as
Markdown, CSV, JSON and HTML, and :mod:`hiercls.reports.plots` draws them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hiercls._compat import StrOptions, validate_params
from hiercls._validation import SequenceOf, StrictInterval
from hiercls.metrics import CalibrationScores, calibration_by_level, evaluate
from hiercls.reports import render

__all__ = ["TABLES", "RareClassReport", "bucket_labels", "rare_class_report"]

TABLES = (
    "per_class",
    "per_level",
    "per_bucket",
    "worst_classes",
    "never_predicted",
    "calibration",
    "reliability",
    "worst_class_features",
)
"""Names of the tables of a :class:`RareClassReport`, for ``to_frame`` and ``to_csv``."""


class _IncreasingEdges(SequenceOf):  # type: ignore[misc]
    """Support bucket edges: a non-empty, strictly increasing sequence of ints >= 1."""

    def __init__(self) -> None:
        super().__init__(
            StrictInterval(Integral, 1, None, closed="left"),
            "a non-empty sequence of strictly increasing ints >= 1, such as (10, 100, 1000)",
        )

    def is_satisfied_by(self, val: Any) -> bool:
        return bool(super().is_satisfied_by(val)) and all(low < high for low, high in pairwise(list(val)))


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
    worst_class_features : pandas.DataFrame or None
        The most weighted features of the worst classes at the node model that
        chooses each, from :func:`hiercls.reports.features.class_features`; None
        unless added (``dataclasses.replace``), as ``hiercls-train`` does.
    notes : tuple of str
        Sentences that qualify the numbers, e.g. that there are no rare classes.
    about : tuple of (str, str)
        What the report describes (model, data, run, versions), shown first.
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
    about: tuple[tuple[str, str], ...] = field(default=())
    worst_class_features: pd.DataFrame | None = None

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

    @property
    def support_name(self) -> str:
        """Which support buckets the classes, in words: ``"training"`` or ``"test"``."""
        return "training" if self.support_source == "train" else "test"

    @property
    def overall_scores(self) -> dict[str, float]:
        """The overall scores by name: hierarchical precision, recall, F1, leaf accuracy."""
        return {
            "hierarchical_precision": self.hierarchical_precision,
            "hierarchical_recall": self.hierarchical_recall,
            "hierarchical_f1": self.hierarchical_f1,
            "leaf_accuracy": self.leaf_accuracy,
        }

    # ----------------------------------------------------------------- data formats

    @validate_params({"table": [StrOptions(set(TABLES))]}, prefer_skip_nested_validation=True)
    def to_frame(self, table: str = "per_class") -> pd.DataFrame:
        """Return one table of the report.

        Parameters
        ----------
        table : {"per_class", "per_level", "per_bucket", "worst_classes", \
"never_predicted", "calibration", "reliability", "worst_class_features"}, \
default="per_class"
            Which table. The per-class table holds everything the others summarise.

        Returns
        -------
        frame : pandas.DataFrame
            A copy, with the level as an ordinary column.
        """
        frame = getattr(self, table)
        if frame is None and table == "worst_class_features":
            raise ValueError(
                "This report has no 'worst_class_features' table: add one with "
                "dataclasses.replace(report, worst_class_features=class_features(classifier, "
                "report.worst_classes['path'])) (hiercls.reports.features)."
            )
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
        return render.write_text(render.render_csv(self, table), path)

    def to_dict(self) -> dict[str, Any]:
        """Return the whole report as JSON-ready Python objects.

        Returns
        -------
        report : dict
            Settings, notes, overall scores, and every table as a list of records
            (missing values as None).
        """
        return {
            "report": render.REPORT_FILE_STEM,
            "levels": list(self.levels),
            "n_test_rows": self.n_test_rows,
            "n_train_rows": self.n_train_rows,
            "support_source": self.support_source,
            "min_samples": self.min_samples,
            "buckets": list(self.buckets),
            "bucket_labels": self.bucket_labels,
            "n_rare_classes": self.n_rare_classes,
            "notes": list(self.notes),
            "about": dict(self.about),
            "overall": self.overall_scores,
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
        return render.write_text(render.render_json(self), path)

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
        return render.write_text(render.render_markdown(self, max_rows=max_rows), path)

    @validate_params({"figures": ["boolean"]}, prefer_skip_nested_validation=True)
    def to_html(self, path: str | Path | None = None, *, max_rows: int = 25, figures: bool = True) -> str:
        """Write the report as one self-contained HTML page, pictures embedded.

        The pictures (recall against support, per-level bars, reliability) need
        matplotlib; without it the page says how to install it and shows the tables.
        With ``figures=False`` none are drawn.

        Parameters
        ----------
        path : str or Path, default=None
            Where to write; with None, only return the text.
        max_rows : int, default=25
            Longest list of never-predicted classes to show; the JSON has all of them.
        figures : bool, default=True
            Whether to draw the pictures. Drawing takes most of the time of a small
            report; without them the page says so and shows the tables only.

        Returns
        -------
        text : str
            The HTML text.
        """
        html = render.render_html(self, max_rows=max_rows, figures=figures)
        return render.write_text(html, path)

    @validate_params({"figures": ["boolean"]}, prefer_skip_nested_validation=True)
    def write(self, directory: str | Path, *, figures: bool = True) -> dict[str, Path]:
        """Write the report in every format into a directory.

        The files are ``rare_class_report.md``, ``.csv`` (the per-class table),
        ``.json`` and ``.html``.

        Parameters
        ----------
        directory : str or Path
            Created if missing.
        figures : bool, default=True
            Whether the HTML page gets its pictures, see :meth:`to_html`.

        Returns
        -------
        paths : dict
            Path written, by format: ``"md"``, ``"csv"``, ``"json"``, ``"html"``.
        """
        return render.write_report(self, directory, figures=figures)


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    return json.loads(frame.to_json(orient="records", default_handler=str, force_ascii=False))


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


@validate_params(
    {
        "min_samples": [StrictInterval(Integral, 1, None, closed="left")],
        "buckets": [_IncreasingEdges()],
        "n_worst": [StrictInterval(Integral, 0, None, closed="left")],
        "n_bins": [StrictInterval(Integral, 1, None, closed="left")],
        "about": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
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
    about: dict[str, str] | None = None,
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
    about : dict of str to str, default=None
        What the report describes, shown first in every format, e.g.
        ``{"model": ..., "data": ..., "run": ..., "hiercls": version}``.

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
    min_samples, n_worst = int(min_samples), int(n_worst)
    edges = tuple(int(edge) for edge in buckets)
    if (proba is None) != (classes is None):
        raise ValueError(
            "rare_class_report needs both proba= and classes= for calibration, or neither; "
            f"got {'proba' if classes is None else 'classes'} only."
        )
    scores = evaluate(Y_true, Y_pred, Y_train=Y_train, hierarchy=hierarchy, levels=levels)
    calibration: CalibrationScores | None = None
    if proba is not None and classes is not None:
        calibration = calibration_by_level(Y_true, proba, classes, levels=scores.levels, n_bins=n_bins)

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
            "No Y_train given: classes are bucketed by their test support, not their training support."
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
            notes.append(
                f"{render.format_class_count(unseen)} in Y_true but not in Y_train (training support 0)."
            )

    n_train_rows = (
        None if Y_train is None else int(per_class.loc[per_class["depth"] == 0, "train_support"].sum())
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
        about=tuple((str(name), str(value)) for name, value in (about or {}).items()),
    )
