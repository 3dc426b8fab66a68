"""Single-row latency and batch time of greedy, best-path and top-k prediction, two revisions.

Each round fits the default model on a synthetic text hierarchy (``make_hierarchical_text``,
TF-IDF rows) with hiercls at ``--before`` and with the working tree, each in its own
process, alternating, and times single-row ``predict`` (greedy and best path) and
``predict_top_k(k=5)`` (p50/p99 over 1,500 rows after 200 warm-up calls) and each
method on 5,000 rows at once. The machine's speed drifts, so every round is kept.
413c759 is 51b844f (before the #13 refactor) with only the take_rows fix, so that both
sides predict the same.

    python experiments/bench_decode_latency.py --before 413c759   # results/decode_latency.md
    python experiments/bench_decode_latency.py --before 413c759 --quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench_utils import snapshot_package  # noqa: E402
from _runner import REPO, git_commit, package_versions, provenance_note, write_table  # noqa: E402

METHODS = ("greedy predict", "best_path predict", "predict_top_k(k=5)")


def child(n_rows: int, n_timed: int) -> dict:
    import warnings

    from hiercls import HierarchicalClassifier
    from hiercls.datasets import make_hierarchical_text

    warnings.simplefilter("ignore")
    X, Y = make_hierarchical_text(n_rows, random_state=0)
    greedy = HierarchicalClassifier(random_state=0, sufficiency_policy="ignore").fit(X, Y)
    best = HierarchicalClassifier(random_state=0, sufficiency_policy="ignore", decoding="best_path").fit(X, Y)
    calls = {
        "greedy predict": lambda rows: greedy.predict(rows),
        "best_path predict": lambda rows: best.predict(rows),
        "predict_top_k(k=5)": lambda rows: greedy.predict_top_k(rows, 5),
    }
    rows = [X[i : i + 1] for i in range(200 + n_timed)]
    out = {"n_leaves": int(len(greedy.classes_[-1]))}
    for name, call in calls.items():
        for row in rows[:200]:
            call(row)
        times = []
        for row in rows[200:]:
            start = time.perf_counter()
            call(row)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        call(X[:5000])
        out[name] = {
            "p50_us": float(np.percentile(times, 50) * 1e6),
            "p99_us": float(np.percentile(times, 99) * 1e6),
            "batch_s": time.perf_counter() - start,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="413c759", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round, 8,000 rows, 300 timed rows")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_rows, n_timed, rounds = (8000, 300, 1) if args.quick else (20000, 1500, args.rounds)
    if args.child:
        print(json.dumps(child(n_rows, n_timed)))
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        snapshot_package(Path(tmp), source=args.before)
        for round_ in range(rounds):
            for label, path in ((args.before, tmp), ("working tree", str(REPO))):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", *(["--quick"] * args.quick)],
                    env={**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=tmp,
                )
                runs.append((round_ + 1, label, json.loads(out.stdout.strip().splitlines()[-1])))
    note, _ = provenance_note(
        [{"commit": git_commit(), "versions": package_versions(["numpy", "scipy", "scikit-learn"])}]
    )
    lines = [
        "# Single-row latency and batch time per decoding",
        "",
        f"`python experiments/bench_decode_latency.py --before {args.before}{' --quick' * args.quick}`: "
        f"synthetic text, {n_rows} rows ({runs[0][2]['n_leaves']} leaves), default model, "
        f"p50/p99 over {n_timed} single CSR rows, batch = 5,000 rows at once; "
        f"before = `{args.before}`, after = the working tree. {note}",
        "",
        "| round | code | method | p50 (µs) | p99 (µs) | 5,000 rows (s) |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for round_, label, result in runs:
        for method in METHODS:
            r = result[method]
            figures = f"{r['p50_us']:.0f} | {r['p99_us']:.0f} | {r['batch_s']:.3f}"
            lines.append(f"| {round_} | {label} | {method} | {figures} |")
    write_table(lines, "decode_latency.md", args.quick)


if __name__ == "__main__":
    main()
