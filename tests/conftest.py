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


# ----------------------------------------------------------------- the commands in this process
@pytest.fixture
def run_command():
    """Run ``hiercls-<command> args`` through its console entry point in this process.

    The same path as the installed command (Hydra's command line, composition, the
    error boundary), without a new interpreter's 4 s of imports; returns the exit code
    and stderr. Hydra's logging handlers and its run config are undone afterwards.
    """
    import contextlib
    import importlib
    import io
    import logging
    import os
    import sys
    import traceback

    from hydra.core.hydra_config import HydraConfig

    def run(command, args, cwd):
        main = importlib.import_module(f"hiercls.cli.{command}").main
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        argv, here = sys.argv, os.getcwd()
        err = io.StringIO()
        code = 0
        try:
            os.chdir(cwd)
            sys.argv = [f"hiercls-{command}", *map(str, args)]
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    main()
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except Exception:  # a bug: what the command would print
                    traceback.print_exc()
                    code = 1
        finally:
            os.chdir(here)
            sys.argv = argv
            for handler in root.handlers:
                if handler not in handlers:
                    handler.close()
            root.handlers[:] = handlers
            root.setLevel(level)
            HydraConfig.instance().cfg = None
        return code, err.getvalue()

    return run


def file_digests(folder, skip=()):
    """SHA-256 of every file under ``folder`` (but not under the ``skip`` subfolders)."""
    import hashlib

    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(part in skip for part in path.relative_to(folder).parts)
    }


def unused_port():
    """A local TCP port that refuses connections (nothing listens on it)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
