"""Choosing each level's node model from held-out rows: ``estimator="auto"``.

Which node model is best differs by data set and by level (``experiments/results/
level_mix.md``: LightGBM at every level of OEWS, k-NN at the coarse and logistic
regression at the fine levels of the synthetic set). :class:`AutoNodeModel` states a
small set of candidates and a selection budget; :func:`select_level_models` fits every
candidate on the training part of each level's nodes, scores it on the held-out part
and keeps, per level, the best. ``HierarchicalClassifier(estimator="auto")`` then fits
every node with its level's choice, on all of the node's rows.

The held-out rows are the training rows of ``fit`` (never a test set): per node,
``validation_fraction`` of each child's rows, drawn with a seed derived from
``random_state`` and the level.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning

from ._compat import Interval, StrOptions, get_tags
from .categorical import CategoricalColumns, categorical_node_settings
from .exceptions import ModelSelectionError
from .hierarchy import Hierarchy
from .node_models import (
    adapter_for,
    base_seed_of,
    default_node_estimator,
    fit_node,
    make_node_estimator,
    node_seed,
    outcome_proba,
    take_rows,
)

__all__ = [
    "AutoNodeModel",
    "CANDIDATE_NAMES",
    "SELECTION_COLUMNS",
    "as_auto_node_model",
    "candidate_estimator",
    "is_auto",
    "select_level_models",
]

logger = logging.getLogger(__name__)

#: The candidates :class:`AutoNodeModel` knows by name.
CANDIDATE_NAMES = ("linear", "lightgbm", "hist_gradient_boosting", "knn", "prior")

# On TF-IDF rows nothing beat the linear default: LightGBM per node reaches leaf
# accuracy 0.50 against 0.75, 19x slower to fit (experiments/results/real.md); offered
# k-NN, the selection kept the linear model at every WordNet level, and k-NN everywhere
# loses 4.4 points (experiments/results/auto.md). So text costs no selection fits.
_DENSE_CANDIDATES = ("linear", "lightgbm", "knn")
_TEXT_CANDIDATES = ("linear",)

#: Columns of ``model_selection_``, in order.
SELECTION_COLUMNS = (
    "level",
    "candidate",
    "round",
    "accuracy",
    "balanced_accuracy",
    "log_loss",
    "fit_seconds",
    "n_nodes",
    "n_train_rows",
    "n_validation_rows",
    "chosen",
    "note",
)

# A held-out row whose model gave its true outcome probability 0 would weigh infinitely.
_PROBABILITY_FLOOR = 1e-15


def candidate_estimator(name: str, *, text_like: bool = False) -> Any:
    """The unfitted node model behind one of :data:`CANDIDATE_NAMES`.

    Parameters
    ----------
    name : str
        ``"linear"``: hiercls's default linear model (see
        :func:`~hiercls.node_models.default_node_estimator`); ``"lightgbm"``:
        ``LGBMClassifier(n_estimators=100)`` (hiercls sizes ``min_child_weight`` and
        its threads to the node); ``"hist_gradient_boosting"``: scikit-learn's
        ``HistGradientBoostingClassifier()``; ``"knn"``:
        ``KNeighborsClassifier(n_neighbors=10, weights="distance")`` (at most the
        node's rows); ``"prior"``: ``DummyClassifier(strategy="prior")``, the
        children's training frequencies.
    text_like : bool, default=False
        Whether ``X`` looks like TF-IDF rows (picks the linear model).

    Returns
    -------
    estimator : estimator
    """
    if name == "linear":
        return default_node_estimator(text_like=text_like)
    if name == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(n_estimators=100, verbose=-1)
    if name == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier()
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        # 10 neighbours weighted by distance: the best k of experiments/results/level_mix.md.
        return KNeighborsClassifier(n_neighbors=10, weights="distance")
    if name == "prior":
        from sklearn.dummy import DummyClassifier

        return DummyClassifier(strategy="prior")
    raise ValueError(f"Unknown candidate {name!r}; the candidates by name are {list(CANDIDATE_NAMES)}.")


class AutoNodeModel(BaseEstimator):
    """How ``HierarchicalClassifier(estimator="auto")`` chooses each level's node model.

    Pass an instance as the ``estimator`` of
    :class:`~hiercls.HierarchicalClassifier` (``"auto"`` means ``AutoNodeModel()``).
    For each level, every candidate is fitted on the training part of that level's
    nodes and scored on the held-out part (rows-weighted over the level's nodes); the
    best is then fitted on all rows of every node of the level. It is no classifier
    of its own. Its parameters are reachable as ``estimator__<param>`` (for
    ``GridSearchCV``) and as ``model.estimator.<param>`` in ``hiercls-train``.

    Parameters
    ----------
    candidates : sequence of str or estimator, default=None
        Names from :data:`CANDIDATE_NAMES` (see :func:`candidate_estimator`) or
        unfitted classifiers with ``predict_proba``. None: ``("linear", "lightgbm",
        "knn")``, or ``("linear",)`` for TF-IDF-like input (measured: nothing beat
        it there; see ``experiments/results/auto.md``). A candidate that
        cannot take the input (sparse ``X``, NaN, categorical columns, sample
        weights) is skipped and the reason recorded.
    validation_fraction : float in (0, 1), default=0.1
        Share of each node's rows held out, per child (a child with fewer than
        ``1 / validation_fraction / 2`` rows keeps all of them for training). The
        candidates are ranked as fitted on the other rows, and the chosen one is
        then fitted on all of them: a larger share ranks them farther from the size
        they will have, against the models that gain most from more rows. On OEWS's
        detailed level, held-out shares of 0.3, 0.2 and 0.1 put the linear model
        ahead of LightGBM by 0.95 and 0.65 points and behind it by 0.84, and on the
        test split LightGBM is ahead (``experiments/results/auto.md``).
    max_rows_per_level : int, default=5_000
        Rows of a level used for selection (training and held-out parts together).
        A larger level contributes a random sample of whole nodes (candidates are
        ranked on nodes of their real size) and a random part of one more node, up
        to the budget. This bounds the selection's cost:
        the candidates' fits on 5,000 rows per level cost less than one full fit of
        LightGBM on 48,000 OEWS rows (``experiments/results/auto.md``). None uses
        every row.
    min_validation_rows : int, default=30
        Held-out rows a level needs to be scored; a level with fewer (a tiny level)
        gets the default model, and the fallback is recorded.
    scoring : {"accuracy", "balanced_accuracy", "log_loss"}, default="accuracy"
        What the choice maximises (minimises, for log loss) on the held-out rows:
        accuracy of each node's choice (what greedy decoding needs), the mean
        recall of the level's classes, or the log loss. Exact ties go to the
        candidate listed first (fit times would make the choice depend on the
        machine's load and on ``n_jobs``).
    max_rounds : int, default=3
        Rounds of selection per level (successive halving). After a round, the
        candidates within ``tie_standard_errors`` of the best (at most the better
        half of the round's candidates, at least two) go to another round on
        ``budget_growth`` times the rows (more whole nodes; the earlier rounds' node
        fits are reused), until one is ahead beyond that noise, the level has no
        more rows, or this many rounds were run. 1 decides on the first round.
    budget_growth : float > 1, default=3.0
        Factor by which each further round's row budget grows.
    tie_standard_errors : float >= 0, default=2.0
        A candidate is tied with the best while the best's lead in ``scoring`` is
        at most this many standard errors of the per-row differences (paired: both
        scored the same held-out rows). 0 never races.
    consider_collapse : bool, default=False
        Whether to also consider collapsing levels (see ``collapse_levels`` of
        :class:`~hiercls.HierarchicalClassifier`): after the models are chosen, for
        each level ``L`` from 1, the chosen models of levels ``L - 1`` then ``L`` are
        compared, on held-out rows of level ``L - 1``'s nodes, with one model of
        level ``L - 1``'s choice over level ``L`` directly; the level is collapsed
        when that leads beyond ``tie_standard_errors`` (see
        :func:`~hiercls.auto_collapse.select_collapsed_levels`). Not when
        ``collapse_levels`` or ``node_estimators`` are given. Off by default: it
        costs about three fits of each level's sampled nodes, and on the data
        measured the candidates' choice alone closed the gap to a flat model
        (``experiments/results/collapse.md``).

    See Also
    --------
    HierarchicalClassifier : Its ``model_selection_`` holds the choice table.

    Examples
    --------
    >>> from hiercls import HierarchicalClassifier
    >>> from hiercls.model_selection import AutoNodeModel
    >>> clf = HierarchicalClassifier(AutoNodeModel(candidates=["linear", "knn"]))
    >>> clf.get_params()["estimator__candidates"]
    ['linear', 'knn']
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "candidates": [list, tuple, None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "max_rows_per_level": [Interval(Integral, 2, None, closed="left"), None],
        "min_validation_rows": [Interval(Integral, 1, None, closed="left")],
        "scoring": [StrOptions({"accuracy", "balanced_accuracy", "log_loss"})],
        "max_rounds": [Interval(Integral, 1, None, closed="left")],
        "budget_growth": [Interval(Real, 1, None, closed="neither")],
        "tie_standard_errors": [Interval(Real, 0, None, closed="left")],
        "consider_collapse": ["boolean"],
    }

    def __init__(
        self,
        candidates: Sequence[Any] | None = None,
        *,
        validation_fraction: float = 0.1,
        max_rows_per_level: int | None = 5_000,
        min_validation_rows: int = 30,
        scoring: str = "accuracy",
        max_rounds: int = 3,
        budget_growth: float = 3.0,
        tie_standard_errors: float = 2.0,
        consider_collapse: bool = False,
    ) -> None:
        self.candidates = candidates
        self.validation_fraction = validation_fraction
        self.max_rows_per_level = max_rows_per_level
        self.min_validation_rows = min_validation_rows
        self.scoring = scoring
        self.max_rounds = max_rounds
        self.budget_growth = budget_growth
        self.tie_standard_errors = tie_standard_errors
        self.consider_collapse = consider_collapse

    def candidate_templates(self, *, text_like: bool = False) -> list[tuple[str, Any]]:
        """The candidates as ``(name, unfitted estimator)`` pairs.

        Parameters
        ----------
        text_like : bool, default=False
            Whether ``X`` looks like TF-IDF rows (the default set and ``"linear"``).

        Returns
        -------
        candidates : list of (str, estimator)

        Raises
        ------
        ValueError
            For an unknown name, an object that is no classifier with
            ``predict_proba``, an empty set or a name given twice.
        """
        self._validate_params()
        given = self.candidates
        if given is None:
            given = _TEXT_CANDIDATES if text_like else _DENSE_CANDIDATES
        if len(given) == 0:
            raise ValueError(
                f"The 'candidates' parameter of AutoNodeModel must name at least one "
                f"candidate, from {list(CANDIDATE_NAMES)} or estimators; got an empty list."
            )
        pairs = []
        for item in given:
            if isinstance(item, str):
                if item not in CANDIDATE_NAMES:
                    raise ValueError(
                        f"The 'candidates' parameter of AutoNodeModel must hold names from "
                        f"{list(CANDIDATE_NAMES)} or classifiers with fit and predict_proba; "
                        f"got the unknown name {item!r}."
                    )
                pairs.append((item, candidate_estimator(item, text_like=text_like)))
            elif hasattr(item, "fit") and hasattr(item, "predict_proba"):
                pairs.append((type(item).__name__, item))
            else:
                raise ValueError(
                    f"The 'candidates' parameter of AutoNodeModel must hold names from "
                    f"{list(CANDIDATE_NAMES)} or classifiers with fit and predict_proba; "
                    f"got {item!r}."
                )
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"The 'candidates' parameter of AutoNodeModel names {repeated} more than once; "
                f"give each candidate once."
            )
        return pairs


def is_auto(estimator: Any) -> bool:
    """Whether ``estimator`` asks for per-level selection (``"auto"`` or an AutoNodeModel)."""
    return isinstance(estimator, AutoNodeModel) or (isinstance(estimator, str) and estimator == "auto")


def as_auto_node_model(estimator: Any) -> AutoNodeModel | None:
    """The :class:`AutoNodeModel` that ``estimator`` stands for, or None."""
    if isinstance(estimator, AutoNodeModel):
        return estimator
    if isinstance(estimator, str) and estimator == "auto":
        return AutoNodeModel()
    return None


@dataclass(frozen=True)
class _InputTraits:
    """What about ``X`` (and the fit) a candidate may be unable to take."""

    sparse: bool
    has_nan: bool
    categorical: CategoricalColumns | None
    weighted: bool


def _input_traits(X: Any, categorical: CategoricalColumns | None, weighted: bool) -> _InputTraits:
    values = X.data if sparse.issparse(X) else np.asarray(X)
    has_nan = bool(values.dtype.kind == "f" and np.isnan(values).any())
    return _InputTraits(sparse.issparse(X), has_nan, categorical, weighted)


def _unusable_reason(template: Any, traits: _InputTraits) -> str | None:
    """Why a candidate cannot take this input, or None when it can."""
    tags = get_tags(template).input_tags
    if traits.has_nan and not tags.allow_nan:
        return "cannot take NaN in X"
    if traits.sparse and not tags.sparse:
        return "cannot take sparse X"
    if traits.categorical is not None and not adapter_for(template).accepts_categories:
        return f"cannot take categorical columns {list(traits.categorical.names)}"
    if traits.weighted and not adapter_for(template).accepts_sample_weight(template):
        return "does not accept sample_weight"
    return None


def _stratified_holdout(
    node_ids: NDArray[np.intp], targets: NDArray[np.intp], fraction: float, rng: np.random.Generator
) -> NDArray[np.bool_]:
    """Mark ``round(fraction * size)`` random rows of every (node, child) group as held out.

    A group always keeps at least one training row. One lexsort over the level.
    """
    n = len(node_ids)
    order = np.lexsort((rng.random(n), targets, node_ids))
    sorted_nodes, sorted_targets = node_ids[order], targets[order]
    starts = np.flatnonzero(
        np.concatenate(
            ([True], (sorted_nodes[1:] != sorted_nodes[:-1]) | (sorted_targets[1:] != sorted_targets[:-1]))
        )
    )
    sizes = np.diff(np.append(starts, n))
    n_held = np.minimum(np.floor(fraction * sizes + 0.5).astype(np.intp), sizes - 1)
    rank = np.arange(n) - np.repeat(starts, sizes)
    held_out = np.empty(n, dtype=bool)
    held_out[order] = rank < np.repeat(n_held, sizes)
    return held_out


@dataclass(frozen=True)
class _NodeResult:
    """Held-out outcome of one candidate at one node."""

    correct: NDArray[np.bool_]
    true_proba: NDArray[np.float64]
    fit_seconds: float
    error: str | None = None


def _fit_and_score(
    estimator: Any,
    X: Any,
    train_rows: NDArray[np.intp],
    train_targets: NDArray[np.intp],
    validation_rows: NDArray[np.intp],
    validation_targets: NDArray[np.intp],
    sample_weight: NDArray[np.float64] | None,
    fit_params: dict[str, Any],
) -> _NodeResult:
    """Fit one candidate on a node's training part and score its held-out part."""
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # Selection fits are throw-away; the final fit reports convergence.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = fit_node(estimator, X, train_rows, train_targets, sample_weight, fit_params)
    except Exception as exc:  # noqa: BLE001 - a candidate failing is a result of selection
        empty = np.zeros(0)
        return _NodeResult(
            empty.astype(bool), empty, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
        )
    fit_seconds = time.perf_counter() - started
    proba = outcome_proba(model, take_rows(X, validation_rows))
    classes = np.asarray(model.classes_)
    predicted = classes[np.argmax(proba, axis=1)]
    position = np.minimum(np.searchsorted(classes, validation_targets), len(classes) - 1)
    known = classes[position] == validation_targets
    true_proba = np.where(known, proba[np.arange(len(position)), position], 0.0)
    return _NodeResult(predicted == validation_targets, true_proba, fit_seconds)


@dataclass
class _LevelPlan:
    """One round's held-out split of a level: the node jobs and what they hold out."""

    nodes: list[tuple[int, NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]]
    whole: set[int]
    n_train_rows: int
    n_validation_rows: int
    used_up: bool


@dataclass
class _LevelRace:
    """One level's selection over its rounds: its nodes in draw order, the candidates still in."""

    level: str
    depth: int
    ordered: list[tuple[int, NDArray[np.intp], NDArray[Any], NDArray[np.bool_]]]
    rng: np.random.Generator
    alive: list[str]
    budget: int | None
    round: int = 0


def _draw_order(
    tasks: list[tuple[int, NDArray[np.intp], NDArray[Any]]], fraction: float, rng: np.random.Generator
) -> list[tuple[int, NDArray[np.intp], NDArray[Any], NDArray[np.bool_]]]:
    """A level's nodes in the order the row budget takes them, each with its held-out mask.

    The held-out split is drawn once for the whole level, so a node keeps the same
    training and held-out rows in every round (its fits are reused). The order draws
    nodes with probability proportional to their rows (the score is rows-weighted: a
    level's many small nodes must not stand for its few large ones); each round takes
    a longer prefix of it.
    """
    sizes = np.array([len(rows) for _, rows, _ in tasks], dtype=np.intp)
    node_ids = np.repeat(np.arange(len(tasks), dtype=np.intp), sizes)
    targets = np.concatenate([np.asarray(targets) for _, _, targets in tasks])
    held_out = np.split(_stratified_holdout(node_ids, targets, fraction, rng), np.cumsum(sizes)[:-1])
    # Efraimidis-Spirakis: sorting u ** (1 / weight) descending samples without
    # replacement with probability proportional to the weights.
    order = np.argsort(-(rng.random(len(tasks)) ** (1.0 / sizes)), kind="stable")
    return [(*tasks[i], held_out[i]) for i in order.tolist()]


def _plan_round(race: _LevelRace) -> _LevelPlan:
    """The nodes of this round: whole nodes in draw order up to the budget.

    Whole nodes, so that candidates are compared on nodes of their real size (a model's
    rank depends on it: trees need rows, a linear model copes with few); the first node
    that does not fit contributes a random part of its rows up to the budget, so a level
    always takes part.
    """
    plan = _LevelPlan([], set(), 0, 0, used_up=True)
    room = race.budget
    for node, rows, targets, held in race.ordered:
        if room is not None and room < 2:
            plan.used_up = False
            break
        whole = room is None or len(rows) <= room
        if whole:
            plan.whole.add(node)
            room = None if room is None else room - len(rows)
        else:
            assert room is not None
            part = np.sort(race.rng.choice(len(rows), size=room, replace=False))
            rows, targets, held = rows[part], targets[part], held[part]
            plan.used_up = False
        train, validation = ~held, held
        # A node whose training part has one outcome, or that holds nothing out, says
        # nothing about a candidate.
        if validation.any() and len(np.unique(targets[train])) >= 2:
            plan.nodes.append((node, rows[train], targets[train], rows[validation], targets[validation]))
            plan.n_train_rows += int(train.sum())
            plan.n_validation_rows += int(validation.sum())
        if not whole:
            break
    return plan


def _row_contributions(
    results: list[_NodeResult],
    targets: list[NDArray[np.intp]],
    weights: list[NDArray[np.float64]],
    scoring: str,
) -> NDArray[np.float64]:
    """Each held-out row's share of the level's score (the score is their sum)."""
    weight = np.concatenate(weights)
    if scoring == "log_loss":
        true_proba = np.concatenate([r.true_proba for r in results])
        return -weight * np.log(np.maximum(true_proba, _PROBABILITY_FLOOR)) / weight.sum()
    hit = weight * np.concatenate([r.correct for r in results])
    if scoring == "accuracy":
        return hit / weight.sum()
    _, inverse, counts = np.unique(np.concatenate(targets), return_inverse=True, return_counts=True)
    per_class = np.bincount(inverse, weights=weight)
    return hit / per_class[inverse] / len(counts)


def _paired_lead(best: NDArray[np.float64], other: NDArray[np.float64], sign: float) -> tuple[float, float]:
    """The best candidate's lead over another on the same held-out rows, and its standard error.

    The rows are paired (both candidates scored the same rows), so the error is that
    of the per-row differences, far smaller than two independent scores' errors.
    """
    difference = sign * (best - other)
    if len(difference) < 2:
        return float(difference.sum()), 0.0
    return float(difference.sum()), float(np.sqrt(len(difference) * difference.var(ddof=1)))


def _level_scores(
    results: list[_NodeResult], targets: list[NDArray[np.intp]], weights: list[NDArray[np.float64]]
) -> dict[str, float]:
    return {
        scoring: float(_row_contributions(results, targets, weights, scoring).sum())
        for scoring in ("accuracy", "balanced_accuracy", "log_loss")
    }


def _row(level: str, candidate: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "level": level,
        "candidate": candidate,
        "round": 1,
        "accuracy": np.nan,
        "balanced_accuracy": np.nan,
        "log_loss": np.nan,
        "fit_seconds": 0.0,
        "n_nodes": 0,
        "n_train_rows": 0,
        "n_validation_rows": 0,
        "chosen": False,
        "note": "",
    }
    row.update(fields)
    return row


def select_level_models(
    auto: AutoNodeModel,
    X: Any,
    hierarchy: Hierarchy,
    tasks: list[tuple[int, NDArray[np.intp], NDArray[Any]]],
    *,
    sample_weight: NDArray[np.float64] | None = None,
    text_like: bool = False,
    categorical_columns: CategoricalColumns | None = None,
    n_jobs: int | None = None,
    random_state: Any = None,
    verbose: int = 0,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Choose each level's node model among ``auto``'s candidates, on held-out rows.

    Per level, a first round scores every usable candidate on ``max_rows_per_level``
    rows; the candidates whose held-out score is within ``tie_standard_errors``
    standard errors of the best (paired over the same rows; at most the better half
    of the round's candidates) go to a further round on ``budget_growth`` times the
    rows, until one is ahead beyond that noise, the level
    has no more rows or ``max_rounds`` is reached; the best of the last round is
    chosen (exact ties to the candidate listed first). All levels of a round are fitted in one parallel
    batch; a node's fits are reused by later rounds.

    Parameters
    ----------
    auto : AutoNodeModel
        The candidates and the selection budget.
    X : ndarray or sparse matrix
        Validated training rows (as the node models get them).
    hierarchy : Hierarchy
    tasks : list of (node, rows, outcomes)
        The node fits whose model the selection decides: each parent node with its
        training rows and each row's outcome (child id, or the node's own id for stop).
    sample_weight : ndarray, default=None
        Weights of all rows: passed to the candidates and weighting the scores.
    text_like : bool, default=False
        Whether ``X`` looks like TF-IDF rows.
    categorical_columns : CategoricalColumns, default=None
        Categorical columns of ``X``, as the estimator found them.
    n_jobs : int, default=None
        Parallel node fits (joblib), as in ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split of each level and each candidate's node models.
    verbose : int, default=0
        From 1, one log message per level and round.

    Returns
    -------
    chosen : dict of str -> estimator
        The unfitted template chosen for each level that has node fits.
    table : DataFrame
        One row per (level, candidate, round), columns :data:`SELECTION_COLUMNS`: the
        held-out scores, the seconds of the node fits made in that round, the rows
        used, whether it was chosen and a note (why it was skipped, failed, went to
        the next round or dropped out, or why the level fell back to the default
        model).

    Raises
    ------
    ModelSelectionError
        When no candidate can take the input.
    """
    candidates = auto.candidate_templates(text_like=text_like)
    traits = _input_traits(X, categorical_columns, sample_weight is not None)
    usable, skipped = [], []
    for name, template in candidates:
        reason = _unusable_reason(template, traits)
        if reason is None:
            usable.append((name, template))
        else:
            skipped.append((name, reason))
    if not usable:
        reasons = "; ".join(f"{name} {reason}" for name, reason in skipped)
        raise ModelSelectionError(
            f"No candidate node model of AutoNodeModel can take this input: {reasons}. Add a "
            f"candidate that can (e.g. 'lightgbm' takes NaN, categorical columns and "
            f"sample_weight), or impute / encode X."
        )
    base_seed = base_seed_of(random_state)
    by_depth: dict[int, list[tuple[int, NDArray[np.intp], NDArray[Any]]]] = {}
    for task in tasks:
        by_depth.setdefault(int(hierarchy.depth[task[0]]), []).append(task)
    races = []
    rows: list[dict[str, Any]] = []
    chosen: dict[str, Any] = {}
    for depth in sorted(by_depth):
        level = str(hierarchy.level_names[depth])
        rows.extend(_row(level, name, note=f"skipped: {reason}") for name, reason in skipped)
        if len(usable) == 1:
            chosen[level] = usable[0][1]
            rows.append(
                _row(
                    level,
                    usable[0][0],
                    chosen=True,
                    n_nodes=len(by_depth[depth]),
                    note="the only usable candidate",
                )
            )
            continue
        rng = np.random.default_rng(None if base_seed is None else [base_seed, depth])
        ordered = _draw_order(by_depth[depth], auto.validation_fraction, rng)
        races.append(
            _LevelRace(level, depth, ordered, rng, [name for name, _ in usable], auto.max_rows_per_level)
        )

    templates = dict(usable)
    fitter = _NodeFitter(templates, X, hierarchy, sample_weight, categorical_columns, base_seed)
    n_cores = effective_n_jobs(n_jobs)
    active = races
    while active:
        plans = []
        for race in active:
            race.round += 1
            plan = _plan_round(race)
            if race.round == 1 and plan.n_validation_rows < auto.min_validation_rows:
                rows.append(
                    _fall_back(
                        chosen,
                        race.level,
                        usable,
                        text_like,
                        n_nodes=len(race.ordered),
                        n_validation_rows=plan.n_validation_rows,
                        note=(
                            f"fallback: {plan.n_validation_rows} held-out rows, fewer than "
                            f"min_validation_rows={auto.min_validation_rows}; the default model"
                        ),
                    )
                )
                continue
            plans.append((race, plan))
        fitter.run(
            [
                (race.level, name, node, parts, node in plan.whole)
                for race, plan in plans
                for name in race.alive
                for node, *parts in plan.nodes
            ],
            n_cores,
            verbose,
        )
        active = []
        for race, plan in plans:
            level_rows, goes_on = _score_round(race, plan, fitter, auto, sample_weight)
            if not goes_on:
                scored = [row for row in level_rows if not np.isnan(row["accuracy"])]
                if scored:
                    chosen[race.level] = templates[
                        next(row["candidate"] for row in level_rows if row["chosen"])
                    ]
                else:
                    level_rows.append(
                        _fall_back(
                            chosen,
                            race.level,
                            usable,
                            text_like,
                            round=race.round,
                            note="fallback: every candidate failed",
                        )
                    )
            else:
                active.append(race)
            rows.extend(level_rows)
            if verbose:
                _log_round(race, level_rows, auto.scoring, plan.n_validation_rows)
    table = pd.DataFrame(rows, columns=list(SELECTION_COLUMNS))
    order = {str(name): j for j, name in enumerate(hierarchy.level_names)}
    table = table.sort_values(
        ["level", "round"], key=lambda s: s.map(order) if s.name == "level" else s, kind="stable"
    )
    return chosen, table.reset_index(drop=True)


class _NodeFitter:
    """Candidate fits on selection nodes, in parallel; a whole node's result is kept for later rounds."""

    def __init__(
        self,
        templates: dict[str, Any],
        X: Any,
        hierarchy: Hierarchy,
        sample_weight: NDArray[np.float64] | None,
        categorical_columns: CategoricalColumns | None,
        base_seed: int | None,
    ) -> None:
        self.templates = templates
        self.X = X
        self.hierarchy = hierarchy
        self.sample_weight = sample_weight
        self.categorical_columns = categorical_columns
        self.base_seed = base_seed
        self.kept: dict[tuple[str, str, int], _NodeResult] = {}
        self.latest: dict[tuple[str, str, int], _NodeResult] = {}

    def run(
        self,
        jobs: list[tuple[str, str, int, list[NDArray[np.intp]], bool]],
        n_cores: int,
        verbose: int,
    ) -> None:
        """Fit and score what ``jobs`` (level, candidate, node, parts, whole node) need."""
        self.latest = {}
        todo = []
        for level, name, node, parts, whole in jobs:
            key = (level, name, node)
            if whole and key in self.kept:
                self.latest[key] = _NodeResult(self.kept[key].correct, self.kept[key].true_proba, 0.0)
            else:
                todo.append((key, parts, whole))
        todo.sort(key=lambda job: -len(job[1][0]))  # largest first: workers finish together
        n_workers = max(1, min(n_cores, len(todo)))
        n_threads = max(1, n_cores // n_workers)
        if verbose and todo:
            logger.info("Choosing node models: %d node fits on %d workers", len(todo), n_workers)
        results = Parallel(n_jobs=n_workers, verbose=max(0, verbose - 1))(
            self._call(key[1], key[2], parts, n_threads) for key, parts, _ in todo
        )
        for (key, _, whole), result in zip(todo, results, strict=True):
            self.latest[key] = result
            if whole:
                self.kept[key] = result

    def _call(self, name: str, node: int, parts: list[NDArray[np.intp]], n_threads: int) -> Any:
        template = self.templates[name]
        params, fit_params = (
            ({}, {})
            if self.categorical_columns is None
            else categorical_node_settings(template, self.categorical_columns)
        )
        estimator = make_node_estimator(
            template,
            n_rows=len(parts[0]),
            seed=None
            if self.base_seed is None
            else node_seed(self.base_seed, self.hierarchy.node_path(node)),
            n_threads=n_threads,
        )
        return delayed(_fit_and_score)(
            estimator.set_params(**params), self.X, *parts, self.sample_weight, fit_params
        )


def _score_round(
    race: _LevelRace,
    plan: _LevelPlan,
    fitter: _NodeFitter,
    auto: AutoNodeModel,
    sample_weight: NDArray[np.float64] | None,
) -> tuple[list[dict[str, Any]], bool]:
    """The table rows of one level's round, and whether the level goes to another round.

    Marks the chosen row when the level is decided; narrows ``race.alive`` to the
    candidates tied with the best when it is not.
    """
    base = {
        "round": race.round,
        "n_nodes": len(plan.nodes),
        "n_train_rows": plan.n_train_rows,
        "n_validation_rows": plan.n_validation_rows,
    }
    targets = [parts[3] for _, *parts in plan.nodes]
    weights = [
        np.ones(len(parts[3])) if sample_weight is None else sample_weight[parts[2]]
        for _, *parts in plan.nodes
    ]
    level_rows: dict[str, dict[str, Any]] = {}
    contributions: dict[str, NDArray[np.float64]] = {}
    for name in race.alive:
        results = [fitter.latest[(race.level, name, node)] for node, *_ in plan.nodes]
        failed = [(node, r.error) for (node, *_), r in zip(plan.nodes, results, strict=True) if r.error]
        if failed:
            node, error = failed[0]
            where = repr(fitter.hierarchy.node_path(node) or "(root)")
            level_rows[name] = _row(race.level, name, **base, note=f"failed at node {where}: {error}"[:300])
            continue
        scores = _level_scores(results, targets, weights)
        seconds = float(sum(r.fit_seconds for r in results))
        level_rows[name] = _row(race.level, name, **base, **scores, fit_seconds=seconds)
        contributions[name] = _row_contributions(results, targets, weights, auto.scoring)
    if not contributions:
        return list(level_rows.values()), False
    sign = -1.0 if auto.scoring == "log_loss" else 1.0
    # Exact ties go to the candidate listed first: fit times would make the choice
    # depend on the machine's load (and on n_jobs).
    listed = list(contributions)
    best = max(listed, key=lambda name: (sign * contributions[name].sum(), -listed.index(name)))
    tied = []
    for name in contributions:
        if name == best:
            continue
        lead, standard_error = _paired_lead(contributions[best], contributions[name], sign)
        within = standard_error > 0 and lead <= auto.tie_standard_errors * standard_error
        if within:
            tied.append(name)
        level_rows[name]["note"] = (
            f"{'tied with' if within else 'behind'} {best}: {auto.scoring} {lead:+.4f} for {best}, "
            f"{auto.tie_standard_errors:g} standard errors = {auto.tie_standard_errors * standard_error:.4f}"
        )
    goes_on = bool(tied) and not plan.used_up and race.round < auto.max_rounds
    if goes_on:
        # Halving: at most the better half of this round's candidates (and always a
        # pair) race on, so that the larger rounds do not fit every tied candidate.
        tied.sort(key=lambda name: -sign * contributions[name].sum())
        n_next = max(2, -(-len(contributions) // 2))
        for name in tied[n_next - 1 :]:
            level_rows[name]["note"] += "; not in the better half: out"
        tied = tied[: n_next - 1]
        race.alive = [name for name in race.alive if name == best or name in tied]
        assert race.budget is not None  # a level without a budget is used up in one round
        race.budget = int(np.ceil(race.budget * auto.budget_growth))
        for name in race.alive:
            level_rows[name]["note"] = (level_rows[name]["note"] + "; next round").lstrip("; ")
    else:
        level_rows[best]["chosen"] = True
        if tied:
            why = "the level has no more rows" if plan.used_up else f"max_rounds={auto.max_rounds} reached"
            level_rows[best]["note"] = f"best of the candidates still tied; {why}"
    return list(level_rows.values()), goes_on


def _log_round(race: _LevelRace, level_rows: list[dict[str, Any]], scoring: str, n_rows: int) -> None:
    winner = next((row for row in level_rows if row["chosen"]), None)
    if winner is None:
        logger.info(
            "Level %s, round %d: %s tied on %d held-out rows; next round with %s rows",
            race.level,
            race.round,
            ", ".join(race.alive),
            n_rows,
            race.budget,
        )
        return
    logger.info(
        "Level %s: %s chosen in round %d (held-out %s %.4f on %d rows)",
        race.level,
        winner["candidate"],
        race.round,
        scoring,
        winner[scoring],
        n_rows,
    )


def _fall_back(
    chosen: dict[str, Any], level: str, usable: list[tuple[str, Any]], text_like: bool, **fields: Any
) -> dict[str, Any]:
    """Give ``level`` the fallback model in ``chosen``; its table row, with ``fields``."""
    name, chosen[level] = _fallback(usable, text_like)
    return _row(level, name, chosen=True, **fields)


def _fallback(usable: list[tuple[str, Any]], text_like: bool) -> tuple[str, Any]:
    """The default model where it can take the input, else the first usable candidate."""
    for name, template in usable:
        if name == "linear":
            return name, template
    default = default_node_estimator(text_like=text_like)
    for name, template in usable:
        if type(template) is type(default):
            return name, template
    return usable[0][0], clone(usable[0][1])
