"""A linear label tree scored whole: every outcome of every node in one sparse product.

The search of :mod:`hiercls.traversal` visits only the nodes a row can still use,
at the price of Python work per visited node: on a label tree of a few thousand
outcomes, a single row's top-5 spends milliseconds in it. When every node model is
hiercls's compact linear one-vs-rest model (the default for text), the scores of
all outcomes are one product with all the node models stacked; a path's
probability is then the product of its outcomes' probabilities, level by level
over whole columns, and top-k, thresholds and exact per-path probabilities all
read the same table. It is exact, like the search, and costs every outcome for
every row, so the multi-label estimator uses it for exact path probabilities
(which need every outcome anyway) and for top-k and thresholds on batches of up to
:data:`WHOLE_TREE_MAX_ROWS` rows (on WordNet's label tree, a single row's top-5 in
about a tenth of the search's time; at 256 rows the search is ahead), on trees of
up to :data:`FULL_SCORING_MAX_OUTCOMES` outcomes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .hierarchy import ROOT
from .sparse_linear import SparseLinearModel, positive_proba, stack_binary_models

__all__ = ["FULL_SCORING_MAX_OUTCOMES", "WHOLE_TREE_MAX_ROWS", "LinearLabelTree", "TreeScores"]

#: Label trees with at most this many outcomes (children and stops of all nodes) are
#: scored whole. Beyond it the search's pruning saves more than its overhead costs.
FULL_SCORING_MAX_OUTCOMES = 20_000

#: Top-k and thresholds score the whole tree for batches of up to this many rows, and
#: search it for larger ones (measured on WordNet's 2,076 outcomes: the whole tree
#: is ahead up to 64 rows and behind from 256).
WHOLE_TREE_MAX_ROWS = 64

# Rows per chunk are chosen so that one (rows × outcomes) table holds about this many
# cells (2 MB of float64).
_CHUNK_CELLS = 2**18


@dataclass(frozen=True)
class TreeScores:
    """Probabilities of one chunk of rows.

    Attributes
    ----------
    reach : ndarray of shape (n_rows, n_nodes)
        Probability that each node is active (on one of the row's paths); 0 for
        nodes no outcome leads to.
    ends : ndarray of shape (n_rows, n_classes)
        Probability of each complete path, in the order of the estimator's classes.
    """

    reach: NDArray[np.float64]
    ends: NDArray[np.float64]


@dataclass(frozen=True)
class LinearLabelTree:
    """All outcomes of a label tree's linear node models as the columns of one table.

    Build it with :meth:`from_models`; outcomes are ordered by the depth of the node
    whose model gives them, so that each level is one slice.

    Attributes
    ----------
    linear : list of (SparseLinearModel, ndarray of int)
        One stacked model per link, and the outcome position of each of its outputs.
    constant_at, constant_value : ndarray
        Outcomes of a fixed probability (their training rows were all positive or
        all negative).
    owner, target : ndarray of int, shape (n_outcomes,)
        The node whose model gives each outcome, and the node it leads to (the
        owner itself for "a path ends here").
    level_starts : ndarray of int
        Outcome slice of each depth of owner: ``level_starts[d]:level_starts[d + 1]``.
    end_outcome : ndarray of int, shape (n_classes,)
        The outcome whose path probability is each class's: a stop, or the edge to a
        leaf.
    n_nodes : int
    """

    linear: list[tuple[SparseLinearModel, NDArray[np.intp]]]
    constant_at: NDArray[np.intp]
    constant_value: NDArray[np.float64]
    owner: NDArray[np.intp]
    target: NDArray[np.intp]
    level_starts: NDArray[np.intp]
    end_outcome: NDArray[np.intp]
    n_nodes: int

    @classmethod
    def from_models(
        cls, models: Sequence[Any], depth: NDArray[np.intp], class_of_node: NDArray[np.intp]
    ) -> LinearLabelTree | None:
        """The tree of a label tree's fitted node models, or None if one is not linear.

        Parameters
        ----------
        models : sequence
            Per node id, its :class:`~hiercls.multilabel.IndependentOutcomes` (whose
            ``classes_`` are node ids) or None for a leaf.
        depth : ndarray of int
            Depth of each node id.
        class_of_node : ndarray of int
            Per node id, the class of the path that ends there (-1 for none).
        """
        owners = [node for node, model in enumerate(models) if model is not None]
        owners.sort(key=lambda node: depth[node])
        if sum(len(models[node].classes_) for node in owners) > FULL_SCORING_MAX_OUTCOMES:
            return None
        owner: list[NDArray[np.intp]] = []
        target: list[NDArray[np.intp]] = []
        constant_at: list[int] = []
        constant_value: list[float] = []
        stacked: dict[str, list[tuple[SparseLinearModel, NDArray[np.intp]]]] = {}
        start = 0
        for node in owners:
            model = models[node]
            if any(not isinstance(value, float) for value in model.models.values()):
                return None  # a node model of another kind: left to the search
            n_outcomes = len(model.classes_)
            owner.append(np.full(n_outcomes, node))
            target.append(np.asarray(model.classes_, dtype=np.intp))
            if model.stacked is not None:
                stacked.setdefault(model.stacked.link, []).append((model.stacked, start + model.stacked_at))
            constant_at.extend(start + j for j in model.models)
            constant_value.extend(model.models.values())
            start += n_outcomes
        owner_array = np.concatenate(owner) if owner else np.empty(0, dtype=np.intp)
        target_array = np.concatenate(target) if target else np.empty(0, dtype=np.intp)
        owner_depth = depth[owner_array]
        level_starts = np.searchsorted(owner_depth, np.arange(owner_depth.max(initial=0) + 2))
        # A path ends at a stop, or at a leaf (a target without a model of its own).
        is_end = (owner_array == target_array) | np.isin(target_array, owner_array, invert=True)
        end_outcome = np.empty(int(class_of_node.max(initial=-1)) + 1, dtype=np.intp)
        end_outcome[class_of_node[target_array[is_end]]] = np.flatnonzero(is_end)
        linear = [
            (stack_binary_models([m for m, _ in parts]), np.concatenate([at for _, at in parts]))
            for parts in stacked.values()
        ]
        return cls(
            linear=linear,
            constant_at=np.asarray(constant_at, dtype=np.intp),
            constant_value=np.asarray(constant_value, dtype=np.float64),
            owner=owner_array,
            target=target_array,
            level_starts=level_starts.astype(np.intp),
            end_outcome=end_outcome,
            n_nodes=len(models),
        )

    def chunks(self, n_samples: int) -> Iterator[slice]:
        """Row slices small enough for the tables of one chunk to stay small."""
        width = max(len(self.owner), self.n_nodes, 1)
        step = max(1, _CHUNK_CELLS // width)
        for start in range(0, n_samples, step):
            yield slice(start, min(start + step, n_samples))

    def score(self, X: Any) -> TreeScores:
        """Node and path probabilities of the rows of validated ``X`` (one chunk).

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_rows, n_features)

        Returns
        -------
        scores : TreeScores
        """
        n = X.shape[0]
        proba = np.empty((n, len(self.owner)))
        for model, at in self.linear:
            proba[:, at] = positive_proba(model.decision_function(X), model.link)
        proba[:, self.constant_at] = self.constant_value
        reach = np.zeros((n, self.n_nodes))
        reach[:, ROOT] = 1.0
        for start, stop in zip(self.level_starts[:-1].tolist(), self.level_starts[1:].tolist(), strict=True):
            if start == stop:
                continue
            level = proba[:, start:stop]
            level *= reach[:, self.owner[start:stop]]  # P(outcome) = P(owner) P(outcome | owner)
            down = self.target[start:stop] != self.owner[start:stop]
            reach[:, self.target[start:stop][down]] = level[:, down]
        return TreeScores(reach, proba[:, self.end_outcome])
