"""Warm start: reuse the node models whose training problem has not changed.

Every fit gives each fitted node a fingerprint of its training problem: the content
of its rows in order, their targets (as the children's labels, since node ids shift
when classes are added), their sample weights, and the node model's settings (the
template's parameters, the size-aware settings, the seed, class weights and
categorical columns). The fingerprints are kept as a plain dict from node path to a
hex string (``node_fingerprints_``). With ``warm_start=True``, the next fit takes over
the model of every node whose fingerprint is unchanged instead of fitting it again;
its outcomes are renamed to the new node ids, in the same order.

Nothing here fits a model: :func:`plan_node_fits` decides, the estimator fits.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from .exceptions import WarmStartWarning
from .hierarchy import Hierarchy, as_python

__all__ = [
    "NodeFitPlan",
    "PreviousFit",
    "model_settings",
    "plan_node_fits",
    "row_hashes",
    "take_previous_fit",
]

logger = logging.getLogger(__name__)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# Two independent 64-bit hashes per row: a collision needs both to collide.
_ROW_HASH_SEEDS = (np.uint64(0x243F6A8885A308D3), np.uint64(0x13198A2E03707344))
_CANONICAL_NAN = np.array([np.nan]).view(np.uint64)[0]
_DENSE_CHUNK = 1 << 20  # entries hashed at once for a dense X


def _mix(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser, elementwise (uint64 arithmetic wraps, as it should)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))  # type: ignore[no-any-return]


def _value_bits(values: NDArray[Any]) -> NDArray[np.uint64]:
    as_float = np.asarray(values, dtype=np.float64)
    bits = as_float.view(np.uint64).copy()
    bits[np.isnan(as_float)] = _CANONICAL_NAN  # every NaN is the same missing value
    return bits


def row_hashes(X: Any) -> NDArray[np.uint64]:
    """A 128-bit content hash of every row of ``X``, shape (n_samples, 2).

    Rows with the same stored columns and values get the same hash, wherever they
    sit in ``X``. For a CSR matrix (canonical format, as ``_validate_for_fit``
    returns it) one pass over its stored entries; for a dense array, over its
    entries in chunks of rows.

    Parameters
    ----------
    X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Validated training input.

    Returns
    -------
    hashes : ndarray of uint64, shape (n_samples, 2)
    """
    n = X.shape[0]
    out = np.empty((n, 2), dtype=np.uint64)
    with np.errstate(over="ignore"):
        if sparse.issparse(X):
            X = X.tocsr()
            bits = _value_bits(X.data)
            columns = X.indices.astype(np.uint64)
            counts = np.diff(X.indptr).astype(np.uint64)
            for k, seed in enumerate(_ROW_HASH_SEEDS):
                entry = _mix(_mix(columns ^ seed) ^ bits)
                # Row sums from one running sum (wrapping): the order of a row's entries
                # does not matter, and no row is visited on its own.
                running = np.concatenate([[np.uint64(0)], np.cumsum(entry, dtype=np.uint64)])
                sums = running[X.indptr[1:]] - running[X.indptr[:-1]]
                out[:, k] = _mix(sums ^ _mix(counts + seed))
            return out
        X = np.asarray(X)
        n_features = X.shape[1] if X.ndim == 2 else 1
        step = max(1, _DENSE_CHUNK // max(n_features, 1))
        column_keys = [_mix(np.arange(n_features, dtype=np.uint64) ^ seed) for seed in _ROW_HASH_SEEDS]
        for start in range(0, n, step):
            bits = _value_bits(X[start : start + step].reshape(-1, n_features))
            for k, seed in enumerate(_ROW_HASH_SEEDS):
                sums = _mix(column_keys[k][None, :] ^ bits).sum(axis=1, dtype=np.uint64)
                out[start : start + step, k] = _mix(sums ^ _mix(np.uint64(n_features) + seed))
    return out


@dataclass(frozen=True)
class PreviousFit:
    """What a warm fit may take over from the fit before it.

    Attributes
    ----------
    hierarchy : Hierarchy
        The earlier fit's tree, to read its models' outcomes as paths.
    models : list
        The earlier fit's models, per node id of ``hierarchy``.
    node_of_path : dict of tuple -> int
        Node id in ``hierarchy`` of every node that has a fingerprint.
    fingerprints : dict of tuple -> str
        The earlier fit's ``node_fingerprints_``.
    uncalibrated : frozenset of tuple
        Paths of the earlier fit's ``uncalibrated_nodes_``.
    n_features : int
    level_names : tuple of str
    """

    hierarchy: Hierarchy
    models: list[Any]
    node_of_path: dict[tuple[Any, ...], int]
    fingerprints: dict[tuple[Any, ...], str]
    uncalibrated: frozenset[tuple[Any, ...]]
    n_features: int
    level_names: tuple[str, ...]


def take_previous_fit(estimator: Any) -> PreviousFit | None:
    """What a warm fit of ``estimator`` can reuse (None when not ``warm_start``, or nothing).

    Called when ``fit`` starts, before it replaces the fitted attributes. It also
    removes ``node_fingerprints_``: a fit that fails half-way leaves no fingerprints
    that could be matched with another fit's models. A model fitted before
    fingerprints existed, or not fitted, has nothing to offer.
    """
    fingerprints = estimator.__dict__.pop("node_fingerprints_", None)
    hierarchy = getattr(estimator, "hierarchy_", None)
    models = getattr(estimator, "estimators_", None)
    if (
        not getattr(estimator, "warm_start", False)
        or not fingerprints
        or hierarchy is None
        or models is None
        or len(models) != hierarchy.n_nodes
    ):
        return None
    wanted = set(fingerprints)
    node_of_path = {}
    for node in np.flatnonzero(hierarchy.n_children > 0).tolist():
        path = _plain(hierarchy.node_path(node))
        if path in wanted:
            node_of_path[path] = node
    return PreviousFit(
        hierarchy=hierarchy,
        models=list(models),
        node_of_path=node_of_path,
        fingerprints=dict(fingerprints),
        uncalibrated=frozenset(_plain(p) for p in getattr(estimator, "uncalibrated_nodes_", ())),
        n_features=int(estimator.n_features_in_),
        level_names=tuple(hierarchy.level_names),
    )


def model_settings(estimator: Any, fit_params: Mapping[str, Any], fit: Callable[..., Any] | None) -> Any:
    """What of a node's unfitted model enters its fingerprint: everything but data and threads.

    The parameters (nested ones flattened, as ``get_params(deep=True)`` lists them),
    with ``n_jobs`` left out: the threads a node gets change with the number of
    nodes fitted at once, not the model. A ``class_weight`` keyed by node ids
    becomes its weights in outcome order, since ids shift when classes are added.
    """
    kept = []
    for key, value in sorted(estimator.get_params(deep=True).items()):
        if key == "n_jobs" or key.endswith("__n_jobs"):
            continue
        if hasattr(value, "get_params"):
            value = f"{type(value).__module__}.{type(value).__qualname__}"
        elif key.endswith("class_weight") and isinstance(value, Mapping):
            value = [value[outcome] for outcome in sorted(value)]
        kept.append((key, value))
    return (
        f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        kept,
        sorted(fit_params.items()),
        None if fit is None else f"{fit.__module__}.{fit.__qualname__}",
    )


@dataclass
class NodeFitPlan:
    """Which node tasks to fit, and the models taken over for the others.

    Attributes
    ----------
    fingerprints : dict of tuple -> str
        The fingerprint of every task's node, by path (the new ``node_fingerprints_``).
    reused : dict of int -> model
        Task index -> model taken over from the earlier fit, outcomes renamed.
    reused_uncalibrated : list of int
        Nodes (new ids) among the reused whose model was fitted without calibration.
    reason : str
        Why nothing could be reused, when a previous fit existed but did not fit
        (another feature count, other level names); empty otherwise.
    """

    fingerprints: dict[tuple[Any, ...], str]
    reused: dict[int, Any] = field(default_factory=dict)
    reused_uncalibrated: list[int] = field(default_factory=list)
    reason: str = ""

    def to_fit(self, n_tasks: int) -> list[int]:
        """Indices of the tasks that need a fit."""
        return [i for i in range(n_tasks) if i not in self.reused]


def plan_node_fits(
    X: Any,
    hierarchy: Hierarchy,
    tasks: Sequence[tuple[int, NDArray[np.intp], NDArray[Any]]],
    sample_weight: NDArray[np.float64] | None,
    settings_of: Callable[[int, NDArray[np.intp], NDArray[Any]], Any],
    previous: PreviousFit | None,
) -> NodeFitPlan:
    """Fingerprint every task's training problem and take over the unchanged models.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Validated training input.
    hierarchy : Hierarchy
        The tree being fitted.
    tasks : sequence of (node, rows, targets)
        As given to ``_fit_node_tasks``: outcome node ids per row (1-D), or one 0/1
        column per outcome (2-D: the children, then the node itself for a stop
        when there is one more column than children).
    sample_weight : ndarray or None
    settings_of : callable
        ``settings_of(node, rows, targets)``: everything about the node's model that
        is not data (its parameters, seed, class weights by outcome position, ...),
        as a value ``joblib.hash`` can digest; node ids must not appear in it.
    previous : PreviousFit or None
        From :func:`take_previous_fit`; None fits every task.

    Returns
    -------
    plan : NodeFitPlan
    """
    levels = tuple(hierarchy.level_names)
    common = joblib.hash((X.shape[1], str(X.dtype), sparse.issparse(X), sample_weight is not None, levels))
    hashes = row_hashes(X)
    plan = NodeFitPlan(fingerprints={})
    paths = []
    for node, rows, targets in tasks:
        path = _plain(hierarchy.node_path(node))
        paths.append(path)
        plan.fingerprints[path] = _node_fingerprint(
            common, hashes, hierarchy, node, rows, targets, sample_weight, settings_of(node, rows, targets)
        )
    if previous is None:
        return plan
    plan.reason = _incompatibility(previous, X.shape[1], tuple(hierarchy.level_names))
    if plan.reason:
        warnings.warn(
            f"warm_start=True, but {plan.reason}: every node model is fitted again.",
            WarmStartWarning,
            stacklevel=5,
        )
        return plan
    for i, ((node, _, targets), path) in enumerate(zip(tasks, paths, strict=True)):
        if previous.fingerprints.get(path) != plan.fingerprints[path] or path not in previous.node_of_path:
            continue
        old_node = previous.node_of_path[path]
        model = _renamed(
            previous.models[old_node],
            previous.hierarchy,
            old_node,
            hierarchy,
            node,
            _outcomes(hierarchy, node, targets),
        )
        if model is not None:
            plan.reused[i] = model
            if path in previous.uncalibrated:
                plan.reused_uncalibrated.append(node)
    return plan


def _incompatibility(previous: PreviousFit, n_features: int, level_names: tuple[str, ...]) -> str:
    if previous.n_features != n_features:
        return f"X has {n_features} features where the earlier fit had {previous.n_features}"
    if previous.level_names != level_names:
        return f"the levels are {list(level_names)} where the earlier fit had {list(previous.level_names)}"
    return ""


def _node_fingerprint(
    common: str,
    hashes: NDArray[np.uint64],
    hierarchy: Hierarchy,
    node: int,
    rows: NDArray[np.intp],
    targets: NDArray[Any],
    sample_weight: NDArray[np.float64] | None,
    settings: Any,
) -> str:
    digest = hashlib.sha256(common.encode())
    digest.update(np.ascontiguousarray(hashes[rows]).tobytes())
    outcomes = _outcomes(hierarchy, node, targets)
    # Outcomes by label: their ids shift when a class is added elsewhere, their order not.
    digest.update(repr([_plain(_outcome_label(hierarchy, node, o)) for o in outcomes.tolist()]).encode())
    if targets.ndim == 1:
        digest.update(np.searchsorted(outcomes, targets).astype(np.int64).tobytes())
    else:
        digest.update(np.ascontiguousarray(targets, dtype=np.int8).tobytes())
    if sample_weight is not None:
        digest.update(np.ascontiguousarray(sample_weight[rows], dtype=np.float64).tobytes())
    digest.update(joblib.hash(settings).encode())
    return digest.hexdigest()


def _outcomes(hierarchy: Hierarchy, node: int, targets: NDArray[Any]) -> NDArray[np.intp]:
    """The node ids of a task's outcomes, in the order its model keeps them."""
    if targets.ndim == 1:
        return np.unique(targets).astype(np.intp)
    children = np.asarray(hierarchy.children(node), dtype=np.intp)
    if targets.shape[1] > len(children):
        return np.r_[children, [node]].astype(np.intp)
    return children


def _outcome_label(hierarchy: Hierarchy, node: int, outcome: int) -> Any:
    if outcome == node:
        return ("<stop>",)
    return ("<child>", hierarchy.node_path(outcome)[-1])


def _renamed(
    model: Any, old: Hierarchy, old_node: int, new: Hierarchy, new_node: int, new_outcomes: NDArray[np.intp]
) -> Any | None:
    """``model`` with its outcomes renamed to ``new_outcomes``; None when that cannot be done.

    The outcomes must name the same children (or the stop) in the same order. A
    model whose ``classes_`` is a plain attribute (scikit-learn's convention, and
    hiercls's own compact models) gets a shallow copy with the new ids; other models
    (LightGBM keeps its own label encoder) are only taken over when no id changed.
    """
    old_outcomes = np.asarray(getattr(model, "classes_", []), dtype=np.intp)
    if len(old_outcomes) != len(new_outcomes):
        return None
    for old_outcome, new_outcome in zip(old_outcomes.tolist(), new_outcomes.tolist(), strict=True):
        if _plain(_outcome_label(old, old_node, old_outcome)) != _plain(
            _outcome_label(new, new_node, new_outcome)
        ):
            return None
    if np.array_equal(old_outcomes, new_outcomes):
        return model
    if "classes_" not in vars(model):
        return None
    renamed = copy.copy(model)
    renamed.classes_ = new_outcomes.astype(np.asarray(model.classes_).dtype)
    return renamed


def _plain(path: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(as_python(label) for label in path)
