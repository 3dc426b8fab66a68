"""Per-node models: build one from the base estimator, fit it on its rows.

These are plain module-level functions taking explicit arguments, so joblib ships
only what a node needs, never the whole ``HierarchicalClassifier``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import safe_sparse_dot, softmax

__all__ = [
    "ConstantNodeModel",
    "node_seed",
    "make_node_estimator",
    "size_aware_params",
    "fit_node",
    "outcome_proba",
]

# Estimators whose ``n_jobs=None`` means "every core" rather than scikit-learn's "one".
_ALL_CORES_BY_DEFAULT = ("lightgbm", "xgboost")


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

    Returns
    -------
    estimator : estimator
        The fitted estimator.
    """
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight[rows]}
    return estimator.fit(X[rows], y, **fit_params)


def _logistic_proba(model: LogisticRegression, X: Any) -> NDArray[np.float64]:
    """``LogisticRegression.predict_proba`` without its per-call input validation.

    The input was validated once at the estimator's boundary; repeating it at every
    node of a path is most of a single row's latency.
    """
    scores = safe_sparse_dot(X, model.coef_.T, dense_output=True) + model.intercept_
    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        return np.column_stack([1 - positive, positive])
    return softmax(scores, copy=False)


def outcome_proba(model: Any, X: Any) -> NDArray[np.float64]:
    """Probabilities of a node model's outcomes, in the order of ``model.classes_``.

    Models without ``predict_proba`` give a one-hot of their hard prediction.
    """
    if type(model) is LogisticRegression:  # exactly: a subclass may redefine predict_proba
        return _logistic_proba(model, X)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X), dtype=np.float64)
    predicted = model.predict(X)
    return (predicted[:, None] == model.classes_[None, :]).astype(np.float64)
