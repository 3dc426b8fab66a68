"""Metrics for hierarchical predictions: per level, per class, on full-path node sets.

A target or a prediction ``Y`` is a 2-D array-like of root-to-leaf label paths,
``(n_samples, n_levels)``, level 0 the coarsest. A path may end early: its trailing
levels are missing (``None``, NaN or ``""``), and a prediction that stopped at an
internal node has missing labels below that node. A class is a *node*, that is a full
path prefix: ``("A", "Other")`` and ``("B", "Other")`` are two different classes of
level 1, so a wrong parent with a same-named child earns no credit anywhere.

Every function here is vectorised: each level is factorized once into integer node
ids, and all counts are ``bincount`` calls over those ids.

The metrics of multi-label targets (several paths per row: set-based hierarchical
F1, precision/recall/nDCG@k, propensity-scored precision@k, the support-bucket
report) live in :mod:`hiercls.multilabel_metrics` and are importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from hiercls._compat import validate_params
from hiercls._validation import StrictInterval
from hiercls.exceptions import HierarchyError
from hiercls.hierarchy import Hierarchy, as_python, is_missing_label, read_label_paths
from hiercls.multilabel_metrics import (
    LabelPropensities,
    label_propensities,
    multilabel_hierarchical_f1,
    multilabel_hierarchical_precision_recall_f1,
    ndcg_at_k,
    precision_at_k,
    propensity_scored_precision_at_k,
    recall_at_k,
    support_bucket_report,
)

__all__ = [
    "PATH_SEPARATOR",
    "CalibrationScores",
    "HierarchicalScores",
    "calibration_by_level",
    "evaluate",
    "expected_calibration_error",
    "hierarchical_f1",
    "hierarchical_precision_recall_f1",
    "leaf_accuracy",
    "per_class_table",
    "per_level_accuracy",
    "per_level_macro_f1",
    "reliability_table",
    # multi-label targets (hiercls.multilabel_metrics)
    "LabelPropensities",
    "label_propensities",
    "multilabel_hierarchical_f1",
    "multilabel_hierarchical_precision_recall_f1",
    "ndcg_at_k",
    "precision_at_k",
    "propensity_scored_precision_at_k",
    "recall_at_k",
    "support_bucket_report",
]

PATH_SEPARATOR = " / "
"""Separator between labels when a class is shown by its full path, e.g. ``"A / Other"``."""


# --------------------------------------------------------------------------- input


def _to_columns(Y: object, name: str) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """One array of labels per level, and the level names (see :func:`read_label_paths`)."""
    paths = read_label_paths(Y, input_name=name, check_paths=False)
    return list(paths.columns), paths.level_names


def _level_names(levels: Sequence[str] | None, n_levels: int, names: tuple[str, ...]) -> tuple:
    if levels is None:
        return names
    levels = tuple(str(level) for level in levels)
    if len(levels) != n_levels:
        raise ValueError(
            f"levels has {len(levels)} names {list(levels)} but Y_true has {n_levels} levels; "
            "pass one name per level."
        )
    if len(set(levels)) != len(levels):
        raise ValueError(f"levels must be distinct names; got {list(levels)}.")
    return levels


def _concatenate(columns: list[np.ndarray]) -> np.ndarray:
    dtypes = {column.dtype for column in columns}
    if len(dtypes) > 1 and not all(d.kind in "biuf" for d in dtypes):
        # numpy would turn int labels into strings next to str labels: keep the objects.
        columns = [column.astype(object) for column in columns]
    return np.concatenate(columns)


def _hierarchy_paths(hierarchy: object) -> object:
    """Turn the ``hierarchy`` argument into a label matrix with one row per node."""
    if isinstance(hierarchy, Hierarchy):
        path_codes = hierarchy.ancestors(np.arange(1, hierarchy.n_nodes))
        return np.column_stack(
            [hierarchy.node_labels(path_codes[:, j], j) for j in range(hierarchy.n_levels)]
        ).astype(object)
    if hierarchy is None or isinstance(hierarchy, pd.DataFrame | np.ndarray):
        return hierarchy
    return list(hierarchy)  # type: ignore[call-overload]


@dataclass(frozen=True, eq=False)
class _EncodedPaths:
    """Node ids of several label matrices that share one hierarchy.

    ``codes[source]`` is ``(n_rows, n_levels)``, the node id of each row at each level
    (-1 where the path has ended); node ids count from 0 within each level.
    ``node_parent[j]`` gives the level ``j - 1`` id of each node of level ``j``.
    """

    levels: tuple[str, ...]
    codes: dict[str, NDArray[np.intp]]
    node_label: list[np.ndarray]
    node_parent: list[NDArray[np.intp]]

    def node_paths(self) -> list[np.ndarray]:
        paths: list[np.ndarray] = []
        for j, labels in enumerate(self.node_label):
            text = np.array([str(label) for label in labels], dtype=object)
            if j > 0:
                text = paths[j - 1][self.node_parent[j]] + PATH_SEPARATOR + text
            paths.append(text)
        return paths

    def path_of(self, source: str, row: int, depth: int) -> tuple:
        codes = self.codes[source][row]
        return tuple(as_python(self.node_label[j][codes[j]]) for j in range(depth + 1))


def _encode(
    sources: dict[str, object],
    *,
    levels: Sequence[str] | None,
    rooted: Iterable[str] = ("Y_true", "Y_train"),
) -> _EncodedPaths:
    """Encode all label matrices together into the node ids of one :class:`Hierarchy`.

    ``sources`` maps argument names to label matrices, the first being ``Y_true``. Rows of
    the sources named in ``rooted`` must have a level-0 label.
    """
    split = {name: _to_columns(Y, name) for name, Y in sources.items() if Y is not None}
    first = next(iter(split))
    n_levels = len(split[first][0])
    level_names = _level_names(levels, n_levels, split[first][1])
    for name, (columns, _) in split.items():
        n_other = len(columns)
        if name == "hierarchy" and n_other < n_levels:
            padding = np.full(len(columns[0]), None, dtype=object)
            columns.extend(padding for _ in range(n_levels - n_other))
        elif n_other != n_levels:
            raise ValueError(
                f"{first} has {n_levels} levels but {name} has {n_other}; both must give "
                "the same levels, coarsest first."
            )
    n_rows = {name: len(columns[0]) for name, (columns, _) in split.items()}
    if "Y_pred" in n_rows and n_rows["Y_pred"] != n_rows[first]:
        raise ValueError(
            f"{first} has {n_rows[first]} rows but Y_pred has {n_rows['Y_pred']}; "
            "pass one prediction per true row."
        )
    joined = tuple(
        _concatenate([source_columns[j] for source_columns, _ in split.values()]) for j in range(n_levels)
    )
    missing = np.column_stack([is_missing_label(column) for column in joined])
    offsets = np.cumsum([0, *n_rows.values()])
    _check_paths(missing, joined, list(split), offsets, level_names, rooted)
    # Each level is factorized once, and a node is the pair (parent node, label), so
    # same-named children of different parents are different nodes. This hashes rows
    # instead of sorting them (Hierarchy.from_label_paths sorts every row's node key),
    # which matters at millions of rows times three sources.
    total = int(offsets[-1])
    local = np.empty((total, n_levels), dtype=np.intp, order="F")
    parent = np.zeros(total, dtype=np.intp)
    node_label, node_parent = [], []
    for j, column in enumerate(joined):
        present = ~missing[:, j]
        label_codes, labels = pd.factorize(column[present])
        n_labels = max(len(labels), 1)
        node = np.full(total, -1, dtype=np.intp)
        node[present], node_keys = pd.factorize(parent[present].astype(np.int64) * n_labels + label_codes)
        node_label.append(np.asarray(labels)[node_keys % n_labels])
        node_parent.append((node_keys // n_labels).astype(np.intp))
        local[:, j] = parent = node
    return _EncodedPaths(
        levels=level_names,
        codes={name: local[offsets[k] : offsets[k + 1]] for k, name in enumerate(split)},
        node_label=node_label,
        node_parent=node_parent,
    )


def _check_paths(
    missing: NDArray[np.bool_],
    columns: tuple[np.ndarray, ...],
    names: list[str],
    offsets: NDArray[np.intp],
    levels: tuple[str, ...],
    rooted: Iterable[str],
) -> None:
    """Raise on a gap in any path, or on a path of a ``rooted`` source without level 0."""

    def locate(position: int) -> tuple[str, int]:
        k = int(np.searchsorted(offsets, position, side="right")) - 1
        return names[k], position - int(offsets[k])

    gap = ~missing[:, 1:] & missing[:, :-1]
    if gap.any():
        position, depth = (int(i) for i in np.argwhere(gap)[0])
        name, row = locate(position)
        raise HierarchyError(
            f"{name} row {row} has a gap: no label at level {levels[depth]!r} but "
            f"{as_python(columns[depth + 1][position])!r} at level {levels[depth + 1]!r}. "
            "A path may end early, with every level below its end missing, but may not "
            "skip a level; fill in the missing label or drop the labels below it."
        )
    for k, name in enumerate(names):
        if name in rooted and missing[offsets[k] : offsets[k + 1], 0].any():
            row = int(np.argmax(missing[offsets[k] : offsets[k + 1], 0]))
            raise HierarchyError(
                f"{name} row {row} has no label at level {levels[0]!r}; every path in "
                f"{name} needs at least its level-0 label (only predictions may stop at "
                "the root)."
            )


def _check_known(encoded: _EncodedPaths, known_sources: Sequence[str]) -> None:
    """Raise if a predicted node occurs in none of the sources that define the hierarchy."""
    predicted = encoded.codes["Y_pred"]
    for j, level in enumerate(encoded.levels):
        known = np.zeros(len(encoded.node_label[j]), dtype=bool)
        for name in known_sources:
            column = encoded.codes[name][:, j]
            known[column[column >= 0]] = True
        column = predicted[:, j]
        unknown = column >= 0
        unknown[unknown] = ~known[column[unknown]]
        if unknown.any():
            row = int(np.argmax(unknown))
            sources = " and ".join(known_sources)
            raise HierarchyError(
                f"Y_pred row {row} predicts the path {encoded.path_of('Y_pred', row, j)!r} "
                f"at level {level!r} ({int(unknown.sum())} rows in all), which the hierarchy "
                f"does not know: no path of {sources} passes through it. Predictions must "
                "be paths of the hierarchy; pass Y_train= or hierarchy= with every path the "
                "model can predict."
            )


def _encode_evaluation(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    Y_train: ArrayLike | None,
    hierarchy: object,
    levels: Sequence[str] | None,
) -> _EncodedPaths:
    sources = {
        "Y_true": Y_true,
        "Y_pred": Y_pred,
        "Y_train": Y_train,
        "hierarchy": _hierarchy_paths(hierarchy),
    }
    encoded = _encode(sources, levels=levels)
    # Only a given tree (Y_train, hierarchy) says which paths a model can predict; a
    # small test set need not hold every one, so Y_true alone checks nothing.
    known = [name for name in ("Y_train", "hierarchy") if name in encoded.codes]
    if known:
        _check_known(encoded, ["Y_true", *known])
    return encoded


# --------------------------------------------------------------------------- scores

_SHARED_PARAMETERS = """
    Y_true : array-like of shape (n_samples, n_levels) or (n_samples,)
        True root-to-leaf label paths, level 0 the coarsest; a numpy array (any dtype),
        a list of lists or a DataFrame (its columns name the levels). A path may end
        early: missing trailing labels are ``None``, NaN or ``""``. A 1-D ``y`` is a
        one-level hierarchy.
    Y_pred : array-like of the same shape as ``Y_true``
        Predicted paths. A prediction that stopped at an internal node has missing
        labels below it.
    hierarchy : array-like or iterable of paths, default=None
        Further paths the model may predict, e.g. the training targets. With it (or
        with ``Y_train``), every predicted path must be a path of ``Y_true``,
        ``Y_train`` or ``hierarchy``; without either, any predicted path counts (one
        absent from ``Y_true`` is simply wrong).
    levels : sequence of str, default=None
        Level names. By default the DataFrame column names, else ``level0``, ``level1``, ...
"""


def _substitute(function):  # type: ignore[no-untyped-def]
    function.__doc__ = function.__doc__.replace("    {parameters}\n", _SHARED_PARAMETERS[1:])
    return function


@dataclass(frozen=True, eq=False, repr=False)
class HierarchicalScores:
    """Scores of hierarchical predictions, as computed by :func:`evaluate`.

    Attributes
    ----------
    levels : tuple of str
        Level names, coarsest first.
    n_samples : int
        Number of test rows.
    hierarchical_precision, hierarchical_recall, hierarchical_f1 : float
        Micro-averaged over rows on the sets of full-path nodes (all path prefixes):
        ``hP = sum |T & P| / sum |P|`` and ``hR = sum |T & P| / sum |T|`` (Kiritchenko
        et al.). 0 when there is nothing to divide by.
    leaf_accuracy : float
        Share of rows whose predicted path equals the true path exactly.
    per_level : pandas.DataFrame
        Indexed by level name, columns ``n_rows`` (test rows whose path reaches the
        level), ``n_classes`` (classes of the level that are true or predicted),
        ``accuracy``, ``macro_recall``, ``micro_f1`` and ``macro_f1``.
    per_class : pandas.DataFrame
        One row per class (node) of the hierarchy: ``level``, ``depth``, ``class`` (its
        label), ``path`` (labels joined by ``" / "``), ``train_support`` (``<NA>`` without
        ``Y_train``), ``test_support``, ``n_predicted``, ``n_correct``, ``precision``
        (NaN if never predicted), ``recall`` (NaN without test rows) and ``f1``.
    """

    levels: tuple[str, ...]
    n_samples: int
    hierarchical_precision: float
    hierarchical_recall: float
    hierarchical_f1: float
    leaf_accuracy: float
    per_level: pd.DataFrame = field(repr=False)
    per_class: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"HierarchicalScores(levels={self.levels}, n_samples={self.n_samples}, "
            f"hierarchical_f1={self.hierarchical_f1:.4g}, "
            f"leaf_accuracy={self.leaf_accuracy:.4g}, n_classes={len(self.per_class)})"
        )


def _divide(numerator: NDArray, denominator: NDArray) -> NDArray[np.float64]:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _per_class_frame(encoded: _EncodedPaths) -> pd.DataFrame:
    true, pred = encoded.codes["Y_true"], encoded.codes["Y_pred"]
    train = encoded.codes.get("Y_train")
    paths = encoded.node_paths()
    frames = []
    for j, level in enumerate(encoded.levels):
        n_nodes = len(encoded.node_label[j])
        t, p = true[:, j], pred[:, j]
        support = np.bincount(t[t >= 0], minlength=n_nodes)
        n_predicted = np.bincount(p[p >= 0], minlength=n_nodes)
        n_correct = np.bincount(t[(t == p) & (t >= 0)], minlength=n_nodes)
        if train is None:
            train_support = pd.array(np.full(n_nodes, pd.NA), dtype="Int64")
        else:
            column = train[:, j]
            train_support = pd.array(np.bincount(column[column >= 0], minlength=n_nodes))
            train_support = train_support.astype("Int64")
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "depth": j,
                    "class": pd.Series(encoded.node_label[j], dtype=object),
                    "path": paths[j],
                    "train_support": train_support,
                    "test_support": support,
                    "n_predicted": n_predicted,
                    "n_correct": n_correct,
                    "precision": _divide(n_correct, n_predicted),
                    "recall": _divide(n_correct, support),
                    "f1": _divide(2 * n_correct, support + n_predicted),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["depth", "path"], kind="stable", ignore_index=True)


def _per_level_frame(per_class: pd.DataFrame, levels: tuple[str, ...]) -> pd.DataFrame:
    # A level that no path reaches has no classes, and so no group: reindex keeps its row.
    grouped = per_class.groupby("depth", sort=True)
    depths = pd.RangeIndex(len(levels))
    sums = grouped[["test_support", "n_predicted", "n_correct"]].sum().reindex(depths, fill_value=0)
    frame = pd.DataFrame(
        {
            "n_rows": sums["test_support"].to_numpy(),
            "n_classes": grouped["f1"].count().reindex(depths, fill_value=0).to_numpy(),
            "accuracy": _divide(sums["n_correct"], sums["test_support"]),
            "macro_recall": grouped["recall"].mean().reindex(depths).to_numpy(),
            "micro_f1": _divide(2 * sums["n_correct"], sums["test_support"] + sums["n_predicted"]),
            "macro_f1": grouped["f1"].mean().reindex(depths).to_numpy(),
        },
        index=pd.Index(levels, name="level"),
    )
    return frame


@_substitute
def evaluate(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    Y_train: ArrayLike | None = None,
    hierarchy: object = None,
    levels: Sequence[str] | None = None,
) -> HierarchicalScores:
    """Compute every hierarchical score at once: overall, per level and per class.

    Per-level accuracy at level ``j`` is the share of rows whose predicted path prefix
    down to ``j`` equals the true one, over the rows whose true path reaches ``j``; a
    prediction that stopped above ``j`` counts as wrong. Macro recall averages the
    recall of the level's classes that have test rows; macro F1 averages the F1 of the
    classes that are true or predicted (scikit-learn's convention). Precision and F1 of
    a class count every row predicted into it, also rows whose true path ends above it.

    Parameters
    ----------
    {parameters}
    Y_train : array-like of shape (n_train_samples, n_levels), default=None
        Training targets: they give each class its ``train_support`` and are part of the
        known hierarchy.

    Returns
    -------
    scores : HierarchicalScores
        Overall scores and the ``per_level`` and ``per_class`` tables.

    Raises
    ------
    ValueError
        If the inputs are empty or their shapes or level counts differ.
    HierarchyError
        If a path has a gap, or ``Y_pred`` predicts a path the hierarchy does not know.

    See Also
    --------
    per_class_table, per_level_accuracy, hierarchical_precision_recall_f1

    Examples
    --------
    >>> from hiercls.metrics import evaluate
    >>> Y_true = [["A", "x"], ["A", "y"], ["B", "x"]]
    >>> Y_pred = [["A", "x"], ["A", None], ["A", "x"]]
    >>> scores = evaluate(Y_true, Y_pred)
    >>> scores.per_level[["accuracy", "macro_f1"]]
            accuracy  macro_f1
    level
    level0  0.666667  0.400000
    level1  0.333333  0.222222
    >>> round(scores.hierarchical_f1, 4), scores.leaf_accuracy
    (0.5455, 0.333...)
    """
    encoded = _encode_evaluation(Y_true, Y_pred, Y_train=Y_train, hierarchy=hierarchy, levels=levels)
    per_class = _per_class_frame(encoded)
    precision, recall, f1 = _node_set_scores(encoded)
    return HierarchicalScores(
        levels=encoded.levels,
        n_samples=encoded.codes["Y_true"].shape[0],
        hierarchical_precision=precision,
        hierarchical_recall=recall,
        hierarchical_f1=f1,
        leaf_accuracy=_exact_path_share(encoded),
        per_level=_per_level_frame(per_class, encoded.levels),
        per_class=per_class,
    )


def _node_set_scores(encoded: _EncodedPaths) -> tuple[float, float, float]:
    """Hierarchical precision, recall and F1 over the full-path node sets of all rows."""
    true, pred = encoded.codes["Y_true"], encoded.codes["Y_pred"]
    n_true = int((true >= 0).sum())
    n_predicted = int((pred >= 0).sum())
    n_correct = int(((true == pred) & (true >= 0)).sum())
    precision = n_correct / n_predicted if n_predicted else 0.0
    recall = n_correct / n_true
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _exact_path_share(encoded: _EncodedPaths) -> float:
    return float(np.all(encoded.codes["Y_true"] == encoded.codes["Y_pred"], axis=1).mean())


@_substitute
def per_class_table(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    Y_train: ArrayLike | None = None,
    hierarchy: object = None,
    levels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-class precision, recall and F1 with training and test support.

    A class is a node: a full path prefix. Its support is the number of rows whose
    path passes through it.

    Parameters
    ----------
    {parameters}
    Y_train : array-like of shape (n_train_samples, n_levels), default=None
        Training targets, for the ``train_support`` column (``<NA>`` when not given).

    Returns
    -------
    table : pandas.DataFrame
        One row per class, sorted by depth and path; columns ``level``, ``depth``,
        ``class``, ``path``, ``train_support``, ``test_support``, ``n_predicted``,
        ``n_correct``, ``precision``, ``recall``, ``f1``.

    Examples
    --------
    >>> from hiercls.metrics import per_class_table
    >>> Y_true = [["A", "Other"], ["B", "Other"], ["B", "y"]]
    >>> Y_pred = [["B", "Other"], ["B", "Other"], ["B", "y"]]
    >>> per_class_table(Y_true, Y_pred)[["path", "test_support", "precision", "recall"]]
             path  test_support  precision  recall
    0           A             1        NaN     0.0
    1           B             2   0.666667     1.0
    2   A / Other             1        NaN     0.0
    3   B / Other             1   0.500000     1.0
    4       B / y             1   1.000000     1.0
    """
    return evaluate(Y_true, Y_pred, Y_train=Y_train, hierarchy=hierarchy, levels=levels).per_class


@_substitute
def per_level_accuracy(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    hierarchy: object = None,
    levels: Sequence[str] | None = None,
) -> pd.Series:
    """Accuracy of the predicted path prefix at each level.

    At level ``j``, the share of rows whose predicted prefix down to ``j`` equals the
    true prefix, over the rows whose true path reaches level ``j``. A prediction that
    stopped above ``j`` counts as wrong.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    accuracy : pandas.Series
        Indexed by level name.

    Examples
    --------
    >>> from hiercls.metrics import per_level_accuracy
    >>> Y_true = [["A", "x"], ["B", "x"], ["B", None]]
    >>> Y_pred = [["A", "x"], ["A", "x"], ["B", "x"]]
    >>> per_level_accuracy(Y_true, Y_pred).to_dict()
    {'level0': 0.666..., 'level1': 0.5}
    """
    scores = evaluate(Y_true, Y_pred, hierarchy=hierarchy, levels=levels)
    return scores.per_level["accuracy"]


@_substitute
def per_level_macro_f1(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    hierarchy: object = None,
    levels: Sequence[str] | None = None,
) -> pd.Series:
    """Macro-averaged F1 over the classes (nodes) of each level.

    The average runs over the classes of the level that are true or predicted, each
    weighted equally, so rare classes count as much as frequent ones.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    macro_f1 : pandas.Series
        Indexed by level name.

    Examples
    --------
    >>> from hiercls.metrics import per_level_macro_f1
    >>> Y_true = [["A", "x"], ["A", "x"], ["B", "y"]]
    >>> Y_pred = [["A", "x"], ["A", "x"], ["A", "x"]]
    >>> per_level_macro_f1(Y_true, Y_pred).round(3).to_dict()
    {'level0': 0.4, 'level1': 0.4}
    """
    scores = evaluate(Y_true, Y_pred, hierarchy=hierarchy, levels=levels)
    return scores.per_level["macro_f1"]


@_substitute
def hierarchical_precision_recall_f1(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    hierarchy: object = None,
    levels: Sequence[str] | None = None,
) -> tuple[float, float, float]:
    """Hierarchical precision, recall and F1 on sets of full-path nodes.

    Each row's true and predicted paths become the sets ``T`` and ``P`` of their nodes
    (all path prefixes); then ``hP = sum |T & P| / sum |P|``, ``hR = sum |T & P| /
    sum |T|`` over all rows, and ``hF1`` their harmonic mean (Kiritchenko et al.,
    2005). A child under a wrong parent is a different node, so it earns no credit.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    precision, recall, f1 : float
        Each in [0, 1]; precision is 0 when nothing was predicted.

    Examples
    --------
    >>> from hiercls.metrics import hierarchical_precision_recall_f1
    >>> Y_true = [["A", "x"], ["B", "x"], ["B", "y"]]
    >>> Y_pred = [["A", "x"], ["A", "x"], ["B", None]]
    >>> hierarchical_precision_recall_f1(Y_true, Y_pred)
    (0.6, 0.5, 0.545...)
    """
    return _node_set_scores(
        _encode_evaluation(Y_true, Y_pred, Y_train=None, hierarchy=hierarchy, levels=levels)
    )


@_substitute
def hierarchical_f1(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    hierarchy: object = None,
    levels: Sequence[str] | None = None,
) -> float:
    """Hierarchical F1 on sets of full-path nodes.

    See :func:`hierarchical_precision_recall_f1`. Wrap it with
    :func:`sklearn.metrics.make_scorer` to use it as a scorer.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    f1 : float
        In [0, 1].

    Examples
    --------
    >>> from hiercls.metrics import hierarchical_f1
    >>> hierarchical_f1([["A", "x"], ["A", "y"], ["B", "z"]], [["A", "x"], ["A", "x"], ["B", "z"]])
    0.833...
    """
    return _node_set_scores(
        _encode_evaluation(Y_true, Y_pred, Y_train=None, hierarchy=hierarchy, levels=levels)
    )[2]


@_substitute
def leaf_accuracy(
    Y_true: ArrayLike,
    Y_pred: ArrayLike,
    *,
    hierarchy: object = None,
    levels: Sequence[str] | None = None,
) -> float:
    """Share of rows whose predicted path equals the true path exactly.

    A path that stops early matches only a true path that ends at the same node.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    accuracy : float
        In [0, 1].

    Examples
    --------
    >>> from hiercls.metrics import leaf_accuracy
    >>> leaf_accuracy([["A", "x"], ["A", None], ["B", "z"]], [["A", "x"], ["A", "x"], ["B", None]])
    0.333...
    """
    return _exact_path_share(
        _encode_evaluation(Y_true, Y_pred, Y_train=None, hierarchy=hierarchy, levels=levels)
    )


# --------------------------------------------------------------------------- calibration


_N_BINS = {"n_bins": [StrictInterval(Integral, 1, None, closed="left")]}


def _confidence_and_correct(
    y_true_level: ArrayLike, proba_level: ArrayLike, classes_level: ArrayLike, where: str = ""
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Max probability and whether its class is the truth, for rows whose truth has a label.

    ``where`` (e.g. ``" at level 'genus'"``) places the error messages.
    """
    y_true = np.asarray(y_true_level)
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"y_true{where} must be a non-empty 1-D array of labels; got shape {y_true.shape}.")
    proba = np.asarray(proba_level, dtype=np.float64)
    classes = np.asarray(classes_level)
    if classes.ndim != 1 or len(classes) == 0:
        raise ValueError(
            f"classes{where} must be a non-empty 1-D array of labels; got shape {classes.shape}."
        )
    if proba.shape != (len(y_true), len(classes)):
        raise ValueError(
            f"The probabilities{where} have shape {proba.shape} but must be "
            f"(n_samples, n_classes) = ({len(y_true)}, {len(classes)}): one row per label "
            "and one column per class, in the order of classes."
        )
    if not np.all(np.isfinite(proba)) or proba.min() < 0 or proba.max() > 1 + 1e-9:
        raise ValueError(
            f"The probabilities{where} must lie in [0, 1]; got values from "
            f"{np.nanmin(proba)} to {np.nanmax(proba)}."
        )
    class_index = pd.Index(classes)
    if not class_index.is_unique:
        raise ValueError(f"classes{where} must be distinct; got {list(classes)}.")
    present = ~is_missing_label(y_true)
    target = class_index.get_indexer(y_true[present])
    if present.any() and np.all(target < 0):
        raise ValueError(
            f"No true label{where} is among the classes {list(classes)[:10]}; "
            "the probabilities must have one column per label of this level, ordered as "
            "classes."
        )
    proba = proba[present]
    return proba.max(axis=1), proba.argmax(axis=1) == target


def _reliability_arrays(
    confidence: NDArray[np.float64], correct: NDArray[np.bool_], n_bins: int
) -> tuple[NDArray, NDArray, NDArray]:
    bins = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    confidence_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    correct_sum = np.bincount(bins, weights=correct.astype(np.float64), minlength=n_bins)
    return count, confidence_sum, correct_sum


@validate_params(_N_BINS, prefer_skip_nested_validation=True)
def reliability_table(
    y_true_level: ArrayLike, proba_level: ArrayLike, classes_level: ArrayLike, n_bins: int = 15
) -> pd.DataFrame:
    """Accuracy against confidence in equal-width confidence bins, for one level.

    The confidence of a row is its largest probability, and it is correct when that
    column's class is the true label. Rows whose true path does not reach the level
    (missing label) are left out.

    Parameters
    ----------
    y_true_level : array-like of shape (n_samples,)
        True labels of one level; ``None``, NaN or ``""`` where the path has ended.
    proba_level : array-like of shape (n_samples, n_classes)
        That level's probabilities, as in ``predict_proba(X)[level]``.
    classes_level : array-like of shape (n_classes,)
        The labels of the columns of ``proba_level``, as in ``classes_[level]``.
    n_bins : int, default=15
        Number of equal-width bins over [0, 1].

    Returns
    -------
    table : pandas.DataFrame
        One row per bin: ``bin_lower``, ``bin_upper``, ``n_rows``, ``mean_confidence``
        and ``accuracy`` (NaN for empty bins).

    Examples
    --------
    >>> from hiercls.metrics import reliability_table
    >>> proba = [[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]
    >>> reliability_table(["a", "b", "b"], proba, ["a", "b"], n_bins=2)
       bin_lower  bin_upper  n_rows  mean_confidence  accuracy
    0        0.0        0.5       0              NaN       NaN
    1        0.5        1.0       3       0.733333  0.666667
    """
    confidence, correct = _confidence_and_correct(y_true_level, proba_level, classes_level)
    count, confidence_sum, correct_sum = _reliability_arrays(confidence, correct, n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return pd.DataFrame(
        {
            "bin_lower": edges[:-1],
            "bin_upper": edges[1:],
            "n_rows": count,
            "mean_confidence": _divide(confidence_sum, count),
            "accuracy": _divide(correct_sum, count),
        }
    )


@validate_params(_N_BINS, prefer_skip_nested_validation=True)
def expected_calibration_error(
    y_true_level: ArrayLike, proba_level: ArrayLike, classes_level: ArrayLike, n_bins: int = 15
) -> float:
    """Compute the expected calibration error of one level's probabilities.

    ``ECE = sum_b (n_b / n) |accuracy_b - confidence_b|`` over equal-width bins of the
    confidence (the largest probability of a row). 0 means the confidences can be read
    as probabilities of being right. Rows whose true path does not reach the level are
    left out; NaN if no row is left.

    Parameters
    ----------
    y_true_level : array-like of shape (n_samples,)
        True labels of one level; ``None``, NaN or ``""`` where the path has ended.
    proba_level : array-like of shape (n_samples, n_classes)
        That level's probabilities, as in ``predict_proba(X)[level]``.
    classes_level : array-like of shape (n_classes,)
        The labels of the columns of ``proba_level``, as in ``classes_[level]``.
    n_bins : int, default=15
        Number of equal-width bins over [0, 1].

    Returns
    -------
    ece : float
        In [0, 1].

    Examples
    --------
    >>> from hiercls.metrics import expected_calibration_error
    >>> proba = [[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]
    >>> round(expected_calibration_error(["a", "b", "b"], proba, ["a", "b"], n_bins=2), 4)
    0.0667
    """
    confidence, correct = _confidence_and_correct(y_true_level, proba_level, classes_level)
    if len(confidence) == 0:
        return float("nan")
    _, confidence_sum, correct_sum = _reliability_arrays(confidence, correct, n_bins)
    return float(np.abs(correct_sum - confidence_sum).sum() / len(confidence))


@dataclass(frozen=True, eq=False, repr=False)
class CalibrationScores:
    """Calibration of per-level probabilities, as computed by :func:`calibration_by_level`.

    Attributes
    ----------
    n_bins : int
        Number of equal-width confidence bins.
    summary : pandas.DataFrame
        Indexed by level name: ``n_rows`` (rows whose truth reaches the level),
        ``accuracy`` (of the most probable label), ``mean_confidence`` and ``ece``.
    bins : pandas.DataFrame
        The reliability table of every level, stacked, with a ``level`` column first.
    """

    n_bins: int
    summary: pd.DataFrame
    bins: pd.DataFrame

    def __repr__(self) -> str:
        ece = {level: round(float(v), 4) for level, v in self.summary["ece"].items()}
        return f"CalibrationScores(n_bins={self.n_bins}, ece={ece})"


@validate_params(_N_BINS, prefer_skip_nested_validation=True)
def calibration_by_level(
    Y_true: ArrayLike,
    proba: Sequence[ArrayLike] | ArrayLike,
    classes: Sequence[ArrayLike] | ArrayLike,
    *,
    levels: Sequence[str] | None = None,
    n_bins: int = 15,
) -> CalibrationScores:
    """Compute the expected calibration error and reliability table of every level.

    Parameters
    ----------
    Y_true : array-like of shape (n_samples, n_levels) or (n_samples,)
        True paths; rows whose path does not reach a level are left out of that level.
    proba : list of array-like of shape (n_samples, n_classes_j)
        ``predict_proba(X)``: one array per level, columns ordered as ``classes[j]``.
        For a 1-D ``Y_true``, a single 2-D array.
    classes : list of array-like of shape (n_classes_j,)
        ``classes_``: the sorted labels of each level. For a 1-D ``Y_true``, one array.
    levels : sequence of str, default=None
        Level names. By default the DataFrame column names, else ``level0``, ``level1``, ...
    n_bins : int, default=15
        Number of equal-width confidence bins over [0, 1].

    Returns
    -------
    calibration : CalibrationScores
        ``summary`` per level and the stacked reliability ``bins``.

    Examples
    --------
    >>> import numpy as np
    >>> from hiercls.metrics import calibration_by_level
    >>> Y_true = [["A", "x"], ["A", "y"], ["B", None]]
    >>> proba = [np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]]),
    ...          np.array([[0.7, 0.3], [0.7, 0.3], [0.5, 0.5]])]
    >>> calibration = calibration_by_level(Y_true, proba, [["A", "B"], ["x", "y"]], n_bins=5)
    >>> calibration.summary
            n_rows  accuracy  mean_confidence   ece
    level
    level0       3       1.0              0.766667  0.233333
    level1       2       0.5              0.700000  0.200000
    """
    columns, names = _to_columns(Y_true, "Y_true")
    level_names = _level_names(levels, len(columns), names)
    proba_levels: list[Any]
    classes_levels: list[Any]
    if isinstance(proba, np.ndarray) and proba.ndim == 2 and len(columns) == 1:
        # A one-level estimator returns one 2-D array and a flat classes_.
        proba_levels, classes_levels = [proba], [classes]
    else:
        proba_levels, classes_levels = list(proba), list(classes)  # type: ignore[arg-type]
    if len(proba_levels) != len(columns) or len(classes_levels) != len(columns):
        raise ValueError(
            f"Y_true has {len(columns)} levels but got {len(proba_levels)} probability "
            f"arrays and {len(classes_levels)} class arrays; pass predict_proba's list (one "
            "array per level) and classes_."
        )
    summary, bins = [], []
    for level, column, proba_level, classes_level in zip(
        level_names, columns, proba_levels, classes_levels, strict=True
    ):
        confidence, correct = _confidence_and_correct(
            column, proba_level, classes_level, f" at level {level!r}"
        )
        count, confidence_sum, correct_sum = _reliability_arrays(confidence, correct, n_bins)
        n_rows = len(confidence)
        summary.append(
            {
                "n_rows": n_rows,
                "accuracy": correct.mean() if n_rows else np.nan,
                "mean_confidence": confidence.mean() if n_rows else np.nan,
                "ece": np.abs(correct_sum - confidence_sum).sum() / n_rows if n_rows else np.nan,
            }
        )
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        bins.append(
            pd.DataFrame(
                {
                    "level": level,
                    "bin_lower": edges[:-1],
                    "bin_upper": edges[1:],
                    "n_rows": count,
                    "mean_confidence": _divide(confidence_sum, count),
                    "accuracy": _divide(correct_sum, count),
                }
            )
        )
    return CalibrationScores(
        n_bins=n_bins,
        summary=pd.DataFrame(summary, index=pd.Index(level_names, name="level")),
        bins=pd.concat(bins, ignore_index=True),
    )


def hierarchical_f1_scorer(estimator: Any, X: Any, Y_true: ArrayLike) -> float:
    """Scorer (``scoring=`` in ``GridSearchCV``, ``cross_validate``) for hierarchical F1.

    Predicts ``X`` with ``estimator`` (a ``HierarchicalClassifier`` or a Pipeline ending
    in one) and scores the paths against the fitted hierarchy, so a predicted class
    absent from this fold's ``Y_true`` is still known.

    Parameters
    ----------
    estimator : HierarchicalClassifier or Pipeline
        A fitted model.
    X : array-like
        Rows to predict.
    Y_true : array-like of shape (n_samples, n_levels)
        True label paths.

    Returns
    -------
    score : float
    """
    from .artifacts import find_classifier  # metrics need only the hierarchy, not the estimator

    hierarchy = find_classifier(estimator).hierarchy_
    return hierarchical_f1(Y_true, estimator.predict(X), hierarchy=hierarchy)
