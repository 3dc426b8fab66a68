"""Why a row got its label: the features that decided each step of its predicted path.

At every node on a row's predicted path, the node model chose one child over the
others. A feature's contribution is how much it moved the decision value of the
chosen child above the runner-up's:

- linear node models (hiercls's compact ones, scikit-learn's ``coef_`` models):
  ``value * (weight[chosen] - weight[runner_up])``, exact: the contributions and the
  intercepts' difference add up to the decision values' difference;
- LightGBM node models: LightGBM's own ``pred_contrib`` (SHAP values of the raw
  scores), chosen minus runner-up;
- other node models, when shap is installed (``pip install "hiercls[explain]"``):
  SHAP values, chosen minus runner-up: shap's
  ``TreeExplainer`` for tree ensembles (margins for boosting, probabilities for
  forests; no background needed), a model-agnostic explainer of ``predict_proba``
  against ``background`` rows for the rest.

Without shap, or without background rows where they are needed, they raise
:class:`~hiercls.exceptions.UnexplainableModelError`, which names the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from sklearn.pipeline import Pipeline

from ._shap_values import check_shap_can_explain, shap_per_outcome
from .exceptions import UnexplainableModelError
from .hierarchy import ROOT, as_python
from .metrics import PATH_SEPARATOR
from .node_models import ConstantNodeModel, outcome_scores, take_rows
from .sparse_linear import SparseLinearModel
from .traversal import group_by_node

__all__ = [
    "INACTIVE",
    "STOP",
    "check_explainable",
    "explain_path_sets",
    "explain_paths",
    "explain_predictions",
]

#: Shown as the chosen outcome where the path ends at a node with children.
STOP = "(path ends here)"

#: A label tree's outcome is weighed against not being active, not against a sibling.
INACTIVE = "(inactive)"


def explain_predictions(
    model: Any, X: Any, *, top: int = 5, feature_names: Any = None, background: Any = None
) -> pd.DataFrame:
    """The features that decided each step of each row's predicted path.

    Parameters
    ----------
    model : HierarchicalClassifier or Pipeline ending with one
        Fitted. A Pipeline's steps before the classifier transform ``X`` first, and
        name the features (``get_feature_names_out``: a TF-IDF vocabulary, say).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
    top : int, default=5
        Features kept per row and step: the ones that pushed most toward the chosen
        child (largest contributions first).
    feature_names : sequence of str, optional
        Names of the classifier's input columns; default: the Pipeline's output
        names, else ``feature_names_in_``, else ``x0, x1, ...``.
    background : {array-like, sparse matrix, DataFrame}, optional
        Rows to compare with (a sample of the training rows, say 100), for node
        models that only a model-agnostic SHAP explainer reads (k-NN, SVC, ...);
        transformed by a Pipeline's steps like ``X``.

    Returns
    -------
    explanation : DataFrame
        See :meth:`HierarchicalClassifier.explain <hiercls.HierarchicalClassifier.explain>`.

    Examples
    --------
    >>> from hiercls import HierarchicalClassifier
    >>> from hiercls.explain import explain_predictions
    >>> X = [[5.0, 0.0], [4.0, 0.0], [0.0, 5.0], [0.0, 4.0]] * 5
    >>> Y = [["a", "a1"], ["a", "a2"], ["b", "b1"], ["b", "b2"]] * 5
    >>> clf = HierarchicalClassifier(min_samples=1).fit(X, Y)
    >>> explain_predictions(clf, [[5.0, 0.0]], top=1)[["level", "chosen", "runner_up", "feature"]]
        level chosen runner_up feature
    0  level0      a         b      x0
    1  level1     a1        a2      x0
    """
    if isinstance(model, Pipeline):
        classifier = model.steps[-1][1]
        X = model[:-1].transform(X)
        if background is not None:
            background = model[:-1].transform(background)
        if feature_names is None and hasattr(model[:-1], "get_feature_names_out"):
            feature_names = model[:-1].get_feature_names_out()
        model = classifier
    return model.explain(  # type: ignore[no-any-return]
        X, top=top, feature_names=feature_names, background=background
    )


def explain_paths(
    classifier: Any,
    X: Any,
    node_codes: NDArray[np.intp],
    names: NDArray[Any],
    top: int,
    background: Any = None,
) -> pd.DataFrame:
    """:meth:`HierarchicalClassifier.explain` for validated ``X`` and its decoded paths."""
    hierarchy = classifier.hierarchy_
    frames = []
    for level in range(hierarchy.n_levels):
        parents = np.zeros(len(node_codes), dtype=np.intp) if level == 0 else node_codes[:, level - 1]
        decided = np.flatnonzero(parents >= 0)
        if decided.size == 0:
            break
        nodes, groups = group_by_node(parents[decided])
        for node, group in zip(nodes.tolist(), groups, strict=True):
            model_at = classifier.estimators_[node]
            if model_at is None or isinstance(model_at, ConstantNodeModel):
                continue  # a leaf, or a node with one outcome: nothing was decided
            rows = decided[group]
            chosen = _chosen_outcomes(model_at, node_codes[rows, level:], node)
            frames.append(
                _explain_node(
                    hierarchy, node, model_at, take_rows(X, rows), rows, chosen, level, names, top, background
                )
            )
    columns = ["row", "level", "node", "chosen", "runner_up", "feature", "value", "contribution"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return _in_path_order(pd.concat(frames, ignore_index=True), hierarchy, ["row", "level"])


def _chosen_outcomes(model: Any, below: NDArray[np.intp], node: int) -> NDArray[np.intp]:
    """The outcome of ``node``'s model on each row's path: its deepest node among the model's classes.

    Without collapsed levels that is the child; a model over collapsed levels chose a
    node further down. "Stop" (``node`` itself) where no node of the path is an outcome.
    """
    chosen = np.full(len(below), node, dtype=np.intp)
    outcomes = np.asarray(model.classes_)
    for column in below.T:
        chosen = np.where(np.isin(column, outcomes), column, chosen)
    return chosen


def _explain_node(
    hierarchy: Any,
    node: int,
    model: Any,
    X: sparse.csr_matrix,
    rows: NDArray[np.intp],
    chosen: NDArray[np.intp],
    level: int,
    names: NDArray[Any],
    top: int,
    background: Any,
) -> pd.DataFrame:
    outcomes = np.asarray(model.classes_)
    chosen_at = np.searchsorted(outcomes, chosen)
    scores = outcome_scores(model, X)
    others = scores.copy()
    others[np.arange(len(rows)), chosen_at] = -np.inf
    runner_at = np.argmax(others, axis=1)
    contributions = _contributions(model, X, chosen_at, runner_at, background)
    X = sparse.csr_matrix(X)
    path = PATH_SEPARATOR.join(str(as_python(x)) for x in hierarchy.node_path(node)) if node != ROOT else ""

    def label(outcome: int) -> Any:
        return STOP if outcome == node else as_python(hierarchy.node_path(outcome)[-1])

    entry_row, entry_col, value = _top_entries(contributions, top)
    return pd.DataFrame(
        {
            "row": rows[entry_row],
            "level": hierarchy.level_names[level],
            "node": path,
            "chosen": [label(int(outcomes[chosen_at[r]])) for r in entry_row.tolist()],
            "runner_up": [label(int(outcomes[runner_at[r]])) for r in entry_row.tolist()],
            "feature": names[entry_col],
            "value": _entries(X, entry_row, entry_col),
            "contribution": value,
        }
    )


def _top_entries(
    contributions: sparse.csr_matrix, top: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """(row, feature, contribution) of each row's ``top`` largest positive contributions, by row."""
    coo = contributions.tocoo()
    keep = coo.data > 0  # what pushed toward the chosen outcome
    entry_row, entry_col, value = coo.row[keep], coo.col[keep], coo.data[keep]
    order = np.lexsort((-value, entry_row))
    entry_row, entry_col, value = entry_row[order], entry_col[order], value[order]
    first = np.arange(len(entry_row)) - np.searchsorted(entry_row, entry_row) < top
    return entry_row[first], entry_col[first], value[first]


def explain_path_sets(
    classifier: Any,
    X: Any,
    row: NDArray[np.intp],
    end: NDArray[np.intp],
    names: NDArray[Any],
    top: int,
    background: Any = None,
) -> pd.DataFrame:
    """:meth:`MultiLabelHierarchicalClassifier.explain` for validated ``X`` and its predicted paths.

    ``row`` and ``end`` give each predicted path: its row and the node where it ends.
    Every step of every path is one binary decision, "this outcome is active": a
    feature's contribution is ``value * weight`` of that outcome's model (linear), or
    LightGBM's ``pred_contrib`` for the positive class (with the intercept they add
    up to the outcome's decision value), or SHAP values of the positive class minus
    the negative class's. Steps shared by two paths of a row are
    explained once.
    """
    hierarchy = classifier.hierarchy_
    codes = hierarchy.ancestors(end)  # (n_paths, n_levels), -1 below each path's end
    steps = []  # (row, parent, outcome, level) of every step of every path
    for level in range(hierarchy.n_levels):
        parent = np.zeros(len(end), dtype=np.intp) if level == 0 else codes[:, level - 1]
        here = (parent >= 0) & (codes[:, level] >= 0)
        levels = np.full(here.sum(), level)
        steps.append(np.column_stack([row[here], parent[here], codes[here, level], levels]))
    # A path that ends at a node with a model took its "a path ends here" outcome, a
    # decision about the level below the node (a node's depth is that level's index).
    has_model = np.array([model is not None for model in classifier.estimators_], dtype=bool)
    stops = has_model[end]
    stop_level = hierarchy.depth[end[stops]]
    steps.append(np.column_stack([row[stops], end[stops], end[stops], stop_level]))
    table = np.unique(np.concatenate(steps), axis=0)
    frames = []
    nodes, groups = group_by_node(table[:, 1])
    for node, group in zip(nodes.tolist(), groups, strict=True):
        model = classifier.estimators_[node]
        position = {int(o): j for j, o in enumerate(np.asarray(model.classes_).tolist())}
        at = np.array([position[o] for o in table[group, 2].tolist()], dtype=np.intp)
        for j in np.unique(at).tolist():
            block = table[group[at == j]]
            X_rows = take_rows(X, block[:, 0])
            contributions = _outcome_contributions(model, j, X_rows, background)
            if contributions is None:
                continue  # an outcome of fixed probability: no feature decided it
            frames.append(_explain_step(hierarchy, block, X_rows, contributions, names, top))
    columns = ["row", "level", "node", "chosen", "runner_up", "feature", "value", "contribution"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return _in_path_order(pd.concat(frames, ignore_index=True), hierarchy, ["row", "level", "node"])


def _in_path_order(explanation: pd.DataFrame, hierarchy: Any, by: list[str]) -> pd.DataFrame:
    """Rows by ``by``, levels from the root down (not by their names' spelling)."""
    depth = {name: j for j, name in enumerate(hierarchy.level_names)}
    return explanation.sort_values(
        by, key=lambda column: column.map(depth) if column.name == "level" else column, kind="stable",
        ignore_index=True,
    )


def _outcome_contributions(model: Any, position: int, X: Any, background: Any) -> sparse.csr_matrix | None:
    """Per row and feature, the push toward outcome ``position`` of a label tree node; None if fixed."""
    stacked_at = np.asarray(model.stacked_at)
    if model.stacked is not None and position in stacked_at:
        weights = model.stacked.coef_[int(np.flatnonzero(stacked_at == position)[0])]
        return sparse.csr_matrix(sparse.csr_matrix(X).multiply(weights))
    binary = model.models[position]
    if isinstance(binary, float):
        return None
    positive = np.full(X.shape[0], list(binary.classes_).index(1), dtype=np.intp)
    return _contributions(binary, X, positive, 1 - positive, background)


def _explain_step(
    hierarchy: Any,
    block: NDArray[np.intp],
    X: Any,
    contributions: sparse.csr_matrix,
    names: NDArray[Any],
    top: int,
) -> pd.DataFrame:
    """One outcome of one node, for the rows in ``block`` (row, parent, outcome, level)."""
    _, node, outcome, level = block[0].tolist()
    entry_row, entry_col, value = _top_entries(contributions, top)
    path = PATH_SEPARATOR.join(str(as_python(x)) for x in hierarchy.node_path(node)) if node != ROOT else ""
    chosen = STOP if outcome == node else as_python(hierarchy.node_path(outcome)[-1])
    return pd.DataFrame(
        {
            "row": block[entry_row, 0],
            "level": hierarchy.level_names[level],
            "node": path,
            "chosen": [chosen] * len(entry_row),
            "runner_up": INACTIVE,
            "feature": names[entry_col],
            "value": _entries(sparse.csr_matrix(X), entry_row, entry_col),
            "contribution": value,
        }
    )


def _entries(X: sparse.csr_matrix, rows: NDArray[np.intp], columns: NDArray[np.intp]) -> NDArray[Any]:
    values = X[rows, columns]  # scipy gives a sparse (1, 0) block for no entries
    return np.asarray(values.toarray() if sparse.issparse(values) else values).ravel()


def _contributions(
    model: Any, X: Any, chosen_at: NDArray[np.intp], runner_at: NDArray[np.intp], background: Any = None
) -> sparse.csr_matrix:
    """Per row and feature: the feature's push of chosen over runner-up, (n_rows, n_features)."""
    if _is_linear(model):
        weights = _class_weights(model)  # (n_classes, n_features), CSR
        difference = weights[chosen_at] - weights[runner_at]
        return sparse.csr_matrix(sparse.csr_matrix(X).multiply(difference))
    picked = np.arange(X.shape[0])
    if _is_lightgbm(model):
        raw = np.asarray(model.predict(X, pred_contrib=True))
        n_features = X.shape[1]
        if isinstance(raw, list) or raw.ndim != 2:
            raise UnexplainableModelError("LightGBM's pred_contrib returned an unexpected shape.")
        if raw.shape[1] == n_features + 1:  # binary: contributions to the positive class's score
            per_class = np.stack([np.zeros_like(raw), raw], axis=1)
        else:
            per_class = raw.reshape(len(raw), -1, n_features + 1)
        difference = per_class[picked, chosen_at, :n_features] - per_class[picked, runner_at, :n_features]
        return sparse.csr_matrix(difference)
    values, _ = shap_per_outcome(model, X, background)
    return sparse.csr_matrix(values[picked, chosen_at] - values[picked, runner_at])


def check_explainable(classifier: Any, *, has_background: bool = False) -> None:
    """Refuse, before any work, a fitted classifier some of whose node models explain cannot read.

    Parameters
    ----------
    classifier : HierarchicalClassifier or MultiLabelHierarchicalClassifier
        Fitted.
    has_background : bool, default=False
        Whether ``explain`` will be given background rows.

    Raises
    ------
    UnexplainableModelError
        Naming the first such node model's type, and what would explain it.
    """
    for model in classifier.estimators_:
        binaries = getattr(model, "models", None)  # a label tree node: one binary model per outcome
        parts = [model] if binaries is None else [m for m in binaries.values() if not isinstance(m, float)]
        for part in parts:
            if part is None or isinstance(part, ConstantNodeModel) or _reads_itself(part):
                continue
            check_shap_can_explain(part, has_background=has_background)


def _reads_itself(model: Any) -> bool:
    """Whether :func:`_contributions` explains ``model`` without shap."""
    return _is_linear(model) or _is_lightgbm(model)


def _is_linear(model: Any) -> bool:
    return isinstance(model, SparseLinearModel) or (hasattr(model, "coef_") and hasattr(model, "intercept_"))


def _is_lightgbm(model: Any) -> bool:
    return type(model).__module__.startswith("lightgbm")


def _class_weights(model: Any) -> sparse.csr_matrix:
    """One row of weights per class of a linear model (binary: zeros, then the positive class's)."""
    coef = model.coef_
    coef = sparse.csr_matrix(coef) if not sparse.issparse(coef) else sparse.csr_matrix(coef)
    if coef.shape[0] == 1 and len(model.classes_) == 2:
        coef = sparse.vstack([sparse.csr_matrix(coef.shape), coef], format="csr")
    return coef
