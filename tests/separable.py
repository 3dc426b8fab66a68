"""Hand-made data whose every class is defined by its own features."""

from __future__ import annotations

import numpy as np
import pandas as pd


def separable(
    names: list[str], leaves: dict[tuple[str, str], list[int]], n_per_leaf: int = 30, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of noise in [0, 0.2) with 1 added to the columns ``leaves[path]`` names.

    Returns ``X`` with ``names`` as columns and ``Y`` with columns ``group`` and ``leaf``,
    ``n_per_leaf`` rows per path in the order of ``leaves``.
    """
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for path, on in leaves.items():
        block = rng.uniform(0.0, 0.2, size=(n_per_leaf, len(names)))
        block[:, on] += 1.0
        X.append(block)
        Y += [list(path)] * n_per_leaf
    return pd.DataFrame(np.vstack(X), columns=names), pd.DataFrame(Y, columns=["group", "leaf"])
