"""Class-count checks before training: which classes have too few rows to be learned.

A class is a node of the hierarchy (a full path prefix), so "Other" under two
parents is two classes with their own counts. The check runs on the encoded paths
only; it never looks at features, so it is cheap enough to run before every fit.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._atomic import write_text
from ._formatting import markdown_table
from ._portable_state import PortableState
from .exceptions import InsufficientSupportError, InsufficientSupportWarning
from .hierarchy import Hierarchy, as_python, encode_path_sets, is_path_sets, read_label_paths

__all__ = [
    "SufficiencyReport",
    "check_sufficiency",
    "sufficiency_report",
    "apply_sufficiency_policy",
    "model_minimum",
    "SUFFICIENCY_POLICIES",
]

SUFFICIENCY_POLICIES = ("warn", "raise", "merge", "ignore")
_WORST_SHOWN = 5


def model_minimum(estimator: Any) -> tuple[str, int] | None:
    """The fewest rows per class a base model needs, from its own parameters.

    LightGBM cannot form a leaf with fewer than ``min_child_samples`` rows and a
    k-NN model needs ``n_neighbors`` rows; other models state no minimum.

    Parameters
    ----------
    estimator : estimator or None

    Returns
    -------
    minimum : (parameter name, value) or None
    """
    if estimator is None or not hasattr(estimator, "get_params"):
        return None
    params = estimator.get_params(deep=False)
    for name in ("min_child_samples", "n_neighbors", "min_samples_leaf"):
        value = params.get(name)
        if isinstance(value, (int, np.integer)) and value > 1:
            return name, int(value)
    return None


@dataclass(frozen=True)
class SufficiencyReport(PortableState):
    """Training support of every class, checked against ``min_samples``.

    Attributes
    ----------
    table : DataFrame
        One row per class (node): ``level``, ``path``, ``label``, ``parent``,
        ``support`` (training rows at or under the class), ``n_children``,
        ``n_children_below`` (children under ``min_samples``), ``status``
        (``ok``, ``insufficient``, ``merged`` into its parent, or ``flagged``: a
        top-level class below the threshold, which has no parent to fold into) and
        ``notes`` (single child; below the model's own minimum; fewer rows than
        cross-validation folds).
    min_samples : int
        The threshold.
    policy : str
        What was done about insufficient classes.
    """

    table: pd.DataFrame
    min_samples: int
    policy: str

    @cached_property
    def insufficient(self) -> pd.DataFrame:
        """Classes below ``min_samples`` (whatever was done about them), rarest first."""
        below = self.table[self.table["support"] < self.min_samples]
        return below.sort_values(["support", "level_index", "path"], kind="stable")

    def _rarest(self, k: int) -> list[dict[str, Any]]:
        """The first ``k`` rows of :attr:`insufficient` as records, cheaply.

        ``fit`` builds its warning from these: sorting and iterating the whole table
        with pandas cost a third of a 1,000-class fit with a no-cost base model.
        """
        support = self.table["support"].to_numpy()
        below = np.flatnonzero(support < self.min_samples)
        if len(below) > k:  # only classes as rare as the k-th rarest can be among the k
            kth = np.partition(support[below], k - 1)[k - 1]
            below = below[support[below] <= kth]
        columns = {
            name: self.table[name].to_numpy()
            for name in ("support", "level_index", "path", "label", "level", "parent")
        }
        first = sorted(
            below.tolist(),
            key=lambda i: (columns["support"][i], columns["level_index"][i], columns["path"][i]),
        )[:k]
        return [{name: values[i] for name, values in columns.items()} for i in first]

    @property
    def merged(self) -> pd.DataFrame:
        """Classes folded into their parent: ``path`` and ``merged_into``."""
        merged = self.table[self.table["status"] == "merged"]
        return merged[["level", "path", "support", "merged_into"]]

    @property
    def n_insufficient(self) -> int:
        """Number of classes below ``min_samples``."""
        return int((self.table["support"] < self.min_samples).sum())

    def to_frame(self) -> pd.DataFrame:
        """The per-class table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Summary and per-class rows as plain Python objects (JSON-ready)."""
        return {
            "min_samples": self.min_samples,
            "policy": self.policy,
            "n_classes": len(self.table),
            "n_insufficient": self.n_insufficient,
            "n_merged": int((self.table["status"] == "merged").sum()),
            "classes": json.loads(self.table.to_json(orient="records")),
        }

    def summary(self) -> str:
        """One paragraph: how many classes are below the threshold and the rarest."""
        n = self.n_insufficient
        if n == 0:
            return (
                f"All {len(self.table)} classes have at least min_samples={self.min_samples} "
                f"training samples."
            )
        worst = self._rarest(_WORST_SHOWN)
        shown = "; ".join(
            f"{r['label']!r} at level {r['level']!r} ({_samples(r['support'])}"
            + (f", under {r['parent']!r})" if r["level_index"] > 0 else ", top level)")
            for r in worst
        )
        return (
            f"{n} of {len(self.table)} classes have fewer than min_samples={self.min_samples} "
            f"training samples; the rarest: {shown}."
        )

    def to_markdown(self) -> str:
        """The summary and the table of insufficient classes, as Markdown."""
        lines = [
            "# Sufficiency report",
            "",
            f"Policy: `{self.policy}`, min_samples = {self.min_samples}.",
            "",
            self.summary(),
            "",
        ]
        if self.n_insufficient:
            columns = ["level", "path", "support", "n_children", "status", "notes"]
            lines += ["## Classes below the threshold", "", markdown_table(self.insufficient[columns])]
        flagged = self.table[self.table["notes"] != ""]
        if len(flagged):
            lines += ["", "## Notes", "", markdown_table(flagged[["level", "path", "support", "notes"]])]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write ``sufficiency_report.csv``, ``.json`` and ``.md`` into ``directory``.

        Returns
        -------
        paths : dict
            Format -> written file.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {fmt: directory / f"sufficiency_report.{fmt}" for fmt in ("csv", "json", "md")}
        write_text(paths["csv"], self.table.to_csv(index=False))
        write_text(paths["json"], json.dumps(self.to_dict(), indent=2))
        write_text(paths["md"], self.to_markdown())
        return paths


def sufficiency_report(
    hierarchy: Hierarchy,
    node_codes: NDArray[np.intp],
    *,
    min_samples: int = 100,
    estimator: Any = None,
    n_splits: int | None = None,
    policy: str = "ignore",
    support: NDArray[np.intp] | None = None,
) -> SufficiencyReport:
    """Build the report from encoded paths (the estimator's entry point).

    Parameters
    ----------
    hierarchy : Hierarchy
    node_codes : ndarray of int, shape (n_samples, n_levels)
        Node of each row at each level, -1 after the path ends.
    min_samples : int, default=100
    estimator : estimator, optional
        Base model whose own minimum rows per class (if any) is checked.
    n_splits : int, optional
        Folds of a planned stratified cross-validation.
    policy : str, default="ignore"
        Recorded in the report; ``"merge"`` marks insufficient classes below level 0
        as merged into their parent.
    support : ndarray of int, shape (n_nodes,), optional
        Training rows of each node, when a row is not one path (multi-label: the rows
        in which the node is active). None counts the rows of ``node_codes``.

    Returns
    -------
    report : SufficiencyReport
    """
    if support is None:
        support = np.bincount(node_codes[node_codes >= 0], minlength=hierarchy.n_nodes)
    nodes = np.arange(1, hierarchy.n_nodes)
    parent = hierarchy.parent[nodes]
    below = support[nodes] < min_samples
    children_below = np.bincount(parent[below], minlength=hierarchy.n_nodes)
    depth = hierarchy.depth[nodes]
    removed = (
        _merged_subtrees(hierarchy, below)
        if policy == "merge"
        else np.zeros(hierarchy.n_nodes, dtype=bool)
    )
    status = np.where(below, "insufficient", "ok").astype(object)
    status[below & (depth == 1)] = "flagged" if policy == "merge" else "insufficient"
    status[removed[1:]] = "merged"
    notes = _notes(hierarchy, support, nodes, estimator, n_splits)
    path_text = _path_texts(hierarchy)
    table = pd.DataFrame(
        {
            "level": [hierarchy.level_names[d - 1] for d in depth],
            "level_index": depth - 1,
            "path": path_text[nodes],
            "label": pd.Series(_node_labels(hierarchy, nodes), dtype=object),
            "parent": pd.Series(_node_labels(hierarchy, parent), dtype=object),
            "support": support[nodes],
            "n_children": hierarchy.n_children[nodes],
            "n_children_below": children_below[nodes],
            "status": status,
            "merged_into": pd.Series(
                [_merge_target(hierarchy, int(v), removed) if removed[v] else None for v in nodes],
                dtype=object,
            ),
            "notes": notes,
        }
    )
    return SufficiencyReport(table=table, min_samples=int(min_samples), policy=policy)


def _node_labels(hierarchy: Hierarchy, nodes: NDArray[np.intp]) -> list[Any]:
    """Each node's own label as a plain Python value (None for the root)."""
    labels: list[Any] = [None] * len(nodes)
    depth = hierarchy.depth[nodes]
    for level in range(hierarchy.n_levels):
        at = np.flatnonzero(depth == level + 1)
        values = hierarchy.level_labels[level][hierarchy.label_index[nodes[at]]].tolist()
        for position, value in zip(at.tolist(), values, strict=True):
            labels[position] = value
    return labels


def _path_texts(hierarchy: Hierarchy) -> NDArray[Any]:
    """``"a / b / c"`` for every node, built level by level (the root's is ``""``)."""
    texts = np.empty(hierarchy.n_nodes, dtype=object)
    texts[0] = ""
    for level in range(hierarchy.n_levels):
        ids = np.arange(hierarchy.level_ptr[level], hierarchy.level_ptr[level + 1])
        labels = hierarchy.level_labels[level][hierarchy.label_index[ids]].astype(str).astype(object)
        texts[ids] = labels if level == 0 else texts[hierarchy.parent[ids]] + " / " + labels
    return texts


def _merged_subtrees(hierarchy: Hierarchy, below: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Nodes removed by merging: insufficient nodes below level 0 and their subtrees."""
    removed = np.zeros(hierarchy.n_nodes, dtype=bool)
    removed[1:] = below & (hierarchy.depth[1:] > 1)
    for level in range(1, hierarchy.n_levels):  # parents come before children
        first, last = hierarchy.level_ptr[level], hierarchy.level_ptr[level + 1]
        removed[first:last] |= removed[hierarchy.parent[first:last]]
    return removed


def _merge_target(hierarchy: Hierarchy, node: int, removed: NDArray[np.bool_]) -> str:
    """Path of the nearest kept ancestor, where a merged node's rows now stop."""
    ancestor = int(hierarchy.parent[node])
    while removed[ancestor]:
        ancestor = int(hierarchy.parent[ancestor])
    return " / ".join(str(as_python(label)) for label in hierarchy.node_path(ancestor))


def _notes(
    hierarchy: Hierarchy,
    support: NDArray[np.intp],
    nodes: NDArray[np.intp],
    estimator: Any,
    n_splits: int | None,
) -> list[str]:
    notes: list[list[str]] = [[] for _ in nodes]
    single = hierarchy.n_children[nodes] == 1
    for i in np.flatnonzero(single):
        notes[i].append("single child: nothing to tell apart")
    minimum = model_minimum(estimator)
    if minimum is not None:
        name, value = minimum
        for i in np.flatnonzero(support[nodes] < value):
            notes[i].append(f"fewer rows than the model's {name}={value}")
    if n_splits is not None:
        for i in np.flatnonzero(support[nodes] < n_splits):
            notes[i].append(f"fewer rows than n_splits={n_splits} cross-validation folds")
    return ["; ".join(n) for n in notes]


def check_sufficiency(
    Y: ArrayLike,
    *,
    min_samples: int = 100,
    hierarchy: Any = None,
    estimator: Any = None,
    n_splits: int | None = None,
) -> SufficiencyReport:
    """Count the training rows of every class and flag the ones too rare to learn.

    Parameters
    ----------
    Y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_levels), or list of lists of paths
        Training label paths, coarse to fine. A multi-label target (per row, a list of
        paths given as tuples, as :class:`~hiercls.MultiLabelHierarchicalClassifier`
        takes it) counts, per class, the rows in which it is on some path.
    min_samples : int, default=100
        Rows a class needs; must be at least 1.
    hierarchy : Hierarchy, list of (parent, child) pairs or dict, optional
        The tree, if known; then classes without rows are reported too.
    estimator : estimator, optional
        Base model; children with fewer rows than its own minimum
        (``min_child_samples``, ``n_neighbors``) are noted.
    n_splits : int, optional
        Folds of a planned stratified cross-validation; classes with fewer rows are
        noted.

    Returns
    -------
    report : SufficiencyReport

    Examples
    --------
    >>> from hiercls import check_sufficiency
    >>> Y = [["J", "J45"], ["J", "J45"], ["J", "J46"]]
    >>> report = check_sufficiency(Y, min_samples=2)
    >>> report.table[["path", "support", "status"]]
          path  support        status
    0        J        3            ok
    1  J / J45        2            ok
    2  J / J46        1  insufficient
    """
    _check_min_samples(min_samples)
    if n_splits is not None and (not isinstance(n_splits, (int, np.integer)) or n_splits < 2):
        raise ValueError(f"n_splits must be an integer >= 2 or None; got {n_splits!r}.")
    if is_path_sets(Y):
        sets = encode_path_sets(Y, hierarchy=hierarchy)
        return sufficiency_report(
            sets.hierarchy,
            sets.node_codes,
            min_samples=min_samples,
            estimator=estimator,
            n_splits=n_splits,
            support=sets.support(),
        )
    paths = read_label_paths(Y)
    if hierarchy is None:
        tree, codes = Hierarchy.from_label_paths(paths)
    else:
        tree = hierarchy if isinstance(hierarchy, Hierarchy) else Hierarchy.from_edges(hierarchy)
        codes = tree.encode(paths)
    return sufficiency_report(
        tree, codes, min_samples=min_samples, estimator=estimator, n_splits=n_splits
    )


def _check_min_samples(min_samples: Any) -> None:
    if not isinstance(min_samples, (int, np.integer)) or isinstance(min_samples, bool) or min_samples < 1:
        raise ValueError(
            f"min_samples must be an integer >= 1 (rows a class needs); got {min_samples!r}."
        )


def apply_sufficiency_policy(
    report: SufficiencyReport,
    hierarchy: Hierarchy,
    node_codes: NDArray[np.intp],
) -> tuple[Hierarchy, NDArray[np.intp]]:
    """Warn, raise, or merge as the report's policy says.

    Parameters
    ----------
    report : SufficiencyReport
        Built with the policy to apply.
    hierarchy : Hierarchy
    node_codes : ndarray of int, shape (n_samples, n_levels)

    Returns
    -------
    hierarchy, node_codes
        Unchanged, except under ``"merge"``: merged classes are pruned from the tree
        and their rows end at the nearest kept ancestor.

    Raises
    ------
    InsufficientSupportError
        Under ``"raise"``, when any class is below ``min_samples``.
    """
    if report.policy == "ignore" or report.n_insufficient == 0:
        return hierarchy, node_codes
    if report.policy == "raise":
        raise InsufficientSupportError(_message(report))
    if report.policy == "warn":
        warnings.warn(_message(report), InsufficientSupportWarning, stacklevel=4)
        return hierarchy, node_codes
    flagged = report.table[report.table["status"] == "flagged"]
    if len(flagged):
        names = ", ".join(
            f"{r.label!r} ({_samples(r.support)})" for r in flagged.head(_WORST_SHOWN).itertuples()
        )
        warnings.warn(
            f"Top-level classes below min_samples={report.min_samples} cannot be merged, "
            f"since a top-level class has no parent to fold into: {names}"
            f"{' and more' if len(flagged) > _WORST_SHOWN else ''}. They are trained as they "
            f"are; collect more data or lower min_samples.",
            InsufficientSupportWarning,
            stacklevel=4,
        )
    removed = np.zeros(hierarchy.n_nodes, dtype=bool)
    removed[1:] = (report.table["status"] == "merged").to_numpy()
    return hierarchy.prune(removed, node_codes)


def _samples(count: int, kind: str = "") -> str:
    return f"{count} {kind}sample{'' if count == 1 else 's'}"


def _message(report: SufficiencyReport) -> str:
    worst = report._rarest(2)
    if len(worst) == 1:
        r = worst[0]
        if r["level_index"] == 0:
            fix = "lower the threshold or collect more data (a top-level class cannot be merged)"
        else:
            fix = f"lower the threshold or use sufficiency_policy='merge' to fold it into {r['parent']!r}"
        return (
            f"Class {r['label']!r} at level {r['level']!r} has "
            f"{_samples(r['support'], 'training ')}, below min_samples={report.min_samples}; {fix}."
        )
    return (
        f"{report.summary()} Lower the threshold, or use sufficiency_policy='merge' to fold "
        f"classes below level 0 into their parents (see sufficiency_report_)."
    )
