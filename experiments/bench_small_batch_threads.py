"""Single-row latency of OpenMP node models (k-NN, LightGBM) on a busy machine.

A production server runs one worker per core, so every core is busy while a request is
scored. This script keeps both cores busy with spinning child processes, fits one
``HierarchicalClassifier`` per node model on the synthetic set, and times single-row
``predict`` calls with small-batch calls on one OpenMP thread (hiercls's behaviour) and
with the libraries' own threading (``SINGLE_THREAD_MAX_ROWS = 0``), interleaved in
blocks so that both see the same load.

    python experiments/bench_small_batch_threads.py            # ~5 minutes
    python experiments/bench_small_batch_threads.py --quick    # ~1 minute, not written
    python experiments/bench_small_batch_threads.py --busy 0   # an idle machine
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def spin(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x += 1


def latencies(clf, X, n_calls: int) -> np.ndarray:
    out = np.empty(n_calls)
    for i in range(n_calls):
        row = X[i % len(X) : i % len(X) + 1]
        start = time.perf_counter()
        clf.predict(row)
        out[i] = time.perf_counter() - start
    return out * 1e3


RESULT = HERE / "results" / "small_batch_threads.md"
lines: list[str] = []


def say(text: str = "") -> None:
    print(text, flush=True)
    lines.append(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--busy", type=int, default=os.cpu_count(), help="spinning processes (default: one per core)"
    )
    parser.add_argument("--calls", type=int, default=300, help="single-row calls per block")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument(
        "--quick", action="store_true", help="4,000 training rows, 1 x 30 calls; the table is not written"
    )
    args = parser.parse_args()
    n_rows = 20_000
    if args.quick:
        n_rows, args.blocks, args.calls = 4_000, 1, 30

    import lightgbm
    import sklearn
    from lightgbm import LGBMClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    import hiercls
    import hiercls._threads as threads
    from hiercls import HierarchicalClassifier
    from hiercls.datasets import make_hierarchical_classification

    X, Y = make_hierarchical_classification(
        n_rows, n_levels=3, branching=[5, 4, 6], n_features=20, random_state=0
    )
    X_new = np.random.default_rng(1).normal(size=(1000, 20))
    models = {
        "k-NN (10, distance)": KNeighborsClassifier(n_neighbors=10, weights="distance"),
        "LightGBM (100 trees)": LGBMClassifier(n_estimators=100, verbose=-1),
        "LogisticRegression": LogisticRegression(max_iter=1000),
    }
    fitted = {
        name: HierarchicalClassifier(model, sufficiency_policy="ignore", random_state=0).fit(X, Y)
        for name, model in models.items()
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    say("# Single-row latency of OpenMP node models on a busy machine\n")
    say(
        f"`python experiments/bench_small_batch_threads.py`: commit {commit}; "
        f"hiercls {hiercls.__version__}, scikit-learn {sklearn.__version__}, "
        f"lightgbm {lightgbm.__version__}, numpy {np.__version__}; {os.cpu_count()} cores, "
        f"{args.busy} spinning processes; {args.blocks} x {args.calls} single-row predict calls per cell\n"
    )
    stop_at = time.time() + 3600
    spinners = [multiprocessing.Process(target=spin, args=(stop_at,), daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    try:
        say("| node model | one OpenMP thread: p50 / p99 ms | library threads: p50 / p99 ms | p99 ratio |")
        say("|---|---|---|---|")
        for name, clf in fitted.items():
            clf.predict(X_new[:10])
            runs: dict[int, list[np.ndarray]] = {threads.SINGLE_THREAD_MAX_ROWS: [], 0: []}
            limit = threads.SINGLE_THREAD_MAX_ROWS
            for _ in range(args.blocks):
                for setting in (limit, 0):
                    threads.SINGLE_THREAD_MAX_ROWS = setting
                    import hiercls.node_models as nm

                    nm.SINGLE_THREAD_MAX_ROWS = setting
                    runs[setting].append(latencies(clf, X_new, args.calls))
            threads.SINGLE_THREAD_MAX_ROWS = nm.SINGLE_THREAD_MAX_ROWS = limit
            one, lib = (np.concatenate(runs[s]) for s in (limit, 0))
            p_one, p_lib = np.percentile(one, [50, 99]), np.percentile(lib, [50, 99])
            say(
                f"| {name} | {p_one[0]:.2f} / {p_one[1]:.2f} | {p_lib[0]:.2f} / {p_lib[1]:.2f} | "
                f"{p_lib[1] / p_one[1]:.1f}x |"
            )
        # The LightGBM adapter calls the booster directly (the wrapper's predict_proba
        # re-reads its parameters and re-validates X on every call).
        from hiercls.node_models import outcome_proba

        lgbm = next(m for m in fitted["LightGBM (100 trees)"].estimators_ if hasattr(m, "booster_"))
        row = X_new[:1]
        for label, call in (
            ("booster (hiercls)", lambda: outcome_proba(lgbm, row)),
            ("wrapper predict_proba", lambda: lgbm.predict_proba(row)),
        ):
            times = np.empty(args.calls * args.blocks)
            for i in range(len(times)):
                start = time.perf_counter()
                call()
                times[i] = time.perf_counter() - start
            p50, p99 = np.percentile(times * 1e3, [50, 99])
            say(f"\nLightGBM root node, one row, {label}: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    finally:
        for p in spinners:
            p.terminate()
    if not args.quick:
        RESULT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
