"""Where a single-row ``predict`` spends its time (3-level tree, logistic-regression base).

Measures thread CPU time per call (robust to other jobs on a shared machine) and wall
time, for the full ``HierarchicalClassifier.predict`` and for each of its parts, plus
a lean single-row descent written here from the fitted attributes only (it reads
``estimators_``, ``hierarchy_`` and ``classes_`` and changes nothing) as the floor a
fast path inside hiercls could reach.

    python experiments/bench_real_latency.py [--calls 2000] [--rows 20000]
    python experiments/bench_real_latency.py --quick    # 200 calls, 3,000 rows

Writes ``experiments/results/real_latency.md`` and ``.json`` (``results/quick/`` with
``--quick``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _runner as runner  # noqa: E402


def measure(fn: Callable[[Any], Any], rows: list[Any]) -> dict[str, float]:
    fn(rows[0])
    wall, cpu = [], []
    for row in rows:
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn(row)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    wall_ms, cpu_ms = np.asarray(wall) * 1e3, np.asarray(cpu) * 1e3
    return {"cpu_p50_ms": float(np.percentile(cpu_ms, 50)),
            "cpu_p99_ms": float(np.percentile(cpu_ms, 99)),
            "wall_p50_ms": float(np.percentile(wall_ms, 50)),
            "wall_p99_ms": float(np.percentile(wall_ms, 99))}


def lean_predict_factory(clf: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Single-row greedy descent on plain arrays: what a fast path could cost."""
    hierarchy = clf.hierarchy_
    n_features = clf.n_features_in_
    tables = []
    for node, model in enumerate(clf.estimators_):
        if model is None:
            tables.append(None)
        elif hasattr(model, "coef_"):
            coef = np.asarray(model.coef_)
            intercept = np.asarray(model.intercept_)
            outcomes = np.asarray(model.classes_, dtype=np.intp)
            if coef.shape[0] == 1:  # binary: one column of scores
                coef = np.vstack([-coef, coef]) / 2
                intercept = np.array([-intercept[0], intercept[0]]) / 2
            tables.append((coef, intercept, outcomes))
        else:  # constant model
            tables.append((None, None, np.asarray(model.classes_, dtype=np.intp)))
    depth = np.asarray(hierarchy.depth)
    label_index = np.asarray(hierarchy.label_index)
    level_labels = hierarchy.level_labels

    def predict_one(row: np.ndarray) -> np.ndarray:
        x = np.asarray(row, dtype=np.float64).reshape(-1)
        if x.shape[0] != n_features or not np.isfinite(x).all():
            raise ValueError("bad row")
        out = np.empty(hierarchy.n_levels, dtype=object)
        out[:] = None
        node = 0
        while tables[node] is not None:
            coef, intercept, outcomes = tables[node]
            best = 0 if coef is None else int(np.argmax(coef @ x + intercept))
            child = int(outcomes[best])
            if child == node:
                break
            level = depth[child] - 1  # the root has depth 0, level-0 nodes depth 1
            out[level] = level_labels[level][label_index[child]]
            node = child
        return out

    return predict_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=None, help="single-row calls (2000; quick 200)")
    parser.add_argument("--rows", type=int, default=None, help="training rows (20000; quick 3000)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    args.calls = args.calls or (200 if args.quick else 2000)
    args.rows = args.rows or (3000 if args.quick else 20000)
    warnings.filterwarnings("ignore")

    from sklearn.utils.validation import check_is_fitted

    from hiercls import HierarchicalClassifier
    from hiercls.datasets import make_hierarchical_classification

    X, Y = make_hierarchical_classification(
        args.rows, n_levels=3, branching=(10, 10, 20), n_features=40, random_state=0)
    clf = HierarchicalClassifier(random_state=0).fit(X, Y)
    rows = [X[i : i + 1] for i in range(args.calls)]
    hierarchy = clf.hierarchy_
    print(f"hierarchy depth values: {sorted(set(np.asarray(hierarchy.depth).tolist()))}")

    parts: dict[str, Callable[[Any], Any]] = {
        "predict (whole call)": lambda r: clf.predict(r),
        "check_is_fitted": lambda r: check_is_fitted(clf),
    }
    # The steps inside predict, by the private names they have at the time of the run. A
    # step whose name a refactor removed is left out; the table lists what was measured.
    steps = ("_allows_nan", "_validate_for_predict", "_decode", "_labels")
    present = {name for name in steps if hasattr(clf, name)}
    if "_allows_nan" in present:
        parts["_allows_nan (tags)"] = lambda r: clf._allows_nan()
    if "_validate_for_predict" in present:
        parts["input validation (_validate_for_predict)"] = lambda r: clf._validate_for_predict(r)
        checked = clf._validate_for_predict(rows[0])
        if "_decode" in present:
            parts["greedy traversal (_decode)"] = lambda r: clf._decode(checked, with_proba=False)
            if "_labels" in present:
                codes = clf._decode(checked, with_proba=False).node_codes
                parts["labels (_labels)"] = lambda r: clf._labels(codes)
    missing = sorted(set(steps) - present)
    if missing:
        print(f"not measured (no longer in HierarchicalClassifier): {missing}", file=sys.stderr)
    parts.update({
        "np.asarray + shape + isfinite (a lean check)": lambda r: (
            np.asarray(r, dtype=np.float64).shape[1] == clf.n_features_in_
            and np.isfinite(r).all()),
    })
    results = {name: measure(fn, rows) for name, fn in parts.items()}
    lean = lean_predict_factory(clf)
    agree = all(
        [None if v is None else v for v in lean(r)] == list(clf.predict(r)[0]) for r in rows[:500])
    results["lean single-row descent (floor)"] = measure(lean, rows)
    machine = runner.machine_info()
    lines = [
        "# Single-row predict latency: where the time goes",
        "",
        f"Synthetic 3-level tree (branching 10 × 10 × 20, {args.rows:,} training rows, 40 "
        f"dense features), `HierarchicalClassifier()` defaults (LogisticRegression); "
        f"{args.calls:,} calls on already-featurized single rows (`X[i:i+1]`, float64). "
        f"CPU {machine['cpu_model']}, load average {machine['load_average'][0]:.1f} "
        "(shared machine: thread CPU time is the robust figure, wall time includes time "
        "slices taken by other jobs). Produced by `experiments/bench_real_latency.py`. "
        + runner.provenance_note([machine])[0],
        "",
        "| part | CPU p50 ms | CPU p99 ms | wall p50 ms | wall p99 ms |",
        "|---|---|---|---|---|",
        *[f"| {name} | {r['cpu_p50_ms']:.4f} | {r['cpu_p99_ms']:.4f} | {r['wall_p50_ms']:.4f} | "
          f"{r['wall_p99_ms']:.4f} |" for name, r in results.items()],
        "",
        f"The lean descent agrees with `predict` on the first {min(500, len(rows))} rows: {agree}."
        + (f" Not measured (private steps gone from `HierarchicalClassifier`): {', '.join(missing)}."
           if missing else ""),
        "",
    ]
    out = runner.results_dir(args.quick) / "real_latency.md"
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(json.dumps(
        {"results": results, "agree": agree, "machine": machine, "calls": args.calls}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
