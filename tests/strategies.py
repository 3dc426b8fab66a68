"""Hypothesis strategies: random hierarchies with learnable clustered features."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def hierarchical_data(draw, max_levels=3, max_branching=3, ragged=True):
    """Random tree (shared names allowed), clustered X, Y with optional early stops."""
    n_levels = draw(st.integers(1, max_levels))
    branching = [draw(st.integers(1, max_branching)) for _ in range(n_levels)]
    branching[0] = max(branching[0], 2)
    shared_names = draw(st.booleans())
    int_labels = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    paths = [()]
    for width in branching:
        paths = [p + (p_index * width + c if not shared_names else c,)
                 for p_index, p in enumerate(paths) for c in range(width)]
    paths = [tuple(int(v) if int_labels else f"n{v}" for v in p) for p in paths]
    rows_per_leaf = draw(st.integers(3, 6))
    centres = rng.normal(scale=4.0, size=(len(paths), 3))
    noise = rng.normal(scale=1.0, size=(len(paths) * rows_per_leaf, 3))
    X = np.repeat(centres, rows_per_leaf, axis=0) + noise
    Y = np.empty((len(X), n_levels), dtype=object)
    Y[:] = [list(p) for p in paths for _ in range(rows_per_leaf)]
    if ragged and n_levels > 1 and draw(st.booleans()):
        cut = rng.random(len(Y)) < 0.2
        cut[0] = False  # one full-depth row: no level is empty in every row
        depth = rng.integers(1, n_levels, size=len(Y))
        for j in range(1, n_levels):
            Y[cut & (depth <= j), j] = None
    elif int_labels:
        Y = Y.astype(np.int64)
    return X, Y
