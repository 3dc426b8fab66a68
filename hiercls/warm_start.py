"""Warm start: reuse the node models whose training problem has not changed.

Every fit gives each fitted node a fingerprint of its training problem: the content
of its rows in order, their targets (as the outcomes' paths of labels, since node ids
shift when classes are added), their sample weights, and the node model's settings (the
template's parameters, the size-aware settings, the seed, class weights and
categorical columns). The fingerprints are kept as a plain dict from node path to a
hex string (``node_fingerprints_``). With ``warm_start=True``, the next fit takes over
the model of every node whose fingerprint is unchanged instead of fitting it again;
its outcomes are renamed to the new node ids, in the same order.

Nothing here fits a model: :func:`plan_node_fits` decides, the estimator fits.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from .exceptions import WarmStartWarning
from .hierarchy import Hierarchy, as_python
from .node_models import adapter_for

__all__ = [
    "NodeFitPlan",
    "PreviousFit",
    "NodeSettings",
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
    node_of_path = {path: node for node, path in _node_paths(hierarchy).items() if path in fingerprints}
    return PreviousFit(
        hierarchy=hierarchy,
        models=list(models),
        node_of_path=node_of_path,
        fingerprints=dict(fingerprints),
        uncalibrated=frozenset(_plain(p) for p in getattr(estimator, "uncalibrated_nodes_", ())),
        n_features=int(estimator.n_features_in_),
        level_names=tuple(hierarchy.level_names),
    )


def model_settings(estimator: Any) -> list[tuple[str, Any]]:
    """An unfitted model's parameters as they enter a fingerprint: everything but threads.

    The parameters are flattened as ``get_params(deep=True)`` lists them (a nested
    estimator by its class name, its own parameters under ``<name>__``), with
    ``n_jobs`` left out: the threads a node gets change with the number of nodes
    fitted at once, not the model.
    """
    kept = [("<class>", f"{type(estimator).__module__}.{type(estimator).__qualname__}")]
    for key, value in sorted(estimator.get_params(deep=True).items()):
        if key == "n_jobs" or key.endswith("__n_jobs"):
            continue
        if hasattr(value, "get_params"):
            value = f"{type(value).__module__}.{type(value).__qualname__}"
        kept.append((key, value))
    return kept


@dataclass(frozen=True)
class _Template:
    digest: str
    params: dict[str, Any]
    node_settings: Callable[[dict[str, Any], int], dict[str, Any]]
    folds: int | None


class NodeSettings:
    """Digests of the node models' settings in one fit: what of a model is not data.

    A node's model is its template (the base, per-level or per-node estimator)
    with the size-aware settings of :func:`~hiercls.node_models.make_node_estimator`,
    its seed, its class weights (by outcome position: node ids shift when classes
    are added) and, for a cross-validated calibration that the node's rows cannot
    feed, the fact that it went uncalibrated. The template's parameters are read
    and hashed once per template (equal default templates count as one), since
    reading them costs more than the rest.

    Parameters
    ----------
    fit : callable or None
        The one-node fit function (None: :func:`~hiercls.node_models.fit_node`).
    categorical_settings : callable
        ``categorical_settings(template) -> (params, fit_params)`` for this fit's input.
    calibration_folds : callable
        ``calibration_folds(template) -> int or None``: the folds of a cross-validated
        calibration, None for other models.
    """

    def __init__(
        self,
        fit: Callable[..., Any] | None,
        categorical_settings: Callable[[Any], tuple[dict[str, Any], dict[str, Any]]],
        calibration_folds: Callable[[Any], int | None],
    ) -> None:
        self._fit = None if fit is None else f"{fit.__module__}.{fit.__qualname__}"
        self._categorical_settings = categorical_settings
        self._calibration_folds = calibration_folds
        self._templates: dict[Any, _Template] = {}
        self._by_id: dict[int, _Template] = {}
        self._digests: dict[Any, str] = {}
        self._alive: list[Any] = []  # templates keyed by id stay alive, so ids stay theirs

    def digest(
        self,
        template: Any,
        *,
        n_rows: int,
        seed: int | None,
        class_weights: Callable[[Mapping[Any, float]], Mapping[int, float]],
        keeps_calibration: Callable[[int], bool],
    ) -> str:
        """The digest of one node's model settings.

        ``class_weights(weights)`` gives the node's weights by outcome id (asked
        only for a template with a ``class_weight`` mapping); ``keeps_calibration(folds)``
        whether every outcome has ``folds`` rows (asked only for a calibrated template).
        """
        entry = self._template(template)
        node_settings = sorted(entry.node_settings(entry.params, n_rows).items())
        parts: list[Any] = [entry.digest, node_settings]
        if seed is not None and "random_state" in entry.params:
            parts.append(("seed", seed))
        weights = entry.params.get("class_weight")
        shared = not isinstance(weights, Mapping) and entry.folds is None
        if shared:
            # Nodes of one template mostly share their settings: one digest for all of them.
            try:
                key = (entry.digest, tuple(node_settings), len(parts), seed)
                return self._digests[key]
            except KeyError:
                digest = self._digests[key] = hashlib.sha256(repr(parts).encode()).hexdigest()
                return digest
            except TypeError:  # a setting that cannot be a key
                pass
        if isinstance(weights, Mapping):
            by_outcome = class_weights(weights)
            parts.append(("class_weight", [by_outcome[outcome] for outcome in sorted(by_outcome)]))
        if entry.folds is not None and not keeps_calibration(entry.folds):
            parts.append("uncalibrated")
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def _template(self, template: Any) -> _Template:
        entry = self._by_id.get(id(template))
        if entry is not None:
            return entry
        key = _template_key(template)
        entry = self._templates.get(key)
        if entry is None:
            params, fit_params = self._categorical_settings(template)
            settings = (
                model_settings(template),
                sorted(params.items()),
                sorted(fit_params.items()),
                self._fit,
            )
            entry = self._templates[key] = _Template(
                digest=joblib.hash(settings),
                params=template.get_params(deep=False),
                node_settings=adapter_for(template).node_settings,
                folds=self._calibration_folds(template),
            )
        self._alive.append(template)
        self._by_id[id(template)] = entry
        return entry


def _template_key(template: Any) -> Any:
    """Equal keys for templates of one class with equal plain parameters; else the object."""
    values = vars(template)
    if all(isinstance(value, (str, int, float, bool, type(None))) for value in values.values()):
        return type(template), tuple(sorted((k, type(v).__name__, v) for k, v in values.items()))
    return id(template)


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
    settings_of: Callable[[int, NDArray[np.intp], NDArray[Any]], str],
    previous: PreviousFit | None,
) -> NodeFitPlan:
    """Fingerprint every task's training problem and take over the unchanged models.

    ``X`` is hashed once per fit (:func:`row_hashes`); each task's rows, targets and
    weights then enter its fingerprint through one vectorised pass over all tasks'
    rows (a sum per task of mixed per-row keys, see :func:`_task_digests`), so a
    node costs O(1) Python work beyond its rows.

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
        ``settings_of(node, rows, targets)``: a digest of everything about the node's
        model that is not data (see :class:`NodeSettings`); node ids must not enter it.
    previous : PreviousFit or None
        From :func:`take_previous_fit`; None fits every task.

    Returns
    -------
    plan : NodeFitPlan
    """
    levels = tuple(hierarchy.level_names)
    common = joblib.hash((X.shape[1], str(X.dtype), sparse.issparse(X), sample_weight is not None, levels))
    path_keys = _path_keys(hierarchy)
    digests = _task_digests(row_hashes(X), hierarchy, path_keys, tasks, sample_weight)
    prefix = common.encode()
    node_paths = _node_paths(hierarchy)
    plan = NodeFitPlan(fingerprints={})
    paths = []
    for (node, rows, targets), digest in zip(tasks, digests, strict=True):
        path = node_paths[node]
        paths.append(path)
        settings = settings_of(node, rows, targets).encode()
        plan.fingerprints[path] = hashlib.sha256(prefix + digest.tobytes() + settings).hexdigest()
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
    matched = [
        (i, path, previous.models[previous.node_of_path[path]])
        for i, path in enumerate(paths)
        if previous.fingerprints.get(path) == plan.fingerprints[path] and path in previous.node_of_path
    ]
    renamed = _renamed(
        [model for _, _, model in matched],
        _path_keys(previous.hierarchy),
        _NodeOfKey(path_keys),
        hierarchy,
        [tasks[i] for i, _, _ in matched],
    )
    for (i, path, _), model in zip(matched, renamed, strict=True):
        if model is not None:
            plan.reused[i] = model
            if path in previous.uncalibrated:
                plan.reused_uncalibrated.append(tasks[i][0])
    return plan


def _incompatibility(previous: PreviousFit, n_features: int, level_names: tuple[str, ...]) -> str:
    if previous.n_features != n_features:
        return f"X has {n_features} features where the earlier fit had {previous.n_features}"
    if previous.level_names != level_names:
        return f"the levels are {list(level_names)} where the earlier fit had {list(previous.level_names)}"
    return ""


def _label_keys(labels: NDArray[Any]) -> NDArray[np.uint64]:
    """A 64-bit key per label of one level, equal in every process for equal labels.

    The int ``1`` and the str ``'1'`` are two labels: each kind of label array is
    hashed under its own tag.
    """
    kind = pd.api.types.infer_dtype(labels, skipna=False)
    if kind == "string":
        keys, tag = pd.util.hash_array(np.asarray(labels, dtype=object), categorize=False), 1
    elif kind == "integer" and np.asarray(labels).dtype.kind in "iuO":
        try:
            keys, tag = pd.util.hash_array(np.asarray(labels, dtype=np.int64), categorize=False), 2
        except OverflowError:  # beyond int64: the general case below
            kind = "mixed"
    if kind not in ("string", "integer"):
        texts = np.array([repr(as_python(label)) for label in labels.tolist()], dtype=object)
        keys, tag = pd.util.hash_array(texts, categorize=False), 3
    return _mix(keys.astype(np.uint64) ^ np.uint64(tag))


def _path_keys(hierarchy: Hierarchy) -> NDArray[np.uint64]:
    """A 64-bit key of every node's path of labels, per node id: ids shift, paths do not."""
    keys = np.empty(hierarchy.n_nodes, dtype=np.uint64)
    keys[0] = _ROW_HASH_SEEDS[0]
    with np.errstate(over="ignore"):
        for level, labels in enumerate(hierarchy.level_labels):
            nodes = np.arange(hierarchy.level_ptr[level], hierarchy.level_ptr[level + 1])
            label_keys = _label_keys(labels)[hierarchy.label_index[nodes]]
            keys[nodes] = _mix(_mix(keys[hierarchy.parent[nodes]]) ^ label_keys)
    return keys


class _NodeOfKey:
    """Node id of a path key in one hierarchy (-1 where no node has that path)."""

    def __init__(self, path_keys: NDArray[np.uint64]) -> None:
        self._order = np.argsort(path_keys, kind="stable")
        self._sorted = path_keys[self._order]

    def __call__(self, keys: NDArray[np.uint64]) -> NDArray[np.intp]:
        at = np.minimum(np.searchsorted(self._sorted, keys), len(self._sorted) - 1)
        return np.where(self._sorted[at] == keys, self._order[at], -1).astype(np.intp)


def _node_paths(hierarchy: Hierarchy) -> dict[int, tuple[Any, ...]]:
    """The path of labels (plain Python values) of every node with children, by node id."""
    has_children = hierarchy.n_children > 0
    paths: dict[int, tuple[Any, ...]] = {0: ()}
    parent = hierarchy.parent.tolist()
    label_index = hierarchy.label_index.tolist()
    for level, labels in enumerate(hierarchy.level_labels[:-1]):
        plain = [as_python(label) for label in labels.tolist()]
        first, last = int(hierarchy.level_ptr[level]), int(hierarchy.level_ptr[level + 1])
        for node in (first + np.flatnonzero(has_children[first:last])).tolist():
            paths[node] = (*paths[parent[node]], plain[label_index[node]])
    return paths


def _task_digests(
    hashes: NDArray[np.uint64],
    hierarchy: Hierarchy,
    path_keys: NDArray[np.uint64],
    tasks: Sequence[tuple[int, NDArray[np.intp], NDArray[Any]]],
    sample_weight: NDArray[np.float64] | None,
) -> NDArray[np.uint64]:
    """A 128-bit digest of every task's rows (by content, in order), targets and weights.

    Every row of a task gets a key that mixes its content hash, its position in the
    task, its target (the outcome's path key: outcome ids shift when classes are
    added elsewhere, their paths do not) and its weight; a task's digest is the
    wrapping sum of its rows' keys. One pass over all tasks' rows at once.

    Returns
    -------
    digests : ndarray of uint64, shape (n_tasks, 2)
    """
    if not tasks:
        return np.empty((0, 2), dtype=np.uint64)
    sizes = np.array([len(rows) for _, rows, _ in tasks], dtype=np.intp)
    starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.intp)
    rows = np.concatenate([rows for _, rows, _ in tasks])
    position = (np.arange(len(rows), dtype=np.intp) - np.repeat(starts, sizes)).astype(np.uint64)
    with np.errstate(over="ignore"):
        if all(targets.ndim == 1 for _, _, targets in tasks):
            target_keys = path_keys[np.concatenate([targets for _, _, targets in tasks])]
        else:
            target_keys = np.concatenate(
                [_multi_target_keys(hierarchy, path_keys, node, targets) for node, _, targets in tasks]
            )
        weight_bits = (
            np.zeros(len(rows), dtype=np.uint64)
            if sample_weight is None
            else _value_bits(np.asarray(sample_weight, dtype=np.float64)[rows])
        )
        digests = np.empty((len(tasks), 2), dtype=np.uint64)
        for k, seed in enumerate(_ROW_HASH_SEEDS):
            entry = _mix(hashes[rows, k] ^ _mix(position ^ seed))
            entry = _mix(_mix(entry ^ target_keys) ^ weight_bits)
            sums = np.add.reduceat(entry, starts, dtype=np.uint64)
            digests[:, k] = _mix(sums ^ _mix(sizes.astype(np.uint64) + seed))
    return digests


def _multi_target_keys(
    hierarchy: Hierarchy, path_keys: NDArray[np.uint64], node: int, targets: NDArray[Any]
) -> NDArray[np.uint64]:
    """Per row of a 2-D task, a key of the outcomes it has (their path keys; the node's own for a stop)."""
    column_keys = _mix(path_keys[_outcomes(hierarchy, node, targets)] ^ _GOLDEN)
    with np.errstate(over="ignore"):
        return (np.asarray(targets, dtype=np.uint64) * column_keys).sum(axis=1, dtype=np.uint64)  # type: ignore[no-any-return]


def _outcomes(hierarchy: Hierarchy, node: int, targets: NDArray[Any]) -> NDArray[np.intp]:
    """The node ids of a task's outcomes, in the order its model keeps them."""
    if targets.ndim == 1:
        return np.unique(targets).astype(np.intp)
    children = np.asarray(hierarchy.children(node), dtype=np.intp)
    if targets.shape[1] > len(children):
        return np.r_[children, [node]].astype(np.intp)
    return children


def _renamed(
    models: Sequence[Any],
    old_path_keys: NDArray[np.uint64],
    new_node_of_key: _NodeOfKey,
    new: Hierarchy,
    tasks: Sequence[tuple[int, NDArray[np.intp], NDArray[Any]]],
) -> list[Any | None]:
    """Each model with its outcomes renamed to its task's node ids; None where that cannot be done.

    The fingerprints being equal, a model's outcomes name the same paths as its
    task's; their new ids must also keep the model's order (the order a fit from
    scratch would give them). A model whose ``classes_`` is a plain attribute
    (scikit-learn's convention, and hiercls's own compact models) gets a shallow
    copy with the new ids; other models (LightGBM keeps its own label encoder) are
    only taken over when no id changed. The ids of all models are mapped at once.
    """
    if not models:
        return []
    old = [np.asarray(getattr(model, "classes_", []), dtype=np.intp) for model in models]
    sizes = np.array([len(outcomes) for outcomes in old], dtype=np.intp)
    ends = np.cumsum(sizes)
    old_ids = np.concatenate(old)
    new_ids = new_node_of_key(old_path_keys[old_ids])
    ordered = np.r_[True, np.diff(new_ids) > 0]
    ordered[ends[:-1]] = True  # each model's first outcome starts its own order
    nonempty = sizes > 0
    starts = (ends - sizes)[nonempty]
    valid = np.zeros(len(models), dtype=bool)
    valid[nonempty] = np.logical_and.reduceat(ordered & (new_ids >= 0), starts)
    same = np.ones(len(models), dtype=bool)
    same[nonempty] = np.logical_and.reduceat(new_ids == old_ids, starts)
    out: list[Any | None] = []
    for model, (node, _, targets), ok, unchanged, end, size in zip(
        models, tasks, valid.tolist(), same.tolist(), ends.tolist(), sizes.tolist(), strict=True
    ):
        outcomes = new_ids[end - size : end]
        if targets.ndim == 2:  # the children, then the stop: not ascending ids
            ok = bool((outcomes >= 0).all()) and np.array_equal(outcomes, _outcomes(new, node, targets))
        if not ok or size == 0:
            out.append(None)
        elif unchanged:
            out.append(model)
        elif "classes_" not in vars(model):
            out.append(None)
        else:
            # A shallow copy of the attributes, as copy.copy makes, without the round
            # trip through __getstate__ (which re-encodes a compact model's weights).
            renamed = object.__new__(type(model))
            renamed.__dict__.update(vars(model))
            renamed.classes_ = outcomes.astype(np.asarray(model.classes_).dtype)
            out.append(renamed)
    return out


def _plain(path: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(as_python(label) for label in path)
