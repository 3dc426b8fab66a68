"""Per-node models: the default model, one clone per node, one-node fit, and the adapters.

The adapter table (:data:`NODE_MODEL_ADAPTERS`) is the one place that knows kinds of
node model: what each can take (categories, sample weights, threads), which settings
change with a node's size, how a fitted one is scored and whether it is kept compact.
Everything else asks :func:`adapter_for`.

These are plain module-level functions taking explicit arguments, so joblib ships
only what a node needs, never the whole ``HierarchicalClassifier``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.svm import LinearSVC
from sklearn.utils.extmath import row_norms
from sklearn.utils.validation import has_fit_parameter

from ._allocator import settle_worker_allocator
from ._threads import SINGLE_THREAD_MAX_ROWS, one_openmp_thread
from .hierarchy import as_python
from .linear import OneVsRestLinearSVC, OneVsRestLogisticRegression, ovr_proba, ovr_scores
from .sparse_linear import ColumnLookup, SparseLinearModel, compact_linear_model, softmax_proba

__all__ = [
    "ConstantNodeModel",
    "NODE_MODEL_ADAPTERS",
    "NodeModelAdapter",
    "adapter_for",
    "compact_dense_linear_model",
    "default_node_estimator",
    "is_text_like",
    "node_seed",
    "make_node_estimator",
    "size_aware_params",
    "fit_node",
    "fit_node_collecting_convergence",
    "node_rows",
    "outcome_proba",
    "outcome_scores",
    "take_rows",
]

# LightGBM's own default ``min_child_weight`` (``min_sum_hessian_in_leaf``), which
# its node models raise to 1.
_LIGHTGBM_MIN_CHILD_WEIGHT = 1e-3

ScoreFunction = Callable[[Any, Any, "ColumnLookup | None"], NDArray[np.float64]]
SettingsFunction = Callable[[dict[str, Any], int], dict[str, Any]]


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


# --------------------------------------------------------------- scoring functions
# Linear models are scored from their weights (``ovr_scores``), without their
# per-call input validation: X was validated once at the estimator's boundary, and
# repeating it at every node of a path is most of a single row's latency.


def _two_columns(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    # A binary model scores the positive class only; P(positive) > 1/2 exactly when
    # that score is > 0, so (0, score) ranks the two outcomes as probabilities do.
    if scores.shape[1] == 1:
        return np.column_stack([np.zeros(len(scores)), scores[:, 0]])
    return scores


def _compact_scores(model: Any, X: Any, lookup: ColumnLookup | None) -> NDArray[np.float64]:
    return _two_columns(model.decision_function(X, lookup))


def _compact_proba(model: Any, X: Any, lookup: ColumnLookup | None) -> NDArray[np.float64]:
    return model.predict_proba(X, lookup)  # type: ignore[no-any-return]


def _linear_scores(model: Any, X: Any, lookup: ColumnLookup | None) -> NDArray[np.float64]:
    return _two_columns(ovr_scores(model, X))


def _logistic_proba(model: Any, X: Any, lookup: ColumnLookup | None) -> NDArray[np.float64]:
    return softmax_proba(ovr_scores(model, X))


def _one_vs_rest_proba(model: Any, X: Any, lookup: ColumnLookup | None) -> NDArray[np.float64]:
    return ovr_proba(model, X)


def _own_proba(model: Any, X: Any, lookup: ColumnLookup | None) -> NDArray[np.float64]:
    # Also the ranking scores of models without decision values of their own here.
    if X.shape[0] <= SINGLE_THREAD_MAX_ROWS:
        with one_openmp_thread(model):
            return _predicted_proba(model, X)
    return _predicted_proba(model, X)


def _lightgbm_proba(model: Any, X: Any, lookup: ColumnLookup | None) -> NDArray[np.float64]:
    # LGBMClassifier.predict_proba spends ~1 ms per call re-reading its parameters and
    # re-validating X (both already done here), 20x what the booster takes for a row:
    # call the booster as the wrapper would. Custom objectives, and models carrying
    # extra keyword parameters (which may be prediction settings), keep the wrapper.
    if not _plain_lightgbm_classifier(model):
        return _own_proba(model, X, lookup)
    # A few rows on one thread, as for the other OpenMP models (see _own_proba); the
    # booster's own num_threads would override an OpenMP limit.
    return _booster_proba(model, X, 1 if X.shape[0] <= SINGLE_THREAD_MAX_ROWS else _threads_of(model))


_LIGHTGBM_TRAINING_ONLY = frozenset(
    {
        "verbose", "verbosity", "seed", "deterministic", "max_bin", "min_data_in_leaf",
        "min_sum_hessian_in_leaf", "lambda_l1", "lambda_l2", "feature_fraction",
        "bagging_fraction", "bagging_freq", "extra_trees", "force_col_wise", "force_row_wise",
    }
)  # fmt: skip


def _plain_lightgbm_classifier(model: Any) -> bool:
    from lightgbm import LGBMClassifier

    # LightGBM keeps every parameter set after construction in _other_params too; the
    # ones its constructor does not name may be prediction settings (or their aliases),
    # unless known to act on training or logging only.
    extra = set(getattr(model, "_other_params", ())) - _constructor_parameters(LGBMClassifier)
    extra -= _LIGHTGBM_TRAINING_ONLY
    return (
        isinstance(model, LGBMClassifier)
        and type(model).predict_proba is LGBMClassifier.predict_proba
        and not callable(model.objective)
        and not extra
    )


def _threads_of(model: Any) -> int:
    # Threads change no result. None: OpenMP's default (0 to LightGBM); negative:
    # counted back from the number of cores, as the wrapper does.
    n_jobs = model.n_jobs
    if n_jobs is None:
        return 0
    return int(n_jobs) if n_jobs >= 0 else max((os.cpu_count() or 1) + 1 + int(n_jobs), 1)


def _booster_proba(model: Any, X: Any, n_threads: int) -> NDArray[np.float64]:
    result = np.asarray(model.booster_.predict(X, num_threads=n_threads), dtype=np.float64)
    if result.ndim == 1:
        return np.column_stack([1.0 - result, result])
    return result


def _predicted_proba(model: Any, X: Any) -> NDArray[np.float64]:
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X), dtype=np.float64)
    predicted = model.predict(X)
    return (predicted[:, None] == model.classes_[None, :]).astype(np.float64)


# --------------------------------------------------------- size-aware node settings
def _no_settings(params: dict[str, Any], n_rows: int) -> dict[str, Any]:
    return {}


def _cap_neighbors(params: dict[str, Any], n_rows: int) -> dict[str, Any]:
    # A k-NN model cannot ask for more neighbours than the node has rows.
    n_neighbors = params.get("n_neighbors")
    if isinstance(n_neighbors, (int, np.integer)) and n_neighbors > n_rows:
        return {"n_neighbors": int(n_rows)}
    return {}


def _quiet(params: dict[str, Any], n_rows: int) -> dict[str, Any]:
    # Thousands of node fits would each log; a verbosity the user set is kept.
    if "verbose" in params or "verbosity" in params:
        return {}
    return {"verbose": -1}


def _lightgbm_settings(params: dict[str, Any], n_rows: int) -> dict[str, Any]:
    updates = _quiet(params, n_rows)
    if params.get("min_child_weight") == _LIGHTGBM_MIN_CHILD_WEIGHT:
        # A class with one row among thousands has a tiny hessian everywhere: a leaf
        # holding that row gets a huge output and sends its neighbours to the class
        # (a 7-class node fell from 0.83 to 0.61 accuracy). XGBoost's default of 1
        # bounds it; being hessian-based, it also keeps weights equal to repeated rows.
        updates["min_child_weight"] = 1.0
    return updates


# ------------------------------------------------------------------------ matching
# Methods that hiercls replaces for the linear kinds: it fits them on a node's used
# columns and scores them from their weights.
_REPLACED_METHODS = ("fit", "decision_function", "predict", "predict_proba")


def _kind_of(base: type) -> Callable[[type], bool]:
    """Match ``base`` and subclasses that keep its fit and scoring methods.

    A subclass that redefines any of them (say, a calibrated ``predict_proba``) is
    left to its own methods: it falls through to the generic adapter.
    """

    def matches(cls: type) -> bool:
        return issubclass(cls, base) and all(
            inspect.getattr_static(cls, name, None) is inspect.getattr_static(base, name, None)
            for name in _REPLACED_METHODS
        )

    return matches


def _subclass_of(module: str, name: str) -> Callable[[type], bool]:
    """Match subclasses of ``module.name`` without importing ``module``.

    A model of an optional library exists only once that library is imported, so a
    library not imported (or not installed) matches nothing.
    """

    def matches(cls: type) -> bool:
        base = getattr(sys.modules.get(module), name, None)
        return isinstance(base, type) and issubclass(cls, base)

    return matches


def _takes_parameter(name: str) -> Callable[[type], bool]:
    """Match classes whose constructor takes ``name`` (what ``get_params`` lists)."""

    def matches(cls: type) -> bool:
        return name in _signature_parameters(cls)

    return matches


@functools.cache
def _constructor_parameters(cls: type) -> frozenset[str]:
    return frozenset(_signature_parameters(cls))


def _signature_parameters(function: Any) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # builtins and the like
        return set()


# --------------------------------------------------------------------- the table
@dataclass(frozen=True)
class NodeModelAdapter:
    """What one kind of node model can take, and how hiercls fits, scores and keeps it.

    Attributes
    ----------
    name : str
        The kind, for messages and tests.
    matches : callable
        ``matches(cls) -> bool``: whether instances of the class are of this kind.
    scores : callable
        ``scores(model, X, lookup)`` of a fitted model: one column per outcome, in the
        order of ``model.classes_``, whose row-wise order is that of the probabilities
        (decision values where the model has them, else the probabilities).
    proba : callable
        ``proba(model, X, lookup)``: probabilities of the outcomes; a one-hot of the
        prediction for models without ``predict_proba``.
    fits_on_used_columns : bool
        On sparse ``X``, fitted on the columns the node's rows use and kept as a
        :class:`~hiercls.sparse_linear.SparseLinearModel` (see :func:`fit_node`).
    link : str
        How the compact model turns scores into probabilities (see
        :class:`~hiercls.sparse_linear.SparseLinearModel`).
    all_cores_by_default : bool
        ``n_jobs=None`` means every core (threaded boosting libraries) rather than
        scikit-learn's one, so node fits in parallel must set it.
    node_settings : callable
        ``node_settings(params, n_rows) -> dict``: parameters to change for a node of
        ``n_rows`` rows, given the model's ``get_params(deep=False)``.
    category_fit_parameter : str or None
        Keyword of ``fit`` that takes the positions of categorical columns.
    category_constructor_parameter : str or None
        Constructor parameter that takes them, when no ``fit`` keyword does.
    """

    name: str
    matches: Callable[[type], bool]
    scores: ScoreFunction = _own_proba
    proba: ScoreFunction = _own_proba
    fits_on_used_columns: bool = False
    link: str = "argmax"
    all_cores_by_default: bool = False
    node_settings: SettingsFunction = _no_settings
    category_fit_parameter: str | None = None
    category_constructor_parameter: str | None = None

    @property
    def accepts_categories(self) -> bool:
        """Whether the model can be told which columns are categorical."""
        return self.category_fit_parameter is not None or self.category_constructor_parameter is not None

    def accepts_sample_weight(self, estimator: Any) -> bool:
        """Whether ``estimator.fit`` takes ``sample_weight`` (read from its signature)."""
        return bool(has_fit_parameter(estimator, "sample_weight"))

    def category_settings(
        self, estimator: Any, positions: list[int]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Constructor parameters and ``fit`` keywords naming the categorical columns.

        Only for an adapter that :attr:`accepts_categories`. A constructor parameter
        the user already set is left alone.
        """
        if self.category_fit_parameter is not None:
            return {}, {self.category_fit_parameter: positions}
        name = self.category_constructor_parameter
        if name is not None and estimator.get_params(deep=False).get(name) in ("from_dtype", None):
            return {name: positions}, {}
        return {}, {}  # set by the user: theirs to get right

    def thread_settings(self, params: dict[str, Any], n_threads: int) -> dict[str, Any]:
        """``n_jobs`` for one node fit, so that threads x parallel nodes <= ``n_jobs``."""
        if "n_jobs" not in params:
            return {}
        current = params["n_jobs"]
        if current is None and self.all_cores_by_default:
            return {"n_jobs": n_threads}
        if isinstance(current, (int, np.integer)) and (current < 0 or current > n_threads):
            return {"n_jobs": n_threads}
        return {}

    def compact(self, model: Any, columns: NDArray[np.intp], n_features: int) -> SparseLinearModel:
        """The fitted linear ``model`` (fitted on ``X[:, columns]``) as a compact model."""
        return compact_linear_model(model, columns, n_features, link=self.link)


#: The kinds of node model hiercls knows, matched in order by :func:`adapter_for`.
#: Linear models are fitted on a node's used columns only when their optimum gives an
#: all-zero column a zero weight (the penalty's and the data's gradients are both zero
#: there); ``SGDClassifier`` is left to the generic adapter: stopped before the
#: optimum, its path depends on the width.
NODE_MODEL_ADAPTERS: tuple[NodeModelAdapter, ...] = (
    NodeModelAdapter(
        "compact linear",
        lambda cls: issubclass(cls, SparseLinearModel),
        scores=_compact_scores,
        proba=_compact_proba,
    ),
    NodeModelAdapter(
        "label tree node",
        _subclass_of("hiercls.multilabel", "IndependentOutcomes"),
        scores=_compact_proba,
        proba=_compact_proba,
    ),
    NodeModelAdapter(
        "logistic regression",
        _kind_of(LogisticRegression),
        scores=_linear_scores,
        proba=_logistic_proba,
        fits_on_used_columns=True,
        link="softmax",
    ),
    NodeModelAdapter(
        "one-vs-rest logistic regression",
        _kind_of(OneVsRestLogisticRegression),
        scores=_linear_scores,
        proba=_one_vs_rest_proba,
        fits_on_used_columns=True,
        link="sigmoid",
    ),
    NodeModelAdapter(
        "one-vs-rest linear SVM",
        _kind_of(OneVsRestLinearSVC),
        scores=_linear_scores,
        proba=_one_vs_rest_proba,
        fits_on_used_columns=True,
        link="squared_hinge",
    ),
    NodeModelAdapter("linear SVM", _kind_of(LinearSVC), fits_on_used_columns=True),
    NodeModelAdapter("ridge", _kind_of(RidgeClassifier), fits_on_used_columns=True),
    NodeModelAdapter(
        "LightGBM",
        _subclass_of("lightgbm", "LGBMModel"),
        scores=_lightgbm_proba,
        proba=_lightgbm_proba,
        all_cores_by_default=True,
        node_settings=_lightgbm_settings,
        category_fit_parameter="categorical_feature",
    ),
    NodeModelAdapter(
        "XGBoost",
        _subclass_of("xgboost", "XGBModel"),
        all_cores_by_default=True,
        node_settings=_quiet,
    ),
    NodeModelAdapter(
        "histogram gradient boosting",
        _subclass_of("sklearn.ensemble", "HistGradientBoostingClassifier"),
        category_constructor_parameter="categorical_features",
    ),
    NodeModelAdapter("k-nearest neighbours", _takes_parameter("n_neighbors"), node_settings=_cap_neighbors),
)


def adapter_for(estimator: Any) -> NodeModelAdapter:
    """The adapter of a node model: the first row of the table that matches its class.

    A class that no row matches gets the generic scikit-learn adapter: scored by its
    own ``predict_proba`` (or a one-hot of ``predict``), kept as it is, told about
    categorical columns through a ``fit`` keyword ``categorical_feature`` or a
    constructor parameter ``categorical_features`` if it has one.

    Parameters
    ----------
    estimator : estimator
        A node model, fitted or not.

    Returns
    -------
    adapter : NodeModelAdapter
    """
    cls = type(estimator)
    adapter = _ADAPTER_OF_CLASS.get(cls)
    if adapter is None:
        adapter = _ADAPTER_OF_CLASS[cls] = _match_class(cls)
    return adapter


# Filled as classes are met: scoring asks at every node of every prediction.
_ADAPTER_OF_CLASS: dict[type, NodeModelAdapter] = {}


def _match_class(cls: type) -> NodeModelAdapter:
    for adapter in NODE_MODEL_ADAPTERS:
        if adapter.matches(cls):
            return adapter
    fit_parameters = _signature_parameters(getattr(cls, "fit", None))
    return NodeModelAdapter(
        "scikit-learn estimator",
        lambda other: True,
        category_fit_parameter="categorical_feature" if "categorical_feature" in fit_parameters else None,
        category_constructor_parameter=(
            "categorical_features" if "categorical_features" in _signature_parameters(cls) else None
        ),
    )


def default_node_estimator(text_like: bool = False) -> Any:
    """The node model used when the user gives none.

    Parameters
    ----------
    text_like : bool, default=False
        Whether ``X`` looks like TF-IDF rows (see :func:`is_text_like`).

    Returns
    -------
    estimator : OneVsRestLinearSVC or LogisticRegression
    """
    # Measured (experiments/results/node_solvers_wordnet.md, real.md): on TF-IDF rows the
    # dual one-vs-rest squared hinge model fits 5-7x faster than multinomial L-BFGS with
    # better accuracy and rare-class recall. Elsewhere multinomial L-BFGS is faster and
    # more accurate: on standardised numbers (norms ~ the number of columns) the dual
    # converges very slowly.
    if text_like:
        return OneVsRestLinearSVC()
    return LogisticRegression(max_iter=1000)


def is_text_like(X: Any) -> bool:
    """Sparse, non-negative, rows of L2 norm at most 1: what TfidfVectorizer gives."""
    if not sparse.issparse(X) or X.nnz == 0:
        return False
    if X.data.min() < 0:
        return False
    return bool(row_norms(X, squared=True).max() <= 1 + 1e-6)


def base_seed_of(random_state: Any) -> int | None:
    """The seed node seeds derive from (:func:`node_seed`): None for ``random_state=None``."""
    if random_state is None:
        return None
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def node_seed(base_seed: int, path: tuple[Any, ...]) -> int:
    """Seed of one node's model, derived from the node's path of labels and the base seed only.

    Deriving it from the node (not from the order tasks run in) keeps fits equal
    whatever ``n_jobs`` is; deriving it from the labels (not the node id, which
    shifts when a class is added elsewhere) lets a warm start reuse the model a fit
    from scratch would make.
    """
    text = repr(tuple(as_python(label) for label in path)).encode()
    key = int.from_bytes(hashlib.sha256(text).digest()[:8], "little")
    return int(np.random.SeedSequence([base_seed, key]).generate_state(1)[0] % (2**31 - 1))


def size_aware_params(estimator: Any, n_rows: int) -> dict[str, Any]:
    """Settings that must change with a node's size so its model can be fitted.

    A k-NN model cannot ask for more neighbours than the node has rows. Threaded
    boosting libraries are silenced, since thousands of node fits would each log.
    LightGBM's ``min_child_weight`` is raised from its default 1e-3 to 1 (XGBoost's
    default), so that a class with a single row cannot poison a large node's
    multiclass model; a value the user set is kept. See :data:`NODE_MODEL_ADAPTERS`.

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
    return adapter_for(estimator).node_settings(estimator.get_params(deep=False), n_rows)


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
    adapter = adapter_for(estimator)
    params = estimator.get_params(deep=False)
    updates = adapter.node_settings(params, n_rows)
    if seed is not None and "random_state" in params:
        updates["random_state"] = seed
    updates.update(adapter.thread_settings(params, n_threads))
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
    ``LinearSVC``, ``RidgeClassifier``, and subclasses that keep their fit and scoring
    methods: see :data:`NODE_MODEL_ADAPTERS`) is then fitted on those columns only and kept
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
    fit_params = dict(fit_params or {})
    if sample_weight is not None:
        fit_params["sample_weight"] = sample_weight[rows]
    X_node, columns = node_rows(estimator, X, rows)
    with warnings.catch_warnings():
        # Node targets are child ids, always classes; a small node with many children
        # would otherwise warn that its target "could represent a regression problem".
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        estimator.fit(X_node, y, **fit_params)
    if columns is not None:
        return adapter_for(estimator).compact(estimator, columns, X.shape[1])
    return estimator


def node_rows(estimator: Any, X: Any, rows: NDArray[np.intp]) -> tuple[Any, NDArray[np.intp] | None]:
    """A node's rows of ``X`` as its model is fitted on them, and the columns kept.

    On sparse ``X``, a model whose adapter ``fits_on_used_columns`` gets only the
    columns the rows use (see :func:`fit_node`); ``columns`` is None otherwise. In a
    worker process, the first call also settles the allocator.
    """
    settle_worker_allocator()
    X_node = take_rows(X, rows)
    if not (sparse.issparse(X_node) and adapter_for(estimator).fits_on_used_columns):
        return X_node, None
    # Rows without any stored value still need one (all-zero) column for the solver;
    # its weight is zero, so the compact model keeps no columns.
    if not X_node.nnz:
        return _keep_columns(X_node, np.zeros(1, dtype=np.intp)), np.zeros(1, dtype=np.intp)
    if X_node.nnz < X_node.shape[1] // _DENSE_COLUMN_MAP_RATIO:
        columns = np.unique(X_node.indices)
        return _keep_columns(X_node, columns), columns
    # Many stored values for the width (a large node): counting per column and a
    # column map are one pass each, where sorting the stored indices costs their log.
    used = np.bincount(X_node.indices, minlength=X_node.shape[1]) > 0
    columns = np.flatnonzero(used).astype(X_node.indices.dtype)
    return _keep_columns(X_node, columns, np.cumsum(used) - 1), columns


def compact_dense_linear_model(model: Any) -> Any:
    """A linear node model kept at full width (hiercls 2e35ab6 and earlier) made compact.

    Other models are returned as they are.
    """
    adapter = adapter_for(model)
    if not adapter.fits_on_used_columns or not hasattr(model, "coef_") or sparse.issparse(model.coef_):
        return model
    n_features = model.coef_.shape[1]
    return adapter.compact(model, np.arange(n_features), n_features)


def fit_node_collecting_convergence(
    *args: Any, fit: Callable[..., Any] | None = None, **kwargs: Any
) -> tuple[Any, str | None]:
    """:func:`fit_node` (or ``fit``), returning its ``ConvergenceWarning`` instead of emitting it.

    A tree of hundreds of nodes would print hundreds of these multi-line warnings;
    the estimator reports them once, with a count and the nodes' paths. Other
    warnings are emitted as usual.

    Returns
    -------
    model : estimator
        As from :func:`fit_node`.
    message : str or None
        The first ``ConvergenceWarning``'s message, None if the model converged.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = (fit or fit_node)(*args, **kwargs)
    message = None
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            message = message or str(warning.message)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return model, message


# A node's columns come from a map over all of X's columns once it has at least
# width / this many stored values; fewer, and sorting its stored indices is cheaper.
_DENSE_COLUMN_MAP_RATIO = 4


def take_rows(X: Any, rows: NDArray[np.intp]) -> Any:
    """``X[rows]``, without a copy when ``rows`` are all of X's rows in order."""
    n = X.shape[0]
    if len(rows) != n:
        return X[rows]
    if n <= 1 or (rows[0] == 0 and rows[-1] == n - 1 and bool((np.diff(rows) == 1).all())):
        return X  # one row, or 0..n-1; not any permutation of them
    return X[rows]


def _keep_columns(X: Any, columns: NDArray[np.intp], column_map: NDArray[np.intp] | None = None) -> Any:
    """CSR ``X[:, columns]`` for ``columns`` = every column with a stored entry.

    Renumbering the stored column indices is one pass over them; scipy's general
    column indexing would build an index map per call. ``column_map`` (the new
    position of every column of ``X`` that is kept) replaces the binary search.
    """
    X = X.tocsr()
    if X.nnz > np.iinfo(np.int32).max:
        raise ValueError(
            f"A node's rows hold {X.nnz:,} stored values, more than the 2**31 - 1 that "
            f"liblinear and scikit-learn's linear solvers index; split the node (a deeper "
            f"hierarchy) or reduce the features (e.g. TfidfVectorizer(max_features=...))."
        )
    # liblinear takes 32-bit indices only: a node's columns and values always fit.
    if column_map is None:
        indices = np.searchsorted(columns, X.indices).astype(np.int32)
    else:
        indices = column_map[X.indices].astype(np.int32)
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


def outcome_scores(model: Any, X: Any, lookup: ColumnLookup | None = None) -> NDArray[np.float64]:
    """Scores whose row-wise argmax is the model's most probable outcome.

    For linear models scored from their weights these are the decision values (the
    link that would turn them into probabilities keeps their order); for other
    models, the probabilities themselves. See :attr:`NodeModelAdapter.scores`.
    """
    return adapter_for(model).scores(model, X, lookup)


def outcome_proba(model: Any, X: Any, lookup: ColumnLookup | None = None) -> NDArray[np.float64]:
    """Probabilities of a node model's outcomes, in the order of ``model.classes_``.

    Models without ``predict_proba`` give a one-hot of their hard prediction.
    """
    return adapter_for(model).proba(model, X, lookup)
