"""Linear node models stored as the weights of the columns they use.

A node of a text hierarchy sees a few thousand of the vocabulary's words; a linear
model fitted on its rows has non-zero weights on those columns only. Keeping its
``coef_`` at the full width of ``X`` makes a model's memory grow as nodes × features
(the README gives the WordNet model's size both ways), so a fitted
sparse-input node keeps only the used columns and their weights, and scores
``X[:, columns] @ weights`` without building anything of the width of ``X``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import expit
from sklearn.utils.extmath import softmax

from .linear import POSITIVE_LINKS, PROBA_LINKS

__all__ = [
    "ColumnLookup",
    "SparseLinearModel",
    "compact_linear_model",
    "positive_proba",
    "select_columns",
    "stack_binary_models",
]

# Kept as a dense block when at least this share of (used columns × outputs) is
# non-zero: the block then takes at most 2.2 times the memory of CSR (8 bytes a cell
# against 12 a non-zero), and a sparse @ dense product is several times faster than
# scipy's sparse @ sparse (measured on WordNet nodes).
_DENSE_BLOCK_MIN_DENSITY = 0.3

# Up to this many stored entries, a batch is scored straight from its arrays (see
# _score_entries) rather than through scipy's sparse product.
_SMALL_BATCH_ENTRIES = 2048


def softmax_proba(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Logistic regression's probabilities from its decision values (one column: binary)."""
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


_LINKS = {"softmax": softmax_proba, "argmax": _argmax_proba, **PROBA_LINKS}


def _weight_rows(X: sparse.csr_matrix, columns: NDArray[np.int32], lookup: ColumnLookup | None) -> Any:
    """Row of a model's weights for each stored entry: 1 + its column's position, 0 if unused."""
    if lookup is not None:
        return lookup.weight_rows(columns, X.indices)
    if len(columns) == 0:  # a model without weights (its rows had no stored values)
        return np.zeros(len(X.indices), dtype=np.int32)
    position = np.searchsorted(columns, X.indices)
    used = columns.take(position, mode="clip") == X.indices
    return np.where(used, position + 1, 0)


def _score_entries(
    data: NDArray[np.float64],
    position: NDArray[np.int32],
    indptr: NDArray[Any],
    weights: Any,
) -> NDArray[np.float64]:
    """``X_columns @ weights`` for a few rows given as CSR arrays, without building a matrix.

    For single rows and small batches, scipy's matrix construction and product
    dispatch cost more than the arithmetic (about 40 µs a node, most of a row's
    latency).
    """
    n_rows = len(indptr) - 1
    n_outputs = weights.shape[1]
    if n_rows == 1 and not sparse.issparse(weights):
        return (data @ weights[position])[None, :]
    if sparse.issparse(weights):
        # Every (entry, weight of its column) pair, summed into its row's outputs.
        starts = weights.indptr[position]
        counts = weights.indptr[position + 1] - starts
        ends = np.cumsum(counts)
        pair = np.arange(ends[-1] if len(ends) else 0) + np.repeat(starts - ends + counts, counts)
        values = np.repeat(data, counts) * weights.data[pair]
        flat = weights.indices[pair]
        if n_rows > 1:
            flat = flat + np.repeat(np.repeat(np.arange(n_rows) * n_outputs, np.diff(indptr)), counts)
        summed = np.bincount(flat, weights=values, minlength=n_rows * n_outputs)
        return np.asarray(summed, dtype=np.float64).reshape(n_rows, n_outputs)
    contributions = weights[position] * data[:, None]
    scores = np.zeros((n_rows, n_outputs))
    filled = np.diff(indptr) > 0
    if filled.any():
        scores[filled] = np.add.reduceat(contributions, indptr[:-1][filled], axis=0)
    return scores


class ColumnLookup:
    """Where each column of ``X`` sits among a model's used columns, for one batch of rows.

    One array of ``X``'s width, filled with 0 once per batch; each model writes its
    columns' weight rows in, reads its rows' entries and resets what it wrote, so a
    model costs its columns plus its rows' entries. Worth it when the batch holds
    many more entries than ``X`` has columns; below that, :func:`select_columns`
    binary-searches instead.

    Parameters
    ----------
    n_features : int
        Width of ``X``.
    """

    def __init__(self, n_features: int) -> None:
        self.row = np.zeros(n_features, dtype=np.int32)

    @staticmethod
    def pays_off(X: Any) -> bool:
        """Whether a lookup costs less than binary searches for the whole batch ``X``."""
        # A binary search costs about as much as filling 30-60 entries of the map.
        return sparse.issparse(X) and X.nnz * 32 > X.shape[1]

    def weight_rows(self, columns: NDArray[np.int32], indices: NDArray[Any]) -> NDArray[np.int32]:
        """1 + the position of each of ``indices`` among ``columns``, 0 where it is not one."""
        row = self.row
        row[columns] = np.arange(1, len(columns) + 1, dtype=np.int32)
        try:
            return row[indices]
        finally:
            row[columns] = 0


def select_columns(X: Any, columns: NDArray[np.int32], lookup: ColumnLookup | None = None) -> Any:
    """``X[:, columns]`` for sorted ``columns``, as CSR for CSR ``X``.

    The cost follows the rows' stored entries and ``columns``, never the width of
    ``X``: one binary search per entry, or one read of ``lookup`` when given.

    Parameters
    ----------
    X : sparse matrix or ndarray of shape (n_samples, n_features)
    columns : ndarray of int, sorted ascending
        Columns to keep.
    lookup : ColumnLookup, default=None
        A lookup of ``X``'s width, shared by the models scoring one batch.

    Returns
    -------
    X_columns : sparse matrix or ndarray of shape (n_samples, len(columns))
    """
    if not sparse.issparse(X):
        return np.asarray(X)[:, columns]
    X = X.tocsr()
    if len(columns) == 0:
        return sparse.csr_matrix((X.shape[0], 0))
    position = _weight_rows(X, columns, lookup) - 1
    hit = position >= 0
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


def _densify_pays_off(X_columns: sparse.csr_matrix, weights: sparse.csr_matrix) -> bool:
    """Whether ``X_columns @ weights.toarray()`` beats the sparse @ sparse product.

    scipy's sparse product costs about 17 ns per multiplied pair (``X`` entries times
    the weights of their column), densifying about 4 ns per cell of ``weights``
    (measured on WordNet nodes): large batches densify, single rows do not.
    """
    n_columns, n_outputs = weights.shape
    pairs = X_columns.nnz * weights.nnz / max(n_columns, 1)
    return 4 * pairs > n_columns * n_outputs


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
    weights : ndarray or CSR matrix of shape (len(columns) + 1, n_outputs)
        A row of zeros that scores the entries of every other column (so that
        scoring never drops entries from ``X``), then the weight of each used column
        for each output (one output for two classes).
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
            (block.data, (block.col, self.columns_[block.row - 1])),
            shape=(block.shape[1], self.n_features_in_),
        )

    def decision_function(self, X: Any, lookup: ColumnLookup | None = None) -> NDArray[np.float64]:
        """Scores ``X @ coef_.T + intercept_``, shape (n_samples, n_outputs).

        ``X`` must already be validated (CSR or ndarray, ``n_features_in_`` columns);
        ``lookup`` is an optional :class:`ColumnLookup` of its width.
        """
        weights = self.weights_
        if not sparse.issparse(X):
            product = np.asarray(X)[:, self.columns_] @ weights[1:]
            scores = product.toarray() if sparse.issparse(product) else np.asarray(product)
            scores += self.intercept_
            return scores
        X = X.tocsr()
        # Entries of columns the model does not use go to the zero row 0: nothing is
        # dropped, so X's values and row pointers are shared.
        position = _weight_rows(X, self.columns_, lookup)
        if X.nnz <= _SMALL_BATCH_ENTRIES:
            scores = _score_entries(X.data, position, X.indptr, weights)
        else:
            X_columns = sparse.csr_matrix(
                (X.data, position, X.indptr.astype(np.int32, copy=False)),
                shape=(X.shape[0], len(self.columns_) + 1),
            )
            if sparse.issparse(weights) and _densify_pays_off(X_columns, weights):
                weights = weights.toarray()
            product = X_columns @ weights
            scores = product.toarray() if sparse.issparse(product) else np.asarray(product)
        scores += self.intercept_
        return scores

    def predict_proba(self, X: Any, lookup: ColumnLookup | None = None) -> NDArray[np.float64]:
        """Class probabilities, shape (n_samples, n_classes), as the original model gives them."""
        return _LINKS[self.link](self.decision_function(X, lookup))

    def predict(self, X: Any) -> NDArray[Any]:
        """The class with the highest score."""
        scores = self.decision_function(X)
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        # The weights hold float32 values (see compact_linear_model), so they are saved
        # as float32, losing nothing: a dense block where that is smaller (4 bytes a
        # cell), else each output's non-zero weights with their column positions (8
        # bytes a weight). Arrays go as raw bytes: a catalogue model has thousands of
        # small ones, and a pickler's per-array overhead would dominate loading.
        state = self.__dict__.copy()
        weights = self.weights_
        n_weights = weights.nnz if sparse.issparse(weights) else np.count_nonzero(weights)
        state["columns_"] = np.asarray(self.columns_, dtype=np.int32).tobytes()
        if 2 * n_weights < weights.shape[0] * weights.shape[1]:
            by_output = sparse.csr_matrix(weights.T)
            state["weights_"] = (
                "by_output",
                by_output.shape,
                by_output.data.astype(np.float32).tobytes(),
                by_output.indices.astype(np.int32).tobytes(),
                by_output.indptr.astype(np.int32).tobytes(),
            )
        else:
            block = weights.toarray() if sparse.issparse(weights) else weights
            state["weights_"] = ("dense", block.shape, np.asarray(block, dtype=np.float32).tobytes())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        kind, shape, *arrays = state["weights_"]
        state["columns_"] = np.frombuffer(state["columns_"], dtype=np.int32)
        if kind == "by_output":
            data, indices, indptr = (np.frombuffer(b, dtype=t) for b, t in zip(
                arrays, (np.float32, np.int32, np.int32), strict=True))
            by_output = sparse.csr_matrix((data.astype(np.float64), indices, indptr), shape=shape)
            weights: Any = by_output.T.tocsr()
        else:
            weights = np.frombuffer(arrays[0], dtype=np.float32).reshape(shape)
        state["weights_"] = _in_memory_form(weights)
        self.__dict__.update(state)


def _in_memory_form(weights: Any) -> Any:
    """A C-ordered float64 block when dense enough to score fastest, else CSR with int32 indices."""
    n_cells = weights.shape[0] * weights.shape[1]
    n_weights = weights.nnz if sparse.issparse(weights) else np.count_nonzero(weights)
    if n_cells and n_weights < _DENSE_BLOCK_MIN_DENSITY * n_cells:
        csr = sparse.csr_matrix(weights, dtype=np.float64)
        csr.indices = csr.indices.astype(np.int32, copy=False)
        csr.indptr = csr.indptr.astype(np.int32, copy=False)
        return csr
    dense = weights.toarray() if sparse.issparse(weights) else weights
    return np.ascontiguousarray(dense, dtype=np.float64)


def compact_linear_model(
    model: Any,
    columns: NDArray[np.intp],
    n_features: int,
    *,
    link: str,
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
    link : {"softmax", "sigmoid", "squared_hinge", "argmax"}
        How ``model`` turns its scores into probabilities (each kind of node model's
        adapter knows it: ``hiercls.node_models.NODE_MODEL_ADAPTERS``).

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
    rounded = coef.astype(np.float32)
    used = np.flatnonzero(np.any(rounded != 0, axis=0))
    # Built sparse first, so that a node with many columns and few surviving weights
    # never holds a dense block of its width.
    block = sparse.csr_matrix(rounded[:, used].T, dtype=np.float64)
    with_zero_row = sparse.csr_matrix(
        (block.data, block.indices, np.r_[0, block.indptr]), shape=(len(used) + 1, coef.shape[0])
    )
    weights = _in_memory_form(with_zero_row)
    return SparseLinearModel(
        classes=np.asarray(model.classes_),
        columns=np.asarray(columns, dtype=np.int64)[used].astype(np.int32),
        weights=weights,
        intercept=np.array(np.broadcast_to(model.intercept_, coef.shape[:1]), dtype=np.float64),
        n_features=int(n_features),
        link=link,
        origin=type(model).__name__,
        weight_threshold=float(getattr(model, "weight_threshold_", 0.0)),
    )


def stack_binary_models(models: Sequence[SparseLinearModel]) -> SparseLinearModel:
    """Several compact linear models of one link as one model with all their outputs, in order.

    A label tree's node has one binary model per child; scoring them as one
    model is one sparse product instead of one per child, and a whole linear label
    tree is one product too (:class:`~hiercls.label_tree.LinearLabelTree`). Use
    :func:`positive_proba` on its scores: its outputs are not classes of one choice.

    Parameters
    ----------
    models : sequence of SparseLinearModel
        Models fitted on the same ``X`` width, with one link; a binary model has one
        output.

    Returns
    -------
    model : SparseLinearModel
        Classes ``0 .. n_outputs - 1``: the outputs of ``models[0]``, then those of
        ``models[1]``, and so on.
    """
    columns = np.unique(np.concatenate([m.columns_ for m in models])).astype(np.int32)
    rows, outputs, values = [], [], []
    offset = 0
    for model in models:
        block = sparse.coo_matrix(model.weights_)
        keep = block.row > 0  # row 0 is the zero row of unused columns
        rows.append(1 + np.searchsorted(columns, model.columns_[block.row[keep] - 1]))
        outputs.append(block.col[keep] + offset)
        values.append(block.data[keep])
        offset += block.shape[1]
    weights = sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(outputs))),
        shape=(len(columns) + 1, offset),
    )
    return SparseLinearModel(
        classes=np.arange(offset),
        columns=columns,
        weights=_in_memory_form(weights),
        intercept=np.concatenate([np.broadcast_to(m.intercept_, m.weights_.shape[1:]) for m in models]),
        n_features=models[0].n_features_in_,
        link=models[0].link,
        origin=models[0].origin,
        weight_threshold=models[0].weight_threshold,
    )


def positive_proba(scores: NDArray[np.float64], link: str) -> NDArray[np.float64]:
    """Probability of the positive class of binary models, from one score column each."""
    if link in POSITIVE_LINKS:
        return np.asarray(POSITIVE_LINKS[link](scores), dtype=np.float64)
    return _LINKS[link](scores.reshape(-1, 1))[:, 1].reshape(scores.shape)
