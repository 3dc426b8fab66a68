"""Linear node models stored as the weights of the columns they use.

A node of a text hierarchy sees a few thousand of the vocabulary's words; a linear
model fitted on its rows has non-zero weights on those columns only. Keeping its
``coef_`` at the full width of ``X`` makes a model's memory grow as nodes × features
(874 MB for a 1,900-leaf WordNet model with 1.9 % non-zero weights), so a fitted
sparse-input node keeps only the used columns and their weights, and scores
``X[:, columns] @ weights`` without building anything of the width of ``X``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import softmax

from .linear import PROBA_LINKS

__all__ = ["SparseLinearModel", "compact_linear_model", "select_columns"]

# Stored as a dense block when at least this share of (used columns × outputs) is
# non-zero: the block is then no larger than CSR (8 bytes per entry against 12) and
# a sparse @ dense product is faster than sparse @ sparse.
_DENSE_BLOCK_MIN_DENSITY = 0.6


def _softmax_proba(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        return np.column_stack([1 - positive, positive])
    return softmax(scores, copy=False)


def _argmax_proba(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """One-hot of the best outcome, for models without probabilities (LinearSVC, Ridge)."""
    if scores.shape[1] == 1:
        scores = np.column_stack([np.zeros(len(scores)), scores[:, 0]])
    proba = np.zeros_like(scores)
    proba[np.arange(len(scores)), np.argmax(scores, axis=1)] = 1.0
    return proba


_LINKS = {"softmax": _softmax_proba, "argmax": _argmax_proba, **PROBA_LINKS}


def select_columns(X: Any, columns: NDArray[np.int32]) -> Any:
    """``X[:, columns]`` for sorted ``columns``, as CSR for CSR ``X``.

    One binary search per stored entry of ``X``: the cost follows the rows' non-zeros,
    never the width of ``X``, and no map of that width is built.

    Parameters
    ----------
    X : sparse matrix or ndarray of shape (n_samples, n_features)
    columns : ndarray of int, sorted ascending
        Columns to keep.

    Returns
    -------
    X_columns : sparse matrix or ndarray of shape (n_samples, len(columns))
    """
    if not sparse.issparse(X):
        return np.asarray(X)[:, columns]
    X = X.tocsr()
    if len(columns) == 0:
        return sparse.csr_matrix((X.shape[0], 0))
    position = np.searchsorted(columns, X.indices)
    hit = columns[np.minimum(position, len(columns) - 1)] == X.indices
    if hit.all():
        indices, data, indptr = position, X.data, X.indptr
    else:
        kept = np.r_[0, np.cumsum(hit)]
        indices, data, indptr = position[hit], X.data[hit], kept[X.indptr]
    narrow = sparse.csr_matrix(
        (data, indices.astype(np.int32), indptr.astype(np.int32)), shape=(X.shape[0], len(columns))
    )
    narrow.has_sorted_indices = X.has_sorted_indices
    return narrow


class SparseLinearModel:
    """A fitted linear node model that stores only the weights of the columns it uses.

    hiercls builds one from each linear node model fitted on sparse input (see
    :func:`compact_linear_model`); it scores like the model it came from, with
    memory proportional to its non-zero weights.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The model's classes, in the order of its probability columns.
    columns : ndarray of int32, sorted
        Columns of ``X`` with at least one non-zero weight.
    weights : ndarray or CSR matrix of shape (len(columns), n_outputs)
        Weight of each used column for each output (one output for two classes).
    intercept : ndarray of shape (n_outputs,)
    n_features : int
        Width of the ``X`` the model was fitted on.
    link : {"softmax", "sigmoid", "squared_hinge", "argmax"}
        How scores become class probabilities: scikit-learn's logistic regression,
        :class:`~hiercls.linear.OneVsRestLogisticRegression`,
        :class:`~hiercls.linear.OneVsRestLinearSVC`, or a one-hot of the best class
        for models without probabilities.
    origin : str
        Class name of the fitted model.
    weight_threshold : float, default=0.0
        Weights below this in absolute value were dropped.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    columns_ : ndarray of int32
    weights_ : ndarray or CSR matrix
    intercept_ : ndarray
    """

    def __init__(
        self,
        classes: NDArray[Any],
        columns: NDArray[np.int32],
        weights: Any,
        intercept: NDArray[np.float64],
        n_features: int,
        link: str,
        origin: str,
        weight_threshold: float = 0.0,
    ) -> None:
        if link not in _LINKS:
            raise ValueError(f"link must be one of {sorted(_LINKS)}; got {link!r}.")
        self.classes_ = classes
        self.columns_ = columns
        self.weights_ = weights
        self.intercept_ = intercept
        self.n_features_in_ = n_features
        self.link = link
        self.origin = origin
        self.weight_threshold = weight_threshold

    def __repr__(self) -> str:
        return (
            f"SparseLinearModel(origin={self.origin}, classes={len(self.classes_)}, "
            f"columns={len(self.columns_)}, non_zero={self.n_weights})"
        )

    @property
    def n_weights(self) -> int:
        """Number of stored non-zero weights."""
        if sparse.issparse(self.weights_):
            return int(self.weights_.nnz)
        return int(np.count_nonzero(self.weights_))

    @property
    def nbytes(self) -> int:
        """Bytes held by the weights, the column index and the intercepts."""
        held = self.columns_.nbytes + self.intercept_.nbytes
        if sparse.issparse(self.weights_):
            w = self.weights_
            return held + w.data.nbytes + w.indices.nbytes + w.indptr.nbytes
        return held + self.weights_.nbytes

    @property
    def coef_(self) -> sparse.csr_matrix:
        """Weights at the full width of ``X``, as scikit-learn's ``sparsify()`` keeps them.

        Shape (n_outputs, n_features), CSR; built on each access.
        """
        block = sparse.coo_matrix(self.weights_)
        return sparse.csr_matrix(
            (block.data, (block.col, self.columns_[block.row])),
            shape=(block.shape[1], self.n_features_in_),
        )

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """Scores ``X @ coef_.T + intercept_``, shape (n_samples, n_outputs).

        ``X`` must already be validated (CSR or ndarray, ``n_features_in_`` columns).
        """
        product = select_columns(X, self.columns_) @ self.weights_
        scores = product.toarray() if sparse.issparse(product) else np.asarray(product)
        scores += self.intercept_
        return scores

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities, shape (n_samples, n_classes), as the original model gives them."""
        return _LINKS[self.link](self.decision_function(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """The class with the highest score."""
        scores = self.decision_function(X)
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        # The weights hold float32 values (see compact_linear_model), so saving them
        # as float32 halves the file and loses nothing.
        state = self.__dict__.copy()
        weights = self.weights_
        if sparse.issparse(weights):
            state["weights_"] = (weights.data.astype(np.float32), weights.indices, weights.indptr,
                                 weights.shape)
        else:
            state["weights_"] = weights.astype(np.float32)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state["weights_"]
        if isinstance(weights, tuple):
            data, indices, indptr, shape = weights
            state["weights_"] = sparse.csr_matrix(
                (data.astype(np.float64), indices, indptr), shape=shape
            )
        else:
            state["weights_"] = np.ascontiguousarray(weights, dtype=np.float64)
        self.__dict__.update(state)


def _link_of(model: Any) -> str:
    link = getattr(model, "_link", None)
    if link is not None:
        return str(link)
    if isinstance(model, LogisticRegression):
        return "softmax"
    return "argmax"


def compact_linear_model(
    model: Any,
    columns: NDArray[np.intp],
    n_features: int,
) -> SparseLinearModel:
    """Keep a fitted linear model's non-zero weights and the columns they belong to.

    Parameters
    ----------
    model : fitted linear classifier
        Fitted on ``X[:, columns]``: ``coef_`` of shape (n_outputs, len(columns)).
        Its weights are kept as they are (a model's own ``weight_threshold`` has
        already dropped the small ones).
    columns : ndarray of int
        Columns of the full ``X`` that the model was fitted on, ascending.
    n_features : int
        Width of the full ``X``.

    Returns
    -------
    model : SparseLinearModel
    """
    coef = model.coef_
    coef = coef.toarray() if sparse.issparse(coef) else np.asarray(coef)
    # Weights are rounded to float32, as label-tree libraries store them: the change
    # is far below any decision margin, and the saved file (float32) then holds
    # exactly the model that was scored before saving. They are kept as float64 in
    # memory, since scipy would otherwise cast them at every product with float64 X.
    coef = coef.astype(np.float32).astype(np.float64)
    used = np.flatnonzero(np.any(coef != 0, axis=0))
    block = np.ascontiguousarray(coef[:, used].T)
    if block.size and np.count_nonzero(block) < _DENSE_BLOCK_MIN_DENSITY * block.size:
        weights: Any = sparse.csr_matrix(block)
        weights.indices = weights.indices.astype(np.int32, copy=False)
        weights.indptr = weights.indptr.astype(np.int32, copy=False)
    else:
        weights = block
    return SparseLinearModel(
        classes=np.asarray(model.classes_),
        columns=np.asarray(columns, dtype=np.int64)[used].astype(np.int32),
        weights=weights,
        intercept=np.array(np.broadcast_to(model.intercept_, coef.shape[:1]), dtype=np.float64),
        n_features=int(n_features),
        link=_link_of(model),
        origin=type(model).__name__,
        weight_threshold=float(getattr(model, "weight_threshold_", 0.0)),
    )
