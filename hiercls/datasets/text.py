"""A synthetic sparse-text hierarchy at catalogue scale: Zipf-sized leaves, TF-IDF rows."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.utils import check_random_state

from .._compat import Interval, validate_params
from .._validation import SequenceOf
from ._checks import int_interval

__all__ = ["make_hierarchical_text"]


def _zipf_cdf(n: int, exponent: float) -> NDArray[np.float64]:
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


@validate_params(
    {
        "n_samples": [int_interval(1)],
        "branching": [SequenceOf(int_interval(1), "a non-empty sequence of ints in the range [1, inf)")],
        "n_features": [int_interval(2)],
        "words_per_row": [int_interval(1)],
        "signature_words": [int_interval(1)],
        "signal_share": [Interval(Real, 0.0, 1.0, closed="both")],
        "max_paths": [int_interval(1)],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_hierarchical_text(
    n_samples: int = 10_000,
    *,
    branching: Sequence[int] = (10, 10, 20),
    n_features: int = 50_000,
    words_per_row: int = 30,
    signature_words: int = 8,
    signal_share: float = 0.35,
    leaf_exponent: float = 1.0,
    word_exponent: float = 1.05,
    max_paths: int = 1,
    random_state: Any = None,
) -> tuple[sparse.csr_matrix, Any]:
    """Generate TF-IDF rows of a text hierarchy with a long tail of rare leaves.

    Every node of a full tree with ``branching[j]`` children per node at level
    ``j`` gets ``signature_words`` tokens of its own, drawn from the vocabulary's
    middle and tail (so two nodes may share a token). A row picks its leaf from a
    Zipf distribution over the leaves (a random order of them; a few leaves are
    frequent, most are rare), then draws about ``words_per_row`` tokens: each is,
    with probability ``signal_share`` on average (it varies by row, so some rows are
    hard), a signature token of one of the nodes on the row's path, else a
    background word from a Zipf distribution over the whole vocabulary. Counts
    become sublinear TF-IDF rows of unit L2 norm, as
    ``TfidfVectorizer(sublinear_tf=True)`` makes them.

    With ``max_paths > 1`` the data are multi-label: a row has ``m`` paths, ``m``
    drawn from ``1 .. max_paths`` with probability proportional to ``1 / m`` (most
    rows have one path), each path's leaf drawn from the same Zipf distribution
    (a leaf drawn twice counts once); the row has ``(m + 1) / 2`` times the tokens,
    and each signal token belongs to one of its paths, drawn uniformly.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of rows.
    branching : sequence of int, default=(10, 10, 20)
        Children per node at each level; the tree has ``prod(branching)`` leaves and
        ``len(branching)`` levels.
    n_features : int, default=50_000
        Vocabulary size (columns of ``X``).
    words_per_row : int, default=30
        Mean tokens per row (Poisson, at least one).
    signature_words : int, default=8
        Tokens that belong to each node.
    signal_share : float, default=0.35
        Mean share of a row's tokens drawn from its path's signatures.
    leaf_exponent : float, default=1.0
        Zipf exponent of the leaves' sizes.
    word_exponent : float, default=1.05
        Zipf exponent of the background words.
    max_paths : int, default=1
        At most this many paths per row; above 1, ``Y`` is a list of path lists,
        the target of :class:`~hiercls.MultiLabelHierarchicalClassifier`.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        TF-IDF rows of unit L2 norm.
    Y : ndarray of str of shape (n_samples, len(branching)), or list of lists of tuple
        Label paths, coarse to fine; a node's label names its path
        (``"n3"``, ``"n3.7"``, ``"n3.7.12"``), so labels are distinct across levels.
        With ``max_paths > 1``, each row's paths as tuples, in order of their leaf.

    Examples
    --------
    >>> from hiercls.datasets import make_hierarchical_text
    >>> X, Y = make_hierarchical_text(50, branching=(2, 3), n_features=200, random_state=0)
    >>> X.shape, Y.shape
    ((50, 200), (50, 2))
    >>> Y[0]
    array(['n0', 'n0.1'], dtype='<U4')
    >>> X, Y = make_hierarchical_text(
    ...     50, branching=(2, 3), n_features=200, max_paths=3, random_state=0
    ... )
    >>> Y[0]
    [('n0', 'n0.1'), ('n1', 'n1.2')]
    """
    branching = [int(b) for b in branching]
    rng = check_random_state(random_state)
    n_levels = len(branching)
    n_leaves = int(np.prod(branching))

    # Leaf sizes: Zipf over a random order of the leaves; one (row, path) pair per
    # path of a row.
    leaf_rank = rng.permutation(n_leaves)
    leaf_cdf = _zipf_cdf(n_leaves, leaf_exponent)
    if max_paths == 1:
        pair_row = np.arange(n_samples)
    else:
        n_paths = 1 + np.searchsorted(_zipf_cdf(max_paths, 1.0), rng.random_sample(n_samples))
        pair_row = np.repeat(np.arange(n_samples), n_paths)
    leaf = leaf_rank[np.searchsorted(leaf_cdf, rng.random_sample(len(pair_row)))]
    if max_paths > 1:  # a leaf drawn twice for a row is one path; pairs sorted by row, leaf
        pair = np.unique(pair_row * n_leaves + leaf)
        pair_row, leaf = pair // n_leaves, pair % n_leaves
    # Digits of the leaf index in the mixed radix of ``branching``: the path.
    digits = np.empty((len(leaf), n_levels), dtype=np.int64)
    remainder = leaf.copy()
    for j in range(n_levels - 1, -1, -1):
        digits[:, j] = remainder % branching[j]
        remainder //= branching[j]
    # Node id of each level's node: unique within its level, offset across levels.
    node_ids = np.empty_like(digits)
    offset, width = 0, 1
    for j in range(n_levels):
        width *= branching[j]
        prefix = digits[:, 0].copy()
        for i in range(1, j + 1):
            prefix = prefix * branching[i] + digits[:, i]
        node_ids[:, j] = offset + prefix
        offset += width
    n_nodes = offset
    # Signatures avoid the most frequent background words, as real class words do.
    low = min(n_features - 1, max(1, n_features // 100))
    signatures = rng.randint(low, n_features, size=(n_nodes, signature_words))

    paths_of_row = np.bincount(pair_row, minlength=n_samples)
    first_pair = np.cumsum(paths_of_row) - paths_of_row
    lengths = np.maximum(1, rng.poisson(words_per_row * (paths_of_row + 1) / 2, n_samples))
    row_of_token = np.repeat(np.arange(n_samples), lengths)
    n_tokens = len(row_of_token)
    share = rng.beta(2.0, 2.0 * (1 - signal_share) / max(signal_share, 1e-9), n_samples) if (
        0 < signal_share < 1) else np.full(n_samples, signal_share)
    is_signal = rng.random_sample(n_tokens) < share[row_of_token]
    tokens = np.empty(n_tokens, dtype=np.int64)
    word_order = rng.permutation(n_features)
    n_background = int((~is_signal).sum())
    tokens[~is_signal] = word_order[
        np.searchsorted(_zipf_cdf(n_features, word_exponent), rng.random_sample(n_background))
    ]
    signal_rows = row_of_token[is_signal]
    level = rng.randint(0, n_levels, len(signal_rows))
    signal_pairs = signal_rows if max_paths == 1 else (
        first_pair[signal_rows] + np.floor(rng.random_sample(len(signal_rows)) * paths_of_row[signal_rows])
    ).astype(np.int64)
    tokens[is_signal] = signatures[
        node_ids[signal_pairs, level], rng.randint(0, signature_words, len(signal_rows))
    ]

    counts = sparse.csr_matrix(
        (np.ones(n_tokens), (row_of_token, tokens)), shape=(n_samples, n_features)
    )
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=n_features)
    idf = np.log((1.0 + n_samples) / (1.0 + df)) + 1.0
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    norms = np.sqrt(np.add.reduceat(counts.data**2, counts.indptr[:-1]))
    counts.data /= np.repeat(norms, np.diff(counts.indptr))

    labels = np.empty((len(leaf), n_levels), dtype=object)
    text = np.char.add("n", digits[:, 0].astype(str))
    labels[:, 0] = text
    for j in range(1, n_levels):
        text = np.char.add(np.char.add(text, "."), digits[:, j].astype(str))
        labels[:, j] = text
    if max_paths == 1:
        return counts, labels.astype(str)
    paths = list(map(tuple, labels.astype(str).tolist()))
    bounds = np.r_[first_pair, len(paths)].tolist()
    return counts, [paths[bounds[i] : bounds[i + 1]] for i in range(n_samples)]
