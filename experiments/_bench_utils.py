"""Frozen sources and synthetic data shared by the benchmark scripts in ``experiments/``.

Nothing here is imported by ``hiercls``. The process runner, memory probes and
provenance are in ``_runner.py``. The pieces:

- :func:`snapshot_package`: a frozen copy of ``hiercls/`` (working tree, HEAD or any
  revision) that every child of one benchmark imports;
- :func:`deep_nbytes`: bytes held by an array, object arrays included;
- :func:`load_data`: a synthetic tree data set, with a fallback generator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as runner  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------- frozen sources
def snapshot_package(
    dest: Path, *, source: str = "worktree", tries: int = 6, wait_seconds: float = 20.0
) -> dict[str, Any]:
    """Copy ``hiercls/`` into ``dest`` so that every child measures the same code.

    Other people edit the working tree while a benchmark runs for an hour; children
    run with ``PYTHONPATH=dest``, ahead of the editable install. ``source`` is
    ``"worktree"`` (the files as they are now), ``"head"`` (the last commit) or any
    other git revision (to measure an earlier version in the same run). A copy
    that does not import (someone is mid-edit) is retried after ``wait_seconds``.
    """
    import shutil

    target = dest / "hiercls"
    for attempt in range(tries):
        shutil.rmtree(target, ignore_errors=True)
        if source != "worktree":
            revision = "HEAD" if source == "head" else source
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", revision, "hiercls"], capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        else:
            shutil.copytree(REPO / "hiercls", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        check = subprocess.run(
            [sys.executable, "-c", "import hiercls, hiercls.datasets; print(hiercls.__file__)"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(dest)},
            cwd=str(dest),
        )
        if check.returncode == 0 and check.stdout.strip().startswith(str(dest)):
            state = runner.source_state(target)
            return {
                "source": source,
                "path": str(dest),
                "attempts": attempt + 1,
                "hiercls_sources_sha256": state["hiercls_sources_sha256"],
            }
        time.sleep(wait_seconds)
    raise RuntimeError(f"hiercls from {source} does not import:\n{check.stderr[-2000:]}")


# ------------------------------------------------------------------------------ arrays
def deep_nbytes(value: Any) -> int:
    """Bytes held by an array, counting the Python objects an object array points to."""
    array = np.asarray(value)
    total = array.nbytes
    if array.dtype == object:
        total += sum(sys.getsizeof(item) for item in array.ravel().tolist())
    return total


# -------------------------------------------------------------------------------- data
def make_tree_data(
    n_samples: int,
    branching: Sequence[int],
    *,
    n_features: int = 20,
    tail_exponent: float = 1.0,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Random features and label paths on a complete tree with Zipf leaf sizes.

    Labels are unique per node and path-like (``"a3"``, ``"a3.1"``, ...). The features
    carry no signal: the benchmark measures the framework, not the models.
    """
    rng = np.random.default_rng(random_state)
    sizes = np.cumprod(branching)
    n_leaves = int(sizes[-1])
    weights = np.arange(1, n_leaves + 1, dtype=np.float64) ** -tail_exponent
    weights /= weights.sum()
    guaranteed = min(1, n_samples // n_leaves)
    support = np.full(n_leaves, guaranteed, dtype=np.int64)
    support[rng.permutation(n_leaves)] += rng.multinomial(n_samples - guaranteed * n_leaves, weights)
    leaf_of_row = rng.permutation(np.repeat(np.arange(n_leaves), support))
    Y = np.empty((n_samples, len(branching)), dtype=object)
    labels = np.array([f"a{i}" for i in range(branching[0])], dtype=object)
    for level in range(len(branching)):
        if level:
            suffixes = [f".{i}" for i in range(branching[level])]
            labels = np.array([p + s for p in labels.tolist() for s in suffixes], dtype=object)
        Y[:, level] = labels[leaf_of_row // (n_leaves // int(sizes[level]))]
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    return X, Y


def load_data(
    n_samples: int, branching: Sequence[int], *, n_features: int = 20, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, str]:
    """Data from ``hiercls.datasets`` when it works, else from :func:`make_tree_data`.

    X is float32 either way (what a production feature matrix usually is).
    """
    try:
        from hiercls.datasets import make_hierarchical_classification

        X, Y = make_hierarchical_classification(
            n_samples,
            n_levels=len(branching),
            branching=tuple(branching),
            n_features=n_features,
            tail_exponent=1.0,
            random_state=random_state,
        )
        return np.asarray(X, dtype=np.float32), np.asarray(Y), "hiercls.datasets"
    except Exception as exc:  # the generator is being written concurrently
        print(f"hiercls.datasets unavailable ({exc!r}); using the fallback", file=sys.stderr)
        X, Y = make_tree_data(n_samples, branching, n_features=n_features, random_state=random_state)
        return X, Y, "fallback"
