"""Count node-model calls per prediction method, for two revisions in the same run.

Every call that reaches a node model goes through ``outcome_proba`` or
``outcome_scores`` as ``hiercls.traversal`` sees them; a child process wraps both
and counts calls and scored rows for ``predict`` (greedy and best-path decoding),
``predict_paths``, ``predict_top_k`` and one batch-scoring chunk (paths and top-k).
Each revision runs in its own process, from a ``git archive`` copy of ``hiercls/``.

    python experiments/count_node_calls.py --before 413c759          # results/node_calls.md
    python experiments/count_node_calls.py --before 413c759 --quick  # results/quick/
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench_utils import snapshot_package  # noqa: E402
from _runner import REPO, git_commit, package_versions, provenance_note, write_table  # noqa: E402


def _counting(function, counter):
    def wrapped(model, X, *args, **kwargs):
        counter["calls"] += 1
        counter["rows"] += X.shape[0]
        return function(model, X, *args, **kwargs)

    return wrapped


def child(n_rows: int, top_k: int) -> dict:
    """Fit on a 3-level synthetic tree and count node-model calls per method."""
    import pandas as pd

    import hiercls.traversal as traversal
    from hiercls import HierarchicalClassifier
    from hiercls.batch import predict_file
    from hiercls.datasets import make_hierarchical_classification

    warnings.simplefilter("ignore")
    X, Y = make_hierarchical_classification(n_rows, n_levels=3, branching=4, n_features=20, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    greedy = HierarchicalClassifier(random_state=0).fit(X, Y)
    best = HierarchicalClassifier(random_state=0, decoding="best_path").fit(X, Y)
    on_frame = HierarchicalClassifier(random_state=0).fit(frame, Y)  # a file's columns by name

    def batch_chunk() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            rows = Path(tmp) / "rows.parquet"
            frame.to_parquet(rows)
            predict_file(on_frame, rows, Path(tmp) / "out", top_k=top_k, chunk_rows=len(frame), quiet=True)

    counter: Counter[str] = Counter()
    traversal.outcome_proba = _counting(traversal.outcome_proba, counter)
    traversal.outcome_scores = _counting(traversal.outcome_scores, counter)
    runs = {
        "predict (greedy)": lambda: greedy.predict(X),
        "predict_paths (greedy)": lambda: greedy.predict_paths(X),
        "predict (best_path)": lambda: best.predict(X),
        f"predict_top_k(k={top_k})": lambda: best.predict_top_k(X, top_k),
        f"batch chunk (paths + top {top_k})": batch_chunk,
    }
    counts = {}
    for name, run in runs.items():
        counter.clear()
        run()
        counts[name] = (counter["calls"], counter["rows"])
    n_models = sum(model is not None for model in greedy.estimators_)
    return {"counts": counts, "n_models": n_models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="413c759", help="git revision to compare with")
    parser.add_argument("--quick", action="store_true", help="500 rows instead of 2,000")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_rows = 500 if args.quick else 2000
    if args.child:
        print(json.dumps(child(n_rows, args.top_k)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        snapshot_package(Path(tmp), source=args.before)
        for label, path in ((args.before, tmp), ("working tree", str(REPO))):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--top-k",
                    str(args.top_k),
                    *(["--quick"] * args.quick),
                ],
                env={**os.environ, "PYTHONPATH": path},
                capture_output=True,
                text=True,
                check=True,
                cwd=tmp,
            )
            results[label] = json.loads(out.stdout.strip().splitlines()[-1])
    after = results["working tree"]
    before = results[args.before]
    note, _ = provenance_note(
        [{"commit": git_commit(), "versions": package_versions(["numpy", "scikit-learn"])}]
    )
    lines = [
        "# Node-model calls per prediction method",
        "",
        f"`python experiments/count_node_calls.py --before {args.before}{' --quick' * args.quick}`: "
        f"{n_rows} rows, a 3-level tree with {after['n_models']} node models, "
        f"before = {args.before}, after = the working tree. {note}",
        "",
        "| method | calls before | calls after | rows scored before | rows scored after |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (calls, rows) in after["counts"].items():
        old_calls, old_rows = before["counts"].get(name, ("-", "-"))
        lines.append(f"| {name} | {old_calls} | {calls} | {old_rows} | {rows} |")
    write_table(lines, "node_calls.md", args.quick)


if __name__ == "__main__":
    main()
