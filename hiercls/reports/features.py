"""Most weighted features of classes: what the model leans on to choose a class at its parent.

:func:`class_features` looks at the node model that chooses a class among its
siblings (the class's parent's model, or an ancestor's over collapsed levels), and
lists the features that weigh most toward that class, from the fitted model alone:

- linear node models: the class's weights minus the mean of its siblings' weights
  (the other outcomes of the same model, "a path ends here" included), largest
  first: the features whose value raises the class's decision value above its
  siblings' on average. A binary model's first class has weights 0, the second the
  model's ``coef_``.
- LightGBM node models: the total split gain of the class's own trees (a
  multi-class model grows one tree per class and iteration), largest first. Gain
  has no direction: it says which features the class's trees split on most. A
  binary model's trees serve both of its outcomes, so both get the same features.

Other node models keep no per-class weights and get no rows. The rare-class report of
``hiercls-train`` lists these features for its worst classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from hiercls.hierarchy import ROOT, as_python
from hiercls.metrics import PATH_SEPARATOR

__all__ = ["FEATURE_COLUMNS", "class_features", "feature_names_of"]

#: Columns of :func:`class_features`'s table.
FEATURE_COLUMNS = ["level", "path", "node", "basis", "rank", "feature", "weight"]

_LINEAR_BASIS = "weight minus siblings' mean weight"
_GAIN_BASIS = "split gain of the class's trees"


def feature_names_of(model: Any) -> NDArray[Any]:
    """Names of the classifier's input columns: a Pipeline's output names, else its own.

    Parameters
    ----------
    model : HierarchicalClassifier or Pipeline ending with one
        Fitted. A Pipeline's steps before the classifier name the features
        (``get_feature_names_out``: a TF-IDF vocabulary, say).

    Returns
    -------
    names : ndarray of str
        The Pipeline's names (without a ColumnTransformer's prefix, ``text__``, when
        one transformer made every column), else ``feature_names_in_``, else ``x0,
        x1, ...``.
    """
    steps = getattr(model, "steps", None)
    if steps is not None:
        before = model[:-1]
        if hasattr(before, "get_feature_names_out"):
            return _without_one_prefix(np.asarray(before.get_feature_names_out(), dtype=object))
        model = steps[-1][1]
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{j}" for j in range(model.n_features_in_)]
    return np.asarray(names, dtype=object)


def _without_one_prefix(names: NDArray[Any]) -> NDArray[Any]:
    """A ColumnTransformer's names without its prefix (``text__``) when one transformer named them all."""
    parts = [str(name).split("__", 1) for name in names]
    if len(parts) and all(len(p) == 2 for p in parts) and len({p[0] for p in parts}) == 1:
        return np.asarray([p[1] for p in parts], dtype=object)
    return names


def class_features(
    classifier: Any, paths: Sequence[str], *, feature_names: Any = None, top: int = 5
) -> pd.DataFrame:
    """The features that weigh most toward each class at the node model that chooses it.

    Parameters
    ----------
    classifier : HierarchicalClassifier
        Fitted.
    paths : sequence of str
        Classes by their path, labels joined by ``" / "`` (the ``path`` column of the
        rare-class report's tables). Paths the classifier does not know (merged away
        by ``sufficiency_policy="merge"``, say) and classes chosen by no model (an only
        child, a collapsed level) get no rows.
    feature_names : sequence of str, optional
        Names of the classifier's input columns; default ``feature_names_in_``, else
        ``x0, x1, ...``. For a Pipeline, pass :func:`feature_names_of` of it.
    top : int, default=5
        Features per class, largest weight first; only positive weights are listed.

    Returns
    -------
    features : DataFrame
        One row per class and feature, in the order of ``paths``: ``level``,
        ``path``, ``node`` (the path of the node whose model chooses the class, ``""``
        for the root), ``basis`` (what ``weight`` is, see the module's description),
        ``rank`` (1 for the largest), ``feature`` and ``weight``.

    Examples
    --------
    >>> from hiercls import HierarchicalClassifier
    >>> from hiercls.reports.features import class_features
    >>> X = [[5.0, 0.0], [4.0, 0.0], [0.0, 5.0], [0.0, 4.0]] * 5
    >>> Y = [["a", "a1"], ["a", "a2"], ["b", "b1"], ["b", "b2"]] * 5
    >>> clf = HierarchicalClassifier(min_samples=1).fit(X, Y)
    >>> class_features(clf, ["b"], top=1)[["path", "node", "feature"]]
      path node feature
    0    b        x1
    """
    hierarchy = classifier.hierarchy_
    names = feature_names_of(classifier) if feature_names is None else np.asarray(feature_names, dtype=object)
    node_of = {_path_text(hierarchy, v): v for v in range(1, hierarchy.n_nodes)}
    frames = []
    for path in paths:
        node = node_of.get(str(path))
        if node is None:
            continue
        decider = _deciding_node(classifier, node)
        if decider is None:
            continue
        model = classifier.estimators_[decider]
        found = _weights_toward(model, int(np.searchsorted(np.asarray(model.classes_), node)))
        if found is None:
            continue
        basis, weights = found
        order = np.argsort(-weights, kind="stable")[:top]
        order = order[weights[order] > 0]
        frames.append(
            pd.DataFrame(
                {
                    "level": hierarchy.level_names[int(hierarchy.depth[node]) - 1],
                    "path": str(path),
                    "node": _path_text(hierarchy, decider) if decider != ROOT else "",
                    "basis": basis,
                    "rank": np.arange(1, len(order) + 1),
                    "feature": names[order],
                    "weight": weights[order],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=FEATURE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[FEATURE_COLUMNS]


def _path_text(hierarchy: Any, node: int) -> str:
    return PATH_SEPARATOR.join(str(as_python(label)) for label in hierarchy.node_path(node))


def _deciding_node(classifier: Any, node: int) -> int | None:
    """The nearest ancestor whose model has ``node`` among its outcomes (collapsed levels skip some)."""
    ancestors = classifier.hierarchy_.ancestors(np.array([node]))[0]
    above = [ROOT, *(int(a) for a in ancestors[ancestors >= 0] if a != node)]
    for ancestor in reversed(above):
        model = classifier.estimators_[ancestor]
        classes = getattr(model, "classes_", None)
        if classes is not None and len(classes) > 1 and node in np.asarray(classes):
            return ancestor
    return None


def _weights_toward(model: Any, position: int) -> tuple[str, NDArray[np.float64]] | None:
    """(basis, one weight per feature) toward outcome ``position`` of ``model``; None if it keeps none."""
    if hasattr(model, "coef_") and hasattr(model, "intercept_"):
        coef = model.coef_
        coef = np.asarray(coef.toarray() if sparse.issparse(coef) else coef, dtype=np.float64)
        if coef.shape[0] == 1 and len(model.classes_) == 2:  # binary: the first class's weights are 0
            coef = np.vstack([np.zeros_like(coef), coef])
        siblings = np.delete(coef, position, axis=0).mean(axis=0)
        return _LINEAR_BASIS, coef[position] - siblings
    if type(model).__module__.startswith("lightgbm"):
        return _GAIN_BASIS, _class_gain(model.booster_, position, len(model.classes_))
    return None


def _class_gain(booster: Any, position: int, n_classes: int) -> NDArray[np.float64]:
    """Total split gain per feature of the trees of class ``position`` (every tree if binary)."""
    trees = booster.trees_to_dataframe()
    splits = trees[trees["split_feature"].notna()]
    if n_classes > 2:  # one tree per class and iteration, classes in turn
        splits = splits[splits["tree_index"] % n_classes == position]
    column = {name: j for j, name in enumerate(booster.feature_name())}
    gain = np.zeros(len(column))
    np.add.at(gain, splits["split_feature"].map(column).to_numpy(dtype=np.intp), splits["split_gain"])
    return gain
