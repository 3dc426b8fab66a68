"""Count node-model calls per prediction method (issue #13: one call per visited node).

Every call that reaches a node model goes through ``outcome_proba`` or
``outcome_scores`` in ``hiercls.traversal``; this script wraps both and counts
calls and scored rows for ``predict`` (greedy and best-path decoding),
``predict_paths``, ``predict_top_k`` and one batch-scoring chunk.

    python experiments/count_node_calls.py            # 4 levels x 4 children, 2,000 rows
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd

import hiercls.traversal as traversal
from hiercls import HierarchicalClassifier
from hiercls.batch import predict_file
from hiercls.datasets import make_hierarchical_classification
from hiercls.exceptions import InsufficientSupportWarning


def _counting(function, counter):
    def wrapped(model, X, *args, **kwargs):
        counter["calls"] += 1
        counter["rows"] += X.shape[0]
        return function(model, X, *args, **kwargs)

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()
    X, Y = make_hierarchical_classification(args.rows, n_levels=3, branching=4, n_features=20, random_state=0)
    counter: Counter[str] = Counter()
    traversal.outcome_proba = _counting(traversal.outcome_proba, counter)
    traversal.outcome_scores = _counting(traversal.outcome_scores, counter)
    greedy = HierarchicalClassifier(random_state=0).fit(X, Y)
    best = HierarchicalClassifier(random_state=0, decoding="best_path").fit(X, Y)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    on_frame = HierarchicalClassifier(random_state=0).fit(frame, Y)  # a file's columns by name
    n_models = sum(model is not None for model in greedy.estimators_)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"commit {commit}; {args.rows} rows; {n_models} node models; k={args.top_k}")
    print("| method | model calls | rows scored |\n|---|---:|---:|")
    runs = {
        "predict (greedy)": lambda: greedy.predict(X),
        "predict_paths (greedy)": lambda: greedy.predict_paths(X),
        "predict (best_path)": lambda: best.predict(X),
        f"predict_top_k(k={args.top_k})": lambda: best.predict_top_k(X, args.top_k),
        f"batch chunk (paths + top {args.top_k})": lambda: _batch_chunk(on_frame, frame, args.top_k),
    }
    for name, run in runs.items():
        counter.clear()
        run()
        print(f"| {name} | {counter['calls']} | {counter['rows']} |")


def _batch_chunk(model: HierarchicalClassifier, frame: pd.DataFrame, top_k: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.parquet"
        frame.to_parquet(rows)
        predict_file(model, rows, Path(tmp) / "out", top_k=top_k, chunk_rows=len(frame), quiet=True)


if __name__ == "__main__":
    warnings.simplefilter("ignore", InsufficientSupportWarning)
    main()
