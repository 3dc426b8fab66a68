"""``estimator="auto"`` considering collapsed levels: a flat decision where the data favour it.

A wrong turn at a coarse level cannot be undone by a top-down model; where a parent's
model choosing among its grandchildren directly does better, collapsing the level in
between (:mod:`hiercls.collapse`) is the better tree. :func:`select_collapsed_levels`
compares the two on held-out rows, level by level, once
:func:`~hiercls.model_selection.select_level_models` has chosen each level's model:

- top-down: the model chosen for level ``L - 1`` picks a child, then the model chosen
  for level ``L`` picks a grandchild under it;
- collapsed: one model of level ``L - 1``'s choice picks the grandchild directly (what
  ``collapse_levels=[L]`` fits).

Both are fitted on the training part of a sample of the nodes that decide level
``L - 1`` and scored on the same held-out rows (accuracy of the grandchild, or of the
node where a path stops); the level is collapsed when the collapsed model's lead is
beyond ``tie_standard_errors`` standard errors of the paired per-row difference.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning

from .categorical import CategoricalColumns, categorical_node_settings
from .hierarchy import Hierarchy
from .model_selection import (
    SELECTION_COLUMNS,
    AutoNodeModel,
    _draw_order,
    _LevelRace,
    _paired_lead,
    _plan_round,
    _row,
)
from .node_models import base_seed_of, fit_node, make_node_estimator, node_seed, outcome_proba, take_rows
from .traversal import group_by_node

__all__ = ["COLLAPSE_CANDIDATES", "select_collapsed_levels"]

#: The ``candidate`` of the two rows a considered level adds to ``model_selection_``.
COLLAPSE_CANDIDATES = ("top_down", "collapse")


def _predict(model: Any, X: Any, rows: NDArray[np.intp]) -> NDArray[np.intp]:
    proba = outcome_proba(model, take_rows(X, rows))
    return np.asarray(model.classes_)[np.argmax(proba, axis=1)]


def _fit(
    template: Any,
    settings: tuple[dict[str, Any], dict[str, Any]],
    seed: int | None,
    X: Any,
    rows: NDArray[np.intp],
    targets: NDArray[np.intp],
    sample_weight: NDArray[np.float64] | None,
) -> Any:
    params, fit_params = settings
    estimator = make_node_estimator(template, n_rows=len(rows), seed=seed, n_threads=1)
    with warnings.catch_warnings():
        # Comparison fits are throw-away; the final fit reports convergence.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_node(estimator.set_params(**params), X, rows, targets, sample_weight, fit_params)


def _compare_at_node(
    node: int,
    upper: tuple[Any, tuple[dict[str, Any], dict[str, Any]]],
    lower: tuple[Any, tuple[dict[str, Any], dict[str, Any]]],
    seeds: Mapping[int, int | None],
    X: Any,
    train_rows: NDArray[np.intp],
    train_first: NDArray[np.intp],
    train_final: NDArray[np.intp],
    validation_rows: NDArray[np.intp],
    validation_final: NDArray[np.intp],
    sample_weight: NDArray[np.float64] | None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], float, float]:
    """Held-out correctness of the top-down and of the collapsed decision at one node.

    ``train_first`` is each training row's child (or ``node`` where its path stops),
    ``*_final`` its grandchild (or the child, or ``node``, where the path stops).
    """
    started = time.perf_counter()
    top = _fit(*upper, seeds[node], X, train_rows, train_first, sample_weight)
    first = _predict(top, X, validation_rows)
    two_step = first.copy()
    for child in np.unique(first).tolist():
        if child == node:
            continue  # "stop here": nothing below decides
        through = train_first == child
        outcomes = np.unique(train_final[through])
        routed = first == child
        if len(outcomes) == 1:
            two_step[routed] = outcomes[0]  # the estimator's constant model
        elif len(outcomes) > 1:
            below = _fit(*lower, seeds[child], X, train_rows[through], train_final[through], sample_weight)
            two_step[routed] = _predict(below, X, validation_rows[routed])
    two_step_seconds = time.perf_counter() - started
    flat = _fit(*upper, seeds[node], X, train_rows, train_final, sample_weight)
    collapsed = _predict(flat, X, validation_rows)
    flat_seconds = time.perf_counter() - started - two_step_seconds
    return two_step == validation_final, collapsed == validation_final, two_step_seconds, flat_seconds


def select_collapsed_levels(
    auto: AutoNodeModel,
    X: Any,
    hierarchy: Hierarchy,
    node_codes: NDArray[np.intp],
    chosen: Mapping[str, Any],
    table: pd.DataFrame,
    *,
    sample_weight: NDArray[np.float64] | None = None,
    categorical_columns: CategoricalColumns | None = None,
    n_jobs: int | None = None,
    random_state: Any = None,
) -> tuple[tuple[int, ...], pd.DataFrame]:
    """Choose the levels to collapse, comparing top-down and collapsed decisions on held-out rows.

    Levels are considered coarse first; level ``L`` only when the models of levels
    ``L - 1`` and ``L`` were both chosen by ``auto`` (are keys of ``chosen``) and level
    ``L - 1`` was not collapsed itself (two collapsed levels in a row would merge three
    levels, which no comparison here measured).

    Parameters
    ----------
    auto : AutoNodeModel
        Its ``validation_fraction``, ``tie_standard_errors`` and row budget (the
        largest a level's rounds may reach: ``max_rows_per_level * budget_growth **
        (max_rounds - 1)`` rows of level ``L - 1``'s deciding nodes).
    X : ndarray or sparse matrix
        Validated training rows.
    hierarchy : Hierarchy
    node_codes : ndarray of shape (n_samples, n_levels)
        Each row's node per level (-1 below the end of its path).
    chosen : mapping of str -> estimator
        The template chosen for each level (by level name).
    table : DataFrame
        The selection's table (``model_selection_``), which the comparisons extend.
    sample_weight : ndarray, default=None
        Row weights: passed to the fits and weighting the accuracy.
    categorical_columns : CategoricalColumns, default=None
    n_jobs : int, default=None
        Parallel node comparisons (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split and the models, as the selection does.

    Returns
    -------
    collapsed : tuple of int
        The levels to collapse (indices, for ``collapse_levels``).
    table : DataFrame
        ``table`` with, per considered level, two rows (candidates ``"top_down"`` and
        ``"collapse"``, ``chosen`` on the decision taken) after the level's own, or
        one row saying why a level was not considered. A collapsed level's chosen
        model is noted as unused: its nodes get no model.
    """
    base_seed = base_seed_of(random_state)
    budget = (
        None
        if auto.max_rows_per_level is None
        else int(auto.max_rows_per_level * auto.budget_growth ** (auto.max_rounds - 1))
    )
    names = [str(name) for name in hierarchy.level_names]
    collapsed: list[int] = []
    rows: list[dict[str, Any]] = []
    n = node_codes.shape[0]
    for level in range(1, hierarchy.n_levels):
        name = names[level]
        if names[level - 1] not in chosen or name not in chosen:
            continue  # a level auto does not decide: nothing to consider
        if level - 1 in collapsed:
            rows.append(
                _row(name, "collapse", note=f"not considered: level {names[level - 1]!r} is collapsed")
            )
            continue
        deciders = node_codes[:, level - 2] if level >= 2 else np.zeros(n, dtype=np.intp)
        reach = np.flatnonzero(deciders >= 0)
        first = np.where(node_codes[reach, level - 1] >= 0, node_codes[reach, level - 1], deciders[reach])
        final = np.where(node_codes[reach, level] >= 0, node_codes[reach, level], first)
        nodes, groups = group_by_node(deciders[reach])
        tasks = [
            (node, reach[group], final[group])
            for node, group in zip(nodes.tolist(), groups, strict=True)
            if len(np.unique(final[group])) > 1
        ]
        first_of = np.full(n, -1, dtype=np.intp)
        first_of[reach] = first
        final_of = np.full(n, -1, dtype=np.intp)
        final_of[reach] = final
        rng = np.random.default_rng(None if base_seed is None else [base_seed, level, 1])
        race = _LevelRace(name, level - 1, _draw_order(tasks, auto.validation_fraction, rng), rng, [], budget)
        plan = _plan_round(race)
        if plan.n_validation_rows < auto.min_validation_rows:
            rows.append(
                _row(
                    name,
                    "collapse",
                    n_validation_rows=plan.n_validation_rows,
                    note=(
                        f"not considered: {plan.n_validation_rows} held-out rows, fewer than "
                        f"min_validation_rows={auto.min_validation_rows}"
                    ),
                )
            )
            continue
        settings = {
            key: (
                template,
                ({}, {})
                if categorical_columns is None
                else categorical_node_settings(template, categorical_columns),
            )
            for key, template in (("upper", chosen[names[level - 1]]), ("lower", chosen[name]))
        }
        jobs = []
        for node, train_rows, train_final, validation_rows, validation_final in plan.nodes:
            involved = [node, *hierarchy.children(node).tolist()]
            seeds = {
                v: None if base_seed is None else node_seed(base_seed, hierarchy.node_path(v))
                for v in involved
            }
            jobs.append(
                delayed(_compare_at_node)(
                    node,
                    settings["upper"],
                    settings["lower"],
                    seeds,
                    X,
                    train_rows,
                    first_of[train_rows],
                    train_final,
                    validation_rows,
                    validation_final,
                    sample_weight,
                )
            )
        n_workers = max(1, min(effective_n_jobs(n_jobs), len(jobs)))
        results = Parallel(n_jobs=n_workers)(jobs)
        weight = np.concatenate(
            [
                np.ones(len(parts[2])) if sample_weight is None else sample_weight[parts[2]]
                for _, *parts in plan.nodes
            ]
        )
        weight = weight / weight.sum()
        top_down = weight * np.concatenate([r[0] for r in results])
        flat = weight * np.concatenate([r[1] for r in results])
        lead, error = _paired_lead(flat, top_down, 1.0)
        collapse = error > 0 and lead > auto.tie_standard_errors * error
        if collapse:
            collapsed.append(level)
        base = {
            "n_nodes": len(plan.nodes),
            "n_train_rows": plan.n_train_rows,
            "n_validation_rows": plan.n_validation_rows,
        }
        verdict = (
            f"{'beyond' if collapse else 'within'} {auto.tie_standard_errors:g} standard errors "
            f"({auto.tie_standard_errors * error:.4f}) of the collapsed model's lead {lead:+.4f}"
        )
        rows.append(
            _row(
                name,
                "top_down",
                accuracy=float(top_down.sum()),
                chosen=not collapse,
                note=f"level {names[level - 1]!r} then {name!r} decided by their chosen models; {verdict}",
                fit_seconds=float(sum(r[2] for r in results)),
                **base,
            )
        )
        rows.append(
            _row(
                name,
                "collapse",
                accuracy=float(flat.sum()),
                chosen=collapse,
                note=f"one model (the choice of level {names[level - 1]!r}) over level {name!r}; {verdict}",
                fit_seconds=float(sum(r[3] for r in results)),
                **base,
            )
        )
    added = pd.DataFrame(rows, columns=list(SELECTION_COLUMNS))
    combined = pd.concat([table, added], ignore_index=True) if len(added) else table.copy()
    unused = combined["level"].isin([names[level] for level in collapsed]) & combined["chosen"]
    unused &= ~combined["candidate"].isin(COLLAPSE_CANDIDATES)
    combined.loc[unused, "note"] = (
        combined.loc[unused, "note"] + "; unused: the level is collapsed"
    ).str.lstrip("; ")
    level_order = {name: j for j, name in enumerate(names)}
    combined = combined.sort_values("level", key=lambda s: s.map(level_order), kind="stable")
    return tuple(collapsed), combined.reset_index(drop=True)
