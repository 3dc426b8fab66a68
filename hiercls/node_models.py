"""Per-node models: build one from the base estimator, fit it on its rows.

These are plain module-level functions taking explicit arguments, so joblib ships
only what a node needs, never the whole ``HierarchicalClassifier``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.svm import LinearSVC

from ._allocator import settle_worker_allocator
from .linear import OneVsRestLinearSVC, OneVsRestLogisticRegression, ovr_proba, ovr_scores
from .sparse_linear import ColumnLookup, SparseLinearModel, compact_linear_model, softmax_proba

__all__ = [
    "ConstantNodeModel",
    "compact_dense_linear_model",
    "node_seed",
    "make_node_estimator",
    "size_aware_params",
    "fit_node",
    "outcome_proba",
    "outcome_scores",
    "take_rows",
]

# Estimators whose ``n_jobs=None`` means "every core" rather than scikit-learn's "one".
_ALL_CORES_BY_DEFAULT = ("lightgbm", "xgboost")

# Linear models that ``fit_node`` fits on the columns a sparse node's rows use and
# keeps as a SparseLinearModel (see there).
_ONE_VS_REST = (OneVsRestLinearSVC, OneVsRestLogisticRegression)
_LINEAR_ON_USED_COLUMNS = (LogisticRegression, *_ONE_VS_REST, LinearSVC, RidgeClassifier)

# LightGBM's own default ``min_child_weight`` (``min_sum_hessian_in_leaf``), which
# ``size_aware_params`` raises to 1 for node models.
_LIGHTGBM_MIN_CHILD_WEIGHT = 1e-3


class ConstantNodeModel(ClassifierMixin, BaseEstimator):
    """Model of a node whose training rows all share one outcome.

    Such a node needs no fit: every row goes to its only outcome with probability 1.

    Parameters
    ----------
    outcome : int
        The node id every row goes to.
    """

    def __init__(self, outcome: int = 0) -> None:
        self.outcome = outcome

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> ConstantNodeModel:
        """Set ``classes_``; the data are not looked at."""
        self.classes_ = np.array([self.outcome])
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Probability 1 for the single outcome."""
        return np.ones((X.shape[0], 1))

    def predict(self, X: Any) -> NDArray[np.intp]:
        """The single outcome for every row."""
        return np.full(X.shape[0], self.outcome)


def node_seed(base_seed: int, node: int) -> int:
    """Seed of one node's model, derived from the node id and the base seed only.

    Deriving it from the node (not from the order tasks run in) keeps fits equal
    whatever ``n_jobs`` is.
    """
    return int(np.random.SeedSequence([base_seed, node]).generate_state(1)[0] % (2**31 - 1))


def _defaults_to_all_cores(estimator: Any) -> bool:
    return type(estimator).__module__.split(".")[0] in _ALL_CORES_BY_DEFAULT


def size_aware_params(estimator: Any, n_rows: int) -> dict[str, Any]:
    """Settings that must change with a node's size so its model can be fitted.

    A k-NN model cannot ask for more neighbours than the node has rows. Threaded
    boosting libraries are silenced, since thousands of node fits would each log.
    LightGBM's ``min_child_weight`` is raised from its default 1e-3 to 1 (XGBoost's
    default), so that a class with a single row cannot poison a large node's
    multiclass model; a value the user set is kept.

    Parameters
    ----------
    estimator : estimator
        The unfitted node estimator.
    n_rows : int
        Training rows of the node.

    Returns
    -------
    params : dict
        Parameters to set on the node estimator; empty when nothing needs to change.
    """
    params = estimator.get_params(deep=False)
    updates: dict[str, Any] = {}
    n_neighbors = params.get("n_neighbors")
    if isinstance(n_neighbors, (int, np.integer)) and n_neighbors > n_rows:
        updates["n_neighbors"] = int(n_rows)
    if _defaults_to_all_cores(estimator) and "verbose" not in params and "verbosity" not in params:
        updates["verbose"] = -1
    if type(estimator).__module__.split(".")[0] == "lightgbm" and (
        params.get("min_child_weight") == _LIGHTGBM_MIN_CHILD_WEIGHT
    ):
        # A class with one row among thousands has a tiny hessian everywhere: a leaf
        # holding that row gets a huge output and sends its neighbours to the class
        # (a 7-class node fell from 0.83 to 0.61 accuracy). XGBoost's default of 1
        # bounds it; being hessian-based, it also keeps weights equal to repeated rows.
        updates["min_child_weight"] = 1.0
    return updates


def make_node_estimator(
    template: Any,
    *,
    n_rows: int,
    seed: int | None,
    n_threads: int,
) -> Any:
    """Clone the node's template and set seed, thread count and size-aware settings.

    Parameters
    ----------
    template : estimator
        The base, per-level or per-node estimator that applies to this node.
    n_rows : int
        Training rows of the node.
    seed : int or None
        Seed for the model's ``random_state``; None leaves the template's own.
    n_threads : int
        Threads the model may use, so that threads × parallel nodes ≤ ``n_jobs``.

    Returns
    -------
    estimator : estimator
        An unfitted clone.
    """
    estimator = clone(template)
    params = estimator.get_params(deep=False)
    updates = size_aware_params(estimator, n_rows)
    if seed is not None and "random_state" in params:
        updates["random_state"] = seed
    if "n_jobs" in params:
        current = params["n_jobs"]
        if current is None and _defaults_to_all_cores(estimator):
            updates["n_jobs"] = n_threads
        elif isinstance(current, (int, np.integer)) and (current < 0 or current > n_threads):
            updates["n_jobs"] = n_threads
    if updates:
        estimator.set_params(**updates)
    return estimator


def fit_node(
    estimator: Any,
    X: Any,
    rows: NDArray[np.intp],
    y: NDArray[np.intp],
    sample_weight: NDArray[np.float64] | None,
    fit_params: dict[str, Any] | None = None,
) -> Any:
    """Fit one node's model on its own rows of ``X``.

    Parameters
    ----------
    estimator : estimator
        Unfitted node estimator.
    X : ndarray or sparse matrix
        All training rows; only ``rows`` are read.
    rows : ndarray of int
        The node's training rows.
    y : ndarray of int
        The outcome (child node id, or the node's own id for "stop") of each row.
    sample_weight : ndarray or None
        Weights of all training rows; the node's rows are passed by keyword.
    fit_params : dict, default=None
        Other keyword arguments for the model's ``fit`` (e.g. LightGBM's
        ``categorical_feature``).

    Returns
    -------
    estimator : estimator or SparseLinearModel
        The fitted estimator; a :class:`~hiercls.sparse_linear.SparseLinearModel`
        for a linear model fitted on sparse ``X`` (see Notes).

    Notes
    -----
    On sparse ``X`` a node's rows use only some columns (a text node's vocabulary).
    A linear model (``OneVsRestLinearSVC``, ``OneVsRestLogisticRegression``, ``LogisticRegression``,
    ``LinearSVC``, ``RidgeClassifier``) is then fitted on those columns only and kept
    as a :class:`~hiercls.sparse_linear.SparseLinearModel`: the used columns and
    their non-zero weights. A column that is zero in every row gets zero weight at
    the optimum anyway, so the model is the same as one fitted at full width, but the
    solver's work and the model's memory scale with the node's vocabulary instead of
    all of ``X``'s. Other linear models (``SGDClassifier``: a stochastic solver
    stopped before the optimum follows a path that depends on the width) are fitted
    on all columns and kept as they are.

    In a worker process (joblib's, Dask's) the first call also raises glibc's malloc
    thresholds (see ``hiercls._allocator``), so that node-sized arrays are reused
    instead of being page-faulted in afresh at every allocation.
    """
    settle_worker_allocator()
    fit_params = dict(fit_params or {})
    if sample_weight is not None:
        fit_params["sample_weight"] = sample_weight[rows]
    X_node = take_rows(X, rows)
    with warnings.catch_warnings():
        # Node targets are child ids, always classes; a small node with many children
        # would otherwise warn that its target "could represent a regression problem".
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        if sparse.issparse(X_node) and _fits_on_used_columns(estimator):
            # Rows without any stored value still need one (all-zero) column for the
            # solver; its weight is zero, so the compact model keeps no columns.
            columns = np.unique(X_node.indices) if X_node.nnz else np.zeros(1, dtype=np.intp)
            estimator.fit(_keep_columns(X_node, columns), y, **fit_params)
            return compact_linear_model(estimator, columns, X.shape[1])
        return estimator.fit(X_node, y, **fit_params)


def compact_dense_linear_model(model: Any) -> Any:
    """A linear node model kept at full width (hiercls 2e35ab6 and earlier) made compact.

    Other models are returned as they are.
    """
    if not _fits_on_used_columns(model) or not hasattr(model, "coef_") or sparse.issparse(model.coef_):
        return model
    n_features = model.coef_.shape[1]
    return compact_linear_model(model, np.arange(n_features), n_features)


def take_rows(X: Any, rows: NDArray[np.intp]) -> Any:
    """``X[rows]`` for ascending ``rows``, without a copy when they are all of X's rows."""
    n = X.shape[0]
    if len(rows) == n and (n == 0 or (rows[0] == 0 and rows[-1] == n - 1 and bool(np.all(np.diff(rows) == 1)))):
        return X
    return X[rows]


def _fits_on_used_columns(estimator: Any) -> bool:
    # Exactly these classes: their optimum gives an all-zero column a zero weight
    # (the penalty's and the data's gradients are both zero there). Stochastic solvers
    # (SGDClassifier) are left out: stopped before the optimum, their path depends on
    # the width.
    return type(estimator) in _LINEAR_ON_USED_COLUMNS


def _keep_columns(X: Any, columns: NDArray[np.intp]) -> Any:
    """CSR ``X[:, columns]`` for ``columns`` = every column with a stored entry.

    Renumbering the stored column indices is one pass over them; scipy's general
    column indexing would build an index map per call.
    """
    X = X.tocsr()
    if X.nnz > np.iinfo(np.int32).max:
        raise ValueError(
            f"A node's rows hold {X.nnz:,} stored values, more than the 2**31 - 1 that "
            f"liblinear and scikit-learn's linear solvers index; split the node (a deeper "
            f"hierarchy) or reduce the features (e.g. TfidfVectorizer(max_features=...))."
        )
    # liblinear takes 32-bit indices only: a node's columns and values always fit.
    indices = np.searchsorted(columns, X.indices).astype(np.int32)
    # X may be a read-only memory map (joblib's worker processes): never share buffers
    # that scipy could later sort or deduplicate in place.
    data = X.data if X.data.flags.writeable else X.data.copy()
    indptr = X.indptr
    if indptr.dtype != np.int32 or not indptr.flags.writeable:
        indptr = indptr.astype(np.int32)
    narrow = sparse.csr_matrix((data, indices, indptr), shape=(X.shape[0], len(columns)))
    # Renumbering keeps the order of each row's columns, so sortedness carries over.
    narrow.has_sorted_indices = X.has_sorted_indices
    return narrow


def _logistic_proba(model: LogisticRegression, X: Any) -> NDArray[np.float64]:
    """``LogisticRegression.predict_proba`` without its per-call input validation.

    The input was validated once at the estimator's boundary; repeating it at every
    node of a path is most of a single row's latency.
    """
    return softmax_proba(ovr_scores(model, X))


def outcome_scores(model: Any, X: Any, lookup: ColumnLookup | None = None) -> NDArray[np.float64]:
    """Scores whose row-wise argmax is the model's most probable outcome.

    For ``LogisticRegression`` these are the decision values (the softmax that
    would turn them into probabilities keeps their order); for other models, the
    probabilities themselves.
    """
    if type(model) is SparseLinearModel:
        scores = model.decision_function(X, lookup)
        if scores.shape[1] == 1:
            return np.column_stack([np.zeros(len(scores)), scores[:, 0]])
        return scores
    if type(model) is LogisticRegression or type(model) in _ONE_VS_REST:
        # Their probabilities keep the order of the scores; for one binary model,
        # P(positive) > 1/2 exactly when its score is > 0.
        scores = ovr_scores(model, X)
        if scores.shape[1] == 1:
            return np.column_stack([np.zeros(len(scores)), scores[:, 0]])
        return scores
    return outcome_proba(model, X, lookup)


def outcome_proba(model: Any, X: Any, lookup: ColumnLookup | None = None) -> NDArray[np.float64]:
    """Probabilities of a node model's outcomes, in the order of ``model.classes_``.

    Models without ``predict_proba`` give a one-hot of their hard prediction.
    """
    # Exactly these types: a subclass may redefine predict_proba.
    if type(model) is SparseLinearModel:
        return model.predict_proba(X, lookup)
    if type(model) is LogisticRegression:
        return _logistic_proba(model, X)
    if type(model) in _ONE_VS_REST:
        return ovr_proba(model, X)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X), dtype=np.float64)
    predicted = model.predict(X)
    return (predicted[:, None] == model.classes_[None, :]).astype(np.float64)
