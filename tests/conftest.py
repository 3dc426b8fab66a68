"""Tiny hand-made hierarchies whose clusters any linear model separates exactly."""

from __future__ import annotations

import numpy as np
import pytest

ROWS_PER_LEAF = 6


def clustered(paths_and_centers, *, rows_per_leaf=ROWS_PER_LEAF, seed=0):
    """Rows scattered tightly around each path's centre; returns X, Y (object) and centres."""
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for path, centre in paths_and_centers:
        X.append(np.asarray(centre, float) + rng.normal(scale=0.3, size=(rows_per_leaf, 2)))
        Y.extend([list(path)] * rows_per_leaf)
    Y_array = np.empty((len(Y), len(Y[0])), dtype=object)
    Y_array[:] = Y
    centres = np.array([c for _, c in paths_and_centers], dtype=float)
    return np.vstack(X), Y_array, centres


THREE_LEVELS = [
    (("animal", "mammal", "dog"), (-10, 10)),
    (("animal", "mammal", "cat"), (-10, 3)),
    (("animal", "bird", "eagle"), (-4, -10)),
    (("plant", "tree", "oak"), (10, 10)),
    (("plant", "tree", "pine"), (10, 3)),
    (("plant", "flower", "rose"), (4, -10)),
]

# "Other" under two parents and the same string "NA" at two levels: distinct nodes.
REPEATED_NAMES = [
    (("NA", "US", "Other"), (-10, 10)),
    (("NA", "CA", "Other"), (-10, -10)),
    (("EU", "NA", "Other"), (10, 10)),
    (("EU", "FR", "Paris"), (10, -10)),
]

# Paths that end early: ("A", "A1") stops at A1, ("B",) stops at B.
RAGGED = [
    (("A", "A1", None), (-10, 10)),
    (("A", "A1", "A1x"), (-10, 0)),
    (("A", "A2", "A2x"), (-10, -10)),
    (("B", None, None), (10, 10)),
    (("B", "B1", "B1x"), (10, -10)),
]

# X has a single child all the way down: constant models, no fit.
SINGLE_CHILD_CHAIN = [
    (("X", "X1", "X11"), (-10, 0)),
    (("Y", "Y1", "Y11"), (10, 10)),
    (("Y", "Y2", "Y21"), (10, -10)),
]

INT_LABELS = [
    ((1, 10, 100), (-10, 10)),
    ((1, 10, 101), (-10, 3)),
    ((1, 11, 110), (-3, -10)),
    ((2, 20, 200), (10, 0)),
]


@pytest.fixture
def three_levels():
    return clustered(THREE_LEVELS)


@pytest.fixture
def repeated_names():
    return clustered(REPEATED_NAMES)


@pytest.fixture
def ragged():
    return clustered(RAGGED)


@pytest.fixture
def single_child_chain():
    return clustered(SINGLE_CHILD_CHAIN)


@pytest.fixture
def int_labels():
    X, Y, centres = clustered(INT_LABELS)
    return X, Y.astype(np.int64), centres
