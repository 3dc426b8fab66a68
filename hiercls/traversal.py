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
    "Routes",
    "NodeScorer",
    "GreedyPaths",
    "greedy_paths",
    "best_paths",
    "level_marginals",
    "top_k_paths",
    "TopPaths",
    "paths_above",
]

#: Most values a remembering :class:`NodeScorer` keeps (128 MiB of float64).
REMEMBER_BUDGET = 1 << 24

#: ``scorer(node, rows)`` returns the (len(rows), n_outcomes) conditional probabilities.
Scorer = Callable[[int, NDArray[np.intp]], NDArray[np.float64]]


@dataclass(frozen=True)
class Routes:
    """Where the outputs of each node's model lead.

    Attributes
    ----------
    outcomes : list of (ndarray of int or None)
        Per node id, the node id of each output column of its model: a child, or
        the node itself for "the path stops here"; None for a node without a model.
    has_model : ndarray of bool
        Per node id, whether it has a model (a path can go on below it).
    """

    outcomes: list[NDArray[np.intp] | None]
    has_model: NDArray[np.bool_]

    @classmethod
    def from_models(cls, models: Sequence[Any]) -> Routes:
        """Routes of fitted node models, whose ``classes_`` are node ids."""
        return cls.from_outcomes(
            [None if model is None else np.asarray(model.classes_, dtype=np.intp) for model in models]
        )

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[NDArray[np.intp] | None]) -> Routes:
        """Routes from per-node outcome arrays."""
        return cls(list(outcomes), np.array([o is not None for o in outcomes], dtype=bool))

    def n_paths(self) -> int:
        """Number of complete paths: outcomes that end a path (a leaf, or a stop)."""
        ends = {
            int(outcome)
            for node, node_outcomes in enumerate(self.outcomes)
            if node_outcomes is not None
            for outcome in node_outcomes.tolist()
            if outcome == node or not self.has_model[outcome]
        }
        return max(1, len(ends))


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
    remember : bool, default=False
        Keep every block scored, so that a later call for the same node scores only
        the rows it has not seen. Searches that pass over the tree twice (exact
        top-k, best path, paths and top-k of one batch) then call each node model
        on each row at most once. Blocks are kept up to a budget of
        ``REMEMBER_BUDGET`` values; beyond it, rows are scored again.
    """

    def __init__(
        self, models: Sequence[Any], X: Any, *, ranking_only: bool = False, remember: bool = False
    ) -> None:
        self.models = models
        self.X = X
        self.ranking_only = ranking_only
        # Shared by the compact linear models that score this batch (see ColumnLookup).
        self.lookup = ColumnLookup(X.shape[1]) if ColumnLookup.pays_off(X) else None
        self._gathered: dict[int, tuple[NDArray[np.intp], Any]] = {}
        self._remembered: dict[int, tuple[NDArray[np.intp], NDArray[np.float64]]] | None = (
            {} if remember else None
        )
        self._n_remembered = 0

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
            if self.models[node] is not None
            and not isinstance(self.models[node], ConstantNodeModel)
            and (self._remembered is None or node not in self._remembered)
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
        if self._remembered is None:
            return self._score(node, rows)
        known = self._remembered.get(node)
        if known is None:
            values = self._score(node, rows)
            self._remember(node, rows, values)
            return values
        known_rows, known_values = known
        at = np.minimum(np.searchsorted(known_rows, rows), len(known_rows) - 1)
        seen = known_rows[at] == rows
        if seen.all():
            return known_values[at]
        unseen = rows[~seen]
        fresh = self._score(node, unseen)
        values = np.empty((len(rows), fresh.shape[1]))
        values[seen] = known_values[at[seen]]
        values[~seen] = fresh
        self._remember(node, unseen, fresh)
        return values

    def _score(self, node: int, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        model = self.models[node]
        gathered = self._gathered.get(node)
        X = gathered[1] if gathered is not None and gathered[0] is rows else take_rows(self.X, rows)
        if self.ranking_only:
            return outcome_scores(model, X, self.lookup)
        return outcome_proba(model, X, self.lookup)

    def _remember(self, node: int, rows: NDArray[np.intp], values: NDArray[np.float64]) -> None:
        assert self._remembered is not None
        if self._n_remembered + values.size > REMEMBER_BUDGET:
            return
        self._n_remembered += values.size
        known = self._remembered.get(node)
        if known is not None:
            rows = np.concatenate([known[0], rows])
            values = np.concatenate([known[1], values])
        order = np.argsort(rows, kind="stable")
        self._remembered[node] = (rows[order], values[order])


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
    proba: NDArray[np.float64],
    columns: NDArray[np.intp],
    k: int,
    bound: NDArray[np.float64] | None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Flatten one node's (rows x outcomes) block, keeping only entries that can matter.

    Without a bound: each row's ``k`` best (no other entry of this block can enter the
    row's top ``k``). With a bound (one per row of the block): the entries at or
    above the row's bound.

    Returns
    -------
    at, outcome, proba : ndarray
        Position in the block of each kept entry's row, its outcome and probability.
    """
    if bound is None:
        if proba.shape[1] > k:
            top = np.argpartition(-proba, k - 1, axis=1)[:, :k]
            return (
                np.repeat(np.arange(len(proba)), k),
                columns[top].ravel(),
                np.take_along_axis(proba, top, axis=1).ravel(),
            )
        keep_r, keep_c = np.nonzero(proba > 0)
    else:
        keep_r, keep_c = np.nonzero((proba > 0) & (proba >= bound[:, None]))
    return keep_r, columns[keep_c], proba[keep_r, keep_c]


@dataclass
class _Paths:
    """Partial or complete paths of a search, one entry per (row, path).

    ``levels`` holds, per entry, the probability of the path's node at each level
    (NaN below its end), or is None when the caller does not need them.
    """

    row: NDArray[np.intp]
    node: NDArray[np.intp]
    proba: NDArray[np.float64]
    levels: NDArray[np.float64] | None

    @classmethod
    def roots(cls, n_samples: int, n_levels: int | None) -> _Paths:
        levels = None if n_levels is None else np.full((n_samples, n_levels), np.nan)
        return cls(np.arange(n_samples), np.zeros(n_samples, dtype=np.intp), np.ones(n_samples), levels)

    @classmethod
    def join(cls, parts: Sequence[_Paths]) -> _Paths:
        return cls(
            np.concatenate([p.row for p in parts]),
            np.concatenate([p.node for p in parts]),
            np.concatenate([p.proba for p in parts]),
            None if parts[0].levels is None else np.concatenate([p.levels for p in parts]),  # type: ignore[misc]
        )

    def take(self, keep: NDArray[np.intp]) -> _Paths:
        levels = None if self.levels is None else self.levels[keep]
        return _Paths(self.row[keep], self.node[keep], self.proba[keep], levels)


class _Greedy:
    """Each row's most probable outcome at every node: one path per row.

    A row stops where the model's most probable outcome is "stop", and, below
    level 0, where the best child's path probability is under ``stop_threshold``.
    Without ``with_proba`` the scores only need the right row-wise argmax.
    """

    k = None
    trims_frontier = False
    gathers = True

    def __init__(self, stop_threshold: float | None, with_proba: bool) -> None:
        self.stop_threshold = stop_threshold
        self.with_proba = with_proba

    def select(
        self,
        node: int,
        rows: NDArray[np.intp],
        base: NDArray[np.float64],
        scores: NDArray[np.float64],
        node_outcomes: NDArray[np.intp],
        has_model: NDArray[np.bool_],
    ) -> list[tuple[NDArray[np.intp] | None, NDArray[np.intp], NDArray[np.float64]]]:
        best = np.argmax(scores, axis=1)
        outcome = node_outcomes[best]
        if not self.with_proba:
            return [(None, outcome, base)]
        proba = base * np.take_along_axis(scores, best[:, None], axis=1)[:, 0]
        if self.stop_threshold is not None and node != ROOT:
            unsure = (outcome != node) & (proba < self.stop_threshold)
            if unsure.any():  # stays at the node, with the node's own probability
                outcome = np.where(unsure, node, outcome)
                proba = np.where(unsure, base, proba)
        return [(None, outcome, proba)]


class _Beam:
    """Each row's ``k`` most probable partial paths at every level, and complete ones."""

    trims_frontier = True
    # A row has up to k paths at a level, often one row per node: a level-wide row
    # gather would build a matrix per node for a single row.
    gathers = False

    def __init__(self, k: int) -> None:
        self.k = k

    def _bound(self, rows: NDArray[np.intp]) -> NDArray[np.float64] | None:
        return None

    def select(
        self,
        node: int,
        rows: NDArray[np.intp],
        base: NDArray[np.float64],
        scores: NDArray[np.float64],
        node_outcomes: NDArray[np.intp],
        has_model: NDArray[np.bool_],
    ) -> list[tuple[NDArray[np.intp] | None, NDArray[np.intp], NDArray[np.float64]]]:
        proba = base[:, None] * scores
        expandable = (node_outcomes != node) & has_model[node_outcomes]
        bound = self._bound(rows)
        # Partial and complete paths compete for a row's k places separately: a
        # complete path cannot push out a partial one whose children may beat it.
        return [
            _select(proba[:, mask], node_outcomes[mask], self.k, bound)
            for mask in (expandable, ~expandable)
            if mask.any()
        ]


class _Bounded(_Beam):
    """Every path whose probability reaches its row's bound; the ``k`` best complete ones."""

    trims_frontier = False

    def __init__(self, k: int, bound: NDArray[np.float64]) -> None:
        super().__init__(k)
        self.bound = bound

    def _bound(self, rows: NDArray[np.intp]) -> NDArray[np.float64] | None:
        return self.bound[rows]


def _search(
    routes: Routes, scorer: Scorer, n_samples: int, policy: _Greedy | _Beam, n_levels: int | None
) -> _Paths:
    """Walk paths down the tree level by level; return the complete paths that ``policy`` keeps.

    At each level, the rows at each node are scored in one call; ``policy`` picks
    which outcomes become partial paths of the next level or complete paths. With
    ``n_levels``, every path carries the probability of its node at each level.
    """
    frontier = _Paths.roots(n_samples, n_levels)
    done = frontier.take(np.empty(0, dtype=np.intp))
    gather = getattr(scorer, "gather", None)
    depth = 0
    while frontier.row.size:
        new: list[_Paths] = []
        finished: list[_Paths] = []
        nodes, groups = group_by_node(frontier.node)
        blocks = [frontier.row[group] for group in groups]
        if gather is not None and policy.gathers:
            gather(nodes.tolist(), blocks)
        for node, group, rows in zip(nodes.tolist(), groups, blocks, strict=True):
            node_outcomes = routes.outcomes[node]
            if node_outcomes is None:
                finished.append(frontier.take(group))
                continue
            base = frontier.proba[group]
            picks = policy.select(node, rows, base, scorer(node, rows), node_outcomes, routes.has_model)
            for at, outcome, proba in picks:
                parents = group if at is None else group[at]
                levels = None
                if frontier.levels is not None:
                    levels = frontier.levels[parents]
                    goes_down = outcome != node  # a stop adds no level
                    levels[goes_down, depth] = proba[goes_down]
                paths = _Paths(rows if at is None else rows[at], outcome, proba, levels)
                going = (outcome != node) & routes.has_model[outcome]
                if going.all():
                    new.append(paths)
                elif not going.any():
                    finished.append(paths)
                else:
                    new.append(paths.take(np.flatnonzero(going)))
                    finished.append(paths.take(np.flatnonzero(~going)))
        if finished:
            done = _Paths.join([done, *finished])
            if policy.k is not None:
                done = done.take(_top_k_per_row(done.row, done.proba, policy.k))
        if not new:
            break
        frontier = _Paths.join(new) if len(new) > 1 else new[0]
        if policy.trims_frontier:
            assert policy.k is not None
            frontier = frontier.take(_top_k_per_row(frontier.row, frontier.proba, policy.k))
        depth += 1
    return done


def greedy_paths(
    hierarchy: Hierarchy,
    routes: Routes,
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
    routes : Routes
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
    with_proba = with_proba or stop_threshold is not None
    n_levels = hierarchy.n_levels
    done = _search(
        routes, scorer, n_samples, _Greedy(stop_threshold, with_proba), n_levels if with_proba else None
    )
    final = np.empty(n_samples, dtype=np.intp)
    final[done.row] = done.node
    node_codes = hierarchy.ancestors(final)
    if not with_proba:
        return GreedyPaths(node_codes, None, None)
    assert done.levels is not None
    node_proba = np.empty((n_samples, n_levels))
    node_proba[done.row] = done.levels
    path_proba = np.empty(n_samples)
    path_proba[done.row] = done.proba
    return GreedyPaths(node_codes, node_proba, path_proba)


def best_paths(
    hierarchy: Hierarchy,
    routes: Routes,
    scorer: Scorer,
    n_samples: int,
    *,
    stop_threshold: float | None = None,
) -> GreedyPaths:
    """The most probable complete path of each row, found exactly (top-1 search).

    Unlike :func:`greedy_paths`, a row may leave a likely parent for a less likely
    one whose best leaf is more probable than any leaf under the first. The greedy
    path's probability bounds the search from below; with a scorer that remembers
    its blocks, the search scores no (node, row) the greedy pass already scored.
    With ``stop_threshold``, the path is cut above the first node below level 0
    whose probability is under it.

    Returns
    -------
    paths : GreedyPaths
        As from :func:`greedy_paths`, with probabilities.
    """
    greedy = greedy_paths(hierarchy, routes, scorer, n_samples)
    assert greedy.path_proba is not None
    best = top_k_paths(
        routes, scorer, n_samples, 1, n_levels=hierarchy.n_levels, lower_bound=greedy.path_proba
    )
    assert best.level_proba is not None
    node_codes = hierarchy.ancestors(best.nodes[:, 0])
    node_proba = best.level_proba[:, 0]
    path_proba = best.proba[:, 0].copy()
    if stop_threshold is not None:
        unsure = node_proba[:, 1:] < stop_threshold  # NaN below a path's end compares False
        cut = np.flatnonzero(unsure.any(axis=1))
        if cut.size:
            first = 1 + np.argmax(unsure[cut], axis=1)
            path_proba[cut] = node_proba[cut, first - 1]
            below = np.arange(hierarchy.n_levels) >= first[:, None]
            node_codes[cut] = np.where(below, -1, node_codes[cut])
            node_proba[cut] = np.where(below, np.nan, node_proba[cut])
    return GreedyPaths(node_codes, node_proba, path_proba)


@dataclass(frozen=True)
class TopPaths:
    """The ``k`` most probable complete paths of each row (from :func:`top_k_paths`).

    Attributes
    ----------
    nodes : ndarray of int, shape (n_samples, k)
        Final node of each path (a leaf, or an internal node where the path stops);
        -1 where a row has fewer than ``k`` possible paths.
    proba : ndarray of float, shape (n_samples, k)
        Path probabilities, descending; NaN where ``nodes`` is -1.
    level_proba : ndarray of float, shape (n_samples, k, n_levels), or None
        Probability of each path's node at each level, NaN below its end; None
        unless asked for.
    """

    nodes: NDArray[np.intp]
    proba: NDArray[np.float64]
    level_proba: NDArray[np.float64] | None


def top_k_paths(
    routes: Routes,
    scorer: Scorer,
    n_samples: int,
    k: int,
    *,
    n_levels: int | None = None,
    lower_bound: NDArray[np.float64] | None = None,
) -> TopPaths:
    """The ``k`` most probable complete outcomes of each row, exactly.

    A beam of width ``k`` first finds ``k`` complete paths; the k-th best probability
    is a lower bound on the true k-th best. Since a path's probability never grows
    going down, every partial path below that bound can be dropped, and a second
    expansion of all partial paths above it finds the exact top ``k``. A scorer that
    remembers its blocks (``NodeScorer(remember=True)``) scores no (node, row) twice
    across the two passes.

    Parameters
    ----------
    routes : Routes
    scorer : callable
        ``scorer(node, rows)`` gives conditional outcome probabilities.
    n_samples, k : int
    n_levels : int, optional
        Also return the probability of each path's node at every level.
    lower_bound : ndarray of float, shape (n_samples,), optional
        A probability that each row's k-th best path is known to reach (for ``k=1``,
        any complete path's probability, such as the greedy path's). Replaces the
        beam pass.

    Returns
    -------
    paths : TopPaths
    """
    if lower_bound is None:
        beam = _search(routes, scorer, n_samples, _Beam(k), None)
        lower_bound = np.zeros(n_samples)
        full = np.bincount(beam.row, minlength=n_samples) >= k
        if full.any():
            kth = np.full(n_samples, np.inf)
            np.minimum.at(kth, beam.row, beam.proba)  # the beam's done set holds at most k per row
            lower_bound[full] = kth[full]
    bound = lower_bound * (1 - 1e-9)  # tolerance for rounding between the passes
    found = _search(routes, scorer, n_samples, _Bounded(k, bound), n_levels)
    found = found.take(_top_k_per_row(found.row, found.proba, k))
    found = found.take(np.lexsort((-found.proba, found.row)))
    starts = np.searchsorted(found.row, np.arange(n_samples))
    rank = np.arange(len(found.row)) - starts[found.row]
    out_nodes = np.full((n_samples, k), -1, dtype=np.intp)
    out_proba = np.full((n_samples, k), np.nan)
    out_nodes[found.row, rank] = found.node
    out_proba[found.row, rank] = found.proba
    out_levels = None
    if found.levels is not None:
        out_levels = np.full((n_samples, k, found.levels.shape[1]), np.nan)
        out_levels[found.row, rank] = found.levels
    return TopPaths(out_nodes, out_proba, out_levels)


def paths_above(
    routes: Routes, scorer: Scorer, n_samples: int, threshold: float
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Every complete path whose probability reaches ``threshold``, for every row.

    A partial path below ``threshold`` is never expanded: its completions cannot
    reach it, as probabilities never grow going down. Works for conditional
    probabilities that need not sum to 1 at a node (a label tree's).

    Returns
    -------
    row, node, proba : ndarray
        One entry per path found: its row, final node and probability.
    """
    bound = np.full(n_samples, threshold * (1 - 1e-12))
    found = _search(routes, scorer, n_samples, _Bounded(routes.n_paths(), bound), None)
    return found.row, found.node, found.proba


def level_marginals(
    hierarchy: Hierarchy,
    routes: Routes,
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
        children = routes.outcomes[node]
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
            if routes.has_model[child]:
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
