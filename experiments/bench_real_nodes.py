"""Where ``HierarchicalClassifier.fit`` spends its time and memory, node by node, on real data.

Wraps ``fit_node`` where ``HierarchicalClassifier``'s module calls it (so joblib's sequential
backend calls the wrapper) to record, for every node model: depth, training rows,
outcomes, seconds, the rise of peak RSS and the solver's iteration count. Then refits
the most expensive nodes with other logistic-regression settings, to show what a
different default would cost and change. Nothing in hiercls is modified.

    python experiments/bench_real_nodes.py --dataset wordnet [--settings default balanced C10]
    python experiments/bench_real_nodes.py --quick    # 5,000 WordNet rows

Writes ``experiments/results/real_nodes_<dataset>.md`` and ``.json`` (``results/quick/``
with ``--quick``).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # as in bench_real.py: one thread, before numpy loads

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _real_data as rd  # noqa: E402
import _runner as runner  # noqa: E402

SETTINGS: dict[str, dict[str, Any]] = {
    "default": {"max_iter": 1000},
    "balanced": {"max_iter": 1000, "class_weight": "balanced"},
    "C10": {"max_iter": 1000, "C": 10},
    "C10_balanced": {"max_iter": 1000, "C": 10, "class_weight": "balanced"},
    "tol1e-3": {"max_iter": 1000, "tol": 1e-3},
    # The default model fitted only on the columns that are non-zero in the node's rows.
    "default_used_columns": {"max_iter": 1000, "_used_columns": True},
    "C10_used_columns": {"max_iter": 1000, "C": 10, "_used_columns": True},
    "C10_balanced_used_columns": {"max_iter": 1000, "C": 10, "class_weight": "balanced",
                                  "_used_columns": True},
    "C10_used_columns_tol1e-3": {"max_iter": 1000, "C": 10, "tol": 1e-3,
                                 "_used_columns": True},
    "balanced_used_columns": {"max_iter": 1000, "class_weight": "balanced",
                              "_used_columns": True},
}


def profile_fit(X: Any, Y: np.ndarray, estimator: Any) -> tuple[Any, list[dict[str, Any]], float]:
    from hiercls import HierarchicalClassifier

    # The module that defines the estimator calls fit_node by its module-level name;
    # patching it there survives the module being renamed.
    estimator_module = sys.modules[HierarchicalClassifier.__module__]

    records: list[dict[str, Any]] = []
    original = estimator_module.fit_node

    def timed_fit_node(model, X_all, rows, y, sample_weight, fit_params=None):  # type: ignore[no-untyped-def]
        rss0 = runner.current_rss()
        runner.reset_peak_rss()
        t0, c0 = time.perf_counter(), time.thread_time()
        fitted = original(model, X_all, rows, y, sample_weight, fit_params)
        seconds, cpu_seconds = time.perf_counter() - t0, time.thread_time() - c0
        n_iter = getattr(fitted, "n_iter_", None)
        records.append({
            "n_rows": int(len(rows)), "n_outcomes": int(len(np.unique(y))),
            "seconds": seconds, "cpu_seconds": cpu_seconds,
            "n_used_columns": (int(len(np.unique(X_all[rows].indices)))
                               if hasattr(X_all, "indices") else None),
            "extra_rss_mib": ((runner.peak_rss() or 0) - (rss0 or 0)) / 2**20,
            "n_iter": None if n_iter is None else int(np.max(n_iter)),
            "rows_per_outcome_min": int(np.bincount(np.unique(y, return_inverse=True)[1]).min()),
        })
        return fitted

    estimator_module.fit_node = timed_fit_node
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        clf = HierarchicalClassifier(estimator, random_state=0).fit(X, Y)
        total = time.perf_counter() - t0
        records.append({"_total_cpu_s": time.process_time() - c0})
    finally:
        estimator_module.fit_node = original
    return clf, records, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="wordnet", choices=("wordnet", "oews"))
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="5,000 rows, results/quick/")
    parser.add_argument("--append", action="store_true",
                        help="add these settings to an existing report of the dataset")
    parser.add_argument("--settings", nargs="+", default=["default"], choices=list(SETTINGS))
    args = parser.parse_args()
    if args.quick and not args.rows:
        args.rows = 5_000
    rd.require_data(args.dataset)
    warnings.filterwarnings("ignore")
    from sklearn.linear_model import LogisticRegression

    n_rows = args.rows if args.rows else (None if args.dataset == "wordnet" else 60_000)
    X_raw, Y, _ = rd.load_raw(args.dataset, n_max=n_rows, seed=0)
    X_train_raw, X_test_raw, Y_train_df, Y_test_df = rd.split(X_raw, Y, seed=0)
    X_train, X_test, _ = rd.featurize(args.dataset, "linear", X_train_raw, X_test_raw)
    Y_train, Y_test = rd.as_paths(Y_train_df), rd.as_paths(Y_test_df)

    out: dict[str, Any] = {"dataset": args.dataset, "n_train": int(X_train.shape[0]),
                           "n_features": int(X_train.shape[1]), "machine": runner.machine_info(),
                           "settings": {}}
    lines = [f"# Node-by-node fit profile: {args.dataset}", "",
             f"{X_train.shape[0]:,} training rows, {X_train.shape[1]:,} features "
             f"(the linear features of `bench_real.py`). Produced by "
             f"`experiments/bench_real_nodes.py`; wall times on a shared 2-core machine. "
             + runner.provenance_note([out["machine"]])[0], ""]
    for name in args.settings:
        params = dict(SETTINGS[name])
        # Since session 2 hiercls itself fits every sparse linear node on the columns its
        # rows use; the "_used_columns" settings are kept so the old tables can be re-made.
        params.pop("_used_columns", None)
        base = LogisticRegression(**params)
        clf, records, total = profile_fit(X_train, Y_train, base)
        total_cpu = records.pop()["_total_cpu_s"]
        Y_pred = rd.as_paths(clf.predict(X_test))
        scores = rd.score(Y_train, Y_test, Y_pred, [str(c) for c in Y.columns])
        records.sort(key=lambda r: -r["cpu_seconds"])
        seconds = np.array([r["cpu_seconds"] for r in records])
        outcomes = np.array([r["n_outcomes"] for r in records])
        hit_max = sum(1 for r in records if r["n_iter"] is not None and r["n_iter"] >= 1000)
        summary = {
            "params": params, "fit_s": total, "fit_cpu_s": total_cpu, "n_models": len(records),
            "node_seconds_sum": float(seconds.sum()),
            "top5_share": float(seconds[:5].sum() / seconds.sum()),
            "share_nodes_ge_50_outcomes": float(seconds[outcomes >= 50].sum() / seconds.sum()),
            "n_hit_max_iter": hit_max,
            "max_extra_rss_mib": float(max(r["extra_rss_mib"] for r in records)),
            "leaf_accuracy": scores["leaf_accuracy"],
            "hierarchical_f1": scores["hierarchical_f1"],
            "rare_recall_lt100": scores["rare_recall_lt100"],
            "leaf_bucket_recall": scores["leaf_bucket_recall"], "top_nodes": records[:15],
        }
        out["settings"][name] = summary
        lines += [
            f"## {type(base).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})", "",
            f"fit {total:.1f} s ({total_cpu:.1f} s CPU) for {len(records)} fitted node models (constant nodes not "
            f"counted); the 5 slowest take {100 * summary['top5_share']:.0f}% of node time; "
            f"nodes with ≥ 50 outcomes take {100 * summary['share_nodes_ge_50_outcomes']:.0f}%; "
            f"{hit_max} nodes stopped at max_iter; largest rise of peak RSS in one node fit "
            f"{summary['max_extra_rss_mib']:,.0f} MiB. Leaf accuracy "
            f"{scores['leaf_accuracy']:.4f}, hF1 {scores['hierarchical_f1']:.4f}, recall of "
            f"leaf classes with < 100 training rows {scores['rare_recall_lt100']:.3f}.", "",
            "| rows | outcomes | smallest outcome rows | used columns | seconds | CPU s | "
            "iterations | +RSS MiB |",
            "|---|---|---|---|---|---|---|---|",
            *[f"| {r['n_rows']:,} | {r['n_outcomes']} | {r['rows_per_outcome_min']} | "
              f"{r['n_used_columns'] or 'all'} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | "
              f"{r['n_iter']} | {r['extra_rss_mib']:,.0f} |"
              for r in records[:10]], "",
        ]
        print("\n".join(lines[-16:]), flush=True)
    path = runner.results_dir(args.quick) / f"real_nodes_{args.dataset}.md"
    previous = json.loads(path.with_suffix(".json").read_text()) if (
        args.append and path.with_suffix(".json").exists()) else None
    if previous:
        out["settings"] = {**previous["settings"], **out["settings"]}
        lines = path.read_text().splitlines() + lines[4:]
    path.write_text("\n".join(lines))
    path.with_suffix(".json").write_text(json.dumps(out, indent=1, default=float))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
