"""Top-down passes over the tree of node models, shared by every prediction method.

Each node model sees a block of rows at once: rows are grouped by the node they are
at with one stable argsort per level, never with a mask per node or a loop per row.
``predict`` (greedy descent) calls only the models that some row reaches; exact
per-level marginals evaluate every internal node on every row, which is what they
cost by nature; top-k search expands only the partial paths that can still enter a
row's k best. All three read node models through one scorer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from .hierarchy import ROOT, Hierarchy
from .node_models import ConstantNodeModel, outcome_proba, outcome_scores, take_rows
from .sparse_linear import ColumnLookup

__all__ = [
    "NodeScorer",
    "GreedyPaths",
    "greedy_paths",
    "best_paths",
    "level_marginals",
    "top_k_paths",
]

#: ``scorer(node, rows)`` returns the (len(rows), n_outcomes) conditional probabilities.
Scorer = Callable[[int, NDArray[np.intp]], NDArray[np.float64]]


class NodeScorer:
    """Call each node's model on the rows of ``X`` that are at that node.

    Parameters
    ----------
    models : sequence
        Fitted model per node id, None for nodes without one (leaves).
    X : ndarray or sparse matrix
        Validated input rows.
    ranking_only : bool, default=False
        Return scores whose row-wise argmax is the most probable outcome instead of
        probabilities (a linear model's decision values: no softmax to compute).
    """

    def __init__(self, models: Sequence[Any], X: Any, *, ranking_only: bool = False) -> None:
        self.models = models
        self.X = X
        self.ranking_only = ranking_only
        # Shared by the compact linear models that score this batch (see ColumnLookup).
        self.lookup = ColumnLookup(X.shape[1]) if ColumnLookup.pays_off(X) else None
        self._gathered: dict[int, tuple[NDArray[np.intp], Any]] = {}

    def gather(self, nodes: Sequence[int], blocks: Sequence[NDArray[np.intp]]) -> None:
        """Copy the rows of several nodes out of sparse ``X`` at once, before scoring them.

        One row gather for a whole level instead of one per node: each node's block
        is then a slice of it, shared without a copy. ``rows`` passed to a later call
        must be the very array given here.
        """
        self._gathered.clear()
        if len(blocks) < 2 or not sparse.issparse(self.X):
            return
        scored = [
            (node, block)
            for node, block in zip(nodes, blocks, strict=True)
            if self.models[node] is not None and not isinstance(self.models[node], ConstantNodeModel)
        ]
        if len(scored) < 2:
            return
        X = take_rows(self.X, np.concatenate([block for _, block in scored])).tocsr()
        start = 0
        for node, block in scored:
            stop = start + len(block)
            first, last = X.indptr[start], X.indptr[stop]
            view = sparse.csr_matrix(
                (X.data[first:last], X.indices[first:last], X.indptr[start : stop + 1] - first),
                shape=(len(block), X.shape[1]),
            )
            self._gathered[node] = (block, view)
            start = stop

    def __call__(self, node: int, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """Conditional outcome probabilities (or ranking scores) of ``node``'s model on ``rows``."""
        model = self.models[node]
        if isinstance(model, ConstantNodeModel):  # no need to index X for a sure outcome
            return np.ones((len(rows), 1))
        gathered = self._gathered.get(node)
        X = gathered[1] if gathered is not None and gathered[0] is rows else take_rows(self.X, rows)
        if self.ranking_only:
            return outcome_scores(model, X, self.lookup)
        return outcome_proba(model, X, self.lookup)


def group_by_node(nodes: NDArray[np.intp]) -> tuple[NDArray[np.intp], list[NDArray[np.intp]]]:
    """Group positions by node with one stable argsort.

    Parameters
    ----------
    nodes : ndarray of int
        The node of each position.

    Returns
    -------
    unique_nodes : ndarray of int
        Distinct nodes, ascending.
    groups : list of ndarray of int
        For each distinct node, the positions at it, ascending.
    """
    if len(nodes) and nodes[0] == nodes[-1] and nodes.min() == nodes.max():
        return nodes[:1], [np.arange(len(nodes))]  # one node: nothing to sort
    order = np.argsort(nodes, kind="stable")
    sorted_nodes = nodes[order]
    starts = np.flatnonzero(np.r_[True, sorted_nodes[1:] != sorted_nodes[:-1]])
    bounds = np.r_[starts, len(order)]
    return sorted_nodes[starts], [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@dataclass(frozen=True)
class GreedyPaths:
    """One decoded path per row of a batch (from :func:`greedy_paths` or :func:`best_paths`).

    Attributes
    ----------
    node_codes : ndarray of int, shape (n_samples, n_levels)
        Node reached at each level, -1 below the node where the row stopped.
    node_proba : ndarray of float, shape (n_samples, n_levels)
        Probability of the node at each level (product of conditionals down the
        path), NaN below a stop.
    path_proba : ndarray of float, shape (n_samples,)
        Probability of the predicted outcome: the deepest node's probability, times
        the model's "stop" probability where the row stopped because the model
        predicted that the path ends there.
    """

    node_codes: NDArray[np.intp]
    node_proba: NDArray[np.float64] | None
    path_proba: NDArray[np.float64] | None


def greedy_paths(
    hierarchy: Hierarchy,
    outcomes: Sequence[NDArray[np.intp] | None],
    scorer: Scorer,
    n_samples: int,
    *,
    stop_threshold: float | None = None,
    with_proba: bool = True,
) -> GreedyPaths:
    """Walk every row down the tree, taking the most probable outcome at each node.

    A row stops at node ``v`` when the model's most probable outcome is "stop"
    (``v`` itself, learned from paths that end at ``v``), when ``v`` has no model,
    or, below level 0, when the best child's path probability is under
    ``stop_threshold``.

    Parameters
    ----------
    hierarchy : Hierarchy
    outcomes : sequence of ndarray or None
        Per node id, the node id of each model output column; None for no model.
    scorer : callable
        ``scorer(node, rows)`` gives conditional outcome probabilities.
    n_samples : int
    stop_threshold : float or None
        Minimum path probability for going below level 0.
    with_proba : bool, default=True
        Compute the probabilities. Without them (and without ``stop_threshold``)
        ``scorer`` may return any scores with the same row-wise argmax.

    Returns
    -------
    paths : GreedyPaths
        ``node_proba`` and ``path_proba`` are None without ``with_proba``.
    """
    n_levels = hierarchy.n_levels
    node_codes = np.full((n_samples, n_levels), -1, dtype=np.intp)
    current = np.zeros(n_samples, dtype=np.intp)
    active = np.arange(n_samples)
    if with_proba:
        node_proba = np.full((n_samples, n_levels), np.nan)
        current_proba = np.ones(n_samples)
        path_proba = np.ones(n_samples)
    for depth in range(n_levels):
        if active.size == 0:
            break
        still_active = []
        nodes, groups = group_by_node(current[active])
        blocks = [active[group] for group in groups]
        gather = getattr(scorer, "gather", None)
        if gather is not None:
            gather(nodes.tolist(), blocks)
        for node, rows in zip(nodes.tolist(), blocks, strict=True):
            node_outcomes = outcomes[node]
            if node_outcomes is None:
                continue
            proba = scorer(node, rows)
            best = np.argmax(proba, axis=1)
            chosen = node_outcomes[best]
            goes_down = chosen != node
            if with_proba:
                chosen_proba = current_proba[rows] * np.take_along_axis(proba, best[:, None], axis=1)[:, 0]
                path_proba[rows] = chosen_proba  # learned stops keep P(node) * P(stop | node)
                if stop_threshold is not None and node != ROOT:
                    unsure = goes_down & (chosen_proba < stop_threshold)
                    path_proba[rows[unsure]] = current_proba[rows[unsure]]
                    goes_down &= ~unsure
                chosen_proba = chosen_proba[goes_down]
            if not goes_down.all():
                rows, chosen = rows[goes_down], chosen[goes_down]
            node_codes[rows, depth] = chosen
            current[rows] = chosen
            if with_proba:
                node_proba[rows, depth] = chosen_proba
                current_proba[rows] = chosen_proba
            still_active.append(rows)
        if len(still_active) == 1:  # one node's rows: still ascending
            active = still_active[0]
        else:
            active = np.sort(np.concatenate(still_active)) if still_active else active[:0]
    if not with_proba:
        return GreedyPaths(node_codes, None, None)
    return GreedyPaths(node_codes, node_proba, path_proba)


def best_paths(
    hierarchy: Hierarchy,
    outcomes: Sequence[NDArray[np.intp] | None],
    scorer: Scorer,
    n_samples: int,
    *,
    stop_threshold: float | None = None,
) -> GreedyPaths:
    """The most probable complete path of each row, found exactly (top-1 search).

    Unlike :func:`greedy_paths`, a row may leave a likely parent for a less likely
    one whose best leaf is more probable than any leaf under the first. With
    ``stop_threshold``, the path is cut above the first node below level 0 whose
    probability is under it.

    Returns
    -------
    paths : GreedyPaths
        As from :func:`greedy_paths`, with probabilities.
    """
    final, proba = top_k_paths(outcomes, scorer, n_samples, 1)
    node_codes = hierarchy.ancestors(final[:, 0])
    path_proba = proba[:, 0].copy()
    node_proba = np.full(node_codes.shape, np.nan)
    parent = np.zeros(n_samples, dtype=np.intp)
    parent_proba = np.ones(n_samples)
    for depth in range(hierarchy.n_levels):
        rows = np.flatnonzero(node_codes[:, depth] >= 0)
        if rows.size == 0:
            break
        nodes, groups = group_by_node(parent[rows])
        for node, group in zip(nodes.tolist(), groups, strict=True):
            at = rows[group]
            node_outcomes = outcomes[node]
            assert node_outcomes is not None  # a path goes on below a node only through its model
            order = np.argsort(node_outcomes)  # classes_ are sorted in scikit-learn, not always
            column = order[np.searchsorted(node_outcomes, node_codes[at, depth], sorter=order)]
            conditional = np.take_along_axis(scorer(node, at), column[:, None], axis=1)[:, 0]
            node_proba[at, depth] = parent_proba[at] * conditional
        if stop_threshold is not None and depth > 0:
            unsure = rows[node_proba[rows, depth] < stop_threshold]
            path_proba[unsure] = node_proba[unsure, depth - 1]
            node_codes[unsure, depth:] = -1
            node_proba[unsure, depth:] = np.nan
            rows = np.setdiff1d(rows, unsure, assume_unique=True)
        parent[rows] = node_codes[rows, depth]
        parent_proba[rows] = node_proba[rows, depth]
    return GreedyPaths(node_codes, node_proba, path_proba)


def level_marginals(
    hierarchy: Hierarchy,
    outcomes: Sequence[NDArray[np.intp] | None],
    scorer: Scorer,
    n_samples: int,
) -> list[NDArray[np.float64]]:
    """Exact per-level label probabilities: every internal node's model sees every row once.

    ``P(node) = P(parent) * P(node | parent)``; the probability of a label at a level
    adds up every node of that level carrying the label (same name, other parents).
    Nodes are visited parent first, and a node's conditional probabilities are
    dropped once its children's probabilities are known.

    Returns
    -------
    marginals : list of ndarray
        One (n_samples, n_labels_at_level) array per level; a row sums to the
        probability that its path reaches that level.
    """
    marginals = [np.zeros((n_samples, len(labels))) for labels in hierarchy.level_labels]
    written = [np.zeros(len(labels), dtype=bool) for labels in hierarchy.level_labels]
    reach: dict[int, NDArray[np.float64]] = {ROOT: np.ones(n_samples)}
    all_rows = np.arange(n_samples)
    for node in range(hierarchy.n_nodes):  # ids grow with depth, so parents come first
        children = outcomes[node]
        node_reach = reach.pop(node, None)
        if children is None or node_reach is None:  # a leaf, or no row can reach it
            continue
        conditional = scorer(node, all_rows)
        is_child = children != node
        if not is_child.all():
            conditional, children = conditional[:, is_child], children[is_child]
        depth = hierarchy.depth[node]
        _add_columns(
            marginals[depth], written[depth], hierarchy.label_index[children], conditional, node_reach
        )
        for position, child in enumerate(children.tolist()):
            if outcomes[child] is not None:
                reach[child] = conditional[:, position] * node_reach
    return marginals


def _add_columns(
    out: NDArray[np.float64],
    written: NDArray[np.bool_],
    columns: NDArray[np.intp],
    conditional: NDArray[np.float64],
    reach: NDArray[np.float64],
) -> None:
    """``out[:, columns] += conditional * reach[:, None]``, in one write where possible.

    Most labels belong to one node only: their columns are written once, straight
    into ``out`` (a slice when the columns are adjacent), without a temporary block.
    Only a label shared by several parents ("Other" under two groups) is added to.
    """
    fresh = not written[columns].any()
    written[columns] = True
    if fresh and columns[-1] - columns[0] + 1 == len(columns) and bool(np.all(np.diff(columns) == 1)):
        np.multiply(conditional, reach[:, None], out=out[:, columns[0] : columns[-1] + 1])
    elif fresh:
        out[:, columns] = conditional * reach[:, None]
    else:
        out[:, columns] += conditional * reach[:, None]


def _top_k_per_row(row: NDArray[np.intp], proba: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """Positions of the ``k`` most probable entries of each row.

    Ties keep the input order, which for any one row depends only on that row's own
    candidates, so the choice does not depend on the other rows of the batch.
    """
    if row.size == 0:
        return row
    order = np.lexsort((-proba, row))
    sorted_rows = row[order]
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, counts)
    return order[rank < k]


def _select(
    rows: NDArray[np.intp],
    proba: NDArray[np.float64],
    columns: NDArray[np.intp],
    k: int,
    bound: NDArray[np.float64] | None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Flatten one node's (rows x outcomes) block, keeping only entries that can matter.

    Without a bound: each row's ``k`` best (no other entry of this block can enter the
    row's top ``k``). With a bound: the entries at or above the row's bound.
    """
    if bound is None:
        if proba.shape[1] > k:
            top = np.argpartition(-proba, k - 1, axis=1)[:, :k]
            return (
                np.repeat(rows, k),
                columns[top].ravel(),
                np.take_along_axis(proba, top, axis=1).ravel(),
            )
        keep_r, keep_c = np.nonzero(proba > 0)
    else:
        keep_r, keep_c = np.nonzero((proba > 0) & (proba >= bound[rows][:, None]))
    return rows[keep_r], columns[keep_c], proba[keep_r, keep_c]


def _search(
    has_model: NDArray[np.bool_],
    outcomes: Sequence[NDArray[np.intp] | None],
    scorer: Scorer,
    n_samples: int,
    k: int,
    bound: NDArray[np.float64] | None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Expand partial paths level by level.

    Without ``bound`` this is a beam of width ``k``; with it, every partial path
    whose probability reaches the row's bound is expanded.
    """
    cand_row = np.arange(n_samples)
    cand_node = np.zeros(n_samples, dtype=np.intp)
    cand_p = np.ones(n_samples)
    done_row = np.empty(0, dtype=np.intp)
    done_node = np.empty(0, dtype=np.intp)
    done_p = np.empty(0)
    while cand_row.size:
        new: list[tuple[NDArray[Any], NDArray[Any], NDArray[Any]]] = []
        finished: list[tuple[NDArray[Any], NDArray[Any], NDArray[Any]]] = []
        nodes, groups = group_by_node(cand_node)
        for node, group in zip(nodes.tolist(), groups, strict=True):
            rows, base = cand_row[group], cand_p[group]
            node_outcomes = outcomes[node]
            if node_outcomes is None:
                finished.append((rows, np.full(len(rows), node), base))
                continue
            proba = base[:, None] * scorer(node, rows)
            expandable = (node_outcomes != node) & has_model[node_outcomes]
            for mask, target in ((expandable, new), (~expandable, finished)):
                if mask.any():
                    target.append(_select(rows, proba[:, mask], node_outcomes[mask], k, bound))
        if finished:
            done_row = np.concatenate([done_row, *(f[0] for f in finished)])
            done_node = np.concatenate([done_node, *(f[1] for f in finished)])
            done_p = np.concatenate([done_p, *(f[2] for f in finished)])
            keep = _top_k_per_row(done_row, done_p, k)
            done_row, done_node, done_p = done_row[keep], done_node[keep], done_p[keep]
        if not new:
            break
        cand_row = np.concatenate([c[0] for c in new])
        cand_node = np.concatenate([c[1] for c in new])
        cand_p = np.concatenate([c[2] for c in new])
        if bound is None:
            keep = _top_k_per_row(cand_row, cand_p, k)
            cand_row, cand_node, cand_p = cand_row[keep], cand_node[keep], cand_p[keep]
    return done_row, done_node, done_p


def top_k_paths(
    outcomes: Sequence[NDArray[np.intp] | None],
    scorer: Scorer,
    n_samples: int,
    k: int,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """The ``k`` most probable complete outcomes of each row, exactly.

    A beam of width ``k`` first finds ``k`` complete paths; the k-th best probability
    is a lower bound on the true k-th best. Since a path's probability never grows
    going down, every partial path below that bound can be dropped, and a second
    expansion of all partial paths above it finds the exact top ``k``.

    Returns
    -------
    nodes : ndarray of int, shape (n_samples, k)
        Final node of each path (a leaf, or an internal node where the path stops);
        -1 where a row has fewer than ``k`` possible paths.
    proba : ndarray of float, shape (n_samples, k)
        Path probabilities, descending; NaN where ``nodes`` is -1.
    """
    has_model = np.array([o is not None for o in outcomes])
    row, node, proba = _search(has_model, outcomes, scorer, n_samples, k, None)
    bound = np.zeros(n_samples)
    full = np.bincount(row, minlength=n_samples) >= k
    if full.any():
        kth = np.full(n_samples, np.inf)
        np.minimum.at(kth, row, proba)  # the beam's done set holds at most k per row
        bound[full] = kth[full] * (1 - 1e-9)  # tolerance for rounding between the passes
    row, node, proba = _search(has_model, outcomes, scorer, n_samples, k, bound)
    keep = _top_k_per_row(row, proba, k)
    row, node, proba = row[keep], node[keep], proba[keep]
    order = np.lexsort((-proba, row))
    row, node, proba = row[order], node[order], proba[order]
    starts = np.searchsorted(row, np.arange(n_samples))
    rank = np.arange(len(row)) - starts[row]
    out_nodes = np.full((n_samples, k), -1, dtype=np.intp)
    out_proba = np.full((n_samples, k), np.nan)
    out_nodes[row, rank] = node
    out_proba[row, rank] = proba
    return out_nodes, out_proba
