"""Collapsed levels: a parent's model chooses among its grandchildren directly.

Collapsing level ``L`` merges its parent level ``L - 1`` into the decision above:
the models at level ``L - 2`` (the root's, for ``L = 1``) choose among the nodes of
level ``L`` (and "the path stops at a level ``L - 1`` node" where some paths do),
and the nodes of level ``L - 1`` get no model of their own. A wrong turn at level
``L - 1`` can then no longer be made on its own; collapsing every level but level 0
gives one flat model at the root over the complete paths.

The tree, the node ids and every output stay as without collapse: a node model's
outcomes are node ids one or more levels down, and the traversal reads the
probability of an intermediate node as the sum over the outcomes below it
(:class:`~hiercls.traversal.LevelSkips`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from .exceptions import HierarchyError
from .hierarchy import Hierarchy
from .traversal import LevelSkips, Routes, group_by_node

__all__ = ["check_collapse_keys", "collapsed_routes", "decision_training_sets", "resolve_collapse_levels"]


def resolve_collapse_levels(collapse_levels: Any, level_names: Sequence[str]) -> tuple[int, ...]:
    """The levels to collapse as sorted level indices.

    Parameters
    ----------
    collapse_levels : list or tuple of (str or int), or None
        Level names (or indices, 0 is the coarsest level).
    level_names : sequence of str
        The hierarchy's level names.

    Returns
    -------
    levels : tuple of int
        Sorted, each at least 1.

    Raises
    ------
    TypeError
        For an entry that is neither a level name nor an integer index.
    HierarchyError
        For level 0 (it has no level above to merge into), an unknown level, an
        index out of range, or a level named twice.
    """
    if collapse_levels is None:
        return ()
    levels = list(level_names)
    resolved: list[int] = []
    for entry in collapse_levels:
        if isinstance(entry, str):
            if entry not in levels:
                raise HierarchyError(
                    f"collapse_levels names the level {entry!r}, which is not a level of Y; "
                    f"the levels are {levels}."
                )
            index = levels.index(entry)
        elif isinstance(entry, Integral) and not isinstance(entry, bool):
            index = int(entry)
            if not 0 <= index < len(levels):
                raise HierarchyError(
                    f"collapse_levels has the level index {index}, but Y has {len(levels)} "
                    f"levels (indices 0 to {len(levels) - 1}): {levels}."
                )
        else:
            raise TypeError(
                f"collapse_levels entries must be level names (str) or level indices (int); "
                f"got {entry!r} of type {type(entry).__name__}. The levels are {levels}."
            )
        if index == 0:
            raise HierarchyError(
                f"collapse_levels cannot collapse level 0 ({levels[0]!r}): it has no level "
                f"above it to merge into. Collapse the levels below it (e.g. {levels[1:]}) "
                f"for one flat model at the root."
            )
        if index in resolved:
            raise HierarchyError(
                f"collapse_levels names level {levels[index]!r} twice; name each level once."
            )
        resolved.append(index)
    return tuple(sorted(resolved))


def check_collapse_keys(
    collapsed: Sequence[int],
    level_names: Sequence[str],
    level_estimators: Mapping[str, Any] | None,
    node_estimators: Mapping[tuple[Any, ...], Any] | None,
) -> None:
    """Refuse per-level or per-node models that collapsed levels leave without a node.

    The model of a collapsed level (and any node model at the level above it, whose
    nodes get no model) would never be fitted; say so instead of ignoring it.
    """
    for level in collapsed:
        name = level_names[level]
        if level_estimators and name in level_estimators:
            raise HierarchyError(
                f"level_estimators has a model for level {name!r}, which collapse_levels "
                f"merges into the decision of level {level_names[_block_start(level, collapsed)]!r}; "
                f"give that level's model instead, or do not collapse {name!r}."
            )
    for path in node_estimators or {}:
        if isinstance(path, tuple) and len(path) in collapsed:
            raise HierarchyError(
                f"node_estimators has a model for the node {path!r}, but collapse_levels "
                f"collapses level {level_names[len(path)]!r}, so nodes of level "
                f"{level_names[len(path) - 1]!r} get no model; key it by the node above."
            )


def _block_start(level: int, collapsed: Sequence[int]) -> int:
    while level in collapsed:
        level -= 1
    return level


def _blocks(n_levels: int, collapsed: Sequence[int]) -> list[tuple[int, int]]:
    """(first, last) level decided by one model, for each run of levels merged together."""
    starts = [level for level in range(n_levels) if level not in collapsed]
    return [(start, end - 1) for start, end in zip(starts, [*starts[1:], n_levels], strict=True)]


def decision_training_sets(
    hierarchy: Hierarchy, node_codes: NDArray[np.intp], collapsed: Sequence[int] = ()
) -> Iterator[tuple[int, NDArray[np.intp], NDArray[np.intp]]]:
    """Yield (node, rows, outcome per row) for every node that decides a block of levels.

    A block is a level that is not collapsed with the collapsed levels right below
    it; the nodes just above the block decide it. A row's outcome is its deepest node
    inside the block, or the deciding node itself where its path ends there ("stop").
    Without collapsed levels, every block is one level and the outcomes are children.
    One stable argsort per block groups the rows of every deciding node.
    """
    n = node_codes.shape[0]
    n_children = hierarchy.n_children  # computed on each access: once here, not once per node
    for first, last in _blocks(hierarchy.n_levels, collapsed):
        parent_codes = node_codes[:, first - 1] if first else np.zeros(n, dtype=np.intp)
        rows_below = np.flatnonzero(parent_codes >= 0)
        if rows_below.size == 0:
            break
        inside = node_codes[rows_below, first : last + 1]
        deepest = (inside >= 0).sum(axis=1) - 1  # paths have no gaps
        outcomes = np.where(
            deepest >= 0,
            inside[np.arange(len(rows_below)), np.maximum(deepest, 0)],
            parent_codes[rows_below],
        )
        nodes, groups = group_by_node(parent_codes[rows_below])
        for node, group in zip(nodes.tolist(), groups, strict=True):
            if n_children[node] == 0:
                continue
            yield node, rows_below[group], outcomes[group]


def collapsed_routes(models: Sequence[Any], hierarchy: Hierarchy, collapsed: Sequence[int]) -> Routes:
    """Routes of fitted node models, with the level groups of outcomes that skip levels.

    Parameters
    ----------
    models : sequence
        Fitted model per node id (None where a node has none); ``classes_`` are node ids.
    hierarchy : Hierarchy
    collapsed : sequence of int
        Collapsed levels (from :func:`resolve_collapse_levels`).

    Returns
    -------
    routes : Routes
        Plain :meth:`Routes.from_models` when nothing is collapsed.
    """
    routes = Routes.from_models(models)
    if not collapsed:
        return routes
    spans: dict[int, list[tuple[int, Any, NDArray[np.intp]]]] = {}
    for first, last in _blocks(hierarchy.n_levels, collapsed):
        if first == last:
            continue
        deciding = (
            np.zeros(1, dtype=np.intp)
            if first == 0
            else np.arange(hierarchy.level_ptr[first - 1], hierarchy.level_ptr[first])
        )
        for node in deciding.tolist():
            outcomes = routes.outcomes[node]
            if outcomes is None:
                continue
            path_codes = hierarchy.ancestors(outcomes)
            path_codes[outcomes == node] = -1  # "stop here" passes no level
            spans[node] = [(level, *_level_groups(path_codes[:, level])) for level in range(first, last + 1)]
    return Routes(routes.outcomes, routes.has_model, routes.shares_parent, LevelSkips(hierarchy.depth, spans))


def _level_groups(at_level: NDArray[np.intp]) -> tuple[Any, NDArray[np.intp]]:
    """Outcome columns grouped by their node at one level: (n_outcomes, n_groups) CSR and group nodes."""
    present = np.flatnonzero(at_level >= 0)
    group_node, group = np.unique(at_level[present], return_inverse=True)
    member = sparse.csr_matrix(
        (np.ones(len(present)), (present, group)), shape=(len(at_level), len(group_node))
    )
    return member, group_node.astype(np.intp)
