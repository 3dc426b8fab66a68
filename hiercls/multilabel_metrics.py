"""Metrics for multi-label hierarchical predictions: node-set scores and ranking scores.

In a multi-label hierarchy a row belongs to several paths, each a tuple of labels,
coarse to fine, which may end early: ``[("J", "J45", "J45.9"), ("E", "E11")]``.

Every ``Y`` argument takes one of two forms, which give the same numbers:

- a list of rows, each row a list (or any iterable) of paths, each path a tuple, list or
  1-D array of labels. Trailing missing labels (None, NaN, ``""``) end a path early; a
  path with no label at all is an empty slot and is skipped, as in the padded
  ``labels`` array of :class:`hiercls.TopKPaths`, which can be passed as it is;
- a tuple ``(matrix, paths)``: a scipy sparse matrix, or a 2-D numeric numpy array (as
  :class:`~sklearn.preprocessing.MultiLabelBinarizer` returns), of shape
  ``(n_rows, n_paths)``, and the list of the paths of its columns. For a set of paths
  the matrix holds 0/1; for a ranking it holds scores, and a row's ranked paths are its
  stored entries (every column of a dense array), highest score first (ties: lower
  column first).

Two kinds of item are scored:

- the *set-based hierarchical measures* compare nodes: each path stands for all of its
  prefixes, so ``("J", "J45")`` is one node, distinct from ``("X", "J45")``;
- the *ranking measures* (precision@k, recall@k, nDCG@k, PSP@k) compare full paths, as
  the extreme classification literature compares labels: a ranked path is a hit when it
  equals one of the row's true paths, so ``("J", "J45")`` does not hit the true path
  ``("J", "J45", "J45.9")``.

Inputs are converted once (a dictionary from path to integer id); every score is then a
few numpy and scipy.sparse operations over all rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import UndefinedMetricWarning

from hiercls._compat import Interval, Options, StrOptions, validate_params
from hiercls._validation import StrictInterval
from hiercls.hierarchy import PATH_HINT, read_path

__all__ = [
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

Path = tuple[Any, ...]
PathSets = Iterable[Iterable[Sequence[Hashable]]] | tuple[Any, Sequence[Sequence[Hashable]]]
"""A multi-label target: rows of paths, or ``(matrix, paths)`` (a sparse or 2-D numeric matrix)."""


# --------------------------------------------------------------------------- input


@dataclass(frozen=True, eq=False)
class _Rows:
    """Path ids of each row in CSR layout: row ``i`` is ``ids[indptr[i]:indptr[i + 1]]``.

    The ids keep the order given (a ranking's order); a set may still hold duplicates.
    """

    indptr: NDArray[np.intp]
    ids: NDArray[np.intp]

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    @property
    def row_of(self) -> NDArray[np.intp]:
        return np.repeat(np.arange(self.n_rows, dtype=np.intp), np.diff(self.indptr))


def _is_matrix_form(Y: Any) -> bool:
    if not (isinstance(Y, tuple) and len(Y) == 2):
        return False
    matrix = Y[0]
    # a dense matrix must be numeric: a 2-D array of labels is a row of paths
    return sp.issparse(matrix) or (
        isinstance(matrix, np.ndarray) and matrix.ndim == 2 and matrix.dtype.kind in "biuf"
    )


class _Vocabulary:
    """Integer ids of distinct paths, shared by the arguments of one call.

    ``raw`` remembers the id of each path as given (a tuple before its missing tail is
    cut, -1 for an empty slot), so that a path repeated over many rows is read once.
    """

    def __init__(self) -> None:
        self.ids: dict[Path, int] = {}
        self.raw: dict[tuple[Any, ...], int] = {}

    def add(self, path: Path) -> int:
        """The id of a path already read by :func:`_read_path`."""
        return self.ids.setdefault(path, len(self.ids))

    def id_of(self, item: Any, name: str, row: int, position: int) -> int:
        """The id of item ``position`` of ``row`` of ``name``, -1 for an empty slot."""
        if type(item) is not tuple:
            if isinstance(item, np.ndarray) and item.ndim == 1:
                item = tuple(item.tolist())
            elif isinstance(item, list):
                item = tuple(item)
        try:
            return self.raw[item]
        except (KeyError, TypeError):
            pass
        where = f"{name} row {row} item {position}"
        path = read_path(item, where)
        if path is None:
            path_id = -1
        else:
            try:
                path_id = self.add(path)
            except TypeError:
                raise ValueError(
                    f"{where}, the path {path!r}, has a label that cannot be hashed; labels must "
                    "be hashable values such as str or int."
                ) from None
        self.raw[item] = path_id
        return path_id


def _read_rows(Y: Any, name: str, vocabulary: _Vocabulary, *, ranked: bool) -> _Rows:
    """Read one ``Y`` argument into path ids, adding its new paths to ``vocabulary``."""
    if _is_matrix_form(Y):
        return _read_matrix(Y, name, vocabulary, ranked=ranked)
    if (
        isinstance(Y, (str, bytes, Mapping, pd.DataFrame))
        or not isinstance(Y, Iterable)
        or sp.issparse(Y)
    ):
        raise ValueError(
            f"{name} must be a list of rows, each a list of paths, or a tuple (matrix, paths) of a "
            f"0/1 or score matrix and the paths of its columns; got {type(Y).__name__}."
        )
    ids: list[int] = []
    lengths: list[int] = []
    for i, row in enumerate(Y):
        if isinstance(row, (str, bytes, Mapping)) or not isinstance(row, Iterable):
            raise ValueError(f"{name} row {i} is {row!r}, which is not a list of paths; {PATH_HINT}.")
        if ranked and isinstance(row, (set, frozenset)):
            raise ValueError(
                f"{name} row {i} is a set, which has no order; give each row's paths as a list, "
                "most probable first."
            )
        n_paths = 0
        for position, item in enumerate(row):
            path_id = vocabulary.id_of(item, name, i, position)
            if path_id >= 0:
                ids.append(path_id)
                n_paths += 1
        lengths.append(n_paths)
    if not lengths:
        raise ValueError(f"{name} is empty: it has 0 rows; pass at least one row.")
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.intp)
    return _Rows(indptr, np.asarray(ids, dtype=np.intp))


def _read_matrix(Y: tuple[Any, Any], name: str, vocabulary: _Vocabulary, *, ranked: bool) -> _Rows:
    matrix, column_paths = Y
    if isinstance(matrix, np.ndarray) and ranked:
        # every column of a dense score matrix is ranked, zero scores too
        n_rows, n_columns = matrix.shape
        matrix = sp.csr_matrix(
            (matrix.ravel(), np.tile(np.arange(n_columns), n_rows), np.arange(n_rows + 1) * n_columns),
            shape=matrix.shape,
        )
    else:
        # a copy: canonicalising (sum_duplicates) would otherwise change the caller's matrix
        matrix = sp.csr_matrix(matrix, copy=True)
    if isinstance(column_paths, (str, bytes)) or not isinstance(column_paths, Iterable):
        raise ValueError(f"The paths of {name} must be a list of paths; got {column_paths!r}.")
    column_paths = list(column_paths)
    if len(column_paths) != matrix.shape[1]:
        raise ValueError(
            f"The matrix of {name} has {matrix.shape[1]} columns but {len(column_paths)} paths "
            "were given; pass one path per column."
        )
    if matrix.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 rows; pass at least one row.")
    column_ids = np.empty(len(column_paths), dtype=np.intp)
    seen: dict[Path, int] = {}
    for j, item in enumerate(column_paths):
        path = read_path(item, f"The path of {name} column {j}")
        if path is None:
            raise ValueError(f"The path of {name} column {j} is {item!r}, which has no label.")
        if path in seen:
            raise ValueError(f"{name} columns {seen[path]} and {j} both hold the path {path!r}.")
        seen[path] = j
        column_ids[j] = vocabulary.add(path)
    matrix.sum_duplicates()
    if matrix.dtype.kind not in "biuf":
        raise ValueError(f"The matrix of {name} must hold numbers; got dtype {matrix.dtype}.")
    data = matrix.data.astype(np.float64)
    row_of = np.repeat(np.arange(matrix.shape[0], dtype=np.intp), np.diff(matrix.indptr))
    if ranked:
        if np.isnan(data).any():
            raise ValueError(f"The matrix of {name} holds NaN scores; every stored entry needs a score.")
        order = _order_within_rows(row_of, data)
        return _Rows(matrix.indptr.astype(np.intp), column_ids[matrix.indices[order]])
    if not np.isin(data, (0.0, 1.0)).all():
        bad = float(data[~np.isin(data, (0.0, 1.0))][0])
        raise ValueError(
            f"The matrix of {name} must be a 0/1 indicator of each row's paths; it holds {bad!r}. "
            "Scores belong to a ranking (Y_ranked)."
        )
    keep = data == 1.0
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of[keep], minlength=matrix.shape[0]))])
    return _Rows(indptr.astype(np.intp), column_ids[matrix.indices[keep]])


def _order_within_rows(row_of: NDArray[np.intp], score: NDArray[np.float64]) -> NDArray[np.intp]:
    """Order of entries by row, then by decreasing score; ties keep the given order.

    ``row_of`` must be sorted. One stable sort of the scores and one sort of a composite
    integer key: several times faster than ``np.lexsort`` at millions of entries.
    """
    n_entries = len(score)
    rank = np.empty(n_entries, dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(n_entries)
    return np.argsort(row_of.astype(np.int64) * n_entries + rank).astype(np.intp)


def _read_all(sources: dict[str, tuple[Any, bool]]) -> tuple[dict[str, _Rows], list[Path]]:
    """Read several ``Y`` arguments into ids of one shared vocabulary of paths.

    ``sources`` maps each argument name to its value and whether it is a ranking. The
    first source sets the row count that the others, except ``Y_train``, must match.
    """
    vocabulary = _Vocabulary()
    rows = {name: _read_rows(Y, name, vocabulary, ranked=ranked) for name, (Y, ranked) in sources.items()}
    first = next(iter(rows))
    for name, other in rows.items():
        if name != "Y_train" and other.n_rows != rows[first].n_rows:
            raise ValueError(
                f"{first} has {rows[first].n_rows} rows but {name} has {other.n_rows}; pass one "
                f"row of {name} per row of {first}."
            )
    return rows, list(vocabulary.ids)


def _indicator(rows: _Rows, n_paths: int) -> sp.csr_matrix:
    """0/1 matrix of each row's distinct paths, in canonical form (sorted, no duplicates)."""
    matrix = sp.csr_matrix(
        (np.ones(len(rows.ids), dtype=np.int64), rows.ids, rows.indptr), shape=(rows.n_rows, n_paths)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def _check_ranking(rows: _Rows, name: str) -> None:
    """Raise if a row ranks the same path twice."""
    keys = rows.row_of.astype(np.int64) * (int(rows.ids.max(initial=0)) + 1) + rows.ids
    distinct, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        position = int(first[np.argmax(counts > 1)])
        row = int(rows.row_of[position])
        raise ValueError(
            f"{name} row {row} ranks the same path twice; a ranking lists each path once, "
            "most probable first."
        )


def _check_true_rows(n_true: NDArray[np.int64], metric: str, allowed: str) -> None:
    empty = n_true == 0
    if empty.any():
        raise ValueError(
            f"Y_true row {int(np.argmax(empty))} has no path ({int(empty.sum())} rows in all); "
            f"{metric} is undefined for such a row. {allowed}"
        )


# --------------------------------------------------------------------------- docstrings

_DOC = {
    "Y_true": """
    Y_true : list of lists of paths, or tuple (matrix, paths)
        True paths of each row: a list (one per row) of paths, each a tuple of labels,
        coarse to fine, possibly ending early (trailing None, NaN or ``""``); or a 0/1
        matrix (scipy sparse or numpy) of shape ``(n_rows, n_paths)`` with the list of
        its columns' paths.""",
    "Y_pred": """
    Y_pred : list of lists of paths, or tuple (matrix, paths)
        Predicted paths of each row, in the same forms as ``Y_true``.""",
    "Y_ranked": """
    Y_ranked : list of lists of paths, or tuple (matrix, paths)
        Ranked predictions: each row a list of distinct paths, most probable first (the
        ``labels`` of ``predict_top_k``; all-missing slots are skipped); or a matrix of
        scores with the list of its columns' paths, where each row's stored entries
        (every column of a numpy array) are ranked by decreasing score (ties: lower
        column first). A row with
        fewer than ``k`` paths counts the missing ones as misses.""",
    "k": """
    k : int, default=5
        Number of top-ranked paths scored in each row; at least 1.""",
}


def _docstring(function):  # type: ignore[no-untyped-def]
    for key, text in _DOC.items():
        function.__doc__ = function.__doc__.replace("    {" + key + "}", text[1:])
    return function


# --------------------------------------------------------------------------- set-based


def _node_matrix(paths: list[Path]) -> sp.csr_matrix:
    """``(n_paths, n_nodes)`` 0/1 matrix: the nodes (all prefixes) of each path."""
    node_index: dict[Path, int] = {}
    columns: list[int] = []
    lengths = [len(path) for path in paths]
    for path in paths:
        columns.extend(node_index.setdefault(path[:end], len(node_index)) for end in range(1, len(path) + 1))
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.intp)
    return sp.csr_matrix(
        (np.ones(len(columns), dtype=np.int64), np.asarray(columns, dtype=np.intp), indptr),
        shape=(len(paths), len(node_index)),
    )


def _node_counts(Y_true: PathSets, Y_pred: PathSets) -> tuple[NDArray, NDArray, NDArray]:
    """Per row: the number of true nodes, predicted nodes, and nodes in both."""
    rows, paths = _read_all({"Y_true": (Y_true, False), "Y_pred": (Y_pred, False)})
    nodes = _node_matrix(paths)
    true = _indicator(rows["Y_true"], len(paths)) @ nodes
    pred = _indicator(rows["Y_pred"], len(paths)) @ nodes
    # a node shared by two paths of one row counts once
    true.data[:] = 1
    pred.data[:] = 1
    n_true = np.diff(true.indptr).astype(np.int64)
    n_pred = np.diff(pred.indptr).astype(np.int64)
    n_both = np.asarray(true.multiply(pred).sum(axis=1)).ravel().astype(np.int64)
    return n_true, n_pred, n_both


def _zero_division_value(zero_division: Any) -> float:
    """The number an undefined precision takes: 0 for ``"warn"``, else the value itself."""
    return 0.0 if zero_division == "warn" else float(zero_division)


_ZERO_DIVISION = [Options(Real, {0.0, 1.0}), "nan", StrOptions({"warn"})]


@validate_params(
    {
        "Y_true": ["array-like"],
        "Y_pred": ["array-like"],
        "average": [StrOptions({"micro", "samples"})],
        "zero_division": _ZERO_DIVISION,
    },
    prefer_skip_nested_validation=True,
)
@_docstring
def multilabel_hierarchical_precision_recall_f1(
    Y_true: PathSets,
    Y_pred: PathSets,
    *,
    average: str = "micro",
    zero_division: str | float = "warn",
) -> tuple[float, float, float]:
    """Set-based hierarchical precision, recall and F1 of multi-label path predictions.

    Each row's true set ``T`` holds every node (path prefix) of its true paths, and its
    predicted set ``P`` every node of its predicted paths; a node is a full prefix, so
    ``("J", "J45")`` and ``("X", "J45")`` are different nodes and a node shared by two
    paths of a row counts once. Then, after Kiritchenko et al. (2005),
    ``hP = |T & P| / |P|``, ``hR = |T & P| / |T|`` and ``hF = 2 |T & P| / (|T| + |P|)``.

    - ``average="micro"``: the counts are summed over rows before dividing
      (``hP = sum |T & P| / sum |P|``); hF is the harmonic mean of hP and hR.
    - ``average="samples"``: hP, hR and hF are computed per row, then averaged over rows
      (example-based), as scikit-learn's ``average="samples"``.

    Parameters
    ----------
    {Y_true}
    {Y_pred}
    average : {"micro", "samples"}, default="micro"
        Sum the counts over rows (micro) or average the per-row scores (samples).
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Precision of an empty prediction (``|P| = 0``: a row with no predicted path for
        ``"samples"``, no predicted path at all for ``"micro"``), as in scikit-learn:
        ``"warn"`` gives 0 and an ``UndefinedMetricWarning``; with ``np.nan`` such rows
        are left out of the average precision (NaN if no row is left). F1 is always
        defined (0 for an empty prediction).

    Returns
    -------
    precision, recall, f1 : float
        Each in [0, 1], or NaN as ``zero_division`` asks.

    Raises
    ------
    ValueError
        If ``Y_true`` has no path at all, or, with ``average="samples"``, a row of
        ``Y_true`` has no path: its recall is undefined. With ``average="micro"``, rows
        without a true path are allowed (they add to ``sum |P|`` only).

    See Also
    --------
    hiercls.metrics.hierarchical_precision_recall_f1 : the single-label version.

    Examples
    --------
    >>> from hiercls.multilabel_metrics import multilabel_hierarchical_precision_recall_f1
    >>> Y_true = [[("J", "J45", "J45.9"), ("E", "E11")], [("I", "I10")]]
    >>> Y_pred = [[("J", "J45"), ("E", "E10")], [("I", "I10")]]
    >>> multilabel_hierarchical_precision_recall_f1(Y_true, Y_pred)  # 5/6, 5/7, 10/13
    (0.833..., 0.714..., 0.769...)
    >>> multilabel_hierarchical_precision_recall_f1(Y_true, Y_pred, average="samples")
    (0.875, 0.8, 0.833...)
    """
    n_true, n_pred, n_both = _node_counts(Y_true, Y_pred)
    fallback = _zero_division_value(zero_division)
    if average == "micro":
        total_true, total_pred, total_both = int(n_true.sum()), int(n_pred.sum()), int(n_both.sum())
        if total_true == 0:
            raise ValueError(
                "Y_true has no path in any row; hierarchical recall is undefined. Pass at least one "
                "true path."
            )
        if total_pred == 0:
            _warn_empty(zero_division, "Y_pred has no path in any row")
            precision = fallback
        else:
            precision = total_both / total_pred
        recall = total_both / total_true
        f1 = 2 * total_both / (total_true + total_pred)
        return float(precision), float(recall), float(f1)
    _check_true_rows(
        n_true,
        "example-based hierarchical recall",
        "With average='samples' every row of Y_true needs a path; drop the rows without "
        "one, or use average='micro'.",
    )
    empty = n_pred == 0
    if empty.any():
        _warn_empty(zero_division, f"{int(empty.sum())} rows of Y_pred have no path")
    row_precision = np.full(len(n_pred), fallback)
    np.divide(n_both, n_pred, out=row_precision, where=~empty)
    precision = float(np.nanmean(row_precision)) if not np.isnan(row_precision).all() else np.nan
    recall = float(np.mean(n_both / n_true))
    f1 = float(np.mean(2 * n_both / (n_true + n_pred)))
    return precision, recall, f1


def _warn_empty(zero_division: Any, what: str) -> None:
    if zero_division == "warn":
        warnings.warn(
            f"{what}: their hierarchical precision is ill-defined and set to 0.0. Use the "
            "zero_division parameter to control this behaviour.",
            UndefinedMetricWarning,
            stacklevel=4,  # past this helper, the metric and validate_params' wrapper
        )


@validate_params(
    {
        "Y_true": ["array-like"],
        "Y_pred": ["array-like"],
        "average": [StrOptions({"micro", "samples"})],
        "zero_division": _ZERO_DIVISION,
    },
    prefer_skip_nested_validation=True,
)
@_docstring
def multilabel_hierarchical_f1(
    Y_true: PathSets,
    Y_pred: PathSets,
    *,
    average: str = "micro",
    zero_division: str | float = "warn",
) -> float:
    """Set-based hierarchical F1 of multi-label path predictions.

    See :func:`multilabel_hierarchical_precision_recall_f1` for the definitions. Wrap it
    with :func:`sklearn.metrics.make_scorer` to use it as a scorer.

    Parameters
    ----------
    {Y_true}
    {Y_pred}
    average : {"micro", "samples"}, default="micro"
        Sum the counts over rows (micro) or average the per-row scores (samples).
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Passed to :func:`multilabel_hierarchical_precision_recall_f1`; F1 itself is
        always defined.

    Returns
    -------
    f1 : float
        In [0, 1].

    Examples
    --------
    >>> from hiercls.multilabel_metrics import multilabel_hierarchical_f1
    >>> multilabel_hierarchical_f1([[("A", "x")], [("B",)]], [[("A", "y")], [("B",)]])  # 2*2/(3+3)
    0.666...
    """
    # precision's zero division never reaches F1, so its warning would only be noise
    return multilabel_hierarchical_precision_recall_f1(
        Y_true, Y_pred, average=average, zero_division=0.0 if zero_division == "warn" else zero_division
    )[2]


# --------------------------------------------------------------------------- ranking


@dataclass(frozen=True, eq=False)
class _Ranked:
    """The top-``k`` ranked paths of every row, and whether each is a true path."""

    n_rows: int
    k: int
    row: NDArray[np.intp]
    position: NDArray[np.intp]
    path: NDArray[np.intp]
    hit: NDArray[np.bool_]
    true: sp.csr_matrix
    n_true: NDArray[np.int64]
    paths: list[Path]


def _rank(
    Y_true: PathSets, Y_ranked: PathSets, k: int, extra: dict[str, Any] | None = None
) -> tuple[_Ranked, dict[str, _Rows]]:
    sources = {"Y_true": (Y_true, False), "Y_ranked": (Y_ranked, True)}
    sources.update({name: (Y, False) for name, Y in (extra or {}).items()})
    rows, paths = _read_all(sources)
    ranked = rows["Y_ranked"]
    _check_ranking(ranked, "Y_ranked")
    true = _indicator(rows["Y_true"], len(paths))
    row_of = ranked.row_of
    position = np.arange(len(ranked.ids), dtype=np.intp) - ranked.indptr[:-1][row_of]
    top = position < k
    row, position, path = row_of[top], position[top], ranked.ids[top]
    # (row, path) keys of the true matrix are sorted, as its rows and their indices are
    n_paths = max(len(paths), 1)
    true_keys = np.repeat(np.arange(true.shape[0], dtype=np.int64), np.diff(true.indptr)) * n_paths
    true_keys += true.indices
    keys = row.astype(np.int64) * n_paths + path
    found = np.minimum(np.searchsorted(true_keys, keys), max(len(true_keys) - 1, 0))
    hit = true_keys[found] == keys if len(true_keys) else np.zeros(len(keys), dtype=bool)
    result = _Ranked(
        n_rows=ranked.n_rows,
        k=k,
        row=row,
        position=position,
        path=path,
        hit=hit,
        true=true,
        n_true=np.diff(true.indptr).astype(np.int64),
        paths=paths,
    )
    return result, rows


def _hits_per_row(ranked: _Ranked, weights: NDArray | None = None) -> NDArray[np.float64]:
    values = ranked.hit.astype(np.float64) if weights is None else ranked.hit * weights
    return np.asarray(np.bincount(ranked.row, weights=values, minlength=ranked.n_rows), dtype=np.float64)


_K = {"k": [StrictInterval(Integral, 1, None, closed="left")]}
_RANKING = {"Y_true": ["array-like"], "Y_ranked": ["array-like"], **_K}


@validate_params(_RANKING, prefer_skip_nested_validation=True)
@_docstring
def precision_at_k(Y_true: PathSets, Y_ranked: PathSets, *, k: int = 5) -> float:
    """Precision at ``k``: the share of the top-``k`` ranked paths that are true paths.

    ``P@k = (1 / k) * |top_k(ranked) & T|`` per row, averaged over rows, where ``T`` is
    the row's set of true paths. Items are full paths: a ranked path counts only if it
    equals a true path (``("J", "J45")`` is not ``("J", "J45", "J45.9")``). The
    denominator is ``k`` even when the row ranks fewer paths or has fewer true paths,
    as in the Extreme Classification Repository.

    Parameters
    ----------
    {Y_true}
        Rows without a true path are allowed: they score 0.
    {Y_ranked}
    {k}

    Returns
    -------
    precision : float
        In [0, 1].

    See Also
    --------
    recall_at_k, ndcg_at_k, propensity_scored_precision_at_k

    Examples
    --------
    >>> from hiercls.multilabel_metrics import precision_at_k
    >>> Y_true = [[("J", "J45"), ("E", "E11")], [("I", "I10")]]
    >>> Y_ranked = [[("J", "J45"), ("I", "I10"), ("E", "E11")], [("E", "E11"), ("I", "I10")]]
    >>> precision_at_k(Y_true, Y_ranked, k=2)  # (1/2 + 1/2) / 2
    0.5
    """
    ranked, _ = _rank(Y_true, Y_ranked, k)
    return float(np.mean(_hits_per_row(ranked) / k))


@validate_params(_RANKING, prefer_skip_nested_validation=True)
@_docstring
def recall_at_k(Y_true: PathSets, Y_ranked: PathSets, *, k: int = 5) -> float:
    """Recall at ``k``: the share of a row's true paths found in its top ``k``.

    ``R@k = |top_k(ranked) & T| / |T|`` per row, averaged over rows; items are full
    paths, as in :func:`precision_at_k`. The denominator is ``|T|``, not
    ``min(k, |T|)`` (Manning et al., *Introduction to Information Retrieval*), so a row
    with more than ``k`` true paths cannot reach 1.

    Parameters
    ----------
    {Y_true}
        Every row needs at least one true path.
    {Y_ranked}
    {k}

    Returns
    -------
    recall : float
        In [0, 1].

    Raises
    ------
    ValueError
        If a row of ``Y_true`` has no path: its recall is undefined.

    Examples
    --------
    >>> from hiercls.multilabel_metrics import recall_at_k
    >>> Y_true = [[("J", "J45"), ("E", "E11")], [("I", "I10")]]
    >>> Y_ranked = [[("J", "J45"), ("I", "I10"), ("E", "E11")], [("E", "E11"), ("I", "I10")]]
    >>> recall_at_k(Y_true, Y_ranked, k=2)  # (1/2 + 1/1) / 2
    0.75
    """
    ranked, _ = _rank(Y_true, Y_ranked, k)
    _check_true_rows(ranked.n_true, "recall@k", _EVERY_ROW)
    return float(np.mean(_hits_per_row(ranked) / ranked.n_true))


_EVERY_ROW = "Every row of Y_true needs a path; drop the rows without one."


def _discounts(k: int) -> NDArray[np.float64]:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


@validate_params(_RANKING, prefer_skip_nested_validation=True)
@_docstring
def ndcg_at_k(Y_true: PathSets, Y_ranked: PathSets, *, k: int = 5) -> float:
    """Normalised discounted cumulative gain at ``k``, with binary relevance.

    Per row, ``DCG@k = sum_{r <= k, ranked[r] in T} 1 / log2(r + 1)`` over the ranks
    ``r = 1, 2, ...`` of the top ``k``, and ``nDCG@k = DCG@k / IDCG@k`` with
    ``IDCG@k = sum_{r <= min(k, |T|)} 1 / log2(r + 1)``, the DCG of a ranking that puts
    the true paths first (Jain et al., 2016; the Extreme Classification Repository).
    Averaged over rows. Items are full paths, as in :func:`precision_at_k`. This equals
    :func:`sklearn.metrics.ndcg_score` with binary relevance when each row ranks at
    least ``k`` paths without ties.

    Parameters
    ----------
    {Y_true}
        Every row needs at least one true path.
    {Y_ranked}
    {k}

    Returns
    -------
    ndcg : float
        In [0, 1].

    Raises
    ------
    ValueError
        If a row of ``Y_true`` has no path: its IDCG is 0.

    Examples
    --------
    >>> from hiercls.multilabel_metrics import ndcg_at_k
    >>> Y_true = [[("J", "J45"), ("E", "E11")], [("I", "I10")]]
    >>> Y_ranked = [[("J", "J45"), ("I", "I10"), ("E", "E11")], [("E", "E11"), ("I", "I10")]]
    >>> round(ndcg_at_k(Y_true, Y_ranked, k=2), 4)  # (1 / (1 + 1/log2(3)) + 1/log2(3)) / 2
    0.622
    """
    ranked, _ = _rank(Y_true, Y_ranked, k)
    _check_true_rows(ranked.n_true, "nDCG@k", _EVERY_ROW)
    discounts = _discounts(k)
    dcg = _hits_per_row(ranked, discounts[ranked.position])
    ideal = np.cumsum(discounts)[np.minimum(ranked.n_true, k) - 1]
    return float(np.mean(dcg / ideal))


# --------------------------------------------------------------------------- propensity


@dataclass(frozen=True, eq=False, repr=False)
class LabelPropensities:
    """Propensities of label paths, from their training support (Jain et al., 2016).

    A label's propensity ``p_l`` estimates the chance that a relevant label was
    actually recorded; rare labels have low propensities, so propensity-scored metrics
    give them more weight: ``p_l = 1 / (1 + C (N_l + B) ** -A)`` with
    ``C = (log N - 1) (B + 1) ** A``, where ``N`` is the number of training rows and
    ``N_l`` the number of training rows with the path ``l``. Build it with
    :func:`label_propensities`.

    Attributes
    ----------
    paths : tuple of tuple
        The distinct training paths.
    support : ndarray of int, shape (n_paths,)
        ``N_l``: training rows holding each path.
    n_samples : int
        ``N``: the number of training rows.
    A, B : float
        The parameters of the model.
    """

    paths: tuple[Path, ...]
    support: NDArray[np.int64]
    n_samples: int
    A: float
    B: float

    @property
    def C(self) -> float:
        """``(log N - 1) (B + 1) ** A``."""
        return float((np.log(self.n_samples) - 1) * (self.B + 1) ** self.A)

    @property
    def propensity(self) -> NDArray[np.float64]:
        """``p_l`` of each path of ``paths``."""
        return 1.0 / self.inverse_propensity_of_support(self.support)

    def inverse_propensity_of_support(self, support: ArrayLike) -> NDArray[np.float64]:
        """``1 / p`` of a label seen in ``support`` training rows (0 for an unseen label).

        Parameters
        ----------
        support : array-like of int
            Training support ``N_l`` of each label.

        Returns
        -------
        inverse_propensity : ndarray of float
            ``1 + C (N_l + B) ** -A``, at least 1.
        """
        return 1.0 + self.C * (np.asarray(support, dtype=np.float64) + self.B) ** -self.A

    def to_series(self) -> pd.Series:
        """The propensity of each training path, indexed by path.

        Returns
        -------
        propensity : pandas.Series
            Indexed by path tuples, named ``"propensity"``.
        """
        index = pd.Index(list(self.paths), dtype=object, tupleize_cols=False, name="path")
        return pd.Series(self.propensity, index=index, name="propensity")

    def __repr__(self) -> str:
        return (
            f"LabelPropensities(n_paths={len(self.paths)}, n_samples={self.n_samples}, "
            f"A={self.A}, B={self.B})"
        )


@validate_params(
    {
        "Y_train": ["array-like"],
        "A": [Interval(Real, 0, None, closed="neither")],
        "B": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def label_propensities(Y_train: PathSets, *, A: float = 0.55, B: float = 1.5) -> LabelPropensities:
    """Estimate the propensity of each label path from its training support.

    Uses the model of Jain, Prabhu and Varma (KDD 2016):
    ``p_l = 1 / (1 + C exp(-A log(N_l + B)))``, ``C = (log N - 1) (B + 1) ** A``, with
    ``N`` the number of training rows and ``N_l`` the number of training rows holding
    the path ``l`` (a full path, as the ranking metrics score them; a row counts once).
    The defaults ``A = 0.55, B = 1.5`` are the paper's for most data sets (it uses
    ``A = 0.6, B = 2.6`` for Wikipedia-LSHTC and ``A = 0.5, B = 0.4`` for Amazon).

    Parameters
    ----------
    Y_train : list of lists of paths, or tuple (matrix, paths)
        True paths of each training row, in the forms of ``Y_true`` elsewhere in this
        module. At least 3 rows, so that ``log N > 1`` and every propensity is in (0, 1).
    A : float, default=0.55
        Exponent of the model; positive.
    B : float, default=1.5
        Offset of the support; positive.

    Returns
    -------
    propensities : LabelPropensities
        Per training path; a path absent from training gets the propensity of
        ``N_l = 0``.

    Examples
    --------
    >>> from hiercls.multilabel_metrics import label_propensities
    >>> Y_train = [[("A", "x")], [("A", "x"), ("B",)], [("A", "x")], [("A", "y")]]
    >>> propensities = label_propensities(Y_train)
    >>> propensities.to_series().round(4).to_dict()  # N_l = 1 gives p = 1 / log N
    {('A', 'x'): 0.7815, ('B',): 0.7213, ('A', 'y'): 0.7213}
    """
    rows, paths = _read_all({"Y_train": (Y_train, False)})
    n_samples = rows["Y_train"].n_rows
    if n_samples < 3:
        raise ValueError(
            f"Y_train has {n_samples} rows; the propensity model needs at least 3 (log N > 1), "
            "and is meant for thousands."
        )
    support = np.bincount(_indicator(rows["Y_train"], len(paths)).indices, minlength=len(paths))
    return LabelPropensities(
        paths=tuple(paths), support=support.astype(np.int64), n_samples=n_samples, A=float(A), B=float(B)
    )


def _inverse_propensities(propensities: Any, paths: list[Path], needed: NDArray[np.bool_]) -> NDArray:
    """``1 / p`` of each path of the shared vocabulary (1 where not ``needed``)."""
    if isinstance(propensities, LabelPropensities):
        index = {path: i for i, path in enumerate(propensities.paths)}
        positions = np.array([index.get(path, -1) for path in paths], dtype=np.intp)
        support = np.where(positions >= 0, propensities.support[positions], 0)
        return propensities.inverse_propensity_of_support(support)
    if isinstance(propensities, pd.Series):
        propensities = dict(zip(propensities.index, propensities.to_numpy(), strict=True))
    if not isinstance(propensities, Mapping):
        raise ValueError(
            "propensities must be the LabelPropensities of label_propensities(Y_train) or a "
            f"mapping from path to propensity; got {type(propensities).__name__}."
        )
    inverse = np.ones(len(paths))
    for i in np.flatnonzero(needed):
        path = paths[i]
        value = propensities.get(path)
        if value is None:
            raise ValueError(
                f"propensities has no propensity for the true path {path!r}; pass a value for "
                "every true path, or label_propensities(Y_train), which covers unseen paths."
            )
        if not 0 < float(value) <= 1:
            raise ValueError(f"The propensity of {path!r} is {value!r}; propensities lie in (0, 1].")
        inverse[i] = 1.0 / float(value)
    return inverse


@validate_params(
    {**_RANKING, "propensities": [LabelPropensities, Mapping, pd.Series], "normalize": ["boolean"]},
    prefer_skip_nested_validation=True,
)
@_docstring
def propensity_scored_precision_at_k(
    Y_true: PathSets,
    Y_ranked: PathSets,
    *,
    propensities: LabelPropensities | Mapping[Path, float] | pd.Series,
    k: int = 5,
    normalize: bool = False,
) -> float:
    """Propensity-scored precision at ``k`` (PSP@k; Jain, Prabhu and Varma, KDD 2016).

    ``PSP@k = (1 / k) sum_{l in top_k(ranked)} 1[l in T] / p_l`` per row, averaged over
    rows: a hit on a rare label (low propensity ``p_l``) counts more, which makes the
    metric an unbiased estimate of precision on the complete (unobserved) labels. Items
    are full paths, as in :func:`precision_at_k`.

    With ``normalize=True`` the result is divided by the best achievable value, the
    same average for rankings that put each row's true paths first in decreasing
    ``1 / p_l`` (its top ``min(k, |T|)``). As in the Extreme Classification Repository's
    code, this is the ratio of the two averages over rows, not the average of per-row
    ratios; it lies in [0, 1].

    Parameters
    ----------
    {Y_true}
        Rows without a true path are allowed: they score 0 (and 0 at best).
    {Y_ranked}
    propensities : LabelPropensities, mapping or pandas.Series
        ``label_propensities(Y_train)``, which covers paths unseen in training, or a
        mapping from path tuple to propensity in (0, 1] holding every true path.
    {k}
    normalize : bool, default=False
        Divide by the best achievable PSP@k.

    Returns
    -------
    psp : float
        At least 0; at most 1 when normalised, and otherwise at most ``max 1 / p_l``.

    Raises
    ------
    ValueError
        If ``normalize`` and no row of ``Y_true`` has a path, or a true path has no
        propensity in a mapping.

    Examples
    --------
    >>> from hiercls.multilabel_metrics import label_propensities, propensity_scored_precision_at_k
    >>> Y_train = [[("A",)], [("A",)], [("A",)], [("B",)]]
    >>> propensities = label_propensities(Y_train)
    >>> Y_true, Y_ranked = [[("A",), ("B",)], [("B",)]], [[("A",), ("B",)], [("A",), ("B",)]]
    >>> # 1/p: A (3 of 4 rows) 1.2796, B (1 row) log 4 = 1.3863; row 0 hits A, row 1 misses
    >>> round(propensity_scored_precision_at_k(Y_true, Y_ranked, propensities=propensities, k=1), 4)
    0.6398
    >>> # divided by the best, (1.3863 + 1.3863) / 2: 1.2796 / 2.7726
    >>> round(propensity_scored_precision_at_k(
    ...     Y_true, Y_ranked, propensities=propensities, k=1, normalize=True), 4)
    0.4615
    """
    ranked, _ = _rank(Y_true, Y_ranked, k)
    is_true = np.zeros(len(ranked.paths), dtype=bool)
    is_true[ranked.true.indices] = True
    inverse = _inverse_propensities(propensities, ranked.paths, is_true)
    scored = _hits_per_row(ranked, inverse[ranked.path]) / k
    if not normalize:
        return float(np.mean(scored))
    if ranked.true.nnz == 0:
        raise ValueError(
            "Y_true has no path in any row, so the best achievable PSP@k is 0 and normalize=True "
            "is undefined; pass at least one true path, or normalize=False."
        )
    # best ranking per row: its true paths by decreasing 1 / p, cut at k
    true = ranked.true
    row_of = np.repeat(np.arange(true.shape[0], dtype=np.intp), np.diff(true.indptr))
    gains = inverse[true.indices]
    order = _order_within_rows(row_of, gains)
    position = np.arange(len(order)) - true.indptr[:-1][row_of]
    best = np.bincount(row_of, weights=np.where(position < k, gains[order], 0.0), minlength=true.shape[0])
    return float(scored.sum() / (best.sum() / k))


# --------------------------------------------------------------------------- report


def _bucket_names(edges: NDArray[np.float64]) -> list[str]:
    def text(value: float) -> str:
        return "inf" if np.isinf(value) else f"{value:g}"

    return [f"[{text(lo)}, {text(hi)})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


@validate_params(
    {**_RANKING, "Y_train": ["array-like"], "edges": ["array-like"]}, prefer_skip_nested_validation=True
)
@_docstring
def support_bucket_report(
    Y_true: PathSets,
    Y_ranked: PathSets,
    Y_train: PathSets,
    *,
    k: int = 5,
    edges: Sequence[float] = (0, 1, 10, 100, np.inf),
) -> pd.DataFrame:
    """Precision and recall at ``k`` of the labels in each training-support bucket.

    Labels (full paths) are put in buckets by their training support ``N_l`` (training
    rows holding the path): bucket ``[a, b)`` holds the labels with ``a <= N_l < b``.
    For each bucket, over the ``(row, label)`` pairs of its labels:

    - ``precision_at_k``: the share of top-``k`` slots holding a label of the bucket
      that are true (NaN if the bucket's labels are never ranked in a top ``k``);
    - ``micro_recall_at_k``: the share of true ``(row, label)`` pairs whose label is in
      the row's top ``k``;
    - ``macro_recall_at_k``: the average over the bucket's labels with a true row of
      each label's own recall at ``k``, so rare labels weigh as much as common ones;
    - ``micro_macro_gap``: micro minus macro recall; large and positive when the
      bucket's frequent labels are found and its rare ones are not.

    Parameters
    ----------
    {Y_true}
    {Y_ranked}
    Y_train : list of lists of paths, or tuple (matrix, paths)
        True paths of the training rows, in the same forms as ``Y_true``; they give each
        label its support.
    {k}
    edges : sequence of float, default=(0, 1, 10, 100, inf)
        Increasing bucket edges. With the default, ``[0, 1)`` holds the labels never
        seen in training. Labels whose support falls outside ``[edges[0], edges[-1])``
        are in no bucket, but in the ``"all"`` row.

    Returns
    -------
    report : pandas.DataFrame
        One row per bucket, indexed by its name (``"[1, 10)"``), then a row ``"all"``
        for all labels. Columns ``n_labels`` (labels with a true row, over which the
        macro recall averages), ``n_true`` (true pairs), ``n_predicted`` (top-``k``
        slots), ``n_hits``, ``precision_at_k``, ``micro_recall_at_k``,
        ``macro_recall_at_k`` and ``micro_macro_gap`` (NaN where nothing to divide).

    Examples
    --------
    >>> from hiercls.multilabel_metrics import support_bucket_report
    >>> Y_train = [[("A",)], [("A",)], [("A",), ("B",)]]
    >>> Y_true = [[("A",), ("B",)], [("A",), ("C",)], [("B",)]]
    >>> Y_ranked = [[("A",)], [("A",)], [("B",)]]
    >>> report = support_bucket_report(Y_true, Y_ranked, Y_train, k=1, edges=[0, 1, 2, 10])
    >>> report[["n_labels", "n_true", "n_hits", "micro_recall_at_k", "macro_recall_at_k"]]
                   n_labels  n_true  n_hits  micro_recall_at_k  macro_recall_at_k
    train_support
    [0, 1)                1       1       0                0.0                0.0
    [1, 2)                1       2       1                0.5                0.5
    [2, 10)               1       2       2                1.0                1.0
    all                   3       5       3                0.6                0.5
    """
    edges_array = np.asarray(edges, dtype=np.float64)
    if edges_array.ndim != 1 or len(edges_array) < 2 or not (np.diff(edges_array) > 0).all():
        raise ValueError(
            f"edges must be at least two increasing numbers, e.g. (0, 1, 10, 100, inf); got {edges!r}."
        )
    ranked, rows = _rank(Y_true, Y_ranked, k, extra={"Y_train": Y_train})
    n_paths = len(ranked.paths)
    train_support = np.bincount(_indicator(rows["Y_train"], n_paths).indices, minlength=n_paths)
    n_true = np.bincount(ranked.true.indices, minlength=n_paths)
    n_predicted = np.bincount(ranked.path, minlength=n_paths)
    n_hits = np.bincount(ranked.path[ranked.hit], minlength=n_paths)
    label_recall = np.full(n_paths, np.nan)
    np.divide(n_hits, n_true, out=label_recall, where=n_true > 0)
    bucket = np.searchsorted(edges_array, train_support, side="right") - 1
    n_buckets = len(edges_array) - 1
    bucket[(bucket < 0) | (bucket >= n_buckets)] = n_buckets  # outside every bucket
    # every label is counted twice: in its bucket, and in the "all" group
    groups = np.concatenate([bucket, np.full(n_paths, n_buckets + 1)])

    def total(values: NDArray, where: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        values = np.tile(np.asarray(values, dtype=np.float64), 2)
        mask = np.ones(len(groups), dtype=bool) if where is None else np.tile(where, 2)
        sums = np.bincount(groups[mask], weights=values[mask], minlength=n_buckets + 2)
        return np.asarray(sums, dtype=np.float64)

    has_true = n_true > 0
    sums = {
        "n_labels": total(has_true.astype(np.float64)),
        "n_true": total(n_true),
        "n_predicted": total(n_predicted),
        "n_hits": total(n_hits),
    }
    recall_sum = total(np.nan_to_num(label_recall), has_true)
    keep = np.r_[np.arange(n_buckets), n_buckets + 1]
    frame = pd.DataFrame({name: values[keep].astype(np.int64) for name, values in sums.items()})
    frame["precision_at_k"] = _ratio(sums["n_hits"][keep], sums["n_predicted"][keep])
    frame["micro_recall_at_k"] = _ratio(sums["n_hits"][keep], sums["n_true"][keep])
    frame["macro_recall_at_k"] = _ratio(recall_sum[keep], sums["n_labels"][keep])
    frame["micro_macro_gap"] = frame["micro_recall_at_k"] - frame["macro_recall_at_k"]
    frame.index = pd.Index([*_bucket_names(edges_array), "all"], name="train_support")
    return frame


def _ratio(numerator: NDArray, denominator: NDArray) -> NDArray[np.float64]:
    out = np.full(len(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out
