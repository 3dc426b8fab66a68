"""One-vs-rest linear node models solved in the dual by liblinear, as label-tree libraries do.

``OneVsRestLinearSVC`` (squared hinge) is the default node model for TF-IDF-like
input: on WordNet nouns it fitted fastest, was the most accurate and the best
calibrated, against scikit-learn's multinomial L-BFGS ``LogisticRegression`` and
``OneVsRestLogisticRegression`` (the figures are in
``experiments/results/node_solvers_wordnet.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot, softmax
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions, _fit_context, _fit_liblinear, validate_data

#: Default ``weight_threshold`` of the one-vs-rest models (see the benchmark in
#: ``experiments/results/sparse_scale.md``).
WEIGHT_THRESHOLD = 0.1

# Sharpness of the soft floor in the squared hinge probabilities (measured on WordNet).
_SMOOTHING = 10.0

__all__ = [
    "OneVsRestLinearSVC",
    "OneVsRestLogisticRegression",
    "POSITIVE_LINKS",
    "PROBA_LINKS",
    "fit_binary_columns",
    "ovr_scores",
    "ovr_proba",
]


def _sigmoid_proba(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        return np.column_stack([1 - positive, positive])
    # sigmoid(s_k) / sum_j sigmoid(s_j), as a softmax of log-sigmoids: exact, and
    # finite even where every sigmoid underflows.
    log_sigmoid = np.negative(np.logaddexp(0.0, -scores, out=scores), out=scores)
    return softmax(log_sigmoid, copy=False)


def _squared_hinge_proba(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    if scores.shape[1] == 1:
        scores = np.column_stack([-scores[:, 0], scores[:, 0]])
    # softplus(b * (f + 1)) / b is max(f + 1, 0) with the corner rounded off: no class
    # gets exactly 0 and the order of the scores is kept strictly.
    proba = np.logaddexp(0.0, _SMOOTHING * (scores + 1.0))
    proba *= proba
    proba /= proba.sum(axis=1, keepdims=True)
    return proba


class _OneVsRestLinear(ClassifierMixin, BaseEstimator):
    """One binary linear model per class, solved by liblinear in the dual.

    Subclasses choose the binary loss (``_binary_estimator``) and how its scores
    become probabilities (:func:`ovr_proba`).
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced", "sqrt"}), None],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "weight_threshold": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    # liblinear's name of the subclass's binary loss (solved in the dual), and the link
    # from its scores to class probabilities.
    _loss: str
    _link: str

    def _class_weights(self, y: NDArray[Any]) -> NDArray[np.float64] | None:
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, str) and self.class_weight == "sqrt":
            return np.sqrt(compute_class_weight("balanced", classes=self.classes_, y=y))
        return compute_class_weight(self.class_weight, classes=self.classes_, y=y)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _OneVsRestLinear:
        """Fit one binary model per class (one in all for two classes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64, order="C")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}."
            )
        weights = self._class_weights(y)
        # liblinear's one-vs-rest weighs a class's rows by its weight when it is the
        # positive class and by 1 as a negative; with two classes it trains one model
        # that weighs both. One call shares one copy of the problem among all classes.
        class_weight = (
            None if weights is None else dict(zip(self.classes_.tolist(), weights.tolist(), strict=True))
        )
        coef, intercept, n_iter = _fit_liblinear(
            X,
            y,
            self.C,
            True,
            1.0,
            class_weight,
            "l2",
            True,
            0,
            self.max_iter,
            self.tol,
            self.random_state,
            multi_class="ovr",
            loss=self._loss,
            sample_weight=sample_weight,
        )
        coef = np.asfortranarray(coef, dtype=np.float64)
        intercept = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
        n_iter = np.full(len(intercept), n_iter, dtype=np.int32)
        self.weight_threshold_ = self._prune(coef)
        self.coef_, self.intercept_, self.n_iter_ = coef, intercept, n_iter
        return self

    def _prune(self, coef: NDArray[np.float64]) -> float:
        """Zero the weights below ``weight_threshold`` in place; return the threshold applied.

        A threshold that would remove every weight is not applied (0.0 is returned),
        so that the model keeps deciding from its features; hiercls reports such
        nodes by path.
        """
        small = np.abs(coef) < self.weight_threshold
        if not self.weight_threshold or small.all():
            return 0.0
        coef[small] = 0.0
        return float(self.weight_threshold)

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """Scores of the binary models: (n_samples,) for two classes, else one column each."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        scores = ovr_scores(self, X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities, shape (n_samples, n_classes); see the class docstring."""
        check_is_fitted(self)
        return ovr_proba(self, validate_data(self, X, accept_sparse="csr", reset=False))

    def predict_log_proba(self, X: Any) -> NDArray[np.float64]:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """The class with the highest score."""
        check_is_fitted(self)
        scores = ovr_scores(self, validate_data(self, X, accept_sparse="csr", reset=False))
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class OneVsRestLogisticRegression(_OneVsRestLinear):
    """One binary L2 logistic regression per class, solved by liblinear in the dual.

    Each class gets its own model against all others; probabilities are the
    per-class sigmoids, normalised to sum to one over the classes. With two classes
    there is a single binary model.

    Parameters
    ----------
    C : float, default=20.0
        Inverse regularisation strength. Node models see a few rows each, on
        TF-IDF features; the default was chosen on WordNet (C=10 fits faster with
        slightly lower accuracy).
    class_weight : "balanced", "sqrt", dict or None, default="balanced"
        Weight of a class's rows when it is the positive class: ``"balanced"`` uses
        ``n_samples / (n_classes * count)``, so rare classes are not drowned out;
        ``"sqrt"`` its square root.
        The negative rows keep weight 1 (liblinear's one-vs-rest); with two classes
        both classes are weighted.
    tol : float, default=0.1
        Stopping tolerance of liblinear's dual coordinate descent (napkinXC's default).
    max_iter : int, default=1000
        Maximum passes of the dual solver per binary model.
    {weight_threshold}
    random_state : int, RandomState instance or None, default=None
        Seeds the order in which the dual solver visits rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1 or n_classes, n_features)
        Fortran-ordered, so ``X @ coef_.T`` uses it without a copy.
    intercept_ : ndarray of shape (1 or n_classes,)
    n_iter_ : ndarray of int
        Solver passes of each binary model.
    weight_threshold_ : float
        The pruning threshold applied (0.0 when none was, see ``weight_threshold``).
    n_features_in_ : int

    Examples
    --------
    >>> from hiercls.linear import OneVsRestLogisticRegression
    >>> X = [[0.0], [0.2], [5.0], [5.3], [10.0], [10.4]]
    >>> model = OneVsRestLogisticRegression(random_state=0).fit(X, [0, 0, 1, 1, 2, 2])
    >>> model.predict([[0.1], [10.2]])
    array([0, 2])
    """

    def __init__(
        self,
        C: float = 20.0,
        *,
        class_weight: Any = "balanced",
        tol: float = 0.1,
        max_iter: int = 1000,
        weight_threshold: float = WEIGHT_THRESHOLD,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.weight_threshold = weight_threshold
        self.random_state = random_state

    _loss = "logistic_regression"
    _link = "sigmoid"


class OneVsRestLinearSVC(_OneVsRestLinear):
    """One binary L2-loss (squared hinge) linear SVM per class, solved by liblinear in the dual.

    The default node model for TF-IDF-like input. The squared hinge loss is
    minimised by the score ``f = 2p - 1`` of a class with probability ``p`` (Zhang,
    2004), so each class gets about ``((f + 1) / 2) ** 2`` (``f + 1`` floored softly
    at 0, so that no class gets exactly 0 and the order of the scores is kept),
    normalised over the classes. The square undoes the shrinking of ``f`` towards 0
    by the regularisation. On WordNet nouns the predicted path's probability then
    had an expected calibration error of 0.011, against 0.14 without the square and
    0.053 for ``OneVsRestLogisticRegression``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength.
    class_weight : "sqrt", "balanced", dict or None, default="sqrt"
        Weight of a class's rows when it is the positive class: ``"balanced"`` uses
        ``n_samples / (n_classes * count)``; ``"sqrt"`` its square root, which on
        WordNet kept most of the rare-class recall of ``"balanced"`` with higher
        accuracy. The negative rows keep weight 1; with two classes both are weighted.
    tol : float, default=0.1
        Stopping tolerance of liblinear's dual coordinate descent.
    max_iter : int, default=1000
        Maximum passes of the dual solver per binary model.
    {weight_threshold}
    random_state : int, RandomState instance or None, default=None
        Seeds the order in which the dual solver visits rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1 or n_classes, n_features)
        Fortran-ordered, so ``X @ coef_.T`` uses it without a copy.
    intercept_ : ndarray of shape (1 or n_classes,)
    n_iter_ : ndarray of int
        Solver passes of each binary model.
    weight_threshold_ : float
        The pruning threshold applied (0.0 when none was, see ``weight_threshold``).
    n_features_in_ : int

    See Also
    --------
    OneVsRestLogisticRegression : the same with the logistic loss (sigmoid probabilities).

    Examples
    --------
    >>> from hiercls.linear import OneVsRestLinearSVC
    >>> X = [[0.0], [0.2], [5.0], [5.3], [10.0], [10.4]]
    >>> model = OneVsRestLinearSVC(random_state=0).fit(X, [0, 0, 1, 1, 2, 2])
    >>> model.predict([[0.1], [10.2]])
    array([0, 2])
    """

    def __init__(
        self,
        C: float = 1.0,
        *,
        class_weight: Any = "sqrt",
        tol: float = 0.1,
        max_iter: int = 1000,
        weight_threshold: float = WEIGHT_THRESHOLD,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.weight_threshold = weight_threshold
        self.random_state = random_state

    _loss = "squared_hinge"
    _link = "squared_hinge"

# The weight_threshold parameter's text, shared by both one-vs-rest models' docstrings.
_WEIGHT_THRESHOLD_DOC = """weight_threshold : float, default=0.1
        Weights whose absolute value is below this are set to zero after fitting,
        as label-tree libraries prune (napkinXC, Parabel and Bonsai use 0.1 on
        TF-IDF rows of unit norm). Inside hiercls, node models on sparse input keep
        only their non-zero weights, so pruning shrinks the model in memory and on
        disk at the same accuracy (see ``experiments/results/sparse_scale.md``).
        0 keeps every weight. A threshold
        that would remove every weight of a model is not applied
        (``weight_threshold_`` is then 0.0)."""

for _model in (OneVsRestLogisticRegression, OneVsRestLinearSVC):
    _model.__doc__ = (_model.__doc__ or "").replace("{weight_threshold}", _WEIGHT_THRESHOLD_DOC)
del _model


def fit_binary_columns(
    model: _OneVsRestLinear, X: Any, Y: NDArray[Any], sample_weight: NDArray[np.float64] | None = None
) -> _OneVsRestLinear:
    """Fit ``model``'s binary loss on each column of a 0/1 matrix ``Y``: a multi-label fit.

    Each column's model is the one ``clone(model).fit(X, Y[:, j])`` gives, but ``X`` is
    validated once and each column costs only its solver call: a label tree's node
    fits one binary model per child on the same rows.

    Parameters
    ----------
    model : OneVsRestLinearSVC or OneVsRestLogisticRegression
        Unfitted; its parameters are used (``class_weight`` None, "balanced" or "sqrt").
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_columns)
        0/1 targets; every column holds both values.
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    model : the fitted model, with ``classes_ = arange(n_columns)``, one row of ``coef_``
        per column; score it with :func:`hiercls.sparse_linear.positive_proba`.
    """
    if isinstance(model.class_weight, Mapping):
        raise ValueError("fit_binary_columns takes class_weight None, 'balanced' or 'sqrt'.")
    X = validate_data(model, X, accept_sparse="csr", dtype=np.float64, order="C")
    Y = np.asarray(Y)
    coef = np.empty((Y.shape[1], X.shape[1]))
    intercept = np.empty(Y.shape[1])
    n_iter = np.empty(Y.shape[1], dtype=np.int32)
    model.classes_ = np.array([0, 1])  # each column's problem, for _class_weights
    for j in range(Y.shape[1]):
        y = Y[:, j].astype(np.intp)
        weights = model._class_weights(y)  # as one binary fit would weigh its classes
        class_weight = None if weights is None else {0: float(weights[0]), 1: float(weights[1])}
        column_coef, column_intercept, column_iter = _fit_liblinear(
            X, y, model.C, True, 1.0, class_weight, "l2", True, 0, model.max_iter, model.tol,
            model.random_state, multi_class="ovr", loss=model._loss, sample_weight=sample_weight,
        )
        coef[j], intercept[j] = column_coef[0], np.atleast_1d(column_intercept)[0]
        n_iter[j] = np.max(column_iter)
    model.classes_ = np.arange(Y.shape[1])
    # Pruned per column, as each column's own fit would be.
    model.weight_threshold_ = max((model._prune(coef[j : j + 1]) for j in range(len(coef))), default=0.0)
    model.coef_, model.intercept_, model.n_iter_ = np.asfortranarray(coef), intercept, n_iter
    return model


def ovr_scores(model: Any, X: Any) -> NDArray[np.float64]:
    """Scores ``X @ coef_.T + intercept_`` of a fitted linear model, for validated ``X``."""
    return np.asarray(safe_sparse_dot(X, model.coef_.T, dense_output=True)) + model.intercept_


def ovr_proba(model: _OneVsRestLinear, X: Any) -> NDArray[np.float64]:
    """The one-vs-rest models' ``predict_proba`` for already validated ``X``."""
    return PROBA_LINKS[model._link](ovr_scores(model, X))


#: Score-to-probability link of each one-vs-rest loss, by the name models store.
PROBA_LINKS = {"sigmoid": _sigmoid_proba, "squared_hinge": _squared_hinge_proba}


def _squared_hinge_positive(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    # _squared_hinge_proba's positive column for one-column scores, elementwise.
    positive = np.square(np.logaddexp(0.0, _SMOOTHING * (scores + 1.0)))
    negative = np.square(np.logaddexp(0.0, _SMOOTHING * (1.0 - scores)))
    return positive / (positive + negative)  # type: ignore[no-any-return]


#: Probability of the positive class from a binary model's score, elementwise, per link.
POSITIVE_LINKS = {"sigmoid": expit, "softmax": expit, "squared_hinge": _squared_hinge_positive}
