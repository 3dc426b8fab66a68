"""What explain costs per node model kind: linear, LightGBM, SHAP tree and model-agnostic.

Each configuration fits hiercls on a synthetic hierarchy in its own child process
(single-threaded), then times ``predict`` and ``explain(top=5)`` on the same test
rows and records the peak memory of the explain phase (VmHWM after a reset). Dense:
``make_hierarchical_classification`` (2 levels, 4 x 5 leaves, 20 features); text:
``make_hierarchical_text`` (TF-IDF rows, the default linear node model). The
model-agnostic explainer (k-NN) compares each row with 100 background training rows
and, past 12 features, samples permutations: it explains fewer rows.

    python experiments/bench_explain.py            # results/explain.md, log explain_runs.jsonl
    python experiments/bench_explain.py --quick    # results/quick/explain_quick.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _runner as runner  # noqa: E402

CONFIGS = ("linear", "lightgbm", "hist_gradient_boosting", "random_forest", "knn", "text_linear")
_ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _node_model(config: str) -> Any:
    from lightgbm import LGBMClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    return {
        "linear": LogisticRegression(max_iter=1000),
        "lightgbm": LGBMClassifier(n_estimators=50, n_jobs=1, verbose=-1),
        "hist_gradient_boosting": HistGradientBoostingClassifier(max_iter=50, random_state=0),
        "random_forest": RandomForestClassifier(n_estimators=50, n_jobs=1, random_state=0),
        "knn": KNeighborsClassifier(),
        "text_linear": None,
    }[config]


def child(spec: dict[str, Any], result_path: Path) -> None:
    import warnings

    from hiercls import HierarchicalClassifier
    from hiercls.datasets import make_hierarchical_classification, make_hierarchical_text

    warnings.simplefilter("ignore")
    config, n_train, n_explain = spec["config"], spec["n_train"], spec["n_explain"]
    result: dict[str, Any] = {**spec, "phase": "data"}
    result_path.write_text(json.dumps(result))  # a timeout's line still names its configuration
    if config == "text_linear":
        X, Y = make_hierarchical_text(n_train + n_explain, random_state=0)
    else:
        X, Y = make_hierarchical_classification(
            n_train + n_explain, n_levels=2, branching=(4, 5), n_features=20, random_state=0
        )
    X_train, Y_train, X_test = X[:n_train], Y[:n_train], X[n_train:]
    start = time.process_time()
    clf = HierarchicalClassifier(_node_model(config), sufficiency_policy="ignore", random_state=0)
    clf.fit(X_train, Y_train)
    result.update(fit_cpu_s=time.process_time() - start, n_features=int(X.shape[1]), phase="fit")
    result_path.write_text(json.dumps(result))
    background = X_train[:100] if config == "knn" else None
    # The first call pays one-off costs (importing shap, compiling its kernels): apart.
    start = time.process_time()
    clf.explain(X_test[:1], top=5, background=background)
    result["first_row_cpu_s"] = time.process_time() - start
    start = time.process_time()
    clf.predict(X_test)
    result["predict_cpu_s"] = time.process_time() - start
    runner.reset_peak_rss()
    start, wall = time.process_time(), time.perf_counter()
    explanation = clf.explain(X_test, top=5, background=background)
    result.update(
        explain_cpu_s=time.process_time() - start,
        explain_wall_s=time.perf_counter() - wall,
        explain_peak_rss_bytes=runner.peak_rss(),
        n_explanation_lines=len(explanation),
        phase="done",
    )
    result_path.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 training rows, 200 explained")
    parser.add_argument("--only", nargs="*", choices=CONFIGS, help="run these configurations only")
    parser.add_argument("--knn-rows", type=int, help="rows the k-NN configuration explains")
    parser.add_argument("--summary-only", action="store_true", help="rebuild the table from the log")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child), Path(args.result))
        return
    n_train, n_explain, n_knn = (2000, 200, 20) if args.quick else (20000, 2000, 100)
    n_knn = args.knn_rows or n_knn
    machine = runner.machine_info()
    log = "explain_quick_runs.jsonl" if args.quick else "explain_runs.jsonl"
    out = runner.results_dir(args.quick) / log
    if not args.summary_only:
        _run(args.only or CONFIGS, n_train, n_explain, n_knn, machine, out)
    # The table: the latest line of each configuration and row count in the log.
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for text in out.read_text().splitlines():
        row = json.loads(text)
        latest[(row["config"], row["n_explain"])] = row
    rows = sorted(latest.values(), key=lambda r: (CONFIGS.index(r["config"]), r["n_explain"]))
    write_table(rows, quick=args.quick)


def _run(configs: Any, n_train: int, n_explain: int, n_knn: int, machine: dict[str, Any], out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            n_rows = n_knn if config == "knn" else n_explain
            spec = {"config": config, "n_train": n_train, "n_explain": n_rows}
            runner.run_spec(
                __file__,
                spec,
                Path(tmp) / f"{config}.json",
                timeout=1800,
                memory_limit=4 << 30,
                env={**os.environ, **_ONE_THREAD},
                out=out,
                machine=machine,
            )


def write_table(rows: list[dict[str, Any]], *, quick: bool) -> None:
    columns = [
        "node model",
        "features",
        "rows explained",
        "status",
        "fit CPU s",
        "first explained row CPU s",
        "predict CPU s",
        "explain CPU s",
        "explain ms/row",
        "explain / predict",
        "explain peak RSS MiB",
    ]
    cells = []
    for row in rows:
        if row["status"] != "ok":
            cells.append([row["config"], "", str(row["n_explain"]), row["status"], *[""] * 7])
            continue
        per_row = 1000 * row["explain_cpu_s"] / row["n_explain"]
        ratio = row["explain_cpu_s"] / max(row["predict_cpu_s"], 1e-9)
        cells.append(
            [
                row["config"],
                f"{row['n_features']:,}",
                f"{row['n_explain']:,}",
                "ok",
                f"{row['fit_cpu_s']:.1f}",
                f"{row['first_row_cpu_s']:.2f}",
                f"{row['predict_cpu_s']:.3f}",
                f"{row['explain_cpu_s']:.2f}",
                f"{per_row:.2f}",
                f"{ratio:,.0f}x",
                f"{row['explain_peak_rss_bytes'] / 2**20:,.0f}",
            ]
        )
    command = "python experiments/bench_explain.py" + (" --quick" if quick else "")
    lines = [
        "# explain: cost per node model kind",
        "",
        f"`{command}`: hiercls fitted on {rows[0]['n_train']:,} synthetic rows in a child process "
        "(one thread); `predict` and `explain(top=5)` on the same held-out rows. k-NN nodes are "
        "explained by shap's model-agnostic explainer against 100 background training rows "
        "(20 features: permutation sampling); the tree ensembles by shap's TreeExplainer; linear "
        "and LightGBM nodes by hiercls itself. The first explained row is timed apart: it pays the "
        "one-off costs (importing shap, compiling its kernels); the other columns are for the "
        "batch after it. "
        "Peak RSS: the explain phase's VmHWM (reset before it).",
        "",
        *runner.markdown_table(columns, rows, cells),
    ]
    runner.write_table(lines, "explain_quick.md" if quick else "explain.md", quick)


if __name__ == "__main__":
    main()
