"""Train, validation and test splits stratified by label path, optionally grouped."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse as sp

from .._compat import Interval, validate_params
from .._validation import Described, StrictInterval, check_parameter
from ..hierarchy import read_label_paths
from ._checks import RANDOM_STATE, as_generator, int_interval

__all__ = ["train_test_split_hierarchical"]


@validate_params(
    {
        "test_size": [Interval(Real, 0.0, 1.0, closed="neither")],
        "validation_size": [Interval(Real, 0.0, 1.0, closed="left")],
        "random_state": RANDOM_STATE,
        "stratify_level": [StrictInterval(Integral, None, None, closed="neither")],
        "groups": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def train_test_split_hierarchical(
    X: Any,
    Y: ArrayLike,
    *,
    test_size: float = 0.2,
    validation_size: float = 0.0,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
    stratify_level: int = -1,
    groups: ArrayLike | None = None,
) -> list[Any]:
    """Split rows into train, (validation,) and test sets, stratified by label path.

    Rows are grouped by their path down to ``stratify_level`` (by default the full
    path: a ragged path that stops early is its own group), and each group is
    split in the requested proportions, rounding so the set sizes are exact. A
    group that goes into the test or validation set always keeps at least one row
    in the training set.

    Groups too small to be split, fewer than 2 rows (3 with a validation set), are
    kept whole in the training set, with a :class:`UserWarning` saying how many
    groups and rows that concerns; the test and validation sets then come from
    the other groups only.

    Parameters
    ----------
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Features; the output keeps its type.
    Y : array-like or DataFrame of shape (n_samples, n_levels) or (n_samples,)
        Label paths, ``None`` (or NaN) for missing levels.
    test_size : float, default=0.2
        Fraction of rows, in ``(0, 1)``, for the test set (rounded up).
    validation_size : float, default=0.0
        Fraction of rows for a validation set (rounded up); ``0`` makes none.
        ``test_size + validation_size`` must be below 1.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed or random generator, for a reproducible split.
    stratify_level : int, default=-1
        Deepest level of the path prefix that defines the groups; negative values
        count from the last level.
    groups : array-like of shape (n_samples,) or None, default=None
        A group key per row (OEWS: its area). When given, every group goes whole
        into one set, so the test set holds groups never seen in training: groups
        are taken in random order into the test set until it has ``test_size`` of
        the rows, then into the validation set, and the rest train. Set sizes are
        then only approximately the requested fractions, the split is not
        stratified (``stratify_level`` is ignored), and the test set may hold
        classes that the training set lacks.

    Returns
    -------
    splits : list
        ``[X_train, X_test, Y_train, Y_test]``, or with a validation set
        ``[X_train, X_val, X_test, Y_train, Y_val, Y_test]``. Rows are shuffled.

    Raises
    ------
    ValueError
        When a parameter is out of range, ``X`` and ``Y`` differ in length, or the
        training set would be empty.

    Examples
    --------
    >>> import numpy as np
    >>> from hiercls.datasets import train_test_split_hierarchical
    >>> X = np.arange(12).reshape(6, 2)
    >>> Y = np.array([["a", "a1"]] * 3 + [["b", "b1"]] * 3, dtype=object)
    >>> X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
    ...     X, Y, test_size=0.3, random_state=0
    ... )
    >>> sorted(Y_test[:, 0])
    ['a', 'b']
    """
    func = "train_test_split_hierarchical"
    if test_size + validation_size >= 1:
        below = Interval(Real, 0.0, 1 - test_size, closed="left")
        allowed = f"a float in the range [0.0, {1 - test_size:g}) so that test_size + validation_size < 1"
        check_parameter(func, "validation_size", validation_size, [Described(below, allowed)])
    rng = as_generator(random_state)
    paths = read_label_paths(Y, check_paths=False)
    n_samples, n_levels = paths.n_samples, paths.n_levels
    n_rows_X = X.shape[0] if hasattr(X, "shape") else len(X)
    if n_rows_X != n_samples:
        raise ValueError(
            f"X and Y have different numbers of rows: {n_rows_X} and {n_samples}; pass one "
            "label path per row of X."
        )
    check_parameter(func, "stratify_level", stratify_level, [int_interval(-n_levels, n_levels - 1)])

    n_test = math.ceil(test_size * n_samples)
    n_val = math.ceil(validation_size * n_samples)
    if n_samples - n_test - n_val < 1:
        raise ValueError(
            f"With n_samples={n_samples}, test_size={test_size} and "
            f"validation_size={validation_size} the training set would be empty; "
            "use smaller sizes or more rows."
        )
    if groups is not None:
        parts = _group_split(func, groups, n_samples, n_test, n_val, rng)
        return [_take_rows(X, part) for part in parts] + [_take_rows(Y, part) for part in parts]
    pools = 3 if n_val else 2
    groups = paths.prefix_codes(stratify_level % n_levels)
    support = np.bincount(groups)
    splittable = np.where(support >= pools, support, 0)
    to_test = _allocate(splittable, n_test, np.maximum(splittable - (pools - 1), 0), rng)
    to_val = _allocate(splittable, n_val, np.maximum(splittable - to_test - 1, 0), rng)
    _warn_rare_groups(support, pools, to_test.sum(), n_test, to_val.sum(), n_val)

    # Shuffle, then sort by group: the first rows of each group go to test, then validation.
    order = rng.permutation(n_samples)
    order = order[np.argsort(groups[order], kind="stable")]
    sorted_groups = groups[order]
    rank = np.arange(n_samples) - (np.cumsum(support) - support)[sorted_groups]
    in_test = rank < to_test[sorted_groups]
    in_val = ~in_test & (rank < (to_test + to_val)[sorted_groups])
    parts = [order[~in_test & ~in_val], order[in_val], order[in_test]]
    parts = [rng.permutation(part) for part in parts]
    if not n_val:
        del parts[1]
    return [_take_rows(X, part) for part in parts] + [_take_rows(Y, part) for part in parts]


def _group_split(
    func: str,
    groups: ArrayLike,
    n_samples: int,
    n_test: int,
    n_val: int,
    rng: np.random.Generator,
) -> list[NDArray[np.intp]]:
    """Row positions of train, (validation,) test, with every group whole in one of them."""
    keys = groups.to_numpy() if hasattr(groups, "to_numpy") else np.asarray(groups)
    if keys.ndim != 1 or len(keys) != n_samples:
        raise ValueError(
            f"{func}: groups must hold one key per row ({n_samples}); got shape {keys.shape}."
        )
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    sizes = np.bincount(codes, minlength=len(uniques))
    order = rng.permutation(len(uniques))
    filled = np.cumsum(sizes[order])
    # A group goes to the test set while the test set is still short of n_test rows.
    n_test_groups = int(np.searchsorted(filled, n_test)) + 1
    n_val_groups = (
        int(np.searchsorted(filled, filled[n_test_groups - 1] + n_val)) + 1 - n_test_groups
        if n_val
        else 0
    )
    if n_test_groups + n_val_groups >= len(uniques):
        raise ValueError(
            f"{func}: {len(uniques)} group(s) are too few to keep whole groups in the "
            f"test{' and validation' if n_val else ''} set and still train on some; use "
            "smaller sizes or more groups."
        )
    part_of_group = np.zeros(len(uniques), dtype=np.int8)  # 0 train, 1 validation, 2 test
    part_of_group[order[:n_test_groups]] = 2
    part_of_group[order[n_test_groups:n_test_groups + n_val_groups]] = 1
    part_of_row = part_of_group[codes]
    parts = [rng.permutation(np.flatnonzero(part_of_row == part)) for part in (0, 1, 2)]
    if not n_val:
        del parts[1]
    return parts


def _allocate(
    weights: NDArray[np.int64], total: int, cap: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.int64]:
    """Share ``total`` rows among groups in proportion to ``weights``, at most ``cap`` each.

    Largest remainders first, ties at random, so the shares add up to ``total``
    unless the caps leave no room.
    """
    counts = np.zeros(weights.size, dtype=np.int64)
    if total == 0 or weights.sum() == 0:
        return counts
    exact = weights * (total / weights.sum())
    counts = np.minimum(np.floor(exact).astype(np.int64), cap)
    while (missing := total - counts.sum()) > 0:
        open_groups = np.flatnonzero(counts < cap)
        if open_groups.size == 0:
            break
        remainder = (exact - counts)[open_groups]
        ranked = open_groups[np.lexsort((rng.random(open_groups.size), -remainder))]
        counts[ranked[:missing]] += 1
    return counts


def _warn_rare_groups(
    support: NDArray[np.int64], pools: int, got_test: int, n_test: int, got_val: int, n_val: int
) -> None:
    rare = support < pools
    messages = []
    if rare.any():
        messages.append(
            f"{int(rare.sum())} of {support.size} label paths have fewer than {pools} rows "
            f"({int(support[rare].sum())} rows in all), too few to stratify; they were kept "
            "in the training set."
        )
    if got_test < n_test or got_val < n_val:
        messages.append(
            f"Keeping a training row for every path, the split could fill only {got_test} "
            f"of {n_test} test rows"
            + (f" and {got_val} of {n_val} validation rows" if n_val else "")
            + "; use a smaller test_size or a coarser stratify_level."
        )
    if messages:
        warnings.warn(" ".join(messages), UserWarning, stacklevel=4)


def _take_rows(data: Any, rows: NDArray[np.intp]) -> Any:
    if hasattr(data, "iloc"):
        return data.iloc[rows]
    if sp.issparse(data):
        return (data if data.format in ("csr", "csc") else data.tocsr())[rows]
    if isinstance(data, np.ndarray):
        return data[rows]
    return [data[i] for i in rows]
