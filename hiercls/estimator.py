"""HierarchicalClassifier: a scikit-learn classifier made of a tree of node models."""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from ._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    get_tags,
    validate_data,
)
from ._node_bank import NodeModelBank
from ._portable_state import PortableState
from .auto_collapse import select_collapsed_levels
from .categorical import categorical_node_settings, find_categorical_columns
from .collapse import check_collapse_keys, collapsed_routes, decision_training_sets, resolve_collapse_levels
from .exceptions import WeightPruningWarning
from .explain import explain_paths
from .hierarchy import Hierarchy, LabelPaths, read_label_paths
from .model_selection import AutoNodeModel, as_auto_node_model, is_auto, select_level_models
from .node_models import (
    ConstantNodeModel,
    adapter_for,
    base_seed_of,
    compact_dense_linear_model,
    default_node_estimator,
    fit_node_collecting_convergence,
    is_text_like,
    make_node_estimator,
    node_seed,
)
from .sparse_linear import SparseLinearModel
from .sufficiency import SUFFICIENCY_POLICIES, apply_sufficiency_policy, sufficiency_report
from .traversal import (
    GreedyPaths,
    NodeScorer,
    Routes,
    best_paths,
    greedy_paths,
    level_marginals,
    top_k_paths,
)
from .warm_start import NodeSettings, plan_node_fits, take_previous_fit

__all__ = ["HierarchicalClassifier", "PathPrediction", "TopKPaths"]

logger = logging.getLogger(__name__)

#: ``estimator=None`` on input that is not TF-IDF-like selects each level's model
#: (``"auto"``) from this many training rows on; below, it is LogisticRegression.
DEFAULT_SELECTION_MIN_ROWS = 5_000


@dataclass(frozen=True)
class PathPrediction:
    """Predicted paths with the probability of each predicted node.

    Attributes
    ----------
    labels : ndarray of shape (n_samples, n_levels)
        As returned by :meth:`HierarchicalClassifier.predict` (2-D even for one level).
    level_proba : ndarray of float, shape (n_samples, n_levels)
        Probability of the predicted node at each level: the product of conditional
        probabilities down the path. NaN below a stop.
    path_proba : ndarray of float, shape (n_samples,)
        Probability of the predicted outcome: the deepest predicted node's
        probability, times the model's "stop" probability where the model predicted
        that the path ends at that node.
    top : TopKPaths or None
        With ``predict_paths(X, top_k=k)``, each row's ``k`` most probable paths.
    """

    labels: NDArray[Any]
    level_proba: NDArray[np.float64]
    path_proba: NDArray[np.float64]
    top: TopKPaths | None = None


@dataclass(frozen=True)
class TopKPaths:
    """The ``k`` most probable complete paths of each row.

    Attributes
    ----------
    labels : ndarray of object, shape (n_samples, k, n_levels)
        Labels of each path; None below the end of a path that stops early and
        everywhere in a slot for which the row has no further path.
    proba : ndarray of float, shape (n_samples, k)
        Probability of each path, descending; NaN for an empty slot.
    level_proba : ndarray of float, shape (n_samples, k, n_levels), or None
        Probability of each path's node at each level (NaN below its end), where the
        estimator gives it (:class:`~hiercls.MultiLabelHierarchicalClassifier`).
    """

    labels: NDArray[Any]
    proba: NDArray[np.float64]
    level_proba: NDArray[np.float64] | None = None


def _templates_have(method: str):  # type: ignore[no-untyped-def]
    def check(self: HierarchicalClassifier) -> bool:
        return all(hasattr(t, method) for t in self._templates())

    return check


class BaseHierarchicalClassifier(PortableState, ClassifierMixin, BaseEstimator):
    """What every hiercls estimator shares: node-model templates, node fits, input checks.

    Subclasses give ``fit`` (which builds ``hierarchy_`` and calls
    :meth:`_fit_node_tasks`) and the prediction methods. Not for direct use.
    """

    #: Constraints of the parameters every subclass has.
    _shared_constraints: dict[str, list[Any]] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "level_estimators": [dict, None],
        "node_estimators": [dict, None],
        "min_samples": [Interval(Integral, 1, None, closed="left")],
        "sufficiency_policy": [StrOptions(set(SUFFICIENCY_POLICIES))],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # a new dict (PortableState encodes every value)
        if isinstance(state.get("estimators_"), list):
            state["estimators_"] = NodeModelBank.pack(state["estimators_"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("estimators_"), NodeModelBank):
            state = {**state, "estimators_": state["estimators_"].unpack()}
        super().__setstate__(state)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get parameters, including ``<level>__<param>`` of per-level estimators.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        if deep and isinstance(self.level_estimators, Mapping):
            for name, estimator in self.level_estimators.items():
                params[name] = estimator
                if hasattr(estimator, "get_params"):
                    for key, value in estimator.get_params(deep=True).items():
                        params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params: Any) -> HierarchicalClassifier:
        """Set parameters; ``<level>=estimator`` replaces a per-level estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters, ``<level>`` and ``<level>__<param>`` included.

        Returns
        -------
        self : HierarchicalClassifier
        """
        if "level_estimators" in params:
            self.level_estimators = params.pop("level_estimators")
        levels = self.level_estimators if isinstance(self.level_estimators, Mapping) else {}
        replaced = {k: params.pop(k) for k in list(params) if k in levels}
        if replaced:
            self.level_estimators = {**levels, **replaced}
        super().set_params(**params)
        return self

    def _templates(self) -> list[Any]:
        return self._explicit_templates() + self._auto_templates()

    def _explicit_templates(self) -> list[Any]:
        """The node models the user named (the default for ``estimator=None``), without auto's."""
        templates = []
        if not is_auto(self.estimator):
            templates.append(self.estimator if self.estimator is not None else default_node_estimator())
        for mapping in (self.level_estimators, self.node_estimators):
            if isinstance(mapping, Mapping):
                templates.extend(mapping.values())
        return templates

    def _auto_node_model(self) -> AutoNodeModel | None:
        """The model selection in effect: ``estimator="auto"``, or the default's on non-text input."""
        auto = as_auto_node_model(self.estimator)
        if auto is None and self.estimator is None and self._default_is_auto():
            return AutoNodeModel()
        return auto

    def _default_is_auto(self) -> bool:
        """Whether ``estimator=None`` selects each level's model (known once ``X`` is seen)."""
        return False

    def _auto_templates(self) -> list[Any]:
        """With ``estimator="auto"``: the levels' choices once made, the candidates before."""
        auto = self._auto_node_model()
        if auto is None:
            return []
        chosen = getattr(self, "_level_templates", None)
        if chosen is not None:
            return list(chosen.values()) or [default_node_estimator()]
        return [template for _, template in auto.candidate_templates()]

    def _allows_nan(self) -> bool:
        allowed = all(get_tags(t).input_tags.allow_nan for t in self._explicit_templates())
        auto = self._auto_templates()
        if auto and getattr(self, "_level_templates", None) is None:
            # Before selection, NaN goes through: the selection skips the candidates that
            # cannot take it, and names them if none is left (ModelSelectionError).
            return allowed
        return allowed and all(get_tags(t).input_tags.allow_nan for t in auto)

    def _check_estimator_keys(self, hierarchy: Hierarchy) -> None:
        levels = set(hierarchy.level_names)
        reserved = levels & set(self._get_param_names())
        if reserved:
            raise ValueError(
                f"Level names {sorted(reserved)} clash with HierarchicalClassifier "
                f"parameters; rename those levels (e.g. the DataFrame columns of Y)."
            )
        unknown = set(self.level_estimators or {}) - levels
        if unknown:
            raise ValueError(
                f"level_estimators has keys {sorted(unknown)} that are not levels of Y; "
                f"the levels are {list(hierarchy.level_names)}."
            )
        parents = None
        for path in self.node_estimators or {}:
            if not isinstance(path, tuple) or len(path) >= hierarchy.n_levels:
                raise ValueError(
                    f"node_estimators keys must be tuples of labels naming a parent node "
                    f"(at most {hierarchy.n_levels - 1} labels; () is the root); got {path!r}."
                )
            if parents is None:
                parents = {
                    hierarchy.node_path(node)
                    for node in range(hierarchy.n_nodes)
                    if len(hierarchy.children(node))
                }
            if path not in parents:
                plain = [tuple(x.item() if isinstance(x, np.generic) else x for x in p) for p in parents]
                examples = sorted(plain, key=lambda p: (len(p), repr(p)))[:3]
                raise ValueError(
                    f"node_estimators has the key {path!r}, which is not a node with children "
                    f"in this hierarchy; keys are label paths from level 0 down to a parent "
                    f"node, e.g. {', '.join(repr(p) for p in examples)}."
                )

    def _check_accepts_sample_weight(self) -> None:
        # auto's candidates that take no weights are skipped by the selection instead.
        for template in self._explicit_templates():
            if not adapter_for(template).accepts_sample_weight(template):
                raise ValueError(
                    f"sample_weight was given but the node model {template!r} does not "
                    f"accept sample_weight in fit; use a model that does, or fit without "
                    f"weights."
                )

    def _template_for(self, hierarchy: Hierarchy, node: int) -> Any:
        if self.node_estimators:
            path = hierarchy.node_path(node)
            if path in self.node_estimators:
                return self.node_estimators[path]
        level_name = hierarchy.level_names[hierarchy.depth[node]]
        if self.level_estimators and level_name in self.level_estimators:
            return self.level_estimators[level_name]
        if self.estimator is not None and not is_auto(self.estimator):
            return self.estimator
        chosen = getattr(self, "_level_templates", None)
        if chosen and level_name in chosen:
            return chosen[level_name]
        return default_node_estimator(text_like=self._text_like_input)

    def _is_chosen_by_auto(self, hierarchy: Hierarchy, node: int) -> bool:
        """Whether the selection decides this node's model (no per-level or per-node one given)."""
        if self.node_estimators and hierarchy.node_path(node) in self.node_estimators:
            return False
        level_name = hierarchy.level_names[hierarchy.depth[node]]
        return not (self.level_estimators and level_name in self.level_estimators)

    def _fit_node_tasks(
        self,
        X: Any,
        hierarchy: Hierarchy,
        tasks: list[tuple[int, NDArray[np.intp], NDArray[Any]]],
        sample_weight: NDArray[np.float64] | None,
        n_constant: int = 0,
        fit: Any = None,
    ) -> list[Any]:
        """Fit one model per task ``(node, rows, targets)``, in parallel; in task order.

        The node picks the template (see :meth:`_template_for`); ``n_constant`` only
        counts the constant models for the log. ``fit`` replaces
        :func:`~hiercls.node_models.fit_node` (same arguments).
        """
        base_seed = base_seed_of(self.random_state)
        uncalibrated: list[int] = []

        def node_estimator(
            node: int, rows: NDArray[np.intp], targets: NDArray[Any], n_threads: int
        ) -> tuple[Any, dict[str, Any], bool]:
            """The node's unfitted model, its fit keywords, and whether it lost its calibration."""
            template = self._template_for(hierarchy, node)
            params, fit_params = (
                ({}, {})
                if self.categorical_columns_ is None
                else categorical_node_settings(template, self.categorical_columns_)
            )
            estimator = make_node_estimator(
                template,
                n_rows=len(rows),
                seed=None if base_seed is None else node_seed(base_seed, hierarchy.node_path(node)),
                n_threads=n_threads,
            )
            weights = estimator.get_params(deep=False).get("class_weight")
            if isinstance(weights, Mapping):
                params = {**params, "class_weight": _node_class_weight(weights, hierarchy, node, targets)}
            folds = _calibration_folds(estimator)
            if folds is not None and _smallest_child(targets) < folds:
                # Cross-validated calibration needs `folds` rows of every child; this
                # node's model goes uncalibrated rather than failing the whole fit.
                estimator = clone(estimator.estimator) if estimator.estimator is not None else estimator
                return estimator.set_params(**params), fit_params, True
            return estimator.set_params(**params), fit_params, False

        settings = NodeSettings(
            fit,
            lambda template: (
                ({}, {})
                if self.categorical_columns_ is None
                else categorical_node_settings(template, self.categorical_columns_)
            ),
            _calibration_folds,
        )

        level_templates: dict[int, Any] = {}

        def template_of(node: int) -> Any:
            # Templates differ by level unless node_estimators names the node: one lookup per level.
            if self.node_estimators:
                return self._template_for(hierarchy, node)
            depth = int(hierarchy.depth[node])
            if depth not in level_templates:
                level_templates[depth] = self._template_for(hierarchy, node)
            return level_templates[depth]

        def node_settings(node: int, rows: NDArray[np.intp], targets: NDArray[Any]) -> str:
            return settings.digest(
                template_of(node),
                n_rows=len(rows),
                # The node's seed follows from the base seed and its path, and fingerprints
                # are compared by path: the base seed stands for it, without a hash per node.
                seed=base_seed,
                class_weights=lambda weights: _node_class_weight(weights, hierarchy, node, targets),
                keeps_calibration=lambda folds: _smallest_child(targets) >= folds,
            )

        plan = plan_node_fits(
            X, hierarchy, tasks, sample_weight, node_settings, self.__dict__.pop("_warm_start_from", None)
        )
        self.node_fingerprints_ = plan.fingerprints
        self.n_nodes_reused_ = len(plan.reused)
        self.n_nodes_refitted_ = len(tasks) - len(plan.reused)
        all_tasks, to_fit = tasks, plan.to_fit(len(tasks))
        tasks = [all_tasks[i] for i in to_fit]
        uncalibrated.extend(plan.reused_uncalibrated)

        order = sorted(range(len(tasks)), key=lambda i: -len(tasks[i][1]))
        tasks = [tasks[i] for i in order]  # largest first: workers finish together
        n_workers = max(1, min(effective_n_jobs(self.n_jobs), len(tasks)))
        n_threads = max(1, effective_n_jobs(self.n_jobs) // n_workers)
        if self.verbose:
            logger.info(
                "Fitting %d node models (%d constant, %d reused unchanged) on %d workers",
                len(tasks),
                n_constant,
                len(plan.reused),
                n_workers,
            )

        def node_task(node: int, rows: NDArray[np.intp], targets: NDArray[np.intp]) -> Any:
            estimator, fit_params, lost_calibration = node_estimator(node, rows, targets, n_threads)
            if lost_calibration:
                uncalibrated.append(node)
            return delayed(fit_node_collecting_convergence)(
                estimator, X, rows, targets, sample_weight, fit_params, fit=fit
            )

        results = Parallel(n_jobs=n_workers, verbose=max(0, self.verbose - 1), return_as="generator")(
            node_task(node, rows, targets) for node, rows, targets in tasks
        )
        fitted = list(self._progress(results, len(tasks)))
        self.uncalibrated_nodes_ = tuple(hierarchy.node_path(node) for node in sorted(uncalibrated))
        if uncalibrated:
            warnings.warn(
                f"{len(uncalibrated)} node model(s) were fitted without calibration, because "
                f"a child has fewer rows than the calibration's folds: "
                f"{', '.join(repr(p or '(root)') for p in self.uncalibrated_nodes_[:3])}"
                f"{' and more' if len(uncalibrated) > 3 else ''} (see uncalibrated_nodes_). "
                f"Lower cv, or merge rare classes (sufficiency_policy='merge').",
                UserWarning,
                stacklevel=5,
            )
        not_converged = [
            (node, message) for (node, *_), (_, message) in zip(tasks, fitted, strict=True) if message
        ]
        self._warn_not_converged(hierarchy, not_converged, len(tasks))
        models: list[Any] = [None] * len(all_tasks)
        for i, model in plan.reused.items():
            models[i] = model
        for i, (model, _) in zip(order, fitted, strict=True):
            models[to_fit[i]] = model
        return models

    def _progress(self, results: Any, total: int) -> Any:
        """Node fits as they finish, with a progress bar when verbose and on a terminal."""
        if not self.verbose:
            return results
        from tqdm.auto import tqdm

        # disable=None: no bar where stderr is not a terminal (logs, cron, CI).
        return tqdm(results, total=total, desc="node models", unit=" nodes", disable=None, leave=False)

    def _warn_not_converged(
        self, hierarchy: Hierarchy, not_converged: list[tuple[int, str]], n_fitted: int
    ) -> None:
        if not not_converged:
            return
        paths = ", ".join(repr(hierarchy.node_path(node) or "(root)") for node, _ in not_converged[:3])
        more = f" and {len(not_converged) - 3} more" if len(not_converged) > 3 else ""
        first = not_converged[0][1].strip().splitlines()[0]
        warnings.warn(
            f"{len(not_converged)} of {n_fitted} node models did not converge: {paths}{more}. "
            f"The first said: {first} Raise the node model's max_iter, scale the features, "
            f"or loosen its tol.",
            ConvergenceWarning,
            stacklevel=6,
        )

    def _warn_unpruned(self, hierarchy: Hierarchy, models: list[Any]) -> None:
        unpruned = [
            node
            for node, model in enumerate(models)
            if isinstance(model, SparseLinearModel)
            and model.weight_threshold == 0.0
            and getattr(self._template_for(hierarchy, node), "weight_threshold", 0.0) > 0.0
        ]
        if unpruned:
            paths = ", ".join(repr(hierarchy.node_path(node)) for node in unpruned[:5])
            more = f" and {len(unpruned) - 5} more" if len(unpruned) > 5 else ""
            warnings.warn(
                f"weight_threshold would remove every weight of the node models at {paths}"
                f"{more} ({len(unpruned)} of {sum(m is not None for m in models)} node "
                f"models); they keep all their weights. Lower weight_threshold to prune "
                f"them too.",
                WeightPruningWarning,
                stacklevel=5,
            )

    def _validate_for_fit(self, X: ArrayLike) -> Any:
        """Encode categorical columns, validate ``X`` and note what the node models need to know."""
        self._nan_allowed = self._allows_nan()
        categorical = find_categorical_columns(X) if isinstance(X, pd.DataFrame) else None
        if categorical is not None:
            for template in self._explicit_templates():
                categorical_node_settings(template, categorical)  # refuse before any work
            X = categorical.encode(X)
        self.categorical_columns_ = categorical
        X_checked: Any = validate_data(
            self,
            X,
            accept_sparse="csr",
            ensure_all_finite=not self._nan_allowed,
            reset=True,
        )
        if sparse.issparse(X_checked) and not X_checked.has_canonical_format:
            # Sort once here: joblib's workers see a large X as a read-only memory map,
            # where scipy (and the solvers calling it) could not sort it in place.
            X_checked = X_checked.copy()
            X_checked.sum_duplicates()
        self._text_like_input = is_text_like(X_checked)
        self._n_fit_rows = X_checked.shape[0]
        return X_checked

    def _validate_for_predict(self, X: ArrayLike) -> Any:
        check_is_fitted(self)
        if self._is_ready_input(X):
            return X
        categorical = self.categorical_columns_
        if categorical is not None and isinstance(X, pd.DataFrame):
            X = categorical.encode(X)
        return validate_data(
            self,
            X,
            accept_sparse="csr",
            ensure_all_finite=not self._nan_allowed,
            reset=False,
        )

    def _is_ready_input(self, X: Any) -> bool:
        """Whether ``X`` is a float ndarray or CSR matrix that ``validate_data`` would return as is.

        Production serves one row at a time, and scikit-learn's full validation costs
        more than such a row's whole descent (1.2 ms of a text row's 4). This shortcut
        accepts only what needs no conversion; anything else (and any non-finite
        value) goes through ``validate_data``, which then raises its usual errors.
        """
        if type(X) in (sparse.csr_matrix, sparse.csr_array):
            values = X.data
        elif type(X) is np.ndarray and X.ndim == 2:
            values = X
        else:
            return False
        if not (
            values.dtype in (np.float64, np.float32)
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        ):
            return False
        with np.errstate(over="ignore", invalid="ignore"):
            # The sum is finite exactly when no entry is NaN or inf (barring overflow,
            # which only sends a valid X down the slow path).
            return bool(np.isfinite(values.sum()))

    def _explain_inputs(
        self, X: ArrayLike, top: Any, feature_names: Any, background: Any = None
    ) -> tuple[Any, NDArray[Any], Any]:
        """``explain``'s checked ``X``, the names of its columns and the checked ``background``.

        Refuses a bad ``top``, and ``background`` rows that ``X``'s checks would refuse.
        """
        if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or top < 1:
            raise ValueError(f"top must be a positive integer; got {top!r}.")
        X_checked: Any = self._validate_for_predict(X)
        background_checked: Any = None
        if background is not None:
            try:
                background_checked = self._validate_for_predict(background)
            except ValueError as error:
                raise type(error)(f"background: {error}") from error
        if feature_names is None:
            feature_names = getattr(self, "feature_names_in_", None)
        if feature_names is None:
            feature_names = [f"x{j}" for j in range(X_checked.shape[1])]
        if len(feature_names) != X_checked.shape[1]:
            raise ValueError(
                f"feature_names has {len(feature_names)} names for {X_checked.shape[1]} columns of X."
            )
        return X_checked, np.asarray(feature_names, dtype=object), background_checked

    def _check_k(self, k: Any, *, allow_zero: bool = False) -> int:
        """``k`` as an int, at most the number of complete paths the model can predict."""
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < (0 if allow_zero else 1):
            allowed = "a non-negative" if allow_zero else "a positive"
            raise ValueError(f"k must be {allowed} integer; got {k!r}.")
        return min(int(k), self.n_paths_)


class HierarchicalClassifier(BaseHierarchicalClassifier):
    """Tree of coarse-to-fine classifiers, one per parent node.

    The model at a node is trained only on the rows whose path passes through that
    node, with the node's children as targets (and "stop" when some paths end at
    the node). A node with a single outcome gets a constant model and no fit.
    Prediction walks each row down from the root, taking the most probable child.

    Parameters
    ----------
    estimator : classifier, "auto" or None, default=None
        Base model cloned for every parent node. None chooses by the input:

        - TF-IDF-like ``X`` (sparse, non-negative, rows of L2 norm at most 1):
          ``OneVsRestLinearSVC()`` (:mod:`hiercls.linear`: one L2-loss linear SVM per
          child, solved in the dual with square-root balanced class weights, each
          node fitted on the columns its rows use, probabilities from the squared
          hinge's link), which gives rare children a fair share;
        - any other ``X`` with at least ``DEFAULT_SELECTION_MIN_ROWS`` (5,000) rows:
          ``"auto"`` below, since no single model is best there (measured in
          ``experiments/results/auto.md``: linear is last on every dense set). The
          chosen LightGBM or k-NN nodes predict 10-200x slower than linear ones:
          pass ``LogisticRegression(max_iter=1000)`` when prediction speed matters
          more than accuracy;
        - smaller non-text ``X``: ``LogisticRegression(max_iter=1000)``, where held-out
          scores could not tell the candidates apart.

        ``"auto"`` (or an :class:`~hiercls.model_selection.AutoNodeModel`, to set
        the candidates and the budget) chooses each level's model from held-out
        training rows: by default among the linear model above, LightGBM and k-NN
        (see ``model_selection_``). Levels in ``level_estimators`` and nodes in
        ``node_estimators`` keep the models given there.
        A ``class_weight`` dict is keyed by your labels (``{"J45.9": 5.0}``) or full
        paths (``{("J", "J45", "J45.9"): 5.0}``); each node's model gets the weights
        of its children, 1 for the others.
    level_estimators : dict of str -> classifier, default=None
        Models per level, keyed by level name; the model of level ``"block"`` is the
        one that chooses among blocks, i.e. it sits at the parents of blocks. Their
        parameters are reachable as ``<level>__<param>`` (for ``GridSearchCV``).
    node_estimators : dict of tuple -> classifier, default=None
        Models for single nodes, keyed by the node's path of labels; ``()`` is the
        root. Takes precedence over ``level_estimators``.
    hierarchy : Hierarchy, list of (parent, child) pairs or dict child -> parent, default=None
        The tree, when known beforehand: it also knows classes without training rows,
        and every training path must follow it. None infers the tree from ``Y``.
    stop_threshold : float in [0, 1], default=None
        Below level 0, stop at the current node when the most probable child's path
        probability is below this value. None never stops on confidence (rows still
        stop where the model learned that paths end).
    decoding : {"greedy", "best_path"}, default="greedy"
        How ``predict`` and ``predict_paths`` choose a path. ``"greedy"``: the most
        probable child at each node, fast (one model call per visited node).
        ``"best_path"``: the most probable complete path, found exactly (as
        ``predict_top_k(X, 1)``): more accurate at the leaf, slower to predict (the
        README gives the measured difference).
    collapse_levels : list of str or int, default=None
        Levels (names, or indices with 0 the coarsest) whose parent level is merged
        into the decision above: collapsing level ``L`` lets the models at level
        ``L - 2`` (the root's, for ``L = 1``) choose among the level ``L`` nodes
        under them directly, so a wrong turn at level ``L - 1`` cannot be made on its
        own; level ``L - 1`` nodes get no model. Collapsing every level but level 0
        gives one flat model over the complete paths. Outputs keep their form:
        complete paths, and a merged level's probability is the exact sum over the
        nodes below it. Level 0 cannot be collapsed (nothing is above it). None
        collapses nothing.
    min_samples : int, default=100
        Training rows a class needs to be learned; checked before any model is
        fitted (see ``sufficiency_report_``).
    sufficiency_policy : {"warn", "raise", "merge", "ignore"}, default="warn"
        What to do about classes below ``min_samples``: warn once and train anyway;
        raise ``InsufficientSupportError`` before training; merge each such class
        below level 0 into its parent (its rows stop at the parent, so the model
        predicts the parent there and the merged class leaves ``classes_``); or do
        nothing. Top-level classes have no parent and are only flagged.
    n_jobs : int, default=None
        Node models fitted in parallel (joblib). Threaded base models such as
        LightGBM get ``n_jobs // parallel nodes`` threads, so the total stays within
        ``n_jobs``.
    random_state : int, RandomState instance or None, default=None
        Seeds each node model with a seed derived from this value and the node, so
        fits are reproducible whatever ``n_jobs`` is. None leaves the base model's own
        ``random_state``.
    verbose : int, default=0
        Progress while fitting: from 1, a log message and, on a terminal, a progress
        bar over the node fits; above 1, joblib's own messages too.
    warm_start : bool, default=False
        When True, the next ``fit`` takes over every node model whose training
        problem is unchanged (the same rows by content, in the same order, the same
        targets, weights and node-model settings; see ``node_fingerprints_``) and
        fits only the others; new and removed classes are handled, and the tree,
        ``classes_`` and everything derived are rebuilt. With deterministic node
        models the result equals a fit from scratch. If ``X`` has another number of
        features, or ``Y`` other level names, than the earlier fit, nothing is
        reused: the fit says why in a :class:`~hiercls.exceptions.WarmStartWarning`
        and fits every node.

    Attributes
    ----------
    hierarchy_ : Hierarchy
        The label tree (inferred or given).
    levels_ : list of str
        Level names: ``Y``'s DataFrame columns, or ``level0, level1, ...``.
    classes_ : ndarray or list of ndarray
        1-D ``y``: the class labels. 2-D ``Y``: one array per level with the distinct
        labels of that level, sorted.
    estimators_ : list
        Fitted model per node id (node 0 is the root); None for leaves. Linear node
        models fitted on sparse ``X`` are
        :class:`~hiercls.sparse_linear.SparseLinearModel` (their used columns and
        non-zero weights only).
    collapsed_levels_ : tuple of str
        Names of the collapsed levels (see ``collapse_levels``), coarse first.
    n_paths_ : int
        Number of complete paths the model can predict (leaves and learned stops);
        ``predict_top_k`` returns at most this many.
    uncalibrated_nodes_ : tuple of tuple
        Paths of the nodes whose ``CalibratedClassifierCV`` model was fitted without
        calibration (its base model alone), because a child had fewer rows than the
        folds; empty otherwise.
    sufficiency_report_ : SufficiencyReport
        Support of every class before training, what was merged, and notes.
    model_selection_ : DataFrame
        Only when levels' models were selected (``estimator="auto"``, or ``None`` on
        5,000 or more rows that are not TF-IDF-like): one row per (level, candidate) with the
        held-out ``accuracy``, ``balanced_accuracy`` and ``log_loss``, the summed
        node ``fit_seconds``, the rows used, whether it was ``chosen`` and a
        ``note`` (why a candidate was skipped or failed, or why a level too small to
        hold out rows fell back to the default model).
    node_fingerprints_ : dict of tuple -> str
        Per fitted node (by its path of labels; ``()`` is the root), a hex digest of
        its training problem, which ``warm_start`` compares.
    n_nodes_refitted_ : int
        Node models fitted by the last ``fit`` (constant models not counted).
    n_nodes_reused_ : int
        Node models the last ``fit`` took over unchanged (0 unless ``warm_start``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of features seen during fit, when ``X`` had string column names.
    categorical_columns_ : CategoricalColumns or None
        Columns of a training DataFrame with pandas ``category`` or string dtype,
        with their categories. Node models get them as codes into those categories
        (NaN for missing or unseen values) and are told which columns they are
        (LightGBM's ``categorical_feature``, ``HistGradientBoostingClassifier``'s
        ``categorical_features``); a node model that cannot take categories is an
        error at fit. None when every column was numeric.

    See Also
    --------
    sklearn.multiclass.OneVsRestClassifier : A flat meta-estimator.

    Notes
    -----
    Output shapes:

    - 1-D ``y``: a plain multiclass classifier. ``predict`` returns 1-D labels and
      ``predict_proba`` a (n_samples, n_classes) array whose argmax is ``predict``.
    - 2-D ``Y`` whose paths all reach the last level, no ``stop_threshold``:
      ``predict`` returns (n_samples, n_levels) in the labels' common dtype.
    - Ragged paths or a ``stop_threshold``: ``predict`` returns an object array where
      the levels below a stop are None.

    ``predict_proba`` returns, for 2-D ``Y``, a list with one (n_samples,
    len(classes_[j])) array per level: the exact marginal probability of each label,
    summing every node that carries the label. A row sums to the probability of
    reaching the level (1 for level 0). Level 0 of ``predict`` is the argmax of
    level 0 of ``predict_proba`` unless level 1 is collapsed (then the root's model
    takes the most probable level 1 node, whatever its parent's sum); deeper levels
    of ``predict`` follow the greedy path (best child of the predicted parent),
    which equals the per-level argmax when the path is unambiguous but need not in
    general.

    scikit-learn splits a 2-D ``Y`` with plain ``KFold``; to stratify by the leaf,
    pass ``cv=StratifiedKFold().split(X, leaf)`` where ``leaf`` is the last label of
    each path. ``score`` is exact-path accuracy.

    Examples
    --------
    >>> from hiercls import HierarchicalClassifier
    >>> X = [[-10.0], [-6.0], [10.0]]
    >>> Y = [["animal", "dog"], ["animal", "cat"], ["plant", "fern"]]
    >>> clf = HierarchicalClassifier().fit(X, Y)
    >>> clf.predict([[-10.0], [10.0]])
    array([['animal', 'dog'],
           ['plant', 'fern']], dtype='<U6')
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **BaseHierarchicalClassifier._shared_constraints,
        "hierarchy": [Hierarchy, list, tuple, dict, None],
        "stop_threshold": [Interval(Real, 0, 1, closed="both"), None],
        "decoding": [StrOptions({"greedy", "best_path"})],
        "collapse_levels": [list, tuple, None],
        "estimator": [HasMethods(["fit", "predict"]), StrOptions({"auto"}), AutoNodeModel, None],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        level_estimators: dict[str, Any] | None = None,
        node_estimators: dict[tuple[Any, ...], Any] | None = None,
        hierarchy: Any = None,
        stop_threshold: float | None = None,
        decoding: str = "greedy",
        collapse_levels: list[str | int] | None = None,
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
        self.hierarchy = hierarchy
        self.stop_threshold = stop_threshold
        self.decoding = decoding
        self.collapse_levels = collapse_levels
        self.min_samples = min_samples
        self.sufficiency_policy = sufficiency_policy
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------ parameters

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # Models saved before a parameter or a piece of fitted state existed (commit
        # c91f941 and earlier) get what makes them behave as they did, so they still load.
        signature = inspect.signature(type(self).__init__)
        for name, parameter in signature.parameters.items():
            if parameter.default is not inspect.Parameter.empty and name not in state:
                setattr(self, name, parameter.default)
        if "estimators_" in state:
            for name, value in (
                ("categorical_columns_", None),
                ("_text_like_input", False),
                ("uncalibrated_nodes_", ()),
                ("collapsed_levels_", ()),
            ):
                if name not in state:
                    setattr(self, name, value)
            if "_nan_allowed" not in state:
                self._nan_allowed = self._allows_nan()
            if "_routes" not in state:  # saved before 992189f: outcomes as a plain list
                self._routes = Routes.from_outcomes(state["_outcomes"])
                del self._outcomes
            if "n_paths_" not in state:
                self.n_paths_ = self._routes.n_paths()
            if self._text_like_input:
                # Saved before node weights were stored compactly (commit 2e35ab6 and
                # earlier): their full-width coef_ is mostly zeros.
                self.estimators_ = [compact_dense_linear_model(m) for m in self.__dict__["estimators_"]]

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # Once fitted, the answer is fixed; recomputing it on every predict call (through
        # check_is_fitted) would cost more than a single row's whole descent.
        tags.input_tags.allow_nan = getattr(self, "_nan_allowed", None)
        if tags.input_tags.allow_nan is None:
            tags.input_tags.allow_nan = self._allows_nan()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _default_is_auto(self) -> bool:
        # experiments/results/auto.md: on dense input the linear model is last on every
        # data set (hierarchical F1 0.83 vs 0.88 synthetic, 0.18 vs 0.29 OEWS) and the
        # fit with selection costs 1.2x its own on OEWS, 3.8x on the synthetic set; on
        # TF-IDF the linear model is the choice.
        # On fewer rows the held-out scores cannot tell the candidates apart, and the
        # selection would cost several times the fit it informs.
        if getattr(self, "_text_like_input", True):
            return False
        return getattr(self, "_n_fit_rows", 0) >= DEFAULT_SELECTION_MIN_ROWS

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None):  # type: ignore[no-untyped-def]
        """Fit one model per parent node.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training features.
        y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_levels)
            Root-to-leaf label paths, coarse to fine. A path may end early with
            trailing None, NaN or ``""``. DataFrame columns name the levels.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed to every node model with that node's rows.

        Returns
        -------
        self : HierarchicalClassifier
            The fitted estimator.
        """
        self._level_templates: dict[str, Any] | None = None  # a previous fit's choices go
        self.__dict__.pop("model_selection_", None)
        self._warm_start_from = take_previous_fit(self)
        X_checked = self._validate_for_fit(X)
        if y is None:
            raise ValueError(
                "HierarchicalClassifier requires y to be passed, but the target y is None; "
                "give label paths of shape (n_samples,) or (n_samples, n_levels)."
            )
        paths = read_label_paths(y, input_name="y")
        if paths.n_samples != X_checked.shape[0]:
            raise ValueError(
                f"X has {X_checked.shape[0]} rows but y has {paths.n_samples}; give one label path "
                f"per row of X."
            )
        for column, missing in zip(paths.columns, paths.missing.T, strict=True):
            # The type of target shows in its distinct values; object columns (ragged
            # paths) hold plain ints or strs, which numpy types once made an array.
            distinct = pd.unique(column[~missing])
            _check_discrete(np.asarray(distinct.tolist()) if distinct.dtype == object else distinct)
        hierarchy, node_codes = self._build_hierarchy(paths)
        self._check_estimator_keys(hierarchy)
        self._check_class_weight_keys(hierarchy)
        collapsed = resolve_collapse_levels(self.collapse_levels, hierarchy.level_names)
        check_collapse_keys(collapsed, hierarchy.level_names, self.level_estimators, self.node_estimators)
        self.sufficiency_report_ = sufficiency_report(
            hierarchy,
            node_codes,
            min_samples=self.min_samples,
            estimator=self.estimator,
            policy=self.sufficiency_policy,
        )
        hierarchy, node_codes = apply_sufficiency_policy(self.sufficiency_report_, hierarchy, node_codes)
        self.collapsed_levels_ = tuple(hierarchy.level_names[level] for level in collapsed)
        self.hierarchy_ = hierarchy
        self.levels_ = list(hierarchy.level_names)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X_checked)
        if weights is not None:
            self._check_accepts_sample_weight()
        self._is_flat = paths.is_flat
        self._can_stop = bool((node_codes[:, -1] < 0).any()) or self.stop_threshold is not None
        self.classes_ = hierarchy.level_labels[0] if paths.is_flat else list(hierarchy.level_labels)
        self.estimators_ = self._fit_nodes(X_checked, hierarchy, node_codes, weights)
        # estimator="auto" may have collapsed levels (AutoNodeModel.consider_collapse).
        collapsed = tuple(self.levels_.index(name) for name in self.collapsed_levels_)
        self._routes = collapsed_routes(self.estimators_, hierarchy, collapsed)
        self.n_paths_ = self._routes.n_paths()
        return self

    def _build_hierarchy(self, paths: LabelPaths) -> tuple[Hierarchy, NDArray[np.intp]]:
        if self.hierarchy is None:
            return Hierarchy.from_label_paths(paths)
        if isinstance(self.hierarchy, Hierarchy):
            hierarchy = self.hierarchy
        else:
            hierarchy = Hierarchy.from_edges(self.hierarchy)
        if not paths.is_flat and isinstance(self.hierarchy, (list, tuple, Mapping)):
            # A tree given as edges has no level names of its own: take Y's.
            hierarchy = hierarchy.with_level_names(
                paths.level_names + hierarchy.level_names[paths.n_levels :]
            )
        return hierarchy, hierarchy.encode(paths)

    def _check_class_weight_keys(self, hierarchy: Hierarchy) -> None:
        """A ``class_weight`` mapping must name labels (or paths) of this hierarchy."""
        mappings = [
            (template, template.get_params(deep=False).get("class_weight"))
            for template in self._templates()
            if hasattr(template, "get_params")
        ]
        mappings = [(template, weights) for template, weights in mappings if isinstance(weights, Mapping)]
        if not mappings:
            return
        labels = {label for level in hierarchy.level_labels for label in level.tolist()}
        paths = {hierarchy.node_path(node) for node in range(1, hierarchy.n_nodes)}
        for template, weights in mappings:
            unknown = [key for key in weights if key not in labels and key not in paths]
            if unknown:
                raise ValueError(
                    f"class_weight of the node model {type(template).__name__} names "
                    f"{unknown[:5]!r}, which are no labels or paths of the hierarchy; key it by "
                    f"labels (e.g. {sorted(map(str, labels))[:3]}) or by full paths (tuples)."
                )

    def _fit_nodes(
        self,
        X: Any,
        hierarchy: Hierarchy,
        node_codes: NDArray[np.intp],
        sample_weight: NDArray[np.float64] | None,
    ) -> list[Any]:
        models, tasks = self._decision_tasks(hierarchy, node_codes)
        auto = self._auto_node_model()
        collapsed = auto is not None and self._choose_level_models(
            auto, X, hierarchy, node_codes, tasks, sample_weight
        )
        if collapsed:
            models, tasks = self._decision_tasks(hierarchy, node_codes)  # levels were collapsed
        for (node, _, _), model in zip(
            tasks,
            self._fit_node_tasks(
                X, hierarchy, tasks, sample_weight, n_constant=sum(m is not None for m in models)
            ),
            strict=True,
        ):
            models[node] = model
        self._warn_unpruned(hierarchy, models)
        return models

    def _decision_tasks(
        self, hierarchy: Hierarchy, node_codes: NDArray[np.intp]
    ) -> tuple[list[Any], list[tuple[int, NDArray[np.intp], NDArray[Any]]]]:
        """Constant models of the one-outcome deciding nodes, and the fit task of every other."""
        models: list[Any] = [None] * hierarchy.n_nodes
        tasks = []
        collapsed = [self.levels_.index(name) for name in self.collapsed_levels_]
        for node, rows, targets in decision_training_sets(hierarchy, node_codes, collapsed):
            outcomes = np.unique(targets)
            if len(outcomes) == 1:
                # One outcome: nothing to learn, and many base models refuse one class.
                models[node] = ConstantNodeModel(int(outcomes[0])).fit(None)
            else:
                tasks.append((node, rows, targets))
        return models, tasks

    def _choose_level_models(
        self,
        auto: AutoNodeModel,
        X: Any,
        hierarchy: Hierarchy,
        node_codes: NDArray[np.intp],
        tasks: list[tuple[int, NDArray[np.intp], NDArray[Any]]],
        sample_weight: NDArray[np.float64] | None,
    ) -> bool:
        """``estimator="auto"``: choose each level's template (see :mod:`hiercls.model_selection`).

        Returns whether it collapsed levels (``AutoNodeModel(consider_collapse=True)``).
        """
        self._level_templates, self.model_selection_ = select_level_models(
            auto,
            X,
            hierarchy,
            [task for task in tasks if self._is_chosen_by_auto(hierarchy, task[0])],
            sample_weight=sample_weight,
            text_like=self._text_like_input,
            categorical_columns=self.categorical_columns_,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            verbose=self.verbose,
        )
        # NaN at predict time is refused unless every chosen model takes it.
        self._nan_allowed = self._allows_nan()
        if not auto.consider_collapse or self.collapse_levels or self.node_estimators:
            return False
        collapsed, self.model_selection_ = select_collapsed_levels(
            auto,
            X,
            hierarchy,
            node_codes,
            {level: self._level_templates[level] for level in self.model_selection_.level.unique()},
            self.model_selection_,
            sample_weight=sample_weight,
            categorical_columns=self.categorical_columns_,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        self.collapsed_levels_ = tuple(hierarchy.level_names[level] for level in collapsed)
        return bool(collapsed)

    def _decode(self, X: Any, *, with_proba: bool = True, scorer: NodeScorer | None = None) -> GreedyPaths:
        if self.decoding == "best_path":
            return best_paths(
                self.hierarchy_,
                self._routes,
                scorer or NodeScorer(self.estimators_, X, remember=True),
                X.shape[0],
                stop_threshold=self.stop_threshold,
            )
        # Without a threshold, labels need only each node's best outcome: decision
        # values rank outcomes as probabilities do, without the softmax.
        with_proba = with_proba or self.stop_threshold is not None
        return greedy_paths(
            self.hierarchy_,
            self._routes,
            scorer or NodeScorer(self.estimators_, X, ranking_only=not with_proba),
            X.shape[0],
            stop_threshold=self.stop_threshold,
            with_proba=with_proba,
        )

    def _labels(self, node_codes: NDArray[np.intp]) -> NDArray[Any]:
        hierarchy = self.hierarchy_
        columns = [hierarchy.node_labels(node_codes[:, j], j) for j in range(hierarchy.n_levels)]
        if self._is_flat:
            return columns[0]
        if self._can_stop:
            dtype: Any = object
        else:
            kinds = {c.dtype.kind for c in columns}
            same_kind = len(kinds) == 1 and kinds <= set("iuUSb")
            dtype = np.result_type(*columns) if same_kind else object
        out = np.empty((node_codes.shape[0], hierarchy.n_levels), dtype=dtype)
        for j, column in enumerate(columns):
            out[:, j] = column
        return out

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predict the label path of each row (greedy descent, or the best path).

        See ``decoding``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        Y_pred : ndarray of shape (n_samples,) or (n_samples, n_levels)
            Same shape as the target given to ``fit``; None below a stop.
        """
        X_checked: Any = self._validate_for_predict(X)
        return self._labels(self._decode(X_checked, with_proba=False).node_codes)

    def predict_paths(self, X: ArrayLike, *, top_k: int = 0) -> PathPrediction:
        """Predict label paths together with the probability of every predicted node.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        top_k : int, default=0
            Also find each row's ``top_k`` most probable paths, as
            :meth:`predict_top_k` does, in the same pass over the node models: no
            node model scores a row twice.

        Returns
        -------
        prediction : PathPrediction
            Labels (2-D, as ``predict`` for 2-D targets), per-level node probabilities,
            the probability of the predicted outcome and, with ``top_k``, the most
            probable paths.
        """
        k = self._check_k(top_k, allow_zero=True)
        X_checked: Any = self._validate_for_predict(X)
        two_passes = bool(k) or self.decoding == "best_path"
        scorer = NodeScorer(self.estimators_, X_checked, remember=two_passes)
        paths = self._decode(X_checked, scorer=scorer)
        assert paths.node_proba is not None
        assert paths.path_proba is not None
        labels = self._labels(paths.node_codes)
        if labels.ndim == 1:
            labels = labels[:, None]
        top = self._top_k(scorer, X_checked.shape[0], k) if k else None
        return PathPrediction(labels, paths.node_proba, paths.path_proba, top)

    @available_if(_templates_have("predict_proba"))
    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64] | list[NDArray[np.float64]]:
        """Exact marginal probability of every label at every level.

        Every internal node's model is evaluated on every row; a label's probability
        adds up the path probabilities of all nodes that carry it.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), or list of such arrays
            1-D target: columns follow ``classes_``. 2-D target: one array per level,
            columns follow ``classes_[j]``; a row sums to the probability that its
            path reaches level ``j``.
        """
        X_checked: Any = self._validate_for_predict(X)
        n = X_checked.shape[0]
        scorer = NodeScorer(self.estimators_, X_checked)
        marginals = level_marginals(self.hierarchy_, self._routes, scorer, n)
        return marginals[0] if self._is_flat else marginals

    @available_if(_templates_have("predict_proba"))
    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.float64] | list[NDArray[np.float64]]:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray or list of ndarray
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            if isinstance(proba, list):
                return [np.log(p) for p in proba]
            return np.log(proba)

    def predict_top_k(self, X: ArrayLike, k: int = 5) -> TopKPaths:
        """The ``k`` most probable complete paths of each row, found exactly.

        A complete path ends at a leaf, or at an internal node where the model
        predicts "stop". Best-first pruning keeps the search exact, batched per node.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        k : int, default=5
            Number of paths per row; at most the number of complete paths the model
            can predict (a larger ``k`` is lowered to it).

        Returns
        -------
        paths : TopKPaths
        """
        k = self._check_k(k)
        X_checked: Any = self._validate_for_predict(X)
        return self._top_k(NodeScorer(self.estimators_, X_checked, remember=True), X_checked.shape[0], k)

    def _top_k(self, scorer: NodeScorer, n_samples: int, k: int) -> TopKPaths:
        top = top_k_paths(self._routes, scorer, n_samples, k)
        path_codes = self.hierarchy_.ancestors(top.nodes.ravel())
        labels = np.empty((top.nodes.size, self.hierarchy_.n_levels), dtype=object)
        for j in range(self.hierarchy_.n_levels):
            labels[:, j] = self.hierarchy_.node_labels(path_codes[:, j], j)
        return TopKPaths(labels.reshape(n_samples, k, -1), top.proba)

    def explain(
        self, X: ArrayLike, *, top: int = 5, feature_names: Any = None, background: Any = None
    ) -> pd.DataFrame:
        """The features that decided each step of each row's predicted path.

        At every node on a row's path (as ``predict`` decodes it), the node model chose
        one outcome over the others; a feature's contribution is how much it raised
        the chosen outcome's decision value above the runner-up's. Exact for linear
        node models (``value * (weight[chosen] - weight[runner_up])``: the
        contributions and the intercepts' difference add up to the decision values'
        difference); LightGBM's own ``pred_contrib`` for LightGBM node models. Other
        node models need shap (``pip install "hiercls[explain]"``): their SHAP values,
        chosen minus runner-up, which with the explainer's base values add up to the
        difference of the two outcomes' outputs. Tree ensembles are read by shap's
        ``TreeExplainer`` (margin, i.e. log-odds, space for gradient boosting;
        probability space for random forests, whose trees vote probabilities);
        other classifiers (k-NN, SVC, ...) by a model-agnostic explainer of
        ``predict_proba`` (probability space) against ``background`` rows. For a
        Pipeline (TF-IDF, say), use :func:`hiercls.explain.explain_predictions`,
        which also names the vocabulary.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        top : int, default=5
            Features kept per row and step, largest positive contribution first.
        feature_names : sequence of str, optional
            Default: ``feature_names_in_``, else ``x0, x1, ...``.
        background : {array-like, sparse matrix, DataFrame}, optional
            Rows to compare with, for node models only a model-agnostic explainer
            reads: a sample of the training rows (say 100; the cost grows with it).
            k-NN node models need none: they keep the rows that reached them, and a
            seeded sample of 100 of those is their background; other such models
            (SVC, naive Bayes, ...) keep none. Tree ensembles need none either (their
            trees store how the training rows split). Given, it is used at every
            such node, k-NN ones too.

        Returns
        -------
        explanation : DataFrame
            One line per (row, level, feature): ``row``, ``level``, ``node`` (the
            deciding node's path, ``""`` for the root), ``chosen`` and ``runner_up``
            (labels; ``"(path ends here)"`` for a stop), ``feature``, ``value`` and
            ``contribution``.

        Raises
        ------
        UnexplainableModelError
            For a node model on some path that is neither linear nor LightGBM, when
            shap is not installed, or when it needs ``background`` and none was given.
            Also a ``TypeError``.
        ValueError
            For ``top`` below 1, ``feature_names`` of the wrong length, or
            ``background`` of other columns than ``X``.
        """
        X_checked, names, background_checked = self._explain_inputs(X, top, feature_names, background)
        node_codes = self._decode(X_checked, with_proba=False).node_codes
        return explain_paths(self, X_checked, node_codes, names, int(top), background_checked)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Exact-path accuracy: the share of rows whose whole predicted path is right.

        For a 1-D target this is plain accuracy. Hierarchical F1 is available as
        ``hiercls.metrics.hierarchical_f1_scorer`` (``scoring=hierarchical_f1_scorer``).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_levels)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        truth = read_label_paths(y)
        predicted = read_label_paths(self.predict(X), input_name="predictions")
        correct = np.ones(truth.n_samples, dtype=bool)
        for j in range(truth.n_levels):
            both_missing = truth.missing[:, j] & predicted.missing[:, j]
            same = (truth.columns[j] == predicted.columns[j]) & ~truth.missing[:, j]
            correct &= both_missing | same
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return float(np.average(correct, weights=weights))


def _check_discrete(labels: NDArray[Any]) -> None:
    """Refuse regression targets, in scikit-learn's words (its checks look for them)."""
    kind = type_of_target(labels, input_name="y")
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {kind}. Maybe you are trying to fit a classifier, which "
            f"expects discrete classes on a regression target with continuous values."
        )


def _node_class_weight(
    weights: Mapping[Any, float], hierarchy: Hierarchy, node: int, targets: NDArray[np.intp]
) -> dict[int, float]:
    """A ``class_weight`` keyed by the user's labels, for one node's model.

    Node models learn internal node ids: each outcome gets the weight of its label
    (or of its full path, as a tuple), 1 where the mapping names neither, and the
    "stop here" outcome 1.
    """
    node_weights = {}
    for outcome in np.unique(targets).tolist():
        path = hierarchy.node_path(outcome) if outcome != node else ()
        weight = weights.get(path, weights.get(path[-1], 1.0)) if path else 1.0
        node_weights[outcome] = float(weight)
    return node_weights


def _calibration_folds(estimator: Any) -> int | None:
    """Folds of a cross-validated ``CalibratedClassifierCV`` node model, else None."""
    if not isinstance(estimator, CalibratedClassifierCV):
        return None
    cv = estimator.cv
    if cv is None:
        return 5
    return int(cv) if isinstance(cv, (int, np.integer)) else None


def _smallest_child(targets: NDArray[np.intp]) -> int:
    if targets.ndim == 2:  # one binary problem per column
        positives = targets.sum(axis=0)
        return int(min(positives.min(), (len(targets) - positives).min()))
    return int(np.unique(targets, return_counts=True)[1].min())
