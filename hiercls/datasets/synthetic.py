"""The synthetic long-tailed generator :func:`make_hierarchical_classification`.

:func:`load_synthetic` returns its data in the loaders' Bunch, for configuration
files.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse as sp
from sklearn.preprocessing import normalize
from sklearn.utils import Bunch

from .._compat import Interval, StrOptions, validate_params
from .._validation import Described, SequenceOf, StrictInterval, check_parameter
from ._bunch import make_bunch, support_summary
from ._checks import BOOLEAN, RANDOM_STATE, as_generator, int_interval, parameter_error

__all__ = ["load_synthetic", "make_hierarchical_classification"]

# Beyond this many leaves the centroid table alone would not fit in memory; a
# generator that silently swaps would be worse than an error.
_MAX_LEAVES = 10_000_000


def _check_branching(func: str, branching: Any, n_levels: int) -> tuple[int, ...]:
    ints = int_interval(1)
    check_parameter(
        func,
        "branching",
        branching,
        [ints, SequenceOf(ints, f"a sequence of n_levels={n_levels} such ints", length=n_levels)],
    )
    widths = (int(branching),) * n_levels if ints.is_satisfied_by(branching) else branching
    result = tuple(int(b) for b in widths)
    n_leaves = int(np.prod(result, dtype=object))
    if n_leaves > _MAX_LEAVES:
        raise ValueError(
            f"branching={branching!r} with n_levels={n_levels} makes a tree of {n_leaves:,} "
            f"leaves; {func} makes at most {_MAX_LEAVES:,} leaves (this one has "
            f"{n_leaves:,}); lower branching or n_levels."
        )
    return result


_NON_NEGATIVE = [StrictInterval(Real, 0.0, None, closed="left")]


@validate_params(
    {
        "n_samples": [int_interval(1)],
        "n_levels": [int_interval(1)],
        "n_features": [int_interval(1)],
        "class_sep": _NON_NEGATIVE,
        "noise": _NON_NEGATIVE,
        "tail_exponent": _NON_NEGATIVE,
        "min_leaf_samples": [int_interval(0)],
        "ragged": [StrictInterval(Real, 0.0, 1.0, closed="left")],
        "label_type": [StrOptions({"str", "int"})],
        "shared_names": BOOLEAN,
        "as_frame": BOOLEAN,
        "sparse": BOOLEAN,
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
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
    branching = _check_branching(func, branching, n_levels)
    if n_informative is None:
        n_informative = n_features
    else:
        check_parameter(func, "n_informative", n_informative, [int_interval(1, n_features)])
    if n_levels == 1:
        zero = Described(Interval(Real, None, 0, closed="right"), "0 when n_levels=1 (no internal level)")
        check_parameter(func, "ragged", ragged, [zero])
    rng = as_generator(random_state)

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
            raise parameter_error(
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
        + support_summary(Y)
    )
    return make_bunch(X, Y, text_column=None, descr=descr)
