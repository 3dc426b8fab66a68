"""The label tree: an immutable hierarchy of integer node ids.

Node 0 is the root. Nodes are numbered level by level and, inside a level, by
(parent, label), so the children of any node are one contiguous run of ids and
the nodes of a level are one contiguous range. Labels are kept once per level in
their original type; paths are encoded as integer node ids, never joined strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from sklearn.utils.multiclass import type_of_target

from ._portable_state import PortableState
from .exceptions import HierarchyError

__all__ = [
    "Hierarchy",
    "LabelPaths",
    "PathSetCodes",
    "as_python",
    "encode_path_sets",
    "is_missing_label",
    "is_path_sets",
    "label_texts",
    "PATH_HINT",
    "read_label_paths",
    "read_path",
    "read_path_sets",
]

ROOT = 0


def as_python(value: Any) -> Any:
    """A numpy scalar as the plain Python value, so messages show ``'x'``, not ``np.str_('x')``."""
    return value.item() if isinstance(value, np.generic) else value


def label_texts(labels: Sequence[Any]) -> dict[Any, str]:
    """How each label of one level is written as text (files, JSON keys, reports).

    A label is written as ``str(label)``, except where two labels of different types
    would read alike (the int ``1`` and the str ``'1'`` are two classes): those are
    written as ``repr(label)``, ``1`` and ``'1'``, so that they stay apart.

    Parameters
    ----------
    labels : sequence
        The distinct labels of one level.

    Returns
    -------
    texts : dict
        Label -> its text.

    Examples
    --------
    >>> label_texts([1, "1", "a"])
    {1: '1', '1': "'1'", 'a': 'a'}
    """
    plain = {label: str(as_python(label)) for label in labels}
    seen: dict[str, int] = {}
    for text in plain.values():
        seen[text] = seen.get(text, 0) + 1
    return {label: repr(as_python(label)) if seen[text] > 1 else text for label, text in plain.items()}


def is_missing_label(values: NDArray[Any]) -> NDArray[np.bool_]:
    """Mark the entries that end a path: None, NaN, ``pd.NA`` or the empty string.

    Parameters
    ----------
    values : ndarray
        Labels of one level.

    Returns
    -------
    missing : ndarray of bool
    """
    missing = np.asarray(pd.isna(values), dtype=bool)
    if values.dtype.kind in "OUS":
        missing |= values == ""
    return missing


def _distinct_labels(values: NDArray[Any]) -> tuple[NDArray[np.intp], NDArray[Any]]:
    """Factorize one level's present labels, sorted when the labels are comparable."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # mixed, unorderable labels (e.g. int and str) keep first-seen order
        codes, uniques = pd.factorize(values, sort=False)
    uniques = np.asarray(uniques)
    if values.dtype.kind != "O" and uniques.dtype != values.dtype:
        uniques = uniques.astype(values.dtype)
    return codes.astype(np.intp), uniques


@dataclass(frozen=True)
class LabelPaths:
    """Root-to-leaf label paths as given by the user, split into levels.

    Attributes
    ----------
    columns : tuple of ndarray
        One array of labels per level. A level keeps the caller's dtype, with two
        exceptions: integer labels that pandas or numpy turned into floats to make
        room for NaN come back as Python ints (object dtype, ``10``, not ``10.0``),
        and a level given as Python lists keeps its labels' own type (ints next to
        strs stay ints, where ``np.asarray`` would turn them into strings).
    missing : ndarray of bool, shape (n_samples, n_levels)
        True where a path has already ended.
    level_names : tuple of str
        Level names: DataFrame columns, a Series name, or ``level0, level1, ...``.
    is_flat : bool
        True when the target was 1-D (a plain multiclass problem).
    """

    columns: tuple[NDArray[Any], ...]
    missing: NDArray[np.bool_]
    level_names: tuple[str, ...]
    is_flat: bool

    @property
    def n_samples(self) -> int:
        """Number of paths."""
        return self.missing.shape[0]

    def prefix_codes(self, level: int) -> NDArray[np.intp]:
        """A group number per row: the distinct path prefixes down to ``level``.

        A path that has ended above ``level`` forms its own group with the rows
        that end at the same node. Negative ``level`` counts from the last level.
        """
        codes = np.zeros(self.n_samples, dtype=np.int64)
        depth = level % self.n_levels + 1
        for column, missing in zip(self.columns[:depth], self.missing.T[:depth], strict=True):
            labels, uniques = pd.factorize(column)
            labels[missing] = -1
            codes, _ = pd.factorize(codes * (len(uniques) + 1) + labels + 1)
        return codes

    @property
    def n_levels(self) -> int:
        """Number of levels."""
        return len(self.columns)


def read_label_paths(Y: Any, *, input_name: str = "Y", check_paths: bool = True) -> LabelPaths:
    """Parse a target into per-level label arrays: the one parser of label paths.

    The estimators, the metrics, the split and the sufficiency checks all read their
    targets here, so one ``Y`` gives the same labels and the same path ends in each.

    Parameters
    ----------
    Y : array-like of shape (n_samples,) or (n_samples, n_levels)
        Labels, coarse to fine: a numpy array, a DataFrame or Series, or a list of
        paths. A path may end early: trailing None, NaN, ``pd.NA`` or ``""``; lists
        of different lengths are padded with None. A DataFrame's column names (unless
        they are the default ``0, 1, ...``) and a Series' name become level names.
    input_name : str, default="Y"
        Name used in error messages.
    check_paths : bool, default=True
        Check that every path starts at level 0, has no gaps, and that no level is
        empty in every row. A caller that checks several targets together (the
        metrics, where a prediction may stop at the root) passes False.

    Returns
    -------
    paths : LabelPaths

    Raises
    ------
    ValueError
        When ``Y`` is not 1-D or 2-D, has no rows or no levels, or mixes paths with
        single labels.
    HierarchyError
        With ``check_paths``: when a path has a label after an empty level, starts
        with an empty level, or a level is empty in every row.

    Examples
    --------
    >>> import pandas as pd
    >>> from hiercls.hierarchy import read_label_paths
    >>> paths = read_label_paths(pd.DataFrame({"group": [1, 1, 2], "code": [10, 11, None]}))
    >>> paths.level_names, paths.columns[1].tolist(), paths.missing[:, 1].tolist()
    (('group', 'code'), [10, 11, None], [False, False, True])
    >>> read_label_paths([["a", 1], ["b"]]).columns[1].tolist()
    [1, None]
    """
    if isinstance(Y, pd.DataFrame):
        generated = isinstance(Y.columns, pd.RangeIndex)
        level_names = [f"level{j}" if generated else str(c) for j, c in enumerate(Y.columns)]
        columns = [Y.iloc[:, j].to_numpy() for j in range(Y.shape[1])]
        is_flat, n_samples = False, len(Y)
    elif isinstance(Y, pd.Series):
        level_names = [str(Y.name) if Y.name is not None else "level0"]
        columns, is_flat, n_samples = [Y.to_numpy()], True, len(Y)
    else:
        array = Y if isinstance(Y, np.ndarray) else _object_rows(Y, input_name)
        if array.ndim == 0:
            raise ValueError(f"{input_name} must be a 1-D or 2-D array-like of labels; got a scalar {Y!r}.")
        if array.ndim > 2:
            raise ValueError(
                f"{input_name} must be 1-D (one level) or 2-D (n_samples, n_levels); got an "
                f"array with {array.ndim} dimensions and shape {array.shape}."
            )
        is_flat, n_samples = array.ndim == 1, array.shape[0]
        columns = [array] if is_flat else [array[:, j] for j in range(array.shape[1])]
        if not isinstance(Y, np.ndarray):
            columns = [_typed_level(column) for column in columns]
        level_names = [f"level{j}" for j in range(len(columns))]
    if n_samples == 0:
        raise ValueError(f"{input_name} is empty: it has 0 rows; pass at least one labelled row.")
    if not columns:
        raise ValueError(f"{input_name} has 0 levels (0 columns); pass at least one column of labels.")
    columns = _ints_from_floats(columns)
    missing = np.column_stack([is_missing_label(column) for column in columns])
    if check_paths:
        _check_no_gaps(missing, level_names, input_name)
    return LabelPaths(tuple(columns), missing, tuple(level_names), is_flat)


def _object_rows(Y: Any, input_name: str) -> NDArray[Any]:
    """Python rows as an object array; rows of different lengths are padded with None."""
    try:
        np.asarray(Y)  # only to learn whether the rows have one length
    except ValueError:
        rows = list(Y)
        if not all(isinstance(row, (list, tuple)) for row in rows):
            raise ValueError(
                f"{input_name} mixes label paths (lists or tuples) with single labels; give "
                f"every row as a path (e.g. ['a', 'b'], or ['a'] for a path that ends at "
                f"level 0), or every row as one label."
            ) from None
        padded = np.full((len(rows), max(len(row) for row in rows)), None, dtype=object)
        for i, row in enumerate(rows):
            padded[i, : len(row)] = row
        return padded
    return np.array(Y, dtype=object)


def _typed_level(column: NDArray[np.object_]) -> NDArray[Any]:
    """One level of Python labels in numpy's dtype when all share one type, else object."""
    kinds = {type(as_python(value)) for value in column.tolist()}
    if len(kinds) == 1 and kinds <= {bool, int, float, str}:
        return np.asarray(column.tolist())
    if kinds == {int, float}:
        return np.asarray(column.tolist(), dtype=np.float64)
    return column


def _ints_from_floats(columns: list[NDArray[Any]]) -> list[NDArray[Any]]:
    """Integer labels that became floats to hold NaN, as Python ints again (None for NaN).

    pandas turns an int column with a missing label into floats, and numpy a whole
    int array; so once some float level holds NaN, every float level whose labels are
    all whole numbers is read as ints.
    """
    if not any(column.dtype.kind == "f" and np.isnan(column).any() for column in columns):
        return columns
    return [_as_ints(column) if column.dtype.kind == "f" else column for column in columns]


def _as_ints(column: NDArray[np.floating[Any]]) -> NDArray[Any]:
    present = ~np.isnan(column)
    values = column[present]
    if not np.all(np.isfinite(values) & (values == np.round(values))):
        return column
    if present.all():
        return values.astype(np.int64)
    ints = np.full(len(column), None, dtype=object)
    ints[present] = values.astype(np.int64).tolist()
    return ints


def _check_no_gaps(missing: NDArray[np.bool_], level_names: Sequence[str], input_name: str) -> None:
    empty_levels = np.flatnonzero(missing.all(axis=0))
    if empty_levels.size:
        name = level_names[empty_levels[0]]
        raise HierarchyError(
            f"Level {name!r} of {input_name} is empty in every row; drop that column or give it labels."
        )
    if missing[:, 0].any():
        row = int(np.flatnonzero(missing[:, 0])[0])
        raise HierarchyError(
            f"Row {row} of {input_name} has no label at the first level "
            f"{level_names[0]!r}; every path must start with a top-level label."
        )
    gap = ~missing[:, 1:] & missing[:, :-1]
    if gap.any():
        row, level = (int(i) for i in np.argwhere(gap)[0])
        raise HierarchyError(
            f"Row {row} of {input_name} has a label at level {level_names[level + 1]!r} "
            f"after an empty level {level_names[level]!r}; a path may only end early "
            f"(trailing None/NaN/''), it cannot have gaps."
        )


@dataclass(frozen=True, eq=False)
class Hierarchy(PortableState):
    """Immutable label tree with integer node ids.

    Build it with :meth:`from_label_paths` (inferred from training targets) or
    :meth:`from_edges` (given by the user); do not call the constructor directly.

    Attributes
    ----------
    parent : ndarray of int, shape (n_nodes,)
        Parent id of each node; -1 for the root (node 0).
    depth : ndarray of int, shape (n_nodes,)
        0 for the root, ``j + 1`` for a node at level ``j``.
    label_index : ndarray of int, shape (n_nodes,)
        Position of the node's label in ``level_labels[depth - 1]``; -1 for the root.
    child_ptr : ndarray of int, shape (n_nodes + 1,)
        Children of node ``v`` are the ids ``child_ptr[v]`` to ``child_ptr[v + 1] - 1``.
    level_ptr : ndarray of int, shape (n_levels + 1,)
        Nodes of level ``j`` are the ids ``level_ptr[j]`` to ``level_ptr[j + 1] - 1``.
    level_labels : tuple of ndarray
        The distinct labels of each level, in their original type.
    level_names : tuple of str
        One name per level.
    """

    parent: NDArray[np.intp]
    depth: NDArray[np.intp]
    label_index: NDArray[np.intp]
    child_ptr: NDArray[np.intp]
    level_ptr: NDArray[np.intp]
    level_labels: tuple[NDArray[Any], ...]
    level_names: tuple[str, ...]
    _level_keys: tuple[NDArray[np.int64], ...] = field(repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def _from_level_nodes(
        cls,
        level_parents: Sequence[NDArray[np.intp]],
        level_label_index: Sequence[NDArray[np.intp]],
        level_labels: Sequence[NDArray[Any]],
        level_names: Sequence[str],
    ) -> Hierarchy:
        """Assemble from per-level (parent, label) arrays already sorted by (parent, label)."""
        parent = np.concatenate([[-1], *level_parents]).astype(np.intp)
        label_index = np.concatenate([[-1], *level_label_index]).astype(np.intp)
        sizes = [len(p) for p in level_parents]
        level_ptr = np.concatenate([[1], 1 + np.cumsum(sizes)]).astype(np.intp)
        depth = np.zeros(len(parent), dtype=np.intp)
        for j in range(len(sizes)):
            depth[level_ptr[j] : level_ptr[j + 1]] = j + 1
        counts = np.bincount(parent[1:], minlength=len(parent))
        child_ptr = np.concatenate([[1], 1 + np.cumsum(counts)]).astype(np.intp)
        keys = tuple(
            _node_keys(p, li, len(labels))
            for p, li, labels in zip(level_parents, level_label_index, level_labels, strict=True)
        )
        return cls(
            parent=parent,
            depth=depth,
            label_index=label_index,
            child_ptr=child_ptr,
            level_ptr=level_ptr,
            level_labels=tuple(level_labels),
            level_names=tuple(level_names),
            _level_keys=keys,
        )

    @classmethod
    def from_label_paths(cls, paths: LabelPaths) -> tuple[Hierarchy, NDArray[np.intp]]:
        """Infer the tree from label paths and encode every path.

        Parameters
        ----------
        paths : LabelPaths
            Output of :func:`read_label_paths`.

        Returns
        -------
        hierarchy : Hierarchy
        node_codes : ndarray of int, shape (n_samples, n_levels)
            The node id of each row at each level, -1 where the path has ended.
        """
        n = paths.n_samples
        node_codes = np.full((n, paths.n_levels), -1, dtype=np.intp)
        current = np.zeros(n, dtype=np.intp)
        offset = 1
        level_parents, level_label_index, level_labels = [], [], []
        for j, column in enumerate(paths.columns):
            present = ~paths.missing[:, j]
            codes, labels = _distinct_labels(column[present])
            keys = current[present].astype(np.int64) * len(labels) + codes
            # Hash-factorize the rows' keys, then sort only the distinct keys: far
            # cheaper than sorting every row's key when rows outnumber nodes.
            first_seen, distinct = pd.factorize(keys)
            order = np.argsort(distinct, kind="stable")
            unique_keys = distinct[order]
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            node_codes[present, j] = offset + rank[first_seen]
            current = node_codes[:, j]
            level_parents.append((unique_keys // len(labels)).astype(np.intp))
            level_label_index.append((unique_keys % len(labels)).astype(np.intp))
            level_labels.append(labels)
            offset += len(unique_keys)
        hierarchy = cls._from_level_nodes(level_parents, level_label_index, level_labels, paths.level_names)
        return hierarchy, node_codes

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[Hashable, Hashable]] | Mapping[Hashable, Hashable],
        *,
        level_names: Sequence[str] | None = None,
    ) -> Hierarchy:
        """Build a tree from ``(parent, child)`` pairs whose node names are unique.

        Nodes without a parent are the top-level classes (children of the root).
        Because nodes are named, one name may appear only once in the tree; use
        :meth:`from_label_paths` for trees that repeat a name under two parents.

        Parameters
        ----------
        edges : iterable of (parent, child) pairs, or mapping child -> parent
            The tree. A mapping is a "parent column": each key's parent.
        level_names : sequence of str, optional
            Names of the levels; default ``level0, level1, ...``.

        Returns
        -------
        hierarchy : Hierarchy

        Raises
        ------
        HierarchyError
            When a node has two parents, the edges contain a cycle, or the list is empty.

        Examples
        --------
        >>> from hiercls.hierarchy import Hierarchy
        >>> tree = Hierarchy.from_edges([("animal", "dog"), ("animal", "cat"), ("plant", "fern")])
        >>> tree.n_levels, [list(labels) for labels in tree.level_labels]
        (2, [['animal', 'plant'], ['cat', 'dog', 'fern']])
        """
        pairs = list(edges.items()) if isinstance(edges, Mapping) else list(edges)
        if isinstance(edges, Mapping):
            pairs = [(p, c) for c, p in pairs]
        if not pairs:
            raise HierarchyError("The hierarchy has no edges; give (parent, child) pairs.")
        parent_of: dict[Hashable, Hashable] = {}
        for pair in pairs:
            if len(pair) != 2:
                raise HierarchyError(
                    f"Each edge of the hierarchy must be a (parent, child) pair; got {pair!r}."
                )
            par, child = pair
            if par == child:
                raise HierarchyError(
                    f"Node {child!r} is listed as its own parent; the hierarchy must be a tree."
                )
            known = parent_of.get(child, par)
            if known != par:
                raise HierarchyError(
                    f"Node {child!r} is listed under two parents, {known!r} and {par!r}; "
                    f"each node must have exactly one parent."
                )
            parent_of[child] = par
        nodes = set(parent_of) | set(parent_of.values())
        tops = sorted((n for n in nodes if n not in parent_of), key=_sort_key)
        children: dict[Hashable, list[Hashable]] = {}
        for child, par in parent_of.items():
            children.setdefault(par, []).append(child)
        levels: list[list[Hashable]] = []
        frontier = tops
        seen = set(tops)
        while frontier:
            levels.append(frontier)
            frontier = [c for n in frontier for c in children.get(n, [])]
            seen.update(frontier)
        unreached = nodes - seen
        if unreached:
            cycle_node = sorted(unreached, key=_sort_key)[0]
            raise HierarchyError(
                f"The hierarchy has a cycle through node {cycle_node!r} (it cannot be "
                f"reached from any top-level node); the edges must form a tree."
            )
        if level_names is None:
            level_names = [f"level{j}" for j in range(len(levels))]
        elif len(level_names) != len(levels):
            raise HierarchyError(
                f"The hierarchy has {len(levels)} levels but {len(level_names)} level "
                f"names were given: {list(level_names)}."
            )
        node_id: dict[Hashable, int] = {}
        level_parents, level_label_index, level_labels = [], [], []
        offset = 1
        for names in levels:
            labels = np.array(sorted(names, key=_sort_key), dtype=object)
            labels = _narrow_dtype(labels)
            parents = np.array(
                [node_id[parent_of[n]] if n in parent_of else ROOT for n in labels.tolist()],
                dtype=np.intp,
            )
            index = np.arange(len(labels), dtype=np.intp)
            order = np.lexsort((index, parents))
            for rank, i in enumerate(order):
                node_id[labels[i]] = offset + rank
            level_parents.append(parents[order])
            level_label_index.append(index[order])
            level_labels.append(labels)
            offset += len(labels)
        return cls._from_level_nodes(level_parents, level_label_index, level_labels, level_names)

    # ---------------------------------------------------------------- encoding
    def encode(self, paths: LabelPaths, *, input_name: str = "Y") -> NDArray[np.intp]:
        """Encode label paths as node ids, checking that each path exists in this tree.

        Parameters
        ----------
        paths : LabelPaths
            Paths with at most ``n_levels`` levels.
        input_name : str, default="Y"
            Name used in error messages.

        Returns
        -------
        node_codes : ndarray of int, shape (n_samples, n_levels)

        Raises
        ------
        HierarchyError
            When a label is unknown at its level or a path contradicts the tree.
        """
        if paths.n_levels > self.n_levels:
            raise HierarchyError(
                f"{input_name} has {paths.n_levels} levels but the hierarchy has only "
                f"{self.n_levels}: {list(self.level_names)}."
            )
        n = paths.n_samples
        node_codes = np.full((n, self.n_levels), -1, dtype=np.intp)
        current = np.zeros(n, dtype=np.intp)
        for j, column in enumerate(paths.columns):
            present = np.flatnonzero(~paths.missing[:, j])
            labels = self.level_labels[j]
            codes = pd.Index(labels).get_indexer(pd.Index(column[present]))
            unknown = codes < 0
            if unknown.any():
                row = int(present[np.flatnonzero(unknown)[0]])
                raise HierarchyError(
                    f"Label {as_python(column[row])!r} in row {row} of {input_name} is not a class of "
                    f"level {self.level_names[j]!r} in the given hierarchy."
                )
            keys = current[present].astype(np.int64) * len(labels) + codes
            level_keys = self._level_keys[j]
            pos = np.searchsorted(level_keys, keys)
            pos_clipped = np.minimum(pos, len(level_keys) - 1)
            wrong = level_keys[pos_clipped] != keys
            if wrong.any():
                row = int(present[np.flatnonzero(wrong)[0]])
                raise HierarchyError(self._contradiction_message(paths, row, j, input_name))
            node_codes[present, j] = self.level_ptr[j] + pos
            current = node_codes[:, j]
        return node_codes

    def _contradiction_message(self, paths: LabelPaths, row: int, level: int, name: str) -> str:
        label = as_python(paths.columns[level][row])
        given_parent = as_python(paths.columns[level - 1][row]) if level > 0 else None
        label_pos = int(pd.Index(self.level_labels[level]).get_indexer([label])[0])
        first, last = self.level_ptr[level], self.level_ptr[level + 1]
        holders = first + np.flatnonzero(self.label_index[first:last] == label_pos)
        tree_parents = [self.node_path(int(self.parent[v]))[-1:] or ("<root>",) for v in holders]
        return (
            f"Row {row} of {name} places {label!r} (level {self.level_names[level]!r}) under "
            f"{given_parent!r}, but the given hierarchy places it under "
            f"{', '.join(repr(as_python(p[0])) for p in tree_parents)}; a path in {name} must follow "
            f"the tree."
        )

    def with_level_names(self, level_names: Sequence[str]) -> Hierarchy:
        """The same tree with other level names."""
        if len(level_names) != self.n_levels:
            raise HierarchyError(
                f"The hierarchy has {self.n_levels} levels but {len(level_names)} level "
                f"names were given: {list(level_names)}."
            )
        return replace(self, level_names=tuple(level_names))

    def prune(
        self, removed: NDArray[np.bool_], node_codes: NDArray[np.intp]
    ) -> tuple[Hierarchy, NDArray[np.intp]]:
        """Drop nodes (with their subtrees) and end the paths through them at the parent.

        Parameters
        ----------
        removed : ndarray of bool, shape (n_nodes,)
            Nodes to drop; the root cannot be dropped.
        node_codes : ndarray of int, shape (n_samples, n_levels)
            Encoded paths in this tree.

        Returns
        -------
        hierarchy : Hierarchy
            The pruned tree; labels used by no remaining node leave ``level_labels``.
        node_codes : ndarray of int
            The paths re-encoded, cut where they entered a dropped node.
        """
        removed = removed.copy()
        removed[0] = False
        for level in range(1, self.n_levels):  # a dropped node takes its subtree along
            first, last = self.level_ptr[level], self.level_ptr[level + 1]
            removed[first:last] |= removed[self.parent[first:last]]
        keep = ~removed
        new_id = np.cumsum(keep) - 1
        level_parents, level_label_index, level_labels = [], [], []
        for level in range(self.n_levels):
            first, last = self.level_ptr[level], self.level_ptr[level + 1]
            kept = first + np.flatnonzero(keep[first:last])
            used = np.unique(self.label_index[kept])
            level_parents.append(new_id[self.parent[kept]])
            level_label_index.append(np.searchsorted(used, self.label_index[kept]))
            level_labels.append(self.level_labels[level][used])
        pruned = Hierarchy._from_level_nodes(level_parents, level_label_index, level_labels, self.level_names)
        present = node_codes >= 0
        kept_codes = present & keep[np.where(present, node_codes, 0)]
        return pruned, np.where(kept_codes, new_id[np.where(present, node_codes, 0)], -1)

    # ----------------------------------------------------------------- queries
    @property
    def n_nodes(self) -> int:
        """Number of nodes, the root included."""
        return len(self.parent)

    @property
    def n_levels(self) -> int:
        """Number of levels below the root."""
        return len(self.level_labels)

    def children(self, node: int) -> NDArray[np.intp]:
        """Ids of the children of ``node`` (empty for a leaf)."""
        return np.arange(self.child_ptr[node], self.child_ptr[node + 1], dtype=np.intp)

    @property
    def n_children(self) -> NDArray[np.intp]:
        """Number of children of each node."""
        return np.diff(self.child_ptr)

    def ancestors(self, nodes: NDArray[np.intp]) -> NDArray[np.intp]:
        """Node id at each level on the path to each node (-1 below the node).

        Parameters
        ----------
        nodes : ndarray of int, shape (n,)
            Node ids; -1 entries give all -1 rows.

        Returns
        -------
        path_codes : ndarray of int, shape (n, n_levels)
        """
        nodes = np.asarray(nodes, dtype=np.intp)
        out = np.full((len(nodes), self.n_levels), -1, dtype=np.intp)
        current = nodes.copy()
        depth = np.where(current >= 0, self.depth[np.maximum(current, 0)], 0)
        for j in range(self.n_levels - 1, -1, -1):
            at = depth == j + 1
            out[at, j] = current[at]
            current[at] = self.parent[current[at]]
            depth[at] -= 1
        return out

    def node_path(self, node: int) -> tuple[Any, ...]:
        """Labels from level 0 down to ``node`` (empty for the root)."""
        path = []
        while node > ROOT:
            path.append(self.level_labels[self.depth[node] - 1][self.label_index[node]])
            node = int(self.parent[node])
        return tuple(reversed(path))

    def node_labels(self, node_codes: NDArray[np.intp], level: int) -> NDArray[Any]:
        """Labels of nodes at ``level``; -1 entries become None (object output) .

        Parameters
        ----------
        node_codes : ndarray of int, shape (n,)
            Node ids of ``level`` or -1.
        level : int
            The level of the nodes.

        Returns
        -------
        labels : ndarray
            The level's label dtype when no entry is -1, else object with None.
        """
        labels = self.level_labels[level]
        present = node_codes >= 0
        if present.all():
            return labels[self.label_index[node_codes]]
        out = np.full(len(node_codes), None, dtype=object)
        out[present] = labels[self.label_index[node_codes[present]]]
        return out

    def fingerprint(self) -> str:
        """SHA-256 of the tree's structure and labels (equal trees, equal fingerprints)."""
        digest = hashlib.sha256()
        for array in (self.parent, self.label_index):
            digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        for name, labels in zip(self.level_names, self.level_labels, strict=True):
            digest.update(repr((name, labels.tolist())).encode())
        return digest.hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hierarchy):
            return NotImplemented
        return self.fingerprint() == other.fingerprint()

    def __hash__(self) -> int:
        return hash(self.fingerprint())


def _node_keys(parents: NDArray[np.intp], label_index: NDArray[np.intp], n_labels: int) -> NDArray[np.int64]:
    return parents.astype(np.int64) * max(n_labels, 1) + label_index


def _sort_key(value: Hashable) -> tuple[str, Any]:
    # Sort mixed-type names deterministically: by type name first, then by value.
    return (type(value).__name__, value)


def _narrow_dtype(labels: NDArray[Any]) -> NDArray[Any]:
    """Give a level of plain ints or plain strings a typed array, as ``np.asarray`` would."""
    values = labels.tolist()
    if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    return labels


# ------------------------------------------------------------------ multi-label targets
def _is_missing(label: Any) -> bool:
    return (
        label is None
        or label is pd.NA
        or (isinstance(label, float) and label != label)
        or (isinstance(label, str) and label == "")
    )


PATH_HINT = "give each row as a list of paths, each a tuple of labels coarse to fine, e.g. [('J', 'J45')]"


def read_path(item: Any, where: str) -> tuple[Any, ...] | None:
    """One path of a multi-label target as a tuple of Python labels; None for an empty slot.

    Trailing missing labels (None, NaN, ``""``) end the path early, as in a padded
    ``TopKPaths.labels`` row; a missing label with labels below it is a gap.

    Parameters
    ----------
    item : tuple, list or 1-D ndarray of labels
    where : str
        Where the item is, for error messages (``"Row 3 item 0 of Y"``).

    Raises
    ------
    ValueError
        When ``item`` is not a sequence of labels, or holds a sequence as a label.
    HierarchyError
        When the path has a gap.
    """
    if isinstance(item, np.ndarray) and item.ndim == 1:
        item = item.tolist()
    if not isinstance(item, (tuple, list)):
        raise ValueError(f"{where} is {item!r}, which is not a path; {PATH_HINT}.")
    labels = [as_python(label) for label in item]
    end = len(labels)
    while end and _is_missing(labels[end - 1]):
        end -= 1
    if end == 0:
        return None
    for depth, label in enumerate(labels[:end]):
        if _is_missing(label):
            raise HierarchyError(
                f"{where}, the path {tuple(item)!r}, has a gap: no label at level {depth} but "
                f"labels below it. A path may end early (trailing None, NaN or ''), but may not "
                "skip a level."
            )
        if isinstance(label, (tuple, list, set, frozenset, dict, np.ndarray)):
            raise ValueError(
                f"{where}, the path {tuple(item)!r}, holds {label!r} as a label; a label is a "
                f"single value. Is the nesting one level too deep? {PATH_HINT}."
            )
    return tuple(labels[:end])


def read_path_sets(
    Y: Any, *, paths: Sequence[Any] | None = None, input_name: str = "Y"
) -> tuple[int, NDArray[np.intp], list[tuple[Any, ...]]]:
    """Read a multi-label target into (row, path) pairs.

    Parameters
    ----------
    Y : list of lists of paths, or {ndarray, sparse matrix} of shape (n_samples, n_paths)
        Per row, the label paths it belongs to (each a tuple of labels, coarse to
        fine, that may end early with trailing None; a row may hold none). With
        ``paths``, a 0/1 indicator matrix whose columns are those paths; without,
        scikit-learn's multi-label indicator, column ``j`` the one-level path
        ``(j,)``. A 1-D array of int or str class labels gives each row the
        one-level path of its label (scikit-learn's single-label form).
    paths : sequence of paths, default=None
        The path of each column of an indicator ``Y``.
    input_name : str, default="Y"
        Name used in error messages.

    Returns
    -------
    n_samples : int
    pair_rows : ndarray of int
        The row of each (row, path) pair; a path given twice in a row counts once.
    pair_paths : list of tuple
        The path of each pair.

    Examples
    --------
    >>> from hiercls.hierarchy import read_path_sets
    >>> read_path_sets([[("J", "J45"), ("E",)], [("I", "I10")]])
    (2, array([0, 0, 1]), [('J', 'J45'), ('E',), ('I', 'I10')])
    """
    if paths is not None:
        indicator = sparse.csr_matrix(Y)
        if indicator.shape[1] != len(paths):
            raise ValueError(
                f"{input_name} has {indicator.shape[1]} columns but {len(paths)} paths were given; "
                f"give one path per column of the indicator matrix."
            )
        indicator.eliminate_zeros()
        if indicator.nnz and not np.isin(indicator.data, (0, 1)).all():
            raise ValueError(f"{input_name} must be a 0/1 indicator matrix when paths are given.")
        column_paths = [read_path(p, f"paths[{column}]") for column, p in enumerate(paths)]
        if None in column_paths:
            raise ValueError(f"paths[{column_paths.index(None)}] holds no label; every column needs a path.")
        coo = indicator.tocoo()
        order = np.lexsort((coo.col, coo.row))
        return indicator.shape[0], coo.row[order].astype(np.intp), [column_paths[c] for c in coo.col[order]]
    if sparse.issparse(Y) or (isinstance(Y, np.ndarray) and Y.ndim == 2 and Y.dtype != object):
        # scikit-learn's multi-label form: column j is the one-level path (j,).
        return read_path_sets(Y, paths=[(j,) for j in range(Y.shape[1])], input_name=input_name)
    kind = _class_label_kind(Y)
    if kind in ("continuous", "unknown"):
        raise ValueError(
            f"Unknown label type: {input_name} holds {kind} values (scikit-learn's type_of_target); "
            f"give lists of paths, or class labels (int or str)."
        )
    if kind is not None:  # scikit-learn's class labels: each row has the one-level path of its label
        values = np.asarray(Y).tolist()
        return len(values), np.arange(len(values), dtype=np.intp), [(value,) for value in values]
    if not isinstance(Y, (Sequence, np.ndarray, pd.Series)) and hasattr(Y, "__array__"):
        return read_path_sets(np.asarray(Y), input_name=input_name)
    if isinstance(Y, (str, bytes)) or not isinstance(Y, (Sequence, np.ndarray, pd.Series)):
        raise ValueError(
            f"{input_name} must be a list with, per row, a list of label paths, e.g. "
            f"[[('J', 'J45'), ('E',)], [('I', 'I10')]]; got {type(Y).__name__}."
        )
    rows: list[int] = []
    pair_paths: list[tuple[Any, ...]] = []
    for row, items in enumerate(Y):
        if isinstance(items, (str, bytes)) or not isinstance(items, (Sequence, np.ndarray, set, frozenset)):
            raise ValueError(
                f"Row {row} of {input_name} is {items!r}, not a list of paths; give e.g. "
                f"[('J', 'J45')] for one path, [] for none."
            )
        seen: set[tuple[Any, ...]] = set()
        for item in items:
            path = read_path(item, f"{input_name} row {row} item {len(seen)}")
            if path is not None and path not in seen:
                seen.add(path)
                rows.append(row)
                pair_paths.append(path)
    if len(Y) == 0:
        raise ValueError(f"{input_name} is empty: it has 0 rows; pass at least one labelled row.")
    return len(Y), np.asarray(rows, dtype=np.intp), pair_paths


def _class_label_kind(Y: Any) -> str | None:
    """scikit-learn's target type of a 1-D array of class labels; None for anything else."""
    if not isinstance(Y, (np.ndarray, pd.Series)) or Y.ndim != 1 or len(Y) == 0:
        return None
    first = Y.iloc[0] if isinstance(Y, pd.Series) else Y[0]
    if isinstance(first, (Sequence, np.ndarray, set, frozenset)) and not isinstance(first, (str, bytes)):
        return None  # lists of paths
    kind = type_of_target(Y)
    return kind if kind in ("binary", "multiclass", "continuous", "unknown") else None


def path_sets_from_long(
    table: pd.DataFrame, *, row: str, levels: Sequence[str], n_rows: int | None = None
) -> list[list[tuple[Any, ...]]]:
    """A multi-label target in long form (one line per (row, path)) as lists of paths.

    Parameters
    ----------
    table : DataFrame
        One line per path of a row: the row's id in column ``row`` (0 to n_rows - 1),
        its labels in ``levels``, coarse to fine (trailing missing: a shorter path).
    row : str
        The column of row ids.
    levels : sequence of str
        The label columns.
    n_rows : int, optional
        Rows of ``X``; rows without a line get no path. None: the largest id + 1.

    Returns
    -------
    Y : list of lists of tuples
        What :class:`~hiercls.MultiLabelHierarchicalClassifier` takes.

    Examples
    --------
    >>> import pandas as pd
    >>> from hiercls.hierarchy import path_sets_from_long
    >>> long = pd.DataFrame({"row": [0, 0, 2], "group": ["J", "E", "I"], "code": ["J45", None, "I10"]})
    >>> path_sets_from_long(long, row="row", levels=["group", "code"])
    [[('J', 'J45'), ('E',)], [], [('I', 'I10')]]
    """
    missing = [c for c in [row, *levels] if c not in table.columns]
    if missing:
        raise ValueError(f"The long table has no column(s) {missing}; its columns are {list(table.columns)}.")
    ids = pd.to_numeric(table[row], errors="coerce")
    if ids.isna().any() or (ids < 0).any() or (ids % 1 != 0).any():
        raise ValueError(f"Column {row!r} must hold row numbers 0, 1, 2, ... of X.")
    ids = ids.astype(np.int64).to_numpy()
    size = int(ids.max()) + 1 if n_rows is None and len(ids) else int(n_rows or 0)
    if len(ids) and ids.max() >= size:
        raise ValueError(f"Column {row!r} names row {int(ids.max())}, but X has {size} rows.")
    out: list[list[tuple[Any, ...]]] = [[] for _ in range(size)]
    labels = table[list(levels)].astype(object).to_numpy()
    for position, (at, values) in enumerate(zip(ids.tolist(), labels, strict=True)):
        path = read_path(list(values), f"Line {position} of the long table")
        if path is not None and path not in out[at]:
            out[at].append(path)
    return out


def is_path_sets(Y: Any) -> bool:
    """Whether ``Y`` is a multi-label target: per row, a list of paths given as tuples.

    A single-label ``Y`` holds labels in its rows (``["J", "J45"]``); a multi-label one
    holds paths (``[("J", "J45"), ("E",)]``). The first non-empty row decides.
    """
    if isinstance(Y, (pd.DataFrame, np.ndarray, str, bytes)) or not isinstance(Y, (Sequence, pd.Series)):
        return False
    for row in Y:
        if isinstance(row, (list, tuple, set, frozenset)) and len(row):
            return isinstance(next(iter(row)), (tuple, list))
        if not isinstance(row, (list, tuple, set, frozenset)):
            return False
    return False


@dataclass(frozen=True)
class PathSetCodes:
    """A multi-label target encoded on a hierarchy: one entry per (row, path) pair.

    Attributes
    ----------
    hierarchy : Hierarchy
    n_samples : int
    pair_rows : ndarray of int
        The row of each pair.
    node_codes : ndarray of int, shape (n_pairs, n_levels)
        The node of each pair's path at each level, -1 after it ends.
    """

    hierarchy: Hierarchy
    n_samples: int
    pair_rows: NDArray[np.intp]
    node_codes: NDArray[np.intp]

    def _indicator(self, rows: NDArray[np.intp], nodes: NDArray[np.intp]) -> Any:
        shape = (self.n_samples, self.hierarchy.n_nodes)
        matrix = sparse.csc_matrix((np.ones(len(rows), dtype=np.int8), (rows, nodes)), shape=shape)
        matrix.sum_duplicates()
        matrix.data[:] = 1
        matrix.sort_indices()
        return matrix

    def active(self) -> Any:
        """(n_samples, n_nodes) 0/1 CSC matrix: the nodes on some path of each row."""
        pair, level = np.nonzero(self.node_codes >= 0)
        return self._indicator(self.pair_rows[pair], self.node_codes[pair, level])

    def ends(self) -> Any:
        """(n_samples, n_nodes) 0/1 CSC matrix: the last node of each path of each row."""
        depth = (self.node_codes >= 0).sum(axis=1)
        return self._indicator(self.pair_rows, self.node_codes[np.arange(len(depth)), depth - 1])

    def support(self) -> NDArray[np.intp]:
        """Rows in which each node is active (the root: every row)."""
        support = np.diff(self.active().indptr)
        support[ROOT] = self.n_samples
        return support

    def end_paths(self) -> tuple[NDArray[np.intp], list[tuple[Any, ...]]]:
        """The nodes where some path ends and their paths, sorted by path (labels by type, then value)."""
        nodes = np.flatnonzero(np.diff(self.ends().indptr))
        paths = [tuple(as_python(x) for x in self.hierarchy.node_path(int(n))) for n in nodes]
        order = sorted(range(len(nodes)), key=lambda i: [_sort_key(x) for x in paths[i]])
        return nodes[order], [paths[i] for i in order]

    def with_codes(self, hierarchy: Hierarchy, node_codes: NDArray[np.intp]) -> PathSetCodes:
        """The same pairs on another (pruned) hierarchy."""
        return replace(self, hierarchy=hierarchy, node_codes=node_codes)


def encode_path_sets(
    Y: Any, *, paths: Sequence[Any] | None = None, hierarchy: Any = None, input_name: str = "Y"
) -> PathSetCodes:
    """Read a multi-label target (see :func:`read_path_sets`) and encode it on a tree.

    Parameters
    ----------
    Y, paths, input_name
        As :func:`read_path_sets`.
    hierarchy : Hierarchy, list of (parent, child) pairs or dict, optional
        The tree, if known; None infers it from the paths.

    Returns
    -------
    codes : PathSetCodes
    """
    n_samples, pair_rows, pair_paths = read_path_sets(Y, paths=paths, input_name=input_name)
    if not pair_paths:
        raise ValueError(f"{input_name} holds no path in any row; give at least one labelled row.")
    label_paths = read_label_paths(list(pair_paths), input_name=f"the paths of {input_name}")
    if hierarchy is None:
        tree, node_codes = Hierarchy.from_label_paths(label_paths)
    else:
        tree = hierarchy if isinstance(hierarchy, Hierarchy) else Hierarchy.from_edges(hierarchy)
        node_codes = tree.encode(label_paths, input_name=input_name)
    return PathSetCodes(tree, n_samples, pair_rows, node_codes)
