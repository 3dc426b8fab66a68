"""Nested planar regions: :func:`make_nested_regions`, where top-down routing is at a disadvantage.

Points lie on a plane divided into a grid of small square cells (the leaves). The
coarse classes are not areas of the plane: cell ``(i, j)`` belongs to the region
``(i mod 2, j mod 2)``, so the cells of a region interleave with those of the other
regions like the squares of a chessboard, and every neighbour of a cell lies in
another region. A top-down model must first tell the region, which near a cell's
edge is the vote of the neighbouring cells; a wrong turn there cannot be undone. A
flat model over the cells (or a collapsed hierarchy) does not make that turn.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from .._compat import Interval
from .._validation import check_parameter
from ._checks import BOOLEAN, RANDOM_STATE, as_generator, int_interval

__all__ = ["make_nested_regions"]

_FUNC = "make_nested_regions"


def make_nested_regions(
    n_samples: int = 20_000,
    *,
    grid: int = 12,
    noise: float = 0.45,
    tail_exponent: float = 0.8,
    min_leaf_samples: int = 10,
    as_frame: bool = False,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
) -> tuple[Any, Any]:
    """Generate 2-D points whose three-level classes nest but do not follow the points' clusters.

    The square ``[0, grid) x [0, grid)`` is cut into ``grid x grid`` unit cells, the
    leaves; a row of cell ``(i, j)`` is drawn around the cell's centre with Gaussian
    ``noise`` (in cell widths), so neighbouring cells overlap. The cell belongs to:

    - level 0, ``region``: ``R{i mod 2}{j mod 2}``, four regions interleaved like a
      chessboard (no two neighbouring cells share a region);
    - level 1, ``block``: the region inside one quadrant of the square
      (``R01/Q10``): a region's nine cells of that quadrant when ``grid`` is 12;
    - level 2, ``cell``: ``c{i:02d}-{j:02d}``.

    Cell sizes follow a power law over a random order of the cells (the cell of rank
    ``r`` gets a share proportional to ``r ** -tail_exponent``), so some cells are rare.

    Parameters
    ----------
    n_samples : int, default=20000
        Number of rows.
    grid : int, default=12
        Cells per side; even, at least 2 (quadrants need an even side).
    noise : float, default=0.45
        Standard deviation of the points around their cell's centre, in cell widths.
    tail_exponent : float, default=0.8
        Exponent of the power law of cell sizes; 0 gives cells of equal expected size.
    min_leaf_samples : int, default=10
        Rows every cell gets before the rest are spread by the power law (fewer when
        ``n_samples`` is below ``grid ** 2 * min_leaf_samples``).
    as_frame : bool, default=False
        ``X`` as a DataFrame with columns ``x, y`` and ``Y`` with columns ``region,
        block, cell``.
    random_state : int, RandomState instance, Generator or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, 2) or DataFrame
        Point coordinates.
    Y : ndarray of str, shape (n_samples, 3), or DataFrame
        Label paths, coarse to fine.

    Examples
    --------
    >>> from hiercls.datasets import make_nested_regions
    >>> X, Y = make_nested_regions(200, grid=4, random_state=0)
    >>> X.shape, Y.shape, len(set(Y[:, 0])), len(set(Y[:, 2]))
    ((200, 2), (200, 3), 4, 16)
    """
    check_parameter(_FUNC, "n_samples", n_samples, [int_interval(1)])
    check_parameter(_FUNC, "grid", grid, [int_interval(2)])
    if grid % 2:
        raise ValueError(f"The 'grid' parameter of {_FUNC} must be an even int >= 2. Got {grid!r} instead.")
    check_parameter(_FUNC, "noise", noise, [Interval(Real, 0, None, closed="left")])
    check_parameter(_FUNC, "tail_exponent", tail_exponent, [Interval(Real, 0, None, closed="left")])
    check_parameter(_FUNC, "min_leaf_samples", min_leaf_samples, [int_interval(0)])
    check_parameter(_FUNC, "as_frame", as_frame, BOOLEAN)
    check_parameter(_FUNC, "random_state", random_state, RANDOM_STATE)
    rng = as_generator(random_state)
    n_cells = grid * grid
    guaranteed = min(min_leaf_samples, n_samples // n_cells)
    share = rng.permutation(np.arange(1, n_cells + 1, dtype=float) ** -float(tail_exponent))
    sizes = guaranteed + rng.multinomial(n_samples - guaranteed * n_cells, share / share.sum())
    cell = np.repeat(np.arange(n_cells), sizes)
    i, j = np.divmod(cell, grid)
    X = np.column_stack([i, j]) + 0.5 + rng.normal(scale=float(noise), size=(n_samples, 2))
    half = grid // 2
    region = np.char.add(np.char.add("R", (i % 2).astype(str)), (j % 2).astype(str))
    quadrant = np.char.add(np.char.add("/Q", (i // half).astype(str)), (j // half).astype(str))
    names = np.array([f"c{a:02d}-{b:02d}" for a in range(grid) for b in range(grid)])
    Y = np.column_stack([region, np.char.add(region, quadrant), names[cell]])
    order = rng.permutation(n_samples)
    X, Y = X[order], Y[order]
    if as_frame:
        return pd.DataFrame(X, columns=["x", "y"]), pd.DataFrame(Y, columns=["region", "block", "cell"])
    return X, Y
