"""MultiLabelHierarchicalClassifier: rows that belong to several label paths.

The model is a probabilistic label tree over the hierarchy: at every node with
children, one binary model per child gives the probability that the child is
active given that the node is, and one more gives the probability that a path ends
at the node (where training paths do). A path's probability is the product of these
down the tree, so a child never exceeds its parent, and the searches of
:mod:`hiercls.traversal` that serve the single-label estimator find the paths above a
threshold, or the exact top ``k``, without scoring nodes that cannot qualify.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from sklearn.base import clone

from ._compat import Interval, _check_sample_weight, _fit_context
from .estimator import BaseHierarchicalClassifier, TopKPaths
from .explain import explain_path_sets
from .hierarchy import ROOT, Hierarchy, encode_path_sets, read_path_sets
from .label_tree import WHOLE_TREE_MAX_ROWS, LinearLabelTree
from .linear import OneVsRestLinearSVC, OneVsRestLogisticRegression, fit_binary_columns
from .model_selection import is_auto
from .node_models import adapter_for, node_rows, outcome_proba
from .sparse_linear import ColumnLookup, SparseLinearModel, positive_proba, stack_binary_models
from .sufficiency import apply_sufficiency_policy, sufficiency_report
from .traversal import NodeScorer, Routes, TopPaths, paths_above, top_k_paths
from .warm_start import take_previous_fit

__all__ = ["IndependentOutcomes", "MultiLabelHierarchicalClassifier", "PathSets", "fit_label_node"]


# --------------------------------------------------------------------- node models
class IndependentOutcomes:
    """A node's model in a label tree: one binary model per outcome, probabilities not summed to 1.

    Parameters
    ----------
    outcomes : ndarray of int
        The node id of each outcome: children, and the node itself for "a path ends here".
    stacked : SparseLinearModel or None
        Compact linear binary models of some outcomes kept as one model with an output
        each (see :func:`~hiercls.sparse_linear.stack_binary_models`), scored in one
        sparse product.
    stacked_at : ndarray of int
        The outcome position of each output of ``stacked``.
    models : dict of int -> model or float
        The other outcomes' fitted binary models, or the constant probability of an
        outcome whose training rows were all positive (1.0) or all negative (0.0).
    """

    def __init__(
        self,
        outcomes: NDArray[np.intp],
        stacked: SparseLinearModel | None,
        stacked_at: NDArray[np.intp],
        models: dict[int, Any],
    ) -> None:
        self.classes_ = outcomes
        self.stacked = stacked
        self.stacked_at = stacked_at
        self.models = models

    def predict_proba(self, X: Any, lookup: ColumnLookup | None = None) -> NDArray[np.float64]:
        """Probability of each outcome, given that the node is active; shape (n, n_outcomes)."""
        out = np.empty((X.shape[0], len(self.classes_)))
        if self.stacked is not None:
            scores = self.stacked.decision_function(X, lookup)
            out[:, self.stacked_at] = positive_proba(scores, self.stacked.link)
        for j, model in self.models.items():
            if isinstance(model, float):
                out[:, j] = model
            else:
                out[:, j] = outcome_proba(model, X, lookup)[:, list(model.classes_).index(1)]
        return out


def fit_label_node(
    estimator: Any,
    X: Any,
    rows: NDArray[np.intp],
    targets: NDArray[np.int8],
    sample_weight: NDArray[np.float64] | None,
    fit_params: dict[str, Any] | None = None,
) -> IndependentOutcomes:
    """Fit one node's binary models, one per column of ``targets``, on the node's rows.

    The rows (and, for linear models on sparse ``X``, their used columns) are taken
    once for all columns; hiercls's one-vs-rest linear models solve every column on
    one validated copy (:func:`~hiercls.linear.fit_binary_columns`). A column whose
    rows are all 1 (or all 0) gets that probability, without a fit.

    Returns
    -------
    model : IndependentOutcomes
        Its ``classes_`` are the column positions; the caller names the outcomes.
    """
    fit_params = dict(fit_params or {})
    if sample_weight is not None:
        fit_params["sample_weight"] = sample_weight[rows]
    X_node, columns = node_rows(estimator, X, rows)
    positives = targets.sum(axis=0)
    varying = np.flatnonzero((positives > 0) & (positives < len(rows)))
    others: dict[int, Any] = {j: float(positives[j] > 0) for j in range(targets.shape[1])}
    outcomes = np.arange(targets.shape[1])
    if not len(varying):
        return IndependentOutcomes(outcomes, None, np.empty(0, dtype=np.intp), others)
    adapter = adapter_for(estimator)
    if columns is not None and isinstance(estimator, (OneVsRestLinearSVC, OneVsRestLogisticRegression)):
        fitted = fit_binary_columns(estimator, X_node, targets[:, varying], fit_params.get("sample_weight"))
        for j in varying.tolist():
            del others[j]
        return IndependentOutcomes(outcomes, adapter.compact(fitted, columns, X.shape[1]), varying, others)
    fitted_models = {j: clone(estimator).fit(X_node, targets[:, j], **fit_params) for j in varying.tolist()}
    if columns is None:
        return IndependentOutcomes(outcomes, None, np.empty(0, dtype=np.intp), {**others, **fitted_models})
    compact = [adapter.compact(model, columns, X.shape[1]) for model in fitted_models.values()]
    for j in varying.tolist():
        del others[j]
    return IndependentOutcomes(outcomes, stack_binary_models(compact), varying, others)


# ----------------------------------------------------------------------- results
@dataclass(frozen=True)
class PathSets:
    """The paths predicted for each row, as flat arrays sorted by row, then probability.

    Attributes
    ----------
    row : ndarray of int
        The row of each predicted path.
    class_index : ndarray of int
        Its position in ``classes_``.
    proba : ndarray of float
        Its probability.
    classes : list of tuple
        The estimator's ``classes_``.
    n_samples : int
    """

    row: NDArray[np.intp]
    class_index: NDArray[np.intp]
    proba: NDArray[np.float64]
    classes: list[tuple[Any, ...]]
    n_samples: int

    @property
    def paths(self) -> list[list[tuple[Any, ...]]]:
        """Per row, the list of predicted paths, most probable first."""
        out: list[list[tuple[Any, ...]]] = [[] for _ in range(self.n_samples)]
        for row, index in zip(self.row.tolist(), self.class_index.tolist(), strict=True):
            out[row].append(self.classes[index])
        return out

    @property
    def path_proba(self) -> list[NDArray[np.float64]]:
        """Per row, the probabilities of its predicted paths (as in :attr:`paths`)."""
        bounds = np.searchsorted(self.row, np.arange(self.n_samples + 1))
        return [self.proba[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def to_frame(self) -> pd.DataFrame:
        """One line per predicted path: ``row``, ``path`` (tuple) and ``proba``."""
        return pd.DataFrame(
            {
                "row": self.row,
                "path": [self.classes[i] for i in self.class_index.tolist()],
                "proba": self.proba,
            }
        )


# --------------------------------------------------------------------- estimator
class MultiLabelHierarchicalClassifier(BaseHierarchicalClassifier):
    """A probabilistic label tree over a label hierarchy: several paths per row.

    At each node with children, one binary model per child learns, from the rows
    where the node is active, whether the child is active too; where some training
    paths end at the node, one more learns whether a path ends there. A path's
    probability is the product of these down the tree.

    Parameters
    ----------
    estimator : classifier, default=None
        Binary model cloned for every (node, outcome). None picks, as
        :class:`~hiercls.HierarchicalClassifier` does, a linear model by the input:
        ``OneVsRestLinearSVC()`` (one squared-hinge SVM, compact sparse weights) for
        TF-IDF-like ``X``, else ``LogisticRegression(max_iter=1000)``.
    level_estimators : dict of str -> classifier, default=None
        Models per level, keyed by level name (the level whose labels they decide).
    node_estimators : dict of tuple -> classifier, default=None
        Models for the children of single nodes, keyed by the node's path; ``()`` is
        the root.
    threshold : float in (0, 1], default=0.4
        ``predict`` returns every path whose probability reaches it. 0.4 gave the best
        F1 of the path sets on held-out WordNet rows (0.3 to 0.45 within 0.001 of it;
        ``experiments/results/multilabel_threshold.md``).
    min_paths : int, default=1
        Rows with fewer paths above ``threshold`` get their most probable paths up to
        this many; 0 lets a row have none.
    min_samples : int, default=100
        Training rows a class needs to be learned: the rows in which it is on some path
        (see ``sufficiency_report_``).
    sufficiency_policy : {"warn", "raise", "merge", "ignore"}, default="warn"
        What to do about classes below ``min_samples``, as in
        :class:`~hiercls.HierarchicalClassifier`; ``"merge"`` ends their paths at the
        parent.
    n_jobs : int, default=None
        Node models fitted in parallel (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds each node model from this value and the node, whatever ``n_jobs`` is.
    verbose : int, default=0
        From 1, a log message and, on a terminal, a progress bar over node fits.
    warm_start : bool, default=False
        When True, the next ``fit`` takes over every node's binary models whose
        training problem is unchanged and fits only the others, as in
        :class:`~hiercls.HierarchicalClassifier`.

    Attributes
    ----------
    classes_ : list of tuple
        The distinct paths of the training target (full paths, and paths that end
        early), sorted; the columns of ``predict`` and ``predict_proba``.
    hierarchy_ : Hierarchy
        The label tree inferred from the training paths.
    levels_ : list of str
    estimators_ : list
        Per node id, an :class:`IndependentOutcomes` (None for leaves).
    n_paths_ : int
        Number of paths the model can predict (``len(classes_)``).
    sufficiency_report_ : SufficiencyReport
        Rows per class (rows in which it is active) before training, and what was merged.
    node_fingerprints_ : dict of tuple -> str
        Per node with children, a hex digest of its training problem (see ``warm_start``).
    n_nodes_refitted_ : int
        Nodes whose binary models the last ``fit`` fitted.
    n_nodes_reused_ : int
        Nodes whose models the last ``fit`` took over unchanged.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` had string column names.

    Examples
    --------
    >>> from hiercls import MultiLabelHierarchicalClassifier
    >>> X = [[0, 0], [0, 1], [1, 0], [1, 1]] * 5
    >>> Y = [[("a", "a1")], [("a", "a1"), ("b",)], [("a", "a2")], [("a", "a2"), ("b",)]] * 5
    >>> clf = MultiLabelHierarchicalClassifier().fit(X, Y)
    >>> clf.predict_paths([[0, 1], [1, 0]]).paths  # most probable first
    [[('b',), ('a', 'a1')], [('a', 'a2')]]
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **BaseHierarchicalClassifier._shared_constraints,
        "threshold": [Interval(Real, 0, 1, closed="right")],
        "min_paths": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        level_estimators: dict[str, Any] | None = None,
        node_estimators: dict[tuple[Any, ...], Any] | None = None,
        threshold: float = 0.4,
        min_paths: int = 1,
        min_samples: int = 100,
        sufficiency_policy: str = "warn",
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.estimator = estimator
        self.level_estimators = level_estimators
        self.node_estimators = node_estimators
        self.threshold = threshold
        self.min_paths = min_paths
        self.min_samples = min_samples
        self.sufficiency_policy = sufficiency_policy
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def _validate_params(self) -> None:
        if is_auto(self.estimator):
            raise ValueError(
                f"The 'estimator' parameter of MultiLabelHierarchicalClassifier does not take "
                f"{self.estimator!r}: estimator='auto' (a node model chosen per level) is offered "
                f"by HierarchicalClassifier, for one path per row; here every node fits one "
                f"binary model per child. Use estimator=None (the linear default), a classifier "
                f"(e.g. LGBMClassifier() on dense tabular data), or level_estimators to choose "
                f"per level."
            )
        super()._validate_params()

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # Models saved before warm_start existed load with its default.
        self.__dict__.setdefault("warm_start", False)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self,
        X: ArrayLike,
        y: Any,
        *,
        paths: Sequence[Any] | None = None,
        sample_weight: ArrayLike | None = None,
    ):  # type: ignore[no-untyped-def]
        """Fit the binary models of every node.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : list of lists of paths, or indicator matrix of shape (n_samples, n_paths)
            Per row, its label paths (tuples of labels, coarse to fine; a path may
            end above the leaves). An indicator matrix's columns are ``paths``, or
            one-level paths ``(0,)``, ``(1,)``, ... without them (scikit-learn's
            form); a 1-D array of class labels gives each row one one-level path.
        paths : sequence of paths, default=None
            The path of each column of an indicator ``y``.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed to every node model with its rows.

        Returns
        -------
        self : MultiLabelHierarchicalClassifier
        """
        self._warm_start_from = take_previous_fit(self)
        for template in self._templates():
            params = template.get_params(deep=False) if hasattr(template, "get_params") else {}
            weights = params.get("class_weight")
            if isinstance(weights, Mapping):
                raise ValueError(
                    f"class_weight of {type(template).__name__} is a dict, which the binary "
                    f"models of a label tree cannot use; use class_weight='balanced' or None."
                )
        X_checked = self._validate_for_fit(X)
        if y is None:
            raise ValueError(
                "MultiLabelHierarchicalClassifier requires y to be passed, but the target y is None; "
                "give, per row, a list of label paths."
            )
        codes = encode_path_sets(y, paths=paths)
        if codes.n_samples != X_checked.shape[0]:
            raise ValueError(
                f"X has {X_checked.shape[0]} rows but Y has {codes.n_samples}; give one list of paths "
                f"per row of X."
            )
        self._check_estimator_keys(codes.hierarchy)
        self.sufficiency_report_ = sufficiency_report(
            codes.hierarchy,
            codes.node_codes,
            min_samples=self.min_samples,
            estimator=self.estimator,
            policy=self.sufficiency_policy,
            support=codes.support(),
        )
        codes = codes.with_codes(
            *apply_sufficiency_policy(self.sufficiency_report_, codes.hierarchy, codes.node_codes)
        )
        hierarchy = self.hierarchy_ = codes.hierarchy
        self.levels_ = list(hierarchy.level_names)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X_checked)
        if weights is not None:
            self._check_accepts_sample_weight()
        active, ends = codes.active(), codes.ends()
        self.estimators_ = self._fit_label_tree(X_checked, hierarchy, active, ends, weights)
        self._routes = Routes.from_models(self.estimators_, shares_parent=False)
        self._class_nodes, self.classes_ = codes.end_paths()
        self._class_of_node = np.full(hierarchy.n_nodes, -1, dtype=np.intp)
        self._class_of_node[self._class_nodes] = np.arange(len(self._class_nodes))
        self.n_paths_ = len(self.classes_)
        self._whole_tree = self._build_whole_tree()
        return self

    def _fit_label_tree(
        self,
        X: Any,
        hierarchy: Hierarchy,
        active: sparse.csc_matrix,
        ends: sparse.csc_matrix,
        sample_weight: NDArray[np.float64] | None,
    ) -> list[Any]:
        """One task per node with children: its rows, and one 0/1 column per outcome."""
        tasks = []
        outcomes = {}
        ending = np.diff(ends.indptr) > 0
        all_rows = np.arange(active.shape[0])
        for node in range(hierarchy.n_nodes):
            children = hierarchy.children(node)
            if len(children) == 0:
                continue
            rows = all_rows if node == ROOT else active.indices[active.indptr[node] : active.indptr[node + 1]]
            node_outcomes = np.r_[children, [node]] if ending[node] else np.asarray(children)
            targets = np.empty((len(rows), len(node_outcomes)), dtype=np.int8)
            for position, outcome in enumerate(node_outcomes.tolist()):
                source = ends if outcome == node else active
                targets[:, position] = np.isin(
                    rows, source.indices[source.indptr[outcome] : source.indptr[outcome + 1]]
                )
            outcomes[node] = node_outcomes.astype(np.intp)
            tasks.append((node, rows, targets))
        models: list[Any] = [None] * hierarchy.n_nodes
        for (node, _, _), model in zip(
            tasks, self._fit_node_tasks(X, hierarchy, tasks, sample_weight, fit=fit_label_node), strict=True
        ):
            model.classes_ = outcomes[node]
            models[node] = model
        return models

    # ---------------------------------------------------------------- predict
    def predict_paths(self, X: ArrayLike) -> PathSets:
        """Every path whose probability reaches ``threshold`` (at least ``min_paths`` per row).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        paths : PathSets
            Per row, its predicted paths (tuples, coarse to fine) and their probabilities.
        """
        X_checked: Any = self._validate_for_predict(X)
        n = X_checked.shape[0]
        tree = self._linear_tree(n)
        if tree is not None:
            rows, classes, proba = _paths_above_from_tree(tree, X_checked, self.threshold, self.min_paths)
            return PathSets(rows, classes, proba, self.classes_, n)
        rows, nodes, proba = paths_above(
            self._routes, NodeScorer(self.estimators_, X_checked), n, self.threshold
        )
        short = np.flatnonzero(np.bincount(rows, minlength=n) < self.min_paths)
        if short.size:
            # Their most probable paths include every path above the threshold.
            k = min(self.min_paths, self.n_paths_)
            scorer = NodeScorer(self.estimators_, X_checked[short], remember=True)
            top = top_k_paths(self._routes, scorer, len(short), k)
            found = top.nodes >= 0
            kept = ~np.isin(rows, short)
            rows = np.r_[rows[kept], np.repeat(short, k)[found.ravel()]]
            nodes = np.r_[nodes[kept], top.nodes[found]]
            proba = np.r_[proba[kept], top.proba[found]]
        order = np.lexsort((-proba, rows))
        return PathSets(rows[order], self._class_of_node[nodes[order]], proba[order], self.classes_, n)

    def _linear_tree(self, n_rows: int | None = None) -> LinearLabelTree | None:
        """The whole tree as one linear model, or None: the search scores it.

        With ``n_rows``, None also for batches over :data:`~hiercls.label_tree.WHOLE_TREE_MAX_ROWS`
        rows, where the search's pruning saves more than its Python work per node costs.
        """
        if n_rows is not None and n_rows > WHOLE_TREE_MAX_ROWS:
            return None
        if "_whole_tree" not in self.__dict__:  # dropped from the saved state (see __getstate__)
            self._whole_tree = self._build_whole_tree()
        return self._whole_tree

    def _build_whole_tree(self) -> LinearLabelTree | None:
        return LinearLabelTree.from_models(self.estimators_, self.hierarchy_.depth, self._class_of_node)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object.__getstate__ gives __dict__ itself
        state.pop("_whole_tree", None)  # rebuilt on first use: not worth its bytes on disk
        return state

    def predict(self, X: ArrayLike) -> sparse.csr_matrix:
        """Indicator of the predicted paths, scikit-learn's multi-label convention.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        Y_pred : scipy.sparse.csr_matrix of shape (n_samples, n_classes)
            1 where the row's path ``classes_[j]`` is predicted (see :meth:`predict_paths`).
        """
        found = self.predict_paths(X)
        data = np.ones(len(found.row), dtype=np.int8)
        return sparse.csr_matrix(
            (data, (found.row, found.class_index)), shape=(found.n_samples, self.n_paths_)
        )

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Probability of every path in ``classes_``, exactly: every node model sees every row.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; they need not sum to 1.
        """
        X_checked: Any = self._validate_for_predict(X)
        n = X_checked.shape[0]
        tree = self._linear_tree()
        if tree is not None:
            return np.concatenate([tree.score(chunk).ends for chunk in _chunks(tree, X_checked)])
        scorer = NodeScorer(self.estimators_, X_checked)
        out = np.zeros((n, self.n_paths_))
        reach: dict[int, NDArray[np.float64]] = {ROOT: np.ones(n)}
        all_rows = np.arange(n)
        for node in range(self.hierarchy_.n_nodes):  # ids grow with depth: parents first
            node_reach = reach.pop(node, None)
            if node_reach is None:
                continue
            node_outcomes = self._routes.outcomes[node]
            if node_outcomes is None:  # a leaf: its path ends here
                out[:, self._class_of_node[node]] = node_reach
                continue
            conditional = scorer(node, all_rows)
            for position, outcome in enumerate(node_outcomes.tolist()):
                proba = conditional[:, position] * node_reach
                if outcome == node:
                    out[:, self._class_of_node[node]] = proba
                else:
                    reach[outcome] = proba
        return out

    def predict_top_k(self, X: ArrayLike, k: int = 5) -> TopKPaths:
        """The ``k`` most probable paths of each row, found exactly.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        k : int, default=5
            At most ``n_paths_`` (a larger ``k`` is lowered to it).

        Returns
        -------
        paths : TopKPaths
        """
        k = self._check_k(k)
        X_checked: Any = self._validate_for_predict(X)
        n = X_checked.shape[0]
        tree = self._linear_tree(n)
        if tree is None:
            scorer = NodeScorer(self.estimators_, X_checked, remember=True)
            top = top_k_paths(self._routes, scorer, n, k, n_levels=self.hierarchy_.n_levels)
        else:
            top = _top_k_from_tree(tree, X_checked, k, self._class_nodes, self.hierarchy_)
        path_codes = self.hierarchy_.ancestors(top.nodes.ravel())
        labels = np.empty((top.nodes.size, self.hierarchy_.n_levels), dtype=object)
        for j in range(self.hierarchy_.n_levels):
            labels[:, j] = self.hierarchy_.node_labels(path_codes[:, j], j)
        return TopKPaths(labels.reshape(n, k, -1), top.proba, top.level_proba)

    def explain(
        self, X: ArrayLike, *, top: int = 5, feature_names: Any = None, background: Any = None
    ) -> pd.DataFrame:
        """The features that made each step of each predicted path likely.

        Every path of :meth:`predict_paths` is a chain of binary decisions, one per
        node on it: "this child is active" (or "a path ends here"). For each row and
        step, the features that pushed that outcome's decision value up most, with
        their contributions: ``value * weight`` for linear node models (with the
        intercept they add up to the decision value), LightGBM's ``pred_contrib``
        for LightGBM ones, and with shap installed (``pip install "hiercls[explain]"``)
        the SHAP values of "active" minus those of "inactive" for other node models
        (see :meth:`HierarchicalClassifier.explain <hiercls.HierarchicalClassifier.explain>`
        for the explainers and their spaces). A step two paths of a row share is listed once; outcomes
        of a fixed probability (every training row agreed) have no features.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        top : int, default=5
            Features kept per row and step, largest contributions first.
        feature_names : sequence of str, optional
            Names of ``X``'s columns; default ``feature_names_in_``, else ``x0, x1, ...``.
            For a Pipeline, use :func:`hiercls.explain.explain_predictions`, which
            names a TF-IDF vocabulary's words.
        background : {array-like, sparse matrix, DataFrame}, optional
            Rows to compare with (a sample of the training rows), for node models
            only a model-agnostic SHAP explainer reads; k-NN node models default to
            a sample of the rows they keep.

        Returns
        -------
        explanation : DataFrame
            Columns ``row, level, node, chosen, runner_up, feature, value,
            contribution``: ``level`` is the level decided, ``node`` the deciding
            node's path, ``chosen`` the outcome (a label, or ``"(path ends here)"``),
            ``runner_up`` always ``"(inactive)"``.

        Raises
        ------
        UnexplainableModelError
            For a node model on some path that is neither linear nor LightGBM, when
            shap is not installed or it needs ``background``. Also a ``TypeError``.
        """
        X_checked, names, background_checked = self._explain_inputs(X, top, feature_names, background)
        found = self.predict_paths(X_checked)
        return explain_path_sets(
            self,
            X_checked,
            found.row,
            self._class_nodes[found.class_index],
            names,
            int(top),
            background_checked,
        )

    def score(self, X: ArrayLike, y: Any, sample_weight: ArrayLike | None = None) -> float:
        """Example-based F1 of the predicted path sets (each row's F1, averaged).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : list of lists of paths, or any other form :meth:`fit` takes (without ``paths``)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        predicted = self.predict(X).astype(np.float64)
        n_samples, rows, pair_paths = read_path_sets(y)
        index = {path: j for j, path in enumerate(self.classes_)}
        columns = np.array([index.get(path, -1) for path in pair_paths], dtype=np.intp)
        known = columns >= 0
        truth = sparse.csr_matrix(
            (np.ones(known.sum()), (rows[known], columns[known])), shape=(n_samples, self.n_paths_)
        )
        n_true = np.bincount(rows, minlength=n_samples)  # unknown paths count as missed
        hits = np.asarray(truth.multiply(predicted).sum(axis=1)).ravel()
        n_pred = np.asarray(predicted.sum(axis=1)).ravel()
        denominator = n_true + n_pred
        f1 = np.where(denominator > 0, 2 * hits / np.maximum(denominator, 1), 1.0)
        return float(
            np.average(f1, weights=None if sample_weight is None else np.asarray(sample_weight, dtype=float))
        )


# ------------------------------------------------------- the whole tree at once
def _chunks(tree: LinearLabelTree, X: Any) -> Iterator[Any]:
    n = X.shape[0]
    for rows in tree.chunks(n):
        yield X if rows.stop - rows.start == n else X[rows]


def _best_of_rows(ends: NDArray[np.float64], k: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Each row's ``k`` most probable classes, descending; -1 / NaN past its paths of probability > 0."""
    if k < ends.shape[1]:
        best = np.argpartition(-ends, k - 1, axis=1)[:, :k]
    else:
        best = np.broadcast_to(np.arange(ends.shape[1]), ends.shape)
    proba = np.take_along_axis(ends, best, axis=1)
    order = np.argsort(-proba, axis=1, kind="stable")
    best, proba = np.take_along_axis(best, order, axis=1), np.take_along_axis(proba, order, axis=1)
    none = proba <= 0  # as in the search, a path of probability 0 is no path
    return np.where(none, -1, best), np.where(none, np.nan, proba)


def _top_k_from_tree(
    tree: LinearLabelTree, X: Any, k: int, class_nodes: NDArray[np.intp], hierarchy: Hierarchy
) -> TopPaths:
    """:func:`~hiercls.traversal.top_k_paths`'s result, from the whole tree's table."""
    nodes, proba, levels = [], [], []
    for chunk in _chunks(tree, X):
        scores = tree.score(chunk)
        best, best_proba = _best_of_rows(scores.ends, k)
        best_nodes = np.where(best >= 0, class_nodes[best], -1)
        codes = hierarchy.ancestors(best_nodes.ravel()).reshape(*best.shape, -1)
        row = np.arange(len(best))[:, None, None]
        level_proba = np.where(codes >= 0, scores.reach[row, np.maximum(codes, 0)], np.nan)
        nodes.append(best_nodes)
        proba.append(best_proba)
        levels.append(level_proba)
    return TopPaths(np.concatenate(nodes), np.concatenate(proba), np.concatenate(levels))


def _paths_above_from_tree(
    tree: LinearLabelTree, X: Any, threshold: float, min_paths: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """(row, class, proba) of every path reaching ``threshold``, at least ``min_paths`` a row.

    Sorted by row, then by descending probability, as the search gives them.
    """
    rows, classes, probas = [], [], []
    offset = 0
    for chunk in _chunks(tree, X):
        ends = tree.score(chunk).ends
        # The search's margin: a path a hair under the threshold by rounding still counts.
        above = (ends >= threshold * (1 - 1e-12)) & (ends > 0)
        if min_paths:
            short = np.flatnonzero(above.sum(axis=1) < min_paths)
            if short.size:
                best, _ = _best_of_rows(ends[short], min(min_paths, ends.shape[1]))
                found = best >= 0
                above[np.repeat(short, best.shape[1])[found.ravel()], best[found]] = True
        row, column = np.nonzero(above)
        proba = ends[row, column]
        order = np.lexsort((-proba, row))
        rows.append(row[order] + offset)
        classes.append(column[order])
        probas.append(proba[order])
        offset += chunk.shape[0]
    return np.concatenate(rows), np.concatenate(classes), np.concatenate(probas)
