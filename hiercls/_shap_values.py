"""SHAP values of node models that are neither linear nor LightGBM (shap is optional).

:func:`shap_per_outcome` gives, per row, feature and outcome of a node model, the
feature's SHAP value; :mod:`hiercls.explain` takes the chosen outcome's minus the
runner-up's. Two explainers, in this order:

- shap's ``TreeExplainer`` for the tree ensembles it reads (scikit-learn's random
  forests, extra trees, gradient and histogram gradient boosting, XGBoost, ...). Its
  path-dependent algorithm weighs each split by the training rows that went down each
  side, stored in the trees: the node's own training data are the background, with no
  rows kept. The values are in the trees' output space: margins (log-odds) for
  boosting, probabilities for forests (their trees vote probabilities).
- Any other classifier: shap's model-agnostic ``Exact`` explainer (up to
  :data:`EXACT_MAX_FEATURES` features; beyond, ``Permutation`` sampling) on
  ``predict_proba``, so the values are probabilities. Such an explainer compares each
  row with background rows. A node model that keeps its training rows (scikit-learn's
  nearest-neighbour classifiers) is its own background: a seeded sample of
  :data:`KEPT_BACKGROUND_ROWS` of them, the rows that reached that node. Other models
  keep none: the caller passes them (``background=``, a sample of the training rows),
  which then also replace a k-NN node's own.

Both are additive: a row's values over all features, plus the explainer's base
value, are the model's output for that outcome.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from .exceptions import UnexplainableModelError

__all__ = ["EXACT_MAX_FEATURES", "KEPT_BACKGROUND_ROWS", "check_shap_can_explain", "shap_per_outcome"]

#: Up to this many features the model-agnostic explainer enumerates every coalition
#: (2**n model calls per background row: exact and deterministic); beyond, shap's
#: Permutation explainer samples them.
EXACT_MAX_FEATURES = 12

#: Background rows drawn from a node model's own training rows, where it keeps them.
KEPT_BACKGROUND_ROWS = 100

#: The Permutation explainer's seed: the same rows in the same batch give the same values.
_PERMUTATION_SEED = 0


def shap_per_outcome(model: Any, X: Any, background: Any | None) -> tuple[NDArray[np.float64], str]:
    """SHAP values of ``model``'s outcomes, (n_rows, n_outcomes, n_features), and their space.

    Parameters
    ----------
    model : fitted classifier
        A node model with ``classes_``.
    X : {ndarray, sparse matrix} of shape (n_rows, n_features)
        Rows to explain, as the node model takes them.
    background : {ndarray, sparse matrix} or None
        Rows to compare with, for models that ``TreeExplainer`` cannot read. None: the
        model's own training rows where it keeps them (k-NN).

    Returns
    -------
    values : ndarray of shape (n_rows, n_outcomes, n_features)
        In the order of ``model.classes_``. A binary margin model's values are those
        of its positive class, the negative class's all zero (its margin is 0).
    space : {"margin", "probability"}

    Raises
    ------
    UnexplainableModelError
        Without shap installed, or without ``background`` for a model that needs it.
    """
    shap = _import_shap(model)
    dense = _dense(X)
    n_outcomes = len(model.classes_)
    tree = _tree_explainer(shap, model)
    if tree is not None:
        values = np.asarray(tree.shap_values(dense, check_additivity=False), dtype=np.float64)
        space = "margin" if tree.model.tree_output == "log_odds" else "probability"
    else:
        if background is None:
            background = _kept_rows(model)
        if background is None:
            raise UnexplainableModelError(_needs_background(model))
        values, space = _model_agnostic(shap, model, dense, _dense(background)), "probability"
    if values.ndim == 2:  # one output: the positive class's margin of a binary model
        values = np.stack([np.zeros_like(values), values], axis=2)
    if values.shape != (dense.shape[0], dense.shape[1], n_outcomes):
        raise UnexplainableModelError(
            f"shap gave values of shape {values.shape} for the node model {type(model).__name__}, not "
            f"(rows, features, outcomes) = {(dense.shape[0], dense.shape[1], n_outcomes)}."
        )
    return values.transpose(0, 2, 1), space


def check_shap_can_explain(model: Any, *, has_background: bool) -> None:
    """Raise what :func:`shap_per_outcome` would raise for ``model``, before any work.

    Raises
    ------
    UnexplainableModelError
        Without shap installed, or when ``model`` needs background rows and there are none.
    """
    shap = _import_shap(model)
    if not has_background and _kept_rows(model) is None and _tree_explainer(shap, model) is None:
        raise UnexplainableModelError(_needs_background(model))


def _kept_rows(model: Any) -> Any:
    """A seeded sample of the training rows ``model`` keeps (a k-NN's), or None.

    scikit-learn's neighbours estimators hold their training matrix as ``_fit_X``
    (private, but the same since their first release): the rows that reached this
    node, in the space the node model reads, which is what a background must be.
    """
    rows = getattr(model, "_fit_X", None)
    if rows is None or not hasattr(rows, "shape") or len(rows.shape) != 2 or rows.shape[0] == 0:
        return None
    n = rows.shape[0]
    if n <= KEPT_BACKGROUND_ROWS:
        return rows
    picked = np.sort(np.random.default_rng(0).choice(n, size=KEPT_BACKGROUND_ROWS, replace=False))
    return rows[picked]


def _import_shap(model: Any) -> Any:
    try:
        import shap
    except ImportError:
        raise UnexplainableModelError(
            f"explain reads linear and LightGBM node models itself; the node model "
            f"{type(model).__name__} is neither, and explaining it needs shap: pip install "
            f'"hiercls[explain]". Or use a linear model or LightGBM at that node '
            f"(node_estimators / level_estimators)."
        ) from None
    return shap


def _needs_background(model: Any) -> str:
    return (
        f"The node model {type(model).__name__} is not a tree ensemble shap can read, so its SHAP "
        f"values compare each row with background rows, which it does not keep (k-NN does): pass "
        f"background= (a sample of the training rows, say 100), as explain(X, background=...)."
    )


def _dense(X: Any) -> NDArray[np.float64]:
    # shap's explainers take dense arrays only; a node's rows are densified one node at a time.
    return np.asarray(X.toarray() if sparse.issparse(X) else X, dtype=np.float64)


def _tree_explainer(shap: Any, model: Any) -> Any:
    """The TreeExplainer of ``model``, or None where shap cannot read the model."""
    try:
        return shap.TreeExplainer(model)
    except Exception:  # shap signals "not a model I read" with several types
        return None


def _model_agnostic(
    shap: Any, model: Any, X: NDArray[np.float64], background: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(n_rows, n_features, n_outcomes) SHAP values of ``predict_proba``, against ``background``."""
    masker = shap.maskers.Independent(background, max_samples=len(background))
    n_features = X.shape[1]
    if n_features <= EXACT_MAX_FEATURES:
        explanation = shap.explainers.Exact(model.predict_proba, masker)(X, silent=True)
        return np.asarray(explanation.values, dtype=np.float64)
    # The Permutation explainer seeds numpy's global generator: leave the caller's as it was.
    state = np.random.get_state()  # noqa: NPY002 - the legacy generator is what shap seeds
    try:
        explainer = shap.explainers.Permutation(model.predict_proba, masker, seed=_PERMUTATION_SEED)
        explanation = explainer(X, max_evals=max(500, 2 * n_features + 1), silent=True)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return np.asarray(explanation.values, dtype=np.float64)
