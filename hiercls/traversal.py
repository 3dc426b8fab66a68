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
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from ._portable_state import PortableState
from .hierarchy import ROOT, Hierarchy
from .node_models import ConstantNodeModel, outcome_proba, outcome_scores, take_rows
from .sparse_linear import ColumnLookup

__all__ = ["Routes", "NodeScorer", "GreedyPaths", "greedy_paths", "best_paths", "level_marginals"]
__all__ += ["top_k_paths", "TopPaths", "paths_above", "LevelSkips"]

#: Most values a remembering :class:`NodeScorer` keeps (128 MiB of float64).
REMEMBER_BUDGET = 1 << 24

#: ``scorer(node, rows)`` returns the (len(rows), n_outcomes) conditional probabilities.
Scorer = Callable[[int, NDArray[np.intp]], NDArray[np.float64]]


@dataclass(frozen=True)
class LevelSkips(PortableState):
    """Node models whose outcomes lie more than one level down (collapsed levels).

    Such a model chooses among grandchildren (or deeper nodes) directly; an outcome
    may also be an intermediate node, meaning "the path stops there". The
    probability of an intermediate node is the sum over the outcomes below it (its
    stop included), so every level keeps an exact probability.

    Attributes
    ----------
    depth : ndarray of int, shape (n_nodes,)
        Depth of every node (``Hierarchy.depth``): outcomes of a node at depth ``d``
        start at level ``d``.
    spans : dict of int -> list of (int, sparse matrix, ndarray of int)
        Per node whose outcomes skip levels, one entry per level its outcomes pass
        or reach: the level, a 0/1 CSR matrix (n_outcomes, n_groups) putting each
        outcome column in the group of its node at that level (an empty row where
        the outcome ends above the level, or is "stop" at the node itself), and the
        node id of each group.
    """

    depth: NDArray[np.intp]
    spans: dict[int, list[tuple[int, Any, NDArray[np.intp]]]]

    def level_proba(
        self, node: int, proba: NDArray[np.float64], column: NDArray[np.intp]
    ) -> list[tuple[int, NDArray[np.float64]]]:
        """Probability at each spanned level of the outcome in ``column`` of each row of ``proba``.

        Returns (level, values) pairs; NaN where the outcome ends above the level.
        """
        out = []
        for level, member, _ in self.spans[node]:
            sums = np.asarray(member.T @ proba.T).T if proba.size else np.zeros((len(proba), member.shape[1]))
            group = member.indices[column] if member.nnz == member.shape[0] else _group_of(member, column)
            values = np.where(group >= 0, sums[np.arange(len(column)), np.maximum(group, 0)], np.nan)
            out.append((level, values))
        return out


def _group_of(member: Any, column: NDArray[np.intp]) -> NDArray[np.intp]:
    """Group of each outcome column, -1 for a column in no group (a CSR row without entries)."""
    has = np.diff(member.indptr) > 0
    group = np.full(member.shape[0], -1, dtype=np.intp)
    group[has] = member.indices[member.indptr[:-1][has]]
    return group[column]


@dataclass(frozen=True)
class Routes(PortableState):
    """Where the outputs of each node's model lead.

    Attributes
    ----------
    outcomes : list of (ndarray of int or None)
        Per node id, the node id of each output column of its model: a child, or
        the node itself for "the path stops here"; None for a node without a model.
    has_model : ndarray of bool
        Per node id, whether it has a model (a path can go on below it).
    shares_parent : bool
        Whether a node's outcome probabilities add up to 1 (one path per row), so that
        the paths under a node share its probability; False for a label tree's
        independent outcomes.
    skips : LevelSkips or None
        Where outcomes skip levels (collapsed levels); None when every outcome is a
        child or "stop" at the node itself.
    """

    outcomes: list[NDArray[np.intp] | None]
    has_model: NDArray[np.bool_]
    shares_parent: bool = True
    skips: LevelSkips | None = None

    def outcome_level(self, node: int, search_depth: int) -> int:
        """Level of ``node``'s children: ``search_depth`` unless outcomes skip levels."""
        return search_depth if self.skips is None else int(self.skips.depth[node])

    def spans(self, node: int) -> bool:
        """Whether ``node``'s outcomes skip levels."""
        return self.skips is not None and node in self.skips.spans

    @classmethod
    def from_models(cls, models: Sequence[Any], *, shares_parent: bool = True) -> Routes:
        """Routes of fitted node models, whose ``classes_`` are node ids."""
        outcomes = [None if model is None else np.asarray(model.classes_, dtype=np.intp) for model in models]
        return cls.from_outcomes(outcomes, shares_parent=shares_parent)

    @classmethod
    def from_outcomes(
        cls, outcomes: Sequence[NDArray[np.intp] | None], *, shares_parent: bool = True
    ) -> Routes:
        """Routes from per-node outcome arrays."""
        return cls(list(outcomes), np.array([o is not None for o in outcomes], dtype=bool), shares_parent)

    @cached_property
    def n_ends(self) -> NDArray[np.float64]:
        """Per node id, the number of complete paths through it (1 for a node without a model)."""
        n_ends = np.ones(len(self.outcomes))
        for node in range(len(self.outcomes) - 1, -1, -1):  # children have larger ids than parents
            node_outcomes = self.outcomes[node]
            if node_outcomes is not None:
                n_ends[node] = sum(1.0 if o == node else n_ends[o] for o in node_outcomes.tolist())
        return n_ends

    def n_paths(self) -> int:
        """Number of complete paths: outcomes that end a path (a leaf, or a stop)."""
        return int(self.n_ends[ROOT])


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
        if len(blocks) < 2 or not sparse.issparse(self.X) or self.X.shape[0] == 1:
            return  # (a single row is never copied: see take_rows)
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
    # np.concatenate, not np.r_: single rows meet this at every level, where np.r_'s
    # parsing costs more than the arrays.
    starts = np.flatnonzero(np.concatenate(([True], sorted_nodes[1:] != sorted_nodes[:-1])))
    bounds = np.append(starts, len(order))
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
    ``stop_threshold``. Each level's rows are grouped by node, and each visited
    node's model is called once.

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
    final = np.zeros(n_samples, dtype=np.intp)
    path_proba = np.ones(n_samples)
    node_proba = np.full((n_samples, hierarchy.n_levels), np.nan)
    rows = np.arange(n_samples) if routes.has_model[ROOT] else np.empty(0, dtype=np.intp)
    for depth in range(hierarchy.n_levels):
        if rows.size == 0:
            break
        going = []
        for node, _, block in _visit(scorer, final[rows], rows):
            scores = scorer(node, block)
            best = np.argmax(scores, axis=1)
            outcome = routes.outcomes[node][best]  # type: ignore[index]
            if with_proba and routes.spans(node):
                outcome, proba = _greedy_span(
                    routes, node, block, scores, best, outcome, path_proba, node_proba, stop_threshold
                )
                path_proba[block] = proba
            elif with_proba:
                base = path_proba[block]
                proba = base * scores[np.arange(len(block)), best]
                if stop_threshold is not None and node != ROOT:
                    # An unsure row stays at the node, with the node's own probability.
                    unsure = (outcome != node) & (proba < stop_threshold)
                    outcome = np.where(unsure, node, outcome)
                    proba = np.where(unsure, base, proba)
                down = outcome != node
                node_proba[block[down], routes.outcome_level(node, depth)] = proba[down]
                path_proba[block] = proba
            final[block] = outcome
            going.append(block[(outcome != node) & routes.has_model[outcome]])
        rows = np.concatenate(going)
    node_codes = hierarchy.ancestors(final)
    if not with_proba:
        return GreedyPaths(node_codes, None, None)
    return GreedyPaths(node_codes, node_proba, path_proba)


def _greedy_span(
    routes: Routes,
    node: int,
    block: NDArray[np.intp],
    scores: NDArray[np.float64],
    best: NDArray[np.intp],
    outcome: NDArray[np.intp],
    path_proba: NDArray[np.float64],
    node_proba: NDArray[np.float64],
    stop_threshold: float | None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Write the level probabilities of a model whose outcomes skip levels; (outcome, path proba).

    With ``stop_threshold``, the path is cut above the first level (below level 0)
    whose probability is under it, as :func:`best_paths` cuts.
    """
    assert routes.skips is not None
    base = path_proba[block]
    proba = base * scores[np.arange(len(block)), best]
    levels = routes.skips.level_proba(node, scores * base[:, None], best)
    nodes_at = {level: group_node for level, _, group_node in routes.skips.spans[node]}
    kept = np.ones(len(block), dtype=bool)
    for level, values in levels:
        reached = ~np.isnan(values) & kept
        if stop_threshold is not None and level > 0:
            unsure = reached & (values < stop_threshold)
            if unsure.any():
                # The path ends at the node above this level: the deepest kept level, or `node`.
                above = np.full(len(block), node, dtype=np.intp)
                above_proba = base.copy()
                for upper, upper_values in levels:
                    if upper >= level:
                        break
                    on = unsure & ~np.isnan(upper_values)
                    group = _group_of(_span_member(routes, node, upper), best[on])
                    above[on] = nodes_at[upper][group]
                    above_proba[on] = upper_values[on]
                outcome = np.where(unsure, above, outcome)
                proba = np.where(unsure, above_proba, proba)
                kept &= ~unsure
                reached &= ~unsure
        node_proba[block[reached], level] = values[reached]
    return outcome, proba


def _span_member(routes: Routes, node: int, level: int) -> Any:
    assert routes.skips is not None
    return next(member for at, member, _ in routes.skips.spans[node] if at == level)


def _rank_per_row(
    row: NDArray[np.intp], value: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Entries ordered by row, then by descending value, and each one's rank within its row.

    Ties keep the input order, which for any one row depends only on that row's own
    entries, so the order does not depend on the other rows of the batch.
    """
    # Two stable sorts, by value then by row (what lexsort does), but the rows of a
    # batch under 65,536 fit in 16 bits, which numpy sorts stably by radix: about
    # twice as fast as lexsort for the million entries of a WordNet batch.
    order = np.argsort(-value, kind="stable")
    by_value = row[order]
    if len(row) and int(row.max()) < 2**16:
        by_value = by_value.astype(np.uint16)
    order = order[np.argsort(by_value, kind="stable")]
    sorted_rows = row[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_rows[1:] != sorted_rows[:-1])))
    return order, np.arange(len(order)) - np.repeat(starts, np.diff(np.append(starts, len(order))))


@dataclass
class _Paths:
    """Paths of a search, one entry per (row, path): the node where each ends, and its probability.

    ``levels`` holds, per entry, the probability of the path's node at each level
    (NaN below its end), or is None when the caller does not need them.
    """

    row: NDArray[np.intp]
    node: NDArray[np.intp]
    proba: NDArray[np.float64]
    levels: NDArray[np.float64] | None

    @classmethod
    def join(cls, parts: Sequence[_Paths]) -> _Paths:
        levels = [p.levels for p in parts]
        return cls(
            np.concatenate([p.row for p in parts]),
            np.concatenate([p.node for p in parts]),
            np.concatenate([p.proba for p in parts]),
            None if levels[0] is None else np.concatenate(levels),  # type: ignore[arg-type]
        )

    def take(self, keep: NDArray[np.intp]) -> _Paths:
        levels = None if self.levels is None else self.levels[keep]
        return _Paths(self.row[keep], self.node[keep], self.proba[keep], levels)


def _visit(
    scorer: Scorer, at: NDArray[np.intp], rows: NDArray[np.intp]
) -> zip[tuple[int, NDArray[np.intp], NDArray[np.intp]]]:
    """(node, positions, rows) for each node some position is at, rows gathered once per level."""
    nodes, groups = group_by_node(at)
    blocks = [rows[group] for group in groups]
    gather = getattr(scorer, "gather", None)
    if gather is not None:
        gather(nodes.tolist(), blocks)
    return zip(nodes.tolist(), groups, blocks, strict=True)


def _search(
    routes: Routes,
    scorer: Scorer,
    n_samples: int,
    k: int,
    *,
    beam: bool = False,
    lower_bound: NDArray[np.float64] | None = None,
    n_levels: int | None = None,
) -> _Paths:
    """Each row's ``k`` best complete paths, expanding paths level by level (one call per visited node).

    Exact (the default): the paths under a node ``v`` share its probability, so the
    best of them has at least ``P(v) / (number of complete paths under v)``. The
    ``k``-th largest of these guarantees over a row's partial and complete paths (a
    complete path guarantees its own probability), or ``lower_bound`` if higher, is a
    lower bound on the row's ``k``-th best path; since a path's probability never
    grows going down, a partial path under it cannot enter the top ``k`` and is
    dropped before its node is scored. With ``beam``, each row keeps only its ``k``
    most probable partial paths: not exact, but a tight ``lower_bound`` for an exact
    search. With ``n_levels``, every path carries the probability of its node at each level.
    """
    levels = None if n_levels is None else np.full((n_samples, n_levels), np.nan)
    frontier = _Paths(np.arange(n_samples), np.zeros(n_samples, dtype=np.intp), np.ones(n_samples), levels)
    done = frontier.take(np.empty(0, dtype=np.intp))
    if not routes.has_model[ROOT]:  # every path ends at the root
        done, frontier = frontier, done
    depth = 0
    while frontier.row.size:
        blocks, candidates = [], [(done.row, done.proba)]
        for node, group, rows in _visit(scorer, frontier.node, frontier.row):
            outcomes: NDArray[np.intp] = routes.outcomes[node]  # type: ignore[assignment]
            proba = frontier.proba[group, None] * scorer(node, rows)
            ends = (outcomes == node) | ~routes.has_model[outcomes]
            floor: Any = np.inf  # a beam keeps the block's k best complete paths of each row
            if beam and proba.shape[1] > k:
                floor = np.partition(np.where(ends, proba, 0.0), -k, axis=1)[:, -k, None]
            blocks.append((node, group, rows, proba, outcomes, ends, floor))
            if beam:
                guaranteed = np.where(ends, 0.0, proba)
            elif (
                lower_bound is None and routes.shares_parent
            ):  # the margin: probabilities may add up to a hair under 1
                guaranteed = proba / np.where(ends, 1.0, routes.n_ends[outcomes] * (1 + 1e-9))
            elif lower_bound is None:  # independent outcomes guarantee nothing below a node
                guaranteed = np.where(ends, proba, 0.0)
            else:
                continue
            if guaranteed.shape[1] > k:
                guaranteed = np.partition(guaranteed, -k, axis=1)[:, -k:]
            candidates.append((np.repeat(rows, guaranteed.shape[1]), guaranteed.ravel()))
        bound = np.zeros(n_samples) if lower_bound is None else lower_bound
        if len(candidates) > 1:
            row, value = (np.concatenate(c) for c in zip(*candidates[beam:], strict=True))
            if k == 1:
                np.maximum.at(bound, row, value)
            else:
                order, rank = _rank_per_row(row, value)
                bound[row[order[rank == k - 1]]] = value[order[rank == k - 1]]
        parts, ended = [done], [np.ones(len(done.row), dtype=bool)]
        for node, group, rows, proba, outcomes, ends, floor in blocks:
            keep = (proba > 0) & ((proba >= bound[rows, None]) | (beam & ends & (proba >= floor)))
            at, column = np.nonzero(keep)
            kept = _Paths(rows[at], outcomes[column], proba[at, column], None)
            if frontier.levels is not None and routes.spans(node):
                assert routes.skips is not None
                kept.levels = frontier.levels[group[at]]
                for level, values in routes.skips.level_proba(node, proba[at], column):
                    reached = ~np.isnan(values)
                    kept.levels[reached, level] = values[reached]
            elif frontier.levels is not None:
                kept.levels = frontier.levels[group[at]]
                down = kept.node != node  # a stop adds no level
                kept.levels[down, routes.outcome_level(node, depth)] = kept.proba[down]
            parts.append(kept)
            ended.append(ends[column])
        paths, complete = _Paths.join(parts), np.concatenate(ended)
        order, rank = _rank_per_row(paths.row[complete], paths.proba[complete])
        done = paths.take(np.flatnonzero(complete)[order[rank < k]])
        frontier = paths.take(np.flatnonzero(~complete))
        depth += 1
    return done


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
) -> TopPaths:
    """The ``k`` most probable complete outcomes of each row, exactly.

    For ``k=1``, one exact search: each visited node's model is called once. For
    larger ``k`` (or outcomes that do not share their parent's probability, which
    guarantee nothing), the ``k``-th largest guarantee bounds too loosely on wide trees, so
    a beam of width ``k`` first finds ``k`` complete paths per row, whose ``k``-th best
    probability bounds the exact search; a scorer that remembers its blocks
    (``NodeScorer(remember=True)``) scores no (node, row) twice across the two passes.

    Parameters
    ----------
    routes : Routes
    scorer : callable
        ``scorer(node, rows)`` gives conditional outcome probabilities.
    n_samples, k : int
    n_levels : int, optional
        Also return the probability of each path's node at every level.

    Returns
    -------
    paths : TopPaths
    """
    lower_bound = None
    if (
        k > 1 or not routes.shares_parent
    ):  # the beam's done paths come sorted by row, then by descending probability
        beam = _search(routes, scorer, n_samples, k, beam=True)
        kth = np.arange(len(beam.row)) - np.searchsorted(beam.row, beam.row) == k - 1
        lower_bound = np.zeros(n_samples)
        lower_bound[beam.row[kth]] = beam.proba[kth] * (1 - 1e-9)  # rounding between the passes
    done = _search(routes, scorer, n_samples, k, lower_bound=lower_bound, n_levels=n_levels)
    rank = np.arange(len(done.row)) - np.searchsorted(done.row, done.row)
    out_nodes = np.full((n_samples, k), -1, dtype=np.intp)
    out_proba = np.full((n_samples, k), np.nan)
    out_nodes[done.row, rank] = done.node
    out_proba[done.row, rank] = done.proba
    out_levels = None
    if done.levels is not None:
        out_levels = np.full((n_samples, k, done.levels.shape[1]), np.nan)
        out_levels[done.row, rank] = done.levels
    return TopPaths(out_nodes, out_proba, out_levels)


def best_paths(
    hierarchy: Hierarchy,
    routes: Routes,
    scorer: Scorer,
    n_samples: int,
    *,
    stop_threshold: float | None = None,
) -> GreedyPaths:
    """The most probable complete path of each row, found exactly (:func:`top_k_paths`, k=1).

    Unlike :func:`greedy_paths`, a row may leave a likely parent for a less likely
    one whose best leaf is more probable than any leaf under the first. With
    ``stop_threshold``, the path is cut above the first node below level 0 whose
    probability is under it.

    Returns
    -------
    paths : GreedyPaths
        As from :func:`greedy_paths`, with probabilities.
    """
    best = top_k_paths(routes, scorer, n_samples, 1, n_levels=hierarchy.n_levels)
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


def paths_above(
    routes: Routes, scorer: Scorer, n_samples: int, threshold: float
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Every complete path whose probability reaches ``threshold``, for every row.

    A partial path below ``threshold`` is never expanded: its completions cannot
    reach it, as probabilities never grow going down. Works for conditional
    probabilities that need not add up to 1 at a node (a label tree's).

    Returns
    -------
    row, node, proba : ndarray
        One entry per path found, sorted by row, then by descending probability.
    """
    bound = np.full(n_samples, threshold * (1 - 1e-12))
    found = _search(routes, scorer, n_samples, routes.n_paths(), lower_bound=bound)
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
        if routes.spans(node):
            _add_span_levels(hierarchy, routes, node, conditional, node_reach, marginals, written)
        is_child = children != node
        if not is_child.all():
            conditional, children = conditional[:, is_child], children[is_child]
        depth = hierarchy.depth[node]
        if not routes.spans(node):
            _add_columns(
                marginals[depth], written[depth], hierarchy.label_index[children], conditional, node_reach
            )
        for position, child in enumerate(children.tolist()):
            if routes.has_model[child]:
                reach[child] = conditional[:, position] * node_reach
    return marginals


def _add_span_levels(
    hierarchy: Hierarchy,
    routes: Routes,
    node: int,
    conditional: NDArray[np.float64],
    reach: NDArray[np.float64],
    marginals: list[NDArray[np.float64]],
    written: list[NDArray[np.bool_]],
) -> None:
    """Add a level-skipping model's outcomes to every level they pass: by group sums, per label."""
    assert routes.skips is not None
    for level, member, group_node in routes.skips.spans[node]:
        # Two groups of one level may carry one label (the same name under two parents).
        labels, group_label = np.unique(hierarchy.label_index[group_node], return_inverse=True)
        to_label = sparse.csr_matrix(
            (np.ones(len(group_node)), (np.arange(len(group_node)), group_label)),
            shape=(len(group_node), len(labels)),
        )
        per_label = np.asarray((member @ to_label).T @ conditional.T).T
        _add_columns(marginals[level], written[level], labels, per_label, reach)


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
